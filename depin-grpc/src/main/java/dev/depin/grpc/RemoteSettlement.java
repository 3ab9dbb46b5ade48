package dev.depin.grpc;

import com.google.protobuf.ByteString;
import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.internal.LedgerWire;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.Reconnect;
import dev.depin.grpc.internal.Wire;
import dev.depin.grpc.internal.wire.AccountRequest;
import dev.depin.grpc.internal.wire.AppliedReply;
import dev.depin.grpc.internal.wire.ApplyBatchReply;
import dev.depin.grpc.internal.wire.ApplyBatchRequest;
import dev.depin.grpc.internal.wire.ApplyRequest;
import dev.depin.grpc.internal.wire.ApplyResult;
import dev.depin.grpc.internal.wire.BalancePage;
import dev.depin.grpc.internal.wire.HoldPage;
import dev.depin.grpc.internal.wire.HoldReply;
import dev.depin.grpc.internal.wire.HoldRequest;
import dev.depin.grpc.internal.wire.LedgerGrpc;
import dev.depin.grpc.internal.wire.ListRequest;
import dev.depin.grpc.internal.wire.OpenAccount;
import dev.depin.grpc.internal.wire.OperationBatch;
import dev.depin.grpc.internal.wire.Refusal;
import dev.depin.grpc.internal.wire.StatementPage;
import dev.depin.grpc.internal.wire.WireOperation;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.HoldCertificate;
import dev.depin.settlement.HoldRecord;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.StatementLine;
import dev.depin.settlement.spi.Settlement;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A {@link Settlement} on a settlement service ({@link LedgerServer}, {@code depin ledger serve})
 * over gRPC with mutual TLS 1.3, the service's key pinned. It passes the same contract suite as
 * the embedded ledger: a buyer gives it to an {@code Escrow} as it would a {@code JdbcLedger}.
 *
 * <p>Every call is retried while the service is unreachable, restarting, too busy or slow
 * (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED), with backoff, up to the
 * {@link RetryPolicy}; an operation is retried with its own key, so a retry after a lost
 * answer or a reconnect returns the original result and never applies twice. Then the call
 * fails with {@link LedgerFailureException} (retrying later with the same key stays safe). A
 * refusal comes back as the same {@link dev.depin.settlement.SettlementException} the ledger
 * threw, by its reason; what the service does not let this key do is
 * {@code NOT_PERMITTED}. A hold's certificate is checked against the pinned key before it is
 * returned.
 *
 * <p><b>Batching.</b> Operations applied while others are on their way are sent together: at
 * most {@value #BATCHES_IN_FLIGHT} calls carry operations at once, and operations applied
 * meanwhile wait (in order) for the next call, which takes up to
 * {@link Builder#maxOperationsPerCall} of them (default {@value #DEFAULT_OPERATIONS_PER_CALL}) and
 * at most {@value #BATCH_BYTES} bytes of operations. A lone operation goes at once, in a call of
 * its own; under load many share one call, as the ledger's group commit shares one commit. A
 * call's place is freed once its answer is settled (its callers' callbacks have run, 5 ms at
 * most), so that what those callbacks apply (a hold's post) goes together in the next call. Each
 * operation is answered, refused and retried on its own, exactly as if it had been sent alone
 * (a service without batches is sent one operation per call). Batches go in the operations'
 * binary form ({@code ApplyOperations}: holds, posts, voids and expiries in typed fields, a v2
 * hold certificate answered as its proof and rebuilt here from the hold sent), or, to a service
 * without it or when {@link Builder#binaryOperations} is off, as JSON ({@code ApplyBatch}).
 *
 * <pre>{@code
 * try (RemoteSettlement ledger = RemoteSettlement.builder(buyerKey, "ledger.example:7100", ledgerKey).connect()) {
 *     DepinClient client = DepinClient.builder().network(net)
 *             .escrow(Escrow.builder(ledger, AccountId.of("buyer:acme")).build()).build();
 * }
 * }</pre>
 */
public final class RemoteSettlement implements Settlement, dev.depin.settlement.spi.ClaimDisputes {
    /** The default: 8 tries, 50 ms doubling to 2 s, half of each pause random (about 6 s in all). */
    public static final RetryPolicy DEFAULT_RETRY = new RetryPolicy(8, Duration.ofMillis(50), Duration.ofSeconds(2), 0.5);
    /** Calls carrying operations at once; more operations wait for one to be answered. */
    public static final int BATCHES_IN_FLIGHT = 8;
    /** The default most operations in one call: 8 calls of 512 fill the service's default 4,096 per key. */
    public static final int DEFAULT_OPERATIONS_PER_CALL = 512;
    /** The most bytes of operations' JSON in one call: room for framing below the service's 64 KiB. */
    public static final int BATCH_BYTES = 60 << 10;
    /**
     * The longest a call's place among the calls in flight stays taken while its answer is
     * settled (its callers' callbacks run) unless a test says otherwise.
     */
    static final Duration SETTLE_HOLD = Duration.ofMillis(5);
    /** The default most operations applied and not yet answered (waiting, paused for a retry, or in a call). */
    public static final int DEFAULT_MAX_WAITING_OPERATIONS = 65_536;
    /** The default most bytes of those operations' encoded forms that the client holds meanwhile. */
    public static final long DEFAULT_MAX_WAITING_BYTES = 32L << 20;

    private final String address;
    private final NodePublicKey ledgerKey;
    private final ManagedChannel channel;
    private final LedgerGrpc.LedgerStub async;
    private final RetryPolicy retry;
    private final long callTimeoutMs;
    private final long settleHoldNanos;
    private final ScheduledExecutorService timer;
    private final int perCall;
    private final int maxWaitingOperations;
    private final long maxWaitingBytes;
    private final Object lock = new Object();
    /** Operations waiting for a call; guarded by {@link #lock}, as are the fields below. */
    private final ArrayDeque<Pending> queued = new ArrayDeque<>();
    private int batchesInFlight;
    private boolean closed;
    /** Operations applied and not yet answered, on any path, and the bytes of their encoded forms ({@link Pending#bytes}). */
    private int waitingOperations;
    private long waitingBytes;
    /** Operations waiting out a retry's pause: failed by {@link #close()} if it comes first. */
    private final Set<Pending> pausing = ConcurrentHashMap.newKeySet();
    /** Batch roots of v2 hold certificates already checked: one signature check per batch. */
    private final dev.depin.settlement.VerifiedRoots verifiedRoots =
            new dev.depin.settlement.VerifiedRoots(dev.depin.settlement.VerifiedRoots.DEFAULT_CAPACITY);
    /** Set when the service has no ApplyBatch (an older one): then one Apply per operation. */
    private volatile boolean unbatched;
    /** Cleared when the service has no ApplyOperations (an older one), or by the builder: then ApplyBatch. */
    private volatile boolean binary;

    private RemoteSettlement(Builder b) {
        this.address = b.address;
        this.ledgerKey = b.ledgerKey;
        this.retry = b.retry;
        this.callTimeoutMs = b.callTimeout.toMillis();
        this.settleHoldNanos = b.settleHold.toNanos();
        this.perCall = b.perCall;
        this.maxWaitingOperations = b.maxWaitingOperations;
        this.maxWaitingBytes = b.maxWaitingBytes;
        this.binary = b.binary;
        this.channel = NettyChannelBuilder.forTarget(b.address)
                .sslContext(NodeTls.client(NodeTls.identity(b.self), b.ledgerKey))
                .maxInboundMessageSize(4 << 20)
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .build();
        this.async = LedgerGrpc.newStub(channel);
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "depin-remote-settlement-retry");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Starts building a client.
     *
     * @param self      this client's key: its TLS certificate, by which the service knows what
     *                  it may do
     * @param address   the service's {@code host:port}
     * @param ledgerKey the service's key (the ledger's certificate key), pinned
     * @return a builder
     * @throws InvalidArgumentException on null or a malformed address
     */
    public static Builder builder(NodeKeyPair self, String address, NodePublicKey ledgerKey) {
        InvalidArgumentException.requireNonNull(self, "client key");
        Wire.parseAddress(address);
        InvalidArgumentException.requireNonNull(ledgerKey, "ledger key");
        return new Builder(self, address, ledgerKey);
    }

    /** @return the service's {@code host:port} */
    public String address() {
        return address;
    }

    /** @return the service's pinned key */
    public NodePublicKey ledgerKey() {
        return ledgerKey;
    }

    /**
     * {@inheritDoc}
     *
     * <p>On a service, only an operator's key opens accounts, except a provider's earnings
     * account ({@code provider:<node id>}, kind {@code PROVIDER}, no credit), which any key may
     * open as a place to pay; the balance returned then shows posted and held as 0 unless this
     * key may read the account.
     */
    @Override
    public CompletableFuture<Balance> open(AccountId account, AccountKind kind, boolean allowCredit) {
        InvalidArgumentException.requireNonNull(account, "account");
        InvalidArgumentException.requireNonNull(kind, "kind");
        if (kind == AccountKind.ISSUER || kind == AccountKind.BURN) {
            throw new InvalidArgumentException("account kind " + kind + " is the ledger's own: open BUYER, PROVIDER, "
                    + "STAKE or FEES accounts");
        }
        OpenAccount req = OpenAccount.newBuilder().setAccount(account.value()).setKind(kind.name())
                .setAllowCredit(allowCredit).build();
        return unary((stub, obs) -> stub.open(req, obs), LedgerWire::balance);
    }

    /**
     * {@inheritDoc}
     *
     * <p>The client keeps each operation until it is answered (a hold's certificate is rebuilt
     * from the hold sent): at most {@link Builder#maxWaiting} operations and bytes of their
     * encoded forms at once, released when the operation's future completes, whatever ends it
     * (an answer, a refusal, the last try's failure or deadline, {@link #close()}). An operation
     * beyond either limit fails at once with {@link LedgerFailureException}: the service is
     * not keeping up or cannot be reached; apply it again later with the same key.
     */
    @Override
    public CompletableFuture<Applied> apply(Operation operation) {
        InvalidArgumentException.requireNonNull(operation, "operation");
        Pending p = new Pending(operation);
        String full = admit(p);
        if (full != null) {
            p.future.completeExceptionally(new LedgerFailureException("the settlement client for " + address
                    + " holds " + full + ": the service is not keeping up or cannot be reached; apply this operation ("
                    + operation.key() + ") again later with the same key"));
            return p.future;
        }
        if (perCall == 1 || unbatched) {
            alone(p);
        } else {
            enqueue(p);
        }
        return p.future;
    }

    /** Counts {@code p} as waiting; null if it fits within the limits, else what is full. */
    private String admit(Pending p) {
        synchronized (lock) {
            if (waitingOperations >= maxWaitingOperations) {
                return waitingOperations + " operations not yet answered, the most it holds (maxWaiting)";
            }
            if (waitingOperations > 0 && waitingBytes + p.bytes > maxWaitingBytes) {
                return waitingBytes + " bytes of operations not yet answered, and this one's " + p.bytes
                        + " would pass the most it holds, " + maxWaitingBytes + " (maxWaiting)";
            }
            waitingOperations++;
            waitingBytes += p.bytes;
            p.counted = true;
            return null;
        }
    }

    /** {@code p} is answered or failed: the client lets go of it (once), then tells its caller. */
    private void release(Pending p) {
        synchronized (lock) {
            if (p.counted) {
                p.counted = false;
                waitingOperations--;
                waitingBytes -= p.bytes;
            }
        }
    }

    private void done(Pending p, Applied a) {
        release(p);
        p.future.complete(a);
    }

    private void fail(Pending p, Throwable t) {
        release(p);
        p.future.completeExceptionally(t);
    }

    /** @return operations applied and not yet answered (waiting, paused for a retry, or in a call) */
    int waitingOperations() {
        synchronized (lock) {
            return waitingOperations;
        }
    }

    /** @return bytes of the encoded forms of the operations {@link #waitingOperations()} counts */
    long waitingBytes() {
        synchronized (lock) {
            return waitingBytes;
        }
    }

    /** One operation in one Apply call, with that call's own retries. */
    private void alone(Pending p) {
        ApplyRequest req = ApplyRequest.newBuilder().setOperationJson(ByteString.copyFrom(p.json())).setOmitEcho(true)
                .build();
        unary((stub, obs) -> stub.apply(req, obs),
                (AppliedReply m) -> checked(p.operation, LedgerWire.applied(m, p.operation)))
                .whenComplete((a, t) -> {
                    if (t == null) {
                        done(p, a);
                    } else {
                        fail(p, t);
                    }
                });
    }

    /**
     * The answer is for the operation sent (its echo, where an older service still sends one, is
     * compared; requests ask for none), and a certificate is the pinned ledger's.
     */
    private Applied checked(Operation sent, Applied got) {
        // an answer without its echo carries the operation sent itself: nothing to compare
        if (got.operation() != sent && (!got.operation().key().equals(sent.key())
                || !got.operation().fields().equals(sent.fields()))) {
            throw new LedgerFailureException("settlement service " + address + " answered operation "
                    + sent.key() + " with the result of " + got.operation().key() + " [" + got.operation().fields()
                    + "]: it is not a sound depin ledger; stop using it");
        }
        got.certificate().ifPresent(c -> {
            if (!c.ledger().equals(ledgerKey.nodeId()) || !c.hold().equals(sent.key())) {
                throw new LedgerFailureException("settlement service " + address + " returned a hold certificate for "
                        + c.hold() + " from ledger " + c.ledger().shortId() + ": not this hold's from the pinned ledger");
            }
            try {
                c.verifyIssuer(ledgerKey, verifiedRoots);
            } catch (dev.depin.DepinException e) {
                throw new LedgerFailureException("settlement service " + address + " returned a hold certificate "
                        + "that the pinned ledger key did not sign (" + e.getMessage() + ")", e);
            }
        });
        return got;
    }

    @Override
    public Balance balance(AccountId account) {
        InvalidArgumentException.requireNonNull(account, "account");
        AccountRequest req = AccountRequest.newBuilder().setAccount(account.value()).build();
        return join(unary((stub, obs) -> stub.getBalance(req, obs), LedgerWire::balance));
    }

    @Override
    public List<Balance> balances() {
        return join(this.<BalancePage, Balance>listing((stub, obs) -> stub.listBalances(ListRequest.getDefaultInstance(), obs),
                (page, out) -> page.getBalancesList().forEach(b -> out.accept(LedgerWire.balance(b)))));
    }

    @Override
    public List<StatementLine> statement(AccountId account) {
        InvalidArgumentException.requireNonNull(account, "account");
        AccountRequest req = AccountRequest.newBuilder().setAccount(account.value()).build();
        return join(this.<StatementPage, StatementLine>listing((stub, obs) -> stub.getStatement(req, obs),
                (page, out) -> page.getLinesList().forEach(l -> out.accept(LedgerWire.line(l)))));
    }

    @Override
    public List<OpenHold> openHolds() {
        return join(this.<HoldPage, OpenHold>listing((stub, obs) -> stub.listOpenHolds(ListRequest.getDefaultInstance(), obs),
                (page, out) -> page.getHoldsList().forEach(h -> out.accept(LedgerWire.openHold(h)))));
    }

    @Override
    public Optional<HoldRecord> hold(OperationKey key) {
        InvalidArgumentException.requireNonNull(key, "hold key");
        HoldRequest req = HoldRequest.newBuilder().setKey(key.value()).build();
        return join(unary((stub, obs) -> stub.getHold(req, obs),
                (HoldReply r) -> r.getFound() ? Optional.of(LedgerWire.holdRecord(r.getHold())) : Optional.<HoldRecord>empty()));
    }

    // ---- claims and disputes (issue 16) ---------------------------------------------

    /** Bytes of a dispute's data per message: well under the service's 64 KiB request limit. */
    private static final int DISPUTE_CHUNK = 32 << 10;

    /**
     * Claims a hold this client's key is the payee of ({@code provider:<this key's node id>}),
     * with the receipt the node signed for the job: the service checks the signature and that
     * the receipt is for the hold's job, attempt and spec, then the ledger posts the claim when
     * its dispute window ends unless the payer disputes it. The claim's key is the service's
     * ({@code claim:sha256:<receipt digest>}): one receipt claims one hold, and a retry returns
     * the first result.
     *
     * @param hold    the hold's key
     * @param amount  how much to claim, 1 micro-USD to the hold's amount
     * @param receipt the receipt envelope the node signed
     * @return the claim as applied; fails with {@link dev.depin.settlement.SettlementException}
     *         ({@code CLAIM_REJECTED}, {@code NOT_PERMITTED}, {@code HOLD_CLAIMED}, …) on a refusal
     * @throws InvalidArgumentException on null
     */
    public CompletableFuture<Applied> claim(OperationKey hold, dev.depin.money.MicroUsd amount,
                                            dev.depin.crypto.Envelope receipt) {
        InvalidArgumentException.requireNonNull(receipt, "receipt envelope");
        return claim(hold, amount, dev.depin.grpc.internal.wire.ClaimRequest.newBuilder()
                .setReceiptEnvelope(ByteString.copyFrom(receipt.toJsonBytes())));
    }

    /**
     * Claims a hold with a receipt the node signed in a batch; otherwise as
     * {@link #claim(OperationKey, dev.depin.money.MicroUsd, dev.depin.crypto.Envelope)}.
     *
     * @param hold    the hold's key
     * @param amount  how much to claim
     * @param receipt the batched receipt
     * @return the claim as applied
     * @throws InvalidArgumentException on null
     */
    public CompletableFuture<Applied> claim(OperationKey hold, dev.depin.money.MicroUsd amount,
                                            dev.depin.crypto.BatchedReceipt receipt) {
        InvalidArgumentException.requireNonNull(receipt, "batched receipt");
        return claim(hold, amount, dev.depin.grpc.internal.wire.ClaimRequest.newBuilder()
                .setBatchedReceipt(ByteString.copyFrom(receipt.toJsonBytes())));
    }

    private CompletableFuture<Applied> claim(OperationKey hold, dev.depin.money.MicroUsd amount,
                                             dev.depin.grpc.internal.wire.ClaimRequest.Builder req) {
        InvalidArgumentException.requireNonNull(hold, "hold key");
        InvalidArgumentException.requireNonNull(amount, "claim amount");
        dev.depin.grpc.internal.wire.ClaimRequest request = req.setHold(hold.value()).setAmount(amount.micros()).build();
        return unary((stub, obs) -> stub.claim(request, obs), (AppliedReply m) -> {
            Applied got = LedgerWire.applied(m);
            if (!(got.operation() instanceof Operation.Claim c) || !c.hold().equals(hold) || !c.amount().equals(amount)) {
                throw new LedgerFailureException("settlement service " + address + " answered a claim of " + hold
                        + " with [" + got.operation().fields() + "]: it is not a sound depin ledger; stop using it");
            }
            return got;
        });
    }

    /**
     * Disputes a claim on a hold this client's key pays from, with the dispute record of the
     * claimed receipt and the job's inputs and the outputs the provider delivered: the service
     * re-checks it with the offline verifier. A record that binds to the claim freezes it as
     * soon as the upload completes (refused {@code DISPUTE_WINDOW_CLOSED} at or after the
     * window's end), and the re-check decides it even after the window: upheld, the hold is
     * disputed and voided and the provider's stake slashed where it has one (the answer lists
     * those operations); not upheld, the claim is posted at once and the call fails with
     * {@link dev.depin.settlement.SettlementException} ({@code DISPUTE_REJECTED}), as it does,
     * with the claim standing, for a record that accuses another provider or receipt. A retry
     * of the same upload after the service restarted mid-re-check resumes it. The data is sent
     * in 32 KiB messages; the service bounds the total ({@link LedgerServer.Builder#disputeLimits}).
     *
     * @param hold    the claimed hold
     * @param record  the dispute record of the claimed receipt
     * @param inputs  every input of the job, by name
     * @param outputs the outputs the provider delivered, by name
     * @param timeout how long one try (upload and re-check) may take, 1 s to 10 minutes
     * @return the operations applied: the dispute, the void, and the slash if there was one
     * @throws InvalidArgumentException on null or a timeout out of range
     */
    public CompletableFuture<List<Applied>> dispute(OperationKey hold, dev.depin.job.DisputeRecord record,
                                                    java.util.Map<String, java.nio.ByteBuffer> inputs,
                                                    java.util.Map<String, java.nio.ByteBuffer> outputs, Duration timeout) {
        InvalidArgumentException.requireNonNull(hold, "hold key");
        InvalidArgumentException.requireNonNull(record, "dispute record");
        return dispute(hold, record.toJson(), inputs, outputs, timeout);
    }

    private CompletableFuture<List<Applied>> dispute(OperationKey hold, byte[] json,
                                                     java.util.Map<String, java.nio.ByteBuffer> inputs,
                                                     java.util.Map<String, java.nio.ByteBuffer> outputs, Duration timeout) {
        InvalidArgumentException.requireNonNull(hold, "hold key");
        InvalidArgumentException.requireNonNull(json, "dispute record");
        InvalidArgumentException.requireNonNull(inputs, "inputs");
        InvalidArgumentException.requireNonNull(outputs, "outputs");
        InvalidArgumentException.requireNonNull(timeout, "timeout");
        if (timeout.compareTo(Duration.ofSeconds(1)) < 0 || timeout.compareTo(Duration.ofMinutes(10)) > 0) {
            throw new InvalidArgumentException("dispute timeout " + timeout + " must be 1 s to 10 minutes");
        }
        dev.depin.grpc.internal.wire.DisputeStart.Builder start = dev.depin.grpc.internal.wire.DisputeStart.newBuilder()
                .setHold(hold.value()).setRecordBytes(json.length);
        List<java.nio.ByteBuffer> parts = new ArrayList<>();
        parts.add(java.nio.ByteBuffer.wrap(json));
        inputs.forEach((name, b) -> {
            start.addInputs(dev.depin.grpc.internal.wire.DisputePart.newBuilder().setName(name).setBytes(b.remaining()));
            parts.add(b.duplicate());
        });
        outputs.forEach((name, b) -> {
            start.addOutputs(dev.depin.grpc.internal.wire.DisputePart.newBuilder().setName(name).setBytes(b.remaining()));
            parts.add(b.duplicate());
        });
        dev.depin.grpc.internal.wire.DisputeChunk first = dev.depin.grpc.internal.wire.DisputeChunk.newBuilder()
                .setStart(start).build();
        return unary((stub, obs) -> {
            StreamObserver<dev.depin.grpc.internal.wire.DisputeChunk> up =
                    stub.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS).dispute(obs);
            up.onNext(first);
            for (java.nio.ByteBuffer part : parts) {
                java.nio.ByteBuffer b = part.duplicate();
                while (b.hasRemaining()) {
                    java.nio.ByteBuffer slice = b.slice();
                    int n = Math.min(DISPUTE_CHUNK, slice.remaining());
                    slice.limit(n);
                    b.position(b.position() + n);
                    up.onNext(dev.depin.grpc.internal.wire.DisputeChunk.newBuilder()
                            .setData(dev.depin.grpc.internal.wire.DisputeData.newBuilder().setData(ByteString.copyFrom(slice)))
                            .build());
                }
            }
            up.onCompleted();
        }, (dev.depin.grpc.internal.wire.DisputeReply r) -> {
            List<Applied> out = new ArrayList<>();
            r.getAppliedList().forEach(a -> out.add(LedgerWire.applied(a)));
            return out;
        });
    }

    /**
     * {@link #dispute(OperationKey, dev.depin.job.DisputeRecord, java.util.Map, java.util.Map, Duration)}
     * with this client's call timeout, at least 2 minutes, for each try.
     *
     * @param hold    the claimed hold
     * @param record  the dispute record of the claimed receipt
     * @param inputs  every input of the job, by name
     * @param outputs the outputs the provider delivered, by name
     * @return the operations applied: the dispute, the void, and the slash if there was one
     * @throws InvalidArgumentException on null
     */
    public CompletableFuture<List<Applied>> dispute(OperationKey hold, dev.depin.job.DisputeRecord record,
                                                    java.util.Map<String, java.nio.ByteBuffer> inputs,
                                                    java.util.Map<String, java.nio.ByteBuffer> outputs) {
        InvalidArgumentException.requireNonNull(record, "dispute record");
        return dispute(hold, record.toJson(), inputs, outputs);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Sent as {@link #dispute(OperationKey, dev.depin.job.DisputeRecord, java.util.Map, java.util.Map)}
     * sends it; the service parses and re-checks the record.
     */
    @Override
    public CompletableFuture<List<Applied>> dispute(OperationKey hold, byte[] record,
                                                    java.util.Map<String, java.nio.ByteBuffer> inputs,
                                                    java.util.Map<String, java.nio.ByteBuffer> outputs) {
        return dispute(hold, record, inputs, outputs, Duration.ofMillis(Math.min(Duration.ofMinutes(10).toMillis(),
                Math.max(callTimeoutMs, Duration.ofMinutes(2).toMillis()))));
    }

    /**
     * Closes the connection; later calls, and operations not yet answered, fail with
     * {@link LedgerFailureException} (an operation may still have applied: a new client's retry
     * with its key returns its result). Idempotent.
     */
    @Override
    public void close() {
        List<Pending> dropped;
        synchronized (lock) {
            closed = true;
            dropped = new ArrayList<>(queued);
            queued.clear();
        }
        timer.shutdownNow();
        dropped.addAll(pausing);
        for (Pending p : dropped) {
            pausing.remove(p);
            fail(p, closedFailure());
        }
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "RemoteSettlement[" + address + ", ledger " + ledgerKey.nodeId().shortId() + "]";
    }

    private LedgerFailureException closedFailure() {
        return new LedgerFailureException("the settlement client for " + address + " is closed: build a new one");
    }

    // ---- batches --------------------------------------------------------------------

    /** An operation on its way: its wire forms, its caller's future, and its tries so far. */
    private final class Pending {
        final Operation operation;
        /** Its binary form; null once the service is known to have none (then its JSON is sent). */
        private WireOperation wire;
        private byte[] json;
        final CompletableFuture<Applied> future = new CompletableFuture<>();
        int attempt = 1;
        /**
         * The bytes it is counted for while waiting: three times its binary form's (room for its
         * JSON, about twice that, should the service turn out to have no ApplyOperations), or
         * its JSON's where that is what it carries.
         */
        final int bytes;
        /** Counted in the client's waiting operations and bytes; guarded by {@link #lock}. */
        boolean counted;

        Pending(Operation operation) {
            this.operation = operation;
            if (binary) {
                wire = LedgerWire.wire(operation);
                // Its JSON is about twice its binary size; Operation bounds both (4 KiB each).
                bytes = Math.max(wire.getSerializedSize(), 1) * 3;
            } else {
                json = operation.toJson();
                bytes = json.length;
            }
        }

        WireOperation wire() {
            if (wire == null) {
                wire = LedgerWire.wire(operation);
            }
            return wire;
        }

        byte[] json() {
            if (json == null) {
                json = operation.toJson();
                wire = null; // sent as JSON from now on (a service without ApplyOperations)
            }
            return json;
        }

        /** Bytes it adds to a call in the form the next call will carry, with the field's tag and length. */
        int size() {
            return (binary ? wire().getSerializedSize() : json().length) + 4;
        }
    }

    private void enqueue(Pending p) {
        synchronized (lock) {
            if (!closed) {
                queued.add(p);
                p = null;
            }
        }
        if (p != null) {
            fail(p, closedFailure());
            return;
        }
        pump();
    }

    /** Sends what waits, while fewer than {@link #BATCHES_IN_FLIGHT} calls are out. */
    private void pump() {
        while (true) {
            List<Pending> batch = new ArrayList<>();
            synchronized (lock) {
                if (closed || queued.isEmpty() || batchesInFlight >= BATCHES_IN_FLIGHT) {
                    return;
                }
                int bytes = 0;
                for (Pending p; batch.size() < perCall && (p = queued.peek()) != null; ) {
                    bytes += p.size();
                    if (!batch.isEmpty() && bytes > BATCH_BYTES) {
                        break;
                    }
                    batch.add(queued.poll());
                }
                batchesInFlight++;
            }
            send(batch);
        }
    }

    private void send(List<Pending> batch) {
        if (unbatched) {
            batchDone();
            batch.forEach(this::alone);
            return;
        }
        boolean inBinary = binary;
        StreamObserver<ApplyBatchReply> observer = new StreamObserver<>() {
            private ApplyBatchReply reply;
            private int replies;

            @Override
            public void onNext(ApplyBatchReply value) {
                reply = value;
                replies++;
            }

            @Override
            public void onError(Throwable t) {
                Status s = Status.fromThrowable(t);
                if (s.getCode() == Status.Code.UNIMPLEMENTED && inBinary) {
                    // a service without ApplyOperations: JSON batches from now on; these go again
                    // first, repacked (their JSON is larger than their binary form)
                    binary = false;
                    boolean requeued = false;
                    synchronized (lock) {
                        if (!closed) {
                            for (int i = batch.size() - 1; i >= 0; i--) {
                                queued.addFirst(batch.get(i));
                            }
                            requeued = true;
                        }
                    }
                    if (!requeued) {
                        batch.forEach(p -> fail(p, closedFailure()));
                    }
                    batchDone();
                    return;
                }
                batchDone();
                if (s.getCode() == Status.Code.UNIMPLEMENTED && !isClosed()) {
                    unbatched = true; // a service without ApplyBatch: each operation alone from now on
                    batch.forEach(RemoteSettlement.this::alone);
                    return;
                }
                for (Pending p : batch) {
                    failed(p, t);
                }
            }

            @Override
            public void onCompleted() {
                if (replies != 1 || reply.getResultsCount() != batch.size()) {
                    batchDone();
                    LedgerFailureException e = new LedgerFailureException("settlement service " + address + " answered "
                            + batch.size() + " operations with " + (replies != 1 ? replies + " messages"
                            : reply.getResultsCount() + " results") + ": it is not a sound depin ledger service");
                    batch.forEach(p -> fail(p, e));
                    return;
                }
                // The call's place among the calls in flight stays taken while its answer is
                // settled: what the callers apply from their callbacks (a hold's post) then waits
                // for the next call together, instead of each operation taking a place freed by
                // this answer in a call of its own. A callback that blocks (on another operation
                // of this client, say) holds the place SETTLE_HOLD (5 ms) at most: the timer frees it.
                SlotRelease slot = new SlotRelease();
                ScheduledFuture<?> guard = null;
                try {
                    guard = timer.schedule(slot, settleHoldNanos, TimeUnit.NANOSECONDS);
                } catch (java.util.concurrent.RejectedExecutionException closing) {
                    slot.run(); // closing: nothing is worth holding the place for
                }
                try {
                    // the holds of one certified batch come side by side: each shares the statement
                    // object rebuilt for the one before it, so that the statement is not hashed again
                    HoldCertificate sameBatch = null;
                    for (int i = 0; i < batch.size(); i++) {
                        HoldCertificate c = settle(batch.get(i), reply.getResults(i), sameBatch);
                        if (c != null) {
                            sameBatch = c;
                        }
                    }
                } finally {
                    if (guard != null) {
                        guard.cancel(false);
                    }
                    slot.run();
                }
            }
        };
        try {
            if (inBinary) {
                OperationBatch.Builder req = OperationBatch.newBuilder();
                for (Pending p : batch) {
                    req.addOperations(p.wire());
                }
                async.withDeadlineAfter(callTimeoutMs, TimeUnit.MILLISECONDS).applyOperations(req.build(), observer);
            } else {
                ApplyBatchRequest.Builder req = ApplyBatchRequest.newBuilder().setOmitEcho(true);
                for (Pending p : batch) {
                    req.addOperationJson(ByteString.copyFrom(p.json()));
                }
                async.withDeadlineAfter(callTimeoutMs, TimeUnit.MILLISECONDS).applyBatch(req.build(), observer);
            }
        } catch (RuntimeException e) {
            batchDone();
            LedgerFailureException f = new LedgerFailureException("cannot call settlement service " + address + ": "
                    + e.getMessage(), e);
            batch.forEach(p -> fail(p, f));
        }
    }

    /** Frees a call's place among the calls in flight once, whoever comes first (its settling's end, or the timer). */
    private final class SlotRelease extends java.util.concurrent.atomic.AtomicBoolean implements Runnable {
        private static final long serialVersionUID = 1L;

        @Override
        public void run() {
            if (compareAndSet(false, true)) {
                batchDone();
            }
        }
    }

    /** A call came back: another may go. */
    private void batchDone() {
        synchronized (lock) {
            batchesInFlight--;
        }
        pump();
    }

    /** @return the checked answer's hold certificate, or null (none, or refused) */
    private HoldCertificate settle(Pending p, ApplyResult result, HoldCertificate sameBatch) {
        if (result.hasRefused()) {
            failed(p, refusal(result.getRefused()));
            return null;
        }
        Applied a;
        try {
            a = checked(p.operation, LedgerWire.applied(result.getApplied(), p.operation, ledgerKey.nodeId(), sameBatch));
        } catch (LedgerFailureException e) {
            fail(p, e);
            return null;
        } catch (RuntimeException e) {
            fail(p, new LedgerFailureException("settlement service " + address
                    + " sent an answer that does not parse (" + e.getMessage() + "): it is not a sound depin ledger "
                    + "service", e));
            return null;
        }
        done(p, a);
        return a.certificate().orElse(null);
    }

    /** A refusal in a batch as the status the same operation sent alone would have failed with. */
    private StatusRuntimeException refusal(Refusal r) {
        Status code = Status.fromCodeValue(r.getCode());
        if (code.isOk()) {
            code = Status.INTERNAL.withDescription("settlement service " + address + " refused an operation with "
                    + "status OK: it is not a sound depin ledger service");
            return code.asRuntimeException();
        }
        Metadata trailers = new Metadata();
        if (!r.getReason().isEmpty()) {
            trailers.put(LedgerWire.REASON, r.getReason());
        }
        return code.withDescription(r.getMessage().isEmpty() ? null : r.getMessage()).asRuntimeException(trailers);
    }

    /** A try of {@code p} failed: retried after a pause when that may help and tries are left, else its caller is told. */
    private void failed(Pending p, Throwable t) {
        Status s = Status.fromThrowable(t);
        if (!isClosed() && p.attempt < retry.maxAttempts() && transientFailure(s)) {
            long pause = retry.backoffMillis(p.attempt, ThreadLocalRandom.current().nextDouble());
            p.attempt++;
            pausing.add(p);
            try {
                timer.schedule(() -> Reconnect.thenRun(channel, () -> {
                    if (pausing.remove(p)) {
                        enqueue(p);
                    }
                }), pause, TimeUnit.MILLISECONDS);
                return;
            } catch (java.util.concurrent.RejectedExecutionException closing) {
                if (!pausing.remove(p)) {
                    return; // close() failed it
                }
                p.attempt--;
            }
        }
        RuntimeException e = t instanceof StatusRuntimeException sre ? LedgerWire.fromStatus(sre, address)
                : new LedgerFailureException("settlement service " + address + " failed: " + t, t);
        if (e instanceof LedgerFailureException && p.attempt > 1) {
            e = new LedgerFailureException(e.getMessage() + " (" + p.attempt + " tries)", e.getCause());
        }
        fail(p, e);
    }

    // ---- calls with retries ---------------------------------------------------------

    private interface Call<M> {
        void start(LedgerGrpc.LedgerStub stub, StreamObserver<M> observer);
    }

    private <M, T> CompletableFuture<T> unary(Call<M> call, Function<M, T> decode) {
        CompletableFuture<T> f = new CompletableFuture<>();
        attempt(call, 1, f, (List<M> answers) -> {
            if (answers.size() != 1) {
                throw new LedgerFailureException("settlement service " + address + " sent " + answers.size()
                        + " answers to one request");
            }
            return decode.apply(answers.get(0));
        });
        return f;
    }

    private <M, T> CompletableFuture<List<T>> listing(Call<M> call, java.util.function.BiConsumer<M, Consumer<T>> each) {
        CompletableFuture<List<T>> f = new CompletableFuture<>();
        attempt(call, 1, f, (List<M> pages) -> {
            List<T> out = new ArrayList<>();
            for (M page : pages) {
                each.accept(page, out::add);
            }
            return out;
        });
        return f;
    }

    private <M, T> void attempt(Call<M> call, int attempt, CompletableFuture<T> f, Function<List<M>, T> decode) {
        if (isClosed()) {
            f.completeExceptionally(closedFailure());
            return;
        }
        List<M> answers = new ArrayList<>(1);
        StreamObserver<M> observer = new StreamObserver<>() {
            @Override
            public void onNext(M value) {
                answers.add(value);
            }

            @Override
            public void onError(Throwable t) {
                Status s = Status.fromThrowable(t);
                if (!isClosed() && attempt < retry.maxAttempts() && transientFailure(s)) {
                    long pause = retry.backoffMillis(attempt, ThreadLocalRandom.current().nextDouble());
                    try {
                        timer.schedule(() -> Reconnect.thenRun(channel, () -> attempt(call, attempt + 1, f, decode)),
                                pause, TimeUnit.MILLISECONDS);
                        return;
                    } catch (java.util.concurrent.RejectedExecutionException closing) {
                        // closed meanwhile: fail below
                    }
                }
                RuntimeException e = t instanceof StatusRuntimeException sre ? LedgerWire.fromStatus(sre, address)
                        : new LedgerFailureException("settlement service " + address + " failed: " + t, t);
                if (e instanceof LedgerFailureException && attempt > 1) {
                    e = new LedgerFailureException(e.getMessage() + " (" + attempt + " tries)", e.getCause());
                }
                f.completeExceptionally(e);
            }

            @Override
            public void onCompleted() {
                try {
                    f.complete(decode.apply(answers));
                } catch (LedgerFailureException e) {
                    f.completeExceptionally(e);
                } catch (RuntimeException e) {
                    f.completeExceptionally(new LedgerFailureException("settlement service " + address
                            + " sent an answer that does not parse (" + e.getMessage() + "): it is not a sound depin "
                            + "ledger service", e));
                }
            }
        };
        try {
            call.start(async.withDeadlineAfter(callTimeoutMs, TimeUnit.MILLISECONDS), observer);
        } catch (RuntimeException e) {
            f.completeExceptionally(new LedgerFailureException("cannot call settlement service " + address + ": "
                    + e.getMessage(), e));
        }
    }

    private boolean isClosed() {
        synchronized (lock) {
            return closed;
        }
    }

    private static boolean transientFailure(Status s) {
        return switch (s.getCode()) {
            case UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED -> true;
            default -> false;
        };
    }

    /** A read's result, or its failure thrown as is (not wrapped). */
    private static <T> T join(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /** Options of a {@link RemoteSettlement}. */
    public static final class Builder {
        private final NodeKeyPair self;
        private final String address;
        private final NodePublicKey ledgerKey;
        private RetryPolicy retry = DEFAULT_RETRY;
        private Duration callTimeout = Duration.ofSeconds(10);
        private int perCall = DEFAULT_OPERATIONS_PER_CALL;
        private boolean binary = true;
        private int maxWaitingOperations = DEFAULT_MAX_WAITING_OPERATIONS;
        private long maxWaitingBytes = DEFAULT_MAX_WAITING_BYTES;
        private Duration settleHold = SETTLE_HOLD;

        private Builder(NodeKeyPair self, String address, NodePublicKey ledgerKey) {
            this.self = self;
            this.address = address;
            this.ledgerKey = ledgerKey;
        }

        /** For the tests: the longest a call's place stays taken while its answer is settled. */
        Builder settleHold(Duration hold) {
            this.settleHold = hold;
            return this;
        }

        /**
         * @param retry how a call is retried while the service is unavailable, busy or slow
         *              (default {@link #DEFAULT_RETRY})
         * @return this builder
         * @throws InvalidArgumentException on null
         */
        public Builder retry(RetryPolicy retry) {
            this.retry = InvalidArgumentException.requireNonNull(retry, "retry policy");
            return this;
        }

        /**
         * @param timeout the deadline of one try (default 10 s)
         * @return this builder
         * @throws InvalidArgumentException unless 1 ms to 10 minutes
         */
        public Builder callTimeout(Duration timeout) {
            InvalidArgumentException.requireNonNull(timeout, "call timeout");
            if (timeout.toMillis() < 1 || timeout.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new InvalidArgumentException("call timeout " + timeout + " must be 1 ms to 10 minutes");
            }
            this.callTimeout = timeout;
            return this;
        }

        /**
         * @param max the most operations sent in one call (default
         *            {@value RemoteSettlement#DEFAULT_OPERATIONS_PER_CALL}); 1 sends each operation
         *            in a call of its own. Keep {@value RemoteSettlement#BATCHES_IN_FLIGHT} times
         *            this within the service's calls in flight per key
         *            ({@link LedgerServer.Builder#maxInFlightPerKey}, default 4,096), or the
         *            excess is refused as busy and retried after a pause.
         * @return this builder
         * @throws InvalidArgumentException unless 1 to {@value LedgerServer#MAX_BATCH_OPERATIONS}
         */
        public Builder maxOperationsPerCall(int max) {
            if (max < 1 || max > LedgerServer.MAX_BATCH_OPERATIONS) {
                throw new InvalidArgumentException("operations per call " + max + " must be 1 to "
                        + LedgerServer.MAX_BATCH_OPERATIONS);
            }
            this.perCall = max;
            return this;
        }

        /**
         * @param on whether batches go in the operations' binary form ({@code ApplyOperations}, the
         *           default; a service without it is sent JSON from its first refusal on) or always
         *           as JSON ({@code ApplyBatch}, as clients did before the binary form)
         * @return this builder
         */
        public Builder binaryOperations(boolean on) {
            this.binary = on;
            return this;
        }

        /**
         * Bounds what the client holds of operations applied and not yet answered (each is kept
         * until its answer: a hold's certificate is rebuilt from the hold sent), whether they wait
         * for a call, wait out a retry's pause or are in a call. An operation beyond either bound
         * fails at once with {@link LedgerFailureException}; one operation is always admitted
         * when none waits.
         *
         * @param operations the most operations (default {@value RemoteSettlement#DEFAULT_MAX_WAITING_OPERATIONS})
         * @param bytes      the most bytes of their encoded forms (default 32 MiB): a binary
         *                   operation counts three times its binary size, as it may fall back to
         *                   its JSON, a JSON one its JSON's size
         * @return this builder
         * @throws InvalidArgumentException unless operations is 1 to 2^24 and bytes 1 KiB to 1 GiB
         */
        public Builder maxWaiting(int operations, long bytes) {
            if (operations < 1 || operations > 1 << 24) {
                throw new InvalidArgumentException("waiting operations " + operations + " must be 1 to " + (1 << 24));
            }
            if (bytes < 1 << 10 || bytes > 1L << 30) {
                throw new InvalidArgumentException("waiting bytes " + bytes + " must be 1 KiB to 1 GiB");
            }
            this.maxWaitingOperations = operations;
            this.maxWaitingBytes = bytes;
            return this;
        }

        /**
         * Makes the client; it connects on its first call, and reconnects by itself.
         *
         * @return the client
         */
        public RemoteSettlement connect() {
            return new RemoteSettlement(this);
        }
    }
}
