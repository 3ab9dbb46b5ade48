package dev.depin.capacity;

import dev.depin.InvalidArgumentException;
import dev.depin.capacity.spi.CapacityMarket;
import dev.depin.client.DepinClient;
import dev.depin.client.NoMatchingOfferException;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.executor.spi.ForwardingExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import dev.depin.settlement.SettlementContract.ManualClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The elastic network's rules in one JVM, fast: a market whose machines are real in-process
 * {@link ProviderNode}s (each obtained machine a node with its own key, its own one-node
 * {@link LocalNetwork}), which is also the network the elastic one wraps, as a directory would be.
 * The process-level test is {@code ElasticFleetTest} in depin-examples.
 */
class ElasticNetworkTest {
    private static final long SEED = 20261205L;
    private static final NodeTemplate NODE = new NodeTemplate(NodeTemplate.DEFAULT_IMAGE, List.of("dir.invalid:7000"),
            new Price(MicroUsd.ofMicros(10), MicroUsd.ofMicros(10)), MicroUsd.ZERO, 7001, Duration.ofSeconds(10));

    /**
     * Machines are in-process nodes; offers are those of the machines alive, and of crashed ones
     * whose listing the test keeps (as a directory does until the listing's TTL).
     */
    static final class InProcessMarket implements CapacityMarket, ComputeNetwork {
        private final MicroUsd perMachine;
        private final Map<String, LocalNetwork> live = new LinkedHashMap<>();
        private final Map<String, Machine> machines = new LinkedHashMap<>();
        private final Map<String, List<ProviderOffer>> lastOffers = new LinkedHashMap<>();
        private final Map<String, List<ProviderOffer>> stale = new LinkedHashMap<>();
        private int sequence;
        int obtainCalls;
        /** How many more machines serve as soon as they are obtained; the rest start when {@link #start} says. */
        int startAtOnce = Integer.MAX_VALUE;
        /** While closed, the machines' jobs wait at the start of execution; null: they never wait. */
        volatile java.util.concurrent.CountDownLatch gate;

        InProcessMarket(MicroUsd perMachine) {
            this.perMachine = perMachine;
        }

        @Override
        public String name() {
            return "in-process";
        }

        @Override
        public CompletableFuture<CapacityQuote> quote(CapacityRequest r) {
            return CompletableFuture.completedFuture(new CapacityQuote(name(), r, perMachine,
                    perMachine.times(r.machines()), null, Instant.now().plusSeconds(60), "fixed"));
        }

        @Override
        public synchronized CompletableFuture<List<Machine>> obtain(CapacityRequest r) {
            obtainCalls++;
            CapacityQuote q = quote(r).join();
            if (!q.withinBudget()) {
                return CompletableFuture.failedFuture(new BudgetExceededException(name(), q.total(), r.budget(), "x"));
            }
            List<Machine> out = new ArrayList<>();
            for (int i = 0; i < r.machines(); i++) {
                String id = "m" + (++sequence);
                machines.put(id, new Machine(name(), id, MachineState.STARTING, null, null, perMachine,
                        Instant.now().plus(r.duration()), "starting"));
                if (startAtOnce > 0) {
                    startAtOnce--;
                    start(id);
                }
                out.add(machines.get(id));
            }
            return CompletableFuture.completedFuture(out);
        }

        /** The machine's node starts and lists itself. */
        synchronized Machine start(String id) {
            Machine m = machines.get(id);
            if (m.state() != MachineState.STARTING) {
                throw new IllegalStateException(id + " is not starting: " + m);
            }
            NodeKeyPair key = NodeKeyPair.generate();
            ProviderNode node = ProviderNode.builder(key, gated(new CpuExecutor(1))).price(NODE.price())
                    .endpoint("local:" + id).build();
            live.put(id, LocalNetwork.of(List.of(node)));
            Machine running = new Machine(name(), id, MachineState.RUNNING, key.nodeId(), "local:" + id, m.cost(),
                    m.expiresAt(), "");
            machines.put(id, running);
            return running;
        }

        @Override
        public synchronized CompletableFuture<List<Machine>> machines() {
            return CompletableFuture.completedFuture(List.copyOf(machines.values()));
        }

