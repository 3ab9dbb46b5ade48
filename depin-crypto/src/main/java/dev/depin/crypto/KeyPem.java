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
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
 * NodeKeyPair me = KeyPem.loadOrCreate(Path.of("node.key"), password); // generated on first start
 * }</pre>
 *
 * <p>A password is given exactly for encrypted keys: an encrypted key read without one
 * fails with {@link PasswordRequiredException}, an unencrypted one read with one with
 * {@link UnencryptedKeyException}, a wrong one with {@link WrongPasswordException}, a
 * damaged file with {@link KeyFormatException}, and a file that cannot be read or written
 * with {@link KeyFileException}. Encrypted files are the standard PKCS#8
 * EncryptedPrivateKeyInfo, which {@code openssl pkey -in node.key} reads.
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
     * @throws KeyFormatException        if it is not an Ed25519 PKCS#8 key
     * @throws PasswordRequiredException if the key is encrypted
     */
    public static NodeKeyPair readPrivateKey(String pem) {
        return readPrivateKey(pem, null);
    }

    /**
     * Reads a private key, decrypting it if it is encrypted. A password must be given
     * exactly when the key is encrypted.
     *
     * @param pem      the PEM text
     * @param password the password of an encrypted key, or {@code null} for an unencrypted one
     * @return the key pair
     * @throws PasswordRequiredException if the key is encrypted and no password was given
     * @throws UnencryptedKeyException  if a password was given but the key is not encrypted
     * @throws WrongPasswordException   if the password does not decrypt the key
     * @throws KeyFormatException       if the text is not an Ed25519 private key (corrupted,
     *                                  another algorithm, a public key)
     */
    public static NodeKeyPair readPrivateKey(String pem, char[] password) {
        InvalidArgumentException.requireNonNull(pem, "pem");
        Object obj = readPemObject(pem);
        PrivateKeyInfo info;
        if (obj instanceof PKCS8EncryptedPrivateKeyInfo enc) {
            if (password == null) {
                throw new PasswordRequiredException("this private key is encrypted but no password was given: "
                        + "give the password it was saved with");
            }
            try {
                info = enc.decryptPrivateKeyInfo(new JceOpenSSLPKCS8DecryptorProviderBuilder().setProvider(BC).build(password));
            } catch (Exception e) {
                throw new WrongPasswordException("cannot decrypt the private key: the password is wrong "
                        + "(or the file is corrupted); try again with the password it was saved with", e);
            }
        } else if (obj instanceof PrivateKeyInfo p) {
            if (password != null) {
                throw new UnencryptedKeyException("this private key is not encrypted, but a password was given: "
                        + "use it without a password, or encrypt it first (for example: openssl pkcs8 -topk8 "
                        + "-v2 aes-256-cbc -v2prf hmacWithSHA256 -iter " + PBKDF2_ITERATIONS
                        + " -in KEY -out KEY.enc) and use the encrypted file");
            }
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
     * Writes the private key to a file, replacing any file there. The text is written to a
     * temporary file in the same directory, created with owner-only permissions (0600) where
     * the file system supports POSIX permissions, forced to disk, and then renamed over
     * {@code file}, so a reader never sees half a key.
     *
     * @param file     the file; its directory is created (0700 where POSIX) if missing
     * @param keys     the key pair
     * @param password the password, or {@code null} for an unencrypted file
     * @throws KeyFileException if the file cannot be written
     */
    public static void save(Path file, NodeKeyPair keys, char[] password) {
        InvalidArgumentException.requireNonNull(file, "file");
        Path tmp = writeTemp(file, keys, password);
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new KeyFileException(KeyFileException.Reason.UNWRITABLE, "cannot write the key file " + file + " (" + e + "): check that its "
                    + "directory is writable", e);
        }
    }

    /**
     * Reads a private key file written by {@link #save(Path, NodeKeyPair, char[])} or OpenSSL.
     *
     * @param file     the file
     * @param password the password of an encrypted file, or {@code null} for an unencrypted one
     * @return the key pair
     * @throws KeyFileException          if the file does not exist or cannot be read
     * @throws PasswordRequiredException if the file is encrypted and no password was given
     * @throws UnencryptedKeyException  if a password was given but the file is not encrypted
     * @throws WrongPasswordException   if the password does not decrypt the file
     * @throws KeyFormatException       if the file does not hold an Ed25519 private key
     */
    public static NodeKeyPair load(Path file, char[] password) {
        InvalidArgumentException.requireNonNull(file, "file");
        requireSafeKeyFile(file);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new KeyFileException(KeyFileException.Reason.NOT_FOUND, "there is no key file " + file
                    + ": check the path, or let loadOrCreate make a new key there", e);
        } catch (IOException e) {
            throw new KeyFileException(KeyFileException.Reason.UNREADABLE, "cannot read the key file " + file + " ("
                    + e.getMessage() + "): check that it is a readable file", e);
        }
        try {
            return readPrivateKey(text, password);
        } catch (KeyFormatException e) {
            throw relabel(e, file);
        }
    }

    /**
     * A node's identity from its key file, made on first start: if {@code file} does not
     * exist, a new key pair is generated and saved there (owner-only permissions, encrypted
     * when a password is given) and returned; otherwise the file is read as by
     * {@link #load(Path, char[])}. Two processes starting at once on the same path end up
     * with the same key: the file is created only if it still does not exist, atomically.
     *
     * @param file     the key file; its directory is created (0700 where POSIX) if missing
     * @param password the password to encrypt a new key with and to decrypt an existing one,
     *                 or {@code null} for an unencrypted file
     * @return the key pair stored in {@code file}
     * @throws KeyFileException          if the file cannot be read or written
     * @throws PasswordRequiredException if the file is encrypted and no password was given
     * @throws UnencryptedKeyException  if a password was given but the file is not encrypted
     * @throws WrongPasswordException   if the password does not decrypt the file
     * @throws KeyFormatException       if the file does not hold an Ed25519 private key
     * @throws InvalidArgumentException if the password is empty
     */
    public static NodeKeyPair loadOrCreate(Path file, char[] password) {
        InvalidArgumentException.requireNonNull(file, "file");
        if (Files.exists(file)) {
            return load(file, password);
        }
        NodeKeyPair keys = NodeKeyPair.generate();
        Path tmp = writeTemp(file, keys, password);
        try {
            try {
                // A hard link fails if the name exists: create-if-absent, atomically.
                Files.createLink(file, tmp);
            } catch (UnsupportedOperationException | FileSystemException e) {
                if (e instanceof FileAlreadyExistsException) {
                    throw e;
                }
                Files.move(tmp, file);
            }
            return keys;
        } catch (FileAlreadyExistsException e) {
            return load(file, password);
        } catch (IOException e) {
            throw new KeyFileException(KeyFileException.Reason.UNWRITABLE, "cannot create the key file " + file + " (" + e + "): check that its "
                    + "directory is writable", e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    private static Path writeTemp(Path file, NodeKeyPair keys, char[] password) {
        byte[] text = privateKeyToPem(keys, password).getBytes(StandardCharsets.US_ASCII);
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            if (!Files.isDirectory(dir)) {
                try {
                    Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwx------")));
                } catch (UnsupportedOperationException e) {
                    Files.createDirectories(dir);
                }
            }
            try {
                tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException e) {
                tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.wrap(text);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            return tmp;
        } catch (IOException e) {
            if (tmp != null) {
                deleteQuietly(tmp);
            }
            throw new KeyFileException(KeyFileException.Reason.UNWRITABLE, "cannot write the key file " + file + " (" + e + "): check that its "
                    + "directory exists or can be created, and is writable", e);
        } finally {
            Arrays.fill(text, (byte) 0);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // A stray temporary file holds nothing a key file next to it does not.
        }
    }

    /**
     * Refuses, before a byte is read, what OpenSSH refuses and what would hang or mislead: a
     * path to nothing (a dangling link named as such), anything but a regular file (a FIFO
     * would block the reader forever), and where the file system has POSIX permissions, a key
     * that the group or others may read or write.
     */
    private static void requireSafeKeyFile(Path file) {
        if (!Files.exists(file)) {
            if (Files.isSymbolicLink(file)) {
                String target;
                try {
                    target = Files.readSymbolicLink(file).toString();
                } catch (IOException e) {
                    target = "?";
                }
                throw new KeyFileException(KeyFileException.Reason.NOT_FOUND, "the key file " + file
                        + " is a symbolic link to " + target + ", which does not exist: fix the link or the path", null);
            }
            throw new KeyFileException(KeyFileException.Reason.NOT_FOUND, "there is no key file " + file
                    + ": check the path, or let loadOrCreate make a new key there", null);
        }
        if (!Files.isRegularFile(file)) {
            throw new KeyFileException(KeyFileException.Reason.NOT_A_REGULAR_FILE, "the key file " + file
                    + " is not a regular file (" + (Files.isDirectory(file) ? "a directory" : "a FIFO, socket or device")
                    + "): give the path of the PEM file itself", null);
        }
        java.util.Set<java.nio.file.attribute.PosixFilePermission> perms;
        try {
            perms = Files.getPosixFilePermissions(file);
        } catch (UnsupportedOperationException e) {
            return; // no POSIX permissions here (e.g. Windows): the ACLs are the operator's
        } catch (IOException e) {
            throw new KeyFileException(KeyFileException.Reason.UNREADABLE, "cannot read the permissions of the key file "
                    + file + " (" + e.getMessage() + ")", e);
        }
        java.util.Set<java.nio.file.attribute.PosixFilePermission> open = java.util.EnumSet.noneOf(
                java.nio.file.attribute.PosixFilePermission.class);
        for (var p : perms) {
            if (!p.name().startsWith("OWNER_")) {
                open.add(p);
            }
        }
        if (!open.isEmpty()) {
            throw new KeyFileException(KeyFileException.Reason.TOO_OPEN, "the key file " + file + " has permissions "
                    + PosixFilePermissions.toString(perms) + ": a private key must not be open to the group or others"
                    + " (OpenSSH refuses it too); run chmod 600 " + file, null);
        }
    }

    /** The same exception type, with the file's name in front of its message. */
    private static KeyFormatException relabel(KeyFormatException e, Path file) {
        String m = "key file " + file + ": " + e.getMessage();
        if (e instanceof PasswordRequiredException) {
            return new PasswordRequiredException(m);
        } else if (e instanceof UnencryptedKeyException) {
            return new UnencryptedKeyException(m);
        } else if (e instanceof WrongPasswordException) {
            return new WrongPasswordException(m, e.getCause());
        }
        return new KeyFormatException(m, e.getCause());
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
                throw new KeyFormatException("no PEM object found (the text is empty or corrupted): pass the "
                        + "key file unchanged, with its -----BEGIN ...----- block", null);
            }
            return obj;
        } catch (IOException | RuntimeException e) {
            if (e instanceof KeyFormatException k) {
                throw k;
            }
            throw new KeyFormatException("the PEM text is corrupted (" + e.getMessage() + "): pass the file "
                    + "unchanged, including its BEGIN/END lines", e);
        }
    }

    private static String describe(Object obj) {
        return obj.getClass().getSimpleName();
    }
}
