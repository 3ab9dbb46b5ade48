package dev.depin.crypto;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeyPemTest {
    private static final char[] PASSWORD = "correct horse battery staple".toCharArray();

    @Test
    void privateKey_plainRoundTrip_samePublicKey() {
        NodeKeyPair k = NodeKeyPair.generate(new SecureRandom());
        String pem = KeyPem.privateKeyToPem(k);
        assertTrue(pem.startsWith("-----BEGIN PRIVATE KEY-----"));
        assertEquals(k.publicKey(), KeyPem.readPrivateKey(pem).publicKey());
    }

    @Test
    void privateKey_encryptedRoundTripAndWrongPassword_failsSpecifically(@TempDir Path dir) throws Exception {
        NodeKeyPair k = NodeKeyPair.generate(new SecureRandom());
        Path file = dir.resolve("node.key");
        KeyPem.save(file, k, PASSWORD);
        String pem = Files.readString(file);
        assertTrue(pem.startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assertFalse(pem.contains(Hex.encode(k.seed())));
        assertEquals(k.publicKey(), KeyPem.load(file, PASSWORD).publicKey());
        WrongPasswordException e = assertThrows(WrongPasswordException.class,
                () -> KeyPem.readPrivateKey(pem, "wrong".toCharArray()));
        assertTrue(e.getMessage().contains("password is wrong"), e.getMessage());
        assertThrows(PasswordRequiredException.class, () -> KeyPem.readPrivateKey(pem));
        if (Files.getFileStore(file).supportsFileAttributeView("posix")) {
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(file)));
        }
        pythonLoads(pem, new String(PASSWORD), Hex.encode(k.publicKey().raw()));
    }

    @Test
    void publicKey_roundTrip_andRejectsPrivate() {
        NodeKeyPair k = NodeKeyPair.generate(new SecureRandom());
        String pem = KeyPem.publicKeyToPem(k.publicKey());
        assertTrue(pem.startsWith("-----BEGIN PUBLIC KEY-----"));
        assertEquals(k.publicKey(), KeyPem.readPublicKey(pem));
        assertThrows(KeyFormatException.class, () -> KeyPem.readPublicKey(KeyPem.privateKeyToPem(k)));
        assertThrows(KeyFormatException.class, () -> KeyPem.readPrivateKey(pem));
    }

    @Test
    void readPrivateKey_garbage_failsWithKeyFormatException() {
        assertThrows(KeyFormatException.class, () -> KeyPem.readPrivateKey("not a pem"));
        assertThrows(KeyFormatException.class, () -> KeyPem.readPrivateKey(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
    }

    @Test
    void readPrivateKey_openSslStylePkcs8FromJdk_accepted() {
        NodeKeyPair k = NodeKeyPair.generate(new SecureRandom());
        byte[] der = k.toJdk().getPrivate().getEncoded();
        String pem = "-----BEGIN PRIVATE KEY-----\n" + java.util.Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END PRIVATE KEY-----\n";
        assertEquals(k.publicKey(), KeyPem.readPrivateKey(pem).publicKey());
    }

    @Test
    void toString_ofKeyPair_hasNoSecret() {
        NodeKeyPair k = NodeKeyPair.generate(new SecureRandom());
        String seedHex = Hex.encode(k.seed());
        assertFalse(k.toString().contains(seedHex));
        assertFalse(k.toString().contains(java.util.Base64.getEncoder().encodeToString(k.seed())));
    }

    /** pyca/cryptography (OpenSSL) reads our encrypted PKCS#8, if python3 has it. */
    private static void pythonLoads(String pem, String password, String expectedPublicHex) throws Exception {
        String py = "import sys\n"
                + "from cryptography.hazmat.primitives import serialization as s\n"
                + "k=s.load_pem_private_key(sys.stdin.buffer.read(), password=sys.argv[1].encode())\n"
                + "print(k.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw).hex())\n";
        Process p;
        try {
            p = new ProcessBuilder("python3", "-c", py, password).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("python3 not available");
            return;
        }
        try (var o = p.getOutputStream()) {
            o.write(pem.getBytes(StandardCharsets.US_ASCII));
        }
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(bo);
        }
        Assumptions.assumeTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0,
                "python3 cryptography unavailable: " + bo);
        assertEquals(expectedPublicHex, bo.toString(StandardCharsets.UTF_8).trim());
    }
}
