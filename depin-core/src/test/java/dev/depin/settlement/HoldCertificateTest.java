package dev.depin.settlement;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationException.Reason;
import dev.depin.money.MicroUsd;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Hold certificates: the one encoding, the signature, and every check a provider makes, with its reason. */
class HoldCertificateTest {
    private static final NodeKeyPair LEDGER = NodeKeyPair.fromSeed(new byte[32]);
    private static final NodeKeyPair OTHER_LEDGER = NodeKeyPair.fromSeed(filled(7));
    private static final NodeKeyPair NODE = NodeKeyPair.fromSeed(filled(1));
    private static final NodeKeyPair OTHER_NODE = NodeKeyPair.fromSeed(filled(2));
    private static final String SPEC = "ab".repeat(32);
    private static final Instant EXPIRES = Instant.parse("2026-12-05T08:00:00.123Z");
    private static final dev.depin.money.Price PRICE = new dev.depin.money.Price(MicroUsd.ofMicros(250),
            MicroUsd.ofMicros(10_000));

    private static byte[] filled(int b) {
        byte[] s = new byte[32];
        java.util.Arrays.fill(s, (byte) b);
        return s;
    }

    private static Operation.Hold hold(String spec) {
        return new Operation.Hold(OperationKey.of("s/job1/1/hold"), AccountId.of("buyer:acme"),
                Escrow.providerAccount(NODE.nodeId()), MicroUsd.ofMicros(12_345), EXPIRES, Optional.of(spec));
    }

    @Test
    void issue_encodesTheCanonicalPayloadAndParsesBackToTheSameCertificate() {
        HoldCertificate c = HoldCertificate.issue(hold(SPEC), LEDGER);
        String expected = "depin-hold-certificate v1\n"
                + "ledger " + LEDGER.nodeId().hex() + "\n"
                + "hold s/job1/1/hold\n"
                + "buyer buyer:acme\n"
                + "payee provider:" + NODE.nodeId().hex() + "\n"
                + "amount 12345\n"
                + "spec " + SPEC + "\n"
                + "expires " + EXPIRES.toEpochMilli() + "\n";
        assertEquals(expected, new String(c.envelope().payload(), StandardCharsets.US_ASCII));
        assertEquals(HoldCertificate.PAYLOAD_TYPE, c.envelope().payloadType());
        HoldCertificate back = HoldCertificate.parse(c.toBytes());
        assertEquals(c, back);
        assertArrayEquals(c.toBytes(), back.toBytes());
        assertArrayEquals(c.toBytes(), HoldCertificate.issue(hold(SPEC), LEDGER).toBytes(), "deterministic");
        back.verify(LEDGER.publicKey(), NODE.nodeId(), SPEC, PRICE, EXPIRES.minusMillis(1));
    }

    @Test
    void verify_refusesEachMismatchWithItsReason() {
        HoldCertificate c = HoldCertificate.issue(hold(SPEC), LEDGER);
        VerificationException e = assertThrows(VerificationException.class,
                () -> c.verify(OTHER_LEDGER.publicKey(), NODE.nodeId(), SPEC, PRICE, EXPIRES.minusSeconds(1)));
        assertEquals(Reason.KEY_MISMATCH, e.reason());
        assertEquals("KEY_MISMATCH: hold certificate s/job1/1/hold names ledger " + LEDGER.nodeId().shortId() + ", not the trusted ledger "
                + OTHER_LEDGER.nodeId().shortId() + ": reject the job", e.getMessage());
        e = assertThrows(VerificationException.class,
                () -> c.verify(LEDGER.publicKey(), OTHER_NODE.nodeId(), SPEC, PRICE, EXPIRES.minusSeconds(1)));
        assertEquals(Reason.PAYEE_MISMATCH, e.reason());
        assertEquals("PAYEE_MISMATCH: hold certificate s/job1/1/hold pays provider:" + NODE.nodeId().hex() + ", not this provider (provider:"
                + OTHER_NODE.nodeId().hex() + "): reject the job", e.getMessage());
        e = assertThrows(VerificationException.class,
                () -> c.verify(LEDGER.publicKey(), NODE.nodeId(), "cd".repeat(32), PRICE, EXPIRES.minusSeconds(1)));
        assertEquals(Reason.SPEC_HASH_MISMATCH, e.reason());
        assertEquals("SPEC_HASH_MISMATCH: hold certificate s/job1/1/hold holds money for spec " + SPEC + ", not for the spec sent ("
                + "cd".repeat(32) + "): reject the job", e.getMessage());
        e = assertThrows(VerificationException.class, () -> c.verify(LEDGER.publicKey(), NODE.nodeId(), SPEC, PRICE, EXPIRES));
        assertEquals(Reason.CERTIFICATE_EXPIRED, e.reason());
        assertEquals("CERTIFICATE_EXPIRED: hold certificate s/job1/1/hold expired at " + EXPIRES + " (now " + EXPIRES
                + "): the money is no longer held; reject the job", e.getMessage());
    }

