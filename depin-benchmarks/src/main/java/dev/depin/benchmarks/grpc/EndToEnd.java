package dev.depin.benchmarks.grpc;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.depin.client.DepinClient;
import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.executor.ExecutorRegistry;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutorOptions;
import dev.depin.executor.spi.ExecutorProvider;
import dev.depin.grpc.DirectoryServer;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.grpc.ProviderServer;
import dev.depin.job.AttemptState;
import dev.depin.job.Job;
import dev.depin.job.JobEvent;
import dev.depin.job.JobHandle;
import dev.depin.job.JobResult;
import dev.depin.job.VerificationPolicy;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.ProviderNode;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * A verified job's whole path, as a buyer pays for it: a {@link DirectoryServer}, a
 * {@link ProviderServer} on the CUDA or CPU executor and a buyer {@link DepinClient} on
 * {@link GrpcNetwork}, in one JVM over loopback mutual TLS, and how much of the wall time the
 * device computes.
 *
 * <p>After a warm-up of small jobs ({@code --warmup-seconds}, 20 by default), three parts,
 * each after a warm-up of its own shape that is not counted:
 * <ol>
 *   <li>SGEMM m = k = n for each size, one job at a time, Freivalds(20), cold inputs, each
 *   repetition followed by a job on inputs the node already holds (a second buyer network with
 *   {@code keepInputsOnProviders}, sending them by root; same columns plus the input bytes
 *   sent, so the baseline is from the same moment of the run): the time
 *   {@code Job.build} takes (hashing the inputs; not in the wall time), the wall time from
 *   submit to the verified result, the kernel's device time as the receipt states it, their
 *   ratio, and the phases on one clock (one JVM): until dispatch (offers, plan), dispatch to
 *   the kernel's start (inputs over the wire, queue, staging), the kernel, the kernel's end to
 *   the result's return (output root, wipe, receipt, outputs over the wire), return to verified
 *   (the buyer's checks). Each phase is the median over the repetitions. A third row,
 *   {@code left}, has the inputs already on the node and leaves the output there
 *   ({@code Job.Builder.leaveOutputsOnNode}): no output byte comes back, and the spot check
 *   reads only its sampled chunks with their proofs. Before each size's measured jobs, rounds of
 *   the three shapes run uncounted until the JIT has settled ({@code --settle-seconds}, at most
 *   15 by default; 0 for none), and the JIT's share of the measured wall is printed;</li>
 *   <li>a SAXPY batch with many jobs in flight: jobs/s, MiB/s of inputs and outputs, and the
 *   device's share of the wall time;</li>
 *   <li>an SGEMM batch with several jobs in flight, the same columns;</li>
 *   <li>a chain of SGEMM jobs ({@code --chain-steps}, {@code --chain-size}), each step's A the
 *   previous step's output: cold, then with outputs kept on the node (nothing sent after the
 *   first step, every output still back), then left on the node (each step's A by reference,
 *   {@code Job.Builder.inputFrom}; no output back; spot-checked), with the device's share of
 *   the chain's wall time and the bytes each way.</li>
 * </ol>
 * Each part also prints the process's CPU use (CPU seconds per wall second: how many cores
 * were busy). Nothing here is a pass/fail check: the goals of issue 15 are printed beside the
 * figures.
 *
 * <p>Run (here: CPU executor; {@code gpu-check.sh} runs it with {@code --executor cuda}):
 * {@code java -Xmx8g --add-modules jdk.incubator.vector -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.grpc.EndToEnd --executor cpu --sizes 256,512,1024 --json end-to-end.json}
 */
public final class EndToEnd {
    private static final long SEED = 20261205L;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private EndToEnd() {
    }

