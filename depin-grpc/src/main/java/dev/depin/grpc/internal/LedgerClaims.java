package dev.depin.grpc.internal;

import dev.depin.DepinException;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.BatchVerifier;
import dev.depin.crypto.BatchedReceipt;
import dev.depin.crypto.Dsse;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodePublicKey;
import dev.depin.crypto.Sha256;
import dev.depin.crypto.VerificationException;
import dev.depin.grpc.LedgerAccess;
import dev.depin.grpc.internal.wire.ClaimRequest;
import dev.depin.grpc.internal.wire.DisputeChunk;
import dev.depin.grpc.internal.wire.DisputePart;
import dev.depin.grpc.internal.wire.DisputeReply;
import dev.depin.grpc.internal.wire.DisputeStart;
import dev.depin.job.DisputeRecord;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Escrow;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.SettlementException.Reason;
import dev.depin.settlement.SlashPolicy;
import dev.depin.settlement.spi.Settlement;
import dev.depin.verify.DisputeNotUpheldException;
import dev.depin.verify.MissingEvidenceException;
import dev.depin.verify.OfflineVerifier;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The settlement service's claims and disputes (issue 16): a payee claims a hold with its
 * signed receipt, a payer disputes a claim with its dispute record and the job's data, which
 * the service re-checks with {@link OfflineVerifier#recheck} before it voids anything. A dispute
 * whose upload completed before the claim's window end freezes the claim (the ledger applies
 * the {@code Dispute} then, judging the window by its clock); the re-check decides it even
 * after the window: upheld, voided and slashed; not upheld, posted at once (key
 * {@code /post}); never decided, posted by the ledger at its re-check deadline.
 *
 * <p>Keys are the service's, derived from the receipt: the claim is
 * {@code claim:sha256:<receipt statement digest>}, its dispute, void and slash that key with
 * {@code /dispute}, {@code /void}, {@code /slash}. So one receipt claims one hold (a second hold
 * claimed with the same receipt is a key conflict), a retry of either call returns the first
 * result, and callers cannot use keys that begin {@value #PREFIX} ({@link #reserved}).
 *
 * <p>A dispute's upload is bounded: at most {@code maxDisputeBytes} declared in all (refused at
 * the start, before anything is read), bytes kept only as they arrive, at most
 * {@code maxDisputes} uploads or re-checks at once (RESOURCE_EXHAUSTED beyond), and the whole
 * upload within {@code uploadDeadlineMs} (DEADLINE_EXCEEDED after, its bytes dropped).
 */
final class LedgerClaims {
    /** The prefix of the keys the service applies claims and disputes under. */
    static final String PREFIX = "claim:";
    /** Largest receipt a claim carries: an envelope or a batched receipt's JSON. */
    static final int MAX_RECEIPT_BYTES = 48 << 10;
    private static final int MAX_PARTS = 64;

    private final Settlement ledger;
    private final LedgerAccess access;
    private final SlashPolicy slashing;
    private final ExecutorService rechecks;
    private final ScheduledExecutorService timer;
    private final long maxDisputeBytes;
    private final long uploadDeadlineMs;
    private final long callTimeoutMs;
    private final Semaphore disputes;
    private final BatchVerifier batches = new BatchVerifier(256);

    LedgerClaims(Settlement ledger, LedgerAccess access, SlashPolicy slashing, ExecutorService rechecks,
                 ScheduledExecutorService timer, long maxDisputeBytes, int maxDisputes, long uploadDeadlineMs,
                 long callTimeoutMs) {
        this.ledger = ledger;
        this.access = access;
        this.slashing = slashing;
        this.rechecks = rechecks;
        this.timer = timer;
        this.maxDisputeBytes = maxDisputeBytes;
        this.disputes = new Semaphore(maxDisputes);
        this.uploadDeadlineMs = uploadDeadlineMs;
        this.callTimeoutMs = callTimeoutMs;
    }

    /** Whether a key is one the service keeps for itself (refused from callers that are not operators). */
    static boolean reserved(OperationKey key) {
        return key.value().startsWith(PREFIX);
    }

    private static String claimKey(String receiptDigest) {
        return PREFIX + "sha256:" + receiptDigest;
    }

    // ---- claims ---------------------------------------------------------------------