    @Test
    void verify_refusesACertificateSignedByAnotherKeyThatNamesTheLedger() {
        HoldCertificate real = HoldCertificate.issue(hold(SPEC), LEDGER);
        // The same payload, signed by a key that is not the ledger's.
        Envelope forged = Envelope.sign(HoldCertificate.PAYLOAD_TYPE, real.envelope().payload(), OTHER_LEDGER);
        HoldCertificate f = HoldCertificate.parse(forged.toJsonBytes());
        VerificationException e = assertThrows(VerificationException.class,
                () -> f.verify(LEDGER.publicKey(), NODE.nodeId(), SPEC, PRICE, EXPIRES.minusSeconds(1)));
        assertEquals(Reason.KEY_MISMATCH, e.reason());
    }

    @Test
    void verify_refusesAnAlteredAmount() {
        HoldCertificate real = HoldCertificate.issue(hold(SPEC), LEDGER);
        String json = new String(real.toBytes(), StandardCharsets.UTF_8);
        String payload = new String(real.envelope().payload(), StandardCharsets.US_ASCII).replace("amount 12345",
                "amount 99999");
        String b64 = java.util.Base64.getEncoder().encodeToString(real.envelope().payload());
        String tampered = json.replace(b64, java.util.Base64.getEncoder().encodeToString(
                payload.getBytes(StandardCharsets.US_ASCII)));
        HoldCertificate t = HoldCertificate.parse(tampered.getBytes(StandardCharsets.UTF_8));
        assertEquals(MicroUsd.ofMicros(99_999), t.amount());
        VerificationException e = assertThrows(VerificationException.class,
                () -> t.verify(LEDGER.publicKey(), NODE.nodeId(), SPEC, PRICE, EXPIRES.minusSeconds(1)));
        assertEquals(Reason.BAD_SIGNATURE, e.reason());
    }

    @Test
    void parse_refusesEveryOtherEncoding() {
        HoldCertificate real = HoldCertificate.issue(hold(SPEC), LEDGER);
        String p = new String(real.envelope().payload(), StandardCharsets.US_ASCII);
        String[] bad = {
            p.replace("amount 12345", "amount 012345"),
            p.replace("amount 12345", "amount  12345"),
            p.replace("\nexpires", "\nexpires_at"),
            p + "extra 1\n",
            p.substring(0, p.length() - 1),
            p.replace("v1", "v2"),
            p.replace("spec " + SPEC, "spec " + SPEC.toUpperCase()),
        };
        for (String b : bad) {
            byte[] env = Envelope.sign(HoldCertificate.PAYLOAD_TYPE, b.getBytes(StandardCharsets.US_ASCII), LEDGER)
                    .toJsonBytes();
            VerificationException e = assertThrows(VerificationException.class, () -> HoldCertificate.parse(env), b);
            assertEquals(Reason.MALFORMED_STATEMENT, e.reason(), b);
        }
        byte[] otherType = Envelope.sign("application/vnd.example+json", real.envelope().payload(), LEDGER).toJsonBytes();
        assertEquals(Reason.WRONG_PAYLOAD_TYPE,
                assertThrows(VerificationException.class, () -> HoldCertificate.parse(otherType)).reason());
        assertEquals(Reason.MALFORMED_ENVELOPE, assertThrows(VerificationException.class,
                () -> HoldCertificate.parse(new byte[HoldCertificate.MAX_BYTES + 1])).reason());
        assertThrows(InvalidArgumentException.class, () -> HoldCertificate.issue(new Operation.Hold(
                OperationKey.of("h"), AccountId.of("buyer:a"), AccountId.of("provider:b"), MicroUsd.ofMicros(1), EXPIRES),
                LEDGER));
        assertThrows(InvalidArgumentException.class, () -> hold("AB".repeat(32)));
    }

