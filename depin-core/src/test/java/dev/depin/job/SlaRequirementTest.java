package dev.depin.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.InvalidOfferException;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import dev.depin.provider.SlaTerms;
import dev.depin.provider.SlaTerms.CreditTier;
import dev.depin.provider.SlaTerms.Objective;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SlaRequirementTest {
    private static final Instant T0 = Instant.parse("2026-12-05T00:00:00Z");
    /** One hour, 99.9 % or 10 % back, 99 % or 25 %, 95 % or 100 %; 2 s up to 1e6 FLOPs, 30 s up to 1e9. */
    private static final SlaTerms TERMS = SlaTerms.standard(Duration.ofHours(1), List.of(
            new Objective(1_000_000, Duration.ofSeconds(2)), new Objective(1_000_000_000, Duration.ofSeconds(30))));
    /** Exactly what {@link #TERMS} promises, for a job of the small class. */
    private static final SlaRequirement EQUAL = SlaRequirement.builder().minAvailabilityBasisPoints(9_990)
            .maxPeriod(Duration.ofHours(1)).maxTimeToResult(Duration.ofSeconds(2))
            .minCredits(new CreditTier(9_990, 10), new CreditTier(9_900, 25), new CreditTier(9_500, 100)).build();

    private static ProviderOffer offer(SlaTerms sla) {
        OfferTerms t = new OfferTerms("depin://127.0.0.1:7001", List.of(new DeviceInfo(DeviceKind.CPU, "test cpu",
                1L << 30, "-", 2, 10.0, "ab".repeat(32), "-", "-")), Region.parse("DE/fra-1"), Set.of("sgemm"),
                new Price(MicroUsd.ofUsd("0.0005"), MicroUsd.ofUsd("0.01")), MicroUsd.ofUsd("100"),
                T0.plus(Duration.ofDays(1)), sla);
        return ProviderOffer.sign(NodeKeyPair.fromSeed(new byte[32]), t);
    }

    @Test
    void equalAtEveryBoundary_meets() {
        assertNull(EQUAL.mismatch(offer(TERMS), 1_000_000)); // the class's largest job
        assertNull(EQUAL.mismatch(offer(TERMS), 1));
        assertNull(SlaRequirement.ANY.mismatch(offer(TERMS), 1_000_000_000));
    }

    @Test
    void offerWithoutSla_orJobOutsideItsClasses_doesNotMeetEvenAny() {
        assertEquals("offers no SLA, and the job requires one", SlaRequirement.ANY.mismatch(offer(null), 1));
        assertEquals("SLA does not cover a job of 1000000001 FLOPs (its largest class is 1000000000)",
                SlaRequirement.ANY.mismatch(offer(TERMS), 1_000_000_001));
    }

    @Test
    void weakerInOneDimensionOnly_isNamed() {
        // Time to result: the job's class decides; one millisecond over the bound.
        assertEquals("SLA time to result PT2S for a job of 1000000 FLOPs, above the required PT1.999S",
                req().maxTimeToResult(Duration.ofMillis(1_999)).build().mismatch(offer(TERMS), 1_000_000));
        // One FLOP above the small class is the 30 s class: the job's size decides which bound is compared.
        assertEquals("SLA time to result PT30S for a job of 1000001 FLOPs, above the required PT2S",
                EQUAL.mismatch(offer(TERMS), 1_000_001));
        // Availability: one basis point more than promised.
        assertEquals("SLA availability 99.9 %, below the required 99.91 %",
                req().minAvailabilityBasisPoints(9_991).build().mismatch(offer(TERMS), 1));
        // Period: a millisecond shorter than the offer's.
        assertEquals("SLA period PT1H, longer than the required PT59M59.999S",
                req().maxPeriod(Duration.ofMillis(3_599_999)).build().mismatch(offer(TERMS), 1));
        // Credits: 26 % wanted below 99 %, where the offer pays 25 %.
        assertEquals("SLA credits 25 % below 99 % compliance, less than the required 26 %",
                req().minCredits(new CreditTier(9_900, 26)).build().mismatch(offer(TERMS), 1));
        // A required threshold between two of the offer's: below 99.5 % the offer pays only 10 %.
        assertEquals("SLA credits 10 % below 99.5 % compliance, less than the required 25 %",
                req().minCredits(new CreditTier(9_950, 25)).build().mismatch(offer(TERMS), 1));
        // Below a threshold above the offer's first, the offer pays nothing.
        assertEquals("SLA credits 0 % below 99.99 % compliance, less than the required 1 %",
                req().minCredits(new CreditTier(9_999, 1)).build().mismatch(offer(TERMS), 1));
        // Stronger in every other dimension does not make up for one.
        SlaTerms generousButSlow = new SlaTerms(Duration.ofMinutes(1), List.of(new Objective(Long.MAX_VALUE,
                Duration.ofSeconds(3))), List.of(new CreditTier(10_000, 50), new CreditTier(9_600, 100)));
        assertNull(req().minCredits(new CreditTier(9_990, 10), new CreditTier(9_900, 25), new CreditTier(9_500, 100))
                .minAvailabilityBasisPoints(9_990).maxPeriod(Duration.ofHours(1)).build()
                .mismatch(offer(generousButSlow), 1));
        assertEquals("SLA time to result PT3S for a job of 1 FLOPs, above the required PT2S",
                EQUAL.mismatch(offer(generousButSlow), 1));
    }

    @Test
    void timeToFirstByte_requiredOnlyWhenAsked() {
        SlaRequirement ttfb = req().maxTimeToFirstByte(Duration.ofMillis(500)).build();
        assertEquals("SLA promises no time to first byte, and the job requires PT0.5S", ttfb.mismatch(offer(TERMS), 1));
        assertNull(ttfb.mismatch(offer(TERMS.withFirstByteWithin(Duration.ofMillis(500))), 1));
        assertEquals("SLA time to first byte PT0.501S, above the required PT0.5S",
                ttfb.mismatch(offer(TERMS.withFirstByteWithin(Duration.ofMillis(501))), 1));
        assertNull(EQUAL.mismatch(offer(TERMS.withFirstByteWithin(Duration.ofDays(1))), 1));
    }

    @Test
    void firstByteBound_isSigned_andAbsentLeavesTheBytesAsBefore() {
        ProviderOffer without = offer(TERMS);
        assertFalse(new String(without.toJson(), StandardCharsets.UTF_8).contains("firstByte"));
        ProviderOffer with = offer(TERMS.withFirstByteWithin(Duration.ofMillis(250)));
        String json = new String(with.toJson(), StandardCharsets.UTF_8);
        assertTrue(json.contains("\"firstByteWithinMillis\":250"), json);
        ProviderOffer back = ProviderOffer.fromJson(with.toJson());
        back.verify(T0);
        assertEquals(Duration.ofMillis(250), back.terms().sla().firstByteWithin());
        ProviderOffer softened = ProviderOffer.fromJson(json.replace("\"firstByteWithinMillis\":250",
                "\"firstByteWithinMillis\":900").getBytes(StandardCharsets.UTF_8));
        assertThrowsExactly(InvalidOfferException.class, () -> softened.verify(T0));
        assertEquals("offer SLA is invalid: SLA time-to-first-byte bound PT0S must be whole milliseconds from 1 ms "
                + "to 1 day", assertThrowsExactly(InvalidOfferException.class, () -> ProviderOffer.fromJson(
                json.replace("\"firstByteWithinMillis\":250", "\"firstByteWithinMillis\":0")
                        .getBytes(StandardCharsets.UTF_8))).getMessage());
    }

    @Test
    void listedIn_requiresAnSlaCountedInATrustedDirectory() {
        byte[] seed = new byte[32];
        seed[7] = 0x1d;
        dev.depin.crypto.NodePublicKey trusted = NodeKeyPair.fromSeed(seed).publicKey();
        seed[8] = 1;
        dev.depin.crypto.NodePublicKey other = NodeKeyPair.fromSeed(seed).publicKey();
        SlaRequirement r = req().listedIn(trusted).build();
        assertEquals("SLA does not count availability over time, and the job requires it counted in a directory it "
                + "trusts", r.mismatch(offer(TERMS), 1));
        assertEquals("SLA counts its listing in directory " + other.nodeId().shortId() + ", not one the job trusts",
                r.mismatch(offer(TERMS.withListedVia(other)), 1));
        assertNull(r.mismatch(offer(TERMS.withListedVia(trusted)), 1));
        assertNull(req().build().mismatch(offer(TERMS.withListedVia(other)), 1), "no directory required: any");
        assertEquals("required SLA directories is null: pass a value", assertThrowsExactly(
                InvalidArgumentException.class, () -> req().listedIn((dev.depin.crypto.NodePublicKey[]) null))
                .getMessage());
        assertEquals("required SLA directory is null: pass a value", assertThrowsExactly(
                InvalidArgumentException.class, () -> req().listedIn(trusted, null)).getMessage());
    }

    @Test
    void listedVia_isSigned_andAbsentLeavesTheBytesAsBefore() {
        byte[] dirSeed = new byte[32];
        dirSeed[5] = (byte) 0xd1;
        dev.depin.crypto.NodePublicKey dir = NodeKeyPair.fromSeed(dirSeed).publicKey();
        String dirHex = dev.depin.crypto.Hex.encode(dir.raw());
        assertFalse(new String(offer(TERMS).toJson(), StandardCharsets.UTF_8).contains("listedVia"));
        ProviderOffer with = offer(TERMS.withListedVia(dir));
        String json = new String(with.toJson(), StandardCharsets.UTF_8);
        assertTrue(json.contains("\"listedVia\":\"" + dirHex + "\""), json);
        ProviderOffer back = ProviderOffer.fromJson(with.toJson());
        back.verify(T0);
        assertEquals(dir, back.terms().sla().listedVia());
        assertEquals(TERMS.withListedVia(dir), back.terms().sla());
        dirSeed[6] = 1;
        String other = dev.depin.crypto.Hex.encode(NodeKeyPair.fromSeed(dirSeed).publicKey().raw());
        ProviderOffer moved = ProviderOffer.fromJson(json.replace(dirHex, other).getBytes(StandardCharsets.UTF_8));
        assertThrowsExactly(InvalidOfferException.class, () -> moved.verify(T0), "another directory breaks the signature");
        assertEquals("offer SLA is invalid: SLA listedVia must be the directory's Ed25519 public key as 64 "
                + "lower-case hex characters, got 'AB'", assertThrowsExactly(InvalidOfferException.class,
                () -> ProviderOffer.fromJson(json.replace(dirHex, "AB").getBytes(StandardCharsets.UTF_8))).getMessage());
        assertEquals("offer SLA is invalid: these 32 bytes are not a valid Ed25519 public key (invalid public key): "
                + "check that the raw RFC 8032 encoding was sent", assertThrowsExactly(InvalidOfferException.class,
                () -> ProviderOffer.fromJson(json.replace(dirHex, "ab".repeat(32)).getBytes(StandardCharsets.UTF_8)))
                .getMessage());
    }

    @Test
    void badRequirements_refusedWithTheReason() {
        assertEquals("required SLA availability 10001 must be 0 to 10000 basis points (9990 = 99.9 %)",
                assertThrowsExactly(InvalidArgumentException.class,
                        () -> req().minAvailabilityBasisPoints(10_001).build()).getMessage());
        assertEquals("required SLA availability -1 must be 0 to 10000 basis points (9990 = 99.9 %)",
                assertThrowsExactly(InvalidArgumentException.class,
                        () -> req().minAvailabilityBasisPoints(-1).build()).getMessage());
        assertEquals("required SLA time to result PT0S must be positive", assertThrowsExactly(
                InvalidArgumentException.class, () -> req().maxTimeToResult(Duration.ZERO).build()).getMessage());
        assertEquals("required SLA period PT-1S must be positive", assertThrowsExactly(
                InvalidArgumentException.class, () -> req().maxPeriod(Duration.ofSeconds(-1)).build()).getMessage());
        assertEquals("required SLA credit tiers must go down in threshold and up in credit: "
                        + "CreditTier[belowBasisPoints=9900, creditPercent=25] then "
                        + "CreditTier[belowBasisPoints=9990, creditPercent=50]",
                assertThrowsExactly(InvalidArgumentException.class, () -> req()
                        .minCredits(new CreditTier(9_900, 25), new CreditTier(9_990, 50)).build()).getMessage());
        assertThrowsExactly(InvalidArgumentException.class, () -> req().minCredits((CreditTier[]) null));
    }

    @Test
    void job_carriesTheRequirementOutsideItsSpec() {
        Job plain = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 1).input("x", new float[] {1})
                .deadline(T0).build();
        Job strict = plain.withSla(EQUAL);
        assertNull(plain.slaRequirement());
        assertSame(EQUAL, strict.slaRequirement());
        assertSame(plain.spec(), strict.spec(), "the spec the node hashes and signs is the same");
        Job built = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 1).input("x", new float[] {1})
                .deadline(T0).requireSla(EQUAL).build();
        assertEquals(plain.spec().hash(), built.spec().hash());
        assertSame(EQUAL, built.slaRequirement());
    }

    private static SlaRequirement.Builder req() {
        return SlaRequirement.builder();
    }
}
