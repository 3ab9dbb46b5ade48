package dev.depin.benchmarks.client;

import dev.depin.benchmarks.BenchmarkBase;
import dev.depin.client.internal.OfferBook;
import dev.depin.client.internal.ProviderLoad;
import dev.depin.client.internal.Reputation;
import dev.depin.client.internal.Selection;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.job.Job;
import dev.depin.job.JobSpec;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Placing a job among 10,000 cached offers (issue 10: goal &ge; 100,000 placements/s and p99
 * &le; 1 ms on 2 cores): one scheduling round as {@code JobRun.plan()} does it, i.e. a
 * {@link Selection} for the job, {@link OfferBook#usable} on the network's answer, then
 * {@link Selection#choose}.
 *
 * <ul>
 *   <li>The offers: 10,000 signed offers from 10,000 providers in 12 regions, five device
 *       types (H100, A100, L4, RTX 4090, a 96-core CPU) with their memory and measured rates,
 *       hourly prices spread &plusmn;40% around each type's going rate plus a per-GB charge,
 *       some providers running only a subset of the kernels. The list is one immutable list
 *       object, as {@code GrpcNetwork} hands out its cached directory answer.</li>
 *   <li>The jobs: 64 specs cycled in order: SGEMM, SAXPY and reduce-sum of various sizes;
 *       half with no requirements, the others a region, device memory and kind, a model, or a
 *       minimum reputation; caps from tight to generous; 1 provider per round, 2 or 3 for
 *       every 8th and 16th job (redundant rounds), and every 10th job a retry round with the
 *       previous job's providers already tried.</li>
 *   <li>What changes per job: every placement starts an attempt at each chosen provider
 *       ({@link ProviderLoad}, at most 4 in flight each) and ends the oldest of 128 in flight
 *       per thread, whose provider earns a success ({@link Reputation}); 3,000 providers start
 *       with a history and 40 with a dispute (banned).</li>
 * </ul>
 * Variants: {@code indexed} (the snapshot and its per-shape ranking, what the engine runs),
 * {@code indexedFreshList} (the same offers in a new {@code ArrayList} per round, as
 * {@code LocalNetwork} answers), {@code indexedRefreshed} (every round a refreshed answer:
 * the same offers as new objects, as after each {@code GrpcNetwork} offer-cache expiry, so
 * every round builds a snapshot and ranks its shape anew: the worst case, the cost of the
 * first round after a refresh), and the baseline {@code linear}
 * ({@link OfferBook#usableLinear} + {@link Selection#chooseLinear}: every offer looked at,
 * filtered and sorted per round, as before). Each in throughput (placements/s) and sample
 * time (p50/p99). The setup checks that indexed and linear choose alike for all 64 specs.
 *
 * <p>Run (and {@code -t 2} for two threads):
 * {@code java -jar depin-benchmarks/target/benchmarks.jar client.PlacementBenchmark}
 */
public class PlacementBenchmark extends BenchmarkBase {
    private static final Region[] REGIONS = {Region.parse("US/east-1"), Region.parse("US/west-2"),
        Region.parse("DE/fra-1"), Region.parse("FR"), Region.parse("GB"), Region.parse("NL"), Region.parse("SE"),
        Region.parse("JP"), Region.parse("SG"), Region.parse("BR"), Region.parse("IN"), Region.parse("CA")};
    /** Device types: model, kind, memory GiB, measured GFLOP/s, going rate in micro-USD per device-second. */
    private static final Object[][] DEVICES = {
        {"NVIDIA H100 80GB HBM3", DeviceKind.CUDA, 80, 51_000.0, 700},
        {"NVIDIA A100-SXM4-80GB", DeviceKind.CUDA, 80, 19_500.0, 420},
        {"NVIDIA L4", DeviceKind.CUDA, 24, 30_000.0, 200},
        {"NVIDIA GeForce RTX 4090", DeviceKind.CUDA, 24, 82_000.0, 110},
        {"AMD EPYC 9654", DeviceKind.CPU, 384, 3_000.0, 60},
    };
    private static final int SPECS = 64;

    /** Offers in the network's answer. */
    @Param({"10000"})
    public int offers;

    private List<ProviderOffer> answer;
    /** Refreshed answers: the same offers as new objects (as parsed from a directory again), more than the book keeps. */
    private List<List<ProviderOffer>> refreshed;
    private OfferBook book;
    private Reputation reputation;
    private ProviderLoad load;
    private JobSpec[] specs;
    private int[] wanted;
    private final Clock clock = Clock.systemUTC();

    /** What each benchmark thread keeps: its jobs' position and its attempts in flight. */
    @State(Scope.Thread)
    public static class Worker {
        private final NodeId[] inFlight = new NodeId[128];
        private final Set<NodeId> tried = new HashSet<>();
        private final Set<NodeId> none = Set.of();
        private int next;
        private int oldest;
        private int job;
        private int refresh;
    }

    /** Signs the offers, builds the jobs, seeds reputation, and checks that both paths choose alike. */
    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        Instant until = Instant.now().plusSeconds(3600);
        List<ProviderOffer> list = new ArrayList<>(offers);
        for (int i = 0; i < offers; i++) {
            byte[] seed = new byte[NodeKeyPair.SEED_LENGTH];
            for (int b = 0; b < seed.length; b++) {
                seed[b] = (byte) rnd.nextInt(256);
            }
            list.add(ProviderOffer.sign(NodeKeyPair.fromSeed(seed), terms(rnd, i, until)));
        }
        answer = List.copyOf(list);
        refreshed = new ArrayList<>();
        for (int r = 0; r < 9; r++) {
            List<ProviderOffer> copy = new ArrayList<>(offers);
            for (ProviderOffer o : answer) {
                copy.add(new ProviderOffer(o.nodeId(), o.publicKey(), o.terms(), o.signature()));
            }
            refreshed.add(List.copyOf(copy));
        }
        book = new OfferBook(100_000);
        reputation = new Reputation();
        load = new ProviderLoad(4);
        for (int i = 0; i < 3000; i++) {
            NodeId id = answer.get(rnd.nextInt(offers)).nodeId();
            for (int s = rnd.nextInt(50); s >= 0; s--) {
                reputation.success(id);
            }
            for (int f = rnd.nextInt(4); f > 0; f--) {
                reputation.failure(id);
            }
        }
        for (int i = 0; i < 40; i++) {
            reputation.dispute(answer.get(rnd.nextInt(offers)).nodeId());
        }
        specs = new JobSpec[SPECS];
        wanted = new int[SPECS];
        for (int i = 0; i < SPECS; i++) {
            specs[i] = spec(rnd, i);
            wanted[i] = i % 16 == 15 ? 3 : i % 8 == 7 ? 2 : 1;
        }
        for (int i = 0; i < SPECS; i++) {
            Selection s = new Selection(specs[i], reputation, load, 1);
            Selection.Plan fast = s.choose(book.usable(answer, clock.instant(), new ArrayList<>()), Set.of(),
                    wanted[i], new ArrayList<>());
            Selection.Plan slow = s.chooseLinear(book.usableLinear(answer, clock.instant(), new ArrayList<>()),
                    Set.of(), wanted[i], new ArrayList<>());
            if (!fast.equals(slow)) {
                throw new IllegalStateException("spec " + i + ": indexed chose " + fast + ", linear " + slow);
            }
        }
    }

    private static OfferTerms terms(SplittableRandom rnd, int i, Instant until) {
        Object[] type = DEVICES[rnd.nextInt(DEVICES.length)];
        int count = 1 << rnd.nextInt(4);
        List<DeviceInfo> devices = new ArrayList<>();
        for (int d = 0; d < count; d++) {
            boolean cpu = type[1] == DeviceKind.CPU;
            devices.add(new DeviceInfo((DeviceKind) type[1], (String) type[0], ((Integer) type[2]).longValue() << 30,
                    cpu ? "-" : "9.0", cpu ? 96 : 128, (Double) type[3] * (0.9 + 0.2 * rnd.nextDouble()),
                    Long.toHexString(rnd.nextLong() | Long.MIN_VALUE).repeat(4), "580.65.06", "CUDA 13.0"));
        }
        Set<String> kernels = rnd.nextInt(5) == 0 ? Set.of("sgemm") : BuiltinKernel.ids();
        long perSecond = Math.round((Integer) type[4] * (0.6 + 0.8 * rnd.nextDouble()));
        Price price = new Price(MicroUsd.ofMicros(perSecond), MicroUsd.ofMicros(rnd.nextInt(20_000)));
        return new OfferTerms("depin://10." + (i >> 16) + "." + ((i >> 8) & 255) + "." + (i & 255) + ":7400",
                devices, REGIONS[rnd.nextInt(REGIONS.length)], kernels, price, MicroUsd.ofUsd("10"), until);
    }

    private static JobSpec spec(SplittableRandom rnd, int i) {
        int size = 16 << rnd.nextInt(4);
        Job.Builder job = switch (i % 3) {
            case 0 -> Job.builder(BuiltinKernel.SGEMM).param("m", size).param("k", size).param("n", size)
                    .input("a", new float[size * size]).input("b", new float[size * size]);
            case 1 -> Job.builder(BuiltinKernel.SAXPY).param("n", size * 64).param("alpha", 2f)
                    .input("x", new float[size * 64]).input("y", new float[size * 64]);
            default -> Job.builder(BuiltinKernel.REDUCE_SUM).param("n", size * 64).input("x", new float[size * 64]);
        };
        Requirements req = switch (i % 8) {
            case 1 -> Requirements.builder().regions(REGIONS[rnd.nextInt(REGIONS.length)],
                    REGIONS[rnd.nextInt(REGIONS.length)]).build();
            case 3 -> Requirements.builder().minDeviceMemoryBytes(40L << 30).deviceKinds(DeviceKind.CUDA).build();
            case 5 -> Requirements.builder().models((String) DEVICES[rnd.nextInt(DEVICES.length)][0]).build();
            case 6 -> Requirements.builder().minReputation(0.8).build();
            default -> Requirements.ANY;
        };
        String[] caps = {"0.000002", "0.00005", "0.001", "0.01"};
        return job.requirements(req).maxPrice(MicroUsd.ofUsd(caps[rnd.nextInt(caps.length)])).build().spec();
    }

    /** One round of the next job, then the load and reputation changes that its placement causes. */
    private Selection.Plan place(Worker w, int path) {
        int j = w.job;
        w.job = (j + 1) % SPECS;
        Selection selection = new Selection(specs[j], reputation, load, 1);
        Set<NodeId> tried = w.next % 10 == 9 ? w.tried : w.none;
        List<String> passedOver = new ArrayList<>();
        Instant now = clock.instant();
        Selection.Plan plan;
        if (path == 2) {
            plan = selection.chooseLinear(book.usableLinear(answer, now, passedOver), tried, wanted[j], passedOver);
        } else {
            List<ProviderOffer> from = path == 1 ? new ArrayList<>(answer)
                    : path == 3 ? refreshed.get(w.refresh++ % refreshed.size()) : answer;
            plan = selection.choose(book.usable(from, now, passedOver), tried, wanted[j], passedOver);
        }
        w.tried.clear();
        for (ProviderOffer o : plan.chosen()) {
            NodeId done = w.inFlight[w.oldest];
            if (done != null) {
                load.end(done);
                reputation.success(done);
            }
            load.begin(o.nodeId());
            w.inFlight[w.oldest] = o.nodeId();
            w.oldest = (w.oldest + 1) % w.inFlight.length;
            w.tried.add(o.nodeId());
        }
        w.next++;
        return plan;
    }

    /**
     * @param w the thread's state
     * @return the plan
     */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public Selection.Plan indexed(Worker w) {
        return place(w, 0);
    }

    /**
     * @param w the thread's state
     * @return the plan
     */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Selection.Plan indexedLatency(Worker w) {
        return place(w, 0);
    }

    /**
     * @param w the thread's state
     * @return the plan
     */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public Selection.Plan indexedFreshList(Worker w) {
        return place(w, 1);
    }

    /**
     * @param w the thread's state
     * @return the plan
     */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Selection.Plan indexedRefreshed(Worker w) {
        return place(w, 3);
    }

    /**
     * @param w the thread's state
     * @return the plan
     */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public Selection.Plan linear(Worker w) {
        return place(w, 2);
    }

    /**
     * @param w the thread's state
     * @return the plan
     */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Selection.Plan linearLatency(Worker w) {
        return place(w, 2);
    }
}
