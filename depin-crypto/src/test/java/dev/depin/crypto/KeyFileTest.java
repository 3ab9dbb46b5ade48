package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Key files: saved, loaded and made on first start, in a format OpenSSL reads (checked with
 * the {@code openssl} command itself) and with one specific exception per way of getting it
 * wrong.
 */
class KeyFileTest {
    private static final long SEED = 0x6b657966L;
    private static final char[] PASSPHRASE = "tr0ub4dor & 3 horses".toCharArray();

    private static NodeKeyPair fixedKey(SplittableRandom rnd) {
        byte[] seed = new byte[32];
        rnd.nextBytes(seed);
        return NodeKeyPair.fromSeed(seed);
    }

    @Test
    void saveLoad_fixedSeeds_roundTripPlainAndEncrypted(@TempDir Path dir) throws Exception {
        System.out.println("KeyFileTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int i = 0; i < 3; i++) {
            NodeKeyPair k = fixedKey(rnd);
            Path plain = dir.resolve("plain-" + i + ".key");
            KeyPem.save(plain, k, null);
            assertArrayEquals(k.seed(), KeyPem.load(plain, null).seed());
            Path enc = dir.resolve("sub/dir/enc-" + i + ".key");
            KeyPem.save(enc, k, PASSPHRASE);
            assertArrayEquals(k.seed(), KeyPem.load(enc, PASSPHRASE).seed());
            assertOwnerOnly(plain);
            assertOwnerOnly(enc);
        }
        // Replacing a file keeps it owner-only and holds the new key.
        NodeKeyPair other = fixedKey(rnd);
        KeyPem.save(dir.resolve("plain-0.key"), other, null);
        assertEquals(other.publicKey(), KeyPem.load(dir.resolve("plain-0.key"), null).publicKey());
        assertOwnerOnly(dir.resolve("plain-0.key"));
        try (var s = Files.list(dir)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary file left");
        }
    }

