package dev.depin.benchmarks.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import dev.depin.crypto.Hex;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.DirectoryServer;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.grpc.ProviderServer;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.wire.DirectoryGrpc;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.ExecuteResponse;
import dev.depin.grpc.internal.wire.InputChunk;
import dev.depin.grpc.internal.wire.Listing;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.grpc.internal.wire.RenewRequest;
import dev.depin.grpc.internal.wire.Start;
import dev.depin.job.InputRef;
import dev.depin.job.Job;
import dev.depin.job.JobSpec;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.LaunchParams;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.ProviderNode;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.OfferTerms;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The attacks of issue 16 at ten times the size that broke a node at b3acd16 (a benchmark,
 * not a test): 200 strangers flooding the directory, 100 slowloris streams, 20 amplification
 * jobs, 50 stalled readers, each while honest buyers run small verified jobs (SAXPY on 1 Ki
 * floats, a directory query before each). The attacked process is a child JVM with a
 * directory and a provider node (2 CPU workers) under their default bounds; its resident set
 * is sampled from {@code /proc/<pid>/status} every 100 ms and its own accounting (input bytes
 * reserved, streams held, the most one peer holds, listings) every 250 ms. Each phase reports
 * honest success, honest latency p50/p99 against the quiet phase of the same run, and the
 * attacked process's peak RSS and accounting. The attackers are written here with raw stubs
 * and protobuf (no GrpcNetwork), each with its own self-made key.
 *
 * <p>Run: {@code java -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.grpc.AttackRun [seconds per phase]} (default 20). System properties:
 * {@code depin.attack.jvm} the attacked JVM's options, space-separated (default
 * {@code -Xmx768m}); {@code depin.attack.phases} the attack phases to run, comma-separated among
 * {@code flood,slowloris,amplification,stalled} (default all; warm-up and quiet always run).
 * With {@code -XX:NativeMemoryTracking=summary} among the JVM options, each phase also prints
 * what the attacked JVM committed by category (heap, direct buffers, threads...), from
 * {@code jcmd VM.native_memory}, so a resident set above the heap is explained, not guessed.
 *
 * <p>The same baseline for every phase: the warm-up runs on until the JIT compilers of the
 * attacked JVM and of this process used less than 5 % of a core in two seconds in a row (at most
 * {@code depin.attack.settle} seconds more, default 30), and every measured window, quiet or
 * attacked, starts only once the compilers of the attacked JVM, this process and the attacker
 * process are that quiet (same cap): an attacker process is a fresh JVM in each phase, and it
 * compiled its client stack for 20-27 s of a 200-renewals/s flood, inside the window the first
 * runs measured. Each attack phase is preceded by a quiet phase of its own and the run ends with
 * one ({@code depin.attack.quietEach}, default true), and its p99 is printed against both the
 * first quiet phase and the one just before it. Each phase prints the honest latency's two parts
 * (the directory query, the job), and the attacked JVM's CPU in the window by thread group (jit,
 * event loops, gRPC's executor, node workers, gc, other), with the attacker JVM's jit.
 * {@code depin.attack.honestThreads} (default 4) sets the honest buyers; 0 measures the attacked
 * JVM's CPU per hostile request alone.
 *
 * <p>Where the attackers run: {@code depin.attack.attackers} is {@code both} (default),
 * {@code inproc} or {@code apart}. {@code inproc} runs them as threads of this measuring process,
 * on the same cores as the honest buyers and the attacked JVM (the method of the first runs);
 * {@code apart} runs them in a third JVM started with {@code setsid} (a new session, so a new
 * scheduler autogroup) that writes {@code 19} to {@code /proc/self/autogroup} ({@code
 * depin.attack.nice} sets another value): with autogroup
 * scheduling a plain {@code nice} only ranks threads within their own session's group, whereas
 * the group's own nice value ranks the whole attacker process against the others (writing it
 * without {@code setsid} would lower the measuring process's own group). On a 2-core VM this
 * approximates attackers on other machines: they run on CPU nobody else wants (on a machine
 * that others keep busy they hardly run at all: read the hostile column), while everything the
 * attacked JVM spends on their traffic (handshakes, decryption, parsing, refusals) still counts.
 * With {@code both}, each attack phase runs twice, in-process first, so the two methods' figures
 * come from the same run beside one quiet phase. Each phase also reports the CPU seconds the
 * attacked JVM and the attacker process used during the measured window (from
 * {@code /proc/<pid>/stat}), the hostile requests sent in it, and the attacked JVM's CPU per
 * hostile request once its quiet-phase CPU per honest job is taken off.
 *
 * <p>A paced attacker: {@code depin.attack.rate} gives the hostile requests per second, either one
 * figure for every attack ({@code 300}) or per attack ({@code flood=200,slowloris=500}); the
 * attackers' threads then share one schedule of that many starts per second (a request starts
 * at its slot, or as soon as a thread is free after it), so the attack has the same size
 * whatever CPU the attacker gets, and each phase prints the rate it reached. With a rate given,
 * the attacker process runs at normal priority (autogroup nice 0) unless
 * {@code depin.attack.nice} says otherwise: a nice-19 attacker on a machine the honest buyers
 * keep busy hardly runs, so it measures nothing. 0 or no rate: as fast as the threads go (the
 * earlier method). {@code depin.attack.from} is the local address the attackers connect from
 * (default {@code 127.0.0.2}: loopback, but another address than the honest buyers'
 * {@code 127.0.0.1}, so per-address limits see them apart; {@code any} lets the system pick).
 * {@code depin.attack.serve.cp} runs the attacked JVM from another class path (a benchmarks jar
 * built from another commit), for an A/B of the defender with the same attackers and buyers.
 * {@code depin.attack.floodThreads} sets the flood's threads (default 10; each waits for its
 * renewal's answer, then resets the stream: see {@link Run#renewAndReset}). An apart attacker runs
 * with a direct memory limit of 5 MiB per flood thread (at least 256 MiB), and each phase prints the
 * most it held.
 */
