package dev.depin.provider;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ProviderOfferTest {

    /** Fixed seed for the key seeds and uuid hash. Printed so a failure can be replayed. */
    private static final long SEED = 0x0FFE_2000_2024L;

    private static final Instant VALID_UNTIL = Instant.parse("2030-01-01T00:00:00Z");
    private static final Instant NOW = VALID_UNTIL.minus(Duration.ofMinutes(3));

    private static NodeKeyPair key;
    private static NodeKeyPair otherKey;
    private static String uuidHash;

    @BeforeAll
    static void setUp() {
        System.out.println("ProviderOfferTest seed=" + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        key = NodeKeyPair.fromSeed(randomBytes(rnd, 32));
        otherKey = NodeKeyPair.fromSeed(randomBytes(rnd, 32));
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 64; i++) {
            sb.append("0123456789abcdef".charAt(rnd.nextInt(16)));
        }
        uuidHash = sb.toString();
        assertNotEquals(key.nodeId(), otherKey.nodeId());
    }

    private static byte[] randomBytes(SplittableRandom rnd, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) rnd.nextInt(256);
        }
        return b;
    }

    private static DeviceInfo device(long memoryBytes) {
        return new DeviceInfo(DeviceKind.CUDA, "NVIDIA H100 80GB HBM3", memoryBytes, "9.0", 132, 51_000.0, uuidHash, "580.65.06", "CUDA 13.0");
    }

    private static OfferTerms terms() {
        return new OfferTerms("local:provider-1", List.of(device(80L << 30)), Region.parse("DE/fra-1"),
                Set.of("saxpy", "sgemm", "ptx"), new Price(MicroUsd.ofUsd("0.0005"), MicroUsd.ofUsd("0.01")),
                MicroUsd.ofUsd("100"), VALID_UNTIL);
    }

    private static void assertInvalid(ProviderOffer offer, Instant now, String messagePart) {
        InvalidOfferException e = assertThrowsExactly(InvalidOfferException.class, () -> offer.verify(now));
        assertTrue(e.getMessage().contains(messagePart), "expected '" + messagePart + "' in: " + e.getMessage());
    }

    @Test
    void sign_thenVerify_ok() {
        ProviderOffer offer = ProviderOffer.sign(key, terms());
        assertEquals(key.nodeId(), offer.nodeId());
        assertEquals(key.publicKey(), offer.publicKey());
        assertEquals(terms(), offer.terms());
        assertEquals(64, offer.signature().length);
        assertDoesNotThrow(() -> offer.verify(NOW));
    }

    @Test
    void sign_sameTermsTwice_sameSignature() {
        // Ed25519 is deterministic and the canonical terms are a pure function of the terms
        assertArrayEquals(ProviderOffer.sign(key, terms()).signature(), ProviderOffer.sign(key, terms()).signature());
        assertEquals(ProviderOffer.sign(key, terms()), ProviderOffer.sign(key, terms()));
    }

    @Test
    void verify_alteredTerms_rejected() {
        OfferTerms t = terms();
        ProviderOffer offer = ProviderOffer.sign(key, t);
        Map<String, OfferTerms> altered = new LinkedHashMap<>();
        altered.put("endpoint", new OfferTerms("local:provider-2", t.devices(), t.region(), t.kernels(), t.price(),
                t.stake(), t.validUntil()));
        altered.put("device memory", new OfferTerms(t.endpoint(), List.of(device((80L << 30) + 1)), t.region(),
                t.kernels(), t.price(), t.stake(), t.validUntil()));
        altered.put("extra device", new OfferTerms(t.endpoint(), List.of(device(80L << 30), device(80L << 30)),
                t.region(), t.kernels(), t.price(), t.stake(), t.validUntil()));
        altered.put("region", new OfferTerms(t.endpoint(), t.devices(), Region.parse("DE/fra-2"), t.kernels(),
                t.price(), t.stake(), t.validUntil()));
        altered.put("kernels", new OfferTerms(t.endpoint(), t.devices(), t.region(), Set.of("saxpy", "sgemm"),
                t.price(), t.stake(), t.validUntil()));
        altered.put("price per second", new OfferTerms(t.endpoint(), t.devices(), t.region(), t.kernels(),
                new Price(MicroUsd.ofMicros(t.price().perDeviceSecond().micros() - 1), t.price().perGigabyte()),
                t.stake(), t.validUntil()));
        altered.put("price per GB", new OfferTerms(t.endpoint(), t.devices(), t.region(), t.kernels(),
                new Price(t.price().perDeviceSecond(), MicroUsd.ofMicros(t.price().perGigabyte().micros() - 1)),
                t.stake(), t.validUntil()));
        altered.put("stake", new OfferTerms(t.endpoint(), t.devices(), t.region(), t.kernels(), t.price(),
                MicroUsd.ofUsd("1000"), t.validUntil()));
        altered.put("validUntil", new OfferTerms(t.endpoint(), t.devices(), t.region(), t.kernels(), t.price(),
                t.stake(), t.validUntil().plusMillis(1)));
        for (Map.Entry<String, OfferTerms> e : altered.entrySet()) {
            assertNotEquals(t, e.getValue(), e.getKey());
            ProviderOffer forged = new ProviderOffer(offer.nodeId(), offer.publicKey(), e.getValue(),
                    offer.signature());
            InvalidOfferException ex = assertThrowsExactly(InvalidOfferException.class, () -> forged.verify(NOW),
                    e.getKey());
            assertTrue(ex.getMessage().contains("not signed by its key"), e.getKey() + ": " + ex.getMessage());
        }
    }

    @Test
    void verify_signedByAnotherKeyButClaimingThisNode_rejected() {
        OfferTerms t = terms();
        byte[] otherSignature = ProviderOffer.sign(otherKey, t).signature();
        ProviderOffer forged = new ProviderOffer(key.nodeId(), key.publicKey(), t, otherSignature);
        assertInvalid(forged, NOW, "not signed by its key");
    }

    @Test
    void verify_nodeIdNotTheKeysHash_rejected() {
        // Everything is validly signed by otherKey; only the claimed node id is someone else's.
        OfferTerms t = terms();
        ProviderOffer honest = ProviderOffer.sign(otherKey, t);
        assertDoesNotThrow(() -> honest.verify(NOW));
        ProviderOffer forged = new ProviderOffer(key.nodeId(), otherKey.publicKey(), t, honest.signature());
        assertInvalid(forged, NOW, "its key hashes to");
    }

    @Test
    void verify_signatureForAnotherPayloadType_rejected() {
        OfferTerms t = terms();
        byte[] wrongDomain = dev.depin.crypto.Envelope.sign("application/vnd.depin.receipt+json", ProviderOffer.canonicalTerms(t), key)
                .signatures().get(0).sig();
        assertInvalid(new ProviderOffer(key.nodeId(), key.publicKey(), t, wrongDomain), NOW, "not signed by its key");
    }

    @Test
    void verify_flippedSignatureBit_rejected() {
        ProviderOffer offer = ProviderOffer.sign(key, terms());
        for (int bit : new int[] {0, 255, 511}) {
            byte[] sig = offer.signature();
            sig[bit / 8] ^= (byte) (1 << (bit % 8));
            assertInvalid(new ProviderOffer(offer.nodeId(), offer.publicKey(), offer.terms(), sig), NOW,
                    "not signed by its key");
        }
    }

    @Test
    void verify_expired_rejected() {
        ProviderOffer offer = ProviderOffer.sign(key, terms());
        assertDoesNotThrow(() -> offer.verify(VALID_UNTIL.minusMillis(1)));
        assertInvalid(offer, VALID_UNTIL, "expired at " + VALID_UNTIL);
        assertInvalid(offer, VALID_UNTIL.plusNanos(1), "expired at");
        assertInvalid(offer, VALID_UNTIL.plus(Duration.ofDays(365)), "expired at");
    }

    @Test
    void signature_returnsCopy() {
        ProviderOffer offer = ProviderOffer.sign(key, terms());
        byte[] original = offer.signature();
        byte[] leaked = offer.signature();
        leaked[0] ^= 0x01;
        leaked[63] ^= (byte) 0x80;
        assertArrayEquals(original, offer.signature());
        assertFalse(java.util.Arrays.equals(leaked, offer.signature()));
        assertDoesNotThrow(() -> offer.verify(NOW));
    }

    @Test
    void constructor_copiesSignature() {
        ProviderOffer signed = ProviderOffer.sign(key, terms());
        byte[] sig = signed.signature();
        ProviderOffer offer = new ProviderOffer(signed.nodeId(), signed.publicKey(), signed.terms(), sig);
        sig[10] ^= 0x04;
        assertDoesNotThrow(() -> offer.verify(NOW));
    }

    @Test
    void constructor_signatureNot64Bytes_rejected() {
        ProviderOffer signed = ProviderOffer.sign(key, terms());
        for (int len : new int[] {0, 63, 65}) {
            InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                    () -> new ProviderOffer(signed.nodeId(), signed.publicKey(), signed.terms(), new byte[len]));
            assertTrue(e.getMessage().contains("offer signature has " + len + " bytes"), e.getMessage());
        }
    }

    @Test
    void constructor_nullFields_rejected() {
        ProviderOffer s = ProviderOffer.sign(key, terms());
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                () -> new ProviderOffer(null, s.publicKey(), s.terms(), s.signature()));
        assertTrue(e.getMessage().contains("offer node id is null"), e.getMessage());
        e = assertThrowsExactly(InvalidArgumentException.class,
                () -> new ProviderOffer(s.nodeId(), null, s.terms(), s.signature()));
        assertTrue(e.getMessage().contains("offer public key is null"), e.getMessage());
        e = assertThrowsExactly(InvalidArgumentException.class,
                () -> new ProviderOffer(s.nodeId(), s.publicKey(), null, s.signature()));
        assertTrue(e.getMessage().contains("offer terms is null"), e.getMessage());
        e = assertThrowsExactly(InvalidArgumentException.class,
                () -> new ProviderOffer(s.nodeId(), s.publicKey(), s.terms(), null));
        assertTrue(e.getMessage().contains("offer signature is null"), e.getMessage());
    }

    @Test
    void canonicalTerms_kernelSetOrder_doesNotChangeSignedBytes() {
        OfferTerms t = terms();
        java.util.LinkedHashSet<String> reordered = new java.util.LinkedHashSet<>(List.of("sgemm", "ptx", "saxpy"));
        OfferTerms same = new OfferTerms(t.endpoint(), t.devices(), t.region(), reordered, t.price(), t.stake(),
                t.validUntil());
        assertArrayEquals(ProviderOffer.canonicalTerms(t), ProviderOffer.canonicalTerms(same));
        ProviderOffer offer = ProviderOffer.sign(key, t);
        assertDoesNotThrow(() -> new ProviderOffer(offer.nodeId(), offer.publicKey(), same, offer.signature())
                .verify(NOW));
    }

    // ------------------------------------------------------------------ JSON form

    private static String json(ProviderOffer o) {
        return new String(o.toJson(), java.nio.charset.StandardCharsets.UTF_8);
    }

    private static void assertRejected(String json, String messagePart) {
        InvalidOfferException e = assertThrowsExactly(InvalidOfferException.class,
                () -> ProviderOffer.fromJson(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains(messagePart), "expected '" + messagePart + "' in: " + e.getMessage());
    }

    @Test
    void toJson_fromJson_roundTripsAndStillVerifies() {
        ProviderOffer offer = ProviderOffer.sign(key, terms());
        ProviderOffer back = ProviderOffer.fromJson(offer.toJson());
        assertEquals(offer, back);
        assertEquals(offer.digest(), back.digest());
        assertArrayEquals(offer.toJson(), back.toJson(), "the JSON form is canonical");
        assertDoesNotThrow(() -> back.verify(NOW));
    }

    @Test
    void fromJson_alteredTermsParseButFailVerification() {
        ProviderOffer offer = ProviderOffer.sign(key, terms());
        String altered = json(offer).replace("\"pricePerDeviceSecondMicroUsd\":500", "\"pricePerDeviceSecondMicroUsd\":1");
        assertNotEquals(json(offer), altered);
        ProviderOffer forged = ProviderOffer.fromJson(altered.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertNotEquals(offer.digest(), forged.digest(), "the digest covers the terms");
        assertInvalid(forged, NOW, "not signed by its key");
    }

    @Test
    void fromJson_hostileInputRejectedWithReason() {
        String good = json(ProviderOffer.sign(key, terms()));
        assertRejected(good.replace("{\"format\":\"depin.signed-offer/v1\"", "{\"extra\":1,\"format\":\"depin.signed-offer/v1\""),
                "unknown field(s) [extra]");
        assertRejected(good.replace("\"format\":\"depin.signed-offer/v1\",", ""), "missing field(s) [format]");
        assertRejected(good.replace("depin.signed-offer/v1", "depin.signed-offer/v2"), "expected 'depin.signed-offer/v1'");
        assertRejected(good.replace("\"units\":132", "\"units\":132.5"), "'units' must be a 32-bit integer");
        assertRejected(good.replace("\"units\":132", "\"units\":\"132\""), "'units' must be a 32-bit integer");
        assertRejected(good.replace("\"memoryBytes\":", "\"memoryBytes\":1,\"memoryBytes\":"), "malformed");
        assertRejected(good + " {}", "malformed");
        assertRejected("[]", "offer must be a JSON object");
        assertRejected("{", "malformed");
        String nodeId = key.nodeId().hex();
        assertRejected(good.replace(nodeId, otherKey.nodeId().hex()), "but its key hashes to");
        assertRejected(good.replace("\"fp32Gflops\":\"", "\"fp32Gflops\":\"1"), "fp32Gflops");
        String big = "{\"pad\":\"" + "x".repeat(70_000) + "\"}";
        assertRejected(big, "more than the 65536");
        InvalidArgumentException n = assertThrowsExactly(InvalidArgumentException.class, () -> ProviderOffer.fromJson(null));
        assertTrue(n.getMessage().contains("offer JSON is null"), n.getMessage());
    }

    @Test
    void fromJson_randomTruncationsNeverEscapeAsOtherExceptions() {
        byte[] good = ProviderOffer.sign(key, terms()).toJson();
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int i = 0; i < 300; i++) {
            byte[] bad = good.clone();
            int cut = rnd.nextInt(good.length);
            bad = i % 2 == 0 ? java.util.Arrays.copyOf(bad, cut) : bad;
            if (i % 2 == 1) {
                bad[cut] = (byte) rnd.nextInt(256);
            }
            byte[] input = bad;
            try {
                ProviderOffer o = ProviderOffer.fromJson(input);
                // A byte flip can land in a string and still parse; then the signature must catch it.
                if (!java.util.Arrays.equals(input, good)) {
                    assertThrowsExactly(InvalidOfferException.class, () -> o.verify(NOW), "flip at " + cut);
                }
            } catch (InvalidOfferException | InvalidArgumentException expected) {
                // rejected with a reason
            }
        }
    }
}
