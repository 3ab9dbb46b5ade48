package dev.depin.job;

import dev.depin.InvalidJobException;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Sha256;
import dev.depin.kernel.BufferDecl;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.ShapeMismatchException;
import dev.depin.money.MicroUsd;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a job asks for, and nothing about who runs it: the kernel, its launch
 * parameters, the inputs (by size and Merkle root), the provider requirements, the
 * verification policy, a deadline and a price cap.
 *
 * <p>The spec has one canonical JSON form ({@link #canonicalJson()}: UTF-8, keys sorted,
 * no insignificant whitespace, integers as JSON integers, other numbers as strings
 * holding their exact hexadecimal floating-point literal such as {@code "0x1.99999ap-4"},
 * instants as epoch milliseconds) and its SHA-256 ({@link #hash()}) is
 * the anchor that receipts, escrow and disputes refer to.
 *
 * <p>A spec is validated when built: the inputs must be exactly the buffers the kernel
 * reads for these parameters, with the same sizes, and the verification policy must be
 * able to check the kernel ({@link VerificationPolicy#requireApplicable}).
 *
 * @param kernel       what to run
 * @param params       launch parameters
 * @param inputs       the input buffers, in the kernel's order
 * @param requirements what the provider must have
 * @param verification how the buyer will check the result
 * @param deadline     when the job must be done, after which no attempt is started
 * @param maxPrice     the most the buyer pays for the whole job: every attempt and replica
 */
public record JobSpec(Kernel kernel, LaunchParams params, List<InputRef> inputs, Requirements requirements,
                      VerificationPolicy verification, Instant deadline, MicroUsd maxPrice) {
    /**
     * Leaf size of the RFC 6962 Merkle commitments over inputs and outputs: 4 KiB (receipts
     * carry it as {@code merkleChunkBytes}). Small leaves let a GPU hash one output with tens
     * of thousands of threads; see {@code docs/decisions.md}, "Merkle leaves are 4 KiB".
     */
    public static final int MERKLE_CHUNK_BYTES = 4 * 1024;

    /**
     * The unit in which outputs are sampled, proven and recomputed (spot checks, disputes):
     * 64 KiB, an aligned subtree of 16 {@link #MERKLE_CHUNK_BYTES} leaves, proven with
     * {@link dev.depin.crypto.MerkleTree#chunkProof}.
     */
    public static final int PROOF_CHUNK_BYTES = 64 * 1024;

    /** Format tag written into the canonical JSON. */
    public static final String FORMAT = "depin.job/v1";

    /*
     * The buyer hashes a spec when it submits the job, encodes it again to send it over a network,
     * and the provider hashes it for its receipt (in one JVM, the same object): encoded and hashed
     * once, remembered by identity (every component is immutable). The bytes are never handed out:
     * canonicalJson() copies them.
     */
    private static final dev.depin.crypto.IdentityMemo<JobSpec, Encoded> ENCODED =
            new dev.depin.crypto.IdentityMemo<>(256, s -> {
                byte[] json = SpecJson.write(s);
                return new Encoded(json, Sha256.hex(json));
            });

    /** A spec's canonical JSON and its hash; the array is never written or handed out. */
    private record Encoded(byte[] json, String hash) {
    }

    /**
     * Creates a spec and validates it; the deadline is truncated to the millisecond and
     * the input list copied.
     *
     * @param kernel       what to run; not null
     * @param params       launch parameters, which the kernel must accept; not null
     * @param inputs       the input buffers, exactly those the kernel reads for
     *                     {@code params}, each once and with the size it expects; not null
     * @param requirements what the provider must have; not null
     * @param verification how the buyer will check the result; not null, and applicable to
     *                     {@code kernel}
     * @param deadline     when the job must be done; not null
     * @param maxPrice     the most the buyer pays for the whole job; not null
     * @throws InvalidArgumentException on nulls
     * @throws ShapeMismatchException   if the inputs do not match the kernel's buffers
     * @throws InvalidJobException      if the verification policy cannot apply to the kernel
     */
    public JobSpec {
        InvalidArgumentException.requireNonNull(kernel, "kernel");
        InvalidArgumentException.requireNonNull(params, "launch parameters");
        InvalidArgumentException.requireNonNull(inputs, "inputs");
        InvalidArgumentException.requireNonNull(requirements, "requirements");
        InvalidArgumentException.requireNonNull(verification, "verification policy");
        InvalidArgumentException.requireNonNull(deadline, "deadline");
        InvalidArgumentException.requireNonNull(maxPrice, "maximum price");
        deadline = deadline.truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        inputs = List.copyOf(inputs);
        java.util.SortedSet<String> known = kernel.paramNames();
        java.util.SortedSet<String> given = new java.util.TreeSet<>(params.longs().keySet());
        given.addAll(params.floats().keySet());
        for (String name : given) {
            if (!known.contains(name)) {
                throw new ShapeMismatchException("launch parameter '" + name + "' is not one kernel " + kernel.id()
                        + " reads (it reads " + known + "): remove it");
            }
        }
        List<BufferDecl> expected = kernel.inputs(params);
        kernel.outputs(params);
        Map<String, InputRef> byName = new HashMap<>();
        for (InputRef in : inputs) {
            if (byName.put(in.name(), in) != null) {
                throw new ShapeMismatchException("input '" + in.name() + "' is given twice");
            }
        }
        for (BufferDecl d : expected) {
            InputRef in = byName.remove(d.name());
            if (in == null) {
                throw new ShapeMismatchException("kernel " + kernel.id() + " needs input '" + d.name() + "' of "
                        + d.bytes() + " bytes for " + params.longs() + ": add it");
            }
            if (in.bytes() != d.bytes()) {
                throw new ShapeMismatchException("input '" + d.name() + "' has " + in.bytes() + " bytes but kernel "
                        + kernel.id() + " with " + params.longs() + " needs " + d.bytes() + " bytes");
            }
        }
        if (!byName.isEmpty()) {
            throw new ShapeMismatchException("kernel " + kernel.id() + " does not read input(s) " + byName.keySet()
                    + ": remove them");
        }
        verification.requireApplicable(kernel);
    }

    /** @return the output buffers this job produces */
    public List<BufferDecl> outputs() {
        return kernel.outputs(params);
    }

    /** @return bytes of all inputs plus all outputs, the volume a provider charges per GB for */
    public long bytesMoved() {
        long total = 0;
        for (InputRef in : inputs) {
            total += in.bytes();
        }
        for (BufferDecl out : outputs()) {
            total += out.bytes();
        }
        return total;
    }

    /** @return the canonical JSON encoding as UTF-8 bytes (a fresh copy) */
    public byte[] canonicalJson() {
        return ENCODED.get(this).json.clone();
    }

    /** @return lower-case hex SHA-256 of {@link #canonicalJson()} */
    public String hash() {
        return ENCODED.get(this).hash;
    }

    /**
     * Parses a spec from its JSON form and validates it.
     *
     * @param json a spec's JSON form as UTF-8 bytes, as {@link #canonicalJson()} writes it
     *             (unknown fields and wrong types are refused); null is reported as
     *             {@link InvalidJobException}
     * @return the validated spec
     * @throws InvalidJobException if the JSON is malformed or the spec invalid
     */
    public static JobSpec fromJson(byte[] json) {
        return SpecJson.read(json);
    }
}
