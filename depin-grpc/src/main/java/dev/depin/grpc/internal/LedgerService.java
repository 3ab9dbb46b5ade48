package dev.depin.grpc.internal;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.LedgerAccess;
import dev.depin.grpc.internal.wire.AccountBalance;
import dev.depin.grpc.internal.wire.AccountRequest;
import dev.depin.grpc.internal.wire.AppliedReply;
import dev.depin.grpc.internal.wire.ApplyBatchReply;
import dev.depin.grpc.internal.wire.ApplyBatchRequest;
import dev.depin.grpc.internal.wire.ApplyRequest;
import dev.depin.grpc.internal.wire.ApplyResult;
import dev.depin.grpc.internal.wire.BalancePage;
import dev.depin.grpc.internal.wire.HealthReply;
import dev.depin.grpc.internal.wire.HealthRequest;
import dev.depin.grpc.internal.wire.HoldPage;
import dev.depin.grpc.internal.wire.HoldReply;
import dev.depin.grpc.internal.wire.HoldRequest;
import dev.depin.grpc.internal.wire.LedgerGrpc;
import dev.depin.grpc.internal.wire.ListRequest;
import dev.depin.grpc.internal.wire.OpenAccount;
import dev.depin.grpc.internal.wire.Refusal;
import dev.depin.grpc.internal.wire.StatementPage;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.SettlementException.Reason;
import dev.depin.settlement.StatementLine;
import dev.depin.settlement.spi.Settlement;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;

/**
 * The settlement service: every request checked (malformed → INVALID_ARGUMENT), authorised by
 * the caller's TLS key against {@link LedgerAccess} (→ PERMISSION_DENIED), bounded (calls in
 * flight per key → RESOURCE_EXHAUSTED; an operation the ledger does not answer in time →
 * UNAVAILABLE, safe to retry with its key), and only then handed to the {@link Settlement}.
 * Nothing refused changes anything. Answers are sent from {@code responses}, never from the
 * ledger's writer thread.
 *
 * <p>A request with {@code omit_echo} is answered without the operation's JSON (the caller
 * keeps what it sent): on the service's busiest path that is one JSON encoding and about 300
 * bytes per operation less.
 *
 * <p>An {@code ApplyBatch} is many {@code Apply}s in one message: each operation is checked,
 * authorised, counted in flight and refused on its own, and the ledger gets them in chunks of
 * {@value #CHUNK}, each taken into one group commit as a whole; the answer goes once every operation is
 * answered or the call timeout passed. A post, void or expiry is authorised by its hold's payer
 * and payee, which never change once the hold exists: the service remembers them for the
 * {@value #REMEMBERED_HOLDS} holds it saw last (applied through it, or read), so that it reads
 * the database only for a hold it has not seen.
 */
