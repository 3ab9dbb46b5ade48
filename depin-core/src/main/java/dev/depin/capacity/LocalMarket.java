package dev.depin.capacity;

import dev.depin.InvalidArgumentException;
import dev.depin.capacity.spi.CapacityMarket;
import dev.depin.crypto.NodeId;
import dev.depin.money.MicroUsd;
import dev.depin.provider.Region;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A market of machines on this host: each machine obtained is a {@code depin node} process
 * started with the request's {@link NodeTemplate} (listening on a free loopback port, its key
 * generated in its own working folder), which lists itself in the buyer's directory like a
 * node leased elsewhere would. It is how the {@link ElasticNetwork} is tested end to end here,
 * and a way to grow a fleet of one's own nodes by demand.
 *
 * <p>What a machine costs is what the operator says ({@link Builder#pricePerMachineHour}),
 * charged for its whole lease when it is obtained, as prepaid markets do. A machine whose
 * process exits without being released is {@link MachineState#FAILED}; one whose lease ends is
 * stopped and {@link MachineState#RELEASED}. The nodes stop when this JVM ends (they are started
 * with {@code --stop-on-stdin-eof}), and {@link #close} releases every machine: unlike a remote
 * lease, a local process cannot outlive the market object usefully.
 *
 * <pre>{@code
 * List<String> depin = List.of(javaBin, "-cp", classPath, "dev.depin.examples.cli.DepinCli");
 * try (LocalMarket market = LocalMarket.builder(depin).pricePerMachineHour(MicroUsd.ofUsd("0.50")).build()) {
 *     List<Machine> got = market.obtain(request).join();
 * }
 * }</pre>
 */
public final class LocalMarket implements CapacityMarket {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LocalMarket.class);
    /** What {@code depin node} prints once it serves: its id and address. */
    private static final Pattern SERVING = Pattern.compile("^depin node ([0-9a-f]{64}) serving \\S+ on (\\S+:\\d+) ");
    private static final BigInteger SECONDS_PER_HOUR = BigInteger.valueOf(3600);

    private final List<String> launcher;
    private final Path work;
    private final boolean ownsWork;
    private final MicroUsd pricePerHour;
    private final Region region;
    private final int maxMachines;
    private final Duration startTimeout;
    private final Clock clock;
    private final ScheduledExecutorService timers;
    private final AtomicInteger sequence = new AtomicInteger();
    private final Map<String, Local> machines = new LinkedHashMap<>();
    private boolean closed;

    /** One node process and what is known of it; guarded by the market's lock. */
    private final class Local {
        final String id;
        final Path dir;
        final Process process;
        final MicroUsd cost;
        final Instant expiresAt;
        MachineState state = MachineState.STARTING;
        /** Set when a release or expiry begins: the process's exit is then not a failure. */
        boolean stopping;
        NodeId nodeId;
        String endpoint;
        String detail = "starting";
        ScheduledFuture<?> expiry;
        ScheduledFuture<?> startDeadline;

        Local(String id, Path dir, Process process, MicroUsd cost, Instant expiresAt) {
            this.id = id;
            this.dir = dir;
            this.process = process;
            this.cost = cost;
            this.expiresAt = expiresAt;
        }

        Machine snapshot() {
            return new Machine(name(), id, state, nodeId, endpoint, cost, expiresAt, detail);
        }
    }

    private LocalMarket(Builder b) {
        this.launcher = List.copyOf(b.launcher);
        this.pricePerHour = b.pricePerHour;
        this.region = b.region;
        this.maxMachines = b.maxMachines;
        this.startTimeout = b.startTimeout;
        this.clock = b.clock;
        try {
            if (b.work != null) {
                Files.createDirectories(b.work);
                this.work = b.work;
                this.ownsWork = false;
            } else {
                this.work = Files.createTempDirectory("depin-local-market-");
                this.ownsWork = true;
            }
        } catch (IOException e) {
            throw new CapacityException("local market: cannot create its working folder: " + e, e);
        }
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "depin-local-market");
            th.setDaemon(true);
            return th;
        });
        t.setRemoveOnCancelPolicy(true);
        t.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.timers = t;
    }

    /**
     * Starts building a local market.
     *
     * @param depinLauncher the command that runs {@code depin} on this host, e.g.
     *                      {@code [java, -cp, CLASSPATH, dev.depin.examples.cli.DepinCli]} or
     *                      {@code [/usr/local/bin/depin]}; the node's arguments are appended
     * @return a builder with the defaults
     * @throws InvalidArgumentException if the launcher is null or empty
     */
    public static Builder builder(List<String> depinLauncher) {
        return new Builder(depinLauncher);
    }

    @Override
    public String name() {
        return "local";
    }

    @Override
    public CompletableFuture<CapacityQuote> quote(CapacityRequest request) {
        try {
            return CompletableFuture.completedFuture(price(request));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private CapacityQuote price(CapacityRequest request) {
        InvalidArgumentException.requireNonNull(request, "capacity request");
        if (request.gpu().any()) {
            throw new CapacityException("local market: it starts nodes on this host's best executor and cannot "
                    + "promise " + request.gpu() + ": ask for no GPU (--gpu none)");
        }
        if (request.region() != null && !request.region().admits(region)) {
            throw new CapacityException("local market: this host is in " + region + ", not in " + request.region()
                    + ": ask for " + region + " or any region");
        }
        // The lease's seconds times the hourly price, rounded up to a whole micro-dollar.
        BigInteger micros = BigInteger.valueOf(pricePerHour.micros()).multiply(BigInteger.valueOf(
                request.duration().toSeconds())).add(SECONDS_PER_HOUR.subtract(BigInteger.ONE)).divide(SECONDS_PER_HOUR);
        BigInteger total = micros.multiply(BigInteger.valueOf(request.machines()));
        if (total.bitLength() > 62) {
            throw new CapacityException("local market: the request's price overflows: ask for fewer machines or hours");
        }
        MicroUsd each = MicroUsd.ofMicros(micros.longValueExact());
        return new CapacityQuote(name(), request, each, MicroUsd.ofMicros(total.longValueExact()), null,
                clock.instant().plus(Duration.ofHours(1)), request.machines() + " x " + pricePerHour + "/h x "
                + request.duration().toSeconds() + " s");
    }

    @Override
    public CompletableFuture<List<Machine>> obtain(CapacityRequest request) {
        List<Machine> out = new ArrayList<>();
        List<Local> started = new ArrayList<>();
        try {
            CapacityQuote q = price(request);
            q.requireWithinBudget();
            synchronized (this) {
                if (closed) {
                    throw new CapacityException("local market is closed");
                }
                long live = machines.values().stream().filter(m -> !m.state.ended()).count();
                if (live + request.machines() > maxMachines) {
                    throw new CapacityException("local market: " + live + " machine(s) running and " + request.machines()
                            + " more asked, over this host's limit of " + maxMachines + ": release some or raise "
                            + "the limit");
                }
                Instant expires = clock.instant().plus(request.duration());
                for (int i = 0; i < request.machines(); i++) {
                    Local m = start(request, q.perMachine(), expires);
                    started.add(m);
                    out.add(m.snapshot());
                }
            }
            for (Local m : started) {
                watch(m, request.duration());
            }
            return CompletableFuture.completedFuture(List.copyOf(out));
        } catch (RuntimeException e) {
            for (Local m : started) {
                stop(m, MachineState.FAILED, "obtain failed: " + e.getMessage());
            }
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Starts one node process; caller holds the lock. */
    private Local start(CapacityRequest request, MicroUsd cost, Instant expires) {
        String id = "local-" + sequence.incrementAndGet();
        Path dir = work.resolve(id);
        List<String> cmd = new ArrayList<>(launcher);
        cmd.addAll(request.node().nodeArguments(dir.resolve("node.key").toString(), region.toString(), 0));
        cmd.add("--stop-on-stdin-eof");
        Process p;
        try {
            Files.createDirectories(dir);
            p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectError(dir.resolve("node.log").toFile()).start();
        } catch (IOException e) {
            throw new CapacityException("local market: cannot start '" + String.join(" ", launcher) + " node': " + e
                    + ": check the depin launcher", e);
        }
        Local m = new Local(id, dir, p, cost, expires);
        machines.put(id, m);
        LOG.info("local market: started {} (pid {}) for {}", id, p.pid(), cost);
        return m;
    }

    /** Reads the node's line, and marks it failed when it exits unreleased or does not start in time. */
    private void watch(Local m, Duration lease) {
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(m.process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    Matcher x = SERVING.matcher(line);
                    if (x.find()) {
                        synchronized (this) {
                            if (m.state == MachineState.STARTING && !m.stopping) {
                                m.state = MachineState.RUNNING;
                                m.nodeId = NodeId.parse(x.group(1));
                                m.endpoint = x.group(2);
                                m.detail = "pid " + m.process.pid();
                                if (m.startDeadline != null) {
                                    m.startDeadline.cancel(false);
                                }
                            }
                        }
                    }
                }
            } catch (IOException ignored) {
                // The process is gone: onExit says how.
            }
        }, "depin-local-market-" + m.id);
        reader.setDaemon(true);
        reader.start();
        m.process.onExit().thenRun(() -> {
            synchronized (this) {
                if (!m.stopping && !m.state.ended()) {
                    m.state = MachineState.FAILED;
                    m.detail = "the node exited with status " + m.process.exitValue() + ": " + tail(m.dir);
                    LOG.warn("local market: {} failed: {}", m.id, m.detail);
                    cancelTimers(m);
                }
            }
            deleteKey(m);
        });
        synchronized (this) {
            long ms = Math.max(1, lease.toMillis());
            m.expiry = timers.schedule(() -> stop(m, MachineState.RELEASED, "lease ended"), ms, TimeUnit.MILLISECONDS);
            m.startDeadline = timers.schedule(() -> {
                boolean late;
                synchronized (this) {
                    late = m.state == MachineState.STARTING && !m.stopping;
                }
                if (late) {
                    stop(m, MachineState.FAILED, "the node did not start within " + startTimeout + ": " + tail(m.dir));
                }
            }, startTimeout.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void cancelTimers(Local m) {
        if (m.expiry != null) {
            m.expiry.cancel(false);
        }
        if (m.startDeadline != null) {
            m.startDeadline.cancel(false);
        }
    }

    /** The last lines of the node's log, read from at most its last 4 KiB (a log can be large). */
    private static String tail(Path dir) {
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(dir.resolve("node.log").toFile(), "r")) {
            long from = Math.max(0, f.length() - 4096);
            byte[] b = new byte[(int) (f.length() - from)];
            f.seek(from);
            f.readFully(b);
            String[] lines = new String(b, StandardCharsets.UTF_8).split("\n");
            String t = String.join(" | ", java.util.Arrays.asList(lines).subList(Math.max(0, lines.length - 3),
                    lines.length)).strip();
            return t.isEmpty() ? "(nothing logged)" : t.length() > 600 ? t.substring(t.length() - 600) : t;
        } catch (IOException e) {
            return "(no log)";
        }
    }

    @Override
    public synchronized CompletableFuture<List<Machine>> machines() {
        return CompletableFuture.completedFuture(machines.values().stream().map(Local::snapshot).toList());
    }

    @Override
    public CompletableFuture<Void> release(String machineId) {
        InvalidArgumentException.requireNonNull(machineId, "machine id");
        Local m;
        synchronized (this) {
            m = machines.get(machineId);
        }
        if (m == null) {
            return CompletableFuture.failedFuture(new CapacityException("local market: no machine '" + machineId
                    + "' (machines: " + String.join(", ", machineIds()) + ")"));
        }
        return CompletableFuture.runAsync(() -> stop(m, MachineState.RELEASED, "released"), timers);
    }

    private synchronized List<String> machineIds() {
        return new ArrayList<>(machines.keySet());
    }

    /**
     * The node process behind a machine, for operators and fault-injection tests (killing it
     * with SIGKILL is how a crash is simulated).
     *
     * @param machineId the machine's id
     * @return its process, if it is still known
     */
    public synchronized Optional<ProcessHandle> process(String machineId) {
        Local m = machines.get(machineId);
        return m == null ? Optional.empty() : Optional.of(m.process.toHandle());
    }

    /** @return the sum of what every machine obtained here was charged */
    public synchronized MicroUsd charged() {
        MicroUsd sum = MicroUsd.ZERO;
        for (Local m : machines.values()) {
            sum = sum.plus(m.cost);
        }
        return sum;
    }

    /**
     * Stops the node: stdin closed (it stops itself), SIGTERM after 3 s, SIGKILL after 3 more.
     * The machine reads as ended only once its process is gone.
     */
    private void stop(Local m, MachineState end, String why) {
        synchronized (this) {
            if (m.state.ended() || m.stopping) {
                return;
            }
            m.stopping = true;
            m.detail = why;
            cancelTimers(m);
        }
        try {
            m.process.getOutputStream().close();
            if (!m.process.waitFor(3, TimeUnit.SECONDS)) {
                m.process.destroy();
                if (!m.process.waitFor(3, TimeUnit.SECONDS)) {
                    m.process.destroyForcibly();
                    m.process.waitFor(5, TimeUnit.SECONDS);
                }
            }
        } catch (IOException ignored) {
            m.process.destroyForcibly();
        } catch (InterruptedException e) {
            m.process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            m.state = m.process.isAlive() ? MachineState.FAILED : end;
            if (m.process.isAlive()) {
                m.detail = why + ", but the process did not stop: pid " + m.process.pid();
            }
        }
        deleteKey(m);
        LOG.info("local market: {} {} ({})", m.id, m.state, m.detail);
    }

    private static void deleteKey(Local m) {
        try {
            Files.deleteIfExists(m.dir.resolve("node.key"));
        } catch (IOException e) {
            LOG.warn("local market: cannot delete {}'s key: {}", m.id, e.toString());
        }
    }

    /** Releases every machine (their processes stop) and stops the market's thread. Idempotent. */
    @Override
    public void close() {
        List<Local> all;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            all = new ArrayList<>(machines.values());
        }
        List<Thread> stopping = new ArrayList<>();
        for (Local m : all) {
            Thread t = new Thread(() -> stop(m, MachineState.RELEASED, "market closed"), "depin-local-market-stop");
            t.start();
            stopping.add(t);
        }
        for (Thread t : stopping) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(15));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        timers.shutdownNow();
        if (ownsWork) {
            try (Stream<Path> s = Files.walk(work)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // Best effort: the keys were deleted above; only logs remain.
            }
        }
    }

    /** Options of a {@link LocalMarket}. */
    public static final class Builder {
        private final List<String> launcher;
        private Path work;
        private MicroUsd pricePerHour = MicroUsd.ZERO;
        private Region region = new Region("US", "");
        private int maxMachines = 16;
        private Duration startTimeout = Duration.ofMinutes(2);
        private Clock clock = Clock.systemUTC();

        private Builder(List<String> launcher) {
            InvalidArgumentException.requireNonNull(launcher, "depin launcher");
            if (launcher.isEmpty() || launcher.stream().anyMatch(s -> s == null || s.isEmpty())) {
                throw new InvalidArgumentException("the depin launcher must be a non-empty command, e.g. "
                        + "[/usr/local/bin/depin]");
            }
            this.launcher = List.copyOf(launcher);
        }

        /**
         * @param folder where each machine's folder (its key and log) is made; default a new
         *               temporary folder, deleted on close
         * @return this builder
         */
        public Builder workFolder(Path folder) {
            this.work = InvalidArgumentException.requireNonNull(folder, "work folder");
            return this;
        }

        /**
         * @param price what one machine costs per hour of lease (default zero)
         * @return this builder
         */
        public Builder pricePerMachineHour(MicroUsd price) {
            this.pricePerHour = InvalidArgumentException.requireNonNull(price, "price per machine-hour");
            return this;
        }

        /**
         * @param where where this host is (default {@code US}); the nodes declare it
         * @return this builder
         */
        public Builder region(Region where) {
            this.region = InvalidArgumentException.requireNonNull(where, "region");
            return this;
        }

        /**
         * @param max the most node processes running at once, 1 to 256 (default 16)
         * @return this builder
         */
        public Builder maxMachines(int max) {
            if (max < 1 || max > 256) {
                throw new InvalidArgumentException("local market machine limit " + max + " must be 1 to 256");
            }
            this.maxMachines = max;
            return this;
        }

        /**
         * @param timeout how long a node may take to say it serves before it is failed (default 2 min)
         * @return this builder
         */
        public Builder startTimeout(Duration timeout) {
            InvalidArgumentException.requireNonNull(timeout, "start timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new InvalidArgumentException("start timeout " + timeout + " must be positive");
            }
            this.startTimeout = timeout;
            return this;
        }

        /**
         * @param c the clock lease expiries are computed with (default UTC system clock)
         * @return this builder
         */
        public Builder clock(Clock c) {
            this.clock = InvalidArgumentException.requireNonNull(c, "clock");
            return this;
        }

        /** @return the market */
        public LocalMarket build() {
            return new LocalMarket(this);
        }
    }
}
