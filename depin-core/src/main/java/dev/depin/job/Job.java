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
    /** The longest a buyer may ask a node to keep outputs left on it (a node may hold less). */
    public static final Duration MAX_LEAVE_OUTPUTS = Duration.ofDays(7);

    private final JobSpec spec;
    private final Map<String, ByteBuffer> inputs;
    /** The least SLA an offer must sign to be used, or null: the buyer's, never sent (see {@link SlaRequirement}). */
    private final SlaRequirement sla;
    /** Inputs taken by reference from an earlier job's output left on a provider (no bytes here). */
    private final Map<String, HeldOutput> held;
    /** How long the outputs stay on the provider instead of coming back, or null to return them. */
    private final Duration leaveFor;

    /**
     * Checks how long outputs may be left on a node (here, not in the network SPI, so that the job
     * API does not depend on the transport's types).
     *
     * @param ttl a duration of 1 ms to {@link #MAX_LEAVE_OUTPUTS}
     * @throws InvalidArgumentException if it is null or outside that range
     */
    public static void checkLeaveOutputsFor(Duration ttl) {
        InvalidArgumentException.requireNonNull(ttl, "time to live of the outputs left on the node");
        if (ttl.toMillis() < 1 || ttl.compareTo(MAX_LEAVE_OUTPUTS) > 0) {
            throw new InvalidArgumentException("outputs can be left on a node for 1 ms to " + MAX_LEAVE_OUTPUTS
                    + ", not " + ttl);
        }
    }

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
        this(spec, inputs, true, Map.of(), null);
    }

    private Job(JobSpec spec, Map<String, ByteBuffer> inputs, boolean checkRoots, Map<String, HeldOutput> held,
                Duration leaveFor) {
        InvalidArgumentException.requireNonNull(spec, "job spec");
        InvalidArgumentException.requireNonNull(inputs, "job inputs");
        Map<String, ByteBuffer> copy = new LinkedHashMap<>();
        for (InputRef in : spec.inputs()) {
            if (held.containsKey(in.name())) {
                continue;
            }
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
        this.held = Map.copyOf(held);
        this.leaveFor = leaveFor;
    }

    private Job(Job job, SlaRequirement sla) {
        this.spec = job.spec;
        this.inputs = job.inputs;
        this.sla = sla;
        this.held = job.held;
        this.leaveFor = job.leaveFor;
    }

    /**
     * @return inputs taken by reference from outputs an earlier job left on a provider
     *         ({@link Builder#inputFrom}), by input name; their bytes are not in {@link #inputs()}
     */
    public Map<String, HeldOutput> heldInputs() {
        return held;
    }

    /**
     * @return how long the provider keeps this job's outputs instead of returning them
     *         ({@link Builder#leaveOutputsOnNode}), or empty when they come back
     */
    public java.util.Optional<Duration> leaveOutputsFor() {
        return java.util.Optional.ofNullable(leaveFor);
    }

    /**
     * @return the provider every attempt must go to: the one holding the held inputs, or empty
     *         when the job has none
     */
    public java.util.Optional<dev.depin.crypto.NodeId> pinnedProvider() {
        return held.values().stream().map(HeldOutput::provider).findFirst();
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

    /** @return the input bytes the buyer sends, as fresh read-only views (position 0); not the held inputs */
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
        private final Map<String, HeldOutput> held = new LinkedHashMap<>();
        private Duration leaveFor;

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
            held.remove(name);
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
            held.remove(name);
            inputs.put(name, InvalidArgumentException.requireNonNull(bytes, "input '" + name + "'").slice()
                    .order(ByteOrder.LITTLE_ENDIAN));
            return this;
        }

        /**
         * Takes an input by reference from an output that an earlier job left on its provider
         * ({@link #leaveOutputsOnNode}): the spec commits to that output's root and size as its
         * receipt signed them, no bytes travel, and every attempt of this job goes to the
         * provider holding it. If that provider no longer holds it (time to live over, evicted,
         * restarted, gone), the job fails with a message naming the root and the provider, and
         * no money moves: run the producing job again.
         *
         * @param name       the kernel's name for the input buffer
         * @param previous   the earlier job's result; not null
         * @param outputName the name of the output it left on its provider
         * @return this builder
         * @throws InvalidArgumentException if {@code previous} is null or did not leave an output
         *                                  of that name on its provider
         */
        public Builder inputFrom(String name, JobResult previous, String outputName) {
            InvalidArgumentException.requireNonNull(name, "input name");
            InvalidArgumentException.requireNonNull(previous, "previous job's result");
            HeldOutput h = previous.heldOutputs().get(outputName);
            if (h == null) {
                throw new InvalidArgumentException("job " + previous.jobId() + " left no output '" + outputName
                        + "' on its provider (held: " + previous.heldOutputs().keySet() + "): build that job with "
                        + "leaveOutputsOnNode(ttl), or pass the bytes with input(\"" + name + "\", ...)");
            }
            inputs.remove(name);
            held.put(name, h);
            return this;
        }

        /**
         * Leaves every output on the provider that runs the job, by the root its receipt commits
         * to, for {@code ttl}; none of their bytes come back. The result says where each is held
         * ({@link JobResult#heldOutputs()}); a following job takes it with {@link #inputFrom}, and
         * its chunks can be fetched with their proofs. Only providers that keep data (an offer
         * with input cache bytes) are chosen; one whose cache has no room, or holds data for
         * less than {@code ttl}, refuses the attempt. Verification then cannot read all the bytes:
         * a spot check fetches only its sampled chunks with their proofs, signature-only is
         * allowed, Freivalds and redundancy are refused by {@link #build()}.
         *
         * @param ttl how long the provider keeps them: 1 ms to 7 days
         * @return this builder
         * @throws InvalidArgumentException if {@code ttl} is null or out of range
         */
        public Builder leaveOutputsOnNode(Duration ttl) {
            InvalidArgumentException.requireNonNull(ttl, "time to live of the outputs left on the node");
            checkLeaveOutputsFor(ttl);
            this.leaveFor = ttl;
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
                HeldOutput h = held.get(d.name());
                if (h != null) {
                    refs.add(new InputRef(d.name(), h.bytes(), h.merkleRoot()));
                    continue;
                }
                ByteBuffer data = inputs.get(d.name());
                if (data == null) {
                    throw new ShapeMismatchException("kernel " + kernel.id() + " needs input '" + d.name() + "' of "
                            + d.bytes() + " bytes: add it with input(\"" + d.name() + "\", ...)");
                }
                refs.add(new InputRef(d.name(), data.remaining(),
                        Hex.encode(Merkle.root(data, JobSpec.MERKLE_CHUNK_BYTES, hashing))));
            }
            java.util.Set<String> names = new java.util.LinkedHashSet<>(inputs.keySet());
            names.addAll(held.keySet());
            for (String name : names) {
                if (refs.stream().noneMatch(r -> r.name().equals(name))) {
                    throw new ShapeMismatchException("kernel " + kernel.id() + " does not read input '" + name
                            + "': it reads " + kernel.inputs(p).stream().map(BufferDecl::name).toList());
                }
            }
            Instant due = deadline != null ? deadline : clock.instant().plus(timeout);
            boolean bytesAway = leaveFor != null || !held.isEmpty();
            VerificationPolicy policy = verificationChosen ? verification
                    : bytesAway ? VerificationPolicy.defaultWithoutBytes(kernel) : VerificationPolicy.defaultFor(kernel);
            if (bytesAway) {
                checkHeld(p, policy);
            }
            JobSpec spec = new JobSpec(kernel, p, refs, requirements, policy, due, maxPrice);
            Job job = new Job(spec, inputs, false, held, leaveFor);
            return sla == null ? job : job.withSla(sla);
        }

        /** A job whose bytes stay on a provider: one provider, and a policy that needs no more than sampled bytes. */
        private void checkHeld(LaunchParams p, VerificationPolicy policy) {
            java.util.Set<dev.depin.crypto.NodeId> holders = new java.util.LinkedHashSet<>();
            for (Map.Entry<String, HeldOutput> e : held.entrySet()) {
                holders.add(e.getValue().provider());
                long declared = kernel.inputs(p).stream().filter(d -> d.name().equals(e.getKey()))
                        .mapToLong(BufferDecl::bytes).findFirst().orElse(-1);
                if (declared >= 0 && declared != e.getValue().bytes()) {
                    throw new ShapeMismatchException("input '" + e.getKey() + "' is " + e.getValue().describe()
                            + ", but kernel " + kernel.id() + " reads " + declared + " bytes there: check the launch "
                            + "parameters");
                }
            }
            if (holders.size() > 1) {
                throw new InvalidJobException("inputs " + held.keySet() + " are held on " + holders.size()
                        + " different providers " + holders.stream().map(dev.depin.crypto.NodeId::shortId).toList()
                        + ": a job runs on one provider, so take every held input from the same one (or pass bytes)");
            }
            String where = leaveFor != null && !held.isEmpty() ? "its outputs stay on the provider and inputs "
                    + held.keySet() + " are held there" : leaveFor != null ? "its outputs stay on the provider"
                    : "inputs " + held.keySet() + " are held on the provider";
            if (policy instanceof VerificationPolicy.Freivalds) {
                throw new InvalidJobException("verification " + policy + " needs every byte of the inputs and outputs, "
                        + "but " + where + ": use VerificationPolicy.spotCheck(fraction), which fetches only the "
                        + "sampled chunks with their proofs, or return the outputs");
            }
            if (policy instanceof VerificationPolicy.Redundant) {
                throw new InvalidJobException("verification " + policy + " needs several providers, but " + where
                        + ": use VerificationPolicy.spotCheck(fraction), or return the outputs");
            }
        }
    }
}