public final class LedgerService extends LedgerGrpc.LedgerImplBase {
    private final Settlement ledger;
    private final LedgerAccess access;
    private final NodeId id;
    private final Executor responses;
    private final int maxInFlightPerKey;
    private final long callTimeoutMs;
    private final ConcurrentHashMap<NodePublicKey, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();
    private LedgerClaims claims;
    /** How many of a call's operations are handed to the ledger as one unit. */
    public static final int CHUNK = 64;
    /** The most operations one ApplyBatch may carry. */
    public static final int MAX_BATCH = 1_024;
    /** How many holds' payer and payee the service remembers for authorising their ends. */
    static final int REMEMBERED_HOLDS = 65_536;
    private final Map<OperationKey, Parties> parties = new LinkedHashMap<>(1 << 10, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<OperationKey, Parties> eldest) {
            return size() > REMEMBERED_HOLDS;
        }
    };

    /** Who a hold is from and to: all that authorising its post, void or expiry needs; fixed once it exists. */
    private record Parties(AccountId payer, AccountId payee) {
    }

    /**
     * @param ledger            what the service fronts
     * @param access            who may do what
     * @param id                the service's identity (its key's node id)
     * @param responses         where answers are sent from
     * @param maxInFlightPerKey calls one key may have unanswered at once
     * @param callTimeoutMs     how long an operation may wait for the ledger
     */
    public LedgerService(Settlement ledger, LedgerAccess access, NodeId id, Executor responses, int maxInFlightPerKey,
                         long callTimeoutMs) {
        this.ledger = ledger;
        this.access = access;
        this.id = id;
        this.responses = responses;
        this.maxInFlightPerKey = maxInFlightPerKey;
        this.callTimeoutMs = callTimeoutMs;
    }

    /**
     * Takes claims and disputes (issue 16); without this call the service refuses them as unimplemented.
     *
     * @param slashing        what an upheld dispute takes from the payee's stake
     * @param rechecks        where disputes are re-checked (off the call threads)
     * @param timer           for the upload deadline
     * @param maxDisputeBytes the most a dispute may upload
     * @param maxDisputes     disputes uploaded or re-checked at once
     * @param uploadDeadlineMs how long a dispute's upload may take
     * @return this service
     */
    public LedgerService claims(dev.depin.settlement.SlashPolicy slashing, java.util.concurrent.ExecutorService rechecks,
                                java.util.concurrent.ScheduledExecutorService timer, long maxDisputeBytes, int maxDisputes,
                                long uploadDeadlineMs) {
        this.claims = new LedgerClaims(ledger, access, slashing, rechecks, timer, maxDisputeBytes, maxDisputes,
                uploadDeadlineMs, callTimeoutMs);
        return this;
    }

    /** @return calls being answered now, over all keys */
    public int inFlight() {
        return total.get();
    }

    // ---- writes ---------------------------------------------------------------------

    @Override
    public void open(OpenAccount request, StreamObserver<AccountBalance> out) {
        NodePublicKey peer = PeerKeys.PEER.get();
        AccountId account;
        AccountKind kind;
        try {
            account = AccountId.of(request.getAccount());
            kind = LedgerWire.kind(request.getKind());
        } catch (InvalidArgumentException e) {
            out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        boolean reads = access.reads(peer, account);
        if (!access.isOperator(peer) && !(payable(account, kind) && !request.getAllowCredit())) {
            out.onError(denied(peer, "open account " + account + ": only an operator key opens accounts other than "
                    + "providers' (provider:<node id>, kind PROVIDER, no credit)"));
            return;
        }
        // Anyone may open a provider's account (empty, no credit: a place a buyer can pay), as the
        // engine does before its first hold for a provider; the balance is shown only to those who
        // may read it.
        async(peer, out, () -> ledger.open(account, kind, request.getAllowCredit()),
                b -> reads ? LedgerWire.balance(b) : LedgerWire.balance(new Balance(b.account(), b.kind(), b.allowCredit(),
                        0, 0)), false);
    }

    @Override
    public void apply(ApplyRequest request, StreamObserver<AppliedReply> out) {
        NodePublicKey peer = PeerKeys.PEER.get();
        Operation op;
        try {
            op = Operation.fromJson(request.getOperationJson().toByteArray());
        } catch (InvalidArgumentException e) {
            out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        boolean operator = access.isOperator(peer);
        boolean echo = !request.getOmitEcho();
        async(peer, out, () -> start(peer, operator, op), a -> LedgerWire.applied(a, echo), !operator);
    }

    /** Authorises an operation (unless the caller is an operator) and hands it to the ledger. */
    private CompletableFuture<Applied> start(NodePublicKey peer, boolean operator, Operation op) {
        if (!operator) {
            authorize(peer, op);
        }
        CompletableFuture<Applied> f = ledger.apply(op);
        if (op instanceof Operation.Hold) {
            f.thenAccept(this::remember);
        }
        return f;
    }

    /** Remembers an applied hold's payer and payee (durable now) for authorising its end. */
    private void remember(Applied a) {
        if (a.operation() instanceof Operation.Hold h) {
            remember(h.key(), new Parties(h.payer(), h.payee()));
        }
    }

    @Override
    public void applyBatch(ApplyBatchRequest request, StreamObserver<ApplyBatchReply> out) {
        NodePublicKey peer = PeerKeys.PEER.get();
        int n = request.getOperationJsonCount();
        if (n == 0 || n > MAX_BATCH) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("a batch of " + n + " operations: send 1 to " + MAX_BATCH
                    + " in one ApplyBatch").asRuntimeException());
            return;
        }
        boolean operator = access.isOperator(peer);
        Batch batch = new Batch(peer, n, !operator, !request.getOmitEcho(), out);
        int admitted = admit(peer, n);
        List<Operation> chunk = new ArrayList<>(Math.min(n, CHUNK));
        int[] slots = new int[Math.min(n, CHUNK)];
        for (int i = 0; i < n; i++) {
            if (i >= admitted) {
                batch.refuse(i, busy(peer), false);
                continue;
            }
            Operation op;
            try {
                op = Operation.fromJson(request.getOperationJson(i).toByteArray());
            } catch (InvalidArgumentException e) {
                batch.refuse(i, Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException(), true);
                continue;
            }
            try {
                if (!operator) {
                    authorize(peer, op);
                }
            } catch (RuntimeException e) {
                batch.refuse(i, status(e, !operator), true);
                continue;
            }
            chunk.add(op);
            slots[chunk.size() - 1] = i;
            if (chunk.size() == CHUNK) {
                hand(chunk, slots, batch);
            }
        }
        if (!chunk.isEmpty()) {
            hand(chunk, slots, batch);
        }
        batch.done.orTimeout(callTimeoutMs, TimeUnit.MILLISECONDS).whenCompleteAsync((v, late) -> batch.answer(), responses);
    }

    /**
     * Hands a chunk of a call's checked operations to the ledger as one unit ({@link
     * Settlement#applyAll}), so that a group commit takes them together: handed one by one, an
     * idle writer would start a commit with the first few while the rest were still being
     * parsed, and under load a call's operations would spread over several small commits (and
     * their holds over as many certified roots). Chunks rather than the whole call keep the
     * parsing of the next chunk beside the writer's commit of this one. Empties {@code chunk}.
     */
    private void hand(List<Operation> chunk, int[] slots, Batch batch) {
        List<CompletableFuture<Applied>> futures;
        try {
            futures = ledger.applyAll(List.copyOf(chunk));
        } catch (RuntimeException e) {
            for (int j = 0; j < chunk.size(); j++) {
                batch.refuse(slots[j], status(e, batch.sanitise), true);
            }
            chunk.clear();
            return;
        }
        for (int j = 0; j < futures.size(); j++) {
            Operation op = chunk.get(j);
            CompletableFuture<Applied> f = futures.get(j);
            if (op instanceof Operation.Hold) {
                f.thenAccept(this::remember);
            }
            int slot = slots[j];
            f.whenComplete((applied, failure) -> batch.settle(slot, failure == null ? applied : failure, true));
        }
        chunk.clear();
    }

    /**
     * One ApplyBatch in progress: each operation's outcome (an {@link Applied}, a failure, or a
     * refusal before the ledger), settled once; the call answered once, when all are settled
     * or the call timeout passed (those not settled then are answered UNAVAILABLE).
     */
    private final class Batch {
        private final NodePublicKey peer;
        private final AtomicReferenceArray<Object> outcomes;
        private final AtomicInteger left;
        private final boolean sanitise;
        private final boolean echo;
        private final StreamObserver<ApplyBatchReply> out;
        final CompletableFuture<Void> done = new CompletableFuture<>();

        Batch(NodePublicKey peer, int n, boolean sanitise, boolean echo, StreamObserver<ApplyBatchReply> out) {
            this.peer = peer;
            this.outcomes = new AtomicReferenceArray<>(n);
            this.left = new AtomicInteger(n);
            this.sanitise = sanitise;
            this.echo = echo;
            this.out = out;
        }

        void refuse(int i, StatusRuntimeException refusal, boolean admitted) {
            settle(i, refusal, admitted);
        }

        /** Records operation {@code i}'s outcome unless it was already answered; lets go of its slot in flight. */
        void settle(int i, Object outcome, boolean admitted) {
            if (!outcomes.compareAndSet(i, null, outcome)) {
                return;
            }
            if (admitted) {
                release(peer);
            }
            if (left.decrementAndGet() == 0) {
                done.complete(null);
            }
        }

        /** Sends one result per operation; runs on {@code responses}. */
        void answer() {
            ApplyBatchReply.Builder reply = ApplyBatchReply.newBuilder();
            for (int i = 0; i < outcomes.length(); i++) {
                // Not answered in time: answered UNAVAILABLE now (and its slot let go); the
                // operation may still apply, and a retry with its key returns its result.
                settle(i, new java.util.concurrent.TimeoutException(), true);
                Object o = outcomes.get(i);
                if (o instanceof Applied a) {
                    reply.addResults(ApplyResult.newBuilder().setApplied(LedgerWire.applied(a, echo)));
                } else {
                    reply.addResults(ApplyResult.newBuilder().setRefused(refusal(o instanceof StatusRuntimeException s ? s
                            : status((Throwable) o, sanitise))));
                }
            }
            try {
                out.onNext(reply.build());
                out.onCompleted();
            } catch (StatusRuntimeException cancelled) {
                // the caller went away; what applied is applied, and each key answers a retry
            }
        }
    }

    private static Refusal refusal(StatusRuntimeException s) {
        Metadata trailers = s.getTrailers();
        String reason = trailers == null ? null : trailers.get(LedgerWire.REASON);
        String message = s.getStatus().getDescription();
        return Refusal.newBuilder().setCode(s.getStatus().getCode().value()).setReason(reason == null ? "" : reason)
                .setMessage(message == null ? "" : message).build();
    }

    @Override
    public void claim(dev.depin.grpc.internal.wire.ClaimRequest request, StreamObserver<AppliedReply> out) {
        NodePublicKey peer = PeerKeys.PEER.get();
        if (claims == null) {
            super.claim(request, out);
            return;
        }
        async(peer, out, () -> claims.claim(peer, request), LedgerWire::applied, !access.isOperator(peer));
    }

    @Override
    public StreamObserver<dev.depin.grpc.internal.wire.DisputeChunk> dispute(
            StreamObserver<dev.depin.grpc.internal.wire.DisputeReply> out) {
        NodePublicKey peer = PeerKeys.PEER.get();
        if (claims == null) {
            return super.dispute(out);
        }
        return claims.dispute(peer, access.isOperator(peer), out);
    }

    /** What a key that is not an operator's may apply: its own holds and their ends. */
    private void authorize(NodePublicKey peer, Operation op) {
        if (LedgerClaims.reserved(op.key())) {
            throw new SettlementException(Reason.NOT_PERMITTED, "key " + peer.nodeId().shortId() + " may not apply "
                    + "operation " + op.key() + ": keys beginning " + LedgerClaims.PREFIX + " are the service's own "
                    + "(claims and disputes are filed by the Claim and Dispute calls)");
        }
        if (op instanceof Operation.Hold h) {
            if (!access.actsFor(peer, h.payer())) {
                throw notPermitted(peer, "hold from account " + h.payer() + ", which it does not act for");
            }
            return;
        }
        OperationKey holdKey;
        if (op instanceof Operation.Post p) {
            holdKey = p.hold();
        } else if (op instanceof Operation.VoidHold v) {
            holdKey = v.hold();
        } else if (op instanceof Operation.Expire x) {
            holdKey = x.hold();
        } else {
            throw notPermitted(peer, "apply a " + kindOf(op) + ": only an operator key mints, transfers and slashes"
                    + " (and applies claims and disputes directly; payees and payers file them by Claim and Dispute)");
        }
        // A hold that does not exist yet is refused here, not by the ledger: else a post sent
        // while its hold is in flight could resolve someone else's hold once it lands.
        Parties hold = parties(holdKey);
        boolean payer = access.actsFor(peer, hold.payer());
        if (op instanceof Operation.Expire ? !(payer || access.reads(peer, hold.payee())) : !payer) {
            throw notPermitted(peer, kindOf(op) + " hold " + holdKey + ", which is not from an account it acts for");
        }
    }

    /** A hold's payer and payee: remembered, or read from the ledger (and then remembered). */
    private Parties parties(OperationKey holdKey) {
        Parties p;
        synchronized (parties) {
            p = parties.get(holdKey);
        }
        if (p != null) {
            return p;
        }
        HoldRecord hold = ledger.hold(holdKey).orElseThrow(() -> new SettlementException(Reason.UNKNOWN_HOLD,
                "no hold has key " + holdKey + ": hold first, then post, void or expire it by that key"));
        p = new Parties(hold.payer(), hold.payee());
        remember(holdKey, p);
        return p;
    }

    private void remember(OperationKey holdKey, Parties p) {
        synchronized (parties) {
            parties.put(holdKey, p);
        }
    }

    /** A provider's earnings account, named by its node id: what a buyer's hold pays. */
    private static boolean payable(AccountId account, AccountKind kind) {
        return kind == AccountKind.PROVIDER && PROVIDER_ACCOUNT.matcher(account.value()).matches();
    }

    private static final java.util.regex.Pattern PROVIDER_ACCOUNT = java.util.regex.Pattern.compile("provider:[0-9a-f]{64}");

    private static String kindOf(Operation op) {
        String fields = op.fields();
        return fields.substring(0, fields.indexOf('|'));
    }

    // ---- reads ----------------------------------------------------------------------

    @Override
    public void getBalance(AccountRequest request, StreamObserver<AccountBalance> out) {
        NodePublicKey peer = PeerKeys.PEER.get();
        sync(peer, out, () -> {
            AccountId account = readable(peer, request.getAccount());
            out.onNext(LedgerWire.balance(ledger.balance(account)));
        });
    }

    @Override
    public void listBalances(ListRequest request, StreamObserver<BalancePage> out) {
        NodePublicKey peer = PeerKeys.PEER.get();
        sync(peer, out, () -> {
            List<Balance> all;
            if (access.isOperator(peer)) {
                all = ledger.balances();
            } else {
                java.util.TreeSet<AccountId> mine = new java.util.TreeSet<>(java.util.Comparator.comparing(AccountId::value));
                mine.addAll(access.grantsOf(peer));
                mine.addAll(LedgerAccess.ownProviderAccounts(peer));
                all = new ArrayList<>();
                for (AccountId a : mine) {
                    try {
                        all.add(ledger.balance(a));
                    } catch (SettlementException e) {
                        if (!e.is(Reason.UNKNOWN_ACCOUNT)) {
                            throw e;
                        }
                    }
                }
            }
            pages(all, out, items -> BalancePage.newBuilder().addAllBalances(items.stream().map(LedgerWire::balance)
                    .toList()).build());
        });
    }

    @Override
    public void getStatement(AccountRequest request, StreamObserver<StatementPage> out) {
        NodePublicKey peer = PeerKeys.PEER.get();
        sync(peer, out, () -> {
            AccountId account = readable(peer, request.getAccount());
            List<StatementLine> lines = ledger.statement(account);
            pages(lines, out, items -> StatementPage.newBuilder().addAllLines(items.stream().map(LedgerWire::line)
                    .toList()).build());
        });
    }

    @Override
    public void listOpenHolds(ListRequest request, StreamObserver<HoldPage> out) {
        NodePublicKey peer = PeerKeys.PEER.get();
        sync(peer, out, () -> {
            List<OpenHold> holds = ledger.openHolds();
            if (!access.isOperator(peer)) {
                holds = holds.stream().filter(h -> access.reads(peer, h.payer()) || access.reads(peer, h.payee())).toList();
            }
            pages(holds, out, items -> HoldPage.newBuilder().addAllHolds(items.stream().map(LedgerWire::hold)
                    .toList()).build());
        });
    }

    @Override
    public void getHold(HoldRequest request, StreamObserver<HoldReply> out) {
        NodePublicKey peer = PeerKeys.PEER.get();
        sync(peer, out, () -> {
            OperationKey key = OperationKey.of(request.getKey());
            HoldReply.Builder reply = HoldReply.newBuilder();
            ledger.hold(key).ifPresent(h -> {
                if (!access.reads(peer, h.payer()) && !access.reads(peer, h.payee())) {
                    throw notPermitted(peer, "read hold " + key + ", which neither pays nor is paid by an account "
                            + "it may read");
                }
                reply.setFound(true).setHold(LedgerWire.hold(h));
            });
            out.onNext(reply.build());
        });
    }

    @Override
    public void health(HealthRequest request, StreamObserver<HealthReply> out) {
        out.onNext(HealthReply.newBuilder().setStatus(HealthReply.Status.SERVING).setNodeId(id.hex())
                .setBusy(total.get()).build());
        out.onCompleted();
    }

    private AccountId readable(NodePublicKey peer, String name) {
        AccountId account = AccountId.of(name);
        if (!access.reads(peer, account)) {
            throw notPermitted(peer, "read account " + account + ", which it does not act for");
        }
        return account;
    }

    private static <T, M> void pages(List<T> items, StreamObserver<M> out, Function<List<T>, M> page) {
        for (int i = 0; i < items.size(); i += LedgerWire.PAGE) {
            out.onNext(page.apply(items.subList(i, Math.min(items.size(), i + LedgerWire.PAGE))));
        }
    }

    // ---- plumbing -------------------------------------------------------------------

    private boolean admit(NodePublicKey peer, StreamObserver<?> out) {
        if (admit(peer, 1) == 0) {
            out.onError(busy(peer));
            return false;
        }
        return true;
    }

    /** Takes up to {@code wanted} of the key's slots in flight, as many as are free; returns how many. */
    private int admit(NodePublicKey peer, int wanted) {
        int[] got = new int[1];
        inFlight.compute(peer, (k, n) -> {
            int free = maxInFlightPerKey - (n == null ? 0 : n.get());
            got[0] = Math.max(0, Math.min(wanted, free));
            if (got[0] == 0) {
                return n;
            }
            AtomicInteger count = n == null ? new AtomicInteger() : n;
            count.addAndGet(got[0]);
            return count;
        });
        total.addAndGet(got[0]);
        return got[0];
    }

    private StatusRuntimeException busy(NodePublicKey peer) {
        return Status.RESOURCE_EXHAUSTED.withDescription("key " + peer.nodeId().shortId() + " has "
                + maxInFlightPerKey + " calls in flight, the most this service allows per key: wait for answers "
                + "before sending more").asRuntimeException();
    }

    private void release(NodePublicKey peer) {
        total.decrementAndGet();
        inFlight.computeIfPresent(peer, (k, n) -> n.decrementAndGet() == 0 ? null : n);
    }

    private interface Body {
        void run();
    }

    /** A read, answered on this thread. */
    private <M> void sync(NodePublicKey peer, StreamObserver<M> out, Body body) {
        if (!admit(peer, out)) {
            return;
        }
        try {
            body.run();
            out.onCompleted();
        } catch (RuntimeException e) {
            out.onError(LedgerWire.toStatus(e));
        } finally {
            release(peer);
        }
    }

    /** An operation: checked and queued on this thread, answered from {@code responses}. */
    private <T, M> void async(NodePublicKey peer, StreamObserver<M> out,
                              java.util.function.Supplier<CompletableFuture<T>> start, Function<T, M> reply,
                              boolean sanitise) {
        if (!admit(peer, out)) {
            return;
        }
        CompletableFuture<T> f;
        try {
            f = start.get();
        } catch (RuntimeException e) {
            release(peer);
            out.onError(status(e, sanitise));
            return;
        }
        f.orTimeout(callTimeoutMs, TimeUnit.MILLISECONDS).whenCompleteAsync((value, failure) -> {
            release(peer);
            if (failure != null) {
                out.onError(status(failure, sanitise));
                return;
            }
            try {
                out.onNext(reply.apply(value));
                out.onCompleted();
            } catch (StatusRuntimeException cancelled) {
                // the caller went away; the operation is applied and its key answers a retry
            }
        }, responses);
    }

    /**
     * The status for a failure; a key conflict is not described to callers that are not
     * operators, since its message shows the fields of the operation that holds the key, which
     * may be another client's.
     */
    private static StatusRuntimeException status(Throwable failure, boolean sanitise) {
        Throwable t = Wire.unwrap(failure);
        if (sanitise && t instanceof SettlementException s && s.is(Reason.IDEMPOTENCY_CONFLICT)) {
            return LedgerWire.refusal(Reason.IDEMPOTENCY_CONFLICT, "this key was already used for another operation: "
                    + "use a new key for a different operation");
        }
        return LedgerWire.toStatus(t);
    }

    private static SettlementException notPermitted(NodePublicKey peer, String what) {
        return new SettlementException(Reason.NOT_PERMITTED, "key " + peer.nodeId().shortId() + " may not " + what
                + ": ask the service's operator to grant this key the account (depin ledger serve --client "
                + dev.depin.crypto.Hex.encode(peer.raw()) + "=ACCOUNT), or use the key that has it");
    }

    private static StatusRuntimeException denied(NodePublicKey peer, String what) {
        return LedgerWire.toStatus(new SettlementException(Reason.NOT_PERMITTED, "key " + peer.nodeId().shortId()
                + " may not " + what + " (depin ledger serve --operator " + dev.depin.crypto.Hex.encode(peer.raw())
                + " makes it one)"));
    }
}
