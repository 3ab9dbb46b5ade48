package dev.depin.grpc;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.node.ProviderNode;
import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An address whose Execute streams the node keeps refusing as hostile is refused whole for a
 * while ({@link ProviderServer.Builder#refusedStartsPerAddress}). Strangers written for it (raw
 * protobuf on their own mutual-TLS channels, fresh keys, from 127.0.0.2) send what no buyer of
 * this SDK sends: Starts the node never takes, a frame that is not protobuf, a message past
 * 4 MiB. The one that reaches the maximum has the address refused: its next call on a connection
 * it has is answered with the exact reason, and a new connection from it is closed before TLS,
 * while an honest buyer from 127.0.0.1 keeps running jobs. Refusals an honest buyer meets (its
 * share of streams in use) never count, from however many keys. Time is the node's address
 * clock, moved by hand: the refusal ends after its 30 s, and the address gets the node's own
 * answer again.
 */
class NodeRefusedAddressTest {
    private static final long SEED = 0x6A7EL;
    private static final String STRANGERS = "127.0.0.2";
    private static final String BUSY = "127.0.0.3";
    private static final int MAX_REFUSED = 4;
    private static final int STREAMS_PER_PEER = 2;
    private static final Duration REFUSED_FOR = Duration.ofSeconds(30);

    private final NodeKeyPair providerKey = NodeKeyPair.generate();
    private final AtomicLong now = new AtomicLong(-7_000_000_000L); // nanoTime may be negative
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final List<Hostile> strangers = new ArrayList<>();
    private ProviderServer server;
    private GrpcNetwork net;
    private DirectoryServer directory;
    private dev.depin.provider.ProviderOffer offer;

    @BeforeEach
    void start() throws Exception {
        System.out.println("NodeRefusedAddressTest seed " + SEED);
        directory = DirectoryServer.builder(NodeKeyPair.generate()).start();
        server = ProviderServer.builder(ProviderNode.builder(providerKey, new CpuExecutor(1)).jobLimits(1 << 20,
                        4L << 20).build(), providerKey)
                .maxInputBytes(16L << 20).maxInputBytesPerPeer(4L << 20).maxStreamsPerPeer(STREAMS_PER_PEER)
                .refusedStartsPerAddress(MAX_REFUSED, REFUSED_FOR).addressClock(now::get)
                .receiveIdleTimeout(Duration.ofSeconds(60)).meterRegistry(meters)
                .directory(directory.address(), directory.publicKey()).renewEvery(Duration.ofHours(1)).start();
        server.renewNow();
        net = GrpcNetwork.builder().directory(directory.address(), directory.publicKey()).build();
        offer = net.offers(new dev.depin.network.spi.OfferQuery("saxpy", dev.depin.job.Requirements.ANY, 10))
                .get(10, TimeUnit.SECONDS).get(0);
    }

    @AfterEach
    void stop() throws InterruptedException {
        strangers.forEach(Hostile::close);
        net.close();
        server.close();
        directory.close();
    }

    private Hostile stranger(String from) {
        Hostile h = new Hostile(server.address(), providerKey.publicKey(), NodeKeyPair.generate(), from);
        strangers.add(h);
        return h;
    }

    /** A small SAXPY job from the honest buyer on 127.0.0.1, its output checked. */
    private void honestJob(SplittableRandom rnd, int i) throws Exception {
        Saxpy s = new Saxpy(rnd, 1000, Duration.ofSeconds(60));
        ExecutionRequest r = new ExecutionRequest(String.format("%016x%016x", rnd.nextLong(), i), 1, s.job.spec(),
                s.job.inputs(), new byte[ExecutionRequest.NONCE_BYTES]);
        ExecutionResponse resp = net.dispatch(offer, r, p -> { }).response().get(60, TimeUnit.SECONDS);
        s.check(resp.outputBytes().get("out"));
    }

    /** Waits until the node counted the refusal the stranger was just told (its stream may close after). */
    private void awaitRefused(InetAddress a) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.refusedFor(a).isZero() && System.nanoTime() < until) {
            Thread.sleep(5);
        }
    }

    @Test
    void hostileStreamsFromOneAddress_refusedWholePastTheMaximumOthersServedUntilItsTimeEnds() throws Exception {
        SplittableRandom rnd = new SplittableRandom(SEED);
        InetAddress strangersAt = InetAddress.getByName(STRANGERS);
        honestJob(rnd, 0);
        // Four refusals over four fresh keys, each of a kind no honest buyer sends.
        Hostile a = stranger(STRANGERS);
        Status st = Hostile.rawExecute(a.channel, "\u00ff\u00ff\u00ff\u00ff not protobuf".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(Status.Code.INVALID_ARGUMENT, st.getCode(), st.toString());
        Hostile b = stranger(STRANGERS);
        Hostile.Stream s = b.open(true);
        s.send(Hostile.start(Hostile.declaring(64 << 20), Hostile.jobId(1)));
        st = s.await(10);
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
        assertEquals("job " + Hostile.jobId(1) + " declares " + (64L << 20) + " input bytes; this node takes at most "
                + (4L << 20) + " per peer (" + (16L << 20) + " in all)", st.getDescription());
        Hostile c = stranger(STRANGERS);
        s = c.open(true);
        s.send(Hostile.start(Hostile.declaring(4096), Hostile.jobId(2)));
        s.send(Hostile.start(Hostile.declaring(4096), Hostile.jobId(2)));
        st = s.await(10);
        assertEquals(Status.Code.INVALID_ARGUMENT, st.getCode(), st.toString());
        assertEquals("a second Start on one stream: malformed stream", st.getDescription());
        assertEquals(Duration.ZERO, server.refusedFor(strangersAt), "three of four");
        // The fourth: a message past 4 MiB, refused by gRPC from its length prefix.
        Hostile d = stranger(STRANGERS);
        st = Hostile.rawExecute(d.channel, new byte[(4 << 20) + 1]);
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
        awaitRefused(strangersAt);
        assertEquals(REFUSED_FOR, server.refusedFor(strangersAt));
        assertEquals(Duration.ZERO, server.refusedFor(InetAddress.getByName("127.0.0.1")));
        assertEquals(1.0, meters.get("depin.node.addresses.refused").gauge().value());

        // Its next call on a connection it has, even for a job the node takes: refused before it is read.
        s = b.open(true);
        s.send(Hostile.start(Hostile.declaring(4096), Hostile.jobId(3)));
        st = s.await(10);
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
        assertEquals("address 127.0.0.2 sent 4 Start messages this node refused over all its keys (jobs it never "
                + "takes, or malformed) within 10000 ms: its calls and connections are refused for 30000 ms more; fix "
                + "what was refused before sending again", st.getDescription());
        // A new key from it: its connection is closed as accepted, before TLS.
        s = stranger(STRANGERS).open(true);
        s.send(Hostile.start(Hostile.declaring(4096), Hostile.jobId(4)));
        st = s.await(10);
        assertEquals(Status.Code.UNAVAILABLE, st.getCode(), st.toString());
        assertTrue(meters.get("depin.node.transport.refusals").tag("kind", "connection")
                .tag("error", "refused_address").functionCounter().count() >= 1, "the refused connection is counted");

        // The honest buyer from 127.0.0.1 is served as before.
        honestJob(rnd, 1);

        // Its time ends: the address is heard again, and gets the node's own answer.
        now.addAndGet(REFUSED_FOR.toNanos());
        assertEquals(Duration.ZERO, server.refusedFor(strangersAt));
        s = stranger(STRANGERS).open(true);
        s.send(Hostile.start(Hostile.declaring(64 << 20), Hostile.jobId(5)));
        st = s.await(10);
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
        assertTrue(st.getDescription().startsWith("job " + Hostile.jobId(5) + " declares "), st.getDescription());
        assertEquals(0.0, meters.get("depin.node.addresses.refused").gauge().value());
        honestJob(rnd, 2);
    }

    @Test
    void refusalsForCapacity_neverCountAgainstTheAddress() throws Exception {
        InetAddress busyAt = InetAddress.getByName(BUSY);
        // Keys from one address, each holding its share of streams (Starts the node takes, inputs
        // still to come); each key's next stream is refused for its share: an honest buyer's refusal.
        List<Hostile.Stream> held = new ArrayList<>();
        int refused = 0;
        for (int k = 0; k < 3; k++) {
            Hostile h = stranger(BUSY);
            for (int i = 0; i < STREAMS_PER_PEER; i++) {
                Hostile.Stream s = h.open(true);
                s.send(Hostile.startByRoot(Hostile.declaring(4096), Hostile.jobId(k * 100 + i)));
                s.need.get(10, TimeUnit.SECONDS); // the node counted the stream
                held.add(s);
            }
            for (int i = 0; i < MAX_REFUSED; i++) {
                Hostile.Stream extra = h.open(true);
                Status st = extra.await(10);
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
                assertTrue(st.getDescription().contains("Execute streams open"), st.getDescription());
                refused++;
            }
        }
        assertTrue(refused > MAX_REFUSED, refused + " refusals");
        assertEquals(Duration.ZERO, server.refusedFor(busyAt), "refusals for capacity are not counted");
        // The address is served: a fresh key's job runs to its Need as before.
        Hostile.Stream s = stranger(BUSY).open(true);
        s.send(Hostile.startByRoot(Hostile.declaring(4096), Hostile.jobId(999)));
        assertEquals(List.of("x"), s.need.get(10, TimeUnit.SECONDS));
        s.cancel();
        held.forEach(Hostile.Stream::cancel);
        assertEquals(Duration.ZERO, server.refusedFor(busyAt), "cancels are not counted");
    }

    @Test
    void refusedStartsPerAddress_outOfRange_refused() {
        ProviderServer.Builder b = ProviderServer.builder(server.node(), providerKey);
        assertEquals("refused Starts per address 0 must be 1 to 1048576 and the time an address stays refused PT30S "
                + "1 s to 1 h", assertThrows(InvalidArgumentException.class,
                        () -> b.refusedStartsPerAddress(0, REFUSED_FOR)).getMessage());
        assertEquals("refused Starts per address 1 must be 1 to 1048576 and the time an address stays refused PT0.999S "
                + "1 s to 1 h", assertThrows(InvalidArgumentException.class,
                        () -> b.refusedStartsPerAddress(1, Duration.ofMillis(999))).getMessage());
        assertThrows(InvalidArgumentException.class, () -> b.refusedStartsPerAddress(1, Duration.ofMinutes(61)));
        assertThrows(InvalidArgumentException.class, () -> b.refusedStartsPerAddress(1, null));
        b.refusedStartsPerAddress(1 << 20, Duration.ofHours(1));
    }
}
