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
import dev.depin.grpc.internal.wire.OperationBatch;
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
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * The settlement service: every request checked (malformed → INVALID_ARGUMENT), authorised by
 * the caller's TLS key against {@link LedgerAccess} (→ PERMISSION_DENIED), bounded (operations
 * in flight per key, per address and in total, {@link OperationAdmission} → RESOURCE_EXHAUSTED;
 * an operation the ledger does not answer in time → UNAVAILABLE, safe to retry with its key),
 * and only then handed to the {@link Settlement}. Listings are answered under the reader's flow
 * control and cancelled when it stalls ({@link AnswerStream}).
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
    private final long callTimeoutMs;
    private OperationAdmission admission;
    private LedgerRefusals refusals;
    private long stallMillis = 10_000;
    private java.util.concurrent.ScheduledExecutorService timer;
    private java.util.function.Predicate<java.net.SocketAddress> cut = remote -> false;
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

    /** Told the address of a batch with a hostile operation ({@link #hostile}). */
    private volatile java.util.function.Consumer<String> hostile = a -> {
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
        this.callTimeoutMs = callTimeoutMs;
        this.refusals = new LedgerRefusals();
        this.admission = new OperationAdmission(new OperationAdmission.Limits(maxInFlightPerKey,
                Math.max(maxInFlightPerKey, 16_384), Math.max(maxInFlightPerKey, 65_536)), refusals);
    }

    /**
     * Sets the bounds on operations in flight and on answer streams (else: {@code maxInFlightPerKey}
     * per key, 16,384 per address, 65,536 in total, and streams answered without a stall deadline
     * until this is called).
     *
     * @param operations  operations in flight per key, per address and in total
     * @param refusals    where refusals are counted
     * @param stallMillis how long an answer stream may go without its reader taking anything
     *                    before it is cancelled
     * @param timer       where the stall deadlines run
     * @param cut         closes a peer's connection by its socket address (false if none is open)
     * @return this service
     */
    public LedgerService limits(OperationAdmission.Limits operations, LedgerRefusals refusals, long stallMillis,
                                java.util.concurrent.ScheduledExecutorService timer,
                                java.util.function.Predicate<java.net.SocketAddress> cut) {
        this.admission = new OperationAdmission(operations, refusals);
        this.refusals = refusals;
        this.stallMillis = stallMillis;
        this.timer = timer;
        this.cut = cut;
        return this;
    }

    /**
     * @param countAddress told the {@link AddressGroup} (or null) of a batch one of whose
     *                     operations was refused as malformed or not permitted, once per batch
     *                     (the call itself is answered OK, so the server's gate does not see it)
     * @return this service
     */
    public LedgerService hostile(java.util.function.Consumer<String> countAddress) {
        this.hostile = countAddress;
        return this;
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

    /** @return operations being answered now, over all keys */
    public int inFlight() {
        return admission.total();
    }

    /**
     * @param who a client key, or an address group's text ({@link AddressGroup#of})
     * @return its operations being answered now
     */
    public int inFlight(Object who) {
        return admission.held(who);
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
        String address = AddressGroup.of(PeerKeys.REMOTE.get());
        async(peer, out, () -> start(peer, address, operator, op), a -> {
            remember(a); // on the answer's thread, before the caller can post the hold
            return LedgerWire.applied(a, echo);
        }, !operator);
    }

    /**
     * Authorises an operation (unless the caller is an operator) and hands it to the ledger in
     * its address's turn.
     */
    private CompletableFuture<Applied> start(NodePublicKey peer, String address, boolean operator, Operation op) {
        if (!operator) {
            authorize(peer, op);
        }
        return ledger.applyAll(List.of(op), source(address)).get(0);
    }

    /** Remembers an applied hold's payer and payee (durable now) for authorising its end. */
    private void remember(Applied a) {
        if (a.operation() instanceof Operation.Hold h) {
            remember(h.key(), new Parties(h.payer(), h.payee()));
        }
    }

    @Override
    public void applyBatch(ApplyBatchRequest request, StreamObserver<ApplyBatchReply> out) {
        applyMany("ApplyBatch", request.getOperationJsonCount(), i -> Operation.fromJson(request.getOperationJson(i)
                .toByteArray()), request.getOmitEcho() ? Answer.NO_ECHO : Answer.ECHO, out);
    }

    /**
     * ApplyBatch with the operations in their binary form ({@link LedgerWire#operation}): the same
     * limits, checks and results, answered without echoes and with hold proofs.
     */
    @Override
    public void applyOperations(OperationBatch request, StreamObserver<ApplyBatchReply> out) {
        applyMany("ApplyOperations", request.getOperationsCount(), i -> LedgerWire.operation(request.getOperations(i)),
                Answer.BINARY, out);
    }

    /** How a batch's applied operations are answered. */
    private enum Answer {
        /** With the operation's JSON and the certificate's text. */
        ECHO,
        /** With the certificate's text. */
        NO_ECHO,
        /** With a v2 certificate's proof ({@link LedgerWire#appliedBinary}). */
        BINARY
    }

    /** One batch call: {@code n} operations, operation {@code i} read by {@code read}. */
    private void applyMany(String method, int n, IntFunction<Operation> read, Answer form,
                           StreamObserver<ApplyBatchReply> out) {
        NodePublicKey peer = PeerKeys.PEER.get();
        if (n == 0 || n > MAX_BATCH) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("a batch of " + n + " operations: send 1 to " + MAX_BATCH
                    + " in one " + method).asRuntimeException());
            return;
        }
        boolean operator = access.isOperator(peer);
        String address = AddressGroup.of(PeerKeys.REMOTE.get());
        OperationAdmission.Grant grant = admission.take(peer, address, n);
        int admitted = grant.taken();
        Batch batch = new Batch(peer, address, admitted, n, !operator, form, out);
        List<Operation> chunk = new ArrayList<>(Math.min(n, CHUNK));
        int[] slots = new int[Math.min(n, CHUNK)];
        for (int i = 0; i < n; i++) {
            if (i >= admitted) {
                batch.refuse(i, grant.refusal());
                continue;
            }
            Operation op;
            try {
                op = read.apply(i);
            } catch (InvalidArgumentException e) {
                batch.refuse(i, Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
                continue;
            }
            try {
                if (!operator) {
                    authorize(peer, op);
                }
            } catch (RuntimeException e) {
                batch.refuse(i, status(e, !operator));
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
            futures = ledger.applyAll(List.copyOf(chunk), source(batch.address));
        } catch (RuntimeException e) {
            for (int j = 0; j < chunk.size(); j++) {
                batch.refuse(slots[j], status(e, batch.sanitise));
            }
            chunk.clear();
            return;
        }
        for (int j = 0; j < futures.size(); j++) {
            CompletableFuture<Applied> f = futures.get(j);
            int slot = slots[j];
            f.whenComplete((applied, failure) -> batch.settle(slot, failure == null ? applied : failure));
        }
        chunk.clear();
    }

    /**
     * One ApplyBatch in progress: each operation's outcome (an {@link Applied}, a failure, or a
     * refusal before the ledger), settled once; the call answered once, when all are settled
     * or the call timeout passed (those not settled then are answered UNAVAILABLE); its slots in
     * flight let go together when it is answered.
     */
    private final class Batch {
        private final NodePublicKey peer;
        private final String address;
        private final int admitted;
        private final AtomicReferenceArray<Object> outcomes;
        private final AtomicInteger left;
        private final boolean sanitise;
        private final Answer form;
        private final StreamObserver<ApplyBatchReply> out;
        /** Whether this batch was counted against its address already (on the call's thread). */
        private boolean hostileCounted;
        final CompletableFuture<Void> done = new CompletableFuture<>();

        Batch(NodePublicKey peer, String address, int admitted, int n, boolean sanitise, Answer form,
              StreamObserver<ApplyBatchReply> out) {
            this.peer = peer;
            this.address = address;
            this.admitted = admitted;
            this.outcomes = new AtomicReferenceArray<>(n);
            this.left = new AtomicInteger(n);
            this.sanitise = sanitise;
            this.form = form;
            this.out = out;
        }

        void refuse(int i, StatusRuntimeException refusal) {
            Status.Code c = refusal.getStatus().getCode();
            if ((c == Status.Code.INVALID_ARGUMENT || c == Status.Code.PERMISSION_DENIED) && !hostileCounted) {
                // A malformed or forbidden operation inside a batch that is itself answered OK:
                // counted against the address once per batch, as a refused call is.
                hostileCounted = true;
                hostile.accept(address);
            }
            settle(i, refusal);
        }

        /** Records operation {@code i}'s outcome unless it was already answered. */
        void settle(int i, Object outcome) {
            if (!outcomes.compareAndSet(i, null, outcome)) {
                return;
            }
            if (left.decrementAndGet() == 0) {
                done.complete(null);
            }
        }

        /** Sends one result per operation; runs on {@code responses}. */
        void answer() {
            ApplyBatchReply.Builder reply = ApplyBatchReply.newBuilder();
            for (int i = 0; i < outcomes.length(); i++) {
                // Not answered in time: answered UNAVAILABLE now; the operation may still
                // apply, and a retry with its key returns its result.
                settle(i, new java.util.concurrent.TimeoutException());
                Object o = outcomes.get(i);
                if (o instanceof Applied a) {
                    // a hold's parties are remembered here, before its caller can post it, rather
                    // than where its future completes: the certifier's one thread
                    remember(a);
                    reply.addResults(ApplyResult.newBuilder().setApplied(form == Answer.BINARY ? LedgerWire.appliedBinary(a)
                            : LedgerWire.applied(a, form == Answer.ECHO)));
                } else {
                    reply.addResults(ApplyResult.newBuilder().setRefused(refusal(o instanceof StatusRuntimeException s ? s
                            : status((Throwable) o, sanitise))));
                }
            }
            admission.release(peer, address, admitted);
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

    /** Whose turn in the ledger's queue a peer's operations take: its address group's ("" when it has none). */
    private static String source(String address) {
        return address == null ? "" : address;
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
        stream(peer, out, () -> {
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
            return all;
        }, items -> BalancePage.newBuilder().addAllBalances(items.stream().map(LedgerWire::balance).toList()).build());
    }

    @Override
    public void getStatement(AccountRequest request, StreamObserver<StatementPage> out) {
        NodePublicKey peer = PeerKeys.PEER.get();
        stream(peer, out, () -> ledger.statement(readable(peer, request.getAccount())),
                items -> StatementPage.newBuilder().addAllLines(items.stream().map(LedgerWire::line).toList()).build());
    }

    @Override
    public void listOpenHolds(ListRequest request, StreamObserver<HoldPage> out) {
        NodePublicKey peer = PeerKeys.PEER.get();
        stream(peer, out, () -> {
            List<OpenHold> holds = ledger.openHolds();
            if (!access.isOperator(peer)) {
                holds = holds.stream().filter(h -> access.reads(peer, h.payer()) || access.reads(peer, h.payee())).toList();
            }
            return holds;
        }, items -> HoldPage.newBuilder().addAllHolds(items.stream().map(LedgerWire::hold).toList()).build());
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
                .setBusy(admission.total()).build());
        out.onCompleted();
    }

    private AccountId readable(NodePublicKey peer, String name) {
        AccountId account = AccountId.of(name);
        if (!access.reads(peer, account)) {
            throw notPermitted(peer, "read account " + account + ", which it does not act for");
        }
        return account;
    }

    // ---- plumbing -------------------------------------------------------------------

    /** Takes one slot in flight for a call of one operation or a read; refuses the call when none is free. */
    private boolean admit(NodePublicKey peer, String address, StreamObserver<?> out) {
        OperationAdmission.Grant g = admission.take(peer, address, 1);
        if (g.taken() == 0) {
            out.onError(g.refusal());
            return false;
        }
        return true;
    }

    private interface Body {
        void run();
    }

    /** A read, answered on this thread. */
    private <M> void sync(NodePublicKey peer, StreamObserver<M> out, Body body) {
        String address = AddressGroup.of(PeerKeys.REMOTE.get());
        if (!admit(peer, address, out)) {
            return;
        }
        try {
            body.run();
            out.onCompleted();
        } catch (RuntimeException e) {
            out.onError(LedgerWire.toStatus(e));
        } finally {
            admission.release(peer, address, 1);
        }
    }

    /**
     * A read answered as a stream of pages ({@link LedgerWire#PAGE} items each), under flow
     * control: read on this thread, then sent page by page while the reader takes them
     * ({@link AnswerStream}).
     */
    private <T, M> void stream(NodePublicKey peer, StreamObserver<M> out, java.util.function.Supplier<List<T>> read,
                               Function<List<T>, M> page) {
        String address = AddressGroup.of(PeerKeys.REMOTE.get());
        if (!admit(peer, address, out)) {
            return;
        }
        List<T> items;
        try {
            items = read.get();
        } catch (RuntimeException e) {
            admission.release(peer, address, 1);
            out.onError(LedgerWire.toStatus(e));
            return;
        }
        java.net.SocketAddress remote = PeerKeys.CONNECTION.get();
        new AnswerStream<>((io.grpc.stub.ServerCallStreamObserver<M>) out, items, page, () -> cut.test(remote),
                stallMillis, timer, refusals, () -> admission.release(peer, address, 1)).start();
    }

    /** An operation: checked and queued on this thread, answered from {@code responses}. */
    private <T, M> void async(NodePublicKey peer, StreamObserver<M> out,
                              java.util.function.Supplier<CompletableFuture<T>> start, Function<T, M> reply,
                              boolean sanitise) {
        String address = AddressGroup.of(PeerKeys.REMOTE.get());
        if (!admit(peer, address, out)) {
            return;
        }
        CompletableFuture<T> f;
        try {
            f = start.get();
        } catch (RuntimeException e) {
            admission.release(peer, address, 1);
            out.onError(status(e, sanitise));
            return;
        }
        f.orTimeout(callTimeoutMs, TimeUnit.MILLISECONDS).whenCompleteAsync((value, failure) -> {
            admission.release(peer, address, 1);
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