    /** What to run, from the command line. */
    private record Options(String executor, int[] sizes, int reps, int saxpyJobs, int saxpyN, int saxpyInFlight,
                           int sgemmBatchJobs, int sgemmBatchSize, int sgemmInFlight, int warmupSeconds, Path json,
                           int chainSteps, int chainSize, int settleSeconds) {
        static Options parse(String[] args) {
            Map<String, String> a = new LinkedHashMap<>();
            for (int i = 0; i < args.length; i++) {
                if (!args[i].startsWith("--") || i + 1 >= args.length) {
                    throw new IllegalArgumentException("expected --option value pairs, got '" + args[i] + "'; options: "
                            + "--executor cpu|cuda|best --sizes 1024,4096 --reps 3 --saxpy-jobs 64 --saxpy-n 1048576 "
                            + "--saxpy-in-flight 32 --sgemm-batch-jobs 16 --sgemm-batch-size 4096 --sgemm-in-flight 16 "
                            + "--warmup-seconds 20 --settle-seconds 15 --chain-steps 10 --chain-size 4096 --json FILE");
                }
                a.put(args[i].substring(2), args[++i]);
            }
            String executor = a.getOrDefault("executor", "best");
            boolean gpu = !executor.equals("cpu");
            int[] sizes = Arrays.stream(a.getOrDefault("sizes", gpu ? "1024,4096,8192" : "256,512,1024").split(","))
                    .mapToInt(s -> Integer.parseInt(s.trim())).toArray();
            Options o = new Options(executor, sizes, Integer.parseInt(a.getOrDefault("reps", "3")),
                    Integer.parseInt(a.getOrDefault("saxpy-jobs", "64")),
                    Integer.parseInt(a.getOrDefault("saxpy-n", Integer.toString(1 << 20))),
                    Integer.parseInt(a.getOrDefault("saxpy-in-flight", "32")),
                    Integer.parseInt(a.getOrDefault("sgemm-batch-jobs", "16")),
                    Integer.parseInt(a.getOrDefault("sgemm-batch-size", gpu ? "4096" : "512")),
                    Integer.parseInt(a.getOrDefault("sgemm-in-flight", gpu ? "16" : "4")),
                    Integer.parseInt(a.getOrDefault("warmup-seconds", "20")),
                    a.containsKey("json") ? Path.of(a.get("json")) : null,
                    Integer.parseInt(a.getOrDefault("chain-steps", "10")),
                    Integer.parseInt(a.getOrDefault("chain-size", gpu ? "4096" : "512")),
                    Integer.parseInt(a.getOrDefault("settle-seconds", "15")));
            a.keySet().removeAll(List.of("executor", "sizes", "reps", "saxpy-jobs", "saxpy-n", "saxpy-in-flight",
                    "sgemm-batch-jobs", "sgemm-batch-size", "sgemm-in-flight", "warmup-seconds", "json", "chain-steps",
                    "chain-size", "settle-seconds"));
            if (!a.isEmpty()) {
                throw new IllegalArgumentException("unknown option(s) " + a.keySet());
            }
            if (o.chainSteps < 0 || o.chainSize < 1 || o.reps < 1 || o.warmupSeconds < 0 || o.settleSeconds < 0 || o.saxpyJobs < 0 || o.sgemmBatchJobs < 0 || o.saxpyInFlight < 1 || o.sgemmInFlight < 1
                    || o.saxpyN < 1 || o.sgemmBatchSize < 1 || Arrays.stream(sizes).anyMatch(s -> s < 1)) {
                throw new IllegalArgumentException("sizes, counts and in-flight limits must be positive");
            }
            return o;
        }
    }

