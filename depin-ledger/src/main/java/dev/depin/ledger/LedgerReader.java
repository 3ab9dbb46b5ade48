package dev.depin.ledger;

import dev.depin.settlement.SettlementException;
import dev.depin.InvalidArgumentException;
import dev.depin.settlement.AccountId;
import dev.depin.settlement.Balance;
import dev.depin.settlement.LedgerFailureException;
import dev.depin.settlement.OpenHold;
import dev.depin.settlement.StatementLine;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

/**
 * A ledger opened read-only, for looking at it (the {@code depin ledger} command, audits):
 * never creates a file, a table or an account, and refuses a database that is not a depin
 * ledger with {@link LedgerFailureException} saying so.
 *
 * <p>An SQLite file is opened with {@code SQLITE_OPEN_READONLY}. When it has no {@code -wal}
 * file beside it, no ledger has it open and every commit is in the file itself, so it is read as
 * {@code immutable}: no {@code -wal} or {@code -shm} is created, and none is left behind. When a
 * {@code -wal} is there (a ledger has it open, or one was killed before merging its log), the
 * reader reads through it, so it sees every commit, and leaves both files as it found them.
 * A PostgreSQL database is read in read-only transactions.
 *
 * <p>Each read is one consistent snapshot. Not thread-safe: one reader per thread.
 */
public final class LedgerReader implements AutoCloseable {
    private static final byte[] SQLITE_HEADER = "SQLite format 3\0".getBytes(StandardCharsets.US_ASCII);

    private final Store store;
    private final String description;

    private LedgerReader(Connection c, Dialect dialect, String description) {
        this.store = new Store(c, dialect);
        this.description = description;
        String missing = store.missingSchema();
        if (missing != null) {
            store.close();
            throw new LedgerFailureException(description + " is not a depin ledger (" + missing
                    + "): give the file or database a depin ledger wrote");
        }
    }

    /**
     * Opens an SQLite ledger file read-only.
     *
     * @param file the ledger's file
     * @return the reader
     * @throws InvalidArgumentException if {@code file} is null
     * @throws LedgerFailureException   if the file is missing, not a regular file, empty, not an
     *                                  SQLite database, not a depin ledger, or cannot be read
     */
    public static LedgerReader sqlite(Path file) {
        InvalidArgumentException.requireNonNull(file, "ledger file");
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(file)) {
            throw new LedgerFailureException("no ledger file at " + file + (Files.exists(file)
                    ? " (it is not a regular file)" : "") + ": give the file a depin ledger wrote");
        }
        byte[] header = new byte[SQLITE_HEADER.length];
        int read;
        try (InputStream in = Files.newInputStream(file)) {
            read = in.readNBytes(header, 0, header.length);
        } catch (IOException e) {
            throw new LedgerFailureException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (read == 0) {
            throw new LedgerFailureException(file + " is empty, not a depin ledger: give the file a depin ledger wrote");
        }
        if (read < header.length || !Arrays.equals(header, SQLITE_HEADER)) {
            throw new LedgerFailureException(file + " is not an SQLite database, so not a depin ledger: "
                    + "give the file a depin ledger wrote");
        }
        Path abs = file.toAbsolutePath();
        boolean logged = Files.exists(Path.of(abs + "-wal"));
        Properties p = new Properties();
        p.setProperty("open_mode", "65"); // SQLITE_OPEN_READONLY | SQLITE_OPEN_URI
        p.setProperty("busy_timeout", "10000");
        String url = "jdbc:sqlite:file:" + abs + (logged ? "?mode=ro" : "?immutable=1");
        Connection c = null;
        try {
            c = DriverManager.getConnection(url, p);
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE);
        } catch (SQLException e) {
            closeQuietly(c);
            throw new LedgerFailureException("cannot open " + file + " read-only: " + e.getMessage(), e);
        }
        return new LedgerReader(c, Dialect.SQLITE, file.toString());
    }

    /**
     * Opens a PostgreSQL ledger read-only.
     *
     * @param jdbcUrl  such as {@code jdbc:postgresql://db:5432/depin}
     * @param user     the user name, or null
     * @param password the password, or null (never logged)
     * @return the reader
     * @throws InvalidArgumentException if the URL is null or not a PostgreSQL URL
     * @throws LedgerFailureException   if the database cannot be reached or holds no depin ledger
     */
    public static LedgerReader postgres(String jdbcUrl, String user, String password) {
        InvalidArgumentException.requireNonNull(jdbcUrl, "JDBC URL");
        if (!jdbcUrl.startsWith("jdbc:postgresql:")) {
            throw new InvalidArgumentException("'" + jdbcUrl
                    + "' is not a PostgreSQL JDBC URL: write jdbc:postgresql://host:port/database");
        }
        Connection c = null;
        try {
            c = user == null ? DriverManager.getConnection(jdbcUrl) : DriverManager.getConnection(jdbcUrl, user, password);
            c.setReadOnly(true);
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
        } catch (SQLException e) {
            closeQuietly(c);
            throw new LedgerFailureException("cannot open " + jdbcUrl + " read-only: " + e.getMessage()
                    + " (check the URL, the credentials and that the database is reachable)", e);
        }
        return new LedgerReader(c, Dialect.POSTGRESQL, jdbcUrl);
    }

    /**
     * @param account the account
     * @return its balance
     * @throws dev.depin.settlement.SettlementException (UNKNOWN_ACCOUNT) if it was never opened
     * @throws LedgerFailureException                       if the ledger cannot be read
     */
    public Balance balance(AccountId account) {
        InvalidArgumentException.requireNonNull(account, "account");
        return read(() -> store.balance(account));
    }

    /**
     * @return every account's balance, ordered by account id
     * @throws LedgerFailureException if the ledger cannot be read
     */
    public List<Balance> balances() {
        return read(store::balances);
    }

    /**
     * @param account the account
     * @return its posted movements, oldest first, with the running balance
     * @throws dev.depin.settlement.SettlementException (UNKNOWN_ACCOUNT) if it was never opened
     * @throws LedgerFailureException                       if the ledger cannot be read
     */
    public List<StatementLine> statement(AccountId account) {
        InvalidArgumentException.requireNonNull(account, "account");
        return read(() -> store.statement(account));
    }

    /**
     * @return the holds not yet posted, voided or expired, oldest first
     * @throws LedgerFailureException if the ledger cannot be read
     */
    public List<OpenHold> openHolds() {
        return read(store::openHolds);
    }

    /**
     * @return the ledger recomputed from its entries and holds, as {@link JdbcLedger#audit()}
     * @throws LedgerFailureException if the ledger cannot be read
     */
    public LedgerAudit audit() {
        return read(store::audit);
    }

    @Override
    public void close() {
        store.close();
    }

    private interface SqlRead<T> {
        T get() throws SQLException;
    }

    private <T> T read(SqlRead<T> body) {
        try {
            return body.get();
        } catch (SQLException e) {
            throw new LedgerFailureException("cannot read the ledger at " + description + ": " + e.getMessage(), e);
        } finally {
            store.endRead();
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
}
