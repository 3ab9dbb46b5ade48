package dev.depin.network.spi;

import dev.depin.crypto.Hex;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One output as the buyer received it, with the RFC 6962 Merkle root (4 KiB leaves) that
 * the buyer's side computed over exactly these bytes while they arrived. Only an
 * {@link OutputAssembler} makes one, so the root can be trusted to describe the bytes:
 * the buyer never hashes an output twice.
 */
public final class ReceivedOutput {
    private final ByteBuffer data;
    private final byte[] root;
    /** The {@link ArrivalTaps} tap that saw every byte of this output as it arrived, or null. */
    private final Object observer;

    ReceivedOutput(ByteBuffer data, byte[] root, Object observer) {
        this.data = data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        this.root = root.clone();
        this.observer = observer;
    }

    /**
     * Whether {@code tap} (one of the {@link ArrivalTaps#of taps} its request carried) was handed every byte of
     * this output, in order, as it arrived: then what it computed describes exactly these bytes.
     *
     * @param tap the tap, compared by identity
     * @return true only for that tap, when it saw every byte and never threw
     */
    public boolean observedBy(Object tap) {
        return tap != null && observer == tap;
    }

    /** @return the bytes, as a fresh read-only little-endian view at position 0 */
    public ByteBuffer data() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** @return the size in bytes */
    public long bytes() {
        return data.remaining();
    }

    /** @return the Merkle root computed on arrival (a copy) */
    public byte[] merkleRoot() {
        return root.clone();
    }

    /** @return the Merkle root as lower-case hex */
    public String merkleRootHex() {
        return Hex.encode(root);
    }

    @Override
    public String toString() {
        return "ReceivedOutput[" + bytes() + " bytes, root " + merkleRootHex() + "]";
    }
}
