package dev.depin.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.VerificationException.Reason;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The receipt's optional energy: one encoding (absent, or whole millijoules and a source word),
 * signed like every other field, read strictly, and carried by batched receipts too.
 */
class ReceiptEnergyTest {
    private static final long SEED = 0xE4E2_6117L;
    private static final int CHUNK = 4096;
    private static final Instant T0 = Instant.parse("2026-12-06T02:00:00.250Z");
    private static final String ENERGY = "\"energy\":{\"millijoules\":123457,\"source\":\"measured\"}";

    private final NodeKeyPair provider;
    private final String nonce;
    private final ByteBuffer input;
    private final ByteBuffer output;

    ReceiptEnergyTest() {
        System.out.println("ReceiptEnergyTest seed " + SEED);
        Random r = new Random(SEED);
        byte[] seed = new byte[32];
        r.nextBytes(seed);
        provider = NodeKeyPair.fromSeed(seed);
        byte[] n = new byte[32];
        r.nextBytes(n);
        nonce = Hex.encode(n);
        byte[] in = new byte[5 * CHUNK + 17];
        byte[] out = new byte[3 * CHUNK - 5];
        r.nextBytes(in);
        r.nextBytes(out);
        input = ByteBuffer.wrap(in);
        output = ByteBuffer.wrap(out);
    }

    /** 0.8 s of execution, 0.75 s on the device: 123.457 J is about 165 W. */
    private ExecutionReceipt.Builder receipt() {
        return ExecutionReceipt.builder().jobId("job-energy").attempt(3).specHash(ExecutionReceiptTest.sha("spec"))
                .kernelId("sgemm").kernelHash(ExecutionReceiptTest.sha("kernel")).nonce(nonce)
                .input(BufferDigest.of("A", input, CHUNK)).output(BufferDigest.of("C", output, CHUNK))
                .merkleChunkBytes(CHUNK).executorKind("cuda").startedAt(T0).endedAt(T0.plusMillis(800))
                .deviceTimeNanos(750_000_000L);
    }

    private ReceiptExpectations expectations() {
        return ReceiptExpectations.builder().signer(provider.publicKey()).jobId("job-energy").attempt(3).nonce(nonce)
                .specHash(ExecutionReceiptTest.sha("spec")).kernelId("sgemm")
                .kernelHash(ExecutionReceiptTest.sha("kernel")).input(BufferDigest.of("A", input, CHUNK))
                .merkleChunkBytes(CHUNK).receivedOutput("C", output).build();
    }

    @Test
    void roundTrip_withEnergy_isSignedReadAndReported() {
        ExecutionReceipt r = receipt().energy(ReceiptEnergy.ofJoules(123.4567, ReceiptEnergy.Source.MEASURED)).build();
        String payload = new String(r.toPayload(), StandardCharsets.UTF_8);
        assertTrue(payload.contains("\"endedAt\":\"2026-12-06T02:00:01.050Z\"," + ENERGY + ",\"executorKind\""),
                payload);
        Envelope env = Envelope.parse(r.sign(provider).toJson());
        VerifiedReceipt v = ExecutionReceipt.verify(env, expectations());
        assertEquals(r, v.receipt());
        assertEquals(new ReceiptEnergy(123_457, ReceiptEnergy.Source.MEASURED), v.receipt().energy());
        assertEquals(123.457, v.receipt().energy().joules());
        VerificationReport.Check check = v.report().checks().stream().filter(c -> c.name().equals("energy"))
                .findFirst().orElseThrow();
        assertEquals("123.457 J measured, signed by the provider (its claim; at most 100000 W over the execution)",
                check.detail());
    }

    @Test
    void roundTrip_withoutEnergy_hasNoFieldAndNoCheck() {
        ExecutionReceipt r = receipt().build();
        assertFalse(new String(r.toPayload(), StandardCharsets.UTF_8).contains("\"energy\""));
        VerifiedReceipt v = ExecutionReceipt.verify(Envelope.parse(r.sign(provider).toJson()), expectations());
        assertNull(v.receipt().energy());
        assertTrue(v.report().checks().stream().noneMatch(c -> c.name().equals("energy")));
        assertEquals(r, new ExecutionReceipt(r.jobId(), r.attempt(), r.specHash(), r.kernelId(), r.kernelHash(),
                r.nonce(), r.inputs(), r.outputs(), r.merkleChunkBytes(), r.executorKind(), r.device(), r.startedAt(),
                r.endedAt(), r.deviceTimeNanos(), r.assurance()), "the constructor without energy states none");
    }

    @Test
    void tamperedEnergy_isABadSignature() {
        Envelope env = receipt().energy(new ReceiptEnergy(123_457, ReceiptEnergy.Source.ESTIMATED)).build()
                .sign(provider);
        String payload = new String(env.payload(), StandardCharsets.UTF_8);
        Envelope lower = new Envelope(env.payloadType(), payload.replace("123457", "23457")
                .getBytes(StandardCharsets.UTF_8), env.signatures());
        Envelope relabelled = new Envelope(env.payloadType(), payload.replace("estimated", "measured")
                .getBytes(StandardCharsets.UTF_8), env.signatures());
        for (Envelope e : new Envelope[] {lower, relabelled}) {
            VerificationException ex = assertThrows(VerificationException.class,
                    () -> ExecutionReceipt.verify(e, expectations()));
            assertEquals(Reason.BAD_SIGNATURE, ex.reason(), ex.getMessage());
        }
    }