    @Test
    void save_fixedSeed_isTheStandardPkcs8ThatOpensslWrites(@TempDir Path dir) throws Exception {
        // RFC 8032 section 7.1, test 1: OpenSSL writes this exact PKCS#8 for that key.
        NodeKeyPair k = NodeKeyPair.fromSeed(Hex.decode(
                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
        assertEquals("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                Hex.encode(k.publicKey().raw()));
        Path file = dir.resolve("rfc8032.key");
        KeyPem.save(file, k, null);
        assertEquals("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
                + "-----END PRIVATE KEY-----\n", Files.readString(file).replace("\r\n", "\n"));
        assertEquals(KeyPem.publicKeyToPem(k.publicKey()).replace("\r\n", "\n"),
                openssl(null, "pkey", "-in", file.toString(), "-pubout"));
    }

    @Test
    void save_encrypted_opensslReadsItAndSeesPbes2Pbkdf2Aes256(@TempDir Path dir) throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        NodeKeyPair k = fixedKey(rnd);
        Path file = dir.resolve("node.key");
        KeyPem.save(file, k, PASSPHRASE);
        String pem = Files.readString(file);
        assertTrue(pem.startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"), pem);
        assertFalse(pem.contains(Hex.encode(k.seed())));
        // openssl decrypts it with the passphrase and derives the same public key.
        assertEquals(KeyPem.publicKeyToPem(k.publicKey()).replace("\r\n", "\n"),
                openssl(new String(PASSPHRASE), "pkey", "-in", file.toString(), "-passin", "env:DEPIN_TEST_PASS",
                        "-pubout"));
        // ... and refuses a wrong one.
        ProcessResult wrong = run(Map.of("DEPIN_TEST_PASS", "wrong"), "openssl", "pkey", "-in", file.toString(),
                "-passin", "env:DEPIN_TEST_PASS", "-noout");
        assertTrue(wrong.status != 0, wrong.text);
        String asn1 = openssl(null, "asn1parse", "-in", file.toString());
        for (String part : List.of("PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc",
                String.format("%X", KeyPem.PBKDF2_ITERATIONS))) {
            assertTrue(asn1.contains(part), part + " missing from\n" + asn1);
        }
    }

    @Test
    void load_keysThatOpensslEncrypted_readWithTheirPassphrase(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("openssl.key");
        openssl(new String(PASSPHRASE), "genpkey", "-algorithm", "ed25519", "-aes-256-cbc", "-pass",
                "env:DEPIN_TEST_PASS", "-out", file.toString());
        String pub = openssl(new String(PASSPHRASE), "pkey", "-in", file.toString(), "-passin",
                "env:DEPIN_TEST_PASS", "-pubout");
        NodeKeyPair k = KeyPem.load(file, PASSPHRASE);
        assertEquals(KeyPem.readPublicKey(pub), k.publicKey());
        assertThrows(WrongPasswordException.class, () -> KeyPem.load(file, "nope".toCharArray()));
    }

    @Test
    void loadOrCreate_missingFile_generatesSavesAndThenKeepsTheKey(@TempDir Path dir) {
        Path plain = dir.resolve("a/node.key");
        NodeKeyPair first = KeyPem.loadOrCreate(plain, null);
        assertTrue(Files.isRegularFile(plain));
        assertOwnerOnly(plain);
        assertEquals(first.publicKey(), KeyPem.loadOrCreate(plain, null).publicKey());
        assertEquals(first.publicKey(), KeyPem.load(plain, null).publicKey());

        Path enc = dir.resolve("enc.key");
        NodeKeyPair second = KeyPem.loadOrCreate(enc, PASSPHRASE);
        assertFalse(first.publicKey().equals(second.publicKey()), "a fresh key each time");
        assertTrue(readString(enc).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assertEquals(second.publicKey(), KeyPem.loadOrCreate(enc, PASSPHRASE).publicKey());
        assertOwnerOnly(enc);
    }

    @Test
    void load_eachMistake_itsOwnExceptionSayingWhatToDo(@TempDir Path dir) {
        NodeKeyPair k = fixedKey(new SplittableRandom(SEED + 2));
        Path enc = dir.resolve("enc.key");
        Path plain = dir.resolve("plain.key");
        KeyPem.save(enc, k, PASSPHRASE);
        KeyPem.save(plain, k, null);

        WrongPasswordException wrong = assertThrows(WrongPasswordException.class,
                () -> KeyPem.loadOrCreate(enc, "not it".toCharArray()));
        assertTrue(wrong.getMessage().contains(enc.toString()) && wrong.getMessage().contains("password is wrong")
                && wrong.getMessage().contains("try again with the password it was saved with"), wrong.getMessage());

        PasswordRequiredException missing = assertThrows(PasswordRequiredException.class,
                () -> KeyPem.loadOrCreate(enc, null));
        assertTrue(missing.getMessage().contains("encrypted but no password was given")
                && missing.getMessage().contains("give the password"), missing.getMessage());

        UnencryptedKeyException notEncrypted = assertThrows(UnencryptedKeyException.class,
                () -> KeyPem.loadOrCreate(plain, PASSPHRASE));
        assertTrue(notEncrypted.getMessage().contains("not encrypted, but a password was given")
                && notEncrypted.getMessage().contains("openssl pkcs8 -topk8"), notEncrypted.getMessage());

        KeyFileException noFile = assertThrows(KeyFileException.class, () -> KeyPem.load(dir.resolve("none.key"), null));
        assertTrue(noFile.getMessage().contains("there is no key file"), noFile.getMessage());
        assertEquals(KeyFileException.Reason.NOT_FOUND, noFile.reason());
        KeyFileException isDir = assertThrows(KeyFileException.class, () -> KeyPem.loadOrCreate(dir, null));
        assertEquals(KeyFileException.Reason.NOT_A_REGULAR_FILE, isDir.reason());
        assertEquals("the key file " + dir + " is not a regular file (a directory): give the path of the PEM file "
                + "itself", isDir.getMessage());

        InvalidArgumentException empty = assertThrows(InvalidArgumentException.class,
                () -> KeyPem.loadOrCreate(dir.resolve("empty.key"), new char[0]));
        assertTrue(empty.getMessage().contains("empty password"), empty.getMessage());
        assertFalse(Files.exists(dir.resolve("empty.key")));
        assertThrows(InvalidArgumentException.class, () -> KeyPem.loadOrCreate(null, null));
    }

    @Test
    void load_corruptFiles_keyFormatExceptionNeverAKey(@TempDir Path dir) throws Exception {
        long seed = SEED + 3;
        System.out.println("KeyFileTest corruption seed " + seed);
        SplittableRandom rnd = new SplittableRandom(seed);
        NodeKeyPair k = fixedKey(rnd);
        Path plain = dir.resolve("plain.key");
        KeyPem.save(plain, k, null);
        String text = Files.readString(plain);
        Map<String, String> corrupt = new java.util.LinkedHashMap<>();
        corrupt.put("empty file", "");
        corrupt.put("no PEM", "hello\n");
        corrupt.put("truncated", text.substring(0, text.length() / 2));
        corrupt.put("one byte of body", "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n");
        corrupt.put("public key", KeyPem.publicKeyToPem(k.publicKey()));
        // Every single-character change of the Base64 body in the plain file is refused (or
        // yields another key's PEM, which the seed check below catches).
        int body = text.indexOf('\n') + 1;
        List<Integer> positions = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            positions.add(body + rnd.nextInt(text.indexOf("-----END") - 1 - body));
        }
        for (int pos : positions) {
            char c = text.charAt(pos);
            char flipped = c == 'A' ? 'B' : 'A';
            corrupt.put("body char " + pos, text.substring(0, pos) + flipped + text.substring(pos + 1));
        }
        for (Map.Entry<String, String> e : corrupt.entrySet()) {
            Path f = dir.resolve("bad.key");
            writeOwnerOnly(f, e.getValue());
            try {
                NodeKeyPair got = KeyPem.load(f, null);
                assertFalse(java.util.Arrays.equals(k.seed(), got.seed()) && !e.getValue().equals(text),
                        e.getKey() + ": a changed file gave the same key");
                assertTrue(e.getKey().startsWith("body char"), e.getKey() + ": accepted");
            } catch (KeyFormatException ex) {
                assertTrue(ex.getClass() == KeyFormatException.class, e.getKey() + ": " + ex);
                assertTrue(ex.getMessage().contains(f.toString()), ex.getMessage());
                assertTrue(ex.getMessage().contains("pass") || ex.getMessage().contains("corrupted")
                        || ex.getMessage().contains("generate"), ex.getMessage());
            }
        }
        // A damaged encrypted file never decrypts into a key: wrong-password or format error.
        Path enc = dir.resolve("enc.key");
        KeyPem.save(enc, k, PASSPHRASE);
        String encText = Files.readString(enc);
        int from = encText.indexOf('\n') + 1 + 120;
        int to = encText.indexOf("-----END") - 4;
        for (int i = 0; i < 3; i++) {
            int pos = from + rnd.nextInt(to - from);
            if (encText.charAt(pos) == '\n') {
                continue;
            }
            char flipped = encText.charAt(pos) == 'A' ? 'B' : 'A';
            writeOwnerOnly(dir.resolve("bad-enc.key"), encText.substring(0, pos) + flipped + encText.substring(pos + 1));
            KeyFormatException ex = assertThrows(KeyFormatException.class,
                    () -> KeyPem.load(dir.resolve("bad-enc.key"), PASSPHRASE));
            assertTrue(ex.getMessage().contains("corrupted"), ex.getMessage());
        }
    }

    @Test
    void load_keyOpenToOthersFifoOrDanglingLink_refusedBeforeReading(@TempDir Path dir) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.getFileStore(dir).supportsFileAttributeView("posix"),
                "POSIX permissions are not supported on this file system");
        NodeKeyPair k = fixedKey(new SplittableRandom(SEED + 4));
        Path plain = dir.resolve("plain.key");
        Path enc = dir.resolve("enc.key");
        KeyPem.save(plain, k, null);
        KeyPem.save(enc, k, PASSPHRASE);
        // As OpenSSH: any group or other bit refuses the key, encrypted or not.
        for (String mode : List.of("rw-r--r--", "rwxrwxrwx", "rw----r--", "rw--w----")) {
            for (Path f : List.of(plain, enc)) {
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
                char[] password = f == enc ? PASSPHRASE : null;
                KeyFileException e = assertThrows(KeyFileException.class, () -> KeyPem.load(f, password));
                assertEquals(KeyFileException.Reason.TOO_OPEN, e.reason());
                assertEquals("the key file " + f + " has permissions " + mode + ": a private key must not be open to "
                        + "the group or others (OpenSSH refuses it too); run chmod 600 " + f, e.getMessage());
                assertEquals(KeyFileException.Reason.TOO_OPEN,
                        assertThrows(KeyFileException.class, () -> KeyPem.loadOrCreate(f, password)).reason());
            }
        }
        Files.setPosixFilePermissions(plain, PosixFilePermissions.fromString("r--------"));
        assertEquals(k.publicKey(), KeyPem.load(plain, null).publicKey(), "owner read-only is fine");

        // A FIFO would block a reader forever: refused without opening it.
        Path fifo = dir.resolve("fifo.key");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertTrue(mk.waitFor(10, TimeUnit.SECONDS) && mk.exitValue() == 0, "mkfifo");
        KeyFileException notRegular = assertThrows(KeyFileException.class, () -> KeyPem.load(fifo, null));
        assertEquals(KeyFileException.Reason.NOT_A_REGULAR_FILE, notRegular.reason());
        assertEquals("the key file " + fifo + " is not a regular file (a FIFO, socket or device): give the path of "
                + "the PEM file itself", notRegular.getMessage());

        Path dangling = dir.resolve("dangling.key");
        Files.createSymbolicLink(dangling, dir.resolve("gone.key"));
        for (var call : List.<org.junit.jupiter.api.function.Executable>of(() -> KeyPem.load(dangling, null),
                () -> KeyPem.loadOrCreate(dangling, null))) {
            KeyFileException gone = assertThrows(KeyFileException.class, call);
            assertEquals(KeyFileException.Reason.NOT_FOUND, gone.reason());
            assertEquals("the key file " + dangling + " is a symbolic link to " + dir.resolve("gone.key")
                    + ", which does not exist: fix the link or the path", gone.getMessage());
        }
        assertFalse(Files.exists(dir.resolve("gone.key")), "nothing created through a dangling link");
    }

    private static void writeOwnerOnly(Path file, String text) throws java.io.IOException {
        Files.writeString(file, text);
        if (Files.getFileStore(file).supportsFileAttributeView("posix")) {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        }
    }

    private static void assertOwnerOnly(Path file) {
        try {
            if (Files.getFileStore(file).supportsFileAttributeView("posix")) {
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String readString(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private record ProcessResult(int status, String text) {
    }

    /** Runs openssl (present here and in CI) with the passphrase in DEPIN_TEST_PASS, never on the command line. */
    private static String openssl(String passphrase, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        ProcessResult r = run(passphrase == null ? Map.of() : Map.of("DEPIN_TEST_PASS", passphrase),
                cmd.toArray(String[]::new));
        assertEquals(0, r.status, String.join(" ", cmd) + ":\n" + r.text);
        return r.text;
    }

    private static ProcessResult run(Map<String, String> env, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(out);
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "openssl did not finish");
        return new ProcessResult(p.exitValue(), out.toString(StandardCharsets.UTF_8));
    }
}
