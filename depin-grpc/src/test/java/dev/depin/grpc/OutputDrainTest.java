package dev.depin.grpc;

import dev.depin.crypto.Envelope;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.WipeAttestation;
import dev.depin.crypto.WipeRecord;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.internal.wire.Result;
import dev.depin.job.Job;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.node.ProviderNode;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Outputs sent without a worker: strangers with raw stubs (not {@code GrpcNetwork}) submit
 * jobs with 9 MiB of output and never read it. Their outputs drain from copies held under
 * the node's and the peer's budgets while the node's one worker runs the next jobs; a drain
 * that is read completes and its copies are in the job's signed wipe attestation; one that is
 * cancelled is zeroed and listed in the peer's next attestation; budgets refuse with exact
 * messages; nothing stays counted for a peer afterwards. The stall limit is 10 minutes here,
 * so no drain ends by a timer during a test: every step waits for a state (liveness bound
 * only), never for a duration.
 */
class OutputDrainTest {
    private static final long SEED = 0xD2A1_4E55L;
    private static final int M = 1536;
    private static final long WIDE_OUTPUT = 4L * M * M; // 9 MiB
    private static final long MIB = 1 << 20;

    /** A provider with one CPU worker and the given unread-output budgets. */
    private static final class Node implements AutoCloseable {
        final NodeKeyPair key = NodeKeyPair.generate();
        final ProviderNode node;
        final ProviderServer server;

        Node(long total, long perPeer) {
            // Single envelopes (receiptBatching(0)): the tests read the wipe attestation envelope.
            node = ProviderNode.builder(key, new CpuExecutor(1)).receiptBatching(0).build();
            server = ProviderServer.builder(node, key).stallTimeout(Duration.ofMinutes(10))
                    .maxUnreadOutputBytes(total, perPeer).start();
        }

        Hostile stranger() {
            return new Hostile(server.address(), key.publicKey());
        }

        @Override
        public void close() {
            server.close();
        }
    }

    /** SGEMM m = n = 1536, k = 1 with random inputs: 12 KiB in, 9 MiB out, c[i][j] = a[i]·b[j]. */
    private static final class Wide {
        final float[] a = new float[M];
        final float[] b = new float[M];
        final Job job;

        Wide(SplittableRandom rnd) {
            for (int i = 0; i < M; i++) {
                a[i] = (float) rnd.nextDouble(-4, 4);
                b[i] = (float) rnd.nextDouble(-4, 4);
            }
            job = Job.builder(BuiltinKernel.SGEMM).param("m", M).param("n", M).param("k", 1).input("a", a)
                    .input("b", b).timeout(Duration.ofMinutes(30)).build();
        }

        Hostile.Stream submit(Hostile h, boolean read, String jobId) {
            Hostile.Stream s = h.open(read);
            s.send(Hostile.start(job, jobId));
            send(s, job);
            return s;
        }

        void check(byte[] c) {
            assertEquals(WIDE_OUTPUT, c.length, "output bytes");
            float[] got = new float[M * M];
            ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(got);
            for (int i = 0; i < M; i++) {
                for (int j = 0; j < M; j++) {
                    if (got[i * M + j] != a[i] * b[j]) {
                        assertEquals(a[i] * b[j], got[i * M + j], "c[" + i + "][" + j + "]");
                    }
                }
            }
        }
    }

    /** Sends every input of {@code job} in one chunk each. */
    private static void send(Hostile.Stream s, Job job) {
        job.inputs().forEach((name, data) -> {
            byte[] bytes = new byte[data.remaining()];
            data.duplicate().get(bytes);
            s.send(Hostile.input(name, bytes, 0, bytes.length));
        });
    }

    private static Hostile.Stream small(Hostile h, Saxpy job, String jobId) {
        Hostile.Stream s = h.open(true);
        s.send(Hostile.start(job.job, jobId));
        send(s, job.job);
        return s;
    }

