package dev.depin.settlement;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.Hex;
import dev.depin.crypto.InclusionProof;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Version-2 hold certificates: one signed RFC 6962 root per batch, every leaf verifies, every
 * tampering is refused with its message, v1 still verifies, and the verified-root cache is bounded.
 * Random parts come from a fixed seed, printed (override with {@code -Ddepin.test.seed=...}).
 */
class HoldCertificateBatchTest {
    private static final long SEED = Long.getLong("depin.test.seed", 0x5eed_16_2026L);
    private static final NodeKeyPair LEDGER = NodeKeyPair.fromSeed(new byte[32]);
    private static final NodeKeyPair OTHER_LEDGER = NodeKeyPair.fromSeed(filled(7));
    private static final NodeKeyPair NODE = NodeKeyPair.fromSeed(filled(1));
    private static final Instant EXPIRES = Instant.parse("2026-12-06T08:00:00.250Z");
    private static final Instant NOW = EXPIRES.minusSeconds(60);
    private static final Price PRICE = new Price(MicroUsd.ofMicros(250), MicroUsd.ofMicros(10_000));

    private static byte[] filled(int b) {
        byte[] s = new byte[32];
        java.util.Arrays.fill(s, (byte) b);
        return s;
    }

    private static Random random(String test) {
        System.out.println("HoldCertificateBatchTest." + test + " seed " + SEED);
        return new Random(SEED);
    }

