package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.BadSignatureException;
import dev.depin.crypto.Dsse;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.Hex;
import dev.depin.crypto.InclusionProof;
import dev.depin.crypto.MerkleTree;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.crypto.Sha256;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A ledger's signed word that money is held for one job on one provider: the answer to a
 * hold, which the buyer sends with the job and the provider checks before it runs anything.
 *
 * <p><b>Version 1</b> ({@link #issue}): the payload is eight ASCII lines, each {@code name value},
 * in this order and nothing else ({@link #PAYLOAD_TYPE}, one {@code \n} after each line):
 * <pre>
 * depin-hold-certificate v1
 * ledger  &lt;the ledger key's node id, 64 hex&gt;
 * hold    &lt;the hold's operation key&gt;
 * buyer   &lt;the payer's account&gt;
 * payee   &lt;the payee's account, provider:&lt;node id&gt; for a provider&gt;
 * amount  &lt;micro-USD, decimal&gt;
 * spec    &lt;the job spec's SHA-256, 64 lower-case hex&gt;
 * expires &lt;the hold's expiry, epoch milliseconds&gt;
 * price   &lt;micro-USD per device-second&gt;/&lt;micro-USD per 10^9 bytes moved&gt;   (only if the hold names one)
 * </pre>
 * with exactly one space between name and value. The last line is there exactly when the hold
 * names the price of the offer the buyer placed the job with ({@link Operation.Hold#price()}):
 * the provider checks it is its own price, and a settlement service bounds the provider's claim
 * by it. It travels as a DSSE envelope (JSON) signed by
 * the ledger's Ed25519 key over the PAE of that payload type and payload, so it cannot pass as
 * any other depin signature.
 *
 * <p><b>Version 2</b> ({@link #issueBatch}): one signature for a batch of up to
 * {@value #MAX_BATCH} holds. Each hold's <em>leaf</em> is the same lines with the first one
 * {@code depin-hold-certificate v2}; its leaf value is SHA-256 of DSSE PAE({@link #LEAF_PAYLOAD_TYPE},
 * leaf), hashed into an RFC 6962 tree as a leaf ({@code SHA-256(0x00 || value)}). The ledger signs
 * the batch statement
 * <pre>
 * depin-hold-certificate-batch v2
 * ledger &lt;node id&gt;
 * size   &lt;holds in the batch, 1..1024&gt;
 * root   &lt;the tree's root, 64 hex&gt;
 * </pre>
 * under {@link #BATCH_PAYLOAD_TYPE} (so a v1 signature never reads as a batch root, nor a root as
 * a v1 certificate), and each certificate is its leaf followed by
 * <pre>
 * leaf      &lt;its index in the batch&gt;
 * size      &lt;the batch size&gt;
 * path      &lt;64 hex&gt; &lt;64 hex&gt; ...   (RFC 9162 audit path, leaf to root; "path" alone for a batch of one)
 * root      &lt;the root, 64 hex&gt;
 * signature &lt;the ledger's Ed25519 signature over the batch statement's PAE, 128 hex&gt;
 * </pre>
 * in plain ASCII (not JSON). A provider checks the path and the signature; with a
 * {@link VerifiedRoots} it checks each root's signature once for the whole batch.
 *
 * <p>Parsing re-encodes the fields and requires the same bytes, so each certificate of either
 * version has exactly one encoding.
 *
 * @param ledger    the id of the key that signed it
 * @param hold      the hold's key
 * @param buyer     whose money is held
 * @param payee     who a post pays
 * @param amount    how much is held
 * @param specHash  the SHA-256 (hex) of the job spec the money is held for
 * @param expiresAt when the hold expires
 * @param price     the price the hold names, if any
 * @param envelope  the signed envelope: the certificate itself (v1) or its batch's statement (v2)
 * @param batch     v2: where the hold's leaf sits in the batch; empty for v1
 */
public record HoldCertificate(NodeId ledger, OperationKey hold, AccountId buyer, AccountId payee, MicroUsd amount,
                              String specHash, Instant expiresAt, Optional<Price> price, Envelope envelope,
                              Optional<InclusionProof> batch) {
    /** The DSSE payload type of a hold certificate of version 1. */
    public static final String PAYLOAD_TYPE = "application/vnd.depin.hold-certificate.v1";
    /** The type a v2 certificate's leaf is hashed under (PAE), never signed on its own. */
    public static final String LEAF_PAYLOAD_TYPE = "application/vnd.depin.hold-certificate.v2";
    /** The DSSE payload type of the batch statement whose root v2 certificates lead to. */
    public static final String BATCH_PAYLOAD_TYPE = "application/vnd.depin.hold-certificate-batch.v2";
    /** The most holds one batch (one signature) certifies. */
    public static final int MAX_BATCH = 1024;
    /** The longest audit path a batch of at most {@link #MAX_BATCH} holds has. */
    public static final int MAX_PATH = 10;
    /** The largest encoded certificate accepted. */
    public static final int MAX_BYTES = 4096;
    private static final String[] NAMES = {"ledger", "hold", "buyer", "payee", "amount", "spec", "expires"};
    private static final String FIRST = "depin-hold-certificate v1";
    private static final String FIRST_V2 = "depin-hold-certificate v2";
    private static final String BATCH_FIRST = "depin-hold-certificate-batch v2";
    private static final byte[] V2_PREFIX = (FIRST_V2 + "\n").getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ROOT_LINE = "\nroot ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SIGNATURE_LINE = "\nsignature ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HEX_DIGITS = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    /**
     * Checks the fields.
     *
     * @param ledger    the signing key's id
     * @param hold      the hold's key
     * @param buyer     the payer
     * @param payee     the payee
     * @param amount    the amount, &gt; 0
     * @param specHash  64 lower-case hex characters
     * @param expiresAt the expiry, whole milliseconds
     * @param price     the price, or empty
     * @param envelope  the envelope: of type {@link #PAYLOAD_TYPE} for v1, the batch statement
     *                  ({@link #BATCH_PAYLOAD_TYPE}) of this ledger and batch size for v2
     * @param batch     the leaf's place in its batch (v2), or empty (v1)
     * @throws InvalidArgumentException if a field is null or malformed, or the envelope does not
     *                                  fit the version
     */
    public HoldCertificate {
        InvalidArgumentException.requireNonNull(ledger, "ledger key id");
        InvalidArgumentException.requireNonNull(hold, "hold key");
        InvalidArgumentException.requireNonNull(buyer, "buyer account");
        InvalidArgumentException.requireNonNull(payee, "payee account");
        InvalidArgumentException.requireNonNull(amount, "amount");
        requireSpecHash(specHash);
        InvalidArgumentException.requireNonNull(expiresAt, "expiry");
        InvalidArgumentException.requireNonNull(price, "price (Optional.empty() for none)");
        InvalidArgumentException.requireNonNull(envelope, "envelope");
        InvalidArgumentException.requireNonNull(batch, "batch (Optional.empty() for a v1 certificate)");
        if (batch.isPresent()) {
            InclusionProof p = batch.get();
            if (p.leafCount() > MAX_BATCH || p.path().size() > MAX_PATH) {
                throw new InvalidArgumentException("a batch of " + p.leafCount() + " holds with a path of "
                        + p.path().size() + " hashes: a batch certifies 1 to " + MAX_BATCH + " holds, with at most "
                        + MAX_PATH + " hashes in a path");
            }
            if (!BATCH_PAYLOAD_TYPE.equals(envelope.payloadType()) || rootOf(envelope, ledger, p.leafCount()) == null) {
                throw new InvalidArgumentException("a v2 hold certificate's envelope must be its ledger's batch "
                        + "statement (" + BATCH_PAYLOAD_TYPE + ") for " + ledger.shortId() + " and " + p.leafCount()
                        + " holds");
            }
        }
    }

    /**
     * Signs a version-1 certificate for a hold: one signature for this hold alone (what older
     * ledgers did; {@link #issueBatch} signs one root for many).
     *
     * @param hold      the applied hold; its {@link Operation.Hold#specHash()} must be present
     * @param ledgerKey the ledger's key
     * @return the certificate
     * @throws InvalidArgumentException if an argument is null or the hold names no spec
     */
    public static HoldCertificate issue(Operation.Hold hold, NodeKeyPair ledgerKey) {
        InvalidArgumentException.requireNonNull(hold, "hold");
        InvalidArgumentException.requireNonNull(ledgerKey, "ledger key");
        String spec = specOf(hold);
        NodeId id = ledgerKey.nodeId();
        byte[] payload = encode(FIRST, id, hold.key(), hold.payer(), hold.payee(), hold.amount(), spec,
                hold.expiresAt(), hold.price());
        return new HoldCertificate(id, hold.key(), hold.payer(), hold.payee(), hold.amount(), spec, hold.expiresAt(),
                hold.price(), Envelope.sign(PAYLOAD_TYPE, payload, ledgerKey), Optional.empty());
    }

    /**
     * Certifies a batch of holds with one signature (version 2): the RFC 6962 root of their leaves,
     * signed in a batch statement; each certificate carries its leaf's audit path.
     *
     * @param holds     the applied holds, 1 to {@value #MAX_BATCH}, each naming a job spec
     * @param ledgerKey the ledger's key
     * @return one certificate per hold, in order
     * @throws InvalidArgumentException if an argument is null, the batch is empty or larger than
     *                                  {@value #MAX_BATCH}, or a hold names no spec
     */
    public static List<HoldCertificate> issueBatch(List<Operation.Hold> holds, NodeKeyPair ledgerKey) {
        InvalidArgumentException.requireNonNull(holds, "holds");
        InvalidArgumentException.requireNonNull(ledgerKey, "ledger key");
        int n = holds.size();
        if (n == 0 || n > MAX_BATCH) {
            throw new InvalidArgumentException("a batch of " + n + " holds: certify 1 to " + MAX_BATCH
                    + " holds under one root (split a larger batch)");
        }
        NodeId id = ledgerKey.nodeId();
        byte[] leaves = new byte[n * Sha256.LENGTH];
        for (int i = 0; i < n; i++) {
            Operation.Hold h = InvalidArgumentException.requireNonNull(holds.get(i), "hold");
            byte[] leaf = encode(FIRST_V2, id, h.key(), h.payer(), h.payee(), h.amount(), specOf(h), h.expiresAt(),
                    h.price());
            System.arraycopy(leafValue(leaf), 0, leaves, i * Sha256.LENGTH, Sha256.LENGTH);
        }
        MerkleTree tree = MerkleTree.of(ByteBuffer.wrap(leaves), Sha256.LENGTH);
        Envelope signed = Envelope.sign(BATCH_PAYLOAD_TYPE, batchStatement(id, n, tree.rootHex()), ledgerKey);
        List<HoldCertificate> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Operation.Hold h = holds.get(i);
            out.add(new HoldCertificate(id, h.key(), h.payer(), h.payee(), h.amount(), h.specHash().get(),
                    h.expiresAt(), h.price(), signed, Optional.of(tree.proof(i))));
        }
        return out;
    }

    /**
     * A v2 certificate rebuilt from the hold it certifies and its place in a signed batch: what a
     * settlement service's binary answer carries instead of the certificate's text (the caller
     * knows the hold it sent). The result is the certificate {@link #issueBatch} made, field for
     * field, and {@link #toBytes()} gives its text byte for byte; nothing is checked against the
     * signature here: {@link #verifyIssuer} and {@link #verify} do, as for a parsed certificate.
     *
     * @param hold      the hold as sent, naming a job spec
     * @param ledger    the id of the ledger's key
     * @param leaf      the hold's index in its batch
     * @param size      the batch's size, 1 to {@value #MAX_BATCH}
     * @param path      the audit path, leaf to root: at most {@value #MAX_PATH} hashes of 32 bytes
     * @param root      the batch's root, 32 bytes
     * @param signature the ledger's Ed25519 signature over the batch statement, 64 bytes
     * @return the certificate
     * @throws InvalidArgumentException if an argument is null or the hold names no spec
     * @throws VerificationException    ({@code MALFORMED_STATEMENT}) if a number or a length is
     *                                  out of its range
     */
    public static HoldCertificate fromProof(Operation.Hold hold, NodeId ledger, int leaf, int size, List<byte[]> path,
                                            byte[] root, byte[] signature) {
        return fromProof(hold, ledger, leaf, size, path, root, signature, null);
    }

    /**
     * {@link #fromProof(Operation.Hold, NodeId, int, int, List, byte[], byte[])}, sharing the
     * signed batch statement of {@code sameBatch} when that certificate names the same ledger,
     * batch size, root and signature (a service's answer carries the holds of one batch side by
     * side): the new certificate then takes that statement object (compared in full first)
     * instead of a new equal one, and a {@link VerifiedRoots} that checked it for
     * {@code sameBatch} finds it without hashing it again. Anything else, or null, gets a
     * statement of its own as that method makes it. The certificate is the same, field for field and byte for
     * byte, either way.
     *
     * @param hold      the hold as sent, naming a job spec
     * @param ledger    the id of the ledger's key
     * @param leaf      the hold's index in its batch
     * @param size      the batch's size, 1 to {@value #MAX_BATCH}
     * @param path      the audit path, leaf to root: at most {@value #MAX_PATH} hashes of 32 bytes
     * @param root      the batch's root, 32 bytes
     * @param signature the ledger's Ed25519 signature over the batch statement, 64 bytes
     * @param sameBatch a certificate rebuilt before, or null
     * @return the certificate
     * @throws InvalidArgumentException if an argument but {@code sameBatch} is null or the hold
     *                                  names no spec
     * @throws VerificationException    ({@code MALFORMED_STATEMENT}) if a number or a length is
     *                                  out of its range
     */
    public static HoldCertificate fromProof(Operation.Hold hold, NodeId ledger, int leaf, int size, List<byte[]> path,
                                            byte[] root, byte[] signature, HoldCertificate sameBatch) {
        InvalidArgumentException.requireNonNull(hold, "hold");
        InvalidArgumentException.requireNonNull(ledger, "ledger key id");
        InvalidArgumentException.requireNonNull(path, "audit path");
        InvalidArgumentException.requireNonNull(root, "root");
        InvalidArgumentException.requireNonNull(signature, "signature");
        String spec = specOf(hold);
        if (size < 1 || size > MAX_BATCH) {
            throw malformed("a batch of " + Integer.toUnsignedString(size) + " holds is outside 1.." + MAX_BATCH);
        }
        if (leaf < 0 || leaf >= size) {
            throw malformed("leaf index " + Integer.toUnsignedString(leaf) + " is not within the batch of " + size
                    + " holds");
        }
        if (path.size() > MAX_PATH) {
            throw malformed("an audit path of " + path.size() + " hashes is longer than the " + MAX_PATH
                    + " a batch of at most " + MAX_BATCH + " holds has");
        }
        for (byte[] h : path) {
            if (h == null || h.length != Sha256.LENGTH) {
                throw malformed("an audit path hash is not " + Sha256.LENGTH + " bytes");
            }
        }
        if (root.length != Sha256.LENGTH) {
            throw malformed("the root is " + root.length + " bytes, not " + Sha256.LENGTH);
        }
        if (signature.length != 64) {
            throw malformed("the signature is " + signature.length + " bytes, not 64");
        }
        Envelope env = sameStatement(sameBatch, ledger, size, root, signature)
                ? sameBatch.envelope
                : new Envelope(BATCH_PAYLOAD_TYPE, batchStatement(ledger, size, Hex.encode(root)),
                        List.of(new Envelope.Signature(ledger.hex(), signature)));
        return new HoldCertificate(ledger, hold.key(), hold.payer(), hold.payee(), hold.amount(), spec, hold.expiresAt(),
                hold.price(), env, Optional.of(new InclusionProof(leaf, size, path)));
    }

    /**
     * Whether {@code c}'s batch statement is exactly the one {@code ledger}, {@code size} and
     * {@code root} make, signed once with {@code signature} under {@code ledger}'s key id: the
     * envelope {@link #fromProof} would build.
     */
    private static boolean sameStatement(HoldCertificate c, NodeId ledger, int size, byte[] root, byte[] signature) {
        if (c == null || c.batch.isEmpty() || !c.ledger.equals(ledger) || c.batch.get().leafCount() != size
                || c.envelope.signatures().size() != 1) {
            return false;
        }
        Envelope.Signature s = c.envelope.signatures().get(0);
        return c.envelope.payloadType().equals(BATCH_PAYLOAD_TYPE) && s.keyid().equals(ledger.hex())
                && Arrays.equals(s.sig(), signature) && Arrays.equals(c.envelope.payload(),
                batchStatement(ledger, size, Hex.encode(root)));
    }

    /**
     * The root of a v2 certificate's batch, as its signed statement names it.
     *
     * @return 32 bytes, a new array
     * @throws IllegalStateException for a v1 certificate, which has no batch
     */
    public byte[] batchRoot() {
        if (batch.isEmpty()) {
            throw new IllegalStateException("a v1 hold certificate is signed alone: it has no batch root");
        }
        // the statement ends "root <64 hex>\n" (checked when this certificate was made: rootOf)
        byte[] statement = envelope.payload();
        return Hex.decode(new String(statement, statement.length - 1 - 2 * Sha256.LENGTH, 2 * Sha256.LENGTH,
                StandardCharsets.US_ASCII));
    }

    private static String specOf(Operation.Hold hold) {
        return hold.specHash().orElseThrow(() -> new InvalidArgumentException("hold " + hold.key()
                + " names no job spec: a certificate binds one spec, give the hold its spec hash"));
    }

    /** @return the certificate's version: 1 (signed alone) or 2 (a leaf of a signed batch) */
    public int version() {
        return batch.isPresent() ? 2 : 1;
    }

    /**
     * Reads a certificate from its encoding (the envelope's JSON for v1, the ASCII lines for v2).
     * Does not check the signature: {@link #verify} does.
     *
     * @param bytes the encoding, at most {@link #MAX_BYTES}
     * @return the certificate
     * @throws InvalidArgumentException if {@code bytes} is null
     * @throws VerificationException    ({@code MALFORMED_ENVELOPE}, {@code WRONG_PAYLOAD_TYPE},
     *                                  {@code MALFORMED_STATEMENT}) if it is not a well-formed
     *                                  hold certificate in its one encoding
     */
    public static HoldCertificate parse(byte[] bytes) {
        InvalidArgumentException.requireNonNull(bytes, "certificate bytes");
        if (bytes.length > MAX_BYTES) {
            throw new VerificationException(Reason.MALFORMED_ENVELOPE, "hold certificate of " + bytes.length
                    + " bytes is over the " + MAX_BYTES + "-byte limit: reject it");
        }
        if (bytes.length >= V2_PREFIX.length && Arrays.equals(bytes, 0, V2_PREFIX.length, V2_PREFIX, 0,
                V2_PREFIX.length)) {
            return parseV2(bytes);
        }
        Envelope env = Envelope.parse(bytes, MAX_BYTES);
        if (!PAYLOAD_TYPE.equals(env.payloadType())) {
            throw new VerificationException(Reason.WRONG_PAYLOAD_TYPE, "payload type '" + env.payloadType()
                    + "' is not a hold certificate's (" + PAYLOAD_TYPE + "): reject it");
        }
        byte[] payload = env.payload();
        String[] lines = new String(payload, StandardCharsets.US_ASCII).split("\n", -1);
        boolean priced = lines.length == NAMES.length + 3;
        if ((lines.length != NAMES.length + 2 && !priced) || !lines[0].equals(FIRST)
                || !lines[lines.length - 1].isEmpty()) {
            throw malformed("it is not " + (NAMES.length + 1) + " lines (or " + (NAMES.length + 2)
                    + " with a price) starting '" + FIRST + "'");
        }
        HoldCertificate c = fields(lines, priced, env, Optional.empty());
        if (!Arrays.equals(payload, c.leafOrPayload())) {
            throw malformed("its fields are not in their one canonical form");
        }
        return c;
    }

    private static HoldCertificate parseV2(byte[] bytes) {
        String[] lines = new String(bytes, StandardCharsets.US_ASCII).split("\n", -1);
        int trailer = 5;
        boolean priced = lines.length == NAMES.length + 3 + trailer;
        if ((lines.length != NAMES.length + 2 + trailer && !priced) || !lines[lines.length - 1].isEmpty()) {
            throw malformed("a v2 certificate is " + (NAMES.length + 1 + trailer) + " lines (or "
                    + (NAMES.length + 2 + trailer) + " with a price) starting '" + FIRST_V2 + "'");
        }
        int t = lines.length - 1 - trailer;
        String index = value(lines, t, "leaf");
        String size = value(lines, t + 1, "size");
        String path = lines[t + 2];
        String root = value(lines, t + 3, "root");
        String signature = value(lines, t + 4, "signature");
        int n;
        int i;
        try {
            n = Integer.parseInt(size);
            i = Integer.parseInt(index);
        } catch (NumberFormatException e) {
            throw malformed("the leaf index '" + abbreviate(index) + "' or batch size '" + abbreviate(size)
                    + "' is not a decimal number");
        }
        if (n < 1 || n > MAX_BATCH) {
            throw malformed("a batch of " + n + " holds is outside 1.." + MAX_BATCH);
        }
        if (i < 0 || i >= n) {
            throw malformed("leaf index " + i + " is not within the batch of " + n + " holds");
        }
        if (!path.equals("path") && !path.startsWith("path ")) {
            throw malformed("line " + (t + 3) + " is not 'path <64 hex> ...'");
        }
        String[] hashes = path.equals("path") ? new String[0] : path.substring("path ".length()).split(" ", -1);
        if (hashes.length > MAX_PATH) {
            throw malformed("an audit path of " + hashes.length + " hashes is longer than the " + MAX_PATH
                    + " a batch of at most " + MAX_BATCH + " holds has");
        }
        List<byte[]> proofPath = new ArrayList<>(hashes.length);
        for (String h : hashes) {
            if (!Hex.isLowerHex(h, 64)) {
                throw malformed("audit path hash '" + abbreviate(h) + "' is not 64 lower-case hex characters");
            }
            proofPath.add(Hex.decode(h));
        }
        if (!Hex.isLowerHex(root, 64)) {
            throw malformed("the root '" + abbreviate(root) + "' is not 64 lower-case hex characters");
        }
        if (!Hex.isLowerHex(signature, 128)) {
            throw malformed("the signature is not 128 lower-case hex characters");
        }
        NodeId ledger;
        try {
            ledger = NodeId.parse(value(lines, 1, "ledger"));
        } catch (InvalidArgumentException e) {
            throw malformed(e.getMessage());
        }
        Envelope env = new Envelope(BATCH_PAYLOAD_TYPE, batchStatement(ledger, n, root),
                List.of(new Envelope.Signature(ledger.hex(), Hex.decode(signature))));
        String[] leaf = Arrays.copyOf(lines, t + 1);
        leaf[t] = "";
        if (!leaf[0].equals(FIRST_V2)) {
            throw malformed("line 1 is not '" + FIRST_V2 + "'");
        }
        HoldCertificate c = fields(leaf, priced, env, Optional.of(new InclusionProof(i, n, proofPath)));
        // One encoding: the leaf as re-encoded from the fields, and a trailer that is already in
        // its one form once each number is written without sign or leading zeros (the hashes and
        // the signature were checked as lower-case hex of their exact lengths, the path as hashes
        // joined by single spaces, the root is the statement's): so comparing these is comparing
        // the whole of toBytes(), without encoding the trailer's hex again.
        int leafBytes = 0;
        for (int j = 0; j < t; j++) {
            leafBytes += lines[j].length() + 1;
        }
        byte[] encoded = c.leafOrPayload();
        if (encoded.length != leafBytes || !Arrays.equals(bytes, 0, leafBytes, encoded, 0, leafBytes)
                || !index.equals(Integer.toString(i)) || !size.equals(Integer.toString(n))) {
            throw malformed("its fields are not in their one canonical form");
        }
        return c;
    }

    private static String value(String[] lines, int i, String name) {
        if (!lines[i].startsWith(name + " ")) {
            throw malformed("line " + (i + 1) + " is not '" + name + " <value>'");
        }
        return lines[i].substring(name.length() + 1);
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }

    /** The hold's fields from {@code lines} (its payload or leaf, then an empty line). */
    private static HoldCertificate fields(String[] lines, boolean priced, Envelope env, Optional<InclusionProof> batch) {
        String[] v = new String[NAMES.length];
        for (int i = 0; i < NAMES.length; i++) {
            String prefix = NAMES[i] + " ";
            if (!lines[i + 1].startsWith(prefix)) {
                throw malformed("line " + (i + 2) + " is not '" + NAMES[i] + " <value>'");
            }
            v[i] = lines[i + 1].substring(prefix.length());
        }
        Optional<Price> price = Optional.empty();
        try {
            if (priced) {
                String line = lines[NAMES.length + 1];
                if (!line.startsWith("price ")) {
                    throw malformed("line " + (NAMES.length + 2) + " is not 'price <per device-second>/<per GB>'");
                }
                String[] p = line.substring("price ".length()).split("/", -1);
                if (p.length != 2) {
                    throw malformed("line " + (NAMES.length + 2) + " is not 'price <per device-second>/<per GB>'");
                }
                price = Optional.of(new Price(MicroUsd.ofMicros(Long.parseLong(p[0])),
                        MicroUsd.ofMicros(Long.parseLong(p[1]))));
            }
            return new HoldCertificate(NodeId.parse(v[0]), OperationKey.of(v[1]), AccountId.of(v[2]),
                    AccountId.of(v[3]), MicroUsd.ofMicros(Long.parseLong(v[4])), v[5],
                    Instant.ofEpochMilli(Long.parseLong(v[6])), price, env, batch);
        } catch (InvalidArgumentException | NumberFormatException | java.time.DateTimeException e) {
            throw malformed(e.getMessage());
        }
    }

    /** @return the encoding: the signed envelope's JSON (v1), or the leaf and its proof (v2) */
    public byte[] toBytes() {
        if (batch.isEmpty()) {
            return envelope.toJsonBytes();
        }
        // Written straight into the bytes (a settlement service encodes one per hold it answers):
        // the leaf, then "leaf <i>\nsize <n>\npath[ <hex>]...\nroot <hex>\nsignature <hex>\n".
        InclusionProof p = batch.get();
        byte[] leaf = leafOrPayload();
        List<byte[]> path = p.path();
        byte[] statement = envelope.payload();
        byte[] sig = envelope.signatures().get(0).sig();
        String counts = "leaf " + p.leafIndex() + "\nsize " + p.leafCount() + "\npath";
        int length = leaf.length + counts.length() + ROOT_LINE.length + 2 * Sha256.LENGTH + SIGNATURE_LINE.length
                + 2 * sig.length + 1;
        for (byte[] h : path) {
            length += 1 + 2 * h.length;
        }
        byte[] out = new byte[length];
        System.arraycopy(leaf, 0, out, 0, leaf.length);
        int at = leaf.length;
        for (int j = 0; j < counts.length(); j++) {
            out[at++] = (byte) counts.charAt(j);
        }
        for (byte[] h : path) {
            out[at++] = ' ';
            at = hex(h, out, at);
        }
        System.arraycopy(ROOT_LINE, 0, out, at, ROOT_LINE.length);
        at += ROOT_LINE.length;
        // the statement ends "root <64 hex>\n" (checked when this certificate was made: rootOf)
        System.arraycopy(statement, statement.length - 1 - 2 * Sha256.LENGTH, out, at, 2 * Sha256.LENGTH);
        at += 2 * Sha256.LENGTH;
        System.arraycopy(SIGNATURE_LINE, 0, out, at, SIGNATURE_LINE.length);
        at += SIGNATURE_LINE.length;
        at = hex(sig, out, at);
        out[at] = '\n';
        return out;
    }

    /** Writes {@code b} as lower-case hex into {@code out} from {@code at}; returns where it ended. */
    private static int hex(byte[] b, byte[] out, int at) {
        for (byte x : b) {
            out[at++] = HEX_DIGITS[(x >> 4) & 0xf];
            out[at++] = HEX_DIGITS[x & 0xf];
        }
        return at;
    }

    /**
     * What a provider checks before it admits a job: the certificate is signed by the ledger it
     * trusts, pays it, is for exactly this spec, and has not expired. A v2 certificate's root
     * signature is checked every time: {@link #verify(NodePublicKey, NodeId, String, Price, Instant,
     * VerifiedRoots)} checks it once per batch.
     *
     * @param ledgerKey the ledger's public key the provider trusts
     * @param provider  the provider's node id (the payee must be {@code provider:<node id>})
     * @param specHash  the SHA-256 (hex) of the spec the provider is asked to run
     * @param offered   the provider's own price: a certificate that names a price must name this
     * @param now       the provider's clock
     * @throws InvalidArgumentException if an argument is null
     * @throws VerificationException    as {@link #verify(NodePublicKey, NodeId, String, Price, Instant,
     *                                  VerifiedRoots)}
     */
    public void verify(NodePublicKey ledgerKey, NodeId provider, String specHash, Price offered, Instant now) {
        verify(ledgerKey, provider, specHash, offered, now, null);
    }

    /**
     * What a provider checks before it admits a job: the certificate is signed by the ledger it
     * trusts (v1: its signature; v2: its audit path to a batch root, and the root's signature
     * unless {@code roots} holds it already), pays it, is for exactly this spec, and has not
     * expired.
     *
     * @param ledgerKey the ledger's public key the provider trusts
     * @param provider  the provider's node id (the payee must be {@code provider:<node id>})
     * @param specHash  the SHA-256 (hex) of the spec the provider is asked to run
     * @param offered   the provider's own price: a certificate that names a price must name this
     * @param now       the provider's clock
     * @param roots     batch roots already verified (and where a newly verified one is kept), or
     *                  {@code null} to check every root's signature
     * @throws InvalidArgumentException if an argument other than {@code roots} is null
     * @throws VerificationException    {@code KEY_MISMATCH} or {@code BAD_SIGNATURE} (not signed
     *                                  by that ledger), {@code MERKLE_PROOF_INVALID} (a v2 leaf
     *                                  that does not lead to its root), {@code PAYEE_MISMATCH}
     *                                  (pays someone else), {@code SPEC_HASH_MISMATCH} (held for
     *                                  another job), {@code PRICE_MISMATCH} (held at another
     *                                  price), {@code CERTIFICATE_EXPIRED} (at or past its expiry)
     */
    public void verify(NodePublicKey ledgerKey, NodeId provider, String specHash, Price offered, Instant now,
                       VerifiedRoots roots) {
        InvalidArgumentException.requireNonNull(offered, "the provider's price");
        InvalidArgumentException.requireNonNull(provider, "provider");
        InvalidArgumentException.requireNonNull(specHash, "spec hash");
        InvalidArgumentException.requireNonNull(now, "now");
        verifyIssuer(ledgerKey, roots);
        AccountId expected = AccountId.of("provider:" + provider.hex());
        if (!payee.equals(expected)) {
            throw new VerificationException(Reason.PAYEE_MISMATCH, "hold certificate " + hold + " pays " + payee
                    + ", not this provider (" + expected + "): reject the job");
        }
        if (!this.specHash.equals(specHash)) {
            throw new VerificationException(Reason.SPEC_HASH_MISMATCH, "hold certificate " + hold
                    + " holds money for spec " + this.specHash + ", not for the spec sent (" + specHash
                    + "): reject the job");
        }
        if (price.isPresent() && !price.get().equals(offered)) {
            throw new VerificationException(Reason.PRICE_MISMATCH, "hold certificate " + hold + " holds money at "
                    + "price " + describe(price.get()) + ", not at this provider's price " + describe(offered)
                    + ": the buyer's claim bound would not pay it; reject the job");
        }
        if (!now.isBefore(expiresAt)) {
            throw new VerificationException(Reason.CERTIFICATE_EXPIRED, "hold certificate " + hold + " expired at "
                    + expiresAt + " (now " + now + "): the money is no longer held; reject the job");
        }
    }

    /**
     * Checks only that {@code ledgerKey} issued this certificate (what a buyer checks of the
     * certificate its ledger answered): v1, its signature; v2, its audit path to the batch root
     * and the root's signature, once per root when {@code roots} is given.
     *
     * @param ledgerKey the ledger's public key
     * @param roots     batch roots already verified (and where a newly verified one is kept), or
     *                  {@code null} to check every root's signature
     * @throws InvalidArgumentException if {@code ledgerKey} is null
     * @throws VerificationException    {@code KEY_MISMATCH}, {@code BAD_SIGNATURE} or
     *                                  {@code MERKLE_PROOF_INVALID}
     */
    public void verifyIssuer(NodePublicKey ledgerKey, VerifiedRoots roots) {
        InvalidArgumentException.requireNonNull(ledgerKey, "ledger key");
        if (!ledgerKey.nodeId().equals(ledger)) {
            throw new VerificationException(Reason.KEY_MISMATCH, "hold certificate " + hold + " names ledger "
                    + ledger.shortId() + ", not the trusted ledger " + ledgerKey.nodeId().shortId() + ": reject the job");
        }
        if (batch.isEmpty()) {
            envelope.verify(PAYLOAD_TYPE, ledgerKey);
            return;
        }
        InclusionProof p = batch.get();
        byte[] root = Hex.decode(rootOf(envelope, ledger, p.leafCount()));
        try {
            p.verify(leafValue(leafOrPayload()), root);
        } catch (VerificationException e) {
            throw new VerificationException(Reason.MERKLE_PROOF_INVALID, "hold certificate " + hold + " is not leaf "
                    + p.leafIndex() + " of the " + p.leafCount() + "-hold batch whose root it names: its fields, "
                    + "leaf index, size, audit path or root were altered; reject the job");
        }
        Runnable check = () -> {
            try {
                envelope.verify(BATCH_PAYLOAD_TYPE, ledgerKey);
            } catch (BadSignatureException e) {
                throw new VerificationException(Reason.BAD_SIGNATURE, "hold certificate " + hold + ": the ledger's "
                        + "signature on its batch root (" + p.leafCount() + " holds) does not verify under "
                        + ledger.shortId() + ": the root, the size or the signature was altered; reject the job");
            }
        };
        if (roots == null) {
            check.run();
        } else if (!roots.verifiedLast(envelope, ledgerKey)) {
            roots.verifyOnce(Hex.encode(ledgerKey.raw()) + ":" + envelope.digestHex(), check, envelope, ledgerKey);
        }
    }

    private static String describe(Price p) {
        return p.perDeviceSecond().micros() + "/" + p.perGigabyte().micros() + " micro-USD per device-second/GB";
    }

    static String requireSpecHash(String specHash) {
        InvalidArgumentException.requireNonNull(specHash, "spec hash");
        if (!Hex.isLowerHex(specHash, 64)) {
            throw new InvalidArgumentException("spec hash '" + specHash + "' must be 64 lower-case hex characters");
        }
        return specHash;
    }

    /** v1: the signed payload; v2: the leaf. */
    private byte[] leafOrPayload() {
        return encode(batch.isEmpty() ? FIRST : FIRST_V2, ledger, hold, buyer, payee, amount, specHash, expiresAt,
                price);
    }

    /** A leaf's value in the tree: SHA-256 of PAE(leaf type, leaf). */
    private static byte[] leafValue(byte[] leaf) {
        return Sha256.digest(Dsse.pae(LEAF_PAYLOAD_TYPE, leaf));
    }

    private static byte[] batchStatement(NodeId ledger, int size, String rootHex) {
        return (BATCH_FIRST + "\nledger " + ledger.hex() + "\nsize " + size + "\nroot " + rootHex + "\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** @return the root (hex) a batch statement names, or null if it is not this ledger's statement for that size */
    private static String rootOf(Envelope statement, NodeId ledger, int size) {
        String text = new String(statement.payload(), StandardCharsets.US_ASCII);
        String head = BATCH_FIRST + "\nledger " + ledger.hex() + "\nsize " + size + "\nroot ";
        if (!text.startsWith(head) || text.length() != head.length() + 65 || !text.endsWith("\n")) {
            return null;
        }
        String root = text.substring(head.length(), head.length() + 64);
        return Hex.isLowerHex(root, 64) ? root : null;
    }

    private static byte[] encode(String first, NodeId ledger, OperationKey hold, AccountId buyer, AccountId payee,
                                 MicroUsd amount, String spec, Instant expires, Optional<Price> price) {
        String text = first + "\nledger " + ledger.hex() + "\nhold " + hold.value() + "\nbuyer " + buyer.value()
                + "\npayee " + payee.value() + "\namount " + amount.micros() + "\nspec " + spec + "\nexpires "
                + expires.toEpochMilli() + "\n" + price.map(p -> "price " + p.perDeviceSecond().micros() + "/"
                + p.perGigabyte().micros() + "\n").orElse("");
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    private static VerificationException malformed(String why) {
        return new VerificationException(Reason.MALFORMED_STATEMENT, "malformed hold certificate: " + why
                + "; reject it");
    }
}
