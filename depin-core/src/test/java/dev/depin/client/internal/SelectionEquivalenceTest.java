package dev.depin.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.job.Job;
import dev.depin.job.JobSpec;
import dev.depin.job.Requirements;
import dev.depin.job.SlaRequirement;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.InvalidOfferException;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.SlaTerms;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The snapshot and index path of {@link OfferBook#usable} and {@link Selection#choose} against
 * straightforward references (a verify-every-offer filter written here, and
 * {@link Selection#chooseLinear}, the filter-and-sort planner the engine had before) over many
 * random offer books, jobs, tried sets, reputations, loads and clocks: the same usable offers,
 * the same reasons, the same plans (or the same exception). {@link OfferBook#usableLinear},
 * the benchmarks' baseline, is held to the same reference.
 */
class SelectionEquivalenceTest {
    private static final long SEED = 0x5e1ec7L;
    private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");
    private static final Region[] REGIONS = {Region.parse("DE"), Region.parse("DE/fra-1"), Region.parse("FR"),
        Region.parse("US/east-1"), Region.parse("US/west-2")};
    private static final String[] MODELS = {"NVIDIA H100 80GB HBM3", "NVIDIA L4", "AMD EPYC 9654"};
    private static final String[] KERNELS = {"sgemm", "saxpy", "reduce-sum", OfferTerms.PTX};
    /** A few prices and rates only, so that estimates tie often and the tie-breaks are tested. */
    private static final long[] PER_SECOND = {100, 200, 200, 500, 1_000_000};
    private static final long[] PER_GB = {0, 0, 10, 70};
    private static final double[] GFLOPS = {1_000, 20_000, 51_000};
    private static final int POOL = 10_000;

    /** Verification outcome per offer object, for the reference: "" valid, else why not. */
    private static final Map<ProviderOffer, String> VERIFIED = new IdentityHashMap<>();
    /** Outcomes compared: plans found, empty plans, exceptions; each must occur. */
    private static final int[] OUTCOMES = new int[3];
    /** Jobs compared with held input bytes, and of them those whose plan locality changed. */
    private static final int[] HELD_COMPARED = new int[2];
    /** Per key: two signed offers with different terms (the same node twice in a list is allowed). */
    private static final List<ProviderOffer> OFFERS = new ArrayList<>();
    private static final List<ProviderOffer> SECOND = new ArrayList<>();
    /** A few offers whose signature does not cover their terms, or whose key is not their node's. */
    private static final List<ProviderOffer> FORGED = new ArrayList<>();

    @BeforeAll
    static void pool() {
        System.out.println("SelectionEquivalenceTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int i = 0; i < POOL; i++) {
            byte[] seed = new byte[NodeKeyPair.SEED_LENGTH];
            for (int b = 0; b < seed.length; b++) {
                seed[b] = (byte) rnd.nextInt(256);
            }
            NodeKeyPair key = NodeKeyPair.fromSeed(seed);
            OFFERS.add(ProviderOffer.sign(key, i % 150 == 7 ? overflowing(rnd, i) : terms(rnd, i)));
            if (i < 300) {
                SECOND.add(ProviderOffer.sign(key, terms(rnd, i)));
            }
        }
        for (int i = 0; i < 100; i++) {
            ProviderOffer real = OFFERS.get(i);
            // Equal to a valid offer (equals ignores the key object), but with another node's key: invalid.
            FORGED.add(new ProviderOffer(real.nodeId(), OFFERS.get(POOL - 1 - i).publicKey(), real.terms(),
                    real.signature()));
            // The same offer as a new object, as a refreshed directory answer gives it: valid.
            SECOND.add(new ProviderOffer(real.nodeId(), real.publicKey(), real.terms(), real.signature()));
            // Terms the signature does not cover: invalid.
            FORGED.add(new ProviderOffer(real.nodeId(), real.publicKey(), terms(rnd, i), real.signature()));
        }
    }

    private static OfferTerms terms(SplittableRandom rnd, int i) {
        List<DeviceInfo> devices = new ArrayList<>();
        int count = 1 + rnd.nextInt(2);
        for (int d = 0; d < count; d++) {
            String model = MODELS[rnd.nextInt(MODELS.length)];
            boolean cpu = model.startsWith("AMD");
            devices.add(new DeviceInfo(cpu ? DeviceKind.CPU : DeviceKind.CUDA, model,
                    (8L << 30) * (1 + rnd.nextInt(10)), cpu ? "-" : "9.0", 1 + rnd.nextInt(132),
                    GFLOPS[rnd.nextInt(GFLOPS.length)], "ab".repeat(32), "1", "1"));
        }
        Set<String> kernels = new HashSet<>();
        kernels.add(KERNELS[rnd.nextInt(KERNELS.length)]);
        if (rnd.nextInt(3) > 0) {
            kernels.add("sgemm");
        }
        Price price = new Price(MicroUsd.ofMicros(PER_SECOND[rnd.nextInt(PER_SECOND.length)]),
                MicroUsd.ofMicros(PER_GB[rnd.nextInt(PER_GB.length)]));
        // Expiry on a coarse grid, so that many offers expire at the same instant.
        Instant until = T0.plusSeconds(10L * (rnd.nextInt(12) - 2));
        return new OfferTerms("local:p-" + i, devices, REGIONS[rnd.nextInt(REGIONS.length)], kernels, price,
                MicroUsd.ZERO, until, SLAS[rnd.nextInt(SLAS.length)]);
    }

    /** Offers' SLAs: none (twice as likely), and terms that differ in one dimension each. */
    private static final SlaTerms[] SLAS = {null, null,
        SlaTerms.standard(Duration.ofHours(1), List.of(new SlaTerms.Objective(10, Duration.ofSeconds(1)),
                new SlaTerms.Objective(Long.MAX_VALUE, Duration.ofSeconds(30)))),
        SlaTerms.standard(Duration.ofHours(1), List.of(new SlaTerms.Objective(Long.MAX_VALUE, Duration.ofSeconds(1))))
                .withFirstByteWithin(Duration.ofMillis(200)),
        SlaTerms.standard(Duration.ofDays(30), List.of(new SlaTerms.Objective(20, Duration.ofSeconds(1)))),
        new SlaTerms(Duration.ofHours(1), List.of(new SlaTerms.Objective(Long.MAX_VALUE, Duration.ofSeconds(1))),
                List.of(new SlaTerms.CreditTier(9_900, 10)))};

    /** Jobs' required SLAs: none (most jobs), and requirements each offer SLA above meets or misses. */
    private static final SlaRequirement[] REQUIRED = {null, null, null, null, SlaRequirement.ANY,
        SlaRequirement.builder().minAvailabilityBasisPoints(9_990).build(),
        SlaRequirement.builder().maxTimeToResult(Duration.ofSeconds(1)).build(),
        SlaRequirement.builder().maxTimeToFirstByte(Duration.ofMillis(200)).build(),
        SlaRequirement.builder().maxPeriod(Duration.ofHours(1)).minCredits(new SlaTerms.CreditTier(9_500, 100)).build()};

    /** An offer whose estimate overflows a long for every job: both paths must throw alike. */
    private static OfferTerms overflowing(SplittableRandom rnd, int i) {
        OfferTerms t = terms(rnd, i);
        DeviceInfo slow = new DeviceInfo(DeviceKind.CPU, MODELS[2], 8L << 30, "-", 1, 1e-300, "cd".repeat(32), "1", "1");
        return new OfferTerms(t.endpoint(), List.of(slow), t.region(), t.kernels(),
                new Price(MicroUsd.ofMicros(10_000_000_000L), MicroUsd.ZERO), MicroUsd.ZERO, t.validUntil());
    }

    @Test
    void choose_sameAsReference_manyRandomBooks() {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        int[] sizes = {0, 1, 2, 3, 10, 57, 300};
        OfferBook shared = new OfferBook(100_000);
        for (int trial = 0; trial < 280; trial++) {
            int size = sizes[trial % sizes.length];
            OfferBook book = trial % 3 == 0 ? new OfferBook(1 + rnd.nextInt(50)) : shared;
            compare(rnd, book, randomBook(rnd, size), 4, 6, "trial " + trial + " size " + size);
        }
        System.out.println("plans, empty plans, exceptions compared: " + java.util.Arrays.toString(OUTCOMES)
                + "; with held inputs, and changed by them: " + java.util.Arrays.toString(HELD_COMPARED));
        assertTrue(OUTCOMES[0] > 1000 && OUTCOMES[1] > 100 && OUTCOMES[2] > 0, java.util.Arrays.toString(OUTCOMES));
        assertTrue(HELD_COMPARED[0] > 500 && HELD_COMPARED[1] > 50, java.util.Arrays.toString(HELD_COMPARED));
    }

    @Test
    void choose_sameAsReference_tenThousandOffers() {
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        OfferBook book = new OfferBook(100_000);
        List<ProviderOffer> all = new ArrayList<>(OFFERS);
        Collections.shuffle(all, new java.util.Random(rnd.nextLong()));
        compare(rnd, book, List.copyOf(all), 6, 12, "10,000 immutable");
        compare(rnd, book, new ArrayList<>(all), 3, 12, "10,000 mutable");
        compare(rnd, book, randomBook(rnd, POOL), 3, 12, "10,000 random");
    }

    /**
     * What locality means, on a hand-made book of four SAXPY offers (prices 100, 200, 500 and
     * 10^9 µUSD/s on the same device): a holder ranks before cheaper providers of its load
     * tier, the holder of more bytes first, a less loaded provider before any holder, and an
     * offer the job cannot use is never chosen for what it holds; the indexed and linear paths
     * agree on each.
     */
    @Test
    void locality_holderBeforeCheaper_lessLoadedBeforeHolder() {
        NodeKeyPair[] keys = new NodeKeyPair[4];
        List<ProviderOffer> offers = new ArrayList<>();
        long[] perSecond = {100, 200, 500, 1_000_000_000};
        for (int i = 0; i < 4; i++) {
            byte[] seed = new byte[NodeKeyPair.SEED_LENGTH];
            seed[0] = (byte) (40 + i);
            keys[i] = NodeKeyPair.fromSeed(seed);
            DeviceInfo cpu = new DeviceInfo(DeviceKind.CPU, MODELS[2], 8L << 30, "-", 4, 1_000, "ab".repeat(32), "1",
                    "1");
            offers.add(ProviderOffer.sign(keys[i], new OfferTerms("local:l-" + i, List.of(cpu), REGIONS[0],
                    Set.of("saxpy"), new Price(MicroUsd.ofMicros(perSecond[i]), MicroUsd.ZERO), MicroUsd.ZERO,
                    T0.plusSeconds(600))));
        }
        NodeId cheapest = keys[0].nodeId();
        NodeId second = keys[1].nodeId();
        NodeId third = keys[2].nodeId();
        NodeId overCap = keys[3].nodeId();
        // SAXPY n = 1000 on 1 TFLOP/s: 2 ns of device time, 1 µUSD rounded up at the first three prices and
        // 2 µUSD at the last, over the max price of 1 µUSD.
        JobSpec spec = Job.builder(BuiltinKernel.SAXPY).param("n", 1000).param("alpha", 2f)
                .input("x", new float[1000]).input("y", new float[1000]).maxPrice(MicroUsd.ofMicros(1)).build().spec();
        OfferBook book = new OfferBook(100);
        List<ProviderOffer> usable = book.usable(offers, T0, new ArrayList<>());
        ProviderLoad load = new ProviderLoad(1);
        Selection sel = new Selection(spec, new Reputation(), load, 0);
        java.util.function.Function<Map<NodeId, Long>, NodeId> pick = held -> {
            Selection.Plan indexed = sel.choose(usable, Set.of(), 1, new ArrayList<>(), held);
            Selection.Plan linear = sel.chooseLinear(offers, Set.of(), 1, new ArrayList<>(), held);
            assertEquals(linear, indexed, "indexed and linear, held " + held);
            return indexed.chosen().get(0).nodeId();
        };
        assertEquals(cheapest, pick.apply(Map.of()));
        assertEquals(third, pick.apply(Map.of(third, 4000L)), "a holder before two cheaper providers");
        assertEquals(second, pick.apply(Map.of(third, 4000L, second, 8000L)), "the holder of more bytes");
        assertEquals(second, pick.apply(Map.of(third, 4000L, second, 4000L)), "equal holdings: the cheaper");
        assertEquals(cheapest, pick.apply(Map.of(overCap, 8000L)), "an offer over the price cap holds nothing");
        assertEquals(third, pick.apply(Map.of(third, 1L, overCap, 8000L)));
        load.begin(third); // third is now in load tier 1
        assertEquals(cheapest, pick.apply(Map.of(third, 8000L)), "a less loaded provider before a loaded holder");
        assertEquals(second, pick.apply(Map.of(third, 8000L, second, 1L)));
        assertEquals(cheapest, sel.choose(usable, Set.of(second), 1, new ArrayList<>(), Map.of(second, 8000L))
                .chosen().get(0).nodeId(), "a holder already tried for this job is not chosen again");
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> sel.choose(usable, Set.of(), 1, new ArrayList<>(), null));
        assertEquals("held input bytes is null: pass a value", e.getMessage());
    }

    @Test
    void usable_badInput_refused() {
        OfferBook book = new OfferBook(10);
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                () -> book.usable(null, T0, new ArrayList<>()));
        assertTrue(e.getMessage().contains("offers"), e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> book.usable(List.of(), null, new ArrayList<>()));
        assertTrue(e.getMessage().contains("time of use"), e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> new OfferBook(0));
        assertTrue(e.getMessage().contains("capacity is 0"), e.getMessage());
        List<ProviderOffer> usable = book.usable(List.of(OFFERS.get(0)), T0.minusSeconds(100), new ArrayList<>());
        assertThrows(UnsupportedOperationException.class, () -> usable.add(OFFERS.get(1)));
    }

    /**
     * Several rounds over one book: clocks moving on (and once back), then per clock several
     * jobs with random tried sets, reputations and loads.
     */
    private static void compare(SplittableRandom rnd, OfferBook book, List<ProviderOffer> offers, int clocks,
                                int jobsPerClock, String what) {
        OfferBook linear = new OfferBook(100_000);
        Instant now = T0.minusSeconds(30).plusMillis(rnd.nextInt(60_000));
        for (int c = 0; c < clocks; c++) {
            now = c == clocks - 1 && rnd.nextBoolean() ? now.minusSeconds(rnd.nextInt(40))
                    : now.plusMillis(rnd.nextInt(25_000));
            String at = what + " at " + now;
            List<String> fastDropped = new ArrayList<>();
            List<String> refDropped = new ArrayList<>();
            List<ProviderOffer> fast = book.usable(offers, now, fastDropped);
            List<ProviderOffer> ref = usableReference(offers, now, refDropped);
            assertEquals(ref, fast, at);
            assertEquals(refDropped, fastDropped, at);
            List<String> linearDropped = new ArrayList<>();
            assertEquals(ref, linear.usableLinear(offers, now, linearDropped), at + ", usableLinear");
            assertEquals(refDropped, linearDropped, at + ", usableLinear");
            for (int j = 0; j < jobsPerClock; j++) {
                Reputation reputation = randomReputation(rnd, ref);
                ProviderLoad load = new ProviderLoad(1 + rnd.nextInt(4));
                for (int l = rnd.nextInt(3 * ref.size() + 1); l > 0; l--) {
                    load.begin(ref.get(rnd.nextInt(ref.size())).nodeId());
                }
                Selection selection = new Selection(randomSpec(rnd), REQUIRED[rnd.nextInt(REQUIRED.length)], reputation,
                        load, rnd.nextInt(3));
                Set<NodeId> tried = new HashSet<>();
                for (int t = rnd.nextInt(5); t > 0 && !ref.isEmpty(); t--) {
                    tried.add(ref.get(rnd.nextInt(Math.min(ref.size(), 20))).nodeId());
                }
                int wanted = 1 + rnd.nextInt(rnd.nextInt(8) == 0 ? 12 : 4);
                List<String> fastOver = new ArrayList<>(fastDropped);
                List<String> refOver = new ArrayList<>(refDropped);
                String job = at + " job " + j + " wanted " + wanted;
                Map<NodeId, Long> held = randomHeld(rnd, ref);
                Object expected = outcome(() -> selection.chooseLinear(ref, tried, wanted, refOver, held));
                Object actual = outcome(() -> selection.choose(fast, tried, wanted, fastOver, held));
                if (!held.isEmpty()) {
                    HELD_COMPARED[0]++;
                    if (expected instanceof Selection.Plan p && !p.chosen().isEmpty()
                            && !p.equals(selection.chooseLinear(ref, tried, wanted, new ArrayList<>()))) {
                        HELD_COMPARED[1]++; // locality changed the plan: the case this comparison is for
                    }
                }
                assertEquals(expected, actual, job);
                OUTCOMES[expected instanceof Selection.Plan p ? (p.chosen().isEmpty() ? 1 : 0) : 2]++;
                if (expected instanceof Selection.Plan p && p.chosen().isEmpty()) {
                    assertEquals(refOver, fastOver, job + ": reasons");
                }
            }
        }
    }

    /**
     * Input bytes held, as a network reports them: most jobs none; otherwise a few providers of
     * the book (and one that is not in it), with few distinct amounts so that ties occur.
     */
    private static Map<NodeId, Long> randomHeld(SplittableRandom rnd, List<ProviderOffer> ref) {
        if (ref.isEmpty() || rnd.nextInt(3) == 0) {
            return Map.of();
        }
        Map<NodeId, Long> held = new java.util.HashMap<>();
        long[] amounts = {1, 4096, 4096, 1L << 30};
        for (int h = 1 + rnd.nextInt(6); h > 0; h--) {
            held.put(ref.get(rnd.nextInt(ref.size())).nodeId(), amounts[rnd.nextInt(amounts.length)]);
        }
        held.put(OFFERS.get(rnd.nextInt(POOL)).nodeId(), 8192L);
        return held;
    }

    /**
     * What a buyer may use, straight from the rules: skip nulls and repeated nodes, drop
     * expired offers, verify the rest (each offer object verified once: offers are immutable).
     */
    private static List<ProviderOffer> usableReference(List<ProviderOffer> offers, Instant now,
                                                       List<String> dropped) {
        List<ProviderOffer> out = new ArrayList<>();
        Set<NodeId> seen = new HashSet<>();
        for (ProviderOffer o : offers) {
            if (o == null) {
                dropped.add("(null offer from the network)");
            } else if (seen.add(o.nodeId())) {
                if (!now.isBefore(o.terms().validUntil())) {
                    dropped.add(o.nodeId().shortId() + " offer expired at " + o.terms().validUntil());
                    continue;
                }
                String invalid = VERIFIED.computeIfAbsent(o, x -> {
                    try {
                        x.verify(now);
                        return "";
                    } catch (InvalidOfferException e) {
                        return e.getMessage();
                    }
                });
                if (invalid.isEmpty()) {
                    out.add(o);
                } else {
                    dropped.add(o.nodeId().shortId() + " invalid offer: " + invalid);
                }
            }
        }
        return out;
    }

    /** The plan, or the class of what was thrown. */
    private static Object outcome(Supplier<Selection.Plan> plan) {
        try {
            return plan.get();
        } catch (RuntimeException e) {
            return e.getClass();
        }
    }

    private static List<ProviderOffer> randomBook(SplittableRandom rnd, int size) {
        List<ProviderOffer> offers = new ArrayList<>(size);
        boolean nulls = rnd.nextInt(4) == 0;
        for (int i = 0; i < size; i++) {
            int pick = rnd.nextInt(100);
            if (nulls && pick == 0) {
                offers.add(null);
            } else if (pick < 3) {
                offers.add(FORGED.get(rnd.nextInt(FORGED.size())));
            } else if (pick < 8) {
                offers.add(SECOND.get(rnd.nextInt(SECOND.size())));
            } else {
                offers.add(OFFERS.get(rnd.nextInt(size < 1000 ? Math.min(POOL, 600) : POOL)));
            }
        }
        return nulls || rnd.nextBoolean() ? offers : List.copyOf(offers);
    }

    private static Reputation randomReputation(SplittableRandom rnd, List<ProviderOffer> offers) {
        Reputation r = new Reputation();
        for (int i = rnd.nextInt(2 * offers.size() + 1); i > 0; i--) {
            NodeId id = offers.get(rnd.nextInt(offers.size())).nodeId();
            int what = rnd.nextInt(20);
            if (what == 0) {
                r.dispute(id);
            } else if (what < 5) {
                r.failure(id);
            } else {
                r.success(id);
            }
        }
        return r;
    }

    private static JobSpec randomSpec(SplittableRandom rnd) {
        Job.Builder job = switch (rnd.nextInt(3)) {
            case 0 -> {
                int m = 1 + rnd.nextInt(3);
                int k = 1 + rnd.nextInt(3);
                int n = 1 + rnd.nextInt(3);
                yield Job.builder(BuiltinKernel.SGEMM).param("m", m).param("k", k).param("n", n)
                        .input("a", new float[m * k]).input("b", new float[k * n]);
            }
            case 1 -> {
                int n = 1 + rnd.nextInt(4);
                yield Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2f)
                        .input("x", new float[n]).input("y", new float[n]);
            }
            default -> {
                int n = 1 + rnd.nextInt(4);
                yield Job.builder(BuiltinKernel.REDUCE_SUM).param("n", n).input("x", new float[n]);
            }
        };
        Requirements.Builder req = Requirements.builder();
        if (rnd.nextInt(3) == 0) {
            req.minDeviceMemoryBytes((8L << 30) * rnd.nextInt(8));
        }
        if (rnd.nextInt(4) == 0) {
            req.models(MODELS[rnd.nextInt(MODELS.length)]);
        }
        if (rnd.nextInt(3) == 0) {
            req.regions(REGIONS[rnd.nextInt(REGIONS.length)], Region.parse(rnd.nextBoolean() ? "US" : "DE"));
        }
        if (rnd.nextInt(5) == 0) {
            req.deviceKinds(rnd.nextBoolean() ? DeviceKind.CPU : DeviceKind.CUDA);
        }
        double[] minRep = {0, 0, 0, 0, 0.3, 0.5, 0.6, 0.9};
        req.minReputation(minRep[rnd.nextInt(minRep.length)]);
        long[] caps = {0, 2, 3, 8, 1_000, 1_000, Long.MAX_VALUE / 4, Long.MAX_VALUE / 4};
        return job.requirements(req.build()).maxPrice(MicroUsd.ofMicros(caps[rnd.nextInt(caps.length)]))
                .deadline(T0.plusSeconds(3600)).build().spec();
    }
}