    /** {@code n} holds for NODE, each with its own spec, amount and (for every third) the price. */
    private static List<Operation.Hold> holds(Random r, String batch, int n) {
        List<Operation.Hold> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            byte[] spec = new byte[32];
            r.nextBytes(spec);
            out.add(new Operation.Hold(OperationKey.of("b" + batch + "/job" + i + "/1/hold"),
                    AccountId.of("buyer:b" + r.nextInt(64)), Escrow.providerAccount(NODE.nodeId()),
                    MicroUsd.ofMicros(1 + r.nextInt(1_000_000)), EXPIRES, Optional.of(Hex.encode(spec)),
                    i % 3 == 0 ? Optional.of(PRICE) : Optional.empty()));
        }
        return out;
    }

    private static String text(HoldCertificate c) {
        return new String(c.toBytes(), StandardCharsets.US_ASCII);
    }

    private static HoldCertificate parse(String text) {
        return HoldCertificate.parse(text.getBytes(StandardCharsets.US_ASCII));
    }

    private static void verify(HoldCertificate c, VerifiedRoots roots) {
        c.verify(LEDGER.publicKey(), NODE.nodeId(), c.specHash(), PRICE, NOW, roots);
    }

    private static VerificationException refused(HoldCertificate c, VerifiedRoots roots) {
        return assertThrows(VerificationException.class, () -> verify(c, roots));
    }

    /** Verifies {@code certs} on {@code threads} threads started together; returns each one's refusal, or null. */
    private static List<VerificationException> together(List<HoldCertificate> certs, VerifiedRoots roots, int threads)
            throws Exception {
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(threads);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            List<java.util.concurrent.Future<VerificationException>> out = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                HoldCertificate c = certs.get(t % certs.size());
                out.add(pool.submit(() -> {
                    start.await();
                    try {
                        verify(c, roots);
                        return null;
                    } catch (VerificationException e) {
                        return e;
                    }
                }));
            }
            List<VerificationException> refusals = new ArrayList<>();
            for (java.util.concurrent.Future<VerificationException> f : out) {
                refusals.add(f.get(30, java.util.concurrent.TimeUnit.SECONDS));
            }
            return refusals;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void verify_certificatesOfOneBatchOnManyThreadsAtOnce_checkTheRootOnce() throws Exception {
        Random r = random("verify_certificatesOfOneBatchOnManyThreadsAtOnce_checkTheRootOnce");
        for (int round = 0; round < 20; round++) {
            List<HoldCertificate> certs = HoldCertificate.issueBatch(holds(r, "t" + round, 16), LEDGER);
            VerifiedRoots roots = new VerifiedRoots(VerifiedRoots.DEFAULT_CAPACITY);
            List<VerificationException> refusals = together(certs, roots, 8);
            for (VerificationException e : refusals) {
                assertEquals(null, e, "round " + round);
            }
            assertEquals(1, roots.signatureChecks(), "round " + round + ": one root signature check for 8 threads");
            assertEquals(1, roots.size());
        }
        // A forged signature: every thread refuses its own certificate, and nothing is kept.
        List<HoldCertificate> forged = new ArrayList<>();
        for (HoldCertificate c : HoldCertificate.issueBatch(holds(r, "forged", 4), LEDGER)) {
            String t = text(c);
            String sig = t.substring(t.indexOf("\nsignature ") + 11, t.length() - 1);
            forged.add(parse(t.replace("signature " + sig, "signature " + (sig.charAt(0) == 'f' ? "e" : "f")
                    + sig.substring(1))));
        }
        VerifiedRoots roots = new VerifiedRoots(VerifiedRoots.DEFAULT_CAPACITY);
        List<VerificationException> refusals = together(forged, roots, 8);
        for (int t = 0; t < 8; t++) {
            VerificationException e = refusals.get(t);
            assertTrue(e != null, "thread " + t + " accepted a forged root");
            assertEquals(Reason.BAD_SIGNATURE, e.reason());
            assertTrue(e.getMessage().startsWith("BAD_SIGNATURE: hold certificate " + forged.get(t % 4).hold() + ": "),
                    e.getMessage());
        }
        assertEquals(0, roots.size(), "a root that failed is not kept");
        assertTrue(roots.signatureChecks() >= 1);
    }

    @Test
    void issueBatch_everyLeafOfEverySizeVerifiesWithOneRootCheckPerBatch() {
        Random r = random("issueBatch_everyLeafOfEverySizeVerifiesWithOneRootCheckPerBatch");
        List<Integer> sizes = new ArrayList<>(List.of(1, 2, 3, 1024));
        for (int k = 0; k < 4; k++) {
            sizes.add(4 + r.nextInt(1020));
        }
        for (int n : sizes) {
            List<Operation.Hold> holds = holds(r, "s" + n, n);
            List<HoldCertificate> certs = HoldCertificate.issueBatch(holds, LEDGER);
            assertEquals(n, certs.size());
            VerifiedRoots roots = new VerifiedRoots(VerifiedRoots.DEFAULT_CAPACITY);
            for (int i = 0; i < n; i++) {
                HoldCertificate c = certs.get(i);
                Operation.Hold h = holds.get(i);
                assertEquals(2, c.version());
                assertEquals(h.key(), c.hold());
                assertEquals(h.amount(), c.amount());
                assertEquals(h.price(), c.price());
                assertEquals(new InclusionProof(i, n, c.batch().get().path()), c.batch().get());
                HoldCertificate back = HoldCertificate.parse(c.toBytes());
                assertEquals(c, back, "size " + n + " leaf " + i);
                assertArrayEquals(c.toBytes(), back.toBytes());
                verify(back, roots);
                assertEquals(1, roots.size(), "one root per batch");
            }
            // Without a cache each leaf checks the root's signature itself, and passes too.
            verify(HoldCertificate.parse(certs.get(r.nextInt(n)).toBytes()), null);
            assertTrue(certs.get(n - 1).toBytes().length <= HoldCertificate.MAX_BYTES);
        }
    }

    @Test
    void issueBatch_refusesAnEmptyOrOversizedBatch() {
        Random r = random("issueBatch_refusesAnEmptyOrOversizedBatch");
        List<Operation.Hold> holds = holds(r, "big", 1025);
        assertEquals("a batch of 1025 holds: certify 1 to 1024 holds under one root (split a larger batch)",
                assertThrows(InvalidArgumentException.class, () -> HoldCertificate.issueBatch(holds, LEDGER))
                        .getMessage());
        assertEquals("a batch of 0 holds: certify 1 to 1024 holds under one root (split a larger batch)",
                assertThrows(InvalidArgumentException.class, () -> HoldCertificate.issueBatch(List.of(), LEDGER))
                        .getMessage());
    }

    @Test
    void verify_refusesEveryTamperingWithItsMessage() {
        Random r = random("verify_refusesEveryTamperingWithItsMessage");
        List<HoldCertificate> certs = HoldCertificate.issueBatch(holds(r, "t", 7), LEDGER);
        int i = 5; // of 7: its path is [leaf 4, leaf 6, root of 0..3]
        HoldCertificate c = certs.get(i);
        String t = text(c);
        String hold = c.hold().value();
        String proofMessage = "MERKLE_PROOF_INVALID: hold certificate " + hold + " is not leaf %d of the %d-hold batch "
                + "whose root it names: its fields, leaf index, size, audit path or root were altered; reject the job";

        HoldCertificate payload = parse(t.replace("amount " + c.amount().micros(), "amount " + (c.amount().micros() + 1)));
        VerificationException e = refused(payload, new VerifiedRoots(8));
        assertEquals(Reason.MERKLE_PROOF_INVALID, e.reason());
        assertEquals(String.format(proofMessage, i, 7), e.getMessage());

        HoldCertificate index = parse(t.replace("\nleaf " + i + "\n", "\nleaf " + (i + 1) + "\n"));
        assertEquals(String.format(proofMessage, i + 1, 7), refused(index, new VerifiedRoots(8)).getMessage());

        List<byte[]> path = c.batch().get().path();
        String first = Hex.encode(path.get(0));
        String flipped = (first.charAt(0) == '0' ? "1" : "0") + first.substring(1);
        HoldCertificate pathed = parse(t.replace("path " + first, "path " + flipped));
        assertEquals(String.format(proofMessage, i, 7), refused(pathed, new VerifiedRoots(8)).getMessage());

        String root = t.substring(t.indexOf("\nroot ") + 6, t.indexOf("\nroot ") + 70);
        String otherRoot = (root.charAt(0) == 'a' ? "b" : "a") + root.substring(1);
        HoldCertificate rooted = parse(t.replace("root " + root, "root " + otherRoot));
        assertEquals(String.format(proofMessage, i, 7), refused(rooted, new VerifiedRoots(8)).getMessage());

        HoldCertificate smaller = parse(t.replace("\nsize 7\n", "\nsize 6\n"));
        assertEquals(String.format(proofMessage, i, 6), refused(smaller, new VerifiedRoots(8)).getMessage());
        // Leaf 5's path leads to the same root in a tree of 8 as of 7: only the signed size tells them apart.
        HoldCertificate larger = parse(t.replace("\nsize 7\n", "\nsize 8\n"));
        e = refused(larger, new VerifiedRoots(8));
        assertEquals("BAD_SIGNATURE: hold certificate " + hold + ": the ledger's signature on its batch root (8 holds) "
                + "does not verify under " + LEDGER.nodeId().shortId() + ": the root, the size or the signature was "
                + "altered; reject the job", e.getMessage());

        String sig = t.substring(t.indexOf("\nsignature ") + 11, t.length() - 1);
        String otherSig = (sig.charAt(0) == 'f' ? "e" : "f") + sig.substring(1);
        HoldCertificate signed = parse(t.replace("signature " + sig, "signature " + otherSig));
        e = refused(signed, new VerifiedRoots(8));
        assertEquals(Reason.BAD_SIGNATURE, e.reason());
        assertEquals("BAD_SIGNATURE: hold certificate " + hold + ": the ledger's signature on its batch root (7 holds) "
                + "does not verify under " + LEDGER.nodeId().shortId() + ": the root, the size or the signature was "
                + "altered; reject the job", e.getMessage());

        // The untouched certificate still verifies, and a verified root does not vouch for others.
        VerifiedRoots roots = new VerifiedRoots(8);
        verify(c, roots);
        assertEquals(String.format(proofMessage, i, 7), refused(rooted, roots).getMessage());
        assertEquals(Reason.BAD_SIGNATURE, refused(signed, new VerifiedRoots(8)).reason());

        e = assertThrows(VerificationException.class,
                () -> c.verify(OTHER_LEDGER.publicKey(), NODE.nodeId(), c.specHash(), PRICE, NOW, roots));
        assertEquals("KEY_MISMATCH: hold certificate " + hold + " names ledger " + LEDGER.nodeId().shortId()
                + ", not the trusted ledger " + OTHER_LEDGER.nodeId().shortId() + ": reject the job", e.getMessage());
        e = assertThrows(VerificationException.class,
                () -> c.verify(LEDGER.publicKey(), NODE.nodeId(), c.specHash(), PRICE, EXPIRES, roots));
        assertEquals(Reason.CERTIFICATE_EXPIRED, e.reason());
    }

    @Test
    void verify_refusesALeafPresentedWithAnotherBatchsRootOrAForgedTree() {
        Random r = random("verify_refusesALeafPresentedWithAnotherBatchsRootOrAForgedTree");
        HoldCertificate a = HoldCertificate.issueBatch(holds(r, "a", 5), LEDGER).get(2);
        HoldCertificate b = HoldCertificate.issueBatch(holds(r, "b", 5), LEDGER).get(2);
        VerifiedRoots roots = new VerifiedRoots(8);
        verify(a, roots);
        verify(b, roots);
        String ta = text(a);
        String tb = text(b);
        // a's leaf and path with b's signed root: b's root is genuine and cached, but a's leaf is not in it.
        String swapped = ta.substring(0, ta.indexOf("\nroot ")) + tb.substring(tb.indexOf("\nroot "));
        VerificationException e = refused(parse(swapped), roots);
        assertEquals(Reason.MERKLE_PROOF_INVALID, e.reason());
        assertEquals("MERKLE_PROOF_INVALID: hold certificate " + a.hold() + " is not leaf 2 of the 5-hold batch whose "
                + "root it names: its fields, leaf index, size, audit path or root were altered; reject the job",
                e.getMessage());

        // A tree of one forged leaf (amount raised) whose root the ledger never signed, with a's signature.
        String forgedLeaf = ta.substring(0, ta.indexOf("\nleaf ") + 1).replace("amount " + a.amount().micros(),
                "amount 999999999");
        byte[] value = dev.depin.crypto.Sha256.digest(dev.depin.crypto.Dsse.pae(HoldCertificate.LEAF_PAYLOAD_TYPE,
                forgedLeaf.getBytes(StandardCharsets.US_ASCII)));
        String forgedRoot = dev.depin.crypto.Hex.encode(dev.depin.crypto.Merkle.leafHash(value));
        String forged = forgedLeaf + "leaf 0\nsize 1\npath\nroot " + forgedRoot + ta.substring(ta.indexOf("\nsignature "));
        e = refused(parse(forged), roots);
        assertEquals(Reason.BAD_SIGNATURE, e.reason());
        assertEquals(2, roots.size());
    }

    @Test
    void parse_refusesHostileV2EncodingsWithTheirMessages() {
        Random r = random("parse_refusesHostileV2EncodingsWithTheirMessages");
        HoldCertificate c = HoldCertificate.issueBatch(holds(r, "p", 3), LEDGER).get(1);
        String t = text(c);
        String path = t.substring(t.indexOf("\npath") + 1, t.indexOf("\nroot "));
        String[][] cases = {
            {t.replace("\nsize 3\n", "\nsize 1025\n"), "a batch of 1025 holds is outside 1..1024"},
            {t.replace("\nsize 3\n", "\nsize 0\n"), "a batch of 0 holds is outside 1..1024"},
            {t.replace("\nleaf 1\n", "\nleaf 3\n"), "leaf index 3 is not within the batch of 3 holds"},
            {t.replace("\nleaf 1\n", "\nleaf -1\n"), "leaf index -1 is not within the batch of 3 holds"},
            {t.replace("\nleaf 1\n", "\nleaf x\n"), "the leaf index 'x' or batch size '3' is not a decimal number"},
            {t.replace("\nleaf 1\n", "\nleaf 01\n"), "its fields are not in their one canonical form"},
            {t.replace(path, path + (" " + "ab".repeat(32)).repeat(10)),
                "an audit path of " + (c.batch().get().path().size() + 10) + " hashes is longer than the 10 a batch of "
                    + "at most 1024 holds has"},
            {t.replace(path, path.toUpperCase().replace("PATH", "path")),
                "audit path hash '" + Hex.encode(c.batch().get().path().get(0)).toUpperCase()
                    + "' is not 64 lower-case hex characters"},
            {t.replace(path, path + " "), "audit path hash '' is not 64 lower-case hex characters"},
            {t.replace(path, "paths"), "line 11 is not 'path <64 hex> ...'"},
            {t.replace("\nsignature ", "\nsignature 00"), "the signature is not 128 lower-case hex characters"},
            {t.replace("\nroot ", "\nroot 0"), "the root '0" + t.substring(t.indexOf("\nroot ") + 6, t.indexOf("\nroot ") + 70)
                + "' is not 64 lower-case hex characters"},
            {t + "extra 1\nextra 2\n", "a v2 certificate is 13 lines (or 14 with a price) starting 'depin-hold-certificate v2'"},
            {t.replace("\nleaf ", "\nindex "), "line 9 is not 'leaf <value>'"},
            {t.replace("\namount ", "\namount 0"), "its fields are not in their one canonical form"},
            {t.replace("\nleaf 1\n", "\nleaf +1\n"), "its fields are not in their one canonical form"},
            {t.replace("\nsize 3\n", "\nsize +3\n"), "its fields are not in their one canonical form"},
            {t.replace("\nsize 3\n", "\nsize 03\n"), "its fields are not in their one canonical form"},
            {t.replace(path, path.replace(" ", "  ")), "audit path hash '' is not 64 lower-case hex characters"},
            {t.replace("\nexpires ", "\nexpires +"), "its fields are not in their one canonical form"},
        };
        for (String[] k : cases) {
            VerificationException e = assertThrows(VerificationException.class, () -> parse(k[0]), k[1]);
            assertEquals(Reason.MALFORMED_STATEMENT, e.reason(), k[1]);
            assertEquals("MALFORMED_STATEMENT: malformed hold certificate: " + k[1] + "; reject it", e.getMessage());
        }
        assertEquals(Reason.MALFORMED_ENVELOPE, assertThrows(VerificationException.class,
                () -> parse(t + "x".repeat(HoldCertificate.MAX_BYTES))).reason());
    }

    /**
     * The encoding written byte by byte is the one the format describes (each part written the
     * plain way here), and parsing it gives the same certificate, for batches of awkward sizes
     * (1: no path; 2; 3; 7; 64; 65; 1024), priced and not.
     */
    @Test
    void toBytes_isTheDescribedEncodingAndParsesBack() {
        Random r = random("toBytes_isTheDescribedEncodingAndParsesBack");
        for (int n : new int[] {1, 2, 3, 7, 64, 65, 1024}) {
            List<HoldCertificate> batch = HoldCertificate.issueBatch(holds(r, "e" + n, n), LEDGER);
            for (int i : new int[] {0, n / 2, n - 1}) {
                HoldCertificate c = batch.get(i);
                StringBuilder sb = new StringBuilder("depin-hold-certificate v2\nledger ").append(LEDGER.nodeId().hex())
                        .append("\nhold ").append(c.hold().value()).append("\nbuyer ").append(c.buyer().value())
                        .append("\npayee ").append(c.payee().value()).append("\namount ").append(c.amount().micros())
                        .append("\nspec ").append(c.specHash()).append("\nexpires ").append(c.expiresAt().toEpochMilli())
                        .append('\n');
                c.price().ifPresent(p -> sb.append("price ").append(p.perDeviceSecond().micros()).append('/')
                        .append(p.perGigabyte().micros()).append('\n'));
                sb.append("leaf ").append(i).append("\nsize ").append(n).append("\npath");
                for (byte[] hash : c.batch().get().path()) {
                    sb.append(' ').append(Hex.encode(hash));
                }
                String statement = new String(c.envelope().payload(), StandardCharsets.US_ASCII);
                sb.append("\nroot ").append(statement, statement.indexOf("\nroot ") + 6, statement.length() - 1)
                        .append("\nsignature ").append(Hex.encode(c.envelope().signatures().get(0).sig())).append('\n');
                assertEquals(sb.toString(), text(c), "batch of " + n + ", leaf " + i);
                assertEquals(c, parse(sb.toString()), "batch of " + n + ", leaf " + i);
            }
        }
    }

    @Test
    void v1_stillVerifiesAndNeitherSignatureReadsAsTheOther() {
        Random r = random("v1_stillVerifiesAndNeitherSignatureReadsAsTheOther");
        Operation.Hold h = holds(r, "v1", 1).get(0);
        HoldCertificate v1 = HoldCertificate.issue(h, LEDGER);
        assertEquals(1, v1.version());
        VerifiedRoots roots = new VerifiedRoots(8);
        verify(HoldCertificate.parse(v1.toBytes()), roots);
        assertEquals(0, roots.size(), "a v1 certificate has no root to remember");

        HoldCertificate v2 = HoldCertificate.issueBatch(List.of(h), LEDGER).get(0);
        assertNotEquals(v1, v2);
        // A batch of one: no path, and the root is the leaf's hash.
        assertEquals(List.of(), v2.batch().get().path());
        verify(v2, roots);
        // v1's signature (over its payload) put where a root's signature goes: refused.
        String t = text(v2);
        String v1sig = Hex.encode(v1.envelope().signatures().get(0).sig());
        String mixed = t.substring(0, t.indexOf("\nsignature ")) + "\nsignature " + v1sig + "\n";
        assertEquals(Reason.BAD_SIGNATURE, refused(parse(mixed), new VerifiedRoots(8)).reason());
        // The batch statement's envelope read as a v1 certificate: the wrong payload type.
        byte[] statement = v2.envelope().toJsonBytes();
        VerificationException e = assertThrows(VerificationException.class, () -> HoldCertificate.parse(statement));
        assertEquals(Reason.WRONG_PAYLOAD_TYPE, e.reason());
        // A v1 payload signed as if it were a batch statement does not parse as a v1 certificate either.
        byte[] retyped = Envelope.sign(HoldCertificate.BATCH_PAYLOAD_TYPE, v1.envelope().payload(), LEDGER).toJsonBytes();
        assertEquals(Reason.WRONG_PAYLOAD_TYPE,
                assertThrows(VerificationException.class, () -> HoldCertificate.parse(retyped)).reason());
    }

    @Test
    void verifiedRoots_isBoundedAndForgetsTheLeastRecentlyUsed() {
        Random r = random("verifiedRoots_isBoundedAndForgetsTheLeastRecentlyUsed");
        VerifiedRoots roots = new VerifiedRoots(3);
        List<HoldCertificate> firsts = new ArrayList<>();
        for (int b = 0; b < 10; b++) {
            HoldCertificate c = HoldCertificate.issueBatch(holds(r, "lru" + b, 1 + r.nextInt(9)), LEDGER).get(0);
            firsts.add(c);
            verify(c, roots);
            assertTrue(roots.size() <= 3, "bounded");
        }
        assertEquals(3, roots.size());
        assertEquals(3, roots.capacity());
        // Forgotten roots are checked again, and still pass.
        verify(firsts.get(0), roots);
        assertEquals(3, roots.size());
        assertEquals("a cache of 0 verified roots: keep 1 to 1000000 (every root it forgets is checked again)",
                assertThrows(InvalidArgumentException.class, () -> new VerifiedRoots(0)).getMessage());
        assertThrows(InvalidArgumentException.class, () -> new VerifiedRoots(1_000_001));
    }

    @Test
    void fromProof_rebuildsEachCertificateOfABatchByteForByte_andChecksItsLengths() {
        Random r = random("fromProof");
        for (int n : new int[] {1, 2, 3, 255, 1024}) {
            List<Operation.Hold> holds = holds(r, "proof" + n, n);
            List<HoldCertificate> certs = HoldCertificate.issueBatch(holds, LEDGER);
            VerifiedRoots roots = new VerifiedRoots(4);
            for (int i = 0; i < n; i++) {
                HoldCertificate c = certs.get(i);
                InclusionProof p = c.batch().orElseThrow();
                HoldCertificate rebuilt = HoldCertificate.fromProof(holds.get(i), LEDGER.nodeId(), p.leafIndex(),
                        p.leafCount(), p.path(), c.batchRoot(), c.envelope().signatures().get(0).sig());
                assertEquals(c, rebuilt, "hold " + i + " of " + n);
                assertEquals(text(c), text(rebuilt), "hold " + i + " of " + n);
                verify(rebuilt, roots);
            }
        }
        List<Operation.Hold> holds = holds(r, "proofbad", 3);
        HoldCertificate c = HoldCertificate.issueBatch(holds, LEDGER).get(1);
        InclusionProof p = c.batch().orElseThrow();
        byte[] root = c.batchRoot();
        byte[] sig = c.envelope().signatures().get(0).sig();
        assertEquals("MALFORMED_STATEMENT: malformed hold certificate: a batch of 1025 holds is outside 1..1024; reject it",
                assertThrows(VerificationException.class, () -> HoldCertificate.fromProof(holds.get(1), LEDGER.nodeId(),
                        0, 1025, p.path(), root, sig)).getMessage());
        assertEquals("MALFORMED_STATEMENT: malformed hold certificate: leaf index 3 is not within the batch of 3 holds; reject it",
                assertThrows(VerificationException.class, () -> HoldCertificate.fromProof(holds.get(1), LEDGER.nodeId(),
                        3, 3, p.path(), root, sig)).getMessage());
        assertEquals("MALFORMED_STATEMENT: malformed hold certificate: an audit path hash is not 32 bytes; reject it",
                assertThrows(VerificationException.class, () -> HoldCertificate.fromProof(holds.get(1), LEDGER.nodeId(),
                        1, 3, List.of(new byte[32], new byte[33]), root, sig)).getMessage());
        assertEquals("MALFORMED_STATEMENT: malformed hold certificate: an audit path of 11 hashes is longer than the 10 a batch of at most "
                        + "1024 holds has; reject it",
                assertThrows(VerificationException.class, () -> HoldCertificate.fromProof(holds.get(1), LEDGER.nodeId(),
                        1, 3, java.util.Collections.nCopies(11, new byte[32]), root, sig)).getMessage());
        // a proof moved to another hold, or under another ledger's id, does not pass the checks
        HoldCertificate moved = HoldCertificate.fromProof(holds.get(0), LEDGER.nodeId(), p.leafIndex(), p.leafCount(),
                p.path(), root, sig);
        assertThrows(VerificationException.class, () -> verify(moved, null));
        HoldCertificate other = HoldCertificate.fromProof(holds.get(1), OTHER_LEDGER.nodeId(), p.leafIndex(),
                p.leafCount(), p.path(), root, sig);
        assertThrows(dev.depin.DepinException.class, () -> other.verify(LEDGER.publicKey(), NODE.nodeId(),
                other.specHash(), PRICE, NOW));
    }

    @Test
    void fromProof_sharesTheStatementOnlyOfTheSameBatch_andItsRootIsCheckedOnce() {
        Random r = random("fromProofShared");
        for (int n : new int[] {1, 2, 7, 255}) {
            List<Operation.Hold> holds = holds(r, "shared" + n, n);
            List<HoldCertificate> certs = HoldCertificate.issueBatch(holds, LEDGER);
            VerifiedRoots roots = new VerifiedRoots(4);
            HoldCertificate first = null;
            HoldCertificate previous = null;
            for (int i = 0; i < n; i++) {
                HoldCertificate c = certs.get(i);
                InclusionProof p = c.batch().orElseThrow();
                HoldCertificate rebuilt = HoldCertificate.fromProof(holds.get(i), LEDGER.nodeId(), p.leafIndex(),
                        p.leafCount(), p.path(), c.batchRoot(), c.envelope().signatures().get(0).sig(), previous);
                assertEquals(c, rebuilt, "hold " + i + " of " + n);
                assertEquals(text(c), text(rebuilt), "hold " + i + " of " + n);
                if (first == null) {
                    first = rebuilt;
                }
                assertSame(first.envelope(), rebuilt.envelope(), "hold " + i + " of " + n);
                verify(rebuilt, roots);
                previous = rebuilt;
            }
            assertEquals(1, roots.signatureChecks(), "one signature check for the " + n + " holds of one batch");
        }
        // a statement of another batch (another root, size, signature or ledger) is never shared
        List<Operation.Hold> holds = holds(r, "sharedother", 4);
        List<HoldCertificate> certs = HoldCertificate.issueBatch(holds, LEDGER);
        HoldCertificate c = certs.get(1);
        InclusionProof p = c.batch().orElseThrow();
        byte[] root = c.batchRoot();
        byte[] sig = c.envelope().signatures().get(0).sig();
        HoldCertificate before = HoldCertificate.fromProof(holds.get(0), LEDGER.nodeId(), 0, 4,
                certs.get(0).batch().orElseThrow().path(), root, sig, null);
        HoldCertificate otherBatch = HoldCertificate.issueBatch(holds(r, "sharedthird", 4), LEDGER).get(0);
        byte[] badSig = sig.clone();
        badSig[5] ^= 1;
        byte[] badRoot = root.clone();
        badRoot[31] ^= (byte) 0x80;
        HoldCertificate forged = HoldCertificate.fromProof(holds.get(1), LEDGER.nodeId(), p.leafIndex(), 4, p.path(), root,
                badSig, before);
        assertNotSame(before.envelope(), forged.envelope());
        assertEquals(VerificationException.Reason.BAD_SIGNATURE, refused(forged, new VerifiedRoots(4)).reason());
        HoldCertificate moved = HoldCertificate.fromProof(holds.get(1), LEDGER.nodeId(), p.leafIndex(), 4, p.path(),
                badRoot, sig, before);
        assertNotSame(before.envelope(), moved.envelope());
        assertEquals(VerificationException.Reason.MERKLE_PROOF_INVALID, refused(moved, new VerifiedRoots(4)).reason());
        HoldCertificate resized = HoldCertificate.fromProof(holds.get(1), LEDGER.nodeId(), p.leafIndex(), 5, p.path(),
                root, sig, before);
        assertNotSame(before.envelope(), resized.envelope());
        assertThrows(VerificationException.class, () -> verify(resized, new VerifiedRoots(4)));
        assertNotSame(before.envelope(), HoldCertificate.fromProof(holds.get(1), OTHER_LEDGER.nodeId(), p.leafIndex(), 4,
                p.path(), root, sig, before).envelope());
        assertNotSame(otherBatch.envelope(), HoldCertificate.fromProof(holds.get(1), LEDGER.nodeId(), p.leafIndex(), 4,
                p.path(), root, sig, otherBatch).envelope());
        // a v1 certificate has no batch statement to share
        HoldCertificate v1 = HoldCertificate.issue(holds.get(2), LEDGER);
        HoldCertificate fromV1 = HoldCertificate.fromProof(holds.get(1), LEDGER.nodeId(), p.leafIndex(), 4, p.path(), root,
                sig, v1);
        assertNotSame(v1.envelope(), fromV1.envelope());
        verify(fromV1, new VerifiedRoots(4));
        // the same statement object under another key is checked under that key, and refused
        VerifiedRoots roots = new VerifiedRoots(4);
        HoldCertificate shared = HoldCertificate.fromProof(holds.get(1), LEDGER.nodeId(), p.leafIndex(), 4, p.path(), root,
                sig, before);
        assertSame(before.envelope(), shared.envelope());
        verify(before, roots);
        assertEquals(VerificationException.Reason.KEY_MISMATCH, assertThrows(VerificationException.class,
                () -> shared.verifyIssuer(OTHER_LEDGER.publicKey(), roots)).reason());
        verify(shared, roots);
        assertEquals(1, roots.signatureChecks());
        assertTrue(roots.verifiedLast(shared.envelope(), LEDGER.publicKey()));
        assertFalse(roots.verifiedLast(shared.envelope(), OTHER_LEDGER.publicKey()));
        assertFalse(roots.verifiedLast(c.envelope(), LEDGER.publicKey()), "an equal statement in another object");
    }
}