    /**
     * Checks a claim on the caller's thread and applies it.
     *
     * @return the claim's result
     * @throws InvalidArgumentException if the request is malformed
     * @throws SettlementException      if the hold is unknown (UNKNOWN_HOLD), does not pay the
     *                                  caller (NOT_PERMITTED), or the receipt does not entitle it
     *                                  (CLAIM_REJECTED)
     */
    java.util.concurrent.CompletableFuture<Applied> claim(NodePublicKey peer, ClaimRequest request) {
        OperationKey holdKey = OperationKey.of(request.getHold());
        if (request.getAmount() <= 0) {
            throw new InvalidArgumentException("claim amount " + Long.toUnsignedString(request.getAmount())
                    + " is out of range: claim 1 micro-USD to the hold's amount");
        }
        MicroUsd amount = MicroUsd.ofMicros(request.getAmount());
        Envelope envelope = null;
        BatchedReceipt batched = null;
        try {
            switch (request.getReceiptCase()) {
                case RECEIPT_ENVELOPE -> envelope = Envelope.parse(request.getReceiptEnvelope().toByteArray(),
                        MAX_RECEIPT_BYTES);
                case BATCHED_RECEIPT -> batched = BatchedReceipt.parse(request.getBatchedReceipt().toByteArray(),
                        MAX_RECEIPT_BYTES);
                default -> throw new InvalidArgumentException("a claim carries the receipt: set receipt_envelope or "
                        + "batched_receipt");
            }
        } catch (VerificationException | InvalidArgumentException e) {
            if (e.getMessage().startsWith("a claim carries")) {
                throw e;
            }
            throw new InvalidArgumentException("the claim's receipt does not parse: " + e.getMessage());
        }
        HoldRecord hold = ledger.hold(holdKey).orElseThrow(() -> new SettlementException(Reason.UNKNOWN_HOLD,
                "no hold has key " + holdKey + ": claim the hold the buyer made for the job"));
        AccountId mine = Escrow.providerAccount(peer.nodeId());
        if (!hold.payee().equals(mine)) {
            throw new SettlementException(Reason.NOT_PERMITTED, "key " + peer.nodeId().shortId() + " may not claim hold "
                    + holdKey + ": it pays " + hold.payee() + ", and a hold is claimed only by the key of its payee ("
                    + mine + " is this key's)");
        }
        ExecutionReceipt receipt;
        String digest;
        try {
            if (envelope != null) {
                envelope.verify(Dsse.IN_TOTO_PAYLOAD_TYPE, peer);
                receipt = ExecutionReceipt.readUnverified(envelope);
                digest = envelope.digestHex();
            } else {
                receipt = batches.authenticateReceipt(batched, peer);
                digest = batched.receiptDigestHex();
            }
        } catch (VerificationException e) {
            throw new SettlementException(Reason.CLAIM_REJECTED, "the receipt for hold " + holdKey
                    + " is not signed by key " + peer.nodeId().shortId() + " (" + e.getMessage()
                    + "): claim with the receipt this node signed for the job");
        }
        if (hold.specHash().isEmpty() || !hold.specHash().get().equals(receipt.specHash())) {
            throw new SettlementException(Reason.CLAIM_REJECTED, "the receipt is for spec " + receipt.specHash()
                    + " but hold " + holdKey + " was made for " + hold.specHash().map(h -> "spec " + h)
                    .orElse("no job spec") + ": a receipt claims only the hold of its own job");
        }
        String job = "/" + receipt.jobId() + "/" + receipt.attempt() + "/hold";
        if (!holdKey.value().endsWith(job)) {
            throw new SettlementException(Reason.CLAIM_REJECTED, "the receipt is for job " + receipt.jobId()
                    + " attempt " + receipt.attempt() + " but hold " + holdKey + " is not that attempt's (its key does not "
                    + "end " + job + "): a receipt claims only the hold of its own job");
        }
        if (hold.price().isPresent()) {
            // What the buyer agreed to: the receipt's device time and bytes at the price the hold
            // names, the very amount the buyer's engine posts (Escrow.payable), never the whole hold.
            long bytes = bytesMoved(receipt);
            MicroUsd bound = Escrow.payable(hold.price().get(), receipt.deviceTimeNanos(), bytes, hold.amount());
            if (amount.micros() > bound.micros()) {
                dev.depin.money.Price p = hold.price().get();
                throw new SettlementException(Reason.CLAIM_REJECTED, "a claim of " + amount + " on hold " + holdKey
                        + " is more than its receipt pays: " + receipt.deviceTimeNanos() + " ns of device time and "
                        + bytes + " bytes moved at the price the hold names (" + p.perDeviceSecond().micros()
                        + " micro-USD per device-second, " + p.perGigabyte().micros() + " per GB) come to " + bound
                        + " (at most the hold's " + hold.amount() + "): claim at most that");
            }
        }
        return ledger.apply(new Operation.Claim(OperationKey.of(claimKey(digest)), holdKey, amount, "sha256:" + digest));
    }