        private synchronized void end(String id, MachineState how) {
            LocalNetwork n = live.remove(id);
            if (n != null) {
                n.close();
            }
            Machine m = machines.get(id);
            if (m != null && !m.state().ended()) {
                machines.put(id, new Machine(m.market(), id, how, m.nodeId(), m.endpoint(), m.cost(), m.expiresAt(),
                        how.toString()));
            }
        }

        /** A crash (or a failed start): the node stops; the market reports the machine failed. */
        void crash(String id) {
            end(id, MachineState.FAILED);
        }

        /**
         * A crash that the market has not noticed yet (it still reports the machine running) and
         * whose node the directory still lists, as it does until the listing expires.
         */
        synchronized void crashUnnoticed(String id) {
            stale.put(id, lastOffers.getOrDefault(id, List.of()));
            live.remove(id).close();
        }

        /** The directory's listing of a crashed machine's node expires: its offers are served no more. */
        synchronized void listingExpires(String id) {
            stale.remove(id);
        }

        /** The market notices the crash: the machine is failed. */
        synchronized void notice(String id) {
            Machine m = machines.get(id);
            machines.put(id, new Machine(m.market(), id, MachineState.FAILED, m.nodeId(), m.endpoint(), m.cost(),
                    m.expiresAt(), "the node exited"));
        }

        @Override
        public CompletableFuture<Void> release(String id) {
            end(id, MachineState.RELEASED);
            return CompletableFuture.completedFuture(null);
        }

        /** The executor, with every execution waiting for the gate when there is one. */
        private DeviceExecutor gated(DeviceExecutor cpu) {
            java.util.concurrent.CountDownLatch g = gate;
            if (g == null) {
                return cpu;
            }
            return new ForwardingExecutor(cpu) {
                @Override
                public ExecutionContext open(Kernel kernel, LaunchParams params) {
                    try {
                        if (!g.await(60, TimeUnit.SECONDS)) {
                            throw new IllegalStateException("the test never opened the gate");
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException(e);
                    }
                    return super.open(kernel, params);
                }
            };
        }

        synchronized int alive() {
            return live.size();
        }

        @Override
        public synchronized CompletableFuture<List<ProviderOffer>> offers(OfferQuery query) {
            List<ProviderOffer> out = new ArrayList<>();
            for (Map.Entry<String, LocalNetwork> e : live.entrySet()) {
                List<ProviderOffer> offers = e.getValue().offers(query).join();
                lastOffers.put(e.getKey(), offers);
                out.addAll(offers);
            }
            stale.values().forEach(out::addAll);
            return CompletableFuture.completedFuture(out);
        }

        @Override
        public Dispatch dispatch(ProviderOffer offer, ExecutionRequest request, Consumer<Progress> progress) {
            LocalNetwork n;
            synchronized (this) {
                n = live.get(offer.terms().endpoint().substring("local:".length()));
            }
            return n == null ? Dispatch.failed(new NetworkException("machine gone")) : n.dispatch(offer, request, progress);
        }

        @Override
        public synchronized void close() {
            new ArrayList<>(live.keySet()).forEach(id -> end(id, MachineState.RELEASED));
        }
    }

    private static CapacityRequest one() {
        return new CapacityRequest(1, GpuSpec.NONE, null, Duration.ofHours(1), MicroUsd.ofUsd("1"), NODE);
    }

