package dev.depin.job;

import dev.depin.InvalidJobException;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Hex;
import dev.depin.crypto.Merkle;
import dev.depin.kernel.Buffers;
import dev.depin.kernel.BufferDecl;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.ShapeMismatchException;
import dev.depin.money.MicroUsd;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A job ready to submit: its {@link JobSpec} and the input bytes the spec commits to.
 *
 * <pre>{@code
 * Job job = Job.builder(BuiltinKernel.SGEMM)
 *         .param("m", 64).param("k", 32).param("n", 16)
 *         .input("a", a).input("b", b)                   // float[] or ByteBuffer
 *         .verification(VerificationPolicy.freivalds(20))
 *         .maxPrice(MicroUsd.ofUsd("0.01"))
 *         .timeout(Duration.ofSeconds(30))
 *         .build();
 * }</pre>
 */
public final class Job {
    private final JobSpec spec;
    private final Map<String, ByteBuffer> inputs;
    /** The least SLA an offer must sign to be used, or null: the buyer's, never sent (see {@link SlaRequirement}). */
    private final SlaRequirement sla;

    /**
     * A job from a spec and its input bytes; every input is re-hashed and checked
     * against the spec's Merkle roots.
     *
     * @param spec   the spec
     * @param inputs the input bytes by name (their remaining bytes; not copied, do not modify)
     * @throws InvalidJobException if an input is missing, has the wrong size, or does not
     *                             hash to the root the spec commits to
     */
    public Job(JobSpec spec, Map<String, ByteBuffer> inputs) {
        this(spec, inputs, true);
    }

    private Job(JobSpec spec, Map<String, ByteBuffer> inputs, boolean checkRoots) {
        InvalidArgumentException.requireNonNull(spec, "job spec");
        InvalidArgumentException.requireNonNull(inputs, "job inputs");
        Map<String, ByteBuffer> copy = new LinkedHashMap<>();
        for (InputRef in : spec.inputs()) {
            ByteBuffer data = inputs.get(in.name());
            if (data == null) {
                throw new ShapeMismatchException("the spec commits to input '" + in.name() + "' but no bytes were given");
            }
            if (data.remaining() != in.bytes()) {
                throw new ShapeMismatchException("input '" + in.name() + "' has " + data.remaining()
                        + " bytes but the spec declares " + in.bytes());
            }
            String root = checkRoots ? Hex.encode(Merkle.root(data, JobSpec.MERKLE_CHUNK_BYTES)) : in.merkleRoot();
            if (!root.equals(in.merkleRoot())) {
                throw new InvalidJobException("input '" + in.name() + "' hashes to Merkle root " + root
                        + " but the spec commits to " + in.merkleRoot() + ": pass the bytes the spec was built from");
            }
            copy.put(in.name(), data);
        }
        if (inputs.size() != copy.size()) {
            throw new ShapeMismatchException("inputs " + inputs.keySet() + " include names the spec does not declare "
                    + copy.keySet());
        }
        this.spec = spec;
        this.inputs = Buffers.freeze(copy, "job inputs");
        this.sla = null;
    }

    private Job(Job job, SlaRequirement sla) {
        this.spec = job.spec;
        this.inputs = job.inputs;
        this.sla = sla;
    }

    /**
     * This job, placed only with providers whose signed SLA meets {@code requirement}. The spec
     * (what the node hashes and signs) is the same: the requirement is the buyer's filter.
     *
     * @param requirement the least SLA accepted, or null for none
     * @return a job with the same spec and inputs
     */
    public Job withSla(SlaRequirement requirement) {
        return new Job(this, requirement);
    }

    /** @return the least SLA an offer must sign for this job to be placed there, or null when any offer will do */
    public SlaRequirement slaRequirement() {
        return sla;
    }

    /** @return the spec */
    public JobSpec spec() {
        return spec;
    }

    /** @return the inputs as fresh read-only views (position 0) */
    public Map<String, ByteBuffer> inputs() {
        return Buffers.views(inputs);
    }

    /**
     * Starts building a job.
     *
     * @param kernel the kernel to run (built in or custom); not null
     * @return a builder for a job running {@code kernel}, with the defaults listed on
     *         its methods
     * @throws InvalidArgumentException if {@code kernel} is null
     */
    public static Builder builder(Kernel kernel) {
        return new Builder(kernel);
    }

