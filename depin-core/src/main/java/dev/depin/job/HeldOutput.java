package dev.depin.job;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import java.time.Instant;

/**
 * An output a job left on the provider that ran it instead of returning its bytes
 * ({@link Job.Builder#leaveOutputsOnNode}): what the verified receipt commits to (root and
 * size) and where it is held. A following job takes it as an input by reference
 * ({@link Job.Builder#inputFrom}); its chunks can be fetched with their inclusion proofs
 * ({@code DepinClient.fetchHeld}).
 *
 * @param name       the output's name, e.g. {@code "c"}
 * @param merkleRoot its RFC 6962 root (64 hex) as the provider's verified receipt signed it
 * @param bytes      its size in bytes
 * @param provider   the provider holding it
 * @param heldUntil  when the provider may drop it (its time to live counted from the end of
 *                   the run the receipt states); it may be gone earlier if the node restarts
 */
public record HeldOutput(String name, String merkleRoot, long bytes, NodeId provider, Instant heldUntil) {
    /**
     * Validates.
     *
     * @param name       the output's name
     * @param merkleRoot its root, 64 lower-case hex
     * @param bytes      its size, &ge; 1
     * @param provider   who holds it
     * @param heldUntil  until when
     * @throws InvalidArgumentException on a null or malformed field
     */
    public HeldOutput {
        new InputRef(name, bytes, merkleRoot); // the same checks as an input's reference
        InvalidArgumentException.requireNonNull(provider, "provider holding output '" + name + "'");
        InvalidArgumentException.requireNonNull(heldUntil, "held-until time of output '" + name + "'");
    }

    /** @return e.g. {@code "output 'c' (root 3fa1..., 1048576 bytes) held by provider 9c2e41d0 until 2026-..."} */
    public String describe() {
        return "output '" + name + "' (root " + merkleRoot + ", " + bytes + " bytes) held by provider "
                + provider.shortId() + " until " + heldUntil;
    }
}