    private static Operation.Hold priced(dev.depin.money.Price price) {
        return new Operation.Hold(OperationKey.of("s/job1/1/hold"), AccountId.of("buyer:acme"),
                Escrow.providerAccount(NODE.nodeId()), MicroUsd.ofMicros(12_345), EXPIRES, Optional.of(SPEC),
                Optional.of(price));
    }

    @Test
    void issue_namesTheHoldsPriceOnANinthLineAndTheProviderChecksIt() {
        HoldCertificate c = HoldCertificate.issue(priced(PRICE), LEDGER);
        String p = new String(c.envelope().payload(), StandardCharsets.US_ASCII);
        assertEquals(new String(HoldCertificate.issue(hold(SPEC), LEDGER).envelope().payload(),
                StandardCharsets.US_ASCII) + "price 250/10000\n", p);
        HoldCertificate back = HoldCertificate.parse(c.toBytes());
        assertEquals(c, back);
        assertEquals(Optional.of(PRICE), back.price());
        back.verify(LEDGER.publicKey(), NODE.nodeId(), SPEC, PRICE, EXPIRES.minusMillis(1));
        dev.depin.money.Price other = new dev.depin.money.Price(MicroUsd.ofMicros(249), MicroUsd.ofMicros(10_000));
        VerificationException e = assertThrows(VerificationException.class,
                () -> back.verify(LEDGER.publicKey(), NODE.nodeId(), SPEC, other, EXPIRES.minusMillis(1)));
        assertEquals(Reason.PRICE_MISMATCH, e.reason());
        assertEquals("PRICE_MISMATCH: hold certificate s/job1/1/hold holds money at price 250/10000 micro-USD per "
                + "device-second/GB, not at this provider's price 249/10000 micro-USD per device-second/GB: the buyer's "
                + "claim bound would not pay it; reject the job", e.getMessage());
        // A certificate without a price is one whose claim only the hold bounds: any provider price passes.
        HoldCertificate.issue(hold(SPEC), LEDGER).verify(LEDGER.publicKey(), NODE.nodeId(), SPEC, other,
                EXPIRES.minusMillis(1));
        for (String b : new String[] {p.replace("price 250/10000", "price 250"), p.replace("price 250", "price 0250"),
            p.replace("price 250", "price -250"), p.replace("price 250/10000", "price 250/10000/1"),
            p.replace("price 250", "cost 250"), p.replace("price 250", "price x"), p + "price 1/1\n"}) {
            byte[] env = Envelope.sign(HoldCertificate.PAYLOAD_TYPE, b.getBytes(StandardCharsets.US_ASCII), LEDGER)
                    .toJsonBytes();
            assertEquals(Reason.MALFORMED_STATEMENT,
                    assertThrows(VerificationException.class, () -> HoldCertificate.parse(env), b).reason(), b);
        }
        assertEquals("hold h names a price but no job spec: a price bounds the claim of one job, give the hold its "
                + "spec hash too", assertThrows(InvalidArgumentException.class, () -> new Operation.Hold(
                OperationKey.of("h"), AccountId.of("buyer:a"), AccountId.of("provider:b"), MicroUsd.ofMicros(1), EXPIRES,
                Optional.empty(), Optional.of(PRICE))).getMessage());
    }
}
