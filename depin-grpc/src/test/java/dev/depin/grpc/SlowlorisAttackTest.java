package dev.depin.grpc;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.Requirements;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import io.grpc.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Slowloris against a node, by strangers with raw streams: Starts that declare large inputs
 * and then send nothing, or a little and then nothing, and a peer that opens more streams
 * than its share. Honest jobs running meanwhile all succeed; the node holds only the bytes
 * that arrived (never the declared sizes), within its limits; every idle stream is closed by
 * the receive idle deadline and everything it held released.
 */
class SlowlorisAttackTest {
    private static final long SEED = 0x5EED510L;
    private static final long MAX_INPUT = 16L << 20;
    private static final long PER_PEER = 4L << 20;
    /**
     * The largest inputs the node's offer allows (reduce-sum: its job bytes, one peer's input
     * budget, less the 4-byte sum); a job declaring more is refused at Start for its size.
     */
    private static final int DECLARED = (int) PER_PEER - 4;
    private static final int STREAMS_PER_PEER = 8;
    private final NodeKeyPair providerKey = NodeKeyPair.generate();
    private DirectoryServer directory;
    private ProviderServer server;
    private GrpcNetwork net;
    private ProviderOffer offer;

    @BeforeEach
    void start() throws Exception {
        System.out.println("SlowlorisAttackTest seed " + SEED);
        directory = DirectoryServer.builder(NodeKeyPair.generate()).start();
        server = ProviderServer.builder(ProviderNode.builder(providerKey, new CpuExecutor(1)).jobLimits(1 << 20, PER_PEER)
                        .build(), providerKey)
                .maxInputBytes(MAX_INPUT).maxInputBytesPerPeer(PER_PEER).maxStreamsPerPeer(STREAMS_PER_PEER)
                .receiveIdleTimeout(Duration.ofSeconds(2)).receiveTimeout(Duration.ofSeconds(30))
                .directory(directory.address()).start();
        server.renewNow();
        net = GrpcNetwork.connect(directory.address());
        offer = net.offers(new OfferQuery("saxpy", Requirements.ANY, 10)).get(10, TimeUnit.SECONDS).get(0);
    }

    @AfterEach
    void stop() {
        net.close();
        server.close();
        directory.close();
    }


    @Test
    void idleStarts_holdNothingAreClosedAndHonestJobsSucceed() throws Exception {
        Job big = Hostile.declaring(DECLARED); // 4 MiB declared per stream, less the sum
        byte[] some = new byte[64 << 10];
        List<Hostile> strangers = new ArrayList<>();
        List<Hostile.Stream> silent = new ArrayList<>();
        List<Hostile.Stream> trickled = new ArrayList<>();
        try (HonestLoad honest = new HonestLoad(net, offer, 2, SEED, 1000)) {
            honest.awaitOk(5);
            for (int k = 0; k < 6; k++) {
                Hostile h = new Hostile(server.address(), providerKey.publicKey());
                strangers.add(h);
                for (int i = 0; i < 6; i++) {
                    Hostile.Stream s = h.open(true);
                    s.send(Hostile.start(big, Hostile.jobId(k * 100 + i)));
                    if (i == 5) {
                        s.send(Hostile.input("x", some, 0, some.length)); // a little, then nothing
                        trickled.add(s);
                    } else {
                        silent.add(s);
                    }
                }
            }
            // 36 streams declare 144 MiB (9 × the node's bound); the node holds only what arrived: 6 × 64 KiB.
            long declared = 36L * DECLARED;
            long most = 0;
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(700);
            while (System.nanoTime() < until) {
                most = Math.max(most, server.reservedInputBytes());
                // Plus the two honest jobs in flight: each Start frame carries its 8 KB of inputs inline.
                long arrived = 6L * some.length + 2 * (16 << 10);
                assertTrue(server.reservedInputBytes() <= arrived, "held " + server.reservedInputBytes()
                        + " input bytes; at most " + arrived + " arrived (declared " + declared + ")");
                long[] peer = server.maxHeldByOnePeer();
                assertTrue(peer[0] <= STREAMS_PER_PEER && peer[2] <= PER_PEER, java.util.Arrays.toString(peer));
                Thread.sleep(10);
            }
            int before = honest.ok.get();
            for (Hostile.Stream s : silent) {
                Status st = s.await(10);
                assertEquals(Status.Code.DEADLINE_EXCEEDED, st.getCode(), st.toString());
                assertTrue(st.getDescription().contains("nothing received for 2000 ms while " + DECLARED + " input bytes"),
                        st.toString());
            }
            for (Hostile.Stream s : trickled) {
                Status st = s.await(10);
                assertEquals(Status.Code.DEADLINE_EXCEEDED, st.getCode(), st.toString());
                assertTrue(st.getDescription().contains((DECLARED - some.length) + " input bytes are missing"),
                        st.toString());
            }
            honest.awaitOk(before + 5);
            honest.close();
            assertEquals(List.of(), honest.failures, "honest jobs failed during the attack");
            assertTrue(honest.ok.get() >= before + 5, "honest jobs stopped completing: " + honest.ok.get());
            System.out.printf("slowloris: 36 idle streams declaring %d bytes; the node held at most %d; "
                    + "%d honest jobs succeeded, 0 failed%n", declared, most, honest.ok.get());
        } finally {
            strangers.forEach(Hostile::close);
        }
        Hostile.awaitReleased(server);
    }

