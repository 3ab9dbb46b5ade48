package dev.depin.job;

import dev.depin.InvalidJobException;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.VerificationReport;
import dev.depin.crypto.verify.SpotCheck;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.KernelReference;
import dev.depin.kernel.MatrixProduct;
import dev.depin.kernel.Recompute;
import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * How the buyer checks a provider's result before accepting it: a sealed family of values.
 * The buyer picks; the verification report says what was actually checked and with what
 * error bound. Each policy asks the kernel's {@link KernelReference} what it can check,
 * so adding a policy is one record here and adding a kernel never touches this file.
 *
 * <ul>
 *   <li>{@link #signatureOnly()}: the receipt is authentic and bound to this job. Proves
 *       who claims what, not that the arithmetic is right.</li>
 *   <li>{@link #freivalds(int)}: for matrix products, {@code rounds} random-vector checks
 *       {@code A(Bx) = Cx}; false accept &le; 2^-rounds for errors above tolerance.</li>
 *   <li>{@link #spotCheck(double)}: recompute a random fraction of output chunks on
 *       the CPU reference and compare.</li>
 *   <li>{@link #redundant(int)}: run on {@code replicas} distinct providers and compare;
 *       majority wins.</li>
 * </ul>
 *
 * <p>Canonical JSON (in a {@link JobSpec}) writes every policy as {@link #kind()},
 * {@link #rounds()}, {@link #fraction()} and {@link #replicas()}; {@link #of} reads it back.
 */
public sealed interface VerificationPolicy permits VerificationPolicy.SignatureOnly,
        VerificationPolicy.Freivalds, VerificationPolicy.SpotCheck, VerificationPolicy.Redundant {

    /** @return the policy's name in canonical JSON, e.g. {@code "FREIVALDS"} */
    String kind();

    /** @return Freivalds rounds, 0 for other policies */
    default int rounds() {
        return 0;
    }

    /** @return the spot-check fraction, 0 for other policies */
    default double fraction() {
        return 0;
    }

    /** @return redundant replicas, 0 for other policies */
    default int replicas() {
        return 0;
    }

    /** @return attempts dispatched per round: the replica count, or 1 */
    default int attemptsPerRound() {
        return 1;
    }

    /**
     * Checks that this policy can check results of {@code kernel}.
     *
     * @param kernel the job's kernel
     * @throws InvalidJobException with what to use instead when it cannot
     */
    void requireApplicable(Kernel kernel);

    /**
     * Checks one attempt's outputs, already bound to its verified receipt.
     *
     * @param in what the check needs
     * @return what was checked, or empty when this policy adds nothing per attempt
     *         (signature only; redundancy, which compares attempts)
     * @throws dev.depin.crypto.VerificationException when the outputs fail the check
     */
    Optional<VerificationReport> check(ResultCheck in);

    /**
     * The cheapest sound check the kernel has, which is what a job gets unless it asks for
     * another: {@link #freivalds(int) freivalds(20)} for a matrix product (O(n²) per round
     * against the product's O(n³), false accept &le; 2^-20), {@link #spotCheck(double)
     * spotCheck(0.05)} for any other kernel with a CPU reference (at least one 64 KiB chunk per
     * output, so a small output is recomputed whole), and {@link #redundant(int) redundant(2)}
     * for user PTX, which has no reference: two distinct providers must agree bit for bit.
     * {@link #signatureOnly()} is never a default; it is an explicit opt-out.
     *
     * @param kernel the job's kernel; not null
     * @return the default policy for it
     * @throws InvalidArgumentException if {@code kernel} is null
     */
    static VerificationPolicy defaultFor(Kernel kernel) {
        InvalidArgumentException.requireNonNull(kernel, "kernel");
        Optional<KernelReference> ref = kernel.reference();
        if (ref.isEmpty()) {
            return redundant(2);
        }
        return ref.get().isMatrixProduct() ? freivalds(20) : spotCheck(0.05);
    }

    /**
     * The default for a job whose bytes stay on a provider (outputs left there, or inputs held
     * there), where the buyer cannot read every byte: a spot check of 5 % of the chunks, fetched
     * with their inclusion proofs, for a kernel with a CPU reference.
     *
     * @param kernel the kernel; not null
     * @return {@code spotCheck(0.05)}
     * @throws dev.depin.InvalidJobException for a kernel without a CPU reference, which can then
     *         only be accepted on its signature: choose {@link #signatureOnly()} explicitly
     */
    static VerificationPolicy defaultWithoutBytes(Kernel kernel) {
        InvalidArgumentException.requireNonNull(kernel, "kernel");
        if (kernel.reference().isEmpty()) {
            throw new dev.depin.InvalidJobException("kernel " + kernel.id() + " has no CPU reference, and this job's "
                    + "bytes stay on a provider, so it cannot be recomputed or compared across providers: choose "
                    + "verification(VerificationPolicy.signatureOnly()) explicitly, or return the outputs");
        }
        return spotCheck(0.05);
    }

    /**
     * A policy that checks the receipt's signature and bindings only: who claims what, not
     * that the arithmetic is right. Never a default; choose it explicitly where the result is
     * checked some other way or does not matter.
     *
     * @return the policy
     */
    static VerificationPolicy signatureOnly() {
        return SignatureOnly.INSTANCE;
    }

    /**
     * @param rounds random vectors, 1 to 64; 20 gives a false-accept bound of 2^-20
     * @return a Freivalds check
     */
    static VerificationPolicy freivalds(int rounds) {
        return new Freivalds(rounds);
    }

    /**
     * @param fraction fraction of output chunks to recompute, in (0, 1]
     * @return a spot check
     */
    static VerificationPolicy spotCheck(double fraction) {
        return new SpotCheck(fraction);
    }

    /**
     * @param replicas distinct providers, 2 to 9; 3 lets a majority outvote one bad provider
     * @return redundant execution
     */
    static VerificationPolicy redundant(int replicas) {
        return new Redundant(replicas);
    }

    /**
     * Reads a policy from its canonical fields; the fields a kind does not use must be 0.
     *
     * @param kind     {@code SIGNATURE_ONLY}, {@code FREIVALDS}, {@code SPOT_CHECK} or {@code REDUNDANT}
     * @param rounds   Freivalds rounds
     * @param fraction spot-check fraction
     * @param replicas redundant replicas
     * @return the policy
     * @throws InvalidArgumentException on an unknown kind or numbers that do not fit it
     */
    static VerificationPolicy of(String kind, int rounds, double fraction, int replicas) {
        InvalidArgumentException.requireNonNull(kind, "verification kind");
        VerificationPolicy p = switch (kind) {
            case SignatureOnly.KIND -> signatureOnly();
            case Freivalds.KIND -> new Freivalds(rounds);
            case SpotCheck.KIND -> new SpotCheck(fraction);
            case Redundant.KIND -> new Redundant(replicas);
            default -> throw new InvalidArgumentException("verification kind '" + kind + "' is unknown: use "
                    + SignatureOnly.KIND + ", " + Freivalds.KIND + ", " + SpotCheck.KIND + " or " + Redundant.KIND);
        };
        if (p.rounds() != rounds || Double.compare(p.fraction(), fraction + 0.0) != 0 || p.replicas() != replicas) {
            String uses = p.rounds() != 0 ? "only rounds" : p.fraction() != 0 ? "only a fraction"
                    : p.replicas() != 0 ? "only replicas" : "no rounds, fraction or replicas";
            throw new InvalidArgumentException(kind + " takes " + uses + "; got rounds " + rounds + ", fraction "
                    + fraction + ", replicas " + replicas);
        }
        return p;
    }

    /**
     * What a per-attempt check needs.
     *
     * @param spec          the job spec
     * @param inputs        the buyer's own input bytes by name
     * @param outputs       the outputs received, bound to the receipt
     * @param committedRoot the Merkle root the receipt commits to, per output name
     * @param cpu           the CPU reference for recomputation
     * @param seed          the seed of every random choice, drawn after the provider committed
     * @param parallelism   threads the check may use besides the calling one (e.g. Freivalds'
     *                      rounds over large matrices)
     */
    record ResultCheck(JobSpec spec, java.util.Map<String, ByteBuffer> inputs,
                       java.util.Map<String, ByteBuffer> outputs, java.util.Map<String, byte[]> committedRoot,
                       dev.depin.kernel.CpuReference cpu, byte[] seed, dev.depin.crypto.Parallelism parallelism) {
        /**
         * Bundles what a check needs; nothing is copied.
         *
         * @param spec          the job spec; not null
         * @param inputs        the buyer's own input bytes by input name; not null
         * @param outputs       the outputs received, bound to the receipt, by output name; not null
         * @param committedRoot the 32-byte Merkle root the receipt commits to, per output name;
         *                      not null
         * @param cpu           the CPU reference for recomputation; not null
         * @param seed          the seed of every random choice, drawn after the provider
         *                      committed; not null
         * @param parallelism   threads the check may use besides the calling one; not null
         *                      ({@link dev.depin.crypto.Parallelism#callerThread()} for none)
         * @throws InvalidArgumentException on nulls
         */
        public ResultCheck {
            InvalidArgumentException.requireNonNull(spec, "spec");
            InvalidArgumentException.requireNonNull(inputs, "inputs");
            InvalidArgumentException.requireNonNull(outputs, "outputs");
            InvalidArgumentException.requireNonNull(committedRoot, "committed roots");
            InvalidArgumentException.requireNonNull(cpu, "CPU reference");
            InvalidArgumentException.requireNonNull(seed, "seed");
            InvalidArgumentException.requireNonNull(parallelism, "parallelism");
        }

        private KernelReference reference() {
            return spec.kernel().reference().orElseThrow(() -> new InvalidJobException("kernel "
                    + spec.kernel().id() + " has no CPU reference: check it with redundant or signatureOnly"));
        }
    }

    /** The receipt's signature and bindings only. */
    final class SignatureOnly implements VerificationPolicy {
        static final String KIND = "SIGNATURE_ONLY";
        private static final SignatureOnly INSTANCE = new SignatureOnly();

        private SignatureOnly() {
        }

        @Override
        public String kind() {
            return KIND;
        }

        @Override
        public void requireApplicable(Kernel kernel) {
            InvalidArgumentException.requireNonNull(kernel, "kernel");
        }

        @Override
        public Optional<VerificationReport> check(ResultCheck in) {
            return Optional.empty();
        }

        @Override
        public String toString() {
            return "signatureOnly";
        }
    }

    /**
     * Freivalds' randomized product check.
     *
     * @param rounds random vectors, 1 to 64
     */
    record Freivalds(int rounds) implements VerificationPolicy {
        static final String KIND = "FREIVALDS";

        /**
         * Creates the policy after checking the number of rounds.
         *
         * @param rounds random vectors, 1 to 64; a product wrong beyond tolerance passes all
         *               of them with probability at most 2^-rounds
         * @throws InvalidArgumentException unless 1 &le; rounds &le; 64
         */
        public Freivalds {
            if (rounds < 1 || rounds > 64) {
                throw new InvalidArgumentException("freivalds needs 1 to 64 rounds (got " + rounds
                        + "); 20 gives a false-accept bound of 2^-20");
            }
        }

        @Override
        public String kind() {
            return KIND;
        }

        @Override
        public void requireApplicable(Kernel kernel) {
            boolean product = kernel.reference().map(KernelReference::isMatrixProduct).orElse(false);
            if (!product) {
                throw new InvalidJobException("freivalds verification checks matrix products only, but this job runs "
                        + kernel.id() + ": use spotCheck or redundant");
            }
        }

        @Override
        public Optional<VerificationReport> check(ResultCheck in) {
            MatrixProduct p = in.reference().matrixProduct(in.spec().params()).orElseThrow();
            // Read in place from the byte buffers: no copy of A, B or C.
            return Optional.of(dev.depin.crypto.verify.Freivalds.verify(
                    dev.depin.kernel.Buffers.floatView(in.inputs().get(p.a())),
                    dev.depin.kernel.Buffers.floatView(in.inputs().get(p.b())),
                    dev.depin.kernel.Buffers.floatView(in.outputs().get(p.c())), p.m(), p.k(), p.n(),
                    dev.depin.crypto.verify.Freivalds.Options.rigorous(rounds), in.seed(), in.parallelism()));
        }

        @Override
        public String toString() {
            return "freivalds(" + rounds + ")";
        }
    }

    /**
     * Recomputes a random fraction of output chunks on the CPU reference.
     *
     * @param fraction in (0, 1]
     */
    record SpotCheck(double fraction) implements VerificationPolicy {
        static final String KIND = "SPOT_CHECK";

        /**
         * Creates the policy after checking the fraction.
         *
         * @param fraction the share of output chunks to recompute, in (0, 1] (NaN is refused);
         *                 0.05 checks 5% of them
         * @throws InvalidArgumentException unless 0 &lt; fraction &le; 1
         */
        public SpotCheck {
            if (!(fraction > 0 && fraction <= 1)) {
                throw new InvalidArgumentException("spotCheck needs a fraction in (0, 1] (got " + fraction
                        + "), e.g. 0.05 for 5% of chunks");
            }
        }

        @Override
        public String kind() {
            return KIND;
        }

        @Override
        public void requireApplicable(Kernel kernel) {
            if (kernel.reference().isEmpty()) {
                throw new InvalidJobException("spotCheck recomputes chunks with the CPU reference, which cannot run "
                        + kernel.id() + ": use redundant or signatureOnly");
            }
        }

        @Override
        public Optional<VerificationReport> check(ResultCheck in) {
            Recompute rc = in.reference().recompute(in.cpu(), in.spec().params(), in.inputs());
            VerificationReport report = null;
            for (var d : in.spec().outputs()) {
                VerificationReport one = dev.depin.crypto.verify.SpotCheck.verify(in.outputs().get(d.name()),
                        in.committedRoot().get(d.name()), JobSpec.MERKLE_CHUNK_BYTES, JobSpec.PROOF_CHUNK_BYTES,
                        fraction, in.seed(),
                        rc.recomputer(), rc.comparison());
                report = report == null ? one : report.and(one);
            }
            return Optional.ofNullable(report);
        }

        @Override
        public String toString() {
            return "spotCheck(" + fraction + ")";
        }
    }

    /**
     * Runs on several distinct providers; the majority's output wins.
     *
     * @param replicas 2 to 9
     */
    record Redundant(int replicas) implements VerificationPolicy {
        static final String KIND = "REDUNDANT";

        /**
         * Creates the policy after checking the number of replicas.
         *
         * @param replicas how many distinct providers run the job, 2 to 9; 3 lets a majority
         *                 outvote one bad provider
         * @throws InvalidArgumentException unless 2 &le; replicas &le; 9
         */
        public Redundant {
            if (replicas < 2 || replicas > 9) {
                throw new InvalidArgumentException("redundant needs 2 to 9 replicas (got " + replicas
                        + "); 3 lets a majority outvote one bad provider");
            }
        }

        @Override
        public String kind() {
            return KIND;
        }

        @Override
        public int attemptsPerRound() {
            return replicas;
        }

        /** @return the smallest number of agreeing replicas that decides: a strict majority */
        public int quorum() {
            return replicas / 2 + 1;
        }

        @Override
        public void requireApplicable(Kernel kernel) {
            InvalidArgumentException.requireNonNull(kernel, "kernel");
        }

        @Override
        public Optional<VerificationReport> check(ResultCheck in) {
            return Optional.empty();
        }

        @Override
        public String toString() {
            return "redundant(" + replicas + ")";
        }
    }
}
