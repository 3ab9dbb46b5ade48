package dev.depin.network.spi;

import dev.depin.InvalidArgumentException;
import dev.depin.kernel.Buffers;
import dev.depin.job.JobSpec;
import dev.depin.settlement.HoldCertificate;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Optional;

/**
 * What a buyer sends a provider for one attempt of a job: the spec, the input bytes,
 * and a fresh challenge nonce that the provider's receipt must repeat (so a receipt
 * from an earlier job or attempt can never be replayed).
 *
 * @param jobId   the buyer's job id (32 lower-case hex characters)
 * @param attempt attempt number, from 1
 * @param spec    the job spec
 * @param inputs  input bytes by name (read-only, little-endian views)
 * @param nonce   the buyer's challenge, 32 random bytes
 * @param holdCertificate the ledger's certificate that money is held for this attempt, which a
 *                provider that requires one checks before it admits the job; empty without
 * @param delivery inputs the provider holds from an earlier job (no bytes here) and whether the
 *                outputs stay on the provider ({@link Delivery#RETURN}: all bytes travel)
 * @param resultsQueued results of this buyer waiting for its verifier when the request was made:
 *                a hint, not a promise. A buyer that is behind ({@value #BEHIND} or more) loses
 *                nothing if the provider holds this job's signature briefly to share it with the
 *                buyer's next jobs (one batch signature for the provider to make and the buyer
 *                to check, instead of one each); 0, the default and what a network that does not
 *                carry the hint delivers, asks for the signature as soon as the job is done
 * @param taps    the buyer's own observers of this attempt's outputs as they arrive, which the
 *                attempt's {@link #newAssembler() assembler} feeds: never sent, and no part of
 *                what the provider is asked to do ({@link ArrivalTaps#none()} for none, what every
 *                constructor without them gives). A network that builds its assembler with
 *                {@link #newAssembler()} from the request it was given (or a {@code with...} copy)
 *                feeds them with nothing else to do; one that does not leaves them untaken, and
 *                the buyer then checks the bytes themselves
 */
