package dev.depin.grpc;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Requirements;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A dispatch that fails before any job data reached the provider (the connection reset
 * before the stream started) is opened once more on the same provider; a second such failure,
 * or any failure after the job started, goes back to the engine, and the job ran at most once.
 */
class DispatchRetryTest {
    private static final long SEED = 0x5EED0010L;
    private static final OfferQuery QUERY = new OfferQuery("saxpy", Requirements.ANY, 10);

    private final Map<String, AtomicInteger> executions = FaultyExecutor.counts();
    private final SplittableRandom rnd = new SplittableRandom(SEED);
    /** The input key of the job that stalls at the provider, if any. */
    private volatile String stalling = "";
    private DirectoryServer directory;
    private FaultyProxy proxy;
    private FaultyExecutor executor;
    private ProviderServer provider;

    @BeforeEach
    void start() throws IOException {
        System.out.println("DispatchRetryTest seed " + SEED);
        directory = DirectoryServer.builder(NodeKeyPair.generate()).start();
        proxy = new FaultyProxy(SEED);
        NodeKeyPair key = NodeKeyPair.generate();
        executor = new FaultyExecutor(new CpuExecutor(1), executions, k -> k.equals(stalling));
        provider = ProviderServer.builder(ProviderNode.builder(key, executor).build(), key)
                .directory(directory.address(), directory.publicKey()).advertise(proxy.address())
                .renewEvery(Duration.ofHours(1)).start();
        proxy.forwardTo(provider.port());
        provider.renewNow();
    }

    @AfterEach
    void stop() throws IOException {
        provider.close();
        proxy.close();
        directory.close();
    }

    private GrpcNetwork network(int retries) {
        return GrpcNetwork.builder().directory(directory.address(), directory.publicKey())
                .dispatchRetry(retries, Duration.ofMillis(20)).build();
    }

    private Saxpy job() {
        return new Saxpy(rnd, 1 + rnd.nextInt(3000), Duration.ofSeconds(60));
    }

    private static ExecutionRequest request(Saxpy s) {
        return new ExecutionRequest("0123456789abcdef0123456789abcdef", 1, s.job.spec(), s.job.inputs(),
                new byte[ExecutionRequest.NONCE_BYTES]);
    }

    private int ran(Saxpy s) {
        AtomicInteger n = executions.get(s.key());
        return n == null ? 0 : n.get();
    }

    private NetworkException failure(Dispatch d) throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class, () -> d.response().get(30, TimeUnit.SECONDS),
                () -> "connections " + proxy.connections + ", cut " + proxy.cuts);
        d.released().get(30, TimeUnit.SECONDS);
        return assertInstanceOf(NetworkException.class, e.getCause(), String.valueOf(e.getCause()));
    }

    @Test
    void dispatch_resetBeforeTheStreamStartsIsRetriedOnceOnTheSameProvider() throws Exception {
        for (int round = 0; round < 3; round++) {
            // A fresh network each round: its first connection to the provider is reset.
            try (GrpcNetwork net = network(1)) {
                ProviderOffer offer = net.offers(QUERY).get(10, TimeUnit.SECONDS).get(0);
                assertEquals(proxy.address(), provider.listedAddress());
                Saxpy s = job();
                int before = proxy.connections.get();
                proxy.resetNext(1);
                Dispatch d = net.dispatch(offer, request(s), p -> { });
                s.check(d.response().get(30, TimeUnit.SECONDS).outputBytes().get("out"));
                d.released().get(30, TimeUnit.SECONDS);
                assertEquals(1, ran(s), "ran exactly once, on the retry");
                assertEquals(before + 2, proxy.connections.get(), "one reset connection, one that served");
            }
        }
    }

    @Test
    void dispatch_providerStaysUnreachableGoesBackToTheEngineWithNothingRun() throws Exception {
        try (GrpcNetwork net = network(1)) {
            ProviderOffer offer = net.offers(QUERY).get(10, TimeUnit.SECONDS).get(0);
            Saxpy s = job();
            proxy.resetNext(Integer.MAX_VALUE);
            NetworkException e = failure(net.dispatch(offer, request(s), p -> { }));
            assertTrue(e.getMessage().contains("UNAVAILABLE"), e.getMessage());
            assertEquals(0, ran(s));
            assertTrue(proxy.connections.get() >= 2, "tried again: " + proxy.connections);
            assertEquals(0, provider.node().completedCount() + provider.node().failedCount());
        }
    }

    @Test
    void dispatch_withoutRetryTheFirstResetGoesBackToTheEngine() throws Exception {
        try (GrpcNetwork net = network(0)) {
            ProviderOffer offer = net.offers(QUERY).get(10, TimeUnit.SECONDS).get(0);
            Saxpy s = job();
            proxy.resetNext(1);
            NetworkException e = failure(net.dispatch(offer, request(s), p -> { }));
            assertTrue(e.getMessage().contains("UNAVAILABLE"), e.getMessage());
            assertEquals(0, ran(s));
        }
    }

    @Test
    void dispatch_cutAfterTheJobReachedTheProviderIsNotRetriedAndTheWorkStops() throws Exception {
        try (GrpcNetwork net = network(1)) {
            ProviderOffer offer = net.offers(QUERY).get(10, TimeUnit.SECONDS).get(0);
            Saxpy s = job();
            stalling = s.key();
            Dispatch d = net.dispatch(offer, request(s), p -> { });
            assertTrue(FaultyExecutor.await(executor.stalled, 1, 30), "the job never reached the provider");
            proxy.cutAll();
            NetworkException e = failure(d);
            assertTrue(e.getMessage().contains("UNAVAILABLE"), e.getMessage());
            assertTrue(FaultyExecutor.await(executor.cancelledStalls, 1, 30), "the provider never stopped the work");
            assertEquals(1, executor.stalled.get(), "not sent again");
        }
    }

    @Test
    void dispatchRetry_outOfRangeIsRefused() {
        GrpcNetwork.Builder b = GrpcNetwork.builder();
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> b.dispatchRetry(2, Duration.ofMillis(100)));
        assertTrue(e.getMessage().contains("dispatch retries is 2: give 0 or 1"), e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> b.dispatchRetry(-1, Duration.ofMillis(100)));
        assertTrue(e.getMessage().contains("dispatch retries is -1"), e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> b.dispatchRetry(1, Duration.ZERO));
        assertTrue(e.getMessage().contains("dispatch backoff PT0S must be 1 ms to 10 s"), e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> b.dispatchRetry(1, Duration.ofSeconds(11)));
        assertTrue(e.getMessage().contains("must be 1 ms to 10 s"), e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> b.dispatchRetry(1, null));
        e = assertThrows(InvalidArgumentException.class, () -> b.directoryTimeout(Duration.ZERO));
        assertTrue(e.getMessage().contains("directory timeout PT0S must be 1 ms to 10 minutes"), e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> b.directoryRetry(null));
        assertTrue(e.getMessage().contains("directory retry policy"), e.getMessage());
    }
}
