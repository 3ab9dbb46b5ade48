package dev.depin.capacity.spi;

import dev.depin.InvalidArgumentException;
import dev.depin.capacity.CapacityException;
import dev.depin.capacity.CapacityQuote;
import dev.depin.capacity.Machine;
import dev.depin.capacity.MachineState;
import dev.depin.capacity.MarketApiException;
import dev.depin.money.MicroUsd;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * What a market that leases machines over an API keeps of the leases it obtained, so that each
 * adapter ({@code AkashMarket}, {@code IonetMarket}) writes only how to lease one machine, how to
 * ask about one and how to end one. The book owns the rest of the {@link CapacityMarket} contract:
 * obtaining a quoted request machine by machine and ending what was leased if one fails, listing
 * with each live lease asked about anew, an idempotent release, and two threads so that listing
 * and releasing never wait behind an obtain that waits for bids or deployments.
 *
 * <p>Listing and releasing run on one thread, so a lease is never asked about while it is being
 * ended; once released or ended, a lease is no longer asked about.
 */
public final class LeaseBook implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LeaseBook.class);

    /** Asks the market about one lease; blocking, run on the book's thread. */
    @FunctionalInterface
    public interface Look {
        /**
         * @param id the lease's id at the market
         * @return what the market says of it
         * @throws MarketApiException when the market cannot say
         */
        Seen look(String id);
    }

    /** Ends one lease at the market; blocking. */
    @FunctionalInterface
    public interface End {
        /**
         * @param id the lease's id at the market
         * @throws MarketApiException when the market refuses; a status of 404 (the market no
         *                            longer knows the lease) counts as ended
         */
        void end(String id);
    }

    /** What a market said of a lease, and so what the machine's state becomes. */
    public static final class Seen {
        private enum Kind { SAME, RUNNING, FAILED, ENDED, RELEASED }

        private final Kind kind;
        private final String detail;

        private Seen(Kind kind, String detail) {
            this.kind = kind;
            this.detail = detail;
        }

        /**
         * @param detail the market's word, or null to keep the last one
         * @return the state stays what it is (still starting, say)
         */
        public static Seen same(String detail) {
            return new Seen(Kind.SAME, detail);
        }

        /**
         * @param detail the market's word, or null to keep the last one
         * @return the machine serves: {@link MachineState#RUNNING}
         */
        public static Seen running(String detail) {
            return new Seen(Kind.RUNNING, detail);
        }

        /**
         * @param detail what went wrong
         * @return the lease broke: {@link MachineState#FAILED}
         */
        public static Seen failed(String detail) {
            return new Seen(Kind.FAILED, InvalidArgumentException.requireNonNull(detail, "detail"));
        }

        /**
         * @param detail the market's word
         * @return the market ended the lease: {@link MachineState#RELEASED} when its term is
         *         over, {@link MachineState#FAILED} before
         */
        public static Seen ended(String detail) {
            return new Seen(Kind.ENDED, InvalidArgumentException.requireNonNull(detail, "detail"));
        }

        /**
         * @param detail the market's word
         * @return the lease ran its course: {@link MachineState#RELEASED} whenever it ended
         */
        public static Seen released(String detail) {
            return new Seen(Kind.RELEASED, InvalidArgumentException.requireNonNull(detail, "detail"));
        }
    }

    /** One lease; its mutable fields are guarded by the book's lock. */
    private static final class Lease {
        final String id;
        final MicroUsd cost;
        final Instant expiresAt;
        MachineState state = MachineState.STARTING;
        String detail;

        Lease(String id, MicroUsd cost, Instant expiresAt, String detail) {
            this.id = id;
            this.cost = cost;
            this.expiresAt = expiresAt;
            this.detail = detail;
        }
    }

    private final String market;
    private final String ended;
    private final Clock clock;
    private final Look look;
    private final End end;
    private final ExecutorService worker;
    private final ExecutorService obtaining;
    private final Map<String, Lease> leases = new LinkedHashMap<>();

    /**
     * @param market the market's name, for machines, messages and thread names ({@code "akash"})
     * @param ended  a released machine's detail, the market's word for what {@code end} does
     *               ({@code "closed"})
     * @param clock  the clock that says whether a lease's term is over
     * @param look   how to ask the market about a lease
     * @param end    how to end a lease at the market
     */
    public LeaseBook(String market, String ended, Clock clock, Look look, End end) {
        this.market = InvalidArgumentException.requireNonNull(market, "market name");
        this.ended = InvalidArgumentException.requireNonNull(ended, "word for an ended lease");
        this.clock = InvalidArgumentException.requireNonNull(clock, "clock");
        this.look = InvalidArgumentException.requireNonNull(look, "look");
        this.end = InvalidArgumentException.requireNonNull(end, "end");
        this.worker = daemon("depin-" + market + "-market");
        this.obtaining = daemon("depin-" + market + "-obtain");
    }

    private static ExecutorService daemon(String name) {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /** @return the thread on which listing and releasing run, for a market's other blocking calls */
    public Executor worker() {
        return worker;
    }

    /**
     * Obtains every machine of a request, on the obtaining thread: once the quote is within its
     * budget, leases them one by one and, if one fails, ends those already leased and fails.
     *
     * @param quote    the request's quote
     * @param leaseOne leases one machine (and {@link #add}s it), or ends what it began and throws
     * @return the machines
     */
    public CompletableFuture<List<Machine>> obtain(CompletableFuture<CapacityQuote> quote,
                                                   Function<CapacityQuote, Machine> leaseOne) {
        return quote.thenApplyAsync(q -> {
            q.requireWithinBudget();
            List<Machine> got = new ArrayList<>();
            try {
                for (int i = 0; i < q.request().machines(); i++) {
                    got.add(leaseOne.apply(q));
                }
            } catch (RuntimeException e) {
                for (Machine m : got) {
                    endQuietly(m.id());
                }
                throw e;
            }
            return List.copyOf(got);
        }, obtaining);
    }

    /**
     * Records a lease just obtained, in state {@link MachineState#STARTING}.
     *
     * @param id        its id at the market
     * @param cost      what it cost for its whole term
     * @param expiresAt when its term ends
     * @param detail    the market's word on it
     * @return the machine
     */
    public Machine add(String id, MicroUsd cost, Instant expiresAt, String detail) {
        Lease l = new Lease(id, cost, expiresAt, detail);
        synchronized (this) {
            leases.put(id, l);
            return snapshot(l);
        }
    }

    /**
     * Ends a lease, logging instead of throwing when the market refuses: for undoing a lease
     * that could not be completed.
     *
     * @param id the lease's id at the market
     */
    public void endQuietly(String id) {
        try {
            end.end(id);
        } catch (RuntimeException e) {
            LOG.warn("{}: ending deployment {} failed: {} -- end it in the market's console", market, id,
                    e.getMessage());
        }
    }

    /** @return every lease recorded, live ones asked about anew, as {@link CapacityMarket#machines} */
    public CompletableFuture<List<Machine>> machines() {
        return CompletableFuture.supplyAsync(() -> {
            List<Lease> all;
            synchronized (this) {
                all = new ArrayList<>(leases.values());
            }
            List<Machine> out = new ArrayList<>();
            for (Lease l : all) {
                if (!l.state.ended()) {
                    Seen seen = look.look(l.id);
                    synchronized (this) {
                        apply(l, seen);
                    }
                }
                out.add(snapshot(l));
            }
            return out;
        }, worker);
    }

    private void apply(Lease l, Seen seen) {
        if (seen.detail != null) {
            l.detail = seen.detail;
        }
        switch (seen.kind) {
            case SAME -> { }
            case RUNNING -> l.state = MachineState.RUNNING;
            case FAILED -> l.state = MachineState.FAILED;
            case RELEASED -> l.state = MachineState.RELEASED;
            case ENDED -> l.state = clock.instant().isBefore(l.expiresAt) ? MachineState.FAILED : MachineState.RELEASED;
            default -> throw new IllegalStateException("unknown kind " + seen.kind);
        }
    }

    /**
     * Ends a lease obtained here, as {@link CapacityMarket#release}: a lease that already ended,
     * or that the market no longer knows, is released without error.
     *
     * @param id the lease's id at the market
     * @return completes when released
     */
    public CompletableFuture<Void> release(String id) {
        InvalidArgumentException.requireNonNull(id, "machine id");
        return CompletableFuture.runAsync(() -> {
            Lease l;
            synchronized (this) {
                l = leases.get(id);
                if (l == null) {
                    throw new CapacityException(market + ": no deployment " + id + " was obtained here");
                }
                if (l.state.ended()) {
                    return;
                }
            }
            try {
                end.end(id);
            } catch (MarketApiException e) {
                if (e.status() != 404) {
                    throw e;
                }
            }
            synchronized (this) {
                l.state = MachineState.RELEASED;
                l.detail = ended;
            }
        }, worker);
    }

    private synchronized Machine snapshot(Lease l) {
        return new Machine(market, l.id, l.state, null, null, l.cost, l.expiresAt, l.detail);
    }

    /** Stops the book's threads; leases stay as they are. */
    @Override
    public void close() {
        worker.shutdownNow();
        obtaining.shutdownNow();
        try {
            worker.awaitTermination(5, TimeUnit.SECONDS);
            obtaining.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