public final class AttackRun {
    /**
     * Honest buyer threads ({@code depin.attack.honestThreads}, default 4); 0 measures what the
     * attacked JVM spends on the attack alone (its CPU per hostile request, with no honest job's
     * share to take off).
     */
    private static final int HONEST_THREADS = Integer.getInteger("depin.attack.honestThreads", 4);
    private static final int N = 1024;
    private static final List<String> CHILD_JVM = List.of(System.getProperty("depin.attack.jvm", "-Xmx768m").trim()
            .split("\\s+"));
    private static final List<String> PHASES = List.of(System.getProperty("depin.attack.phases",
            "flood,slowloris,amplification,stalled").split(","));
    private static final String ATTACKERS = System.getProperty("depin.attack.attackers", "both");
    /** Hostile requests per second, for every attack or as {@code kind=rate,...}; empty: unpaced. */
    private static final String RATE = System.getProperty("depin.attack.rate", "").trim();
    /**
     * The attacker process's autogroup nice value: 19 (it runs only on CPU nobody else wants)
     * when unpaced, 0 (normal priority) when paced.
     */
    private static final String NICE = System.getProperty("depin.attack.nice", RATE.isEmpty() ? "19" : "0");
    /**
     * Whether each attack phase is preceded by a quiet phase of its own and the run ends with one
     * ({@code depin.attack.quietEach}, default true), so each attack's p99 is also compared with
     * the baseline next to it and the first quiet phase's drift shows.
     */
    private static final boolean QUIET_EACH = Boolean.parseBoolean(System.getProperty("depin.attack.quietEach",
            "true"));
    /** The local address attackers connect from ({@code any}: the system's choice). */
    private static final String FROM = System.getProperty("depin.attack.from", "127.0.0.2");
    /** The attacked JVM's class path (default this one's). */
    private static final String SERVE_CP = System.getProperty("depin.attack.serve.cp",
            System.getProperty("java.class.path"));
    /** Hostile requests this process's attackers made and saw answered (renewals, streams to their end). */
    private static final AtomicLong HOSTILE = new AtomicLong();
    /**
     * Threads that flood the directory, each waiting for its renewal's answer (a 4 MiB renewal is
     * answered once the directory has refused it from its length prefix) and then resetting the
     * stream, so each holds at most one renewal's bytes: 10 threads × 4 MiB.
     */
    private static final int FLOOD_THREADS = Integer.getInteger("depin.attack.floodThreads", 10);
    /**
     * The apart attacker's direct memory limit: far above what its threads hold (the flood's
     * 10 × 4 MiB), so an attacker that holds more than it sends fails loudly, as the 2 GiB one
     * of 2026-12-07 00:57 did before {@link Run#renewAndReset}.
     */
    private static final String ATTACKER_DIRECT = Math.max(256, FLOOD_THREADS * 5 + 64) + "m";

    private AttackRun() {
    }