    /** Waits for a state; the bound is for liveness only (a test that hangs says what it waited for). */
    private static void await(BooleanSupplier state, String what) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!state.getAsBoolean() && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        assertTrue(state.getAsBoolean(), "waited for: " + what);
    }

    /** The job's wipe attestation, verified against its receipt and the provider's key. */
    private static List<WipeRecord> attested(Result r, Node n) {
        Envelope receipt = Envelope.parse(r.getReceiptEnvelope().toByteArray(), 1 << 20);
        Envelope wipe = Envelope.parse(r.getWipeEnvelope().toByteArray(), 1 << 20);
        WipeAttestation.verify(wipe, receipt, n.key.publicKey(),
                WipeAttestation.buffersOf(ExecutionReceipt.readUnverified(receipt)));
        return WipeAttestation.readUnverified(wipe).buffers();
    }

    private static WipeRecord record(List<WipeRecord> records, String label) {
        return records.stream().filter(w -> w.label().equals(label)).findFirst()
                .orElseThrow(() -> new AssertionError("no wipe record '" + label + "' in " + records));
    }

    /** Everything a peer could have made the server count is gone. */
    private static void assertNothingHeld(Node n) throws InterruptedException {
        await(() -> n.server.outputDrains() == 0 && n.server.peersHolding() == 0 && n.server.openStreams() == 0,
                "every drain, stream and per-peer count released");
        assertEquals(0, n.server.unreadOutputBytes());
        assertEquals(0, n.server.reservedInputBytes());
        assertEquals(0, n.node.busy());
    }

    @Test
    void stalledDrains_holdNoWorker_honestJobCompletesMeanwhile() throws Exception {
        System.out.println("OutputDrainTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        int strangers = 4;
        try (Node n = new Node(256 * MIB, 16 * MIB)) {
            List<Hostile> hs = new ArrayList<>();
            List<Hostile.Stream> stalled = new ArrayList<>();
            try {
                for (int i = 0; i < strangers; i++) {
                    Hostile h = n.stranger();
                    hs.add(h);
                    stalled.add(new Wide(rnd).submit(h, false, Hostile.jobId(i)));
                }
                await(() -> n.server.outputDrains() == strangers, strangers + " drains held");
                // Every stalled job leaves the node's one worker (with the old sender the worker
                // would wait for the reader until the 10 minute stall limit).
                await(() -> n.node.busy() == 0, "the worker free: nothing queued, nothing running");
                long held = n.server.unreadOutputBytes();
                assertTrue(held > 0 && held <= strangers * WIDE_OUTPUT, "held " + held);
                assertTrue(n.server.maxHeldByOnePeer()[3] <= 16 * MIB, "per-peer bound");

                // An honest buyer's job runs on that worker while all the drains are held.
                try (Hostile honest = n.stranger()) {
                    Saxpy job = new Saxpy(rnd, 4096, Duration.ofMinutes(5));
                    Hostile.Stream s = small(honest, job, Hostile.jobId(100));
                    assertEquals(Status.Code.OK, s.await(120).getCode());
                    job.check(ByteBuffer.wrap(s.outputs.get("out").toByteArray()));
                    assertNotNull(s.result);
                }
                assertEquals(strangers, n.server.outputDrains(), "the drains were held throughout");
                assertEquals(held, n.server.unreadOutputBytes());
                assertEquals(1, n.node.completedCount());
                for (Hostile.Stream s : stalled) {
                    assertEquals(0, s.outputBytes.get(), "the stalled reader read nothing");
                }

                // Two strangers cancel their calls, two cut their connections.
                stalled.get(0).requests.cancel("stranger gives up", null);
                stalled.get(1).requests.cancel("stranger gives up", null);
                hs.get(2).close();
                hs.get(3).close();
                assertNothingHeld(n);
                assertEquals(strangers, n.node.failedCount() + n.node.cancelledCount());
                assertEquals(1, n.node.completedCount(), "no stalled job completed");
            } finally {
                hs.forEach(Hostile::close);
            }
        }
    }

    @Test
    void drain_readLate_outputsIntactCopiesWipedWithTheJobsPatternAndAttested() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        try (Node n = new Node(64 * MIB, 32 * MIB); Hostile h = n.stranger()) {
            Wide wide = new Wide(rnd);
            Hostile.Stream s = wide.submit(h, false, Hostile.jobId(1));
            await(() -> n.server.outputDrains() == 1, "the drain held");
            long held = n.server.unreadOutputBytes();
            assertTrue(held > 0 && held < WIDE_OUTPUT, "held " + held);
            await(() -> n.node.busy() == 0, "the worker free while the drain is held");
            assertEquals(1, n.server.outputDrains());

            s.requests.request(Integer.MAX_VALUE); // the reader wakes up and reads everything
            assertEquals(Status.Code.OK, s.await(120).getCode());
            wide.check(s.outputs.get("c").toByteArray());
            List<WipeRecord> records = attested(s.result, n);
            WipeRecord drained = record(records, "transport:drain:c");
            assertEquals(held, drained.bytes(), "the copy the drain held");
            assertEquals(held, drained.bytesOverwritten());
            assertEquals(record(records, "c").pattern(), drained.pattern(), "wiped with the job's pattern");
            assertEquals(WipeRecord.HOST, drained.location());
            assertEquals(1, n.node.completedCount());
            assertNothingHeld(n);
        }
    }

    @Test
    void cancelledDrain_zeroedAndListedInThePeersNextAttestation() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        try (Node n = new Node(64 * MIB, 32 * MIB); Hostile h = n.stranger()) {
            Hostile.Stream s = new Wide(rnd).submit(h, false, Hostile.jobId(1));
            await(() -> n.server.outputDrains() == 1 && n.node.busy() == 0, "the drain held, the worker free");
            long held = n.server.unreadOutputBytes();
            s.requests.cancel("stranger gives up", null);
            assertNothingHeld(n);
            assertEquals(1, n.node.failedCount() + n.node.cancelledCount());

            // The same peer's next job: its attestation says the cancelled drain's copy was zeroed.
            Saxpy job = new Saxpy(rnd, 1000, Duration.ofMinutes(5));
            Hostile.Stream next = small(h, job, Hostile.jobId(2));
            assertEquals(Status.Code.OK, next.await(120).getCode());
            job.check(ByteBuffer.wrap(next.outputs.get("out").toByteArray()));
            WipeRecord zeroed = record(attested(next.result, n), "transport:cancelled-drains");
            assertEquals(held, zeroed.bytes());
            assertEquals(held, zeroed.bytesOverwritten());
            assertEquals(0, zeroed.pattern());

            // Listed once: the job after that has nothing owed.
            Saxpy third = new Saxpy(rnd, 1000, Duration.ofMinutes(5));
            Hostile.Stream after = small(h, third, Hostile.jobId(3));
            assertEquals(Status.Code.OK, after.await(120).getCode());
            assertTrue(attested(after.result, n).stream().noneMatch(w -> w.label().startsWith("transport:cancelled")));
            assertNothingHeld(n);
        }
    }

    @Test
    void unreadOutputs_nextJobPastPeersBudget_refusedAtStartSmallerOneRuns() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 3);
        long perPeer = 12 * MIB;
        try (Node n = new Node(64 * MIB, perPeer); Hostile h = n.stranger();
             Hostile same = new Hostile(n.server.address(), n.key.publicKey(), h.key)) {
            Hostile.Stream s = new Wide(rnd).submit(h, false, Hostile.jobId(1));
            await(() -> n.server.outputDrains() == 1, "the drain held");
            long held = n.server.unreadOutputBytes();
            assertTrue(held + WIDE_OUTPUT > perPeer, "precondition: the unread rest is " + held);

            Hostile.Stream refused = new Wide(rnd).submit(same, true, Hostile.jobId(2));
            Status st = refused.await(120);
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode());
            assertEquals("peer " + h.key.nodeId().shortId() + " has " + held + " output bytes here that it has not "
                    + "read; job " + Hostile.jobId(2) + " declares " + WIDE_OUTPUT + " more, past this node's limit of "
                    + perPeer + " per peer: read the outputs of its earlier jobs before sending more",
                    st.getDescription());
            assertEquals(0, n.node.failedCount(), "refused before it was queued");

            Saxpy job = new Saxpy(rnd, 1000, Duration.ofMinutes(5)); // fits beside the unread bytes
            Hostile.Stream fits = small(same, job, Hostile.jobId(3));
            assertEquals(Status.Code.OK, fits.await(120).getCode());
            job.check(ByteBuffer.wrap(fits.outputs.get("out").toByteArray()));

            s.requests.cancel("stranger gives up", null);
            assertNothingHeld(n);
        }
    }

    @Test
    void handOff_pastNodesBudget_attemptStoppedWithTheReason() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED + 4);
        long total = 12 * MIB;
        try (Node n = new Node(total, total); Hostile first = n.stranger(); Hostile second = n.stranger()) {
            Hostile.Stream s = new Wide(rnd).submit(first, false, Hostile.jobId(1));
            await(() -> n.server.outputDrains() == 1, "the first drain held");
            long held = n.server.unreadOutputBytes();

            Hostile.Stream stopped = new Wide(rnd).submit(second, false, Hostile.jobId(2));
            await(() -> n.node.failedCount() == 1, "the second attempt stopped");
            assertEquals(1, n.server.outputDrains(), "the first drain is untouched");
            assertEquals(held, n.server.unreadOutputBytes());
            stopped.requests.request(Integer.MAX_VALUE); // read what was sent, then the status
            Status st = stopped.await(120);
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode());
            Matcher m = Pattern.compile("node is busy holding " + held + " output bytes that their readers have not "
                    + "read; (\\d+) more would pass its limit of " + total
                    + ": attempt stopped, try later or another provider").matcher(st.getDescription());
            assertTrue(m.matches(), st.getDescription());
            long more = Long.parseLong(m.group(1));
            assertTrue(held + more > total && more <= WIDE_OUTPUT, held + " + " + more);
            assertEquals(WIDE_OUTPUT - more, stopped.outputBytes.get(), "sent before the hand-off, none after");

            s.requests.cancel("stranger gives up", null);
            assertNothingHeld(n);
        }
    }
}
