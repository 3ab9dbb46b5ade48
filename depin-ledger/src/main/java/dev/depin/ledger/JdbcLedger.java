package dev.depin.ledger;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.crypto.Sha256;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.HoldCertificate;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.OperationKey;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.StatementLine;
import dev.depin.settlement.spi.Settlement;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A durable double-entry {@link Settlement} over JDBC: an SQLite file by default
 * (WAL journal, {@code synchronous=FULL}), or PostgreSQL, through the same code.
 *
 * <p>One writer thread owns the write connection and the ledger's live state in memory (every
 * balance, every open hold, the most recent {@link Builder#recentKeys(int)} results), loaded
 * from the database when the ledger opens. It takes every queued operation (up to
 * {@link Builder#maxBatch(int)}; the operations of one {@link #applyAll} call count as one unit,
 * never split between batches; units queued by different sources, {@link #applyAll(List, String)},
 * are taken in turns, one unit per source and round, each source in its own order), checks each
 * in memory in order, writes the batch's rows with
 * JDBC batch statements in one transaction, commits once, and only then completes the callers'
 * futures: this is group commit, so many operations share one fsync (and, on PostgreSQL, a
 * handful of round trips), and a future that completed normally is durable. An operation that
 * memory would refuse or cannot judge is decided by the database inside the same transaction,
 * so refusals are the database's; if memory turns out stale (another writer, an old key
 * retried) or the commit fails, memory is rolled back and the batch is written again one
 * operation at a time against the database. A refused operation changes nothing.
 *
 * <p>The invariants are enforced in the transaction, not only checked in Java: CHECK
 * constraints keep every account that is not allowed credit at {@code posted - held >= 0}
 * and every hold amount positive; UNIQUE constraints apply each key once and resolve each
 * hold once; a hold's state moves from {@code OPEN} by a conditional update that only one
 * transaction can win. Every balance change is written as a debit and a credit of the same
 * amount in the same transaction, so the sum of posted balances stays zero;
 * {@link #audit()} recomputes every balance from the entries to prove it.
 *
 * <p><b>Holds expire in the ledger itself.</b> An expiry thread looks every
 * {@link Builder#expirySweep(Duration)} (default 250 ms) for open holds whose expiry has passed
 * by the ledger's clock and applies an {@link Operation.Expire} to each, under the key
 * {@link #expiryKey(OperationKey)}, through the same writer queue as every other operation: so
 * an expiry is durable, applies once (an identical retry by a second ledger on the same
 * database returns the first), and races safely with a late post or void, because the writer
 * applies them one after the other and a hold leaves {@code OPEN} once; the loser is refused
 * ({@link dev.depin.settlement.SettlementException} ({@code HOLD_EXPIRED}) for a post after the expiry,
 * {@link dev.depin.settlement.SettlementException} ({@code HOLD_RESOLVED}) for a void) and changes nothing. A buyer
 * killed with its jobs escrowed does not need to come back: its holds are released within the
 * sweep interval and a commit of their expiry. Keys that begin with {@value #RESERVED_PREFIX} are
 * the ledger's own and refused from callers.
 *
 * <p><b>Claims after a dispute window.</b> A hold's payee may {@link Operation.Claim claim} it
 * before its expiry; the claimed hold then no longer expires and can no longer be voided (nor
 * posted for less than the claim): the same thread posts the claim under
 * {@link #claimPostKey(OperationKey)} once {@link Builder#disputeWindow(Duration)} has passed
 * since it was filed, even after the hold's own expiry, unless the payer
 * {@link Operation.Dispute disputed} it first. A disputed hold is frozen for its re-check: it
 * waits for a post or a void until {@link Builder#recheckWindow(Duration)} past its window's
 * end, its re-check deadline; from then on it is refused a void or a post for less than the
 * claim ({@code DISPUTE_WINDOW_CLOSED}) and the same thread posts the claim under the same key,
 * so a dispute whose re-check never decided cannot hold the money forever. The claim and its
 * window end are rows in the database, so a ledger restarted after the window or the deadline
 * posts the claim at its first sweep, once.
 *
 * <p><b>Hold certificates.</b> A ledger built with {@link Builder#certifyHolds(NodeKeyPair)}
 * answers every hold that names a job spec ({@link Operation.Hold#specHash()}) with a
 * {@link HoldCertificate} signed by its key, in {@link Applied#certificate()}, once the hold is
 * durable. Certificates are signed on a thread of their own, never on the writer thread, in
 * batches ({@link HoldCertificate#issueBatch}, version 2): each time that thread is free it
 * signs one RFC 6962 root for every hold that became durable meanwhile (up to
 * {@value HoldCertificate#MAX_BATCH}), so a busy ledger signs once per batch, not once per hold;
 * the holds of one group commit reach it together, so they share a root (one signature, and one
 * verification for a client that checks them).
 * An identical retry gets a certificate for the same hold (from another batch).
 *
 * <pre>{@code
 * try (JdbcLedger ledger = JdbcLedger.builder().sqlite(Path.of("ledger.db")).open()) {
 *     ledger.open(AccountId.of("buyer:acme"), AccountKind.BUYER, false).join();
 * }
 * }</pre>
 */
public final class JdbcLedger implements Settlement {
    /** The prefix of the keys the ledger applies operations under itself; refused from callers. */
    public static final String RESERVED_PREFIX = "ledger:";
    private static final String EXPIRY_PREFIX = RESERVED_PREFIX + "expire:";
    private static final String CLAIM_PREFIX = RESERVED_PREFIX + "claim:";
    /** The dispute window a ledger gives unless its builder says otherwise: 10 minutes. */
    public static final Duration DEFAULT_DISPUTE_WINDOW = Duration.ofMinutes(10);
    /** How long after a disputed claim's window end its re-check may decide it unless the builder says otherwise: 10 minutes. */
    public static final Duration DEFAULT_RECHECK_WINDOW = Duration.ofMinutes(10);
    /** The most the writer waits for more before a commit of operations from peers unless the builder says otherwise: 4 ms. */
    public static final Duration DEFAULT_GATHER = Duration.ofMillis(4);
    /** The most expired holds one sweep applies before it looks again. */
    private static final int SWEEP_BATCH = 1024;
    private static final Logger LOG = LoggerFactory.getLogger(JdbcLedger.class);
    private static final Object STOP = new Object();
    /**
     * The source of what this process's own callers apply ({@link #apply}, {@link #open},
     * {@link #applyAll(List)}) and of the ledger's own expiries and posts of claims: one FIFO, so
     * that their order is as they were called.
     */
    private static final Object LOCAL = new Object();

    private final Store writeStore;
    private final Store readStore;
    private final Writer writer;
    private final int maxBatch;
    private final WriterQueue queue = new WriterQueue(LOCAL);
    private final long gatherNanos;
    /** Operations in the writer's last batch, and how long it took to write and commit it; the writer's own. */
    private int lastBatchOps;
    private long lastCommitNanos;
    private final Thread writerThread;
    private final Clock clock;
    private final long sweepMillis;
    private final Thread sweeperThread;
    private volatile boolean closed;
    private volatile String sweepFailure;
    private final NodeKeyPair certifier;
    private final HoldCertifier signer;

    private JdbcLedger(Builder b) {
        this.maxBatch = b.maxBatch;
        this.gatherNanos = b.gather.toNanos();
        Connection w = null;
        Connection r = null;
        try {
            w = b.writeConnection.apply(b.connect());
            r = b.connect();
            if (b.dialect == Dialect.SQLITE) {
                try (Statement s = w.createStatement()) {
                    // 32 MiB of cache holds a batch's pages without spilling them into the log
                    // before the commit; a log of up to 8,192 pages (32 MiB) before the commit
                    // that copies it into the file means that a page changed in many batches
                    // is copied once, not once per batch. Neither changes what is synced when.
                    s.execute("PRAGMA cache_size=-32768");
                    s.execute("PRAGMA wal_autocheckpoint=8192");
                }
            }
            r.setTransactionIsolation(b.dialect == Dialect.SQLITE
                    ? Connection.TRANSACTION_SERIALIZABLE : Connection.TRANSACTION_REPEATABLE_READ);
            this.writeStore = new Store(w, b.dialect, b.disputeWindow.toMillis(), b.recheckWindow.toMillis());
            this.writeStore.initialise();
            this.readStore = new Store(r, b.dialect, b.disputeWindow.toMillis(), b.recheckWindow.toMillis());
            this.writer = new Writer(writeStore, b.dialect, b.clock, b.recentKeys);
            this.writer.load();
        } catch (SQLException | RuntimeException e) {
            closeQuietly(w);
            closeQuietly(r);
            throw new LedgerFailureException("cannot open the ledger at " + b.description + ": " + e.getMessage()
                    + " (check the path or URL, the credentials and that the database is reachable)", e);
        }
        this.clock = b.clock;
        this.certifier = b.certifier;
        this.signer = b.certifier == null ? null : new HoldCertifier(b.certifier);
        this.sweepMillis = b.expirySweep.toMillis();
        this.writerThread = new Thread(this::writeLoop, "depin-ledger-writer");
        this.writerThread.setDaemon(true);
        this.writerThread.start();
        if (sweepMillis > 0) {
            this.sweeperThread = new Thread(this::sweepLoop, "depin-ledger-expiry");
            this.sweeperThread.setDaemon(true);
            this.sweeperThread.start();
        } else {
            this.sweeperThread = null;
        }
    }

    /**
     * The key under which the ledger expires a hold itself: {@code ledger:expire:<hold key>}, or
     * {@code ledger:expire:sha256:<hex of the hold key>} where that would exceed 200 characters.
     *
     * @param hold the hold's key
     * @return the key of its expiry by the ledger
     * @throws InvalidArgumentException if {@code hold} is null
     */
    public static OperationKey expiryKey(OperationKey hold) {
        InvalidArgumentException.requireNonNull(hold, "hold key");
        String key = EXPIRY_PREFIX + hold.value();
        return OperationKey.of(key.length() <= 200 ? key
                : EXPIRY_PREFIX + "sha256:" + Sha256.hex(hold.value().getBytes(StandardCharsets.US_ASCII)));
    }

    /**
     * The key under which the ledger posts a claimed hold itself when its dispute window ends:
     * {@code ledger:claim:<hold key>}, or {@code ledger:claim:sha256:<hex of the hold key>} where
     * that would exceed 200 characters.
     *
     * @param hold the hold's key
     * @return the key of the ledger's post of its claim
     * @throws InvalidArgumentException if {@code hold} is null
     */
    public static OperationKey claimPostKey(OperationKey hold) {
        InvalidArgumentException.requireNonNull(hold, "hold key");
        String key = CLAIM_PREFIX + hold.value();
        return OperationKey.of(key.length() <= 200 ? key
                : CLAIM_PREFIX + "sha256:" + Sha256.hex(hold.value().getBytes(StandardCharsets.US_ASCII)));
    }

    /**
     * A ledger in an SQLite file with the defaults (group commit of up to 4,096
     * operations, the system clock).
     *
     * @param file the database file; created with its schema if missing
     * @return the open ledger
     * @throws LedgerFailureException if the file cannot be opened
     */
    public static JdbcLedger sqlite(Path file) {
        return builder().sqlite(file).open();
    }

    /** @return a builder; name a database with {@link Builder#sqlite} or {@link Builder#postgres} */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public CompletableFuture<Balance> open(AccountId account, AccountKind kind, boolean allowCredit) {
        InvalidArgumentException.requireNonNull(account, "account");
        InvalidArgumentException.requireNonNull(kind, "account kind");
        if (kind == AccountKind.ISSUER || kind == AccountKind.BURN) {
            throw new InvalidArgumentException("accounts of kind " + kind
                    + " are the ledger's own (" + AccountId.ISSUER + ", " + AccountId.BURN + "): open another kind");
        }
        return submit(new Writer.OpenRequest(account, kind, allowCredit)).future;
    }

    @Override
    public CompletableFuture<Applied> apply(Operation operation) {
        InvalidArgumentException.requireNonNull(operation, "operation");
        refuseReserved(operation);
        Writer.OpRequest request = new Writer.OpRequest(operation);
        CompletableFuture<Applied> out = certified(request);
        submit(request);
        return out;
    }

    /**
     * Applies the operations as one unit of the writer's queue: the writer takes them into one
     * group commit (with whatever else is queued), never a part of them in one commit and the
     * rest in the next, so their holds also share one certified root. Each is applied, refused
     * and answered as {@link #apply} would; what {@code apply} throws (a null operation, a key
     * with {@value #RESERVED_PREFIX}) fails that operation's future.
     *
     * @param operations the operations, at most a few thousand (they join one group commit)
     * @return one future per operation, in the same order
     * @throws InvalidArgumentException if {@code operations} is null
     */
    @Override
    public List<CompletableFuture<Applied>> applyAll(List<Operation> operations) {
        return applyAll(operations, LOCAL);
    }

    /**
     * As {@link #applyAll(List)}, queued in {@code source}'s turn: the writer takes the units
     * of different sources in turns (one unit of each source that has one queued, then the
     * next round), so a source with a long backlog (a peer sending big batches) delays another
     * source's operations by at most one of its units per commit, not by its whole backlog.
     * The units of one source keep their order, as do this process's own calls (one source).
     *
     * @param operations the operations, at most a few thousand (they join one group commit)
     * @param source     who they come from, such as a peer's address; compared with {@code equals}
     * @return one future per operation, in the same order
     * @throws InvalidArgumentException if an argument is null
     */
    @Override
    public List<CompletableFuture<Applied>> applyAll(List<Operation> operations, String source) {
        InvalidArgumentException.requireNonNull(source, "source");
        return applyAll(operations, (Object) source);
    }

    private List<CompletableFuture<Applied>> applyAll(List<Operation> operations, Object source) {
        InvalidArgumentException.requireNonNull(operations, "operations");
        List<CompletableFuture<Applied>> out = new ArrayList<>(operations.size());
        List<Writer.OpRequest> group = new ArrayList<>(operations.size());
        for (Operation op : operations) {
            try {
                InvalidArgumentException.requireNonNull(op, "operation");
                refuseReserved(op);
            } catch (InvalidArgumentException e) {
                out.add(CompletableFuture.failedFuture(e));
                continue;
            }
            Writer.OpRequest r = new Writer.OpRequest(op);
            group.add(r);
            out.add(certified(r));
        }
        if (!group.isEmpty()) {
            submit(source, new Group(group));
        }
        return out;
    }

    private static void refuseReserved(Operation operation) {
        if (operation.key().value().startsWith(RESERVED_PREFIX)) {
            throw new InvalidArgumentException("operation key " + operation.key() + " begins with " + RESERVED_PREFIX
                    + ", which is reserved for the ledger's own operations (expiries, posts of claims): use another key");
        }
    }

    /**
     * The request's future, followed by its hold certificate where the ledger certifies this
     * hold. Called before the request is queued, so that the certificate is asked for on the
     * writer's thread as the request completes, inside its group commit's {@link
     * HoldCertifier#gather()}: asked for after the writer completed it (a caller preempted
     * between queueing and asking, as a loaded machine does), the hold would be queued to the
     * certifier alone and signed under a root of its own.
     */
    private CompletableFuture<Applied> certified(Writer.OpRequest request) {
        if (certifier != null && request.operation instanceof Operation.Hold h && h.specHash().isPresent()) {
            return request.future.thenCompose(a -> signer.certify(h).thenApply(a::withCertificate));
        }
        return request.future;
    }

    /** Operations queued for the writer as one unit ({@link #applyAll}). */
    private record Group(List<Writer.OpRequest> requests) {
    }

    /** @return the public key this ledger signs hold certificates with, if it was given one */
    public Optional<NodePublicKey> certificateKey() {
        return Optional.ofNullable(certifier).map(NodeKeyPair::publicKey);
    }

    /**
     * Expires every open, unclaimed hold whose expiry has passed by the ledger's clock, as the expiry
     * thread does every sweep interval, and waits until each expiry is durable or refused
     * (a hold resolved meanwhile by a post or void is left as that resolved it).
     *
     * @return how many holds this call expired
     * @throws LedgerFailureException if the ledger is closed, cannot be read, or cannot commit
     */
    public int expireDue() {
        int expired = 0;
        while (true) {
            List<OperationKey> due = read(() -> readStore.expiredHolds(clock.millis(), SWEEP_BATCH));
            List<Writer.OpRequest> requests = new ArrayList<>(due.size());
            for (OperationKey hold : due) {
                requests.add(submit(new Writer.OpRequest(new Operation.Expire(expiryKey(hold), hold))));
            }
            for (Writer.OpRequest r : requests) {
                // Refused means a post or void resolved the hold first, or another ledger expired
                // it under the same key: either way it is no longer open.
                if (awaitSwept(r)) {
                    expired++;
                }
            }
            if (due.size() < SWEEP_BATCH) {
                return expired;
            }
        }
    }

    /**
     * Posts every undisputed claim whose dispute window has ended by the ledger's clock, and
     * every disputed one whose re-check deadline has (see {@link Builder#recheckWindow}), for the
     * amount claimed, under {@link #claimPostKey(OperationKey)}, as the expiry thread does every
     * sweep interval, and waits until each post is durable or refused (a claim disputed, or a
     * hold posted or voided meanwhile, is left as that left it).
     *
     * @return how many claims this call posted
     * @throws LedgerFailureException if the ledger is closed, cannot be read, or cannot commit
     */
    public int postDueClaims() {
        int posted = 0;
        while (true) {
            List<Object[]> due = read(() -> readStore.dueClaims(clock.millis(), SWEEP_BATCH));
            List<Writer.OpRequest> requests = new ArrayList<>(due.size());
            for (Object[] claim : due) {
                OperationKey hold = (OperationKey) claim[0];
                requests.add(submit(new Writer.OpRequest(new Operation.Post(claimPostKey(hold), hold,
                        dev.depin.money.MicroUsd.ofMicros((Long) claim[1])))));
            }
            for (Writer.OpRequest r : requests) {
                if (awaitSwept(r)) {
                    posted++;
                }
            }
            if (due.size() < SWEEP_BATCH) {
                return posted;
            }
        }
    }

    /** @return true if applied, false if refused (resolved otherwise meanwhile); throws if the ledger failed */
    private static boolean awaitSwept(Writer.OpRequest r) {
        try {
            r.future.get();
            return true;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof LedgerFailureException failure) {
                throw failure;
            }
            if (!(cause instanceof SettlementException)) {
                throw new LedgerFailureException("could not apply " + r.operation.key() + ": " + cause, cause);
            }
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LedgerFailureException("interrupted while applying " + r.operation.key(), e);
        }
    }

    private void sweepLoop() {
        while (!closed) {
            try {
                Thread.sleep(sweepMillis);
            } catch (InterruptedException e) {
                if (closed) {
                    return;
                }
                continue;
            }
            try {
                expireDue();
                postDueClaims();
                if (sweepFailure != null) {
                    LOG.info("ledger expiry works again after: {}", sweepFailure);
                    sweepFailure = null;
                }
            } catch (LedgerFailureException e) {
                if (closed) {
                    return;
                }
                if (!e.getMessage().equals(sweepFailure)) {
                    LOG.warn("cannot expire holds (retrying every {} ms): {}", sweepMillis, e.getMessage());
                    sweepFailure = e.getMessage();
                }
            } catch (RuntimeException e) {
                LOG.error("the ledger's expiry thread failed (a bug; retrying every {} ms)", sweepMillis, e);
            }
        }
    }

    @Override
    public Balance balance(AccountId account) {
        InvalidArgumentException.requireNonNull(account, "account");
        return read(() -> readStore.balance(account));
    }

    @Override
    public List<Balance> balances() {
        return read(readStore::balances);
    }

    @Override
    public List<StatementLine> statement(AccountId account) {
        InvalidArgumentException.requireNonNull(account, "account");
        return read(() -> readStore.statement(account));
    }

    @Override
    public List<OpenHold> openHolds() {
        return read(readStore::openHolds);
    }

    @Override
    public java.util.Optional<dev.depin.settlement.HoldRecord> hold(OperationKey key) {
        InvalidArgumentException.requireNonNull(key, "hold key");
        return java.util.Optional.ofNullable(read(() -> readStore.hold(key)));
    }

    /**
     * Recomputes every balance and reservation from the entries and holds, and checks the
     * ledger's invariants.
     *
     * @return what was found; {@link LedgerAudit#violations()} is empty for a sound ledger
     * @throws LedgerFailureException if the ledger cannot be read
     */
    public LedgerAudit audit() {
        return read(readStore::audit);
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            queue.add(LOCAL, STOP);
        }
        boolean interrupted = false;
        if (sweeperThread != null) {
            sweeperThread.interrupt();
            while (sweeperThread.isAlive()) {
                try {
                    sweeperThread.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        while (writerThread.isAlive()) {
            try {
                writerThread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        List<Object> left = new ArrayList<>();
        queue.drain(left);
        for (Object o : left) {
            fail(o, new LedgerFailureException("the ledger is closed: open it again to apply operations"));
        }
        if (signer != null) {
            signer.stop(); // certificates of holds already applied are still signed
        }
        synchronized (readStore) {
            readStore.close();
        }
        writeStore.close();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** For the tests: how the writer's memory differs from the database, between two batches. */
    List<String> memoryDifferences() {
        Writer.Probe probe = new Writer.Probe();
        synchronized (this) {
            if (closed) {
                throw new LedgerFailureException("the ledger is closed");
            }
            queue.add(LOCAL, probe);
        }
        return probe.future.join();
    }

    /** Queues a request of this process's own callers; a closed ledger fails it at once. */
    private <R> R submit(R request) {
        return submit(LOCAL, request);
    }

    /** Queues a request, a {@link Group} of them or a probe in its source's turn; a closed ledger fails it at once. */
    private <R> R submit(Object source, R request) {
        synchronized (this) {
            if (!closed) {
                queue.add(source, request);
                return request;
            }
        }
        fail(request, new LedgerFailureException("the ledger is closed: open it again to apply operations"));
        return request;
    }

    private interface SqlRead<T> {
        T get() throws SQLException;
    }

    private <T> T read(SqlRead<T> body) {
        synchronized (readStore) {
            if (closed) {
                throw new LedgerFailureException("the ledger is closed: open it again to read it");
            }
            try {
                return body.get();
            } catch (SQLException e) {
                throw new LedgerFailureException("cannot read the ledger: " + e.getMessage(), e);
            } finally {
                readStore.endRead(); // each read is one snapshot; end it so the next sees new commits
            }
        }
    }

    private void writeLoop() {
        List<Object> batch = new ArrayList<>();
        boolean stop = false;
        // after close() queued STOP nothing more is queued: what others queued before it is written
        while (!stop || queue.size() > 0) {
            batch.clear();
            try {
                // up to maxBatch operations in the sources' turns, a group counted as its size
                // (a group is never split)
                int n = queue.take(maxBatch, JdbcLedger::size, batch);
                long window = n < maxBatch && queue.fromPeers()
                        ? gatherWindow(n, lastBatchOps, lastCommitNanos, gatherNanos) : 0;
                if (window > 0) {
                    // operations from the network while the ledger is busy: while more keep coming
                    // (none for a quarter of the window ends it), let them share this commit
                    n = queue.gather(n, maxBatch, System.nanoTime() + window, window / 4, JdbcLedger::size, batch);
                }
                lastBatchOps = n;
            } catch (InterruptedException e) {
                continue; // only close() ends the writer
            }
            if (batch.remove(STOP)) {
                stop = true;
            }
            List<Writer.Request> requests = new ArrayList<>(batch.size());
            List<Writer.Probe> probes = new ArrayList<>(0);
            for (Object o : batch) {
                if (o instanceof Writer.Probe) {
                    probes.add((Writer.Probe) o);
                } else if (o instanceof Group g) {
                    requests.addAll(g.requests());
                } else {
                    requests.add((Writer.Request) o);
                }
            }
            if (!requests.isEmpty()) {
                // the group's holds go to the certifier together: one signature for the group
                if (signer != null) {
                    signer.gather();
                }
                long started = System.nanoTime();
                try {
                    writer.write(requests);
                } finally {
                    lastCommitNanos = System.nanoTime() - started;
                    if (signer != null) {
                        signer.release();
                    }
                }
            }
            for (Writer.Probe p : probes) {
                try {
                    p.future.complete(writer.differences());
                } catch (SQLException | RuntimeException e) {
                    p.future.completeExceptionally(e);
                }
            }
        }
    }

    /**
     * How long the writer waits for more operations from peers before it commits what it took
     * ({@code taken} operations): nothing for a lone operation while the ledger is idle (the
     * batch before held one operation at most), so a lone operation is never delayed; otherwise
     * as long as the last commit took, at most {@code maxNanos}. Operations that came while the
     * last commit was written say the ledger is loaded, and then a commit that waits about as long
     * as one commit takes lets the calls answered meanwhile come back with their next operations
     * and share it: fewer, larger commits, each of which writes about the same pages whatever its
     * size (the hot leaves of the indexes by key and by account).
     *
     * @param taken           operations taken into this batch without waiting
     * @param lastBatch       operations in the batch before
     * @param lastCommitNanos how long the writer took to write and commit the batch before
     * @param maxNanos        the most it waits ({@link Builder#gather}); zero never waits
     * @return the nanoseconds to wait, zero to commit at once
     */
    static long gatherWindow(int taken, int lastBatch, long lastCommitNanos, long maxNanos) {
        if (maxNanos <= 0 || (taken <= 1 && lastBatch <= 1)) {
            return 0;
        }
        return Math.min(maxNanos, Math.max(0, lastCommitNanos));
    }

    private static int size(Object queued) {
        return queued instanceof Group g ? g.requests().size() : 1;
    }

    private static void fail(Object o, Throwable t) {
        if (o instanceof Writer.Request) {
            ((Writer.Request) o).fail(t);
        } else if (o instanceof Group g) {
            for (Writer.Request r : g.requests()) {
                r.fail(t);
            }
        } else if (o instanceof Writer.Probe) {
            ((Writer.Probe) o).future.completeExceptionally(t);
        }
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // opening failed already; that is the error reported
            }
        }
    }

    /** Where the ledger lives and how it batches. */
    public static final class Builder {
        private Dialect dialect;
        private String url;
        private String user;
        private String password;
        private String description;
        private int maxBatch = 4096;
        private Duration gather = DEFAULT_GATHER;
        private int recentKeys = 65_536;
        private Clock clock = Clock.systemUTC();
        private Duration expirySweep = Duration.ofMillis(250);
        private Duration disputeWindow = DEFAULT_DISPUTE_WINDOW;
        private Duration recheckWindow = DEFAULT_RECHECK_WINDOW;
        private NodeKeyPair certifier;
        /** The tests wrap the writer's connection to make commits fail; otherwise the connection itself. */
        UnaryOperator<Connection> writeConnection = UnaryOperator.identity();

        private Builder() {
        }

        /**
         * An SQLite file, opened in WAL mode with {@code synchronous=FULL}.
         *
         * @param file the database file; created if missing
         * @return this builder
         * @throws InvalidArgumentException if {@code file} is null
         */
        public Builder sqlite(Path file) {
            InvalidArgumentException.requireNonNull(file, "ledger file");
            this.dialect = Dialect.SQLITE;
            this.url = "jdbc:sqlite:" + file.toAbsolutePath();
            this.user = null;
            this.password = null;
            this.description = file.toString();
            return this;
        }

        /**
         * A PostgreSQL database (the driver {@code org.postgresql:postgresql} must be on the
         * class path).
         *
         * @param jdbcUrl  such as {@code jdbc:postgresql://db:5432/depin}
         * @param user     the user name
         * @param password the password (never logged)
         * @return this builder
         * @throws InvalidArgumentException if the URL is null or not a PostgreSQL URL
         */
        public Builder postgres(String jdbcUrl, String user, String password) {
            InvalidArgumentException.requireNonNull(jdbcUrl, "JDBC URL");
            if (!jdbcUrl.startsWith("jdbc:postgresql:")) {
                throw new InvalidArgumentException("'" + jdbcUrl
                        + "' is not a PostgreSQL JDBC URL: write jdbc:postgresql://host:port/database");
            }
            this.dialect = Dialect.POSTGRESQL;
            this.url = jdbcUrl;
            this.user = user;
            this.password = password;
            this.description = jdbcUrl;
            return this;
        }

        /**
         * The most operations committed in one transaction. 1 commits (and syncs) every
         * operation on its own: the baseline group commit is measured against.
         *
         * @param maxBatch 1 to 65,536
         * @return this builder
         * @throws InvalidArgumentException if out of range
         */
        public Builder maxBatch(int maxBatch) {
            if (maxBatch < 1 || maxBatch > 65_536) {
                throw new InvalidArgumentException("maxBatch is " + maxBatch + ": use 1 to 65536");
            }
            this.maxBatch = maxBatch;
            return this;
        }

        /**
         * The most the writer, having taken queued operations of which some came from peers
         * ({@link JdbcLedger#applyAll(List, String)}, as the settlement service hands them), waits
         * for more before it commits, while the batch is below {@link #maxBatch(int)}: a commit
         * costs the writer a fixed share of CPU and disk writes besides its fsync (about as much as
         * a hundred operations on SQLite), and operations from the network arrive spread out, so
         * without waiting it commits them in small groups. The wait adapts to the load: a lone
         * operation while the ledger is idle (the batch before held one operation at most) is
         * committed at once; otherwise the writer waits about as long as its last commit took, at
         * most this window, while more keep coming, and stops when none came for a quarter of that
         * wait. The price is up to this much latency for operations from peers under load; what
         * the process's own callers apply is never held back. {@link Duration#ZERO} commits at once.
         *
         * @param window zero to 100 ms (default 4 ms)
         * @return this builder
         * @throws InvalidArgumentException if null or out of range
         */
        public Builder gather(Duration window) {
            InvalidArgumentException.requireNonNull(window, "gather window");
            if (window.isNegative() || window.compareTo(Duration.ofMillis(100)) > 0) {
                throw new InvalidArgumentException("gather window " + window + " is out of range: give zero to 100 ms");
            }
            this.gather = window;
            return this;
        }

        /**
         * How many of the most recent operations the writer keeps in memory, so that an
         * identical retry of one is answered without reading the database. An older key is
         * still applied at most once: the database's unique key finds it, and its retry costs
         * one batch written the careful way (each operation against the database). The
         * writer's memory is bounded by this, the accounts and the open holds.
         *
         * @param recentKeys 0 to 10,000,000 (default 65,536)
         * @return this builder
         * @throws InvalidArgumentException if out of range
         */
        public Builder recentKeys(int recentKeys) {
            if (recentKeys < 0 || recentKeys > 10_000_000) {
                throw new InvalidArgumentException("recentKeys is " + recentKeys + ": use 0 to 10000000");
            }
            this.recentKeys = recentKeys;
            return this;
        }

        /**
         * The clock that stamps operations and decides when holds have expired.
         *
         * @param clock the clock
         * @return this builder
         * @throws InvalidArgumentException if null
         */
        public Builder clock(Clock clock) {
            this.clock = InvalidArgumentException.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Answers holds that name a job spec with a {@link HoldCertificate} signed by
         * {@code key}; providers that require certificates trust this key's public half.
         *
         * @param key the ledger's Ed25519 key
         * @return this builder
         * @throws InvalidArgumentException if null
         */
        public Builder certifyHolds(NodeKeyPair key) {
            this.certifier = InvalidArgumentException.requireNonNull(key, "ledger key");
            return this;
        }

        /**
         * How often the ledger looks for holds whose expiry has passed and expires them itself
         * (see {@link JdbcLedger}). {@link Duration#ZERO} turns the expiry thread off: holds then
         * stay open past their expiry until someone applies an {@link Operation.Expire} or calls
         * {@link JdbcLedger#expireDue()}.
         *
         * @param interval zero, or 1 ms to 1 hour (default 250 ms)
         * @return this builder
         * @throws InvalidArgumentException if null, negative, below 1 ms but not zero, or above an hour
         */
        public Builder expirySweep(Duration interval) {
            InvalidArgumentException.requireNonNull(interval, "expiry sweep interval");
            if (!interval.isZero() && (interval.isNegative() || interval.toMillis() < 1
                    || interval.compareTo(Duration.ofHours(1)) > 0)) {
                throw new InvalidArgumentException("expiry sweep interval " + interval
                        + " is out of range: give zero (off) or 1 ms to 1 hour");
            }
            this.expirySweep = interval;
            return this;
        }

        /**
         * How long after a payee's {@link Operation.Claim} its payer may dispute it; when it has
         * passed, the ledger posts the claim itself (on the expiry thread, or
         * {@link JdbcLedger#postDueClaims()}). A claimed hold is posted even after its own
         * expiry, so the window does not need to fit in the hold's life. Every ledger on one
         * database should use the same window: it is fixed into each claim when it is filed.
         *
         * @param window 1 second to 30 days (default 10 minutes)
         * @return this builder
         * @throws InvalidArgumentException if null or out of range
         */
        public Builder disputeWindow(Duration window) {
            InvalidArgumentException.requireNonNull(window, "dispute window");
            if (window.compareTo(Duration.ofSeconds(1)) < 0 || window.compareTo(Duration.ofDays(30)) > 0) {
                throw new InvalidArgumentException("dispute window " + window + " is out of range: give 1 second to 30 days");
            }
            this.disputeWindow = window;
            return this;
        }

        /**
         * How long after a disputed claim's window end the dispute's re-check may still decide
         * it (a void, or a post for less than the claim): at window end + this, the re-check
         * deadline, the claim stands as if undisputed and the ledger posts it itself (on the
         * expiry thread, or {@link JdbcLedger#postDueClaims()}), so a disputed hold whose
         * re-check never ended (the re-checking service killed, the buyer gone) is not held
         * forever. Every ledger on one database should use the same value: unlike the window,
         * it is not fixed into the claim.
         *
         * @param window 1 second to 30 days (default 10 minutes)
         * @return this builder
         * @throws InvalidArgumentException if null or out of range
         */
        public Builder recheckWindow(Duration window) {
            InvalidArgumentException.requireNonNull(window, "re-check window");
            if (window.compareTo(Duration.ofSeconds(1)) < 0 || window.compareTo(Duration.ofDays(30)) > 0) {
                throw new InvalidArgumentException("re-check window " + window + " is out of range: give 1 second to 30 days");
            }
            this.recheckWindow = window;
            return this;
        }

        /**
         * Opens the ledger, creating its schema and the issuer and burn accounts if missing.
         *
         * @return the open ledger
         * @throws InvalidArgumentException if no database was named
         * @throws LedgerFailureException   if the database cannot be opened
         */
        public JdbcLedger open() {
            if (dialect == null) {
                throw new InvalidArgumentException("no database named: call sqlite(path) or postgres(url, user, password)");
            }
            return new JdbcLedger(this);
        }

        Connection connect() throws SQLException {
            Connection c = user == null ? DriverManager.getConnection(url) : DriverManager.getConnection(url, user, password);
            if (dialect == Dialect.SQLITE) {
                try (Statement s = c.createStatement()) {
                    s.execute("PRAGMA journal_mode=WAL");
                    s.execute("PRAGMA synchronous=FULL");
                    s.execute("PRAGMA foreign_keys=ON");
                    s.execute("PRAGMA busy_timeout=10000");
                }
            }
            c.setAutoCommit(false);
            return c;
        }
    }
}
