package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.crypto.KeyFileException;
import dev.depin.crypto.KeyFormatException;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.PasswordRequiredException;
import dev.depin.crypto.UnencryptedKeyException;
import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * What {@code depin node} and {@code depin directory} share: the interface they listen on,
 * the key file's passphrase (from an environment variable or the console, never as an
 * argument), and running until SIGTERM or Ctrl-C.
 */
final class ServeOptions {
    /** slf4j-simple's default level; the commands lower the library's chatter to warnings. */
    private static final String LOG_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "HOST",
            description = "Interface to listen on, and the address given to directories and buyers "
                    + "(default ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--passphrase-env", paramLabel = "VAR",
            description = "Read the key file's passphrase from this environment variable (a new key is saved "
                    + "encrypted with it; an existing one must be encrypted with it).")
    String passphraseEnv;

    @Option(names = "--ask-passphrase",
            description = "Ask for the key file's passphrase on the console (twice for a new key).")
    boolean askPassphrase;

    @Option(names = "--verbose", description = "Log at info level (default: warnings only).")
    boolean verbose;

    /** For the demo: stop when standard input closes, so that no child outlives its parent. */
    @Option(names = "--stop-on-stdin-eof", hidden = true)
    boolean stopOnStdinEof;

    /** A bad option value: the message says which and what to give instead. */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    /** Warnings only from the library, unless --verbose or -D says otherwise. Call before anything logs. */
    void quietLogs() {
        if (!verbose && System.getProperty(LOG_LEVEL) == null) {
            System.setProperty(LOG_LEVEL, "warn");
        }
    }

    /** A node's identity from its key file, made on first start: see {@link KeyPem#loadOrCreate}. */
    record LoadedKey(NodeKeyPair keys, boolean created, boolean encrypted) {
        String describe(Path file) {
            return "key " + file + " (" + (created ? "generated now" : "loaded") + ", "
                    + (encrypted ? "encrypted" : "unencrypted") + ")";
        }
    }

    LoadedKey loadKey(Path file) throws UsageException {
        if (passphraseEnv != null && askPassphrase) {
            throw new UsageException("give the passphrase one way: --passphrase-env or --ask-passphrase, not both");
        }
        boolean exists = Files.exists(file);
        char[] passphrase = passphrase(exists);
        try {
            NodeKeyPair keys = KeyPem.loadOrCreate(file, passphrase);
            return new LoadedKey(keys, !exists, passphrase != null);
        } catch (PasswordRequiredException e) {
            throw new UsageException(e.getMessage() + " (--passphrase-env VAR or --ask-passphrase)");
        } catch (UnencryptedKeyException e) {
            throw new UsageException(e.getMessage() + " (leave out --passphrase-env and --ask-passphrase to use it "
                    + "as it is)");
        } catch (KeyFormatException | KeyFileException e) {
            throw new UsageException(e.getMessage());
        } catch (DepinException e) {
            throw new UsageException("key file " + file + ": " + e.getMessage());
        } finally {
            if (passphrase != null) {
                Arrays.fill(passphrase, '\0');
            }
        }
    }

    private char[] passphrase(boolean existing) throws UsageException {
        if (passphraseEnv != null) {
            String v = System.getenv(passphraseEnv);
            if (v == null) {
                throw new UsageException("the environment variable " + passphraseEnv + " named by --passphrase-env "
                        + "is not set: set it to the key file's passphrase, or leave out --passphrase-env for an "
                        + "unencrypted key file");
            }
            if (v.isEmpty()) {
                throw new UsageException("the environment variable " + passphraseEnv + " is empty: an empty "
                        + "passphrase protects nothing; set a real one");
            }
            return v.toCharArray();
        }
        if (!askPassphrase) {
            return null;
        }
        Console console = System.console();
        if (console == null) {
            throw new UsageException("--ask-passphrase needs a console, and there is none: use --passphrase-env VAR");
        }
        char[] first = console.readPassword(existing ? "passphrase of the key file: " : "passphrase for the new key file: ");
        if (first == null || first.length == 0) {
            throw new UsageException("no passphrase entered: an empty passphrase protects nothing");
        }
        if (!existing) {
            char[] again = console.readPassword("the same passphrase again: ");
            boolean same = again != null && Arrays.equals(first, again);
            if (again != null) {
                Arrays.fill(again, '\0');
            }
            if (!same) {
                Arrays.fill(first, '\0');
                throw new UsageException("the two passphrases differ: start again");
            }
        }
        return first;
    }

    /**
     * Prints {@code ready} and runs until SIGTERM or Ctrl-C (or, with --stop-on-stdin-eof,
     * until standard input closes): a shutdown hook closes {@code server}, prints
     * {@code stopped}, and lets the JVM exit. The hook is in place before {@code ready} is
     * printed, so a SIGTERM sent as soon as the line is read still stops the server cleanly.
     */
    int serveUntilStopped(AutoCloseable server, PrintStream out, String ready, String stopped)
            throws InterruptedException {
        Thread hook = new Thread(() -> {
            try {
                server.close();
            } catch (Exception e) {
                System.err.println("closing failed: " + e);
            }
            out.println(stopped);
            out.flush();
        }, "depin-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        out.println(ready);
        out.flush();
        if (stopOnStdinEof) {
            Thread watch = new Thread(() -> {
                try {
                    InputStream in = System.in;
                    while (in.read() >= 0) {
                        // Nothing is sent: the parent only ever closes the pipe.
                    }
                } catch (IOException ignored) {
                    // A broken pipe is a closed one.
                }
                System.exit(0);
            }, "depin-stdin-watch");
            watch.setDaemon(true);
            watch.start();
        }
        // The hook runs on SIGTERM; this thread only waits and is cut off at exit.
        while (true) {
            TimeUnit.DAYS.sleep(1);
        }
    }

    /** Converts {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h} or a plain number of seconds. */
    /**
     * @param refusedAddressFor {@code --refused-address-for}
     * @throws UsageException unless 1 s to 1 h (what the servers' builders accept)
     */
    static void checkRefusedAddressFor(java.time.Duration refusedAddressFor) throws UsageException {
        if (refusedAddressFor.compareTo(java.time.Duration.ofSeconds(1)) < 0
                || refusedAddressFor.compareTo(java.time.Duration.ofHours(1)) > 0) {
            throw new UsageException("--refused-address-for must be 1s to 1h, got " + refusedAddressFor);
        }
    }

    static final class DurationConverter implements ITypeConverter<java.time.Duration> {
        private static final Pattern FORMAT = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)?");

        @Override
        public java.time.Duration convert(String value) {
            Matcher m = FORMAT.matcher(value.trim().toLowerCase(Locale.ROOT));
            if (!m.matches()) {
                throw new TypeConversionException("'" + value + "' is not a duration: give e.g. 500ms, 30s, 2m, 1h or 30d");
            }
            long n = Long.parseLong(m.group(1));
            String unit = m.group(2) == null ? "s" : m.group(2);
            java.time.Duration d = switch (unit) {
                case "ms" -> java.time.Duration.ofMillis(n);
                case "m" -> java.time.Duration.ofMinutes(n);
                case "h" -> java.time.Duration.ofHours(n);
                case "d" -> java.time.Duration.ofDays(n);
                default -> java.time.Duration.ofSeconds(n);
            };
            if (d.isZero()) {
                throw new TypeConversionException("'" + value + "' is zero: give a positive duration");
            }
            return d;
        }
    }

    /** Converts a byte count: {@code 1048576}, {@code 64k}, {@code 256m} or {@code 2g} (powers of 1024). */
    static final class SizeConverter implements ITypeConverter<Long> {
        private static final Pattern FORMAT = Pattern.compile("(\\d{1,12})([kmg]?)(i?b)?");

        @Override
        public Long convert(String value) {
            return size(value, false);
        }

        static long size(String value, boolean zeroAllowed) {
            Matcher m = FORMAT.matcher(value.trim().toLowerCase(Locale.ROOT));
            if (!m.matches()) {
                throw new TypeConversionException("'" + value + "' is not a size: give e.g. 65536, 64k, 256m or 2g");
            }
            long n = Long.parseLong(m.group(1));
            int shift = switch (m.group(2)) {
                case "k" -> 10;
                case "m" -> 20;
                case "g" -> 30;
                default -> 0;
            };
            if ((n == 0 && !zeroAllowed) || n > (Long.MAX_VALUE >> shift)) {
                throw new TypeConversionException("'" + value + "' must be a " + (zeroAllowed ? "" : "positive ")
                        + "size below 2^63 bytes");
            }
            return n << shift;
        }
    }

    /** A size where 0 means off (e.g. a cache). */
    static final class SizeOrOffConverter implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            return SizeConverter.size(value, true);
        }
    }

    static String shortDuration(java.time.Duration d) {
        long ms = d.toMillis();
        return ms % 1000 != 0 ? ms + " ms" : ms / 1000 + " s";
    }

    static Path defaultKey(String name) {
        return Path.of(System.getProperty("user.home"), ".depin", name);
    }
}
