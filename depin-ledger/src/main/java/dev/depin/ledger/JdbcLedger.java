package dev.depin.ledger;

import dev.depin.InvalidArgumentException;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.AccountKind;
import dev.depin.settlement.Applied;
import dev.depin.settlement.Balance;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.Operation;
import dev.depin.settlement.SettlementException;
import dev.depin.settlement.StatementLine;
import dev.depin.settlement.spi.Settlement;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A durable double-entry {@link Settlement} over JDBC: an SQLite file by default
 * (WAL journal, {@code synchronous=FULL}), or PostgreSQL, through the same code.
 *
 * <p>One writer thread owns the write connection. It takes every queued operation (up to
 * {@link Builder#maxBatch(int)}), applies them in one transaction, commits once, and only
 * then completes the callers' futures: this is group commit, so many operations share one
 * fsync, and a future that completed normally is durable. A refused operation changes
 * nothing: refusals are found before an operation's first write, and an operation that fails
 * after writing makes the writer redo the batch with a savepoint around each operation.
 *
 * <p>The invariants are enforced in the transaction, not only checked in Java: CHECK
 * constraints keep every account that is not allowed credit at {@code posted - held >= 0}
 * and every hold amount positive; UNIQUE constraints apply each key once and resolve each
 * hold once; a hold's state moves from {@code OPEN} by a conditional update that only one
 * transaction can win. Every balance change is written as a debit and a credit of the same
 * amount in the same transaction, so the sum of posted balances stays zero;
 * {@link #audit()} recomputes every balance from the entries to prove it.
 *
 * <pre>{@code
 * try (JdbcLedger ledger = JdbcLedger.builder().sqlite(Path.of("ledger.db")).open()) {
 *     ledger.open(AccountId.of("buyer:acme"), AccountKind.BUYER, false).join();
 * }
 * }</pre>
 */
public final class JdbcLedger implements Settlement {
    private static final Object STOP = new Object();

    private final Store writeStore;
    private final Store readStore;
    private final Clock clock;
    private final int maxBatch;
    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    private volatile boolean closed;

    private JdbcLedger(Builder b) {
        this.clock = b.clock;
        this.maxBatch = b.maxBatch;
        Connection w = null;
        Connection r = null;
        try {
            w = b.connect();
            r = b.connect();
            r.setTransactionIsolation(b.dialect == Dialect.SQLITE
                    ? Connection.TRANSACTION_SERIALIZABLE : Connection.TRANSACTION_REPEATABLE_READ);
            this.writeStore = new Store(w, b.dialect);
            this.writeStore.initialise();
            this.readStore = new Store(r, b.dialect);
        } catch (SQLException | RuntimeException e) {
            closeQuietly(w);
            closeQuietly(r);
            throw new LedgerFailureException("cannot open the ledger at " + b.description + ": " + e.getMessage()
                    + " (check the path or URL, the credentials and that the database is reachable)", e);
        }
        this.writer = new Thread(this::writeLoop, "depin-ledger-writer");
        this.writer.setDaemon(true);
        this.writer.start();
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
        return submit(new OpenRequest(account, kind, allowCredit, new CompletableFuture<>())).future;
    }

    @Override
    public CompletableFuture<Applied> apply(Operation operation) {
        InvalidArgumentException.requireNonNull(operation, "operation");
        return submit(new OpRequest(operation, new CompletableFuture<>())).future;
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
            queue.add(STOP);
        }
        boolean interrupted = false;
        while (writer.isAlive()) {
            try {
                writer.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        for (Object o; (o = queue.poll()) != null; ) {
            fail(o, new LedgerFailureException("the ledger is closed: open it again to apply operations"));
        }
        synchronized (readStore) {
            readStore.close();
        }
        writeStore.close();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private <R extends Request> R submit(R request) {
        synchronized (this) {
            if (!closed) {
                queue.add(request);
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
        while (!stop) {
            batch.clear();
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                continue; // only close() ends the writer
            }
            queue.drainTo(batch, maxBatch - 1);
            if (batch.remove(STOP)) {
                stop = true;
            }
            if (!batch.isEmpty()) {
                writeBatch(batch);
            }
        }
    }

    /**
     * One transaction for the whole batch; futures complete only after the commit.
     *
     * <p>The fast path takes no savepoints: every refusal the ledger gives is found before
     * the operation's first write, so a refused operation has written nothing. If an
     * operation fails after writing (a constraint, another writer, a database error), the
     * batch is rolled back and run again on the careful path, one savepoint per operation.
     */
    private void writeBatch(List<Object> batch) {
        if (!writeBatch(batch, false)) {
            writeBatch(batch, true);
        }
    }

    /** @return false when the fast path must give way to the careful one (nothing was committed) */
    private boolean writeBatch(List<Object> batch, boolean careful) {
        List<Runnable> completions = new ArrayList<>(batch.size());
        Connection c = writeStore.connection();
        try {
            for (Object o : batch) {
                Request request = (Request) o;
                if (!careful) {
                    writeStore.startOperation();
                    try {
                        Object result = request.run(writeStore, clock);
                        completions.add(() -> request.complete(result));
                    } catch (SettlementException | InvalidArgumentException e) {
                        if (writeStore.wroteSinceStart()) {
                            c.rollback();
                            return false;
                        }
                        completions.add(() -> request.fail(e));
                    } catch (SQLException e) {
                        c.rollback();
                        return false;
                    }
                    continue;
                }
                Savepoint sp = c.setSavepoint();
                try {
                    Object result = request.run(writeStore, clock);
                    c.releaseSavepoint(sp);
                    completions.add(() -> request.complete(result));
                } catch (SettlementException | InvalidArgumentException e) {
                    c.rollback(sp);
                    completions.add(() -> request.fail(e));
                } catch (SQLException e) {
                    c.rollback(sp);
                    // A constraint tripped: another writer (a second process on PostgreSQL) got
                    // there first. Run it once more, now that its row is visible: an identical
                    // retry then returns that writer's result, and a real refusal says why.
                    Savepoint again = c.setSavepoint();
                    try {
                        Object result = request.run(writeStore, clock);
                        c.releaseSavepoint(again);
                        completions.add(() -> request.complete(result));
                    } catch (SettlementException | InvalidArgumentException refusal) {
                        c.rollback(again);
                        completions.add(() -> request.fail(refusal));
                    } catch (SQLException e2) {
                        c.rollback(again);
                        SettlementException refusal = writeStore.explain(e2);
                        completions.add(() -> request.fail(refusal));
                    }
                }
            }
            c.commit();
        } catch (Throwable e) {
            // Whatever went wrong (the database, the disk, an Error), every caller's future
            // completes: the batch is rolled back and fails as a whole.
            try {
                c.rollback();
            } catch (SQLException ignored) {
                // the connection is broken; the next batch fails the same way and says why
            }
            LedgerFailureException failure = new LedgerFailureException(
                    "the ledger could not commit: " + e.getMessage() + " (nothing was applied; retry with the same key)", e);
            for (Object o : batch) {
                fail(o, failure);
            }
            return true;
        }
        for (Runnable r : completions) {
            r.run();
        }
        return true;
    }

    private static void fail(Object o, Throwable t) {
        if (o instanceof Request) {
            ((Request) o).fail(t);
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

    private abstract static class Request {
        abstract Object run(Store store, Clock clock) throws SQLException;

        abstract void complete(Object result);

        abstract void fail(Throwable t);
    }

    private static final class OpRequest extends Request {
        final Operation operation;
        final CompletableFuture<Applied> future;

        OpRequest(Operation operation, CompletableFuture<Applied> future) {
            this.operation = operation;
            this.future = future;
        }

        @Override
        Object run(Store store, Clock clock) throws SQLException {
            return store.apply(operation, clock.instant().truncatedTo(ChronoUnit.MILLIS));
        }

        @Override
        void complete(Object result) {
            future.complete((Applied) result);
        }

        @Override
        void fail(Throwable t) {
            future.completeExceptionally(t);
        }
    }

    private static final class OpenRequest extends Request {
        final AccountId account;
        final AccountKind kind;
        final boolean allowCredit;
        final CompletableFuture<Balance> future;

        OpenRequest(AccountId account, AccountKind kind, boolean allowCredit, CompletableFuture<Balance> future) {
            this.account = account;
            this.kind = kind;
            this.allowCredit = allowCredit;
            this.future = future;
        }

        @Override
        Object run(Store store, Clock clock) throws SQLException {
            return store.open(account, kind, allowCredit);
        }

        @Override
        void complete(Object result) {
            future.complete((Balance) result);
        }

        @Override
        void fail(Throwable t) {
            future.completeExceptionally(t);
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
        private Clock clock = Clock.systemUTC();

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