    /** Builds a {@link Job}: computes the inputs' Merkle roots and validates the spec. */
    public static final class Builder {
        private final Kernel kernel;
        private final LaunchParams.Builder params = LaunchParams.builder();
        private final Map<String, ByteBuffer> inputs = new LinkedHashMap<>();
        private Requirements requirements = Requirements.ANY;
        private SlaRequirement sla;
        private VerificationPolicy verification;
        private boolean verificationChosen;
        private MicroUsd maxPrice = MicroUsd.ofUsd("1");
        private Duration timeout = Duration.ofMinutes(1);
        private Instant deadline;
        private Clock clock = Clock.systemUTC();
        private dev.depin.crypto.Parallelism hashing = dev.depin.crypto.Parallelism.callerThread();

        private Builder(Kernel kernel) {
            this.kernel = InvalidArgumentException.requireNonNull(kernel, "kernel");
        }

        /**
         * Sets an integer launch parameter, or a float one where the kernel declares
         * {@code name} as a float scalar ({@code param("alpha", 2)} sets SAXPY's alpha to
         * 2.0f), provided the integer is exactly representable as a float.
         *
         * @param name  the parameter
         * @param value its value
         * @return this builder
         * @throws InvalidArgumentException if the kernel's float parameter cannot hold the value exactly
         */
        public Builder param(String name, long value) {
            if (kernel.isFloatParam(name)) {
                float f = (float) value;
                if ((long) f != value) {
                    throw new InvalidArgumentException("parameter '" + name + "' of " + kernel.id()
                            + " is a float, and " + value + " has no exact float value: pass a float instead");
                }
                params.put(name, f);
            } else {
                params.put(name, value);
            }
            return this;
        }

        /**
         * Sets a float launch parameter.
         *
         * @param name  the parameter
         * @param value its value, finite
         * @return this builder
         * @throws InvalidArgumentException if the kernel is built in and {@code name} is one of
         *                                  its integer parameters
         */
        public Builder param(String name, float value) {
            if (kernel instanceof BuiltinKernel && !kernel.isFloatParam(name)) {
                throw new InvalidArgumentException("parameter '" + name + "' of " + kernel.id()
                        + " is an integer: pass a whole number, e.g. param(\"" + name + "\", 256)");
            }
            params.put(name, value);
            return this;
        }

        /**
         * Sets a float launch parameter from a double, rounded to the nearest float.
         *
         * @param name  the parameter
         * @param value its value, finite and within float range
         * @return this builder
         * @throws InvalidArgumentException if the value is not finite or overflows a float
         */
        public Builder param(String name, double value) {
            float f = (float) value;
            if (Double.isFinite(value) && Float.isInfinite(f)) {
                throw new InvalidArgumentException("parameter '" + name + "' = " + value
                        + " is out of float range (max " + Float.MAX_VALUE + ")");
            }
            return param(name, f);
        }

        /**
         * Adds an input of float32 values (copied, little-endian).
         *
         * @param name   the kernel's name for the input buffer; a name the kernel does not
         *               read, or a missing one, makes {@link #build()} throw
         * @param values the values, copied now; not null. Their byte size must be what the
         *               kernel expects for the launch parameters, checked by {@link #build()}
         * @return this builder
         * @throws InvalidArgumentException if {@code values} is null
         */
        public Builder input(String name, float[] values) {
            InvalidArgumentException.requireNonNull(values, "input '" + name + "'");
            inputs.put(name, Buffers.littleEndian(values));
            return this;
        }

        /**
         * Adds an input of raw little-endian bytes (its remaining bytes; not copied, do not modify).
         *
         * @param name  the kernel's name for the input buffer; a name the kernel does not
         *              read, or a missing one, makes {@link #build()} throw
         * @param bytes the data, from its position to its limit; not null. The buffer itself
         *              is left untouched (a slice is kept), but its content must not change
         *              afterwards, since the job's Merkle roots are computed from it
         * @return this builder
         * @throws InvalidArgumentException if {@code bytes} is null
         */
        public Builder input(String name, ByteBuffer bytes) {
            inputs.put(name, InvalidArgumentException.requireNonNull(bytes, "input '" + name + "'").slice()
                    .order(ByteOrder.LITTLE_ENDIAN));
            return this;
        }

        /**
         * What a provider must have; default {@link Requirements#ANY}.
         *
         * @param requirements the requirements; not null ({@link #build()} throws
         *                     {@link InvalidArgumentException} on null)
         * @return this builder
         */
        public Builder requirements(Requirements requirements) {
            this.requirements = requirements;
            return this;
        }

        /**
         * Places the job only with providers whose signed SLA meets {@code requirement}
         * ({@link Job#withSla}); default none. Not part of the spec.
         *
         * @param requirement the least SLA accepted, or null for none
         * @return this builder
         */
        public Builder requireSla(SlaRequirement requirement) {
            this.sla = requirement;
            return this;
        }