    /**
     * Runs the four parts and prints their tables; writes them as JSON with {@code --json}.
     *
     * @param args {@code --option value} pairs (see the class comment)
     * @throws Exception if a job fails: every job here must verify
     */
    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        Map<String, Object> out = new LinkedHashMap<>();
        try (DeviceExecutor executor = executor(o.executor)) {
            String device = executor.kind() + " on " + executor.device().model();
            int cores = Runtime.getRuntime().availableProcessors();
            System.out.printf(Locale.ROOT, "end to end over loopback mTLS: %s, %d cores, %s, seed %d%n", device, cores,
                    Runtime.version(), SEED);
            out.put("device", device);
            out.put("cores", cores);
            out.put("java", Runtime.version().toString());
            out.put("startedAt", Instant.now().toString());
            NodeKeyPair nodeKey = NodeKeyPair.generate();
            long heap = Runtime.getRuntime().maxMemory();
            // One buyer: its jobs may take the server's whole input budget, and the offer says so.
            long inputs = Math.max(1L << 30, heap / 3);
            ProviderNode node = ProviderNode.builder(nodeKey, executor)
                    .price(new Price(MicroUsd.ofUsd("0.01"), MicroUsd.ofUsd("0.0001")))
                    .concurrency(1, 1024).jobLimits(Math.max(1L << 29, heap / 4), inputs)
                    // Only buyers that ask for it have inputs kept (the cold client does not).
                    // One buyer here: its share is the whole cache, room for the outputs a chain leaves.
                    .inputCache(new dev.depin.node.InputCache.Limits(Math.max(1L << 28, heap / 4), 256,
                            Math.max(1L << 28, heap / 4), 256, dev.depin.node.InputCache.Limits.DEFAULT_IDLE_TTL))
                    .build();
            try (DirectoryServer dir = DirectoryServer.builder(NodeKeyPair.generate()).start();
                 ProviderServer server = ProviderServer.builder(node, nodeKey).directory(dir.address())
                         .maxInputBytes(inputs).maxInputBytesPerPeer(inputs).maxInputBytesPerAddress(inputs).start()) {
                server.renewNow();
                try (GrpcNetwork net = GrpcNetwork.connect(dir.address());
                     DepinClient client = DepinClient.builder(net).attemptTimeout(Duration.ofMinutes(10)).build();
                     GrpcNetwork keeping = GrpcNetwork.builder().directory(dir.address()).keepOutputsOnProviders(true)
                             .build();
                     DepinClient cached = DepinClient.builder(keeping).attemptTimeout(Duration.ofMinutes(10))
                             .build()) {
                    SplittableRandom rnd = new SplittableRandom(SEED);
                    out.put("warmupJobs", warmUp(client, rnd, o));
                    out.put("oneAtATime", oneAtATime(client, cached, rnd, o));
                    if (o.saxpyJobs > 0) {
                        out.put("saxpyBatch", batch(client, rnd, "SAXPY n=" + o.saxpyN, o.saxpyJobs, o.saxpyInFlight,
                                () -> saxpy(rnd, o.saxpyN)));
                    }
                    if (o.sgemmBatchJobs > 0) {
                        int n = o.sgemmBatchSize;
                        out.put("sgemmBatch", batch(client, rnd, "SGEMM n=" + n, o.sgemmBatchJobs, o.sgemmInFlight,
                                () -> sgemm(rnd, n)));
                    }
                    if (o.chainSteps > 0) {
                        out.put("chain", chains(client, cached, rnd, o.chainSteps, o.chainSize));
                    }
                }
            } finally {
                node.close();
            }
        }
        if (o.json != null) {
            JSON.writeValue(o.json.toFile(), out);
            System.out.println("JSON: " + o.json);
        }
    }

    private static DeviceExecutor executor(String kind) {
        int threads = Runtime.getRuntime().availableProcessors();
        switch (kind) {
            case "cpu":
                return new CpuExecutor(threads);
            case "best":
                return ExecutorRegistry.createBest(ExecutorOptions.threads(threads));
            default:
                for (ExecutorProvider p : ExecutorRegistry.providers()) {
                    if (p.name().equals(kind)) {
                        ExecutorProvider.Availability a = p.availability();
                        if (!a.available()) {
                            throw new IllegalStateException(kind + " executor unavailable: " + a.cause());
                        }
                        return p.create(ExecutorOptions.threads(threads));
                    }
                }
                throw new IllegalArgumentException("no executor named '" + kind + "' on the class path: cpu, cuda, best");
        }
    }

    /**
     * Runs small SGEMM and SAXPY jobs, a few in flight, for the warm-up time: the TLS, gRPC,
     * hashing and kernel paths are interpreted or C1-compiled for their first seconds (a
     * profile of a run without it showed JSSE's GHASH in its plain-Java form and the Vector
     * API's fallback), and the figures are meant for the steady state.
     */
    private static int warmUp(DepinClient client, SplittableRandom rnd, Options o) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(o.warmupSeconds);
        int n = Math.min(512, Arrays.stream(o.sizes).min().orElse(512));
        int jobs = 0;
        do {
            drive(client, 4, 2, () -> sgemm(rnd, n));
            drive(client, 4, 4, () -> saxpy(rnd, 1 << 16));
            jobs += 8;
        } while (System.nanoTime() < until);
        System.out.printf(Locale.ROOT, "warm-up: %d small jobs in %d s (not counted)%n", jobs, o.warmupSeconds);
        return jobs;
    }

    // ------------------------------------------------------------------ one job at a time

    private static List<Map<String, Object>> oneAtATime(DepinClient coldClient, DepinClient cachedClient,
                                                        SplittableRandom rnd, Options o) throws Exception {
        System.out.printf(Locale.ROOT, "%nSGEMM m=k=n, one job at a time: cold inputs and the same inputs held on the "
                + "node (sent by root), Freivalds(20); then inputs held and the output left on the node (nothing "
                + "back), spotCheck(0.05) of the sampled chunks with their proofs; interleaved (medians of %d after a "
                + "warm-up); phases in ms on one clock%n", o.reps);
        System.out.printf(Locale.ROOT, "%6s %6s %8s %9s %9s %8s | %8s %9s %9s %9s %8s | %6s %9s %9s%n", "n", "inputs",
                "build", "wall", "kernel", "k/wall", "to disp", "to kernel", "kernel*", "to return", "verify", "cores",
                "sent MiB", "back MiB");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int n : o.sizes) {
            run(coldClient, sgemm(rnd, n).build()); // warm-up: JIT, connection, first allocation of this size
            float[] a = floats(rnd, n * n);
            float[] b = floats(rnd, n * n);
            run(cachedClient, sgemm(a, b, n).build()); // places a and b on the node (not counted)
            run(cachedClient, left(sgemm(a, b, n)).build()); // the held path warmed up (not counted)
            Settled settled = settle(coldClient, cachedClient, rnd, n, a, b, o.settleSeconds);
            Jit jit = Jit.start();
            double[][][] all = new double[3][12][o.reps];
            for (int i = 0; i < o.reps; i++) {
                for (int kind = 0; kind < 3; kind++) { // cold, cached, left: the same moment of the run
                    measure(kind == 0 ? coldClient : cachedClient, kind == 0 ? sgemm(rnd, n)
                            : kind == 1 ? sgemm(a, b, n) : left(sgemm(a, b, n)), all[kind], i);
                }
            }
            double jitShare = jit.share();
            for (int kind = 0; kind < 3; kind++) {
                Map<String, Object> row = row(n, kind == 0 ? "cold" : kind == 1 ? "cached" : "left", all[kind]);
                row.put("settleRounds", settled.rounds());
                row.put("jitShareWhileSettling", settled.lastJitShare());
                row.put("jitShareWhileMeasured", jitShare);
                rows.add(row);
            }
            System.out.printf(Locale.ROOT, "       n=%d: %s, JIT compiling %.1f %% of the measured wall%n", n,
                    settled.rounds() == 0 ? "no settling rounds (--settle-seconds 0)"
                            : String.format(Locale.ROOT, "%d settling round(s) of the three jobs before these (not "
                            + "counted; JIT compiling %.1f %% of the last one's wall)", settled.rounds(),
                            100 * settled.lastJitShare()), 100 * jitShare);
        }
        System.out.println("settling: rounds of one cold, one cached and one left job, not counted, until the JIT "
                + "compiled for less than " + (int) (100 * SETTLED_JIT_SHARE) + " % of a round's wall in " + SETTLED_ROUNDS
                + " rounds in a row (or --settle-seconds "
                + "passed): the figures are a warm node's, not a JVM's still compiling beside the jobs. "
                + "JIT: compilation time (all compiler threads) over wall time.");
        System.out.println("build: Job.build (hashes the inputs), not in wall. kernel: the receipt's device time. "
                + "kernel*: the receipt's start to end (executor's own span). sent: input bytes on the wire; back: "
                + "output bytes received (left: none; its spot check reads sampled chunks). goal "
                + "(issue 15, GPU host): wall <= 10x kernel at n=8192 cold, <= 2x with inputs on the node; on a CPU "
                + "host: kernel >= 60 % of wall at n=1024");
        return rows;
    }

    /** Below this share of a round's wall spent compiling, the JIT counts as settled. */
    private static final double SETTLED_JIT_SHARE = 0.05;
    /**
     * Rounds in a row that must each stay below {@link #SETTLED_JIT_SHARE}: the JVM counts a
     * compilation's time when it ends, so one round can read 0 % while a long C2 compilation
     * runs beside it (one quiet round was followed by 46-129 % of the measured wall compiling,
     * 2026-12-07).
     */
    private static final int SETTLED_ROUNDS = 3;

    /** How many settling rounds ran, and the JIT's share of the last one's wall (NaN where not measured). */
    private record Settled(int rounds, double lastJitShare) {
    }

    /**
     * Runs the three measured shapes (cold, cached, left) round after round, not counted, until
     * the JIT compiled for less than {@link #SETTLED_JIT_SHARE} of a round's wall time in
     * {@link #SETTLED_ROUNDS} rounds in a row, or until {@code seconds} have passed (at least one round; none for 0). The warm-up of
     * small jobs does not compile the paths of large ones (the held output's tree and fetch,
     * the spot check, n-sized copies): measured without this, the jobs at n = 1024 shared two
     * cores with 40-140 C2 compilations a second, which slowed the kernel and every other phase.
     */
    private static Settled settle(DepinClient cold, DepinClient cached, SplittableRandom rnd, int n, float[] a,
                                  float[] b, int seconds) throws Exception {
        if (seconds == 0) {
            return new Settled(0, Double.NaN);
        }
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        int rounds = 0;
        int quiet = 0;
        double share = Double.NaN;
        do {
            Jit jit = Jit.start();
            run(cold, sgemm(rnd, n).build());
            run(cached, sgemm(a, b, n).build());
            run(cached, left(sgemm(a, b, n)).build());
            rounds++;
            share = jit.share();
            quiet = share < SETTLED_JIT_SHARE ? quiet + 1 : 0;
            if (quiet >= SETTLED_ROUNDS) {
                break;
            }
        } while (System.nanoTime() < until);
        return new Settled(rounds, share);
    }

    /** The JIT's compilation time over a span of wall time (NaN where the JVM does not measure it). */
    private record Jit(long compileMsAtStart, long wallAtStart) {
        static Jit start() {
            java.lang.management.CompilationMXBean c = ManagementFactory.getCompilationMXBean();
            long ms = c != null && c.isCompilationTimeMonitoringSupported() ? c.getTotalCompilationTime() : -1;
            return new Jit(ms, System.nanoTime());
        }

        double share() {
            if (compileMsAtStart < 0) {
                return Double.NaN;
            }
            long wallMs = (System.nanoTime() - wallAtStart) / 1_000_000;
            long ms = ManagementFactory.getCompilationMXBean().getTotalCompilationTime() - compileMsAtStart;
            return wallMs <= 0 ? Double.NaN : (double) ms / wallMs;
        }
    }

    private static Map<String, Object> row(int n, String inputs, double[][] cols) {
        double[] m = Arrays.stream(cols).mapToDouble(EndToEnd::median).toArray();
        System.out.printf(Locale.ROOT, "%6d %6s %8.1f %9.1f %9.2f %7.2f%% | %8.1f %9.1f %9.1f %9.1f %8.1f | %6.2f "
                        + "%9.2f %9.2f%n", n, inputs, m[0], m[1], m[2], 100 * m[3], m[4], m[5], m[6], m[7], m[8], m[9],
                m[10] / (1 << 20), m[11] / (1 << 20));
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("n", n);
        row.put("inputs", inputs);
        row.put("buildMs", m[0]);
        row.put("wallMs", m[1]);
        row.put("kernelMs", m[2]);
        row.put("kernelOverWall", m[3]);
        row.put("toDispatchMs", m[4]);
        row.put("dispatchToKernelMs", m[5]);
        row.put("kernelSpanMs", m[6]);
        row.put("kernelToReturnMs", m[7]);
        row.put("verifyMs", m[8]);
        row.put("coresBusy", m[9]);
        row.put("inputBytesSent", m[10]);
        row.put("outputBytesReceived", m[11]);
        row.put("wallMsEach", cols[1]);
        return row;
    }

    /** One verified job: its columns into {@code cols[c][i]}. */
    private static void measure(DepinClient client, Job.Builder next, double[][] cols, int i) throws Exception {
        long b0 = System.nanoTime();
        Job job = next.build();
        double build = (System.nanoTime() - b0) / 1e6;
        Cpu cpu = Cpu.start();
        JobResult r = run(client, job);
        double cores = cpu.cores();
        Phases p = Phases.of(r);
        double[] v = {build, p.wall, p.kernel, p.kernel / p.wall, p.toDispatch, p.toKernel, p.kernelSpan,
            p.toReturn, p.verify, cores, p.sentBytes, p.receivedBytes};
        for (int c = 0; c < v.length; c++) {
            cols[c][i] = v[c];
        }
    }

    /** The phases of one verified job, from its events and its receipt, on this JVM's clock. */
    private record Phases(double wall, double kernel, double toDispatch, double toKernel, double kernelSpan,
                          double toReturn, double verify, double sentBytes, double receivedBytes) {
        static Phases of(JobResult r) {
            Instant submitted = r.timings().submittedAt();
            Instant done = r.timings().completedAt();
            Instant dispatched = null;
            Instant returned = null;
            double sent = Double.NaN;
            double received = Double.NaN;
            for (JobEvent e : r.history()) {
                if (e.attempt() == r.attempt() && e.attemptState() == AttemptState.DISPATCHED && dispatched == null) {
                    dispatched = e.at();
                }
                if (e.attempt() == r.attempt() && e.attemptState() == AttemptState.RETURNED && returned == null) {
                    returned = e.at();
                    // "[outputs received: <n> bytes; left on the provider: [c]; ]inputs: <sent> of <declared> bytes
                    // sent; ..." (the engine's RETURNED detail with GrpcNetwork's InputTransfer summary)
                    java.util.regex.Matcher m = java.util.regex.Pattern.compile("inputs: (\\d+) of").matcher(e.detail());
                    sent = m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
                    m = java.util.regex.Pattern.compile("^outputs received: (\\d+) bytes").matcher(e.detail());
                    received = m.find() ? Double.parseDouble(m.group(1))
                            : r.outputs().values().stream().mapToLong(java.nio.ByteBuffer::remaining).sum();
                }
            }
            ExecutionReceipt receipt = r.batched() != null ? r.batched().readReceiptUnverified()
                    : ExecutionReceipt.readUnverified(r.receipt());
            if (dispatched == null || returned == null) {
                throw new IllegalStateException("job " + r.jobId() + " has no DISPATCHED/RETURNED event: " + r.history());
            }
            return new Phases(ms(submitted, done), r.timings().deviceNanos() / 1e6, ms(submitted, dispatched),
                    ms(dispatched, receipt.startedAt()), ms(receipt.startedAt(), receipt.endedAt()),
                    ms(receipt.endedAt(), returned), ms(returned, done), sent, received);
        }

        private static double ms(Instant a, Instant b) {
            return Duration.between(a, b).toNanos() / 1e6;
        }
    }

    // ------------------------------------------------------------------ chains

    /**
     * A chain of SGEMM jobs, each multiplying the previous job's output by the same matrix B
     * (scaled by 1/sqrt(n), so the values stay near 1): once with every input sent (cold, the
     * baseline), then with outputs kept on the node, where each step sends nothing (A is the
     * previous output, B was kept by the first step). The device's share of the chain's wall
     * time is the goal's figure (issue 15: >= 50 % for 10 steps of n = 4096 on a GPU).
     */
    private static List<Map<String, Object>> chains(DepinClient cold, DepinClient kept, SplittableRandom rnd,
                                                    int steps, int n) throws Exception {
        float[] a0 = floats(rnd, n * n);
        float[] b = floats(rnd, n * n);
        float scale = (float) (1 / Math.sqrt(n));
        for (int i = 0; i < b.length; i++) {
            b[i] *= scale;
        }
        run(kept, sgemm(floats(rnd, n * n), b, n).build()); // B on the node, and the shape warmed up (not counted)
        run(kept, left(sgemm(floats(rnd, n * n), b, n)).build()); // the held path warmed up (not counted)
        System.out.printf(Locale.ROOT, "%nchain of %d SGEMM n=%d, each step's A the previous output: cold and kept "
                + "(every output back, Freivalds(20)), then left on the node (A by reference, nothing back, "
                + "spotCheck(0.05) of sampled chunks with their proofs)%n", steps, n);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int kind = 0; kind < 3; kind++) {
            DepinClient client = kind == 0 ? cold : kept;
            float[] a = a0;
            JobResult previous = null;
            double sent = 0;
            double back = 0;
            long device = 0;
            Cpu cpu = Cpu.start();
            long t0 = System.nanoTime();
            for (int step = 0; step < steps; step++) {
                Job job;
                if (kind < 2) {
                    job = sgemm(a, b, n).build();
                } else if (previous == null) {
                    job = left(sgemm(a0, b, n)).build();
                } else {
                    job = left(Job.builder(BuiltinKernel.SGEMM).param("m", n).param("k", n).param("n", n)
                            .inputFrom("a", previous, "c").input("b", b).maxPrice(MicroUsd.ofUsd("10"))
                            .timeout(Duration.ofMinutes(10))).build();
                }
                JobResult r = run(client, job);
                device += r.timings().deviceNanos();
                Phases p = Phases.of(r);
                sent += p.sentBytes;
                back += p.receivedBytes;
                if (kind < 2) {
                    a = r.floats("c");
                }
                previous = r;
            }
            double wall = (System.nanoTime() - t0) / 1e9;
            double cores = cpu.cores();
            String what = kind == 0 ? "cold" : kind == 1 ? "kept on the node" : "left on the node";
            System.out.printf(Locale.ROOT, "  %-17s wall %8.1f ms, %7.1f ms per step, device busy %5.1f%% of the wall, "
                            + "input MiB sent %7.2f, output MiB back %7.2f, %.2f cores busy%n", what, wall * 1e3,
                    wall * 1e3 / steps, 100 * device / 1e9 / wall, sent / (1 << 20), back / (1 << 20), cores);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("inputs", what);
            m.put("steps", steps);
            m.put("n", n);
            m.put("wallSeconds", wall);
            m.put("deviceShareOfWall", device / 1e9 / wall);
            m.put("inputBytesSent", sent);
            m.put("outputBytesReceived", back);
            m.put("coresBusy", cores);
            rows.add(m);
        }
        System.out.println("goal (issue 15, GPU host): a chain of 10 SGEMM n=4096 keeps the GPU busy >= 50 % of its wall");
        return rows;
    }

    // ------------------------------------------------------------------ batches

    private static Map<String, Object> batch(DepinClient client, SplittableRandom rnd, String name, int jobs,
                                             int inFlight, java.util.function.Supplier<Job.Builder> next)
            throws Exception {
        // Warm-up: a few jobs of the same shape, not counted.
        drive(client, Math.min(jobs, inFlight), inFlight, next);
        Cpu cpu = Cpu.start();
        long t0 = System.nanoTime();
        long[] totals = drive(client, jobs, inFlight, next);
        double wall = (System.nanoTime() - t0) / 1e9;
        double cores = cpu.cores();
        double mib = (totals[0] + totals[1]) / wall / (1 << 20);
        double share = totals[2] / 1e9 / wall;
        System.out.printf(Locale.ROOT, "%n%s, %d jobs, %d in flight: %.2f jobs/s, %.1f MiB/s (inputs + outputs), "
                        + "device busy %.2f%% of the wall time, %.2f cores busy%n", name, jobs, inFlight, jobs / wall,
                mib, 100 * share, cores);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("what", name);
        m.put("jobs", jobs);
        m.put("inFlight", inFlight);
        m.put("wallSeconds", wall);
        m.put("jobsPerSecond", jobs / wall);
        m.put("mibPerSecond", mib);
        m.put("deviceShareOfWall", share);
        m.put("coresBusy", cores);
        return m;
    }

    /** @return input bytes, output bytes and device nanoseconds of {@code jobs} verified jobs */
    private static long[] drive(DepinClient client, int jobs, int inFlight,
                                java.util.function.Supplier<Job.Builder> next) throws Exception {
        long[] totals = new long[3];
        Deque<JobHandle> running = new ArrayDeque<>();
        int submitted = 0;
        while (submitted < jobs || !running.isEmpty()) {
            while (submitted < jobs && running.size() < inFlight) {
                running.add(client.submit(next.get().build()));
                submitted++;
            }
            JobHandle h = running.poll();
            JobResult r = h.result(Duration.ofMinutes(10));
            h.spec().inputs().forEach(in -> totals[0] += in.bytes());
            r.outputs().values().forEach(b -> totals[1] += b.remaining());
            totals[2] += r.timings().deviceNanos();
        }
        return totals;
    }

    // ------------------------------------------------------------------ jobs

    private static JobResult run(DepinClient client, Job job) throws java.util.concurrent.TimeoutException {
        return client.submit(job).result(Duration.ofMinutes(10));
    }

    private static Job.Builder sgemm(SplittableRandom rnd, int n) {
        return Job.builder(BuiltinKernel.SGEMM).param("m", n).param("k", n).param("n", n)
                .input("a", floats(rnd, n * n)).input("b", floats(rnd, n * n))
                .verification(VerificationPolicy.freivalds(20)).maxPrice(MicroUsd.ofUsd("10"))
                .timeout(Duration.ofMinutes(10));
    }

    private static Job.Builder sgemm(float[] a, float[] b, int n) {
        return Job.builder(BuiltinKernel.SGEMM).param("m", n).param("k", n).param("n", n).input("a", a).input("b", b)
                .verification(VerificationPolicy.freivalds(20)).maxPrice(MicroUsd.ofUsd("10"))
                .timeout(Duration.ofMinutes(10));
    }

    /** How long a benchmark job's output stays on the node: long enough for the next step. */
    private static final Duration LEAVE_TTL = Duration.ofSeconds(60);

    /** The job with its output left on the node and checked by a spot check of sampled chunks. */
    private static Job.Builder left(Job.Builder job) {
        return job.leaveOutputsOnNode(LEAVE_TTL).verification(VerificationPolicy.spotCheck(0.05));
    }

    private static Job.Builder saxpy(SplittableRandom rnd, int n) {
        return Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2.5f)
                .input("x", floats(rnd, n)).input("y", floats(rnd, n))
                .maxPrice(MicroUsd.ofUsd("10")).timeout(Duration.ofMinutes(10));
    }

    private static float[] floats(SplittableRandom rnd, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rnd.nextDouble(-1, 1);
        }
        return f;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** The process's CPU time over a span of wall time. */
    private record Cpu(long cpuAtStart, long wallAtStart) {
        static Cpu start() {
            return new Cpu(processCpuNanos(), System.nanoTime());
        }

        double cores() {
            long wall = System.nanoTime() - wallAtStart;
            long cpu = processCpuNanos() - cpuAtStart;
            return cpuAtStart < 0 || wall <= 0 ? Double.NaN : (double) cpu / wall;
        }

        private static long processCpuNanos() {
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
                return os.getProcessCpuTime();
            }
            return -1;
        }
    }

    static {
        // Quiet the per-job INFO logs of the servers and the client: the tables are the output.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
                System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
    }
}
