package dev.depin.grpc;

import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.JobHandle;
import dev.depin.job.Requirements;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Directory queries and renewals are retried while the directory is unavailable, a buyer
 * fails only when no directory answers (saying which and why), and after a directory
 * restarts on the same port the providers list themselves again through their renewals and
 * the buyer goes on.
 */
class DirectoryRetryTest {
    private static final long SEED = 0x5EED0012L;
    private static final OfferQuery SAXPY = new OfferQuery("saxpy", Requirements.ANY, 100);
    private static final RetryPolicy FAST = new RetryPolicy(4, Duration.ofMillis(10), Duration.ofMillis(50), 0.5);

    private static ProviderServer provider(NodeKeyPair key, DirectoryServer dir) {
        ProviderServer s = ProviderServer.builder(ProviderNode.builder(key, new CpuExecutor(1)).build(), key)
                .directory(dir.address(), dir.publicKey()).renewEvery(Duration.ofHours(1)).start();
        s.renewNow();
        return s;
    }

    @Test
    void query_connectionsResetAreRetriedUntilTheDirectoryAnswers() throws Exception {
        NodeKeyPair a = NodeKeyPair.generate();
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start();
             ProviderServer pa = provider(a, dir);
             FaultyProxy proxy = new FaultyProxy(SEED).forwardTo(dir.port());
             GrpcNetwork net = GrpcNetwork.builder().directory(proxy.address(), dir.publicKey())
                     .directoryRetry(FAST).offerCache(Duration.ZERO).build()) {
            proxy.resetNext(2);
            List<ProviderOffer> offers = net.offers(SAXPY).get(30, TimeUnit.SECONDS);
            assertEquals(List.of(a.nodeId()), offers.stream().map(ProviderOffer::nodeId).toList());
            assertTrue(proxy.connections.get() >= 3, "two reset, one answered: " + proxy.connections);
            assertEquals(pa.nodeId(), offers.get(0).nodeId());
        }
    }

    @Test
    void query_directoryTooSlowToAnswerInTimeIsAskedAgain() throws Exception {
        NodeKeyPair a = NodeKeyPair.generate();
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start();
             ProviderServer pa = provider(a, dir);
             FaultyProxy proxy = new FaultyProxy(SEED).forwardTo(dir.port())) {
            // The handshake's first messages are each held for 0.8 s: the first query cannot be
            // answered within its 0.5 s deadline; once connected, later queries pass at once.
            proxy.delayFirstReads(2, 800);
            try (GrpcNetwork once = GrpcNetwork.builder().directory(proxy.address(), dir.publicKey())
                    .directoryTimeout(Duration.ofMillis(500)).directoryRetry(RetryPolicy.NONE).build()) {
                ExecutionException e = assertThrows(ExecutionException.class,
                        () -> once.offers(SAXPY).get(60, TimeUnit.SECONDS));
                assertTrue(e.getCause().getMessage().contains("DEADLINE_EXCEEDED"), e.getCause().getMessage());
            }
            try (GrpcNetwork retrying = GrpcNetwork.builder().directory(proxy.address(), dir.publicKey())
                    .directoryTimeout(Duration.ofMillis(500))
                    .directoryRetry(new RetryPolicy(20, Duration.ofMillis(50), Duration.ofMillis(500), 0.5)).build()) {
                assertEquals(List.of(pa.nodeId()), retrying.offers(SAXPY).get(60, TimeUnit.SECONDS).stream()
                        .map(ProviderOffer::nodeId).toList());
            }
        }
    }

    @Test
    void query_noDirectoryAnswersFailsNamingEachAndWhy() throws Exception {
        try (FaultyProxy dead1 = new FaultyProxy(SEED);
             FaultyProxy dead2 = new FaultyProxy(SEED + 1);
             GrpcNetwork net = GrpcNetwork.builder().directory(dead1.address()).directory(dead2.address())
                     .directoryRetry(new RetryPolicy(3, Duration.ofMillis(5), Duration.ofMillis(20), 0.5))
                     .offerCache(Duration.ZERO).build()) {
            // Nothing behind either proxy: every connection is reset.
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> net.offers(SAXPY).get(60, TimeUnit.SECONDS));
            NetworkException n = assertInstanceOf(NetworkException.class, e.getCause());
            String m = n.getMessage();
            assertTrue(m.startsWith("no directory answered (2 asked): "), m);
            assertTrue(m.contains("directory " + dead1.address() + " did not answer (3 tries): Status{code=UNAVAILABLE"),
                    m);
            assertTrue(m.contains("directory " + dead2.address() + " did not answer (3 tries)"), m);
            assertTrue(m.endsWith("Check that a directory runs at each address and is reachable"), m);
        }
    }

    @Test
    void renew_retriedWhileTheDirectoryIsUnavailable() throws Exception {
        NodeKeyPair a = NodeKeyPair.generate();
        try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start();
             FaultyProxy proxy = new FaultyProxy(SEED).forwardTo(dir.port())) {
            proxy.resetNext(2);
            try (ProviderServer pa = ProviderServer.builder(ProviderNode.builder(a, new CpuExecutor(1)).build(), a)
                    .directory(proxy.address(), dir.publicKey()).renewRetry(FAST).renewEvery(Duration.ofHours(1))
                    .start()) {
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (dir.heartbeats(a.nodeId()) == 0 && System.nanoTime() < until) {
                    Thread.sleep(5);
                }
                assertEquals(1, dir.heartbeats(a.nodeId()), "the first heartbeat got through on a retry");
                assertTrue(proxy.connections.get() >= 3, "two reset, one renewed: " + proxy.connections);

                proxy.resetNext(Integer.MAX_VALUE);
                proxy.cutAll();
                NetworkException e = assertThrows(NetworkException.class, pa::renewNow);
                assertTrue(e.getMessage().contains("directory " + proxy.address() + " did not renew the listing "
                        + "(4 tries): UNAVAILABLE"), e.getMessage());
                assertEquals(1, dir.heartbeats(a.nodeId()));
            }
        }
    }

    @Test
    void directory_restartOnTheSamePortProvidersListAgainAndTheBuyerGoesOn() throws Exception {
        System.out.println("DirectoryRetryTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        NodeKeyPair dirKey = NodeKeyPair.generate();
        NodeKeyPair a = NodeKeyPair.generate();
        NodeKeyPair b = NodeKeyPair.generate();
        DirectoryServer first = DirectoryServer.builder(dirKey).start();
        int port = first.port();
        List<ProviderServer> providers = new ArrayList<>();
        DirectoryServer second = null;
        try {
            for (NodeKeyPair k : List.of(a, b)) {
                providers.add(ProviderServer.builder(ProviderNode.builder(k, new CpuExecutor(1)).build(), k)
                        .directory(first.address(), dirKey.publicKey()).renewEvery(Duration.ofMillis(100)).start());
            }
            providers.forEach(ProviderServer::renewNow);
            try (GrpcNetwork net = GrpcNetwork.builder().directory(first.address(), dirKey.publicKey())
                    .offerCache(Duration.ZERO)
                    .directoryRetry(new RetryPolicy(100, Duration.ofMillis(20), Duration.ofMillis(200), 0.5)).build();
                 DepinClient client = DepinClient.builder(net).build()) {
                runJobs(client, rnd, 10);

                first.close();
                // A query made while no directory runs is retried until one answers again.
                CompletableFuture<List<ProviderOffer>> during = net.offers(SAXPY);
                second = DirectoryServer.builder(dirKey).listen("127.0.0.1", port).start();
                during.get(60, TimeUnit.SECONDS);
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (second.size() < 2 && System.nanoTime() < until) {
                    Thread.sleep(10);
                }
                assertEquals(2, second.size(), "both providers listed again through their renewals");
                assertTrue(second.heartbeats(a.nodeId()) >= 1 && second.heartbeats(b.nodeId()) >= 1);
                runJobs(client, rnd, 10);
            }
        } finally {
            providers.forEach(ProviderServer::close);
            first.close();
            if (second != null) {
                second.close();
            }
        }
    }

    private static void runJobs(DepinClient client, SplittableRandom rnd, int n) throws Exception {
        List<Saxpy> jobs = new ArrayList<>();
        List<JobHandle> handles = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Saxpy s = new Saxpy(rnd, 1 + rnd.nextInt(2000), Duration.ofSeconds(60));
            jobs.add(s);
            handles.add(client.submit(s.job));
        }
        for (int i = 0; i < n; i++) {
            jobs.get(i).check(handles.get(i).resultAsync().get(60, TimeUnit.SECONDS));
        }
    }
}