        /**
         * How the result is checked; default {@link VerificationPolicy#defaultFor} the kernel
         * (Freivalds for SGEMM, a spot check for element-wise kernels, redundancy for user PTX).
         * {@link VerificationPolicy#signatureOnly()} is an explicit opt-out.
         *
         * @param policy the policy; not null, and able to check this kernel (both checked by
         *               {@link #build()})
         * @return this builder
         */
        public Builder verification(VerificationPolicy policy) {
            this.verification = policy;
            this.verificationChosen = true;
            return this;
        }

        /**
         * The most the whole job may cost, every attempt and replica included; default $1.
         *
         * @param maxPrice the cap; not null ({@link #build()} throws
         *                 {@link InvalidArgumentException} on null)
         * @return this builder
         */
        public Builder maxPrice(MicroUsd maxPrice) {
            this.maxPrice = maxPrice;
            return this;
        }

        /**
         * Deadline relative to {@link #build()} time; default one minute. Replaces any
         * deadline set before with {@link #deadline}.
         *
         * @param timeout how long after {@link #build()} the job may run; positive
         * @return this builder
         * @throws InvalidArgumentException if {@code timeout} is null, zero or negative
         */
        public Builder timeout(Duration timeout) {
            InvalidArgumentException.requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new InvalidArgumentException("timeout " + timeout + " must be positive");
            }
            this.timeout = timeout;
            this.deadline = null;
            return this;
        }

        /**
         * An absolute deadline (overrides {@link #timeout}).
         *
         * @param deadline when the job must be done; not null. The spec keeps it to the
         *                 millisecond; a deadline already past at submission gets the job rejected
         * @return this builder
         * @throws InvalidArgumentException if {@code deadline} is null
         */
        public Builder deadline(Instant deadline) {
            this.deadline = InvalidArgumentException.requireNonNull(deadline, "deadline");
            return this;
        }

        /**
         * The clock {@link #timeout} counts from; default the system UTC clock.
         *
         * @param clock the clock {@link #build()} reads once when no absolute deadline is set; not null
         * @return this builder
         * @throws InvalidArgumentException if {@code clock} is null
         */
        public Builder clock(Clock clock) {
            this.clock = InvalidArgumentException.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Lends threads to {@link #build()}'s hashing: inputs of 4 MiB and more are leaf-hashed
         * in parallel on them ({@link Merkle#root(ByteBuffer, int, dev.depin.crypto.Parallelism)};
         * the roots never depend on the thread count). Default: the calling thread only. A
         * buyer can lend its pool, e.g. {@code Parallelism.newPool(cores)} kept for many jobs.
         *
         * @param parallelism where the input hashing may run; not null; not closed by the job
         * @return this builder
         * @throws InvalidArgumentException if {@code parallelism} is null
         */
        public Builder hashing(dev.depin.crypto.Parallelism parallelism) {
            this.hashing = InvalidArgumentException.requireNonNull(parallelism, "hashing parallelism");
            return this;
        }

        /**
         * @return the job
         * @throws InvalidJobException if the inputs do not fit the kernel
         */
        public Job build() {
            LaunchParams p = params.build();
            List<InputRef> refs = new ArrayList<>();
            for (BufferDecl d : kernel.inputs(p)) {
                ByteBuffer data = inputs.get(d.name());
                if (data == null) {
                    throw new ShapeMismatchException("kernel " + kernel.id() + " needs input '" + d.name() + "' of "
                            + d.bytes() + " bytes: add it with input(\"" + d.name() + "\", ...)");
                }
                refs.add(new InputRef(d.name(), data.remaining(),
                        Hex.encode(Merkle.root(data, JobSpec.MERKLE_CHUNK_BYTES, hashing))));
            }
            for (String name : inputs.keySet()) {
                if (refs.stream().noneMatch(r -> r.name().equals(name))) {
                    throw new ShapeMismatchException("kernel " + kernel.id() + " does not read input '" + name
                            + "': it reads " + kernel.inputs(p).stream().map(BufferDecl::name).toList());
                }
            }
            Instant due = deadline != null ? deadline : clock.instant().plus(timeout);
            VerificationPolicy policy = verificationChosen ? verification : VerificationPolicy.defaultFor(kernel);
            JobSpec spec = new JobSpec(kernel, p, refs, requirements, policy, due, maxPrice);
            Job job = new Job(spec, inputs, false);
            return sla == null ? job : job.withSla(sla);
        }
    }
}