    /**
     * @param args {@code serve} in the child; else optional seconds per phase
     * @throws Exception on a setup failure
     */
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("serve")) {
            serve();
            return;
        }
        if (args.length > 0 && args[0].equals("attack")) {
            attack(args);
            return;
        }
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        new Run(seconds).run();
    }

    /** The attacked process: a directory and a provider node with default bounds. */
    private static void serve() throws Exception {
        NodeKeyPair dirKey = NodeKeyPair.generate();
        NodeKeyPair nodeKey = NodeKeyPair.generate();
        try (DirectoryServer dir = DirectoryServer.builder(dirKey).start();
             ProviderServer node = ProviderServer.builder(ProviderNode.builder(nodeKey, new CpuExecutor(2))
                     .concurrency(2, 4096).build(), nodeKey).directory(dir.address(), dir.publicKey())
                     .renewEvery(Duration.ofSeconds(5)).start()) {
            node.renewNow();
            System.out.println("READY " + dir.address() + " " + Hex.encode(dir.publicKey().raw()) + " "
                    + node.address() + " " + Hex.encode(nodeKey.publicKey().raw()));
            System.out.flush();
            Thread watch = new Thread(() -> {
                try {
                    while (System.in.read() != -1) {
                        // the parent closes stdin when done
                    }
                } catch (java.io.IOException ignored) {
                    // parent gone
                }
                System.exit(0);
            });
            watch.setDaemon(true);
            watch.start();
            while (true) {
                long[] peer = node.maxHeldByOnePeer();
                System.out.println("STATS " + node.reservedInputBytes() + " " + node.openStreams() + " " + peer[0]
                        + " " + peer[2] + " " + dir.size() + " " + dir.storedBytes() + " " + node.node().busy());
                System.out.flush();
                Thread.sleep(250);
            }
        }
    }

    /**
     * The attacker process: lowers its own autogroup to nice 19 (it was started in a session of
     * its own), runs one attack against the addresses given, reports its hostile requests every
     * 250 ms, and stops when its stdin closes.
     */
    private static void attack(String[] args) throws Exception {
        String group;
        try {
            Files.writeString(Path.of("/proc/self/autogroup"), args[6]);
            group = Files.readString(Path.of("/proc/self/autogroup")).trim();
        } catch (java.io.IOException e) {
            group = "unchanged (" + e.getMessage() + ")";
        }
        Run r = new Run(0);
        r.dirAddress = args[2];
        r.dirKey = NodePublicKey.of(Hex.decode(args[3]));
        r.nodeAddress = args[4];
        r.nodeKey = NodePublicKey.of(Hex.decode(args[5]));
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> ts = r.attackOf(args[1]).start(stop);
        System.out.println("ATTACKING pid " + ProcessHandle.current().pid() + " autogroup " + group);
        System.out.flush();
        Thread counts = new Thread(() -> {
            while (!stop.get()) {
                System.out.println("COUNT " + HOSTILE.get() + " " + directBytes());
                System.out.flush();
                Run.sleep(250);
            }
        });
        counts.setDaemon(true);
        counts.start();
        while (System.in.read() != -1) {
            // the parent closes stdin when the phase ends
        }
        stop.set(true);
        for (Thread t : ts) {
            t.join(30_000);
        }
        System.exit(0);
    }

    /**
     * @param kind an attack ({@code flood}, {@code slowloris}, {@code amplification}, {@code stalled})
     * @return its hostile requests per second from {@code depin.attack.rate}, 0 when unpaced
     */
    static double rateOf(String kind) {
        if (RATE.isEmpty()) {
            return 0;
        }
        if (!RATE.contains("=")) {
            return Double.parseDouble(RATE);
        }
        for (String part : RATE.split(",")) {
            String[] kv = part.trim().split("=");
            if (kv.length == 2 && kv[0].trim().equals(kind)) {
                return Double.parseDouble(kv[1].trim());
            }
        }
        return 0;
    }

    /** @return the attack kind of a phase's name ("directory flood (apart)" is {@code flood}) */
    private static String kindOf(String phase) {
        String base = phase.contains(" (") ? phase.substring(0, phase.indexOf(" (")) : phase;
        return switch (base) {
            case "directory flood" -> "flood";
            case "stalled readers" -> "stalled";
            default -> base;
        };
    }

    /**
     * A schedule of {@code rate} starts per second shared by an attack's threads: each takes the
     * next slot and waits for it. Slots more than a second in the past are dropped (the threads
     * were all busy), so a backlog never turns into a burst above the rate.
     */
    static final class Pacer {
        private final long intervalNanos;
        private final AtomicLong next;

        Pacer(double rate) {
            this.intervalNanos = Math.max(1, (long) (1e9 / rate));
            this.next = new AtomicLong(System.nanoTime());
        }

        /** @return false when {@code stop} was set while waiting */
        boolean await(AtomicBoolean stop) {
            long now = System.nanoTime();
            next.accumulateAndGet(now - 1_000_000_000L, Math::max);
            long slot = next.getAndAdd(intervalNanos);
            long wait;
            while ((wait = slot - System.nanoTime()) > 0) {
                if (stop.get()) {
                    return false;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(Math.min(wait, 50_000_000L));
            }
            return !stop.get();
        }
    }

    /** @return direct buffer bytes this JVM holds now (Netty's pooled chunks among them) */
    static long directBytes() {
        for (java.lang.management.BufferPoolMXBean b : java.lang.management.ManagementFactory
                .getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class)) {
            if (b.getName().equals("direct")) {
                return b.getMemoryUsed();
            }
        }
        return -1;
    }

    /** CPU seconds a process has used, from {@code /proc/<pid>/stat} (user + system). */
    private static double cpuSeconds(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0; // fields 14 and 15, USER_HZ 100
        } catch (java.io.IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /**
     * How long a phase may wait, before its measured window, for the JIT compilers of the attacked
     * JVM, this process and the attacker process to go quiet ({@code depin.attack.settle}, seconds).
     */
    private static final int SETTLE_SECONDS = Integer.getInteger("depin.attack.settle", 30);
    /** Compiler CPU (clock ticks of 10 ms) per second below which the JIT counts as settled: 5 % of a core. */
    private static final long SETTLED_TICKS = 5;
    /** The thread groups a phase's CPU of the attacked JVM is reported in, by thread name prefix. */
    private static final String[][] THREAD_GROUPS = {{"jit", "C1 CompilerThre", "C2 CompilerThre"},
            {"event-loops", "grpc-nio-"}, {"grpc-executor", "grpc-default-ex"},
            {"node-workers", "depin-provider", "depin-cpu-"}, {"gc", "GC Thread", "G1 ", "VM Thread"}};

    /**
     * CPU clock ticks (10 ms) a process's threads have used, by {@link #THREAD_GROUPS} (the last
     * entry, {@code other}, is the rest), from {@code /proc/<pid>/task/<tid>/stat}. Threads that
     * ended since an earlier reading are missing from both readings' difference.
     */
    static long[] threadTicks(long pid) {
        long[] t = new long[THREAD_GROUPS.length + 1];
        try (java.util.stream.Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    String comm = Files.readString(task.resolve("comm")).trim();
                    String stat = Files.readString(task.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
                    int g = THREAD_GROUPS.length;
                    for (int i = 0; i < THREAD_GROUPS.length && g == THREAD_GROUPS.length; i++) {
                        for (int j = 1; j < THREAD_GROUPS[i].length; j++) {
                            if (comm.startsWith(THREAD_GROUPS[i][j])) {
                                g = i;
                                break;
                            }
                        }
                    }
                    t[g] += ticks;
                } catch (java.io.IOException | RuntimeException e) {
                    // the thread ended while read
                }
            }
        } catch (java.io.IOException e) {
            // the process ended
        }
        return t;
    }

    /** @return the JIT's clock ticks so far, summed over the processes given */
    private static long jitTicks(long... pids) {
        long sum = 0;
        for (long pid : pids) {
            sum += threadTicks(pid)[0];
        }
        return sum;
    }

    /**
     * Waits until the JIT compilers of the given processes used less than {@link #SETTLED_TICKS}
     * in each of two seconds in a row, or {@link #SETTLE_SECONDS} passed.
     *
     * @return seconds waited, negative when the cap was reached first
     */
    private static int settle(long... pids) throws InterruptedException {
        long before = jitTicks(pids);
        int quiet = 0;
        for (int s = 1; s <= SETTLE_SECONDS; s++) {
            Thread.sleep(1000);
            long now = jitTicks(pids);
            quiet = now - before < SETTLED_TICKS ? quiet + 1 : 0;
            before = now;
            if (quiet == 2) {
                return s;
            }
        }
        return -SETTLE_SECONDS;
    }

    /** An attacker process of its own, in its own session and autogroup at nice 19. */
    private static final class Apart implements AutoCloseable {
        final Process process;
        final AtomicLong count = new AtomicLong();
        /** The most direct memory (bytes) the attacker process held, from its reports every 250 ms. */
        final AtomicLong peakDirect = new AtomicLong();
        final String group;

        Apart(String kind, Run r) throws Exception {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            // Its direct memory is limited (ATTACKER_DIRECT), its peak reported: the flood holds
            // one 4 MiB renewal per thread at most.
            process = new ProcessBuilder("setsid", java, "-Xmx1g", "-XX:MaxDirectMemorySize=" + ATTACKER_DIRECT,
                    "-cp", System.getProperty("java.class.path"),
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-Ddepin.attack.rate=" + RATE,
                    "-Ddepin.attack.from=" + FROM, AttackRun.class.getName(), "attack", kind,
                    r.dirAddress, Hex.encode(r.dirKey.raw()), r.nodeAddress, Hex.encode(r.nodeKey.raw()), NICE)
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8));
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("ATTACKING")) {
                // JVM notices
            }
            if (line == null) {
                throw new IllegalStateException("the attacker process ended before it attacked");
            }
            if (!line.startsWith("ATTACKING pid " + process.pid() + " ")) {
                throw new IllegalStateException("setsid forked (" + line + " vs pid " + process.pid()
                        + "): its CPU could not be read");
            }
            group = line.substring(line.indexOf("autogroup ") + 10);
            Thread reader = new Thread(() -> {
                try {
                    String l;
                    while ((l = out.readLine()) != null) {
                        if (l.startsWith("COUNT ")) {
                            String[] f = l.split(" ");
                            count.set(Long.parseLong(f[1]));
                            peakDirect.accumulateAndGet(Long.parseLong(f[2]), Math::max);
                        }
                    }
                } catch (java.io.IOException ignored) {
                    // gone
                }
            });
            reader.setDaemon(true);
            reader.start();
        }

        @Override
        public void close() throws Exception {
            process.getOutputStream().close();
            if (!process.waitFor(40, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    /** The parent: honest buyers, attackers, measurements. */
    private static final class Run {
        final int seconds;
        Process child;
        String dirAddress;
        NodePublicKey dirKey;
        String nodeAddress;
        NodePublicKey nodeKey;
        final AtomicLong peakRss = new AtomicLong();
        final long[] peakStats = new long[7];
        final DeviceInfo device;
        /** The schedule the attackers of this process keep, or null (unpaced). */
        Pacer pacer;
        /** The attacked JVM's CPU seconds per honest job in the quiet phase. */
        double quietCpuPerJob = Double.NaN;
        String lastGroup = "";

        Run(int seconds) {
            this.seconds = seconds;
            try (CpuExecutor cpu = new CpuExecutor(1)) {
                device = cpu.device();
            }
        }

        void run() throws Exception {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> cmd = new ArrayList<>(List.of(java));
            cmd.addAll(CHILD_JVM);
            cmd.addAll(List.of("-cp", SERVE_CP,
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", AttackRun.class.getName(), "serve"));
            child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8));
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("READY ")) {
                // JVM notices (a flight recording's start, for one)
            }
            if (line == null) {
                throw new IllegalStateException("the attacked JVM ended before it was ready");
            }
            String[] ready = line.split(" ");
            dirAddress = ready[1];
            dirKey = NodePublicKey.of(Hex.decode(ready[2]));
            nodeAddress = ready[3];
            nodeKey = NodePublicKey.of(Hex.decode(ready[4]));
            Thread stats = new Thread(() -> readStats(out), "stats");
            stats.setDaemon(true);
            stats.start();
            Thread rss = new Thread(this::sampleRss, "rss");
            rss.setDaemon(true);
            rss.start();
            System.out.printf(Locale.ROOT, "attack run: %d s per phase, %d honest buyer threads (SAXPY n=%d, a "
                            + "directory query before each job), attacked JVM %s with a directory and a node of 2 CPU "
                            + "workers, default bounds%s; attackers %s%s from %s; %d cores, load average %s, %s%n", seconds,
                    HONEST_THREADS, N, String.join(" ", CHILD_JVM),
                    SERVE_CP.equals(System.getProperty("java.class.path")) ? "" : " (class path " + SERVE_CP + ")",
                    ATTACKERS, RATE.isEmpty() ? ", unpaced" : ", paced at " + RATE + " requests/s, nice " + NICE, FROM,
                    Runtime.getRuntime().availableProcessors(),
                    Files.readString(Path.of("/proc/loadavg")).split(" ")[0], Runtime.version());
            System.out.println("phase                     honest ok/all   success   p50 ms   p99 ms  peak RSS MiB"
                    + "  peak reserved  peak streams  peak peer streams/bytes  listings/bytes  load  attacked CPU s"
                    + "  attacker CPU s  hostile  attacked CPU us/hostile");
            try (GrpcNetwork net = GrpcNetwork.builder().directory(dirAddress, dirKey).offerCache(Duration.ZERO)
                    .build()) {
                phase("warm-up", net, null, null); // JIT and connections, not a baseline
                double quiet = phase("quiet", net, null, null);
                for (String[] a : List.of(new String[] {"flood", "directory flood"},
                        new String[] {"slowloris", "slowloris"}, new String[] {"amplification", "amplification"},
                        new String[] {"stalled", "stalled readers"})) {
                    if (!PHASES.contains(a[0])) {
                        continue;
                    }
                    // The same baseline next to each attack: a first quiet phase alone compares
                    // later phases with a JVM that was still compiling.
                    double before = QUIET_EACH ? phase("quiet (before " + a[0] + ")", net, null, null) : quiet;
                    if (!ATTACKERS.equals("apart")) {
                        phaseRatio(a[1] + " (in-proc)", net, attackOf(a[0]), null, quiet, before);
                    }
                    if (!ATTACKERS.equals("inproc")) {
                        phaseRatio(a[1] + " (apart)", net, null, a[0], quiet, before);
                    }
                }
                if (QUIET_EACH) {
                    phaseRatio("quiet (end)", net, null, null, quiet, quiet);
                }
                if (!ATTACKERS.equals("inproc")) {
                    System.out.println("attacker processes: setsid, " + lastGroup);
                }
            } finally {
                child.getOutputStream().close();
                child.waitFor(10, TimeUnit.SECONDS);
                child.destroyForcibly();
            }
        }

        private void readStats(BufferedReader out) {
            try {
                String line;
                while ((line = out.readLine()) != null) {
                    if (line.startsWith("STATS ")) {
                        String[] f = line.split(" ");
                        synchronized (peakStats) {
                            for (int i = 0; i < peakStats.length; i++) {
                                peakStats[i] = Math.max(peakStats[i], Long.parseLong(f[i + 1]));
                            }
                        }
                    }
                }
            } catch (java.io.IOException ignored) {
                // child gone
            }
        }

        private void sampleRss() {
            Path status = Path.of("/proc", Long.toString(child.pid()), "status");
            while (child.isAlive()) {
                try {
                    for (String l : Files.readAllLines(status)) {
                        if (l.startsWith("VmRSS:")) {
                            long kb = Long.parseLong(l.replaceAll("\\D", ""));
                            peakRss.accumulateAndGet(kb << 10, Math::max);
                        }
                    }
                    Thread.sleep(100);
                } catch (Exception e) {
                    return;
                }
            }
        }

        Attack attackOf(String kind) {
            double rate = rateOf(kind);
            pacer = rate > 0 ? new Pacer(rate) : null;
            return switch (kind) {
                case "flood" -> this::flood;
                case "slowloris" -> this::slowloris;
                case "amplification" -> this::amplification;
                case "stalled" -> this::stalled;
                default -> throw new IllegalArgumentException("no attack " + kind);
            };
        }

        private void phaseRatio(String name, GrpcNetwork net, Attack attack, String apart, double quietP99,
                                double beforeP99) throws Exception {
            double p99 = phase(name, net, attack, apart);
            System.out.printf(Locale.ROOT, "%56s%.2f%s%n", "p99 / quiet p99 = ", p99 / quietP99,
                    QUIET_EACH ? String.format(Locale.ROOT, "   (/ the quiet phase just before: %.2f)", p99 / beforeP99)
                            : "");
        }

        /**
         * @param attack attackers run in this process, or null
         * @param apart  the attack to run in a process of its own, or null
         * @return the honest p99 in ms
         */
        private double phase(String name, GrpcNetwork net, Attack attack, String apart) throws Exception {
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> attackers = new ArrayList<>();
            Apart other = null;
            if (attack != null) {
                attackers = attack.start(stop);
            } else if (apart != null) {
                other = new Apart(apart, this);
                lastGroup = other.group;
            }
            if (attack != null || apart != null) {
                // The attack is at full size before honest buyers are measured: every stranger has
                // sent (its connection's handshake is behind it), then 3 s more.
                long size = switch (name.substring(0, name.indexOf(" ("))) {
                    case "directory flood" -> 200;
                    case "slowloris" -> 100;
                    case "amplification" -> 20;
                    default -> 50;
                };
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                Apart o = other;
                java.util.function.LongSupplier sent = () -> o != null ? o.count.get() : HOSTILE.get();
                long at = sent.getAsLong();
                while (sent.getAsLong() - at < size && System.nanoTime() < until) {
                    Thread.sleep(50);
                }
                if (sent.getAsLong() - at < size) {
                    System.out.println("   the attack did not reach its size in 60 s: " + (sent.getAsLong() - at)
                            + " hostile requests of " + size);
                }
                Thread.sleep(3000);
            }
            // Every measured window, quiet or attacked, starts once the JIT is quiet in the three
            // processes (the attack's own code paths compiled, in the attacked JVM and the attacker).
            int settled = name.equals("warm-up") ? 0 : settle(other != null
                    ? new long[] {child.pid(), ProcessHandle.current().pid(), other.process.pid()}
                    : new long[] {child.pid(), ProcessHandle.current().pid()});
            long[] ticks0 = threadTicks(child.pid());
            long pidAttacker = other != null ? other.process.pid() : ProcessHandle.current().pid();
            long attackerJit0 = other != null ? threadTicks(pidAttacker)[0] : 0;
            Instant from = Instant.now();
            double cpu0 = cpuSeconds(child.pid());
            double att0 = cpuSeconds(pidAttacker);
            long hostile0 = other != null ? other.count.get() : HOSTILE.get();
            peakRss.set(0);
            synchronized (peakStats) {
                java.util.Arrays.fill(peakStats, 0);
            }
            Histogram h = new Histogram(TimeUnit.MINUTES.toNanos(2), 3);
            Histogram hq = new Histogram(TimeUnit.MINUTES.toNanos(2), 3);
            Histogram hj = new Histogram(TimeUnit.MINUTES.toNanos(2), 3);
            AtomicLong ok = new AtomicLong();
            AtomicLong all = new AtomicLong();
            List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            AtomicBoolean honestStop = new AtomicBoolean();
            List<Thread> honest = new ArrayList<>();
            for (int t = 0; t < HONEST_THREADS; t++) {
                SplittableRandom rnd = new SplittableRandom(1000 + t);
                Thread th = new Thread(() -> {
                    while (!honestStop.get()) {
                        long t0 = System.nanoTime();
                        all.incrementAndGet();
                        try {
                            long q = honestJob(net, rnd);
                            long d = System.nanoTime() - t0;
                            synchronized (h) {
                                h.recordValue(Math.min(d, h.getHighestTrackableValue()));
                                hq.recordValue(Math.min(q, h.getHighestTrackableValue()));
                                hj.recordValue(Math.min(Math.max(0, d - q), h.getHighestTrackableValue()));
                            }
                            ok.incrementAndGet();
                        } catch (Throwable e) {
                            if (failures.size() < 3) {
                                failures.add(e.toString());
                            }
                        }
                    }
                }, "honest-" + t);
                th.start();
                honest.add(th);
            }
            Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
            if (name.equals("warm-up")) {
                // The honest path compiled under its own load: the warm-up goes on until the JIT is quiet.
                settled = settle(child.pid(), ProcessHandle.current().pid());
            }
            long[] ticks = threadTicks(child.pid());
            long attackerJit = other != null ? threadTicks(pidAttacker)[0] - attackerJit0 : 0;
            double cpu = cpuSeconds(child.pid()) - cpu0;
            double att = cpuSeconds(pidAttacker) - att0;
            long hostile = (other != null ? other.count.get() : HOSTILE.get()) - hostile0;
            String load = Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
            honestStop.set(true);
            for (Thread th : honest) {
                th.join(120_000);
            }
            long[] s;
            synchronized (peakStats) {
                s = peakStats.clone();
            }
            long rss = peakRss.get();
            stop.set(true);
            for (Thread th : attackers) {
                th.join(30_000);
            }
            if (other != null) {
                other.close();
            }
            if (attack == null && apart == null && name.startsWith("quiet")) { // the baseline next to the next attack
                quietCpuPerJob = cpu / Math.max(1, ok.get());
            }
            String attacker = attack == null && apart == null ? "" : String.format(Locale.ROOT, "%.2f%s", att,
                    attack != null ? "*" : "");
            // Too few hostile requests and the honest jobs' own share decides the quotient: not printed.
            String perHostile = hostile < 100 ? "" : String.format(Locale.ROOT, "%.0f",
                    (cpu - quietCpuPerJob * ok.get()) / hostile * 1e6);
            double p99 = h.getValueAtPercentile(99) / 1e6;
            System.out.printf(Locale.ROOT, "%-25s %6d/%-6d %7.2f%% %8.2f %8.2f %13d %14d %13d %12d/%-10d %8d/%-6d %5s "
                            + "%14.2f %15s %8s %24s%n",
                    name, ok.get(), all.get(), 100.0 * ok.get() / Math.max(1, all.get()),
                    h.getValueAtPercentile(50) / 1e6, p99, rss >> 20, s[0], s[1], s[2], s[3], s[4], s[5], load, cpu,
                    attacker, hostile == 0 ? "" : Long.toString(hostile), perHostile);
            failures.forEach(f -> System.out.println("   honest failure: " + f));
            StringBuilder byThread = new StringBuilder(String.format(Locale.ROOT,
                    "   JIT settled %s; attacked JVM CPU s in the window by thread:",
                    settled == 0 ? "(not waited for)" : settled < 0 ? "NOT within " + -settled + " s" : (name.equals("warm-up")
                            ? "after " + settled + " s more" : "after " + settled + " s, before the window")));
            for (int i = 0; i < ticks.length; i++) {
                byThread.append(' ').append(i < THREAD_GROUPS.length ? THREAD_GROUPS[i][0] : "other").append(' ')
                        .append(String.format(Locale.ROOT, "%.2f", (ticks[i] - ticks0[i]) / 100.0));
            }
            if (other != null) {
                byThread.append(String.format(Locale.ROOT, "; attacker JVM's jit %.2f", attackerJit / 100.0));
            }
            System.out.println(byThread);
            System.out.printf(Locale.ROOT, "   honest directory query p50/p99 %.2f/%.2f ms, job p50/p99 %.2f/%.2f ms%n",
                    hq.getValueAtPercentile(50) / 1e6, hq.getValueAtPercentile(99) / 1e6,
                    hj.getValueAtPercentile(50) / 1e6, hj.getValueAtPercentile(99) / 1e6);
            String kind = attack != null || apart != null ? kindOf(name) : null;
            if (kind != null && rateOf(kind) > 0) {
                System.out.printf(Locale.ROOT, "   paced at %.0f hostile requests/s: %.0f/s answered in the window%n",
                        rateOf(kind), hostile / (double) seconds);
            }
            if (other != null) {
                System.out.printf(Locale.ROOT, "   attacker process: peak direct memory %d MiB of %s%n",
                        other.peakDirect.get() >> 20, ATTACKER_DIRECT);
            }
            System.out.println("   measured window (UTC) " + from + " to " + from.plusSeconds(seconds));
            nativeMemory();
            Thread.sleep(2000); // the node lets go of the attack before the next phase
            return p99;
        }

        /**
         * Prints the attacked JVM's committed memory by category (MiB), when it tracks it: what
         * makes its resident set larger than its heap.
         */
        private void nativeMemory() throws Exception {
            if (CHILD_JVM.stream().noneMatch(o -> o.startsWith("-XX:NativeMemoryTracking="))) {
                return;
            }
            Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    Long.toString(child.pid()), "VM.native_memory", "summary", "scale=MB").redirectErrorStream(true)
                    .start();
            String text = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            jcmd.waitFor(30, TimeUnit.SECONDS);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                    "(?m)^[-\\s]*(Total|[A-Z][A-Za-z ]+?) \\(reserved=\\d+MB, committed=(\\d+)MB\\)").matcher(text);
            StringBuilder b = new StringBuilder("   attacked JVM committed MiB:");
            while (m.find()) {
                if (!m.group(2).equals("0")) {
                    b.append(' ').append(m.group(1).trim().toLowerCase(Locale.ROOT).replace(' ', '-')).append('=')
                            .append(m.group(2));
                }
            }
            System.out.println(b);
        }

        /** @return the nanoseconds its directory query took (the rest is the job's dispatch) */
        private long honestJob(GrpcNetwork net, SplittableRandom rnd) throws Exception {
            float[] x = new float[N];
            float[] y = new float[N];
            for (int i = 0; i < N; i++) {
                x[i] = (float) rnd.nextDouble(-1, 1);
                y[i] = (float) rnd.nextDouble(-1, 1);
            }
            Job job = Job.builder(BuiltinKernel.SAXPY).param("n", N).param("alpha", 3f).input("x", x).input("y", y)
                    .timeout(Duration.ofSeconds(60)).build();
            ProviderOffer offer = null;
            long q0 = System.nanoTime();
            for (ProviderOffer o : net.offers(new OfferQuery("saxpy", Requirements.ANY, 1000)).get(60,
                    TimeUnit.SECONDS)) {
                if (o.publicKey().equals(nodeKey)) {
                    offer = o;
                }
            }
            long query = System.nanoTime() - q0;
            if (offer == null) {
                throw new IllegalStateException("the honest node is missing from the directory's answer");
            }
            ExecutionRequest r = new ExecutionRequest(String.format("%016x%016x", rnd.nextLong(), rnd.nextLong()), 1,
                    job.spec(), job.inputs(), new byte[ExecutionRequest.NONCE_BYTES]);
            ExecutionResponse resp = net.dispatch(offer, r, p -> { }).response().get(60, TimeUnit.SECONDS);
            ByteBuffer o = resp.outputBytes().get("out").duplicate().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < N; i++) {
                if (o.getFloat(i * 4) != 3f * x[i] + y[i]) {
                    throw new IllegalStateException("wrong element " + i);
                }
            }
            return query;
        }

        interface Attack {
            List<Thread> start(AtomicBoolean stop) throws Exception;
        }

        private ManagedChannel channel(String address, NodeKeyPair key, NodePublicKey pin) {
            NettyChannelBuilder b = NettyChannelBuilder.forTarget(address);
            if (!FROM.equals("any")) {
                b.localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
                    @Override
                    public java.net.SocketAddress createSocketAddress(java.net.SocketAddress remote,
                                                                      io.grpc.Attributes attrs) {
                        return new java.net.InetSocketAddress(FROM, 0);
                    }
                });
            }
            // No retries: gRPC's retry layer keeps each sent message for a possible retry and
            // ignores a cancel once the call has closed, which renewAndReset depends on.
            return b.sslContext(NodeTls.client(NodeTls.identity(key), pin)).maxInboundMessageSize(8 << 20)
                    .disableRetry().build();
        }

        private List<Thread> loops(int n, AtomicBoolean stop, java.util.function.IntFunction<Runnable> body) {
            List<Thread> ts = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Runnable r = body.apply(i);
                Pacer p = pacer;
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        if (p != null && !p.await(stop)) {
                            break;
                        }
                        try {
                            r.run();
                            HOSTILE.incrementAndGet(); // counted when answered (or given up)
                        } catch (RuntimeException e) {
                            HOSTILE.incrementAndGet();
                            sleep(50);
                        }
                    }
                }, "attacker-" + i);
                t.setDaemon(true);
                t.start();
                ts.add(t);
            }
            return ts;
        }

        /** 200 strangers renewing listings with 4 KiB and 4 MiB unknown fields, {@link #FLOOD_THREADS} threads. */
        private List<Thread> flood(AtomicBoolean stop) {
            int strangers = 200;
            List<NodeKeyPair> keys = new ArrayList<>();
            List<ManagedChannel> chans = new ArrayList<>();
            List<ProviderOffer> offers = new ArrayList<>();
            for (int i = 0; i < strangers; i++) {
                NodeKeyPair k = NodeKeyPair.generate();
                keys.add(k);
                chans.add(channel(dirAddress, k, dirKey));
                offers.add(ProviderOffer.sign(k, new OfferTerms("depin://127.0.0.1:1", List.of(device),
                        new Region("US", ""), Set.of("saxpy", "sgemm", "reduce-sum"), new Price(MicroUsd.ofUsd("0.000001"),
                        MicroUsd.ofUsd("0.0001")), MicroUsd.ofUsd("100"), Instant.now().plus(Duration.ofMinutes(10)))));
            }
            // Built once: the junk is one shared immutable ByteString per size, so the attacker's
            // heap holds 4 MiB of it, not 4 MiB per renewal.
            ByteString small = ByteString.copyFrom(new byte[4 << 10]);
            ByteString large = ByteString.copyFrom(new byte[4 << 20]);
            List<RenewRequest> renewals = new ArrayList<>();
            for (int s = 0; s < strangers; s++) {
                renewals.add(RenewRequest.newBuilder().setListing(Listing.newBuilder()
                        .setOfferJson(ByteString.copyFrom(offers.get(s).toJson())).setAddress("127.0.0.1:" + (1000 + s))
                        .setUnknownFields(UnknownFieldSet.newBuilder().addField(99, UnknownFieldSet.Field.newBuilder()
                                .addLengthDelimited(s % 2 == 0 ? small : large).build()).build())).build());
            }
            AtomicLong turn = new AtomicLong();
            List<Thread> ts = loops(FLOOD_THREADS, stop, i -> () -> {
                int s = (int) (turn.getAndIncrement() % strangers);
                renewAndReset(chans.get(s), renewals.get(s)); // the 4 MiB ones are refused: expected
            });
            closeWhenStopped(stop, chans, ts);
            return ts;
        }

        /**
         * Sends one renewal, waits for its answer, then resets the stream (RST_STREAM CANCEL).
         * The reset is what keeps the flood's memory bounded and its rate up. A directory refuses
         * a 4 MiB renewal from its length prefix with trailers (RESOURCE_EXHAUSTED) but no reset,
         * and gRPC's client, which still has the rest of the message queued behind the
         * directory's flow-control window, then keeps that stream open: its call has ended, but
         * the HTTP/2 stream holds ≈ 4 MiB of pooled direct buffers and one of the connection's 64
         * concurrent streams for as long as the connection lives. With a blocking stub every
         * refused renewal did that (measured: 40 MiB of direct memory per 10 renewals on one
         * connection, none given back; from the 65th on, every renewal waited for its 10 s
         * deadline), which is why 100 threads exhausted 2 GiB and the flood reached 16-35 of the
         * 200 renewals/s asked. A hostile client would not keep those streams; nor does this one.
         *
         * @return the status the directory answered
         */
        static io.grpc.Status renewAndReset(ManagedChannel chan, RenewRequest renewal) {
            io.grpc.ClientCall<RenewRequest, dev.depin.grpc.internal.wire.RenewReply> call = chan.newCall(
                    DirectoryGrpc.getRenewMethod(), io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS));
            CompletableFuture<io.grpc.Status> closed = new CompletableFuture<>();
            call.start(new io.grpc.ClientCall.Listener<>() {
                @Override
                public void onClose(io.grpc.Status status, io.grpc.Metadata trailers) {
                    closed.complete(status);
                }
            }, new io.grpc.Metadata());
            call.request(1);
            call.sendMessage(renewal);
            call.halfClose();
            try {
                return closed.get(15, TimeUnit.SECONDS);
            } catch (Exception e) {
                return io.grpc.Status.UNKNOWN.withCause(e);
            } finally {
                call.cancel("the attacker moves on", null);
            }
        }

        /** 100 streams (20 keys × 5) that Start with 512 MiB declared and send nothing; reopened when closed. */
        private List<Thread> slowloris(AtomicBoolean stop) {
            Job small = Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 4).input("x", new float[4]).build();
            JobSpec s = small.spec();
            long bytes = 512L << 20;
            JobSpec big = new JobSpec(s.kernel(), LaunchParams.builder().put("n", bytes / 4).build(),
                    List.of(new InputRef("x", bytes, "00".repeat(32))), s.requirements(), s.verification(),
                    Instant.now().plus(Duration.ofHours(1)), s.maxPrice());
            ExecuteRequest start = ExecuteRequest.newBuilder().setStart(Start.newBuilder()
                    .setJobId("00112233445566778899aabbccddeeff").setAttempt(1)
                    .setSpecJson(ByteString.copyFrom(big.canonicalJson())).setNonce(ByteString.copyFrom(new byte[32])))
                    .build();
            List<ManagedChannel> chans = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                chans.add(channel(nodeAddress, NodeKeyPair.generate(), nodeKey));
            }
            List<Thread> ts = loops(100, stop, i -> () -> {
                RawStream st = new RawStream(true);
                ProviderGrpc.newStub(chans.get(i % 20)).execute(st);
                st.requests.onNext(start);
                st.awaitEnd(stop);
            });
            closeWhenStopped(stop, chans, ts);
            return ts;
        }

        /** 20 strangers asking for SGEMM m=n=23000, k=1 (2.1 GB of output), again as soon as refused, 10/s each. */
        private List<Thread> amplification(AtomicBoolean stop) {
            int m = 23000;
            Job job = Job.builder(BuiltinKernel.SGEMM).param("m", m).param("n", m).param("k", 1)
                    .input("a", new float[m]).input("b", new float[m]).build();
            ExecuteRequest start = ExecuteRequest.newBuilder().setStart(Start.newBuilder()
                    .setJobId("00112233445566778899aabbccddeeff").setAttempt(1)
                    .setSpecJson(ByteString.copyFrom(job.spec().canonicalJson()))
                    .setNonce(ByteString.copyFrom(new byte[32]))).build();
            ExecuteRequest a = input("a", job.inputs().get("a"));
            ExecuteRequest b = input("b", job.inputs().get("b"));
            List<ManagedChannel> chans = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                chans.add(channel(nodeAddress, NodeKeyPair.generate(), nodeKey));
            }
            List<Thread> ts = loops(20, stop, i -> () -> {
                RawStream st = new RawStream(true);
                ProviderGrpc.newStub(chans.get(i)).execute(st);
                st.requests.onNext(start);
                st.requests.onNext(a);
                st.requests.onNext(b);
                st.awaitEnd(stop);
                sleep(100);
            });
            closeWhenStopped(stop, chans, ts);
            return ts;
        }

        /** 50 strangers submitting SGEMM with 9 MiB of output and never reading it; again when stopped. */
        private List<Thread> stalled(AtomicBoolean stop) {
            int m = 1536;
            Job job = Job.builder(BuiltinKernel.SGEMM).param("m", m).param("n", m).param("k", 1)
                    .input("a", new float[m]).input("b", new float[m]).timeout(Duration.ofMinutes(30)).build();
            ExecuteRequest start = ExecuteRequest.newBuilder().setStart(Start.newBuilder()
                    .setJobId("00112233445566778899aabbccddeeff").setAttempt(1)
                    .setSpecJson(ByteString.copyFrom(job.spec().canonicalJson()))
                    .setNonce(ByteString.copyFrom(new byte[32]))).build();
            ExecuteRequest a = input("a", job.inputs().get("a"));
            ExecuteRequest b = input("b", job.inputs().get("b"));
            List<ManagedChannel> chans = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                chans.add(channel(nodeAddress, NodeKeyPair.generate(), nodeKey));
            }
            List<Thread> ts = loops(50, stop, i -> () -> {
                RawStream st = new RawStream(false);
                ProviderGrpc.newStub(chans.get(i)).execute(st);
                st.requests.onNext(start);
                st.requests.onNext(a);
                st.requests.onNext(b);
                st.awaitEnd(stop);
            });
            closeWhenStopped(stop, chans, ts);
            return ts;
        }

        private static ExecuteRequest input(String name, ByteBuffer data) {
            return ExecuteRequest.newBuilder().setInput(InputChunk.newBuilder().setName(name)
                    .setData(ByteString.copyFrom(data.duplicate()))).build();
        }

        private static void closeWhenStopped(AtomicBoolean stop, List<ManagedChannel> chans, List<Thread> ts) {
            Thread closer = new Thread(() -> {
                while (!stop.get()) {
                    sleep(50);
                }
                chans.forEach(ManagedChannel::shutdownNow);
            });
            closer.setDaemon(true);
            closer.start();
            ts.add(closer);
        }

        static void sleep(long ms) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A raw Execute stream; with {@code read} false it never asks for a message (a stalled reader). */
    private static final class RawStream implements ClientResponseObserver<ExecuteRequest, ExecuteResponse> {
        final CompletableFuture<Void> ended = new CompletableFuture<>();
        final boolean read;
        ClientCallStreamObserver<ExecuteRequest> requests;

        RawStream(boolean read) {
            this.read = read;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<ExecuteRequest> requestStream) {
            requests = requestStream;
            if (!read) {
                requestStream.disableAutoRequestWithInitial(0);
            }
        }

        @Override
        public void onNext(ExecuteResponse value) {
        }

        @Override
        public void onError(Throwable t) {
            ended.complete(null);
        }

        @Override
        public void onCompleted() {
            ended.complete(null);
        }

        /**
         * Waits for the node to end the stream. A stalled reader's stream ends on the node's
         * side without a status it can read (the status waits behind the unread outputs), so
         * it is dropped when the node's accounting let go: here, after 5 s.
         */
        void awaitEnd(AtomicBoolean stop) {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(read ? 120 : 5);
            while (!stop.get() && !ended.isDone() && System.nanoTime() < until) {
                try {
                    ended.get(50, TimeUnit.MILLISECONDS);
                } catch (Exception e) {
                    // keep waiting
                }
            }
            requests.cancel("attacker moves on", null);
        }
    }
}
