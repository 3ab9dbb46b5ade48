package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a buyer knows independently of the provider, against which
 * {@link ExecutionReceipt#verify(Envelope, ReceiptExpectations)} checks a receipt: the key
 * named in the offer, the job id and attempt, the challenge nonce it sent, the spec and
 * kernel hashes, its own input commitments, the agreed Merkle chunk size, and the outputs
 * it actually received (as buffers, whose roots are recomputed during verification, or as
 * digests the caller computed while receiving them).
 *
 * <pre>{@code
 * ReceiptExpectations exp = ReceiptExpectations.builder()
 *     .signer(offerKey).jobId("job-42").attempt(1).nonce(sentNonce)
 *     .specHash(specHex).kernelHash(kernelHex).input(inputDigestA).input(inputDigestB)
 *     .receivedOutput("C", receivedC)          // or .receivedOutputDigest(BufferDigest)
 *     .build();
 * }</pre>
 */
public final class ReceiptExpectations {
    private final NodePublicKey signer;
    private final String jobId;
    private final int attempt;
    private final String nonce;
    private final String specHash;
    private final String kernelId;
    private final String kernelHash;
    private final Map<String, BufferDigest> inputs;
    private final int merkleChunkBytes;
    private final Map<String, ByteBuffer> outputBuffers;
    private final Map<String, BufferDigest> outputDigests;
    /** Outputs left on the provider (none of their bytes received): name to the size the job implies. */
    private final Map<String, Long> heldOutputs;
    /** Inputs the job may have read from the provider's cache, or null for any input. */
    private final java.util.Set<String> inputsInCache;

    private ReceiptExpectations(Builder b) {
        this.inputsInCache = b.inputsInCache == null ? null : java.util.Set.copyOf(b.inputsInCache);
        this.signer = InvalidArgumentException.requireNonNull(b.signer, "signer (the key named in the provider's offer)");
        ExecutionReceipt.requireText(b.jobId, "jobId");
        this.jobId = b.jobId;
        if (b.attempt < 1) {
            throw new InvalidArgumentException("attempt must be >= 1, got " + b.attempt);
        }
        this.attempt = b.attempt;
        this.nonce = ExecutionReceipt.checkNonce(b.nonce);
        ExecutionReceipt.requireSha256Hex(b.specHash, "specHash");
        this.specHash = b.specHash;
        this.kernelId = b.kernelId;
        ExecutionReceipt.requireSha256Hex(b.kernelHash, "kernelHash");
        this.kernelHash = b.kernelHash;
        this.inputs = Collections.unmodifiableMap(new LinkedHashMap<>(b.inputs));
        this.merkleChunkBytes = Merkle.checkChunkSize(b.merkleChunkBytes);
        this.outputBuffers = Collections.unmodifiableMap(new LinkedHashMap<>(b.outputBuffers));
        this.outputDigests = Collections.unmodifiableMap(new LinkedHashMap<>(b.outputDigests));
        this.heldOutputs = Collections.unmodifiableMap(new LinkedHashMap<>(b.heldOutputs));
        for (String n : heldOutputs.keySet()) {
            if (outputDigests.containsKey(n) || outputBuffers.containsKey(n)) {
                throw new InvalidArgumentException("output '" + n + "' given both as received and as left on the "
                        + "provider: pass one");
            }
        }
        for (String n : outputBuffers.keySet()) {
            if (outputDigests.containsKey(n)) {
                throw new InvalidArgumentException("output '" + n + "' given both as a buffer and as a digest: pass one");
            }
        }
        if (outputBuffers.isEmpty() && outputDigests.isEmpty() && heldOutputs.isEmpty()) {
            throw new InvalidArgumentException("no received output given: pass receivedOutput(...) or "
                    + "receivedOutputDigest(...) for every output the job produced (heldOutput(...) for one left on "
                    + "the provider)");
        }
    }

    /**
     * A new builder.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the key named in the provider's offer.
     *
     * @return the key named in the provider's offer
     */
    public NodePublicKey signer() {
        return signer;
    }

    /**
     * Returns the job id.
     *
     * @return the job id
     */
    public String jobId() {
        return jobId;
    }

    /**
     * Returns the attempt dispatched.
     *
     * @return the attempt dispatched
     */
    public int attempt() {
        return attempt;
    }

    /**
     * Returns the challenge nonce sent.
     *
     * @return the challenge nonce sent
     */
    public String nonce() {
        return nonce;
    }

    /**
     * Returns hex SHA-256 of the spec.
     *
     * @return hex SHA-256 of the spec
     */
    public String specHash() {
        return specHash;
    }

    /**
     * Returns the kernel id, or {@code null} if not checked.
     *
     * @return the kernel id, or {@code null} if not checked
     */
    public String kernelId() {
        return kernelId;
    }

    /**
     * Returns hex SHA-256 of the kernel code.
     *
     * @return hex SHA-256 of the kernel code
     */
    public String kernelHash() {
        return kernelHash;
    }

    /**
     * Returns the buyer's input commitments by name.
     *
     * @return the buyer's input commitments by name
     */
    public Map<String, BufferDigest> inputs() {
        return inputs;
    }

    /**
     * Returns the agreed Merkle chunk size.
     *
     * @return the agreed Merkle chunk size
     */
    public int merkleChunkBytes() {
        return merkleChunkBytes;
    }

    /**
     * The received outputs' digests: precomputed ones as given, buffers hashed now (their
     * remaining bytes; positions unchanged).
     *
     * @param chunkSize the chunk size to hash received buffers with
     * @return digests by name
     */
    Map<String, BufferDigest> receivedOutputDigests(int chunkSize) {
        Map<String, BufferDigest> m = new LinkedHashMap<>(outputDigests);
        outputBuffers.forEach((n, b) -> m.put(n, BufferDigest.of(n, b, chunkSize)));
        return m;
    }

    /** @return outputs left on the provider, by name, with the size the job implies */
    Map<String, Long> heldOutputs() {
        return heldOutputs;
    }

    /** @return whether the input may be the provider's cache entry, read in place by the job */
    boolean inputMayBeInCache(String name) {
        return inputsInCache == null || inputsInCache.contains(name);
    }

    /** Builds {@link ReceiptExpectations}. */
    public static final class Builder {
        private final Map<String, Long> heldOutputs = new LinkedHashMap<>();
        private java.util.Set<String> inputsInCache;
        private NodePublicKey signer;
        private String jobId;
        private int attempt = 1;
        private String nonce;
        private String specHash;
        private String kernelId;
        private String kernelHash;
        private final Map<String, BufferDigest> inputs = new LinkedHashMap<>();
        private int merkleChunkBytes = Merkle.DEFAULT_CHUNK_SIZE;
        private final Map<String, ByteBuffer> outputBuffers = new LinkedHashMap<>();
        private final Map<String, BufferDigest> outputDigests = new LinkedHashMap<>();

        Builder() {
        }

        /**
         * Sets the key named in the provider's signed offer.
         *
         * @param v the key named in the provider's signed offer
         * @return this
         */
        public Builder signer(NodePublicKey v) {
            signer = v;
            return this;
        }

        /**
         * Sets the job id.
         *
         * @param v the job id
         * @return this
         */
        public Builder jobId(String v) {
            jobId = v;
            return this;
        }

        /**
         * Sets the attempt dispatched (default 1).
         *
         * @param v the attempt dispatched (default 1)
         * @return this
         */
        public Builder attempt(int v) {
            attempt = v;
            return this;
        }

        /**
         * Sets the challenge nonce sent with this attempt.
         *
         * @param v the challenge nonce sent with this attempt
         * @return this
         */
        public Builder nonce(String v) {
            nonce = v;
            return this;
        }

        /**
         * Sets hex SHA-256 of the spec.
         *
         * @param v hex SHA-256 of the spec
         * @return this
         */
        public Builder specHash(String v) {
            specHash = v;
            return this;
        }

        /**
         * Sets the kernel id to require, or null to skip.
         *
         * @param v the kernel id to require, or null to skip
         * @return this
         */
        public Builder kernelId(String v) {
            kernelId = v;
            return this;
        }

        /**
         * Sets hex SHA-256 of the kernel code.
         *
         * @param v hex SHA-256 of the kernel code
         * @return this
         */
        public Builder kernelHash(String v) {
            kernelHash = v;
            return this;
        }

        /**
         * Sets one of the buyer's input commitments.
         *
         * @param v one of the buyer's input commitments
         * @return this
         */
        public Builder input(BufferDigest v) {
            InvalidArgumentException.requireNonNull(v, "input");
            if (inputs.put(v.name(), v) != null) {
                throw new InvalidArgumentException("input '" + v.name() + "' given twice");
            }
            return this;
        }

        /**
         * Sets the agreed Merkle chunk (leaf) size (default 4 KiB).
         *
         * @param v the agreed Merkle chunk (leaf) size (default 4 KiB)
         * @return this
         */
        public Builder merkleChunkBytes(int v) {
            merkleChunkBytes = v;
            return this;
        }

        /**
         * An output as received; its root is recomputed during verification.
         *
         * @param name the output's name
         * @param data the received bytes (remaining; not modified, position unchanged)
         * @return this
         */
        public Builder receivedOutput(String name, ByteBuffer data) {
            InvalidArgumentException.requireNonNull(name, "name");
            InvalidArgumentException.requireNonNull(data, "data");
            if (outputBuffers.put(name, data.duplicate()) != null) {
                throw new InvalidArgumentException("output '" + name + "' given twice");
            }
            return this;
        }

        /**
         * An output's digest, computed by the caller over the bytes it received (e.g. with a
         * {@link Merkle.Builder} while streaming), with the agreed chunk size.
         *
         * @param v the digest
         * @return this
         */
        public Builder receivedOutputDigest(BufferDigest v) {
            InvalidArgumentException.requireNonNull(v, "digest");
            if (outputDigests.put(v.name(), v) != null) {
                throw new InvalidArgumentException("output '" + v.name() + "' given twice");
            }
            return this;
        }

        /**
         * An output the job left on the provider: none of its bytes were received, so the
         * receipt's root for it is taken as signed (a spot check then reads sampled chunks
         * against it); its size must be {@code bytes}.
         *
         * @param name  the output's name
         * @param bytes the size the job implies, &ge; 1
         * @return this
         * @throws InvalidArgumentException on null, a size below 1, or a name given twice
         */
        public Builder heldOutput(String name, long bytes) {
            InvalidArgumentException.requireNonNull(name, "name");
            if (bytes < 1) {
                throw new InvalidArgumentException("output '" + name + "' of " + bytes + " bytes: sizes are >= 1");
            }
            if (heldOutputs.put(name, bytes) != null) {
                throw new InvalidArgumentException("output '" + name + "' given twice");
            }
            return this;
        }

        /**
         * The only inputs whose wipe record may state that the job read them where the
         * provider's cache holds them ({@link WipeRecord#CACHE_IN_PLACE}): those the buyer sent
         * by root, or let the provider keep. Not called: any input (a verifier that does not know
         * how the inputs were sent).
         *
         * @param names the input names; empty for none
         * @return this
         * @throws InvalidArgumentException on null
         */
        public Builder inputsInCache(java.util.Set<String> names) {
            InvalidArgumentException.requireNonNull(names, "names");
            inputsInCache = java.util.Set.copyOf(names);
            return this;
        }

        /**
         * Validates and builds.
         *
         * @return the expectations
         */
        public ReceiptExpectations build() {
            return new ReceiptExpectations(this);
        }
    }
}