    /** Signs a statement whose energy object is {@code energy} (a correctly signed, malformed claim). */
    private Envelope withEnergy(String energy) {
        String payload = new String(receipt().energy(new ReceiptEnergy(123_457, ReceiptEnergy.Source.MEASURED))
                .build().toPayload(), StandardCharsets.UTF_8);
        assertTrue(payload.contains(ENERGY));
        return Envelope.sign(Dsse.IN_TOTO_PAYLOAD_TYPE, payload.replace(ENERGY, energy)
                .getBytes(StandardCharsets.UTF_8), provider);
    }

    private void assertMalformed(String energy, String what) {
        Envelope env = withEnergy(energy);
        VerificationException ex = assertThrows(VerificationException.class,
                () -> ExecutionReceipt.verify(env, expectations()));
        assertEquals("MALFORMED_STATEMENT: malformed statement: " + what + ": reject it (the signer produced an "
                + "invalid statement)", ex.getMessage());
        VerificationException unverified = assertThrows(VerificationException.class,
                () -> ExecutionReceipt.readUnverified(env));
        assertEquals(ex.getMessage(), unverified.getMessage());
    }

    @Test
    void badEnergy_isRefusedWithItsReason() {
        assertMalformed("\"energy\":{\"millijoules\":-1,\"source\":\"measured\"}",
                "energy -1 mJ is out of range: it must be 0 to 3600000000000 mJ (1 MWh)");
        assertMalformed("\"energy\":{\"millijoules\":3600000000001,\"source\":\"measured\"}",
                "energy 3600000000001 mJ is out of range: it must be 0 to 3600000000000 mJ (1 MWh)");
        assertMalformed("\"energy\":{\"millijoules\":1.5,\"source\":\"measured\"}",
                "field 'millijoules' is not an integer");
        assertMalformed("\"energy\":{\"millijoules\":1e400,\"source\":\"measured\"}",
                "field 'millijoules' is not an integer");
        assertMalformed("\"energy\":{\"millijoules\":99999999999999999999,\"source\":\"measured\"}",
                "field 'millijoules' is not an integer");
        assertMalformed("\"energy\":{\"millijoules\":\"5\",\"source\":\"measured\"}",
                "field 'millijoules' is not an integer");
        assertMalformed("\"energy\":{\"source\":\"measured\"}", "field 'millijoules' is missing");
        assertMalformed("\"energy\":{\"millijoules\":5}", "field 'source' is missing");
        assertMalformed("\"energy\":{\"millijoules\":5,\"source\":\"Measured\"}",
                "energy source 'Measured' is neither 'measured' nor 'estimated'");
        assertMalformed("\"energy\":{\"millijoules\":5,\"source\":\"guessed\"}",
                "energy source 'guessed' is neither 'measured' nor 'estimated'");
        assertMalformed("\"energy\":{\"millijoules\":5,\"source\":7}", "field 'source' is not a string");
        assertMalformed("\"energy\":{\"millijoules\":5,\"source\":\"measured\",\"watts\":300}",
                "'energy' has an unknown field 'watts'");
        assertMalformed("\"energy\":null", "'energy' is not an object");
        assertMalformed("\"energy\":5000", "'energy' is not an object");
        // 0.8 s at 100 kW plus the 1 s grace is 180 kJ: one millijoule more is refused.
        assertMalformed("\"energy\":{\"millijoules\":180000001,\"source\":\"estimated\"}",
                "energy 180000.001 J over 0.800000 s of execution (and PT1S of grace) is more than 100000 W could draw");
        assertEquals(180_000_000L, ExecutionReceipt.readUnverified(
                withEnergy("\"energy\":{\"millijoules\":180000000,\"source\":\"estimated\"}")).energy().millijoules());
    }

    @Test
    void joules_thatAreNotAnAmount_areRefusedWhenBuilding() {
        for (double j : new double[] {Double.NaN, Double.POSITIVE_INFINITY, -0.001, 3.6e9 + 1}) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> ReceiptEnergy.ofJoules(j, ReceiptEnergy.Source.ESTIMATED));
            assertEquals("energy " + j + " J is not a finite amount from 0 to 1 MWh", e.getMessage());
        }
        assertEquals(0, ReceiptEnergy.ofJoules(0.0004, ReceiptEnergy.Source.ESTIMATED).millijoules());
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> receipt()
                .energy(new ReceiptEnergy(180_000_001L, ReceiptEnergy.Source.MEASURED)).build());
        assertEquals("energy 180000.001 J over 0.800000 s of execution (and PT1S of grace) is more than 100000 W "
                + "could draw", e.getMessage());
    }

    @Test
    void aBatchedReceipt_carriesTheEnergyUnderTheBatchSignature() {
        ExecutionReceipt r = receipt().energy(new ReceiptEnergy(42_001, ReceiptEnergy.Source.ESTIMATED)).build();
        WipeAttestation w = WipeAttestation.builder().receiptDigest(r.statementDigestHex())
                .buffer(HostWipe.wipe("A", new byte[input.capacity()], (byte) 0))
                .buffer(HostWipe.wipe("C", new byte[output.capacity()], (byte) 0))
                .startedAt(T0).endedAt(T0.plusMillis(900)).build();
        BatchedReceipt b;
        try (BatchSigner signer = new BatchSigner(provider, 1, Clock.fixed(T0, ZoneOffset.UTC))) {
            b = signer.add(r, w).join();
        }
        BatchedReceipt parsed = BatchedReceipt.parse(b.toJsonBytes());
        VerifiedBatchedReceipt v = new BatchVerifier().verify(parsed, expectations());
        assertEquals(r.energy(), v.receipt().receipt().energy());
        assertEquals(r.energy(), parsed.readReceiptUnverified().energy());
        assertTrue(v.report().checks().stream().anyMatch(c -> c.name().equals("energy")
                && c.detail().startsWith("42.001 J estimated, ")));
    }
}
