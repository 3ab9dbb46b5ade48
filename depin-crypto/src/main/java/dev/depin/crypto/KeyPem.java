package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.PKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * Saves and loads Ed25519 node keys as PEM, the format OpenSSL and most tools read:
 * <ul>
 *   <li>private keys as PKCS#8 ({@code -----BEGIN PRIVATE KEY-----}), or encrypted PKCS#8
 *       ({@code -----BEGIN ENCRYPTED PRIVATE KEY-----}: PBES2, PBKDF2-HMAC-SHA256 with
 *       {@value #PBKDF2_ITERATIONS} iterations and a random salt, AES-256-CBC);</li>
 *   <li>public keys as X.509 SubjectPublicKeyInfo ({@code -----BEGIN PUBLIC KEY-----}).</li>
 * </ul>
 *
 * <pre>{@code
 * String pem = KeyPem.privateKeyToPem(keys, password);     // encrypted
 * NodeKeyPair back = KeyPem.readPrivateKey(pem, password); // WrongPasswordException if wrong
 * KeyPem.save(Path.of("node.key"), keys, password);        // file mode 0600 where POSIX
 * }</pre>
 */
public final class KeyPem {
    /** PBKDF2-HMAC-SHA256 iteration count for encrypted keys (OWASP 2023 guidance). */
    public static final int PBKDF2_ITERATIONS = 600_000;

    /** BouncyCastle as a provider object, never registered globally (no side effect on the JVM). */
    private static final java.security.Provider BC = new org.bouncycastle.jce.provider.BouncyCastleProvider();

    private KeyPem() {
    }

    /**
     * The private key as unencrypted PKCS#8 PEM. Anyone who reads it can act as this node.
     *
     * @param keys the key pair; not {@code null}
     * @return the PEM text
     */
    public static String privateKeyToPem(NodeKeyPair keys) {
        return privateKeyToPem(keys, null);
    }

    /**
     * The private key as PKCS#8 PEM, encrypted when a password is given.
     *
     * @param keys     the key pair; not {@code null}
     * @param password the password (not kept), or {@code null} for no encryption
     * @return the PEM text
     */
    public static String privateKeyToPem(NodeKeyPair keys, char[] password) {
        InvalidArgumentException.requireNonNull(keys, "keys");
        byte[] seed = keys.seed();
        byte[] der = Arrays.copyOf(NodeKeyPair.PKCS8_PREFIX, NodeKeyPair.PKCS8_PREFIX.length + seed.length);
        System.arraycopy(seed, 0, der, NodeKeyPair.PKCS8_PREFIX.length, seed.length);
        try {
            PemObject pem;
            if (password == null) {
                pem = new PemObject("PRIVATE KEY", der);
            } else {
                if (password.length == 0) {
                    throw new InvalidArgumentException("an empty password protects nothing: pass null for an "
                            + "unencrypted key, or a real password");
                }
                OutputEncryptor enc = new JceOpenSSLPKCS8EncryptorBuilder(PKCS8Generator.AES_256_CBC)
                        .setPRF(PKCS8Generator.PRF_HMACSHA256)
                        .setIterationCount(PBKDF2_ITERATIONS)
                        .setRandom(new SecureRandom())
                        .setPassword(password)
                        .setProvider(BC)
                        .build();
                pem = new PKCS8Generator(PrivateKeyInfo.getInstance(der), enc).generate();
            }
            return writePem(pem);
        } catch (org.bouncycastle.operator.OperatorCreationException | IOException e) {
            throw new KeyFormatException("cannot encrypt the private key (PBKDF2-HMAC-SHA256 / AES-256-CBC "
                    + "unavailable?): check the JDK's crypto policy", e);
        } finally {
            Arrays.fill(seed, (byte) 0);
            Arrays.fill(der, (byte) 0);
        }
    }

    /**
     * The public key as X.509 SubjectPublicKeyInfo PEM.
     *
     * @param key the public key; not {@code null}
     * @return the PEM text
     */
    public static String publicKeyToPem(NodePublicKey key) {
        InvalidArgumentException.requireNonNull(key, "key");
        try {
            return writePem(new PemObject("PUBLIC KEY", key.x509()));
        } catch (IOException e) {
            throw new IllegalStateException("writing PEM to memory failed", e);
        }
    }

    /**
     * Reads an unencrypted PKCS#8 private key.
     *
     * @param pem the PEM text
     * @return the key pair
     * @throws KeyFormatException     if it is not an Ed25519 PKCS#8 key
     * @throws WrongPasswordException if the key is encrypted
     */
    public static NodeKeyPair readPrivateKey(String pem) {
        return readPrivateKey(pem, null);
    }

    /**
     * Reads a private key, decrypting it if it is encrypted.
     *
     * @param pem      the PEM text
     * @param password the password, or {@code null} for an unencrypted key
     * @return the key pair
     * @throws WrongPasswordException if the password is wrong, or missing for an encrypted key
     * @throws KeyFormatException     if the text is not an Ed25519 private key
     */
    public static NodeKeyPair readPrivateKey(String pem, char[] password) {
        InvalidArgumentException.requireNonNull(pem, "pem");
        Object obj = readPemObject(pem);
        PrivateKeyInfo info;
        if (obj instanceof PKCS8EncryptedPrivateKeyInfo enc) {
            if (password == null) {
                throw new WrongPasswordException("this private key is encrypted: pass its password", null);
            }
            try {
                info = enc.decryptPrivateKeyInfo(new JceOpenSSLPKCS8DecryptorProviderBuilder().setProvider(BC).build(password));
            } catch (Exception e) {
                throw new WrongPasswordException("cannot decrypt the private key: the password is wrong "
                        + "(or the file is corrupted); try again with the password it was saved with", e);
            }
        } else if (obj instanceof PrivateKeyInfo p) {
            info = p;
        } else {
            throw new KeyFormatException("the PEM text holds " + describe(obj) + ", not a private key: "
                    + "pass a file that begins with -----BEGIN PRIVATE KEY----- or "
                    + "-----BEGIN ENCRYPTED PRIVATE KEY-----", null);
        }
        if (!EdECObjectIdentifiers.id_Ed25519.equals(info.getPrivateKeyAlgorithm().getAlgorithm())) {
            throw new KeyFormatException("the private key's algorithm is "
                    + info.getPrivateKeyAlgorithm().getAlgorithm() + ", not Ed25519 (1.3.101.112): depin node keys "
                    + "are Ed25519; generate one with NodeKeyPair.generate()", null);
        }
        byte[] seed = null;
        try {
            seed = ASN1OctetString.getInstance(info.parsePrivateKey()).getOctets();
            NodeKeyPair keys = NodeKeyPair.fromSeed(seed);
            if (info.hasPublicKey()) {
                byte[] pub = info.getPublicKeyData().getOctets();
                if (!Arrays.equals(pub, keys.publicKey().raw())) {
                    throw new KeyFormatException("the PKCS#8 file's public key does not match its private key: "
                            + "the file is corrupted or was tampered with", null);
                }
            }
            return keys;
        } catch (IOException | IllegalArgumentException | InvalidArgumentException e) {
            throw new KeyFormatException("the Ed25519 private key is malformed (expected a 32-byte seed): "
                    + "the file is corrupted", e);
        } finally {
            if (seed != null) {
                Arrays.fill(seed, (byte) 0);
            }
        }
    }

    /**
     * Reads an X.509 SubjectPublicKeyInfo public key.
     *
     * @param pem the PEM text
     * @return the public key
     * @throws KeyFormatException if it is not an Ed25519 public key
     */
    public static NodePublicKey readPublicKey(String pem) {
        InvalidArgumentException.requireNonNull(pem, "pem");
        Object obj = readPemObject(pem);
        if (!(obj instanceof SubjectPublicKeyInfo spki)) {
            throw new KeyFormatException("the PEM text holds " + describe(obj) + ", not a public key: pass a file "
                    + "that begins with -----BEGIN PUBLIC KEY-----", null);
        }
        try {
            return NodePublicKey.fromX509(spki.getEncoded());
        } catch (IOException | IllegalArgumentException | InvalidArgumentException e) {
            throw new KeyFormatException("the public key is not an Ed25519 key: depin node keys are Ed25519", e);
        }
    }

    /**
     * Writes the private key to a file (created with owner-only permissions where the file
     * system supports POSIX permissions; an existing file is replaced).
     *
     * @param file     the file
     * @param keys     the key pair
     * @param password the password, or {@code null} for an unencrypted file
     * @throws java.io.UncheckedIOException if the file cannot be written
     */
    public static void save(Path file, NodeKeyPair keys, char[] password) {
        InvalidArgumentException.requireNonNull(file, "file");
        byte[] text = privateKeyToPem(keys, password).getBytes(StandardCharsets.US_ASCII);
        try {
            Files.deleteIfExists(file);
            try {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException e) {
                Files.createFile(file);
            }
            Files.write(file, text, StandardOpenOption.TRUNCATE_EXISTING);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write the key file " + file + ": check the directory "
                    + "exists and is writable", e);
        } finally {
            Arrays.fill(text, (byte) 0);
        }
    }

    /**
     * Reads a private key file written by {@link #save(Path, NodeKeyPair, char[])} or OpenSSL.
     *
     * @param file     the file
     * @param password the password, or {@code null} for an unencrypted file
     * @return the key pair
     * @throws java.io.UncheckedIOException if the file cannot be read
     */
    public static NodeKeyPair load(Path file, char[] password) {
        InvalidArgumentException.requireNonNull(file, "file");
        try {
            return readPrivateKey(Files.readString(file, StandardCharsets.US_ASCII), password);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read the key file " + file, e);
        }
    }

    private static String writePem(PemObject pem) throws IOException {
        StringWriter sw = new StringWriter();
        try (PemWriter w = new PemWriter(sw)) {
            w.writeObject(pem);
        }
        return sw.toString();
    }

    private static Object readPemObject(String pem) {
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            Object obj = parser.readObject();
            if (obj == null) {
                throw new KeyFormatException("no PEM object found: the text must contain a -----BEGIN ...----- "
                        + "block", null);
            }
            return obj;
        } catch (IOException | RuntimeException e) {
            if (e instanceof KeyFormatException k) {
                throw k;
            }
            throw new KeyFormatException("the PEM text is malformed (" + e.getMessage() + "): pass the file "
                    + "unchanged, including its BEGIN/END lines", e);
        }
    }

    private static String describe(Object obj) {
        return obj.getClass().getSimpleName();
    }
}
