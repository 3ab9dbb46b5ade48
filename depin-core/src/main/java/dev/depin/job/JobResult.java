package dev.depin.job;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.VerificationReport;
import dev.depin.kernel.Buffers;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.JobSettlement;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A finished job: the verified outputs and the account of how they were obtained, with
 * the evidence to show anyone else: the signed receipt, the signed wipe attestation, and
 * the verification report.
 *
 * @param jobId        the job id
 * @param specHash     SHA-256 hex of the spec's canonical JSON
 * @param attempt      the attempt whose outputs were accepted
 * @param provider     who ran it
 * @param executorKind the executor the provider used, as it reported
 * @param outputs      output bytes by name (read-only little-endian views)
 * @param cost         what the job costs: every verified replica at its offer's price (one
 *                     attempt unless redundant), never more than the spec's max price
 * @param timings      when things happened
 * @param receipt      the provider's signed execution receipt for the accepted attempt, or
 *                     {@code null} when the provider signed it in a batch (see {@code batched})
 * @param wipe         the provider's signed wipe attestation for it, or {@code null} when batched
 * @param report       what the buyer verified, and the assurance it gives, in numbers
 * @param disputes     attempts of this job that failed verification, with their evidence
 * @param history      every state change of the job, in order
 * @param batched      the accepted attempt's receipt and wipe statements with their inclusion
 *                     proofs in one signed batch, or {@code null} when signed one by one
 * @param settlement   the job's holds, posts, voids and slashes, or {@code null} when the client
 *                     has no {@link dev.depin.settlement.Escrow} (the job then ends
 *                     {@code VERIFIED}, and {@code cost} is what it would have been paid)
 * @param heldOutputs  outputs left on the provider instead of returned
 *                     ({@link Job.Builder#leaveOutputsOnNode}), by name: their roots and sizes as
 *                     the verified receipt signed them, and where they are held; their bytes are
 *                     not in {@code outputs}
 * @param data         what the accepted attempt's data did: inputs the provider already held, bytes
 *                     sent and not sent, what it keeps, and the data part of the price
 *                     ({@link DataMovement}); {@code null} when built without it
 */
public record JobResult(String jobId, String specHash, int attempt, NodeId provider, String executorKind,
                        Map<String, ByteBuffer> outputs, MicroUsd cost, Timings timings, Envelope receipt,
                        Envelope wipe, VerificationReport report, List<DisputeRecord> disputes,
                        List<JobEvent> history, BatchedReceipt batched, JobSettlement settlement,
                        Map<String, HeldOutput> heldOutputs, DataMovement data) {
    /**
     * Validates every component.
     *
     * @param jobId the job id
     * @param specHash SHA-256 hex of the spec's canonical JSON
     * @param attempt the attempt whose outputs were accepted
     * @param provider who ran it
     * @param executorKind the executor the provider used, as it reported
     * @param outputs output bytes by name (read-only little-endian views)
     * @param cost what the job costs: every verified replica at its offer's price (one attempt unless
     *        redundant), never more than the spec's max price
     * @param timings when things happened
     * @param receipt the provider's signed execution receipt for the accepted attempt, or {@code null} when
     *        the provider signed it in a batch (see {@code batched})
     * @param wipe the provider's signed wipe attestation for it, or {@code null} when batched
     * @param report what the buyer verified, and the assurance it gives, in numbers
     * @param disputes attempts of this job that failed verification, with their evidence
     * @param history every state change of the job, in order
     * @param batched the accepted attempt's receipt and wipe statements with their inclusion proofs in one
     *        signed batch, or {@code null} when signed one by one
     * @param settlement the job's ledger operations, or {@code null} without an escrow
     * @param heldOutputs outputs left on the provider, by name (none of them in {@code outputs})
     * @param data what the accepted attempt's data did, or {@code null}
     * @throws InvalidArgumentException on nulls, proofs that are neither two envelopes nor one batch, or
     *         an output both returned and held
     */
    public JobResult {
        InvalidArgumentException.requireNonNull(jobId, "job id");
        InvalidArgumentException.requireNonNull(specHash, "spec hash");
        InvalidArgumentException.requireNonNull(provider, "provider");
        InvalidArgumentException.requireNonNull(executorKind, "executor kind");
        InvalidArgumentException.requireNonNull(outputs, "outputs");
        InvalidArgumentException.requireNonNull(cost, "cost");
        InvalidArgumentException.requireNonNull(timings, "timings");
        if (batched == null) {
            InvalidArgumentException.requireNonNull(receipt, "receipt");
            InvalidArgumentException.requireNonNull(wipe, "wipe attestation");
        } else if (receipt != null || wipe != null) {
            throw new InvalidArgumentException("a result carries either a signed receipt and wipe attestation or one "
                    + "batched receipt, not both");
        }
        InvalidArgumentException.requireNonNull(report, "verification report");
        disputes = List.copyOf(InvalidArgumentException.requireNonNull(disputes, "disputes"));
        history = List.copyOf(InvalidArgumentException.requireNonNull(history, "history"));
        outputs = Buffers.freeze(outputs, "outputs");
        heldOutputs = Map.copyOf(InvalidArgumentException.requireNonNull(heldOutputs, "held outputs"));
        for (String name : heldOutputs.keySet()) {
            if (outputs.containsKey(name)) {
                throw new InvalidArgumentException("output '" + name + "' is both returned and held on the provider");
            }
        }
    }

    /**
     * A result without an account of its data movement.
     *
     * @param jobId the job id
     * @param specHash SHA-256 hex of the spec's canonical JSON
     * @param attempt the attempt whose outputs were accepted
     * @param provider who ran it
     * @param executorKind the executor the provider used, as it reported
     * @param outputs output bytes by name
     * @param cost what the job costs
     * @param timings when things happened
     * @param receipt the signed receipt, or {@code null} when batched
     * @param wipe the signed wipe attestation, or {@code null} when batched
     * @param report what the buyer verified
     * @param disputes attempts of this job that failed verification
     * @param history every state change of the job, in order
     * @param batched the batched receipt, or {@code null}
     * @param settlement the job's ledger operations, or {@code null} without an escrow
     * @param heldOutputs outputs left on the provider, by name
     * @throws InvalidArgumentException as the canonical constructor
     */
    public JobResult(String jobId, String specHash, int attempt, NodeId provider, String executorKind,
                     Map<String, ByteBuffer> outputs, MicroUsd cost, Timings timings, Envelope receipt,
                     Envelope wipe, VerificationReport report, List<DisputeRecord> disputes,
                     List<JobEvent> history, BatchedReceipt batched, JobSettlement settlement,
                     Map<String, HeldOutput> heldOutputs) {
        this(jobId, specHash, attempt, provider, executorKind, outputs, cost, timings, receipt, wipe, report, disputes,
                history, batched, settlement, heldOutputs, null);
    }

    /**
     * A result whose outputs all came back.
     *
     * @param jobId the job id
     * @param specHash SHA-256 hex of the spec's canonical JSON
     * @param attempt the attempt whose outputs were accepted
     * @param provider who ran it
     * @param executorKind the executor the provider used, as it reported
     * @param outputs output bytes by name
     * @param cost what the job costs
     * @param timings when things happened
     * @param receipt the signed receipt, or {@code null} when batched
     * @param wipe the signed wipe attestation, or {@code null} when batched
     * @param report what the buyer verified
     * @param disputes attempts of this job that failed verification
     * @param history every state change of the job, in order
     * @param batched the batched receipt, or {@code null}
     * @param settlement the job's ledger operations, or {@code null} without an escrow
     * @throws InvalidArgumentException as the canonical constructor
     */
    public JobResult(String jobId, String specHash, int attempt, NodeId provider, String executorKind,
                     Map<String, ByteBuffer> outputs, MicroUsd cost, Timings timings, Envelope receipt,
                     Envelope wipe, VerificationReport report, List<DisputeRecord> disputes,
                     List<JobEvent> history, BatchedReceipt batched, JobSettlement settlement) {
        this(jobId, specHash, attempt, provider, executorKind, outputs, cost, timings, receipt, wipe, report, disputes,
                history, batched, settlement, Map.of(), null);
    }

    /**
     * What the accepted attempt's data did: which inputs the provider already held (by root,
     * from its cache or left there by an earlier job), the input bytes sent and not sent, what
     * it keeps for a following job, and the data part of the price. Where outputs stay is
     * {@link #heldOutputs()}.
     *
     * @return the account, or empty for a result built without it
     */
    public java.util.Optional<DataMovement> dataMovement() {
        return java.util.Optional.ofNullable(data);
    }

    /**
     * @return the outputs as fresh read-only views (position 0)
     * @throws OutputLeftOnNodeException if the job left its outputs on the provider: no bytes came
     *         back, so none are returned (see {@link #heldOutputs()})
     */
    @Override
    public Map<String, ByteBuffer> outputs() {
        if (!heldOutputs.isEmpty()) {
            throw leftOnNode(heldOutputs.keySet().iterator().next());
        }
        return Buffers.views(outputs);
    }

    private OutputLeftOnNodeException leftOnNode(String name) {
        HeldOutput h = heldOutputs.get(name);
        return new OutputLeftOnNodeException("job " + jobId + " left " + h.describe() + " instead of returning its "
                + "bytes: fetch them with client.fetchHeld(result, \"" + name + "\") (each chunk proven), or pass it to the "
                + "next job with Job.builder(...).inputFrom(name, result, \"" + name + "\")");
    }

    /**
     * One output as float32 values.
     *
     * @param name the output's name, e.g. {@code "c"}
     * @return a copy of its values
     * @throws InvalidArgumentException if there is no such output
     * @throws OutputLeftOnNodeException if the job left that output on the provider
     */
    public float[] floats(String name) {
        if (heldOutputs.containsKey(name)) {
            throw leftOnNode(name);
        }
        ByteBuffer b = outputs.get(name);
        if (b == null) {
            throw new InvalidArgumentException("job " + jobId + " has no output '" + name + "'; it has "
                    + outputs.keySet());
        }
        return Buffers.floats(b);
    }

    /**
     * When a job's phases happened.
     *
     * @param submittedAt when the client accepted the job
     * @param completedAt when the result was accepted
     * @param deviceNanos device time of the accepted attempt, as the provider reported it
     */
    public record Timings(Instant submittedAt, Instant completedAt, long deviceNanos) {
        /**
         * Validates the timings.
         *
         * @param submittedAt when the client accepted the job
         * @param completedAt when the result was accepted
         * @param deviceNanos device time of the accepted attempt, &ge; 0
         * @throws InvalidArgumentException on nulls or negative device time
         */
        public Timings {
            InvalidArgumentException.requireNonNull(submittedAt, "submission time");
            InvalidArgumentException.requireNonNull(completedAt, "completion time");
            if (deviceNanos < 0) {
                throw new InvalidArgumentException("device time must be >= 0");
            }
        }

        /** @return time from submission to completion */
        public Duration wall() {
            return Duration.between(submittedAt, completedAt);
        }
    }

    /**
     * The energy the provider's receipt states for this attempt (joules and whether measured or
     * estimated): the provider's signed claim, not a measurement the buyer can check
     * (docs/decisions.md, "Energy in the receipt").
     *
     * @return the energy, or empty when the receipt states none
     * @throws dev.depin.crypto.VerificationException if the receipt is not a well-formed statement
     */
    public java.util.Optional<dev.depin.crypto.ReceiptEnergy> energy() {
        dev.depin.crypto.ExecutionReceipt r = receipt != null ? dev.depin.crypto.ExecutionReceipt.readUnverified(receipt)
                : batched.readReceiptUnverified();
        return java.util.Optional.ofNullable(r.energy());
    }
}
