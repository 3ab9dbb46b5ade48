package dev.depin.job;

import dev.depin.InvalidJobException;
import static dev.depin.job.JobFixtures.DEADLINE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.ShapeMismatchException;
import dev.depin.money.MicroUsd;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class JobTest {

    /** Fixed seed for input values. Printed so a failure can be replayed. */
    private static final long SEED = 0x10B5_0000_2024L;

    /** 40 Merkle leaves: 39 of 4 KiB and a 256-byte tail (a tree whose leaf count is not a power of two). */
    private static final int MULTI_CHUNK_N = 40_000;

    @BeforeAll
    static void printSeed() {
        System.out.println("JobTest seed=" + SEED);
    }

    private static byte[] bytes(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b.array();
    }

    private static Map<String, ByteBuffer> inputs(Object... nameThenBytes) {
        Map<String, ByteBuffer> m = new LinkedHashMap<>();
        for (int i = 0; i < nameThenBytes.length; i += 2) {
            m.put((String) nameThenBytes[i], ByteBuffer.wrap(((byte[]) nameThenBytes[i + 1]).clone()));
        }
        return m;
    }

    /** RFC 6962 Merkle tree hash over 4 KiB leaves, written from the RFC, not from depin-crypto. */
    private static String rfc6962Root(byte[] data) throws Exception {
        int chunk = JobSpec.MERKLE_CHUNK_BYTES;
        int leaves = Math.max(1, (data.length + chunk - 1) / chunk);
        byte[][] leafHashes = new byte[leaves][];
        for (int i = 0; i < leaves; i++) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update((byte) 0x00);
            int from = i * chunk;
            md.update(data, from, Math.min(chunk, data.length - from));
            leafHashes[i] = md.digest();
        }
        return dev.depin.crypto.Hex.encode(mth(leafHashes, 0, leaves));
    }

    private static byte[] mth(byte[][] leaves, int from, int to) throws Exception {
        int n = to - from;
        if (n == 1) {
            return leaves[from];
        }
        int k = Integer.highestOneBit(n - 1); // largest power of two < n
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update((byte) 0x01);
        md.update(mth(leaves, from, from + k));
        md.update(mth(leaves, from + k, to));
        return md.digest();
    }

    private static void shapeMismatch(Executable call, String messagePart) {
        ShapeMismatchException e = assertThrowsExactly(ShapeMismatchException.class, call);
        assertTrue(e.getMessage().contains(messagePart), "expected '" + messagePart + "' in: " + e.getMessage());
    }

    // ------------------------------------------------------------------ builder

    @Test
    void build_withLentHashingThreads_sameRootsAsOneThread() {
        SplittableRandom rnd = new SplittableRandom(0x4A0B_2026L);
        int n = (5 << 20) / 4 + 13; // over 4 MiB per input: hashed on the lent threads
        float[] x = new float[n];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextDouble();
            y[i] = (float) rnd.nextDouble();
        }
        Job one = Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2).input("x", x).input("y", y)
                .deadline(DEADLINE).build();
        try (dev.depin.crypto.Parallelism pool = dev.depin.crypto.Parallelism.newPool(3)) {
            Job many = Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2).input("x", x).input("y", y)
                    .deadline(DEADLINE).hashing(pool).build();
            assertEquals(one.spec().hash(), many.spec().hash());
            assertEquals(one.spec().inputs(), many.spec().inputs());
        }
        assertThrowsExactly(InvalidArgumentException.class, () -> Job.builder(BuiltinKernel.SAXPY).hashing(null));
    }

    @Test
    void build_commitsToRfc6962RootsOfInputs() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int n : new int[] {1, 7, 16_384, 16_385, 32_768, MULTI_CHUNK_N}) {
            float[] x = JobFixtures.floats(rnd, n);
            Job job = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", n).input("x", x).deadline(DEADLINE).build();
            InputRef ref = job.spec().inputs().get(0);
            assertEquals("x", ref.name());
            assertEquals(4L * n, ref.bytes());
            assertEquals(rfc6962Root(bytes(x)), ref.merkleRoot(), "n=" + n);
        }
    }

    @Test
    void build_floatArrayAndLittleEndianBuffer_sameSpec() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        float[] x = JobFixtures.floats(rnd, 1_000);
        Job fromFloats = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 1_000).input("x", x).deadline(DEADLINE)
                .build();
        // the buffer's remaining bytes are the input: a prefix before position is ignored
        ByteBuffer padded = ByteBuffer.allocate(8 + 4_000);
        padded.putLong(0xDEADBEEFL).put(bytes(x)).position(8);
        Job fromBuffer = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 1_000).input("x", padded)
                .deadline(DEADLINE).build();
        assertEquals(fromFloats.spec(), fromBuffer.spec());
        assertEquals(fromFloats.spec().hash(), fromBuffer.spec().hash());
    }

    @Test
    void build_defaults() {
        Job job = JobFixtures.saxpy(new SplittableRandom(SEED), 8, 1f).build();
        assertSame(Requirements.ANY, job.spec().requirements());
        assertEquals(VerificationPolicy.spotCheck(0.05), job.spec().verification());
        assertEquals(MicroUsd.ofUsd("1"), job.spec().maxPrice());
        assertEquals(DEADLINE, job.spec().deadline());
    }

    @Test
    void build_defaultVerification_isTheKernelsCheapestSoundCheck() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        assertEquals(VerificationPolicy.freivalds(20), JobFixtures.sgemm(rnd, 3, 5, 7).build().spec().verification());
        assertEquals(VerificationPolicy.spotCheck(0.05), JobFixtures.reduceSum(rnd, 9).build().spec().verification());
        assertEquals(VerificationPolicy.redundant(2), JobFixtures.scale(rnd, 256, 2f).build().spec().verification());
        // signatureOnly is an explicit opt-out, kept as asked.
        assertSame(VerificationPolicy.signatureOnly(), JobFixtures.sgemm(rnd, 3, 5, 7)
                .verification(VerificationPolicy.signatureOnly()).build().spec().verification());
    }

    @Test
    void build_timeoutCountsFromClock() {
        Instant now = Instant.parse("2029-05-01T12:00:00.123456789Z");
        Job job = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 1).input("x", new float[] {1f})
                .clock(Clock.fixed(now, ZoneOffset.UTC)).timeout(Duration.ofSeconds(30)).build();
        assertEquals(Instant.parse("2029-05-01T12:00:30.123Z"), job.spec().deadline());
    }

    @Test
    void build_timeoutAfterDeadline_timeoutWins() {
        Instant now = Instant.parse("2029-05-01T12:00:00Z");
        Job job = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 1).input("x", new float[] {1f})
                .clock(Clock.fixed(now, ZoneOffset.UTC)).deadline(DEADLINE).timeout(Duration.ofMinutes(2)).build();
        assertEquals(now.plus(Duration.ofMinutes(2)), job.spec().deadline());
    }

    @Test
    void timeout_nonPositive_rejected() {
        for (Duration bad : new Duration[] {Duration.ZERO, Duration.ofNanos(-1), Duration.ofSeconds(-5)}) {
            InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                    () -> Job.builder(BuiltinKernel.SAXPY).timeout(bad));
            assertTrue(e.getMessage().contains("must be positive"), e.getMessage());
        }
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                () -> Job.builder(BuiltinKernel.SAXPY).timeout(null));
        assertTrue(e.getMessage().contains("timeout is null"), e.getMessage());
    }

    @Test
    void build_missingInput_rejected() {
        shapeMismatch(() -> Job.builder(BuiltinKernel.SAXPY).param("n", 4).param("alpha", 1f)
                .input("x", new float[4]).build(), "kernel saxpy needs input 'y' of 16 bytes");
    }

    @Test
    void build_extraInput_rejected() {
        shapeMismatch(() -> Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 4).input("x", new float[4])
                .input("y", new float[4]).build(), "kernel reduce-sum does not read input 'y'");
    }

    @Test
    void build_wrongSizeInput_rejected() {
        shapeMismatch(() -> Job.builder(BuiltinKernel.SAXPY).param("n", 4).param("alpha", 1f)
                .input("x", new float[4]).input("y", new float[5]).build(), "input 'y' has 20 bytes but kernel saxpy");
        shapeMismatch(() -> Job.builder(BuiltinKernel.SGEMM).param("m", 2).param("k", 3).param("n", 4)
                .input("a", new float[6]).input("b", new float[6]).build(), "input 'b' has 24 bytes");
    }

    @Test
    void build_missingParam_rejected() {
        shapeMismatch(() -> Job.builder(BuiltinKernel.SAXPY).param("n", 4).input("x", new float[4])
                .input("y", new float[4]).build(), "float launch parameter 'alpha' is missing");
    }

    // -------------------------------------------------------------- constructor

    @Test
    void constructor_sameBytes_accepted() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        float[] x = JobFixtures.floats(rnd, MULTI_CHUNK_N);
        float[] y = JobFixtures.floats(rnd, MULTI_CHUNK_N);
        JobSpec spec = Job.builder(BuiltinKernel.SAXPY).param("n", MULTI_CHUNK_N).param("alpha", 0.1f)
                .input("x", x).input("y", y).deadline(DEADLINE).build().spec();
        Job job = new Job(spec, inputs("x", bytes(x), "y", bytes(y)));
        assertSame(spec, job.spec());
        assertEquals(spec, JobSpec.fromJson(spec.canonicalJson()));
    }

    @Test
    void constructor_alteredInputByte_rejectedMentioningMerkleRoot() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        float[] x = JobFixtures.floats(rnd, MULTI_CHUNK_N);
        float[] y = JobFixtures.floats(rnd, MULTI_CHUNK_N);
        JobSpec spec = Job.builder(BuiltinKernel.SAXPY).param("n", MULTI_CHUNK_N).param("alpha", 0.1f)
                .input("x", x).input("y", y).deadline(DEADLINE).build().spec();
        byte[] yb = bytes(y);
        // first byte, last byte of chunk 0, first byte of chunk 1, a byte in the short tail, the very last byte
        for (int at : new int[] {0, 65_535, 65_536, 140_000, yb.length - 1}) {
            for (int bit : new int[] {0, 7}) {
                byte[] altered = yb.clone();
                altered[at] ^= (byte) (1 << bit);
                InvalidJobException e = assertThrowsExactly(InvalidJobException.class,
                        () -> new Job(spec, inputs("x", bytes(x), "y", altered)), "byte " + at + " bit " + bit);
                assertTrue(e.getMessage().contains("input 'y' hashes to Merkle root"), e.getMessage());
                assertTrue(e.getMessage().contains(spec.inputs().get(1).merkleRoot()), e.getMessage());
            }
        }
    }

    @Test
    void constructor_swappedInputs_rejected() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        float[] x = JobFixtures.floats(rnd, 16);
        float[] y = JobFixtures.floats(rnd, 16);
        JobSpec spec = Job.builder(BuiltinKernel.SAXPY).param("n", 16).param("alpha", 2f).input("x", x)
                .input("y", y).deadline(DEADLINE).build().spec();
        InvalidJobException e = assertThrowsExactly(InvalidJobException.class,
                () -> new Job(spec, inputs("x", bytes(y), "y", bytes(x))));
        assertTrue(e.getMessage().contains("Merkle root"), e.getMessage());
    }

    @Test
    void constructor_missingInput_rejected() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        float[] x = JobFixtures.floats(rnd, 4);
        float[] y = JobFixtures.floats(rnd, 4);
        JobSpec spec = Job.builder(BuiltinKernel.SAXPY).param("n", 4).param("alpha", 1f).input("x", x).input("y", y)
                .deadline(DEADLINE).build().spec();
        shapeMismatch(() -> new Job(spec, inputs("x", bytes(x))),
                "the spec commits to input 'y' but no bytes were given");
    }

    @Test
    void constructor_wrongSizeInput_rejected() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        float[] x = JobFixtures.floats(rnd, 4);
        float[] y = JobFixtures.floats(rnd, 4);
        JobSpec spec = Job.builder(BuiltinKernel.SAXPY).param("n", 4).param("alpha", 1f).input("x", x).input("y", y)
                .deadline(DEADLINE).build().spec();
        byte[] shortY = Arrays.copyOf(bytes(y), 15);
        shapeMismatch(() -> new Job(spec, inputs("x", bytes(x), "y", shortY)),
                "input 'y' has 15 bytes but the spec declares 16");
        byte[] longY = Arrays.copyOf(bytes(y), 17);
        shapeMismatch(() -> new Job(spec, inputs("x", bytes(x), "y", longY)),
                "input 'y' has 17 bytes but the spec declares 16");
    }

    @Test
    void constructor_extraInput_rejected() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        float[] x = JobFixtures.floats(rnd, 4);
        JobSpec spec = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 4).input("x", x).deadline(DEADLINE).build()
                .spec();
        shapeMismatch(() -> new Job(spec, inputs("x", bytes(x), "z", new byte[16])),
                "include names the spec does not declare");
    }

    @Test
    void constructor_nulls_rejected() {
        JobSpec spec = JobFixtures.saxpy(new SplittableRandom(SEED), 4, 1f).build().spec();
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                () -> new Job(null, new HashMap<>()));
        assertTrue(e.getMessage().contains("job spec is null"), e.getMessage());
        e = assertThrowsExactly(InvalidArgumentException.class, () -> new Job(spec, null));
        assertTrue(e.getMessage().contains("job inputs is null"), e.getMessage());
    }

    // ------------------------------------------------------------------- inputs

    @Test
    void inputs_freshReadOnlyLittleEndianViews() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        float[] x = JobFixtures.floats(rnd, 100);
        Job job = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 100).input("x", x).deadline(DEADLINE).build();
        ByteBuffer first = job.inputs().get("x");
        assertTrue(first.isReadOnly());
        assertEquals(ByteOrder.LITTLE_ENDIAN, first.order());
        assertEquals(0, first.position());
        assertEquals(400, first.remaining());
        float[] read = new float[100];
        first.asFloatBuffer().get(read);
        assertArrayEquals(x, read);
        first.position(200); // consuming one view must not move the next one
        assertThrowsExactly(ReadOnlyBufferException.class, () -> first.put(0, (byte) 1));
        ByteBuffer second = job.inputs().get("x");
        assertEquals(0, second.position());
        assertEquals(x[0], second.getFloat(0));
        assertThrowsExactly(UnsupportedOperationException.class, () -> job.inputs().put("y", second));
    }

    @Test
    void inputs_matchBytesOfIndependentlyBuiltEqualJob() {
        SplittableRandom a = new SplittableRandom(SEED);
        SplittableRandom b = new SplittableRandom(SEED);
        Job one = JobFixtures.sgemm(a, 5, 7, 3).build();
        Job two = JobFixtures.sgemm(b, 5, 7, 3).build();
        assertEquals(one.spec().hash(), two.spec().hash());
        for (String name : new String[] {"a", "b"}) {
            ByteBuffer p = one.inputs().get(name);
            ByteBuffer q = two.inputs().get(name);
            byte[] pb = new byte[p.remaining()];
            byte[] qb = new byte[q.remaining()];
            p.get(pb);
            q.get(qb);
            assertArrayEquals(pb, qb, name);
        }
        Job three = JobFixtures.sgemm(new SplittableRandom(SEED + 1), 5, 7, 3).build();
        assertNotEquals(one.spec().hash(), three.spec().hash());
        assertTrue(!Arrays.equals(one.spec().inputs().toArray(), three.spec().inputs().toArray()));
    }
}