    /** The bytes a receipt says the job moved, its inputs plus its outputs (JobSpec.bytesMoved); saturates. */
    private static long bytesMoved(ExecutionReceipt receipt) {
        long total = 0;
        for (dev.depin.crypto.BufferDigest b : receipt.inputs()) {
            total = saturatingAdd(total, b.bytes());
        }
        for (dev.depin.crypto.BufferDigest b : receipt.outputs()) {
            total = saturatingAdd(total, b.bytes());
        }
        return total;
    }

    private static long saturatingAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    // ---- disputes -------------------------------------------------------------------

    /**
     * Receives a dispute's upload; when it is complete, re-checks it off the call threads and
     * answers {@code out}.
     */
    StreamObserver<DisputeChunk> dispute(NodePublicKey peer, boolean operator, StreamObserver<DisputeReply> out) {
        return new Upload(peer, operator, out);
    }

    private final class Upload implements StreamObserver<DisputeChunk> {
        private final NodePublicKey peer;
        private final boolean operator;
        private final StreamObserver<DisputeReply> out;
        private boolean admitted;
        private boolean done;
        private HoldRecord hold;
        private final List<String> names = new ArrayList<>();
        private final List<Long> sizes = new ArrayList<>();
        private final List<java.io.ByteArrayOutputStream> parts = new ArrayList<>();
        private int part;
        private int inputs;
        private ScheduledFuture<?> deadline;

        Upload(NodePublicKey peer, boolean operator, StreamObserver<DisputeReply> out) {
            this.peer = peer;
            this.operator = operator;
            this.out = out;
        }

        @Override
        public synchronized void onNext(DisputeChunk chunk) {
            if (done) {
                return;
            }
            try {
                if (!admitted) {
                    start(chunk);
                } else {
                    data(chunk);
                }
            } catch (RuntimeException e) {
                fail(status(e));
            }
        }