public record ExecutionRequest(String jobId, int attempt, JobSpec spec, Map<String, ByteBuffer> inputs, byte[] nonce,
                               Optional<HoldCertificate> holdCertificate, Delivery delivery, int resultsQueued,
                               ArrivalTaps taps) {
    /** Length of a challenge nonce in bytes. */
    public static final int NONCE_BYTES = 32;
    /**
     * {@link #resultsQueued()} from which the buyer counts as behind its providers: a provider
     * may then hold the job's finished statements for a batch (at most its seal linger, 2 ms by
     * default) instead of signing them at once.
     */
    public static final int BEHIND = 2;

    /**
     * Creates a request after checking it; the nonce is copied and the inputs are kept as
     * read-only little-endian views of the given buffers (their content is not copied, so
     * it must not change afterwards).
     *
     * @param jobId   the buyer's job id: exactly 32 lower-case hex characters
     * @param attempt attempt number, from 1
     * @param spec    the job spec; not null
     * @param inputs  input bytes by name (each buffer's remaining bytes); not null, no null
     *                names or buffers
     * @param nonce   the buyer's challenge: exactly {@link #NONCE_BYTES} random bytes
     * @param holdCertificate the hold's certificate, or empty
     * @param delivery held inputs and where the outputs go; not null
     * @param resultsQueued results of this buyer waiting for its verifier, 0 or more
     * @param taps    the buyer's observers of the outputs as they arrive; not null
     *                ({@link ArrivalTaps#none()} for none)
     * @throws InvalidArgumentException on a malformed id, attempt, nonce or missing field, or a
     *         held input the spec does not declare or that also came with bytes, or a negative
     *         count of queued results
     */
    public ExecutionRequest {
        InvalidArgumentException.requireNonNull(jobId, "job id");
        if (!dev.depin.crypto.Hex.isLowerHex(jobId, 32)) {
            throw new InvalidArgumentException("job id '" + jobId + "' must be 32 lower-case hex characters");
        }
        if (attempt < 1) {
            throw new InvalidArgumentException("attempt is " + attempt + ": attempts count from 1");
        }
        InvalidArgumentException.requireNonNull(spec, "job spec");
        InvalidArgumentException.requireNonNull(inputs, "inputs");
        InvalidArgumentException.requireNonNull(nonce, "challenge nonce");
        if (nonce.length != NONCE_BYTES) {
            throw new InvalidArgumentException("challenge nonce has " + nonce.length + " bytes: it must have "
                    + NONCE_BYTES);
        }
        nonce = nonce.clone();
        inputs = Buffers.freeze(inputs, "inputs");
        InvalidArgumentException.requireNonNull(holdCertificate, "hold certificate (Optional.empty() for none)");
        InvalidArgumentException.requireNonNull(delivery, "delivery (Delivery.RETURN for the default)");
        for (String held : delivery.heldInputs()) {
            if (inputs.containsKey(held) || spec.inputs().stream().noneMatch(i -> i.name().equals(held))) {
                throw new InvalidArgumentException("input '" + held + "' is named held on the provider but "
                        + (inputs.containsKey(held) ? "its bytes came with the request too" : "the spec declares no "
                        + "such input") + ": name each held input once, with no bytes");
            }
        }
        if (resultsQueued < 0) {
            throw new InvalidArgumentException("results queued is " + resultsQueued + ": give 0 when none are "
                    + "waiting for the buyer's verifier");
        }
        InvalidArgumentException.requireNonNull(taps, "arrival taps (ArrivalTaps.none() for none)");
    }

    /**
     * A request without taps: what a provider, or a network that rebuilds requests, makes.
     *
     * @param jobId   the buyer's job id: exactly 32 lower-case hex characters
     * @param attempt attempt number, from 1
     * @param spec    the job spec; not null
     * @param inputs  input bytes by name
     * @param nonce   the buyer's challenge: exactly {@link #NONCE_BYTES} random bytes
     * @param holdCertificate the hold's certificate, or empty
     * @param delivery held inputs and where the outputs go; not null
     * @param resultsQueued results of this buyer waiting for its verifier, 0 or more
     * @throws InvalidArgumentException as the canonical constructor
     */
    public ExecutionRequest(String jobId, int attempt, JobSpec spec, Map<String, ByteBuffer> inputs, byte[] nonce,
                            Optional<HoldCertificate> holdCertificate, Delivery delivery, int resultsQueued) {
        this(jobId, attempt, spec, inputs, nonce, holdCertificate, delivery, resultsQueued, ArrivalTaps.none());
    }

    /**
     * A request whose buyer is not behind ({@code resultsQueued} 0): the provider signs its
     * result as soon as it is done.
     *
     * @param jobId   the buyer's job id: exactly 32 lower-case hex characters
     * @param attempt attempt number, from 1
     * @param spec    the job spec; not null
     * @param inputs  input bytes by name
     * @param nonce   the buyer's challenge: exactly {@link #NONCE_BYTES} random bytes
     * @param holdCertificate the hold's certificate, or empty
     * @param delivery held inputs and where the outputs go; not null
     * @throws InvalidArgumentException as the canonical constructor
     */
    public ExecutionRequest(String jobId, int attempt, JobSpec spec, Map<String, ByteBuffer> inputs, byte[] nonce,
                            Optional<HoldCertificate> holdCertificate, Delivery delivery) {
        this(jobId, attempt, spec, inputs, nonce, holdCertificate, delivery, 0);
    }

    /**
     * A request whose inputs all come with it and whose outputs come back.
     *
     * @param jobId   the buyer's job id: exactly 32 lower-case hex characters
     * @param attempt attempt number, from 1
     * @param spec    the job spec; not null
     * @param inputs  input bytes by name
     * @param nonce   the buyer's challenge: exactly {@link #NONCE_BYTES} random bytes
     * @param holdCertificate the hold's certificate, or empty
     * @throws InvalidArgumentException on a malformed id, attempt, nonce or missing field
     */
    public ExecutionRequest(String jobId, int attempt, JobSpec spec, Map<String, ByteBuffer> inputs, byte[] nonce,
                            Optional<HoldCertificate> holdCertificate) {
        this(jobId, attempt, spec, inputs, nonce, holdCertificate, Delivery.RETURN);
    }

    /**
     * @param delivery held inputs and where the outputs go
     * @return this request with that delivery
     * @throws InvalidArgumentException if null or inconsistent with the inputs
     */
    public ExecutionRequest withDelivery(Delivery delivery) {
        return new ExecutionRequest(jobId, attempt, spec, inputs, nonce, holdCertificate, delivery, resultsQueued,
                taps);
    }

    /**
     * A request without a hold certificate.
     *
     * @param jobId   the buyer's job id: exactly 32 lower-case hex characters
     * @param attempt attempt number, from 1
     * @param spec    the job spec; not null
     * @param inputs  input bytes by name
     * @param nonce   the buyer's challenge: exactly {@link #NONCE_BYTES} random bytes
     * @throws InvalidArgumentException on a malformed id, attempt, nonce or missing field
     */
    public ExecutionRequest(String jobId, int attempt, JobSpec spec, Map<String, ByteBuffer> inputs, byte[] nonce) {
        this(jobId, attempt, spec, inputs, nonce, Optional.empty(), Delivery.RETURN);
    }

    /**
     * @param certificate the ledger's certificate that money is held for this attempt
     * @return this request carrying it
     * @throws InvalidArgumentException if null
     */
    public ExecutionRequest withHoldCertificate(HoldCertificate certificate) {
        InvalidArgumentException.requireNonNull(certificate, "hold certificate");
        return new ExecutionRequest(jobId, attempt, spec, inputs, nonce, Optional.of(certificate), delivery,
                resultsQueued, taps);
    }

    /**
     * The same attempt, carrying the buyer's observers of its outputs as they arrive: the first
     * assembler built from it ({@link #newAssembler()}) takes them. Nothing of them is sent.
     *
     * @param taps the attempt's taps ({@link ArrivalTaps#of}); not null
     * @return this request if it already carries exactly these, else a copy that carries them
     * @throws InvalidArgumentException if null
     */
    public ExecutionRequest withTaps(ArrivalTaps taps) {
        InvalidArgumentException.requireNonNull(taps, "arrival taps (ArrivalTaps.none() for none)");
        return taps == this.taps ? this
                : new ExecutionRequest(jobId, attempt, spec, inputs, nonce, holdCertificate, delivery, resultsQueued,
                        taps);
    }

    /** @return a copy of the nonce */
    @Override
    public byte[] nonce() {
        return nonce.clone();
    }

    /**
     * The outputs the provider must return, by name and exact size, as the spec implies:
     * what an {@link OutputAssembler} for this attempt expects.
     *
     * @return output name to size in bytes, in the kernel's order
     */
    public Map<String, Long> expectedOutputs() {
        Map<String, Long> m = new java.util.LinkedHashMap<>();
        for (dev.depin.kernel.BufferDecl d : spec.outputs()) {
            m.put(d.name(), d.bytes());
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /**
     * @return an assembler for this attempt's outputs (4 KiB Merkle leaves); one that expects
     *         none when the outputs stay on the provider. It feeds this request's {@link #taps()}
     *         (the buyer's own observers), which it takes: an assembler built later from this
     *         request, or a copy of it, feeds none.
     */
    public OutputAssembler newAssembler() {
        return OutputAssembler.of(delivery.leavesOutputs() ? Map.of() : expectedOutputs(), JobSpec.MERKLE_CHUNK_BYTES,
                taps);
    }

    /** @return the inputs as fresh read-only views (position 0) */
    @Override
    public Map<String, ByteBuffer> inputs() {
        return Buffers.views(inputs);
    }
}
