package dev.depin.provider;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * The hold terms an offer signs ({@link HoldTerms}): optional, so an offer signed before they
 * existed keeps its bytes and its signature; present, they are signed, read back exactly, and
 * every bad value is refused with what is wrong.
 */
class HoldTermsTest {
    /**
     * A signed offer written by the code before hold terms existed (commit 06c1874: input cache
     * and limits, no hold), with the key from {@link #seed()}. It must still verify and re-encode
     * to the same bytes.
     */
    private static final String OLD_OFFER = "{\"format\":\"depin.signed-offer/v1\",\"nodeId\":"
            + "\"ba0a6041c97c6fae80adbc1c08629717d5939cf62cd42883a32fd5d6ef3b6450\",\"publicKey\":"
            + "\"755c4cb9256ca7cdc4acfdc6cfeeda849017e5b9f9514e99191bd67e0b0d4276\",\"signature\":"
            + "\"94f71638ab7c8cdd7d1decf1cefa795b9d69c336aa5c9af419b33c5838ca6cbfb1d3ef3d63ef2f2939394d3514ae6d31"
            + "fdacb159f3c2e133ebcb6a9590f4600d\",\"terms\":{\"devices\":[{\"computeCapability\":\"9.0\","
            + "\"driverVersion\":\"580.65.06\",\"fp32Gflops\":\"0x1.8e7p15\",\"kind\":\"CUDA\",\"memoryBytes\":"
            + "85899345920,\"model\":\"NVIDIA H100 80GB HBM3\",\"runtimeVersion\":\"CUDA 13.0\",\"units\":132,"
            + "\"uuidHash\":\"abababababababababababababababababababababababababababababababab\"}],\"endpoint\":"
            + "\"depin://10.0.0.5:7400\",\"format\":\"depin.offer/v1\",\"inputCacheBytes\":1073741824,\"kernels\":"
            + "[\"saxpy\",\"sgemm\"],\"limits\":{\"maxJobBytes\":805306368,\"maxOutputBytes\":268435456},"
            + "\"pricePerDeviceSecondMicroUsd\":500,\"pricePerGigabyteMicroUsd\":10000,\"region\":\"DE/fra-1\","
            + "\"stakeMicroUsd\":100000000,\"validUntilEpochMillis\":1893456000000}}";
    private static final Instant BEFORE_EXPIRY = Instant.parse("2029-12-31T23:00:00Z");
    private static final String HOLD = "\"hold\":{\"maxBytesPerBuyer\":268435456,\"maxEntries\":64,"
            + "\"maxEntriesPerBuyer\":16,\"maxHoldMillis\":600000}";

    private static byte[] seed() {
        byte[] seed = new byte[32];
        for (int i = 0; i < 32; i++) {
            seed[i] = (byte) (i * 7 + 3);
        }
        return seed;
    }

    private static String json(ProviderOffer o) {
        return new String(o.toJson(), StandardCharsets.UTF_8);
    }

    private static ProviderOffer read(String json) {
        return ProviderOffer.fromJson(json.getBytes(StandardCharsets.UTF_8));
    }

    private static ProviderOffer withHold() {
        OfferTerms old = read(OLD_OFFER).terms();
        return ProviderOffer.sign(NodeKeyPair.fromSeed(seed()),
                old.withHold(new HoldTerms(Duration.ofMinutes(10), 64, 256L << 20, 16)));
    }

    private static String rejected(String json) {
        return assertThrows(InvalidOfferException.class, () -> read(json)).getMessage();
    }

    @Test
    void oldOffer_stillVerifies_andReencodesToTheSameBytes() {
        ProviderOffer old = read(OLD_OFFER);
        old.verify(BEFORE_EXPIRY);
        assertNull(old.terms().hold());
        assertTrue(old.terms().holdTerms().isEmpty());
        assertEquals(OLD_OFFER, json(old));
        // Signing the same terms again gives the same signature: terms without hold sign the old bytes.
        assertArrayEquals(old.signature(), ProviderOffer.sign(NodeKeyPair.fromSeed(seed()), old.terms()).signature());
    }

    @Test
    void offerWithHold_signedAndReadBack_andCannotBeInflated() {
        ProviderOffer offer = withHold();
        String json = json(offer);
        assertTrue(json.contains(HOLD), json);
        ProviderOffer back = read(json);
        back.verify(BEFORE_EXPIRY);
        assertEquals(offer.terms(), back.terms());
        assertEquals(new HoldTerms(Duration.ofMinutes(10), 64, 256L << 20, 16), back.terms().holdTerms().orElseThrow());
        ProviderOffer longer = read(json.replace("\"maxHoldMillis\":600000", "\"maxHoldMillis\":6000000"));
        assertThrows(InvalidOfferException.class, () -> longer.verify(BEFORE_EXPIRY));
        // Removing the terms is an alteration too.
        ProviderOffer stripped = read(json.replace("," + HOLD, ""));
        assertThrows(InvalidOfferException.class, () -> stripped.verify(BEFORE_EXPIRY));
    }

