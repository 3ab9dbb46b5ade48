package dev.depin.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.depin.crypto.internal.Json;
import dev.depin.crypto.internal.Statements;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Receipt and wipe statements are written straight to a generator, keys in code-point order;
 * their bytes must stay exactly those of the sorted tree the signers wrote before (a tree of
 * the same fields, then {@link Json#canonicalBytes}), which is the form below. Generated
 * statements cover every optional field, odd strings (escapes, non-ASCII, surrogate pairs)
 * and extreme numbers; {@code StatementWireTest} pins one of each to the byte.
 */
class StatementStreamingTest {
    /** Fixed seed for the generated statements. Printed so a failure can be replayed. */
    private static final long SEED = 0x5EA1_0000_1206L;
    private static final String[] ODD = {"a", "A100", "\u00e9t\u00e9", "\u65e5\u672c", "q\"b\\s", "t\tn\nr\r",
        "\u0001\u001f\u007f", "\ud83d\ude80", "\u2028", "<>&'/"};

    @BeforeAll
    static void printSeed() {
        System.out.println("StatementStreamingTest seed=" + SEED);
    }

    @Test
    void receiptAndWipe_manyGenerated_sameBytesAsSortedTree() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int i = 0; i < 3_000; i++) {
            ExecutionReceipt r = receipt(rnd, i);
            assertArrayEquals(tree(r), r.toPayload(), () -> "receipt " + r);
            WipeAttestation wipe = wipe(rnd, r);
            assertArrayEquals(tree(wipe), wipe.toPayload(), () -> "wipe " + wipe);
        }
    }

    /**
     * A generated receipt: every optional field present or not, odd strings, extreme numbers
     * (also {@code StrictJsonDifferentialTest}'s valid statements).
     *
     * @param rnd the seeded source
     * @param i   a number made part of the job id
     * @return the receipt
     */
    static ExecutionReceipt receipt(SplittableRandom rnd, int i) {
        Instant t0 = Instant.ofEpochSecond(rnd.nextLong(0, 4_102_444_800L), rnd.nextInt(1_000_000_000)
                / (rnd.nextBoolean() ? 1 : 1_000_000) * (rnd.nextBoolean() ? 1 : 1_000));
        ExecutionReceipt.Builder b = ExecutionReceipt.builder().jobId(odd(rnd) + i).attempt(1 + rnd.nextInt(1000))
                .specHash(hex(rnd)).kernelId(odd(rnd)).kernelHash(hex(rnd)).nonce(hex(rnd))
                .merkleChunkBytes(1 << rnd.nextInt(31)).executorKind(odd(rnd)).startedAt(t0)
                .endedAt(t0.plusNanos(rnd.nextLong(0, 1L << 40))).deviceTimeNanos(rnd.nextLong(0, Long.MAX_VALUE));
        for (int k = rnd.nextInt(4); k > 0; k--) {
            b.input(new BufferDigest("in" + k + odd(rnd), hex(rnd), rnd.nextLong(0, Long.MAX_VALUE)));
        }
        for (int k = rnd.nextInt(4); k > 0; k--) {
            b.output(new BufferDigest("out" + k + odd(rnd), hex(rnd), rnd.nextLong(0, Long.MAX_VALUE)));
        }
        ReceiptDevice device = rnd.nextInt(3) == 0 ? null : new ReceiptDevice(nullable(rnd),
                rnd.nextBoolean() ? null : rnd.nextInt(0, 10_000), nullable(rnd), nullable(rnd));
        b.device(device);
        b.assurance(switch (rnd.nextInt(5)) {
            case 0 -> Assurance.none();
            case 1 -> Assurance.signature();
            case 2 -> Assurance.freivalds(1 + rnd.nextInt(64), rnd.nextDouble() * 1e-3, Math.pow(2, -rnd.nextInt(64)));
            case 3 -> Assurance.sampled(rnd.nextDouble(), rnd.nextInt(1 << 20), rnd.nextDouble(), rnd.nextDouble());
            default -> Assurance.redundant(2 + rnd.nextInt(4), 1 + rnd.nextInt(2));
        });
        if (rnd.nextBoolean()) {
            b.energy(new ReceiptEnergy(rnd.nextLong(0, 3_600_000_000_001L),
                    rnd.nextBoolean() ? ReceiptEnergy.Source.MEASURED : ReceiptEnergy.Source.ESTIMATED));
        }
        return b.build();
    }

    /**
     * A generated wipe attestation with the receipt's device and start time.
     *
     * @param rnd the seeded source
     * @param r   the receipt
     * @return the attestation
     */
    static WipeAttestation wipe(SplittableRandom rnd, ExecutionReceipt r) {
        Instant t0 = r.startedAt();
        ReceiptDevice device = r.device();
        WipeAttestation.Builder w = WipeAttestation.builder().receiptDigest(hex(rnd)).startedAt(t0)
                .endedAt(t0.plusMillis(rnd.nextInt(1_000_000))).device(device);
        for (int k = 1 + rnd.nextInt(4); k > 0; k--) {
            long bytes = rnd.nextLong(0, Long.MAX_VALUE);
            w.buffer(new WipeRecord(rnd.nextBoolean() ? WipeRecord.HOST : WipeRecord.DEVICE, "b" + k + odd(rnd),
                    bytes, rnd.nextLong(0, bytes + 1), rnd.nextInt(256), odd(rnd), hex(rnd)));
        }
        if (rnd.nextBoolean()) {
            byte[] tee = new byte[1 + rnd.nextInt(100)];
            rnd.nextBytes(tee);
            w.teeEvidence(tee);
        }
        return w.build();
    }

    private static String odd(SplittableRandom rnd) {
        return ODD[rnd.nextInt(ODD.length)];
    }

    private static String nullable(SplittableRandom rnd) {
        return rnd.nextInt(4) == 0 ? null : odd(rnd);
    }

    private static String hex(SplittableRandom rnd) {
        byte[] b = new byte[32];
        rnd.nextBytes(b);
        return Hex.encode(b);
    }

    /** The receipt statement as the signer built it before: a tree, sorted when written. */
    private static byte[] tree(ExecutionReceipt r) {
        ObjectNode p = Json.object();
        p.put("jobId", r.jobId());
        p.put("attempt", r.attempt());
        p.put("specHash", r.specHash());
        p.put("kernelId", r.kernelId());
        p.put("kernelHash", r.kernelHash());
        p.put("nonce", r.nonce());
        p.set("inputs", buffers(r.inputs()));
        p.set("outputs", buffers(r.outputs()));
        p.put("merkleChunkBytes", r.merkleChunkBytes());
        p.put("executorKind", r.executorKind());
        if (r.device() != null) {
            p.set("device", device(r.device()));
        }
        p.put("startedAt", r.startedAt().toString());
        p.put("endedAt", r.endedAt().toString());
        p.put("deviceTimeNanos", r.deviceTimeNanos());
        ObjectNode a = Json.object();
        a.put("level", r.assurance().level().name());
        ObjectNode n = a.putObject("numbers");
        r.assurance().numbers().forEach(n::put);
        p.set("assurance", a);
        if (r.energy() != null) {
            ObjectNode e = p.putObject("energy");
            e.put("millijoules", r.energy().millijoules());
            e.put("source", r.energy().source().wire());
        }
        return Statements.encode(r.subjects(), ExecutionReceipt.PREDICATE_TYPE, p);
    }

    /** The wipe statement as the signer built it before. */
    private static byte[] tree(WipeAttestation w) {
        ObjectNode p = Json.object();
        ArrayNode arr = p.putArray("buffers");
        for (WipeRecord r : w.buffers()) {
            ObjectNode o = arr.addObject();
            o.put("location", r.location());
            o.put("label", r.label());
            o.put("bytes", r.bytes());
            o.put("bytesOverwritten", r.bytesOverwritten());
            o.put("pattern", r.patternHex());
            o.put("method", r.method());
            o.put("checkDigest", r.checkDigest());
        }
        p.put("startedAt", w.startedAt().toString());
        p.put("endedAt", w.endedAt().toString());
        if (w.device() != null) {
            p.set("device", device(w.device()));
        }
        byte[] tee = w.teeEvidence();
        if (tee.length > 0) {
            p.put("teeEvidence", Base64.getEncoder().encodeToString(tee));
        }
        return Statements.encode(List.of(new Subject(WipeAttestation.SUBJECT_NAME, Map.of("sha256",
                w.receiptDigest()))), WipeAttestation.PREDICATE_TYPE, p);
    }

    private static ArrayNode buffers(List<BufferDigest> list) {
        ArrayNode a = Json.array();
        for (BufferDigest b : list) {
            ObjectNode o = a.addObject();
            o.put("name", b.name());
            o.put("merkleRoot", b.merkleRoot());
            o.put("bytes", b.bytes());
        }
        return a;
    }

    private static ObjectNode device(ReceiptDevice d) {
        ObjectNode o = Json.object();
        o.put("model", d.model());
        if (d.smCount() == null) {
            o.putNull("smCount");
        } else {
            o.put("smCount", d.smCount());
        }
        o.put("driver", d.driver());
        o.put("cudaVersion", d.cudaVersion());
        return o;
    }
}
