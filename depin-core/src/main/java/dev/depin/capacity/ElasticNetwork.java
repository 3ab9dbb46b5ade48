package dev.depin.capacity;

import dev.depin.InvalidArgumentException;
import dev.depin.capacity.spi.CapacityMarket;
import dev.depin.crypto.NodeId;
import dev.depin.money.MicroUsd;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.Dispatch;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.OfferQuery;
import dev.depin.provider.ProviderOffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * A {@link ComputeNetwork} that grows and shrinks its own fleet: it passes offers and attempts
 * through to a network over the buyer's directory (usually {@code GrpcNetwork}), and obtains
 * machines from a {@link CapacityMarket} when work waits, releases them when they are idle,
 * replaces one that dies while the fleet is busy, and never commits more than the buyer's
 * budget. Every market offers fixed leases; none scales or fails over by itself.
 *
 * <h2>How it decides</h2>
 * <ul>
 *   <li><b>Waiting work.</b> Each node has {@link Builder#slotsPerMachine} slots. When the
 *       client asks for offers and no listed node has a free slot, the query is held (the
 *       job waits) until a slot frees, a new node lists itself, or {@link Builder#maxWait}
 *       passes (then the offers are answered as they are, and the client queues on a busy
 *       node or rejects the job if there is none).</li>
 *   <li><b>Waiting for machines that start.</b> A query for which no live node is offered
 *       (none listed, or only nodes whose machines ended or whose last attempt could not reach
 *       them) is held past {@code maxWait} while a machine the fleet leased or is obtaining is
 *       still starting within its {@link Builder#startTimeout}, or a replacement is about to be
 *       obtained, and is answered in the tick after a node lists itself; it is never held longer
 *       than {@code maxWait + startTimeout}. When no live node is offered, no machine of the
 *       fleet may serve, and none can be obtained (the budget is spent or the fleet is at
 *       {@code maxMachines}), it is answered at once, empty: nothing would come of waiting.</li>
 *   <li><b>Growing.</b> When a query has waited longer than {@link Builder#growAfter}, the
 *       fleet asks the market for enough machines to give every waiting query a slot, counting
 *       machines still starting, up to {@link Builder#maxMachines}.</li>
 *   <li><b>Budget.</b> Each lease's quoted price is committed when it is obtained and stays
 *       committed (prepaid leases are not assumed refundable); a growth that would take the
 *       committed sum over {@link Builder#budget} is cut to what fits, or not made.</li>
 *   <li><b>Shrinking.</b> A machine whose node has had no attempt for
 *       {@link Builder#idleAfter} while no work waits is released, down to
 *       {@link Builder#minMachines}.</li>
 *   <li><b>Failover.</b> A machine that ends without being released (its process or provider
 *       died) is forgotten at once, its node's offers are no longer passed on (the directory
 *       may list it until its listing expires; the node is remembered until 10 min after its
 *       offer was last seen, past any offer's lifetime), and it is replaced if the fleet was busy within
 *       {@link Builder#idleAfter}; the client reschedules the attempts it had. An attempt that
 *       cannot reach its node (a {@link NetworkException}) makes the fleet look at the market at
 *       once, and until the market says the machine ended, or the node answers again, or
 *       5 s pass, that node's slots do not count as free: a job that retries elsewhere waits for
 *       a node that can take it instead of being answered with the one it just lost. A machine
 *       that has not listed its node within {@link Builder#startTimeout} of being asked for is
 *       released and counted as failed, and replaced on the same terms.</li>
 * </ul>
 *
 * <pre>{@code
 * try (GrpcNetwork directory = GrpcNetwork.builder().directory(addr, dirKey).build();
 *      ElasticNetwork net = ElasticNetwork.builder(directory, market, perMachine)
 *              .budget(MicroUsd.ofUsd("50")).maxMachines(4).build();
 *      DepinClient client = DepinClient.builder(net).build()) {
 *     client.submit(job).result();
 * }
 * }</pre>
 *
 * <p>It does not close the network it wraps nor the market; {@link #close} releases the
 * machines it obtained.
 */
public final class ElasticNetwork implements ComputeNetwork {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ElasticNetwork.class);
    /** A released query that leads to no attempt stops counting against free slots after this. */
    private static final long PROMISE_NANOS = TimeUnit.SECONDS.toNanos(2);
    /**
     * How long a node that an attempt could not reach has its slots not counted as free, unless
     * the market says first that its machine ended (long enough for a market to see a dead
     * process; short enough that a network hiccup does not hold work for long).
     */
    private static final long SUSPECT_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final long MARKET_CALL_SECONDS = 30;
    /**
     * How long a node whose machine ended is remembered after its offer was last seen (or since
     * it ended): its listing outlives it in the directory, and in a buyer's offer cache, by at
     * most its offer's lifetime (a {@code ProviderNode}'s offers are valid 5 min from their last
     * renewal, and {@code depin node} has no flag to change that), so twice that is past the
     * last moment one of its offers can come through. Each sighting restarts it: a listing that
     * lasts longer keeps the node remembered. Forgetting one too early costs at most one attempt
     * that cannot reach it (its slots are then not counted for {@link #SUSPECT_NANOS}).
     */
    static final long GONE_NANOS = TimeUnit.MINUTES.toNanos(10);

    private final ComputeNetwork delegate;
    private final CapacityMarket market;
    private final CapacityRequest perMachine;
    private final MicroUsd budget;
    private final int minMachines;
    private final int maxMachines;
    private final int slots;
    private final long growAfterNanos;
    private final long maxWaitNanos;
    private final long idleAfterNanos;
    private final long startTimeoutNanos;
    private final LongSupplier nanos;
    private final ScheduledThreadPoolExecutor timer;
    private final AtomicBoolean tickQueued = new AtomicBoolean();

    // Everything below is guarded by `this`.
    private final Map<String, Member> fleet = new LinkedHashMap<>();
    private final Map<NodeId, Integer> inFlight = new HashMap<>();
    /**
     * Nodes whose machines ended (or are being released), and when each was last marked or its
     * offer last seen: their offers are not passed on and attempts on them are refused, until
     * {@link #GONE_NANOS} after that, when none can come through any more (forgotten in the tick).
     */
    private final Map<NodeId, Long> gone = new HashMap<>();
    private final Deque<Waiter> waiters = new ArrayDeque<>();
    private final Deque<Long> promised = new ArrayDeque<>();
    private final Set<OfferQuery> asking = new HashSet<>();
    /** Nodes an attempt could not reach, and when: their slots are not free for a while. */
    private final Map<NodeId, Long> suspect = new HashMap<>();
    /** The start deadline of each obtain in flight (one entry per market call). */
    private final List<Long> obtainDeadlines = new ArrayList<>();
    private MicroUsd committed = MicroUsd.ZERO;
    /** What one machine was last quoted at; null before the first quote. */
    private MicroUsd lastPrice;
    private int obtaining;
    private int replacements;
    private long lastWorkNanos;
    private long growBlockedUntil;
    private int peak;
    private int obtained;
    private int released;
    private int failed;
    private int replaced;
    private int budgetRefusals;
    private String lastRefusal = "";
    private boolean closed;

    /** One machine of the fleet. */
    private static final class Member {
        Machine machine;
        long lastBusyNanos;
        /** When the machine must have listed its node (its obtain's start plus the start timeout). */
        final long startDeadline;
        boolean releasing;
        /** It missed its start deadline: counted failed once, released (again, if a release fails). */
        boolean expired;

        Member(Machine machine, long now, long startDeadline) {
            this.machine = machine;
            this.lastBusyNanos = now;
            this.startDeadline = startDeadline;
        }
    }

    /** A query held until a slot frees. */
    private record Waiter(OfferQuery query, CompletableFuture<List<ProviderOffer>> answer, long since) {
    }

    /**
     * What the fleet is and has done, at one instant.
     *
     * @param machines       machines leased and not ended (starting or running)
     * @param starting       of those, how many have not listed their node yet, plus leases being obtained
     * @param peak           the most machines at once
     * @param obtained       machines obtained in all
     * @param released       machines released as idle (or on close)
     * @param failed         machines that ended without being released
     * @param replaced       of those, how many were replaced
     * @param budgetRefusals growths cut or refused because of the budget
     * @param committed      what the leases obtained cost in all
     * @param budget         the most they may cost
     * @param waiting        queries waiting for a slot now
     * @param lastRefusal    why the last growth was refused, or empty
     */
    public record Stats(int machines, int starting, int peak, int obtained, int released, int failed, int replaced,
                        int budgetRefusals, MicroUsd committed, MicroUsd budget, int waiting, String lastRefusal) {
    }

    private ElasticNetwork(Builder b) {
        this.delegate = b.delegate;
        this.market = b.market;
        this.perMachine = b.perMachine.withMachines(1);
        this.budget = b.budget;
        this.minMachines = b.minMachines;
        this.maxMachines = b.maxMachines;
        this.slots = b.slots;
        this.growAfterNanos = b.growAfter.toNanos();
        this.maxWaitNanos = b.maxWait.toNanos();
        this.idleAfterNanos = b.idleAfter.toNanos();
        this.startTimeoutNanos = b.startTimeout.toNanos();
        this.nanos = b.nanos;
        this.lastWorkNanos = nanos.getAsLong() - idleAfterNanos;
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "depin-elastic-" + b.market.name());
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
        timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        long tick = b.tick.toNanos();
        timer.scheduleWithFixedDelay(this::tickSafely, tick, tick, TimeUnit.NANOSECONDS);
    }

    /**
     * Starts building an elastic network.
     *
     * @param delegate   the network over the buyer's directory, where the obtained nodes list themselves
     * @param market     where machines come from
     * @param perMachine what one machine is (GPU, region, lease duration, node template); its
     *                   machine count and budget are ignored
     * @return a builder with the defaults
     * @throws InvalidArgumentException on nulls
     */
    public static Builder builder(ComputeNetwork delegate, CapacityMarket market, CapacityRequest perMachine) {
        return new Builder(delegate, market, perMachine);
    }

    @Override
    public String name() {
        return "elastic(" + delegate.name() + ", " + market.name() + ")";
    }

    /** @return the delegate's: its attempts are the delegate's, sending inputs by root as it does */
    @Override
    public boolean providersMayKeepInputs() {
        return delegate.providersMayKeepInputs();
    }

    /** @return how many ended nodes the fleet remembers now (tests: the set is bounded) */
    synchronized int goneRemembered() {
        return gone.size();
    }

    /** @return the fleet's figures now */
    public synchronized Stats stats() {
        int live = 0;
        int starting = obtaining;
        for (Member m : fleet.values()) {
            live++;
            if (m.machine.state() == MachineState.STARTING && !m.releasing) {
                starting++;
            }
        }
        return new Stats(live, starting, peak, obtained, released, failed, replaced, budgetRefusals, committed, budget,
                waiters.size(), lastRefusal);
    }

    /**
     * Runs one fleet check on the fleet's own thread, after any queued, and waits for it (tests:
     * with a long tick period, the fleet then changes only when the test says).
     */
    void checkNow() throws Exception {
        timer.submit(this::tickSafely).get(MARKET_CALL_SECONDS * 2, TimeUnit.SECONDS);
    }

    /** @return the machines of the fleet now, as last reported by the market */
    public synchronized List<Machine> fleet() {
        return fleet.values().stream().map(m -> m.machine).toList();
    }

    @Override
    public CompletableFuture<List<ProviderOffer>> offers(OfferQuery query) {
        InvalidArgumentException.requireNonNull(query, "offer query");
        CompletableFuture<List<ProviderOffer>> answer = new CompletableFuture<>();
        synchronized (this) {
            if (closed) {
                return CompletableFuture.failedFuture(new NetworkException(name() + " is closed"));
            }
        }
        long since = nanos.getAsLong();
        ask(query).whenComplete((list, error) -> {
            if (error != null) {
                answer.completeExceptionally(error);
            } else {
                decide(new Waiter(query, answer, since), list, false);
            }
        });
        return answer;
    }

    private CompletableFuture<List<ProviderOffer>> ask(OfferQuery query) {
        try {
            CompletableFuture<List<ProviderOffer>> f = delegate.offers(query);
            return f != null ? f : CompletableFuture.failedFuture(new NetworkException(delegate.name()
                    + " returned no future of offers"));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * Answers the waiter if a slot is free, if it has waited long enough, or if nothing could
     * come of waiting; holds it otherwise (see the class comment for the rule).
     */
    private void decide(Waiter w, List<ProviderOffer> offers, boolean queued) {
        List<ProviderOffer> usable;
        boolean answer;
        synchronized (this) {
            long now = nanos.getAsLong();
            List<ProviderOffer> kept = new ArrayList<>(offers.size());
            for (ProviderOffer o : offers) {
                if (gone.containsKey(o.nodeId())) {
                    gone.put(o.nodeId(), now); // still listed: remembered for as long again
                } else {
                    kept.add(o);
                }
            }
            usable = kept;
            long waited = now - w.since();
            boolean live = usable.stream().anyMatch(o -> !suspected(o.nodeId(), now));
            boolean free = !closed && freeSlots(usable, now) > 0;
            if (closed || free) {
                answer = true;
            } else if (!live) {
                // No node offered can take the job: wait for machines of the fleet still starting
                // (bounded by their start deadline and by maxWait + startTimeout), answer at once
                // when nothing may come.
                answer = waited >= maxWaitNanos ? !startingInTime(now) || waited >= maxWaitNanos + startTimeoutNanos
                        : !fleetMayServe(now) && !obtainable();
            } else {
                answer = waited >= maxWaitNanos;
            }
            if (answer) {
                if (live) {
                    promised.addLast(now); // an answer with no live node leads to no attempt
                }
                if (queued) {
                    waiters.remove(w);
                }
            } else if (!queued) {
                waiters.addLast(w);
                lastWorkNanos = now;
            }
        }
        if (answer) {
            w.answer().complete(usable);
        } else if (!queued) {
            wake();
        }
    }

    private int freeSlots(List<ProviderOffer> offers, long now) {
        while (!promised.isEmpty() && now - promised.peekFirst() > PROMISE_NANOS) {
            promised.removeFirst();
        }
        int free = 0;
        Set<NodeId> seen = new HashSet<>();
        for (ProviderOffer o : offers) {
            if (seen.add(o.nodeId()) && !suspected(o.nodeId(), now)) {
                free += Math.max(0, slots - inFlight.getOrDefault(o.nodeId(), 0));
            }
        }
        return free - promised.size();
    }

    /** Whether an attempt lately could not reach the node; caller holds the lock. */
    private boolean suspected(NodeId node, long now) {
        Long since = suspect.get(node);
        if (since == null) {
            return false;
        }
        if (now - since >= SUSPECT_NANOS) {
            suspect.remove(node);
            return false;
        }
        return true;
    }

    /**
     * Whether a machine the fleet leased or is obtaining is still starting within its deadline,
     * or a replacement is about to be obtained; caller holds the lock.
     */
    private boolean startingInTime(long now) {
        for (Member m : fleet.values()) {
            if (!m.releasing && m.machine.state() == MachineState.STARTING && now - m.startDeadline < 0) {
                return true;
            }
        }
        for (long deadline : obtainDeadlines) {
            if (now - deadline < 0) {
                return true;
            }
        }
        return replacements > 0 && obtainable();
    }

    /** Whether any machine of the fleet may still serve (or is being obtained); caller holds the lock. */
    private boolean fleetMayServe(long now) {
        if (startingInTime(now)) {
            return true;
        }
        for (Member m : fleet.values()) {
            if (!m.releasing && m.machine.state() == MachineState.RUNNING) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether the fleet could obtain one more machine, as far as it knows (machines being
     * released count as gone); caller holds the lock.
     */
    private boolean obtainable() {
        int held = obtaining;
        for (Member m : fleet.values()) {
            if (!m.releasing) {
                held++;
            }
        }
        if (closed || held >= maxMachines) {
            return false;
        }
        return lastPrice == null || budget.micros() - committed.micros() >= lastPrice.micros();
    }

    @Override
    public Dispatch dispatch(ProviderOffer offer, ExecutionRequest request, Consumer<Progress> progress) {
        NodeId node = offer.nodeId();
        synchronized (this) {
            if (gone.containsKey(node)) {
                gone.put(node, nanos.getAsLong());
                return Dispatch.failed(new NetworkException("node " + node.shortId() + " of " + name()
                        + " has ended: its machine is gone"));
            }
            inFlight.merge(node, 1, Integer::sum);
            promised.pollFirst();
            touch(node);
        }
        Dispatch d;
        try {
            d = delegate.dispatch(offer, request, progress);
        } catch (RuntimeException e) {
            d = Dispatch.failed(e);
        }
        AtomicBoolean cancelled = new AtomicBoolean();
        d.response().whenComplete((r, t) -> {
            // A node that cannot be reached is likely gone: do not offer its slots to the job's
            // retry, and ask the market now. A reply (or the provider's own refusal) clears it.
            boolean unreachable = t != null && !cancelled.get() && rootCause(t) instanceof NetworkException;
            synchronized (this) {
                if (unreachable) {
                    suspect.put(node, nanos.getAsLong());
                } else if (t == null || !(rootCause(t) instanceof NetworkException)) {
                    suspect.remove(node);
                }
            }
            if (unreachable) {
                wake();
            }
        });
        Dispatch inner = d;
        d = Dispatch.of(inner.response(), inner.released(), reason -> {
            cancelled.set(true);
            inner.cancel(reason);
        }).runnableHere(inner::runHere);
        d.released().whenComplete((v, t) -> {
            synchronized (this) {
                inFlight.computeIfPresent(node, (k, n) -> n <= 1 ? null : n - 1);
                touch(node);
            }
            wake();
        });
        return d;
    }

    /** Marks the node's machine (if it is ours) and the fleet as busy now; caller holds the lock. */
    private void touch(NodeId node) {
        long now = nanos.getAsLong();
        lastWorkNanos = now;
        for (Member m : fleet.values()) {
            if (node.equals(m.machine.nodeId())) {
                m.lastBusyNanos = now;
            }
        }
    }

    /** Runs a tick soon, at most one queued at a time. */
    private void wake() {
        if (tickQueued.compareAndSet(false, true)) {
            try {
                timer.execute(this::tickSafely);
            } catch (java.util.concurrent.RejectedExecutionException closing) {
                tickQueued.set(false);
            }
        }
    }

    private void tickSafely() {
        tickQueued.set(false);
        try {
            tick();
        } catch (RuntimeException e) {
            LOG.warn("{}: fleet check failed, retrying at the next tick: {}", name(), e.toString());
        }
    }

    private void tick() {
        synchronized (this) {
            if (closed) {
                return;
            }
            long now = nanos.getAsLong();
            suspect.values().removeIf(since -> now - since >= SUSPECT_NANOS);
            gone.values().removeIf(seen -> now - seen >= GONE_NANOS);
        }
        refresh();
        requery();
        grow();
        shrink();
    }

    /**
     * Takes the market's view of the fleet: nodes that listed, machines that ended; releases
     * machines that missed their start deadline.
     */
    private void refresh() {
        List<Machine> now;
        List<String> late = new ArrayList<>();
        synchronized (this) {
            if (fleet.isEmpty()) {
                return;
            }
        }
        try {
            now = market.machines().get(MARKET_CALL_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new CapacityException(market.name() + ": cannot list machines: " + e, e);
        }
        synchronized (this) {
            long t = nanos.getAsLong();
            for (Machine m : now) {
                Member member = fleet.get(m.id());
                if (member == null) {
                    continue;
                }
                boolean wasStarting = member.machine.state() == MachineState.STARTING;
                member.machine = m;
                if (wasStarting && m.state() == MachineState.RUNNING) {
                    // A new node gets a full idle period to be used before it may be released.
                    member.lastBusyNanos = t;
                    LOG.info("{}: {} serves", name(), m);
                }
                if (m.state().ended()) {
                    fleet.remove(m.id());
                    if (m.nodeId() != null) {
                        gone.put(m.nodeId(), t);
                        inFlight.remove(m.nodeId());
                    }
                    if (m.nodeId() != null) {
                        suspect.remove(m.nodeId());
                    }
                    if (!member.releasing && !member.expired) {
                        failed++;
                        boolean busy = t - lastWorkNanos < idleAfterNanos || !waiters.isEmpty();
                        if (busy) {
                            replacements++;
                        }
                        LOG.warn("{}: {} ended unreleased{}", name(), m, busy ? "; replacing it" : "");
                    }
                }
            }
            for (Member member : fleet.values()) {
                Machine m = member.machine;
                if (member.releasing || m.state() != MachineState.STARTING && !member.expired) {
                    continue;
                }
                if (!member.expired) {
                    if (t - member.startDeadline < 0) {
                        continue;
                    }
                    // It did not start in time: a failure like a crash, released so that it
                    // costs no more and does not count against maxMachines.
                    member.expired = true;
                    failed++;
                    boolean busy = t - lastWorkNanos < idleAfterNanos || !waiters.isEmpty();
                    if (busy) {
                        replacements++;
                    }
                    if (m.nodeId() != null) {
                        gone.put(m.nodeId(), t);
                    }
                    LOG.warn("{}: {} did not start within {} ms; releasing it{}", name(), m,
                            TimeUnit.NANOSECONDS.toMillis(startTimeoutNanos), busy ? " and replacing it" : "");
                }
                member.releasing = true;
                late.add(m.id());
            }
        }
        for (String id : late) {
            market.release(id).whenComplete((v, error) -> {
                synchronized (this) {
                    Member member = fleet.get(id);
                    if (member == null) {
                        return;
                    }
                    if (error != null) {
                        LOG.warn("{}: releasing {} failed (retrying at the next tick): {}", name(), id,
                                rootMessage(error));
                        member.releasing = false;
                        return;
                    }
                    fleet.remove(id);
                }
                wake();
            });
        }
    }

    /** Asks the directory again for each distinct waiting query. */
    private void requery() {
        Map<OfferQuery, List<Waiter>> byQuery = new LinkedHashMap<>();
        synchronized (this) {
            for (Waiter w : waiters) {
                if (!asking.contains(w.query())) {
                    byQuery.computeIfAbsent(w.query(), q -> new ArrayList<>()).add(w);
                }
            }
            asking.addAll(byQuery.keySet());
        }
        for (Map.Entry<OfferQuery, List<Waiter>> e : byQuery.entrySet()) {
            ask(e.getKey()).whenComplete((list, error) -> {
                synchronized (this) {
                    asking.remove(e.getKey());
                }
                for (Waiter w : e.getValue()) {
                    if (error != null) {
                        synchronized (this) {
                            if (nanos.getAsLong() - w.since() < maxWaitNanos) {
                                continue; // the directory may be busy: ask again at the next tick
                            }
                            waiters.remove(w);
                        }
                        w.answer().completeExceptionally(error);
                    } else {
                        decide(w, list, true);
                    }
                }
            });
        }
    }

    /** Obtains machines for waiting work, replacements and the minimum, within the budget. */
    private void grow() {
        int want;
        synchronized (this) {
            long now = nanos.getAsLong();
            if (now < growBlockedUntil) {
                return;
            }
            int live = fleet.size() + obtaining;
            int starting = obtaining;
            int leaving = 0;
            for (Member m : fleet.values()) {
                if (m.releasing) {
                    leaving++;
                } else if (m.machine.state() == MachineState.STARTING) {
                    starting++;
                }
            }
            boolean waitedLong = !waiters.isEmpty() && now - waiters.peekFirst().since() >= growAfterNanos;
            int forWork = waitedLong ? Math.max(0, ceilDiv(waiters.size(), slots) - starting) : 0;
            want = Math.max(Math.max(forWork, replacements), minMachines - live);
            want = Math.min(want, maxMachines - live);
            if (want <= 0) {
                if (replacements > 0 && live - leaving >= maxMachines) {
                    replacements = 0; // the fleet is full again: nothing to replace
                }
                return;
            }
        }
        CapacityQuote quote;
        try {
            quote = market.quote(perMachine.withMachines(want).withBudget(budget)).get(MARKET_CALL_SECONDS,
                    TimeUnit.SECONDS);
        } catch (Exception e) {
            refuse("the market could not price " + want + " machine(s): " + rootMessage(e), false);
            return;
        }
        int k;
        int repl;
        MicroUsd each = quote.perMachine();
        MicroUsd reserve;
        long deadline;
        synchronized (this) {
            if (closed) {
                return;
            }
            lastPrice = each;
            long left = budget.micros() - committed.micros();
            k = each.micros() == 0 ? want : (int) Math.min(want, left / each.micros());
            if (k < want) {
                budgetRefusals++;
                String why = "budget: " + committed + " of " + budget + " committed, a machine costs " + each
                        + "; " + want + " wanted, " + Math.max(0, k) + " fit";
                if (!why.equals(lastRefusal)) {
                    LOG.warn("{}: {}", name(), why); // once per state, not once per tick
                }
                lastRefusal = why;
            }
            if (k <= 0) {
                replacements = 0; // nothing more can be bought: stop trying for these
                growBlockedUntil = nanos.getAsLong() + growAfterNanos;
                return;
            }
            reserve = each.times(k);
            committed = committed.plus(reserve);
            obtaining += k;
            deadline = nanos.getAsLong() + startTimeoutNanos;
            obtainDeadlines.add(deadline);
            repl = Math.min(k, replacements);
            replacements -= repl;
        }
        int count = k;
        int forReplacement = repl;
        LOG.info("{}: obtaining {} machine(s) at {} each ({} of {} committed)", name(), count, each, committed, budget);
        CompletableFuture<List<Machine>> got;
        try {
            got = market.obtain(perMachine.withMachines(count).withBudget(reserve));
        } catch (RuntimeException e) {
            got = CompletableFuture.failedFuture(e);
        }
        got.whenComplete((machines, error) -> {
            List<String> orphans = new ArrayList<>();
            synchronized (this) {
                obtaining -= count;
                obtainDeadlines.remove(Long.valueOf(deadline));
                if (error != null) {
                    committed = MicroUsd.ofMicros(committed.micros() - reserve.micros());
                    replacements += forReplacement;
                    lastRefusal = market.name() + " did not provide " + count + " machine(s): " + rootMessage(error);
                    growBlockedUntil = nanos.getAsLong() + growAfterNanos;
                    LOG.warn("{}: {}", name(), lastRefusal);
                    return;
                }
                MicroUsd actual = MicroUsd.ZERO;
                for (Machine m : machines) {
                    actual = actual.plus(m.cost());
                }
                // Commit what the market says it charged, if it differs from the quote.
                committed = MicroUsd.ofMicros(committed.micros() - reserve.micros() + actual.micros());
                long now = nanos.getAsLong();
                for (Machine m : machines) {
                    if (closed) {
                        orphans.add(m.id());
                    } else {
                        fleet.put(m.id(), new Member(m, now, deadline));
                    }
                }
                obtained += machines.size();
                replaced += forReplacement;
                peak = Math.max(peak, fleet.size());
            }
            for (String id : orphans) {
                market.release(id);
            }
            wake();
        });
    }

    private void refuse(String why, boolean budgetBound) {
        synchronized (this) {
            lastRefusal = why;
            if (budgetBound) {
                budgetRefusals++;
            }
            growBlockedUntil = nanos.getAsLong() + growAfterNanos;
        }
        LOG.warn("{}: {}", name(), why);
    }

    /** Releases machines idle for {@code idleAfter} while nothing waits, down to the minimum. */
    private void shrink() {
        List<String> toRelease = new ArrayList<>();
        synchronized (this) {
            if (!waiters.isEmpty()) {
                return;
            }
            long now = nanos.getAsLong();
            int live = fleet.size() + obtaining;
            for (Member m : fleet.values()) {
                if (live <= minMachines) {
                    break;
                }
                NodeId node = m.machine.nodeId();
                if (m.releasing || m.machine.state() != MachineState.RUNNING || node == null) {
                    continue;
                }
                if (inFlight.getOrDefault(node, 0) == 0 && now - m.lastBusyNanos >= idleAfterNanos) {
                    m.releasing = true;
                    toRelease.add(m.machine.id());
                    gone.put(node, now);
                    live--;
                    released++;
                }
            }
        }
        for (String id : toRelease) {
            LOG.info("{}: releasing idle machine {}", name(), id);
            market.release(id).whenComplete((v, t) -> {
                if (t != null) {
                    LOG.warn("{}: releasing {} failed (retrying at the next tick): {}", name(), id, rootMessage(t));
                    synchronized (this) {
                        Member m = fleet.get(id);
                        if (m != null) {
                            m.releasing = false;
                            released--;
                            if (m.machine.nodeId() != null) {
                                gone.remove(m.machine.nodeId());
                            }
                        }
                    }
                }
            });
        }
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static Throwable rootCause(Throwable t) {
        Throwable c = t;
        while ((c instanceof java.util.concurrent.CompletionException
                || c instanceof java.util.concurrent.ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    private static String rootMessage(Throwable t) {
        Throwable c = rootCause(t);
        return c.getMessage() != null ? c.getMessage() : c.toString();
    }

    /**
     * Stops growing, answers the waiting queries with a failure, and releases every machine the
     * fleet obtained (waiting up to 30 s for the market). Idempotent.
     */
    @Override
    public void close() {
        List<Waiter> pending;
        List<String> ids;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            pending = new ArrayList<>(waiters);
            waiters.clear();
            ids = new ArrayList<>();
            for (Member m : fleet.values()) {
                if (!m.releasing) {
                    m.releasing = true;
                    ids.add(m.machine.id());
                    released++;
                }
            }
        }
        timer.shutdownNow();
        for (Waiter w : pending) {
            w.answer().completeExceptionally(new NetworkException(name() + " closed while the job waited for a node"));
        }
        List<CompletableFuture<Void>> releases = new ArrayList<>();
        for (String id : ids) {
            releases.add(market.release(id));
        }
        try {
            CompletableFuture.allOf(releases.toArray(CompletableFuture[]::new)).get(MARKET_CALL_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("{}: releasing the fleet on close did not finish: {}; check the market for leases left: {}", name(),
                    rootMessage(e), ids);
        }
    }

    /** Options of an {@link ElasticNetwork}. */
    public static final class Builder {
        private final ComputeNetwork delegate;
        private final CapacityMarket market;
        private final CapacityRequest perMachine;
        private MicroUsd budget;
        private int minMachines;
        private int maxMachines = 8;
        private int slots = 1;
        private Duration growAfter = Duration.ofSeconds(2);
        private Duration maxWait = Duration.ofMinutes(3);
        private Duration idleAfter = Duration.ofMinutes(5);
        private Duration tick = Duration.ofMillis(250);
        private Duration startTimeout = Duration.ofMinutes(10);
        private LongSupplier nanos = System::nanoTime;

        private Builder(ComputeNetwork delegate, CapacityMarket market, CapacityRequest perMachine) {
            this.delegate = InvalidArgumentException.requireNonNull(delegate, "network over the directory");
            this.market = InvalidArgumentException.requireNonNull(market, "capacity market");
            this.perMachine = InvalidArgumentException.requireNonNull(perMachine, "per-machine request");
        }

        /**
         * @param total the most every lease obtained may cost together (required)
         * @return this builder
         */
        public Builder budget(MicroUsd total) {
            this.budget = InvalidArgumentException.requireNonNull(total, "budget");
            return this;
        }

        /**
         * @param min machines kept even when idle (default 0)
         * @return this builder
         */
        public Builder minMachines(int min) {
            if (min < 0 || min > 1000) {
                throw new InvalidArgumentException("minimum machines " + min + " must be 0 to 1000");
            }
            this.minMachines = min;
            return this;
        }

        /**
         * @param max the most machines at once (default 8)
         * @return this builder
         */
        public Builder maxMachines(int max) {
            if (max < 1 || max > 1000) {
                throw new InvalidArgumentException("maximum machines " + max + " must be 1 to 1000");
            }
            this.maxMachines = max;
            return this;
        }

        /**
         * @param n attempts one node runs at once before work counts as waiting (default 1)
         * @return this builder
         */
        public Builder slotsPerMachine(int n) {
            if (n < 1 || n > 1024) {
                throw new InvalidArgumentException("slots per machine " + n + " must be 1 to 1024");
            }
            this.slots = n;
            return this;
        }

        /**
         * @param bound how long work may wait for a slot before the fleet grows (default 2 s)
         * @return this builder
         */
        public Builder growAfter(Duration bound) {
            this.growAfter = positive(bound, "grow-after bound");
            return this;
        }

        /**
         * @param bound the longest a query is held for a slot (default 3 min); keep it above the
         *              time a machine takes to start and list its node
         * @return this builder
         */
        public Builder maxWait(Duration bound) {
            this.maxWait = positive(bound, "maximum wait");
            return this;
        }

        /**
         * @param bound how long a machine may be idle before it is released (default 5 min)
         * @return this builder
         */
        public Builder idleAfter(Duration bound) {
            this.idleAfter = positive(bound, "idle bound");
            return this;
        }

        /**
         * @param period how often the fleet is checked (default 250 ms)
         * @return this builder
         */
        public Builder tick(Duration period) {
            this.tick = positive(period, "tick");
            return this;
        }

        /**
         * How long a machine may take, from the fleet asking the market for it to its node being
         * listed. A machine that takes longer is released and counts as failed (replaced while the
         * fleet is busy); a query that no live node can take is held past {@code maxWait} while a
         * machine is starting within this bound, and never longer than {@code maxWait} plus it.
         *
         * @param bound the start deadline (default 10 min: a market's bids, image pull and node
         *              start; the local market fails its own nodes after 2 min)
         * @return this builder
         */
        public Builder startTimeout(Duration bound) {
            this.startTimeout = positive(bound, "start timeout");
            return this;
        }

        /** The clock of every bound (tests: a clock that moves only when told). */
        Builder nanoClock(LongSupplier clock) {
            this.nanos = InvalidArgumentException.requireNonNull(clock, "clock");
            return this;
        }

        private static Duration positive(Duration d, String what) {
            InvalidArgumentException.requireNonNull(d, what);
            if (d.isNegative() || d.isZero()) {
                throw new InvalidArgumentException(what + " " + d + " must be positive");
            }
            return d;
        }

        /**
         * @return the network, its fleet check running
         * @throws InvalidArgumentException if the budget is missing or the bounds disagree
         */
        public ElasticNetwork build() {
            if (budget == null) {
                throw new InvalidArgumentException("an elastic network needs a budget: call budget(MicroUsd)");
            }
            if (minMachines > maxMachines) {
                throw new InvalidArgumentException("minimum machines " + minMachines + " is above the maximum "
                        + maxMachines);
            }
            if (maxWait.compareTo(growAfter) <= 0) {
                throw new InvalidArgumentException("maximum wait " + maxWait + " must be longer than the grow-after "
                        + "bound " + growAfter + ", or no query ever waits long enough to grow the fleet");
            }
            return new ElasticNetwork(this);
        }
    }
}