        private void start(DisputeChunk chunk) {
            if (!chunk.hasStart()) {
                throw bad("a dispute begins with a DisputeStart naming the hold and the parts that follow");
            }
            DisputeStart s = chunk.getStart();
            OperationKey holdKey = OperationKey.of(s.getHold());
            declare("record", s.getRecordBytes());
            Set<String> seen = new HashSet<>();
            for (DisputePart p : s.getInputsList()) {
                declare(partName("input", p.getName(), seen), p.getBytes());
            }
            inputs = names.size() - 1;
            seen.clear();
            for (DisputePart p : s.getOutputsList()) {
                declare(partName("output", p.getName(), seen), p.getBytes());
            }
            if (names.size() > MAX_PARTS) {
                throw bad("a dispute declares " + names.size() + " parts, more than the " + MAX_PARTS + " allowed");
            }
            long total = 0;
            for (long n : sizes) {
                total += n; // each is at most maxDisputeBytes (declare), so this cannot overflow
            }
            if (s.getRecordBytes() == 0) {
                throw bad("a dispute's record is empty: send the dispute record's JSON");
            }
            if (total > maxDisputeBytes) {
                throw new StatusRuntimeException(Status.RESOURCE_EXHAUSTED.withDescription("a dispute of " + total
                        + " bytes is more than the " + maxDisputeBytes + " this service re-checks: nothing was read"));
            }
            hold = ledger.hold(holdKey).orElseThrow(() -> new SettlementException(Reason.UNKNOWN_HOLD,
                    "no hold has key " + holdKey + ": dispute the hold the provider claimed"));
            if (!operator && !access.actsFor(peer, hold.payer())) {
                throw new SettlementException(Reason.NOT_PERMITTED, "key " + peer.nodeId().shortId() + " may not dispute "
                        + "hold " + holdKey + ", which is not from an account it acts for");
            }
            // The service's own dispute, frozen by a re-check that did not answer (killed, or the
            // ledger slow), or decided by one whose answer was lost: the same upload again re-runs
            // the re-check, whose operations are then identical retries (or refused, resolved).
            boolean resumed = hold.claim().flatMap(HoldRecord.ClaimRecord::disputedBy).map(LedgerClaims::reserved)
                    .orElse(false) && (hold.state() == HoldRecord.State.DISPUTED
                    || hold.resolvedBy().map(LedgerClaims::reserved).orElse(false));
            if (hold.state() != HoldRecord.State.CLAIMED && !resumed) {
                throw new SettlementException(hold.state() == HoldRecord.State.OPEN ? Reason.HOLD_NOT_CLAIMED
                        : hold.state() == HoldRecord.State.DISPUTED ? Reason.HOLD_CLAIMED : Reason.HOLD_RESOLVED,
                        "hold " + holdKey + " is " + hold.state() + ": only a claimed hold is disputed"
                        + (hold.state() == HoldRecord.State.OPEN ? " (void it instead)" : ""));
            }
            if (!disputes.tryAcquire()) {
                throw new StatusRuntimeException(Status.RESOURCE_EXHAUSTED.withDescription("the service is re-checking "
                        + "as many disputes as it allows at once: retry shortly"));
            }
            admitted = true;
            for (int i = 0; i < names.size(); i++) {
                parts.add(new java.io.ByteArrayOutputStream((int) Math.min(sizes.get(i), 64 << 10)));
            }
            deadline = timer.schedule(() -> expire(), uploadDeadlineMs, TimeUnit.MILLISECONDS);
            skipEmpty();
        }

        private synchronized void expire() {
            fail(new StatusRuntimeException(Status.DEADLINE_EXCEEDED.withDescription("the dispute's upload did not "
                    + "finish within " + uploadDeadlineMs + " ms: send it again, faster")));
        }

        private String partName(String kind, String name, Set<String> seen) {
            if (name.isEmpty() || name.length() > 256) {
                throw bad("a dispute's " + kind + " name must be 1 to 256 characters");
            }
            if (!seen.add(name)) {
                throw bad("a dispute names " + kind + " '" + name + "' twice");
            }
            return name;
        }

        private void declare(String name, long bytes) {
            if (bytes < 0 || bytes > maxDisputeBytes) {
                throw new StatusRuntimeException(Status.RESOURCE_EXHAUSTED.withDescription("dispute part '" + name
                        + "' declares " + Long.toUnsignedString(bytes) + " bytes, more than the " + maxDisputeBytes
                        + " this service re-checks: nothing was read"));
            }
            names.add(name);
            sizes.add(bytes);
        }

        private void data(DisputeChunk chunk) {
            if (!chunk.hasData()) {
                throw bad("a dispute has one DisputeStart, then only DisputeData");
            }
            byte[] bytes = chunk.getData().getData().toByteArray();
            int at = 0;
            while (at < bytes.length) {
                if (part >= parts.size()) {
                    throw bad("a dispute sent more bytes than its start declared");
                }
                java.io.ByteArrayOutputStream p = parts.get(part);
                int n = (int) Math.min(bytes.length - at, sizes.get(part) - p.size());
                p.write(bytes, at, n);
                at += n;
                skipEmpty();
            }
        }

        /** Moves past every part that is complete. */
        private void skipEmpty() {
            while (part < parts.size() && parts.get(part).size() == sizes.get(part)) {
                part++;
            }
        }

        @Override
        public synchronized void onError(Throwable t) {
            finish(); // the caller went away: drop what it sent
        }