    @Test
    void badHoldInJson_refusedWithWhatIsWrong() {
        String json = json(withHold());
        assertEquals("offer hold terms are invalid: hold terms state a longest hold of PT0S: give 1 ms to PT168H",
                rejected(json.replace("\"maxHoldMillis\":600000", "\"maxHoldMillis\":0")));
        assertEquals("offer hold terms are invalid: hold terms state a longest hold of PT168H0.001S: give 1 ms to "
                + "PT168H", rejected(json.replace("\"maxHoldMillis\":600000", "\"maxHoldMillis\":604800001")));
        assertEquals("offer hold terms are invalid: hold terms of 64 entries in all, 268435456 bytes and 65 entries "
                + "per buyer: give >= 1 each, and entries per buyer <= entries in all",
                rejected(json.replace("\"maxEntriesPerBuyer\":16", "\"maxEntriesPerBuyer\":65")));
        assertEquals("offer hold terms are invalid: hold terms of 64 entries in all, 0 bytes and 16 entries per "
                + "buyer: give >= 1 each, and entries per buyer <= entries in all",
                rejected(json.replace("\"maxBytesPerBuyer\":268435456", "\"maxBytesPerBuyer\":0")));
        assertEquals("offer field 'maxEntries' must be a 32-bit integer, got 4294967296",
                rejected(json.replace("\"maxEntries\":64", "\"maxEntries\":4294967296")));
        assertEquals("offer field 'maxHoldMillis' must be a 64-bit integer, got \"600000\"",
                rejected(json.replace("\"maxHoldMillis\":600000", "\"maxHoldMillis\":\"600000\"")));
        assertEquals("offer hold terms has unknown field(s) [maxGpuBytes]: it is not a depin.signed-offer/v1 offer",
                rejected(json.replace("\"maxHoldMillis\":600000", "\"maxHoldMillis\":600000,\"maxGpuBytes\":1")));
        assertEquals("offer hold terms has missing field(s) [maxEntriesPerBuyer]: it is not a depin.signed-offer/v1 "
                + "offer", rejected(json.replace("\"maxEntriesPerBuyer\":16,", "")));
        assertEquals("offer hold terms must be a JSON object", rejected(json.replace(HOLD, "\"hold\":null")));
        assertEquals("offer JSON is malformed: offer holds 268435456 bytes per buyer but states an input cache of "
                + "134217728 bytes: state inputCacheBytes >= the bytes per buyer, or no hold terms",
                rejected(json.replace("\"inputCacheBytes\":1073741824", "\"inputCacheBytes\":134217728")));
        assertEquals("offer JSON is malformed: offer holds 268435456 bytes per buyer but states an input cache of "
                + "0 bytes: state inputCacheBytes >= the bytes per buyer, or no hold terms",
                rejected(json.replace("\"inputCacheBytes\":1073741824,", "")));
    }

    @Test
    void constructor_badValues_refusedWithWhatIsWrong() {
        assertEquals("hold terms state a longest hold of PT-1S: give 1 ms to PT168H", assertThrows(
                InvalidArgumentException.class, () -> new HoldTerms(Duration.ofSeconds(-1), 1, 1, 1)).getMessage());
        assertEquals("longest hold is null: pass a value", assertThrows(InvalidArgumentException.class,
                () -> new HoldTerms(null, 1, 1, 1)).getMessage());
        assertEquals("hold terms of 0 entries in all, 1 bytes and 1 entries per buyer: give >= 1 each, and entries "
                + "per buyer <= entries in all", assertThrows(InvalidArgumentException.class,
                () -> new HoldTerms(Duration.ofSeconds(1), 0, 1, 1)).getMessage());
        // Sub-millisecond parts are dropped: the JSON carries whole milliseconds.
        assertEquals(Duration.ofMillis(1), new HoldTerms(Duration.ofNanos(1_999_999), 1, 1, 1).maxHold());
        OfferTerms terms = read(OLD_OFFER).terms();
        assertEquals("offer holds 2147483648 bytes per buyer but states an input cache of 1073741824 bytes: state "
                + "inputCacheBytes >= the bytes per buyer, or no hold terms", assertThrows(
                InvalidArgumentException.class, () -> terms.withHold(new HoldTerms(Duration.ofMinutes(1), 4, 2L << 30,
                        4))).getMessage());
        assertFalse(json(ProviderOffer.sign(NodeKeyPair.fromSeed(seed()), terms.withHold(null))).contains("hold"));
    }

    @Test
    void refusal_namesTheFirstTermTheJobExceeds() {
        HoldTerms h = new HoldTerms(Duration.ofMinutes(10), 64, 1 << 20, 4);
        assertNull(h.refusal(Duration.ofMinutes(10), 4, 1 << 20));
        assertEquals("holds data for at most PT10M, this job asks PT10M0.001S",
                h.refusal(Duration.ofMinutes(10).plusMillis(1), 1, 1));
        assertEquals("holds at most 4 entries per buyer, this job leaves 5", h.refusal(Duration.ofMinutes(1), 5, 1));
        assertEquals("holds at most 1048576 bytes per buyer, this job leaves 1048577",
                h.refusal(Duration.ofMinutes(1), 1, (1 << 20) + 1));
        assertEquals("up to PT10M, 64 entries (4 per buyer), 1048576 bytes per buyer", h.describe());
    }
}