    private static List<JobHandle> submit(DepinClient client, SplittableRandom rnd, int count, Duration timeout) {
        List<JobHandle> out = new ArrayList<>();
        for (int j = 0; j < count; j++) {
            int n = 1 + rnd.nextInt(2048);
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = rnd.nextInt(-50, 51);
            }
            out.add(client.submit(Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2).input("x", x)
                    .input("y", x).maxPrice(MicroUsd.ofMicros(100_000)).timeout(timeout).build()));
        }
        return out;
    }

    private static void await(BooleanSupplier c, String what) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > until) {
                throw new AssertionError("not within 30 s: " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void waitingWork_growsTheFleetFromZero_andIdleShrinksIt() throws Exception {
        System.out.println("ElasticNetworkTest seed = " + SEED);
        try (InProcessMarket market = new InProcessMarket(MicroUsd.ofUsd("1"));
             ElasticNetwork net = ElasticNetwork.builder(market, market, one()).budget(MicroUsd.ofUsd("10"))
                     .maxMachines(3).slotsPerMachine(1).growAfter(Duration.ofMillis(50)).maxWait(Duration.ofSeconds(30))
                     .idleAfter(Duration.ofMillis(400)).tick(Duration.ofMillis(20)).build();
             DepinClient client = DepinClient.builder(net).build()) {
            List<JobHandle> jobs = submit(client, new SplittableRandom(SEED), 9, Duration.ofSeconds(60));
            for (JobHandle h : jobs) {
                h.result();
                assertEquals(JobState.VERIFIED, h.state());
            }
            ElasticNetwork.Stats s = net.stats();
            assertEquals(3, s.peak(), "9 waiting jobs at 1 slot want 9 machines; the maximum is 3: " + s);
            assertTrue(s.obtained() <= 3, s.toString());
            await(() -> net.stats().machines() == 0, "idle machines released");
            assertEquals(0, market.alive());
            assertEquals(s.obtained(), net.stats().released());
        }
    }

    @Test
    void budget_capsTheFleet_andTheWorkStillEnds() throws Exception {
        try (InProcessMarket market = new InProcessMarket(MicroUsd.ofUsd("1"));
             ElasticNetwork net = ElasticNetwork.builder(market, market, one()).budget(MicroUsd.ofUsd("2.50"))
                     .maxMachines(5).slotsPerMachine(1).growAfter(Duration.ofMillis(50)).maxWait(Duration.ofSeconds(30))
                     .idleAfter(Duration.ofSeconds(30)).tick(Duration.ofMillis(20)).build();
             DepinClient client = DepinClient.builder(net).build()) {
            // The machines' jobs wait until the fleet is at its budget: the first machine cannot run
            // all ten millisecond jobs before the network decides to grow (a flake under load).
            java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
            market.gate = gate;
            List<JobHandle> jobs = submit(client, new SplittableRandom(SEED + 1), 10, Duration.ofSeconds(60));
            await(() -> net.stats().obtained() == 2 && net.stats().budgetRefusals() >= 1,
                    "two machines obtained and a third refused by the budget");
            gate.countDown();
            for (JobHandle h : jobs) {
                h.result();
            }
            ElasticNetwork.Stats s = net.stats();
            assertEquals(2, s.obtained(), "$2.50 buys two $1 leases: " + s);
            assertEquals(MicroUsd.ofUsd("2"), s.committed());
            assertTrue(s.budgetRefusals() >= 1, s.toString());
            assertTrue(s.lastRefusal().startsWith("budget: "), s.lastRefusal());
        }
    }

    @Test
    void aCrashedMachine_isReplacedWhileBusy() throws Exception {
        try (InProcessMarket market = new InProcessMarket(MicroUsd.ofUsd("1"));
             ElasticNetwork net = ElasticNetwork.builder(market, market, one()).budget(MicroUsd.ofUsd("10"))
                     .maxMachines(2).slotsPerMachine(2).growAfter(Duration.ofMillis(50)).maxWait(Duration.ofSeconds(30))
                     .idleAfter(Duration.ofSeconds(30)).tick(Duration.ofMillis(20)).build();
             DepinClient client = DepinClient.builder(net).maxAttempts(4).build()) {
            for (JobHandle h : submit(client, new SplittableRandom(SEED + 2), 6, Duration.ofSeconds(60))) {
                h.result();
            }
            int before = net.stats().obtained();
            Machine victim = net.fleet().get(0);
            market.crash(victim.id());
            await(() -> net.stats().failed() == 1 && net.stats().replaced() == 1, "the crashed machine is replaced");
            assertEquals(before + 1, net.stats().obtained());
            NodeId gone = victim.nodeId();
            for (JobHandle h : submit(client, new SplittableRandom(SEED + 3), 6, Duration.ofSeconds(60))) {
                assertTrue(!h.result().provider().equals(gone), "no job goes to the crashed node");
            }
        }
    }

    private static final OfferQuery SAXPY = new OfferQuery(BuiltinKernel.SAXPY.id(), dev.depin.job.Requirements.ANY, 10);

    /**
     * A fleet on a clock that moves only when the test says, its periodic check an hour apart
     * (it still checks on its own wake-ups, on the same clock): a bound passes only when the test
     * moves the clock, never by timing.
     */
    private static ElasticNetwork.Builder stepped(InProcessMarket market, ManualClock clock) {
        return ElasticNetwork.builder(market, market, one())
                .nanoClock(() -> Duration.between(Instant.EPOCH, clock.instant()).toNanos()).tick(Duration.ofHours(1))
                .growAfter(Duration.ofMillis(50)).idleAfter(Duration.ofMinutes(10));
    }

    /** A query that waits at t = 0 and, at t = 0.1 s (past growAfter), a machine obtained for it that starts. */
    private static CompletableFuture<List<ProviderOffer>> waitingForAStart(InProcessMarket market, ElasticNetwork net,
                                                                          ManualClock clock) throws Exception {
        market.startAtOnce = 0;
        CompletableFuture<List<ProviderOffer>> waiting = net.offers(SAXPY);
        assertTrue(!waiting.isDone(), "nothing is listed, and a machine can be obtained: it waits");
        clock.advance(Duration.ofMillis(100));
        net.checkNow();
        assertEquals(1, net.stats().obtained());
        assertEquals(1, net.stats().starting());
        assertTrue(!waiting.isDone());
        return waiting;
    }

    @Test
    void aRetry_whoseOnlyNodeDied_waitsForTheMachinesStillStarting() throws Exception {
        // The CI case of 2026-12-06: the only serving node dies while the fleet's two other
        // machines still start. The job's retry must wait for them, not be answered with the node
        // it just lost (which the directory still lists) nor, after maxWait, with nothing.
        ManualClock clock = new ManualClock(Instant.EPOCH);
        try (InProcessMarket market = new InProcessMarket(MicroUsd.ofUsd("1"));
             ElasticNetwork net = stepped(market, clock).budget(MicroUsd.ofUsd("10")).minMachines(3).maxMachines(3)
                     .maxWait(Duration.ofMillis(200)).startTimeout(Duration.ofSeconds(60)).build();
             DepinClient client = DepinClient.builder(net).maxAttempts(4).build()) {
            market.startAtOnce = 1;
            net.checkNow();
            assertEquals(3, net.stats().obtained());
            assertEquals(2, net.stats().starting(), "m1 serves, m2 and m3 start");
            assertEquals(1, market.offers(SAXPY).join().size(), "m1 is listed");
            net.checkNow();

            // m1 dies; neither the market nor the fleet has noticed, the directory still lists it.
            market.crashUnnoticed("m1");
            JobHandle h = submit(client, new SplittableRandom(SEED + 5), 1, Duration.ofSeconds(60)).get(0);
            await(() -> net.stats().waiting() == 1 || h.resultAsync().isDone(), "the job's retry asks for offers");
            assertEquals(1, net.stats().waiting(), "the retry (m1 could not be reached) waits for a node, "
                    + "the job does not end: " + (h.resultAsync().isDone() ? h.state() : ""));
            net.checkNow();
            assertEquals(1, net.stats().waiting(), "m1 is listed and the market says it runs: " + net.stats());

            clock.advance(Duration.ofSeconds(1)); // past maxWait: machines are still starting, so it waits on
            net.checkNow();
            assertEquals(1, net.stats().waiting(), net.stats().toString());
            market.notice("m1");
            net.checkNow();
            assertEquals(1, net.stats().failed(), net.stats().toString());
            assertEquals(1, net.stats().waiting(), net.stats().toString());
            assertTrue(!h.resultAsync().isDone(), "the job still waits");

            Machine m2 = market.start("m2");
            net.checkNow();
            JobResult r = h.result();
            assertEquals(JobState.VERIFIED, h.state());
            assertEquals(m2.nodeId(), r.provider(), "the retry ran on the machine that started");
            assertEquals(0, net.stats().waiting());
        }
    }

    @Test
    void anEndedNode_isRememberedWhileItsOfferIsListed_andForgottenAfter() throws Exception {
        ManualClock clock = new ManualClock(Instant.EPOCH);
        try (InProcessMarket market = new InProcessMarket(MicroUsd.ofUsd("1"));
             ElasticNetwork net = stepped(market, clock).budget(MicroUsd.ofUsd("10")).minMachines(1).maxMachines(1)
                     .idleAfter(Duration.ofHours(1)).build()) {
            net.checkNow();
            assertEquals(1, market.offers(SAXPY).join().size(), "m1 is listed");
            NodeId m1 = market.machines().join().get(0).nodeId();
            // m1 dies, the market notices; the directory still lists it (until its listing expires).
            market.crashUnnoticed("m1");
            market.notice("m1");
            net.checkNow();
            assertEquals(1, net.stats().failed(), net.stats().toString());
            assertEquals(1, net.goneRemembered());
            net.checkNow(); // m2 replaces it (minMachines) and serves
            NodeId m2 = market.machines().join().get(1).nodeId();

            long step = ElasticNetwork.GONE_NANOS - TimeUnit.SECONDS.toNanos(1);
            for (int i = 0; i < 3; i++) {
                // Seen listed just within the bound each time: remembered, never passed on.
                clock.advance(Duration.ofNanos(step));
                net.checkNow();
                assertEquals(1, net.goneRemembered(), "still listed at " + clock.instant());
                assertEquals(List.of(m2), net.offers(SAXPY).get(10, TimeUnit.SECONDS).stream()
                        .map(ProviderOffer::nodeId).toList(), "m1's listed offer is not passed on");
            }
            market.listingExpires("m1");
            clock.advance(Duration.ofNanos(step));
            net.checkNow();
            assertEquals(1, net.goneRemembered(), "within the bound of its last sighting");
            clock.advance(Duration.ofSeconds(1));
            net.checkNow();
            assertEquals(0, net.goneRemembered(), "no offer of m1 can come through any more: forgotten");
            assertEquals(List.of(m2), net.offers(SAXPY).get(10, TimeUnit.SECONDS).stream()
                    .map(ProviderOffer::nodeId).toList());
            assertTrue(!m1.equals(m2));
        }
    }

    @Test
    void aMachineThatMissesItsStartDeadline_isReplaced_andWaitingIsBounded() throws Exception {
        ManualClock clock = new ManualClock(Instant.EPOCH);
        try (InProcessMarket market = new InProcessMarket(MicroUsd.ofUsd("1"));
             ElasticNetwork net = stepped(market, clock).budget(MicroUsd.ofUsd("2")).maxMachines(1)
                     .maxWait(Duration.ofSeconds(5)).startTimeout(Duration.ofSeconds(10)).build()) {
            CompletableFuture<List<ProviderOffer>> first = waitingForAStart(market, net, clock); // m1, t = 0.1 s

            clock.advance(Duration.ofMillis(5900)); // t = 6 s: past maxWait, m1 still within its start deadline
            net.checkNow();
            assertTrue(!first.isDone(), "held past maxWait while m1 starts");

            clock.advance(Duration.ofSeconds(5)); // t = 11 s: m1 missed its deadline (10.1 s)
            net.checkNow();
            ElasticNetwork.Stats s = net.stats();
            assertEquals(1, s.failed(), s.toString());
            assertEquals(1, s.replaced(), s.toString());
            assertEquals(2, s.obtained(), "m2 replaces m1: " + s);
            assertEquals(MachineState.RELEASED, market.machines().join().get(0).state(), "m1 is released");
            assertTrue(!first.isDone(), "held for the replacement");

            clock.advance(Duration.ofMillis(500)); // t = 11.5 s: a second query arrives
            CompletableFuture<List<ProviderOffer>> second = net.offers(SAXPY);
            assertTrue(!second.isDone(), "m2 starts: the second query waits for it");

            clock.advance(Duration.ofSeconds(4)); // t = 15.5 s: the first query waited maxWait + startTimeout
            net.checkNow();
            assertEquals(List.of(), first.get(10, TimeUnit.SECONDS), "never held longer than maxWait + startTimeout");
            assertTrue(!second.isDone(), "the second one is within its bound");

            Machine m2 = market.start("m2");
            net.checkNow();
            List<ProviderOffer> offers = second.get(10, TimeUnit.SECONDS);
            assertEquals(1, offers.size());
            assertEquals(m2.nodeId(), offers.get(0).nodeId(), "answered with the replacement's offer");
        }
    }

    @Test
    void aMachineThatFailsToStart_answersTheWaiter_whenNoReplacementFits() throws Exception {
        ManualClock clock = new ManualClock(Instant.EPOCH);
        try (InProcessMarket market = new InProcessMarket(MicroUsd.ofUsd("1"));
             ElasticNetwork net = stepped(market, clock).budget(MicroUsd.ofUsd("1")).maxMachines(2)
                     .maxWait(Duration.ofMinutes(3)).startTimeout(Duration.ofMinutes(10)).build()) {
            CompletableFuture<List<ProviderOffer>> waiting = waitingForAStart(market, net, clock); // m1: the whole budget

            market.crash("m1"); // it fails before its node lists
            net.checkNow();
            assertEquals(List.of(), waiting.get(10, TimeUnit.SECONDS),
                    "nothing starts and nothing can be bought: answered, long before maxWait");
            assertEquals(1, net.stats().failed());
            assertEquals(1, market.obtainCalls, "no lease over the budget is asked for");

            // Nothing starting, the budget spent: a new query is answered at once.
            CompletableFuture<List<ProviderOffer>> next = net.offers(SAXPY);
            assertTrue(next.isDone(), "answered within offers(), with no fleet check");
            assertEquals(List.of(), next.get());
            assertEquals(0, net.stats().waiting());
        }
    }

    @Test
    void startTimeout_mustBePositive() {
        try (InProcessMarket market = new InProcessMarket(MicroUsd.ofUsd("1"))) {
            ElasticNetwork.Builder b = ElasticNetwork.builder(market, market, one());
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> b.startTimeout(Duration.ZERO));
            assertEquals("start timeout PT0S must be positive", e.getMessage());
            assertThrows(InvalidArgumentException.class, () -> b.startTimeout(null));
        }
    }

    @Test
    void nothingObtainable_isAnsweredOnceTheMarketPricesIt_andTheJobIsRejected() throws Exception {
        try (InProcessMarket market = new InProcessMarket(MicroUsd.ofUsd("5"));
             ElasticNetwork net = ElasticNetwork.builder(market, market, one()).budget(MicroUsd.ofUsd("1"))
                     .maxMachines(2).growAfter(Duration.ofMillis(50)).maxWait(Duration.ofMillis(600))
                     .tick(Duration.ofMillis(20)).build();
             DepinClient client = DepinClient.builder(net).build()) {
            JobHandle h = submit(client, new SplittableRandom(SEED + 4), 1, Duration.ofSeconds(60)).get(0);
            JobFailedException e = assertThrows(JobFailedException.class, h::result);
            assertEquals(JobState.REJECTED, e.finalState());
            assertInstanceOf(NoMatchingOfferException.class, e.getSuppressed()[0]);
            assertEquals(0, market.obtainCalls, "a lease over the budget is never asked for");
            assertTrue(net.stats().budgetRefusals() >= 1);
        }
    }

    @Test
    void close_failsTheQueriesWaitingForANode() throws Exception {
        InProcessMarket market = new InProcessMarket(MicroUsd.ofUsd("5"));
        ElasticNetwork net = ElasticNetwork.builder(market, market, one()).budget(MicroUsd.ofUsd("1"))
                .growAfter(Duration.ofMillis(50)).maxWait(Duration.ofMinutes(5)).build();
        CompletableFuture<List<ProviderOffer>> waiting = net.offers(SAXPY);
        await(() -> net.stats().waiting() == 1, "the query waits");
        net.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> waiting.get(10, TimeUnit.SECONDS));
        assertInstanceOf(NetworkException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("closed while the job waited for a node"));
        market.close();
    }
}