        @Override
        public synchronized void onCompleted() {
            if (done) {
                return;
            }
            if (!admitted) {
                fail(bad("a dispute without a DisputeStart: begin with one naming the hold and the parts"));
                return;
            }
            if (part < parts.size()) {
                fail(new StatusRuntimeException(Status.INVALID_ARGUMENT.withDescription("the dispute ended in part '"
                        + names.get(part) + "' after " + parts.get(part).size() + " of its " + sizes.get(part)
                        + " bytes: send every part whole")));
                return;
            }
            done = true;
            deadline.cancel(false);
            byte[] record = parts.get(0).toByteArray();
            Map<String, ByteBuffer> in = new LinkedHashMap<>();
            Map<String, ByteBuffer> outs = new LinkedHashMap<>();
            for (int i = 1; i < names.size(); i++) {
                (i <= inputs ? in : outs).put(names.get(i), ByteBuffer.wrap(parts.get(i).toByteArray()).asReadOnlyBuffer());
            }
            parts.clear();
            try {
                rechecks.execute(() -> {
                    try {
                        List<Applied> applied = recheck(hold, record, in, outs);
                        DisputeReply.Builder reply = DisputeReply.newBuilder();
                        applied.forEach(a -> reply.addApplied(LedgerWire.applied(a)));
                        out.onNext(reply.build());
                        out.onCompleted();
                    } catch (RuntimeException e) {
                        try {
                            out.onError(status(e));
                        } catch (RuntimeException gone) {
                            // the caller went away; what was applied answers its retry
                        }
                    } finally {
                        disputes.release();
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException closing) {
                disputes.release();
                out.onError(Status.UNAVAILABLE.withDescription("the service is stopping: retry").asRuntimeException());
            }
        }

        private void fail(StatusRuntimeException s) {
            if (done) {
                return;
            }
            finish();
            try {
                out.onError(s);
            } catch (RuntimeException gone) {
                // the call is already over
            }
        }

        private void finish() {
            if (done) {
                return;
            }
            done = true;
            parts.clear();
            if (deadline != null) {
                deadline.cancel(false);
            }
            if (admitted) {
                disputes.release();
            }
        }
    }

    /**
     * A failure as the caller sees it: a refusal with its reason, anything else this code or the
     * verifier found wrong with what was sent as INVALID_ARGUMENT, the ledger failing as
     * UNAVAILABLE.
     */
    static StatusRuntimeException status(Throwable failure) {
        Throwable t = Wire.unwrap(failure);
        if (t instanceof StatusRuntimeException s) {
            return s;
        }
        if (t instanceof DepinException && !(t instanceof SettlementException)) {
            return Status.INVALID_ARGUMENT.withDescription(t.getMessage()).asRuntimeException();
        }
        return LedgerWire.toStatus(t);
    }

    private static StatusRuntimeException bad(String what) {
        return new StatusRuntimeException(Status.INVALID_ARGUMENT.withDescription(what));
    }

    /**
     * Re-checks a complete dispute against the claim it disputes. A record that does not parse,
     * accuses another provider or disputes another receipt is refused with nothing applied (the
     * claim stands, DISPUTE_REJECTED); otherwise the claim is frozen by the {@code Dispute} first,
     * then the offline verifier decides: upheld, the void and the slash (where the payee has a
     * stake); not upheld, the claim is posted at once and DISPUTE_REJECTED thrown.
     */
    private List<Applied> recheck(HoldRecord hold, byte[] recordJson, Map<String, ByteBuffer> inputs,
                                  Map<String, ByteBuffer> outputs) {
        DisputeRecord record = DisputeRecord.fromJson(recordJson);
        AccountId accused = Escrow.providerAccount(record.provider());
        if (!accused.equals(hold.payee())) {
            throw rejected("the record disputes provider " + accused + " but hold " + hold.key() + " pays "
                    + hold.payee());
        }
        HoldRecord.ClaimRecord claim = hold.claim().orElseThrow(() -> new SettlementException(Reason.HOLD_NOT_CLAIMED,
                "hold " + hold.key() + " is not claimed"));
        String disputed = "sha256:" + (record.batched() != null ? record.batched().receiptDigestHex()
                : record.receipt().digestHex());
        if (!disputed.equals(claim.evidence())) {
            throw rejected("the record disputes receipt " + disputed + " but the claim on hold " + hold.key()
                    + " rests on receipt " + claim.evidence() + ": dispute the receipt that was claimed");
        }
        // The upload is complete and the record disputes this very claim: freeze the claim now.
        // The ledger's clock judges the window (DISPUTE_WINDOW_CLOSED at or after its end, nothing
        // applied); from here the re-check decides even after the window, until the ledger's
        // re-check deadline, when the ledger posts the claim itself. A retry of this dispute (the
        // service restarted mid-re-check) gets this Dispute back as an identical retry.
        String base = claim.key().value();
        List<Applied> applied = new ArrayList<>(3);
        applied.add(await(ledger.apply(new Operation.Dispute(OperationKey.of(base + "/dispute"), hold.key(),
                "sha256:" + Sha256.hex(recordJson)))));
        String notUpheld = null;
        try {
            OfflineVerifier.recheck(record, inputs, outputs);
        } catch (DisputeNotUpheldException e) {
            notUpheld = "the offline verifier does not uphold the dispute: " + e.getMessage();
        } catch (MissingEvidenceException e) {
            notUpheld = "the dispute lacks evidence: " + e.getMessage();
        } catch (VerificationException e) {
            notUpheld = "the record does not bind to what the provider signed: " + e.getMessage();
        } catch (InvalidArgumentException e) {
            notUpheld = "the dispute's data does not fit its record: " + e.getMessage();
        }
        if (notUpheld != null) {
            // Rejected: the frozen claim is posted at once, for what was claimed.
            await(ledger.apply(new Operation.Post(OperationKey.of(base + "/post"), hold.key(), claim.amount())));
            throw new SettlementException(Reason.DISPUTE_REJECTED, "dispute rejected, the claim is posted: " + notUpheld);
        }
        applied.add(await(ledger.apply(new Operation.VoidHold(OperationKey.of(base + "/void"), hold.key()))));
        slash(hold, record.provider(), base, Sha256.hex(recordJson)).ifPresent(applied::add);
        return applied;
    }

    /** The policy's penalty from the payee's stake, or what it has; none without a stake. */
    private Optional<Applied> slash(HoldRecord hold, dev.depin.crypto.NodeId provider, String base, String recordDigest) {
        AccountId stake = Escrow.stakeAccount(provider);
        long available;
        try {
            available = ledger.balance(stake).available();
        } catch (SettlementException e) {
            if (e.is(Reason.UNKNOWN_ACCOUNT)) {
                return Optional.empty();
            }
            throw e;
        }
        long penalty;
        try {
            penalty = Math.multiplyExact(hold.amount().micros(), (long) slashing.holdMultiple());
        } catch (ArithmeticException e) {
            penalty = Long.MAX_VALUE;
        }
        penalty = Math.min(penalty, available);
        if (penalty <= 0) {
            return Optional.empty();
        }
        long toBuyer = penalty / 100 * slashing.toBuyerPercent() + penalty % 100 * slashing.toBuyerPercent() / 100;
        Operation.Slash op = new Operation.Slash(OperationKey.of(base + "/slash"), stake,
                toBuyer > 0 ? Optional.of(hold.payer()) : Optional.empty(), MicroUsd.ofMicros(toBuyer),
                MicroUsd.ofMicros(penalty - toBuyer), "dispute-sha256:" + recordDigest);
        try {
            return Optional.of(await(ledger.apply(op)));
        } catch (SettlementException e) {
            // Its key is the service's own: a conflict is this dispute's slash applied before (a
            // retry after the stake changed); too little left means another slash took it first.
            if (e.is(Reason.IDEMPOTENCY_CONFLICT) || e.is(Reason.INSUFFICIENT_FUNDS)) {
                return Optional.empty();
            }
            throw e;
        }
    }

    private Applied await(java.util.concurrent.CompletableFuture<Applied> f) {
        try {
            return f.get(callTimeoutMs, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = Wire.unwrap(e.getCause());
            throw cause instanceof RuntimeException r ? r : new dev.depin.settlement.LedgerFailureException(
                    "the ledger failed: " + cause, cause);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new dev.depin.settlement.LedgerFailureException("the ledger did not answer within " + callTimeoutMs
                    + " ms; the dispute may be half applied: send it again, which finishes it");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new dev.depin.settlement.LedgerFailureException("interrupted while applying a dispute", e);
        }
    }

    private static SettlementException rejected(String why) {
        return new SettlementException(Reason.DISPUTE_REJECTED, "dispute rejected, the claim stands: " + why);
    }
}