    @Test
    void morePeerStreamsThanItsShare_refusedWhileOthersKeepTheirs() throws Exception {
        try (Hostile h = new Hostile(server.address(), providerKey.publicKey());
             HonestLoad honest = new HonestLoad(net, offer, 1, SEED + 7, 1000)) {
            List<Hostile.Stream> held = new ArrayList<>();
            for (int i = 0; i < STREAMS_PER_PEER; i++) {
                held.add(h.open(true));
                held.get(i).send(Hostile.start(Hostile.declaring(1 << 20), Hostile.jobId(i)));
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.maxHeldByOnePeer()[0] < STREAMS_PER_PEER && System.nanoTime() < until) {
                Thread.sleep(2);
            }
            Hostile.Stream extra = h.open(true);
            Status st = extra.await(10);
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
            assertTrue(st.getDescription().contains("has " + STREAMS_PER_PEER + " Execute streams open"),
                    st.toString());
            honest.awaitOk(5);
            honest.close();
            assertEquals(List.of(), honest.failures);
            for (Hostile.Stream s : held) {
                assertEquals(Status.Code.DEADLINE_EXCEEDED, s.await(10).getCode());
            }
        }
        Hostile.awaitReleased(server);
    }

    @Test
    void peerSendingPastItsByteShare_refusedWithTheReason() throws Exception {
        try (Hostile h = new Hostile(server.address(), providerKey.publicKey())) {
            Job big = Hostile.declaring(DECLARED);
            byte[] chunk = new byte[256 << 10];
            Hostile.Stream a = h.open(true);
            a.send(Hostile.start(big, Hostile.jobId(1)));
            for (int i = 0; i < 15; i++) {
                a.send(Hostile.input("x", chunk, 0, chunk.length)); // 15/16 of its share, then it waits
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.reservedInputBytes() < 15L * chunk.length && System.nanoTime() < until) {
                Thread.sleep(2);
            }
            assertTrue(server.reservedInputBytes() >= 15L * chunk.length, "held " + server.reservedInputBytes()
                    + "; stream a: " + a.status);
            Hostile.Stream b = h.open(true);
            b.send(Hostile.start(Hostile.declaring(1 << 20), Hostile.jobId(2)));
            for (int i = 0; i < 4 && !b.status.isDone(); i++) {
                b.send(Hostile.input("x", chunk, 0, chunk.length));
            }
            Status st = b.await(10);
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
            assertTrue(st.getDescription().contains("limit of " + PER_PEER + " per peer"), st.toString());
            assertTrue(server.reservedInputBytes() <= PER_PEER);
            assertEquals(Status.Code.DEADLINE_EXCEEDED, a.await(10).getCode());
        }
        Hostile.awaitReleased(server);
    }

    @Test
    void peerRepeatingStartsNeverTaken_refusedAtOpeningWhileOthersSucceed() throws Exception {
        // 512 MiB declared per Start, as the benchmark's slowloris: refused at once, and counted.
        Job huge = Hostile.declaring(512 << 20);
        try (Hostile h = new Hostile(server.address(), providerKey.publicKey());
             Hostile other = new Hostile(server.address(), providerKey.publicKey());
             HonestLoad honest = new HonestLoad(net, offer, 1, SEED + 11, 1000)) {
            String refusal = "job " + Hostile.jobId(0) + " declares " + (512L << 20) + " input bytes; this node takes "
                    + "at most " + PER_PEER + " per peer (" + MAX_INPUT + " in all)";
            for (int i = 0; i < 32; i++) {
                Hostile.Stream s = h.open(true);
                s.send(Hostile.start(huge, Hostile.jobId(0)));
                Status st = s.await(10);
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
                assertEquals(refusal, st.getDescription(), "Start " + i);
            }
            // The 33rd stream is refused when it opens, before its Start is read.
            Hostile.Stream s = h.open(true);
            s.send(Hostile.start(huge, Hostile.jobId(0)));
            Status st = s.await(10);
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
            String prefix = "peer " + h.key.nodeId().shortId() + " sent 32 Start messages this node refused in the "
                    + "last 10 s (jobs it never takes, or malformed): its Execute streams are refused for ";
            assertTrue(st.getDescription().startsWith(prefix) && st.getDescription().endsWith(
                    " ms more; fix the job before sending it again"), st.getDescription());
            // Even a job it would take: the peer waits out the window.
            Hostile.Stream small = h.open(true);
            small.send(Hostile.start(Hostile.declaring(4096), Hostile.jobId(1)));
            assertTrue(small.await(10).getDescription().startsWith(prefix));
            // Another peer's first such Start gets the ordinary refusal; honest jobs keep succeeding.
            Hostile.Stream o = other.open(true);
            o.send(Hostile.start(huge, Hostile.jobId(0)));
            assertEquals(refusal, o.await(10).getDescription());
            honest.finishAfter(5);
        }
        Hostile.awaitReleased(server);
    }
}
