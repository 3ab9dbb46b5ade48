package dev.depin.grpc;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import io.grpc.Status;
import io.netty.handler.codec.http2.Http2Settings;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stalled readers: strangers submit jobs whose outputs (9 MiB each) are larger than the
 * HTTP/2 window and never read them. Each attempt is stopped when its reader has granted no
 * credit for the stall limit, which frees the node's one worker; honest jobs, queued in turn
 * with the strangers' (fair queueing), all succeed meanwhile, and afterwards the node holds no
 * attempt, no input bytes and no stream of its own accounting.
 */
class StalledReaderAttackTest {
    private static final long SEED = 0x5EED57L;

    @Test
    void unreadOutputs_attemptsStoppedWorkerFreedHonestJobsSucceed() throws Exception {
        System.out.println("StalledReaderAttackTest seed " + SEED);
        NodeKeyPair providerKey = NodeKeyPair.generate();
        ProviderNode node = ProviderNode.builder(providerKey, new CpuExecutor(1)).build();
        try (DirectoryServer directory = DirectoryServer.builder(NodeKeyPair.generate()).start();
             ProviderServer server = ProviderServer.builder(node, providerKey).directory(directory.address())
                     .stallTimeout(Duration.ofMillis(500)).start();
             GrpcNetwork net = GrpcNetwork.connect(directory.address())) {
            server.renewNow();
            ProviderOffer offer = net.offers(new OfferQuery("saxpy", Requirements.ANY, 10))
                    .get(10, TimeUnit.SECONDS).get(0);
            int m = 1536;
            Job wide = Job.builder(BuiltinKernel.SGEMM).param("m", m).param("n", m).param("k", 1)
                    .input("a", new float[m]).input("b", new float[m]).build(); // 12 KiB in, 9 MiB out
            List<Hostile> strangers = new ArrayList<>();
            List<Hostile.Stream> stalled = new ArrayList<>();
            try (HonestLoad honest = new HonestLoad(net, offer, 2, SEED, 1000)) {
                honest.awaitOk(3);
                for (int i = 0; i < 8; i++) {
                    Hostile h = new Hostile(server.address(), providerKey.publicKey());
                    strangers.add(h);
                    Hostile.Stream s = h.open(false); // never reads a message
                    s.send(Hostile.start(wide, Hostile.jobId(i)));
                    s.send(Hostile.input("a", new byte[m * 4], 0, m * 4));
                    s.send(Hostile.input("b", new byte[m * 4], 0, m * 4));
                    stalled.add(s);
                }
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (node.failedCount() + node.cancelledCount() < stalled.size() && System.nanoTime() < until) {
                    Thread.sleep(10);
                }
                assertEquals(stalled.size(), node.failedCount() + node.cancelledCount(),
                        "every stalled reader's attempt is stopped");
                int before = honest.ok.get();
                honest.awaitOk(before + 3);
                honest.close();
                assertEquals(List.of(), honest.failures, "honest jobs failed during the attack");
                assertEquals(honest.ok.get(), node.completedCount(), "no stalled job completed");
                for (Hostile.Stream s : stalled) {
                    assertTrue(s.outputBytes.get() == 0, "the stalled reader read nothing");
                }
            } finally {
                // Cancel the unread calls first: their buffered replies are released with the call.
                stalled.forEach(s -> s.requests.cancel("the attack is over", null));
                strangers.forEach(Hostile::close);
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while ((node.busy() != 0 || server.openStreams() != 0) && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertEquals(0, node.busy());
            assertEquals(0, server.openStreams());
            assertEquals(0, server.reservedInputBytes());
            for (Hostile.Stream s : stalled) {
                Status st = s.status.getNow(null);
                assertTrue(st == null || !st.isOk(), String.valueOf(st));
            }
        }
    }

    /**
     * A reader that grants no flow-control credit at all (HTTP/2 initial window 0, written frame
     * by frame) and never cancels: the rest of its 9 MiB of outputs is held counted against the
     * node's unread-output budget; when the stall limit passes the node stops the attempt,
     * releases that budget and resets the stream (RST_STREAM CANCEL), so gRPC and Netty drop
     * what they had queued for it too, instead of holding it until the reader cancels or the
     * connection ends. Honest jobs run afterwards.
     */
    @Test
    void readerThatNeverReadsNorCancels_outputsCountedThenStreamReset() throws Exception {
        long perPeer = 32L << 20;
        try (Shut t = new Shut(b -> b.stallTimeout(Duration.ofSeconds(2)).maxUnreadOutputBytes(64L << 20, perPeer))) {
            ProviderServer server = t.server;
            ProviderNode node = t.node;
            RawHttp2 raw = t.raw;
            int m = 1536;
            Job wide = Job.builder(BuiltinKernel.SGEMM).param("m", m).param("n", m).param("k", 1)
                    .input("a", new float[m]).input("b", new float[m]).build(); // 12 KiB in, 9 MiB out
            long quietBefore = dev.depin.grpc.internal.RefusedMessageLog.droppedStreamErrors();
            int s = raw.openExecute();
            raw.send(s, Hostile.start(wide, Hostile.jobId(1)));
            raw.send(s, Hostile.input("a", new byte[m * 4], 0, m * 4));
            raw.send(s, Hostile.input("b", new byte[m * 4], 0, m * 4));
            long held = 0;
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (held == 0 && !raw.ended(s) && System.nanoTime() < until) {
                held = server.unreadOutputBytes();
                Thread.sleep(1);
            }
            assertTrue(held > 0 && held <= perPeer && held < (long) m * m * 4,
                    "the unsent rest of the outputs is counted within the peer's budget: " + held);
            assertEquals("RST_STREAM CANCEL", raw.awaitEnd(s, 60), "the node resets the stalled stream");
            assertTrue(raw.messages(s).isEmpty(), "the reader granted no credit, so it got no message");
            assertTrue(server.stalledStreamsReset() >= 1);
            Hostile.awaitReleased(server);
            assertEquals(0, server.unreadOutputBytes(), "the held outputs were released");
            assertEquals(0, server.outputDrains());
            assertEquals(1, node.failedCount() + node.cancelledCount(), "the stalled attempt was stopped");
            // The reset ends a stream whose writes wait for the reader's window: gRPC's stack-trace
            // WARNING for that is dropped and counted, not printed once per hostile stream.
            long logUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (dev.depin.grpc.internal.RefusedMessageLog.droppedStreamErrors() == quietBefore
                    && System.nanoTime() < logUntil) {
                Thread.sleep(5);
            }
            assertTrue(dev.depin.grpc.internal.RefusedMessageLog.droppedStreamErrors() > quietBefore,
                    "gRPC's 'Stream closed before write' record for the reset stream was dropped");
            honestJobsRun(t.net);
        }
    }

    /**
     * A reader whose job's outputs and result fit gRPC's queue (a reduction, 4 bytes out) but
     * that takes nothing and never half-closes or cancels: the node finishes the job and ends
     * the stream, and when the reader has taken no part of that end within the half-close grace
     * and the stall limit, resets it, so the queued result and status do not stay in Netty.
     */
    @Test
    void endNeverTaken_streamResetAfterGraceAndStall() throws Exception {
        try (Shut t = new Shut(b -> b.stallTimeout(Duration.ofMillis(500)))) {
            ProviderServer server = t.server;
            RawHttp2 raw = t.raw;
            int bytes = 4097 * 4; // an awkward size
            Job small = Hostile.declaring(bytes);
            int s = raw.openExecute();
            raw.send(s, Hostile.start(small, Hostile.jobId(2)));
            raw.send(s, Hostile.input("x", new byte[bytes], 0, bytes));
            assertEquals("RST_STREAM CANCEL", raw.awaitEnd(s, 60), "the node resets the stream whose end waits");
            assertEquals(1, t.node.completedCount(), "the job itself ran and completed");
            assertEquals(1, server.stalledStreamsReset());
            Hostile.awaitReleased(server);
            assertEquals(0, server.unreadOutputBytes());
            honestJobsRun(t.net);
            assertEquals(1, server.stalledStreamsReset(), "honest streams, taken in full, are never reset");
        }
    }

    /**
     * A node of one worker listed in a directory, a buyer's network, and a raw HTTP/2 stranger
     * that grants no flow-control credit (initial window 0) on any stream.
     */
    private static final class Shut implements AutoCloseable {
        final ProviderNode node;
        final DirectoryServer directory;
        final ProviderServer server;
        final GrpcNetwork net;
        final RawHttp2 raw;

        Shut(java.util.function.UnaryOperator<ProviderServer.Builder> limits) throws Exception {
            System.out.println("StalledReaderAttackTest seed " + SEED);
            NodeKeyPair providerKey = NodeKeyPair.generate();
            node = ProviderNode.builder(providerKey, new CpuExecutor(1)).build();
            directory = DirectoryServer.builder(NodeKeyPair.generate()).start();
            server = limits.apply(ProviderServer.builder(node, providerKey).directory(directory.address())).start();
            net = GrpcNetwork.connect(directory.address());
            raw = new RawHttp2(server.address(), providerKey.publicKey(), NodeKeyPair.generate(), null, true,
                    new Http2Settings().initialWindowSize(0));
            server.renewNow();
        }

        @Override
        public void close() {
            raw.close();
            net.close();
            server.close();
            directory.close();
        }
    }

    private static void honestJobsRun(GrpcNetwork net) throws Exception {
        ProviderOffer offer = net.offers(new OfferQuery("saxpy", Requirements.ANY, 10))
                .get(10, TimeUnit.SECONDS).get(0);
        try (HonestLoad honest = new HonestLoad(net, offer, 2, SEED, 1000)) {
            honest.awaitOk(5);
            honest.close();
            assertEquals(List.of(), honest.failures, "honest jobs failed after the attack");
        }
    }
}
