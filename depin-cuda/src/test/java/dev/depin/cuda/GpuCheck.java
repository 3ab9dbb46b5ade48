package dev.depin.cuda;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.depin.cuda.internal.CudaJob;
import dev.depin.executor.spi.ExecutionContext;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.kernel.LaunchParams;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * The GPU check that {@code depin-cuda/scripts/gpu-check.sh} runs on a machine with a GPU:
 * the CUDA test suites (executor contract, device Merkle roots, device wipes, memory after
 * 1,000 jobs, user PTX, every kernel's bits against its definition and the CPU executor, the
 * PTX JIT against the fatbin, the kernel table's offers), then the kernels' figures beside the
 * baselines the script measured with PyTorch in the same run (cuBLAS FP32 with TF32 off, a
 * device-to-device copy), and the device trust work of a committed and wiped SGEMM at
 * n = 8192 against its bare kernel. Prints one table headed by the card's name and writes the
 * same rows as JSON.
 *
 * <p>Usage: {@code GpuCheck <baselines.json> <out.json>}. Without a device it says so, runs
 * the suites (which skip, saying why) and writes no figures.
 */
public final class GpuCheck {
    private final List<String[]> rows = new ArrayList<>();
    private final Map<String, Object> json = new LinkedHashMap<>();

    private GpuCheck() {
    }

    /**
     * Runs the check.
     *
     * @param args baselines JSON written by the script, output JSON path
     * @throws IOException if a file cannot be read or written
     */
    public static void main(String[] args) throws IOException {
        Path baselines = Path.of(args.length > 0 ? args[0] : "baselines.json");
        Path out = Path.of(args.length > 1 ? args[1] : "gpu-check.json");
        new GpuCheck().run(baselines, out);
    }

    private void run(Path baselinesFile, Path out) throws IOException {
        String base = Files.exists(baselinesFile) ? Files.readString(baselinesFile) : "{}";
        boolean ok = tests();
        if (!Cuda.isAvailable()) {
            System.out.println("NO GPU: " + Cuda.unavailabilityCause().getMessage() + " (no figures)");
            json.put("device", "none: " + Cuda.unavailabilityCause().getMessage());
        } else {
            try (CudaExecutor gpu = new CudaExecutor(0)) {
                json.put("device", gpu.device().model());
                json.put("computeCapability", gpu.device().computeCapability());
                json.put("driver", gpu.device().driverVersion());
                json.put("runtime", gpu.device().runtimeVersion());
                json.put("sms", gpu.device().units());
                figures(gpu, base);
            } catch (RuntimeException e) {
                // Keep what was measured: the table and the JSON say where it stopped and why.
                e.printStackTrace();
                ok = false;
                json.putIfAbsent("device", "CUDA executor failed: " + e);
                row("FAILED", e.toString(), "", "");
            }
        }
        ok &= figuresOk;
        json.put("passed", ok);
        print();
        Files.writeString(out, toJson(), StandardCharsets.UTF_8);
        System.out.println("wrote " + out.toAbsolutePath());
        if (!ok) {
            System.exit(1);
        }
    }

    private boolean tests() {
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(
                selectClass(CudaTest.class), selectClass(CudaExecutorProviderTest.class),
                selectClass(CudaExecutorTest.class), selectClass(CudaExecutorGpuTest.class),
                selectClass(CudaBitExactnessGpuTest.class), selectClass("dev.depin.cuda.internal.PtxJitGpuTest"),
                selectClass("dev.depin.cuda.internal.CudaKernelTest"), selectClass("dev.depin.cuda.internal.DriverTest"),
                selectClass("dev.depin.cuda.internal.BlockPoolTest"), selectClass("dev.depin.cuda.internal.PtxBindingTest"))
                .build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener);
        TestExecutionSummary s = listener.getSummary();
        StringWriter w = new StringWriter();
        s.printFailuresTo(new PrintWriter(w), 20);
        System.out.print(w);
        row("tests: found / passed / failed / skipped / aborted", s.getTestsFoundCount() + " / "
                + s.getTestsSucceededCount() + " / " + s.getTestsFailedCount() + " / " + s.getTestsSkippedCount()
                + " / " + s.getTestsAbortedCount(), s.getContainersFailedCount() + " class(es) failed to start", "0 failed");
        json.put("testsFound", s.getTestsFoundCount());
        json.put("testsPassed", s.getTestsSucceededCount());
        json.put("testsFailed", s.getTestsFailedCount());
        json.put("testsSkipped", s.getTestsSkippedCount());
        json.put("testsAborted", s.getTestsAbortedCount());
        json.put("containersFailed", s.getContainersFailedCount());
        return s.getTotalFailureCount() == 0;
    }

    private boolean figuresOk = true;

    /** Runs one section of figures; a failure is a row of the table and the next section still runs. */
    private void section(String name, Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            e.printStackTrace();
            figuresOk = false;
            row("FAILED: " + name, e.toString(), "", "");
        }
    }

    private void figures(CudaExecutor gpu, String base) {
        double copy = number(base, "d2d_copy_gbs");
        section("sgemm", () -> sgemm(gpu, base));
        section("saxpy, reduce-sum, wipe, merkle", () -> bandwidth(gpu, copy));
        section("trust at n=8192", () -> trust(gpu));
    }

    private void sgemm(CudaExecutor gpu, String base) {
        for (int n : new int[] {4096, 8192}) {
            long ns = best(gpu, BuiltinKernel.SGEMM, LaunchParams.builder().put("m", n).put("k", n).put("n", n).build(), 3);
            double gflops = 2.0 * n * n * n / ns;
            double cublas = number(base, "cublas_fp32_gflops_" + n);
            add("sgemm n=" + n + " GFLOP/s", gflops, cublas, "cuBLAS FP32 (torch, TF32 off)", ">= 0.70");
        }
    }

    private void bandwidth(CudaExecutor gpu, double copy) {
        long n = 1L << 26;
        LaunchParams saxpy = LaunchParams.builder().put("n", n).put("alpha", 1.5f).build();
        long saxpyNs = best(gpu, BuiltinKernel.SAXPY, saxpy, 3);
        add("saxpy GB/s (12n bytes)", 12.0 * n / saxpyNs, copy, "device-to-device copy (torch)", ">= 0.85");
        long reduce = best(gpu, BuiltinKernel.REDUCE_SUM, LaunchParams.builder().put("n", n).build(), 3);
        add("reduce-sum GB/s (4n bytes)", 4.0 * n / reduce, copy, "device-to-device copy (torch)", ">= 0.90");
        // A job's wipe (x, y, out: 768 MiB, and the Merkle scratch) and its output root (256 MiB),
        // best of three jobs.
        CudaJob.Phases bestWipe = null;
        CudaJob.Phases bestRoot = null;
        for (int i = 0; i < 3; i++) {
            try (ExecutionContext ctx = gpu.open(BuiltinKernel.SAXPY, saxpy)) {
                ctx.run();
                ctx.outputRoot("out");
                ctx.wipe((byte) (0xa5 + i));
                CudaJob.Phases ph = ((CudaJob) ctx).phases();
                bestWipe = bestWipe == null || ph.wipeNanos() < bestWipe.wipeNanos() ? ph : bestWipe;
                bestRoot = bestRoot == null || ph.rootNanos() < bestRoot.rootNanos() ? ph : bestRoot;
            }
        }
        // fill writes every byte once, verify reads it once: 2 bytes of traffic per byte wiped
        add("wipe fill+verify GB/s (2 x bytes, 3 buffers)", 2.0 * bestWipe.wipeBytes() / bestWipe.wipeNanos(), copy,
                "device-to-device copy (torch)", ">= 0.80");
        add("merkle root GB/s (RFC 6962, 4 KiB leaves, 256 MiB)", (double) bestRoot.rootBytes() / bestRoot.rootNanos(),
                Double.NaN, "SHA-256-bound: ~530 GB/s at 256 MiB in ENVIRONMENT.md", ">= 50 GB/s");
    }

    private void trust(CudaExecutor gpu) {
        int big = 8192;
        LaunchParams p = LaunchParams.builder().put("m", big).put("k", big).put("n", big).build();
        long bare = best(gpu, BuiltinKernel.SGEMM, p, 2);
        try (ExecutionContext ctx = gpu.open(BuiltinKernel.SGEMM, p)) {
            fill(ctx.input("a"));
            fill(ctx.input("b"));
            ctx.run();
            ctx.outputRoot("c");
            ctx.wipe((byte) 0x6d);
            CudaJob.Phases ph = ((CudaJob) ctx).phases();
            long trust = ph.rootNanos() + ph.wipeNanos();
            // The root runs on its own stream while the output downloads: only what outlasts
            // the download, and the wipe, lengthen the job.
            long critical = ph.wipeNanos() + Math.max(0, ph.rootNanos() - ph.downloadNanos());
            double overhead = 100.0 * trust / bare;
            double criticalPct = 100.0 * critical / bare;
            rows.add(new String[] {"verified sgemm n=8192: device trust work / bare kernel",
                    String.format(Locale.ROOT, "%.2f %%", overhead), String.format(Locale.ROOT,
                    "root %.2f ms + wipe %.2f ms; bare kernel %.1f ms", ph.rootNanos() / 1e6, ph.wipeNanos() / 1e6,
                    bare / 1e6), "<= 3 %"});
            rows.add(new String[] {"  same, on the job's critical path", String.format(Locale.ROOT, "%.2f %%",
                    criticalPct), String.format(Locale.ROOT, "root beside the %.2f ms download", ph.downloadNanos() / 1e6),
                    "<= 3 %"});
            rows.add(new String[] {"  phases (device ms)", String.format(Locale.ROOT, "kernel %.2f", ph.kernelNanos() / 1e6),
                    String.format(Locale.ROOT, "upload %.2f, download %.2f, root %.2f (%.0f GB/s), wipe %.2f (%.0f GB/s)",
                            ph.uploadNanos() / 1e6, ph.downloadNanos() / 1e6, ph.rootNanos() / 1e6,
                            (double) ph.rootBytes() / ph.rootNanos(), ph.wipeNanos() / 1e6,
                            2.0 * ph.wipeBytes() / ph.wipeNanos()), ""});
            json.put("sgemm8192_bare_ms", bare / 1e6);
            json.put("sgemm8192_trust_ms", trust / 1e6);
            json.put("sgemm8192_root_ms", ph.rootNanos() / 1e6);
            json.put("sgemm8192_wipe_ms", ph.wipeNanos() / 1e6);
            json.put("sgemm8192_upload_ms", ph.uploadNanos() / 1e6);
            json.put("sgemm8192_download_ms", ph.downloadNanos() / 1e6);
            json.put("sgemm8192_trust_overhead_pct", overhead);
            json.put("sgemm8192_trust_critical_path_pct", criticalPct);
        }
    }

    private static long best(CudaExecutor gpu, BuiltinKernel k, LaunchParams p, int runs) {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < runs + 1; i++) {
            try (ExecutionContext ctx = gpu.open(k, p)) {
                if (i == 0) {
                    for (String in : k.inputs(p).stream().map(d -> d.name()).toList()) {
                        fill(ctx.input(in));
                    }
                }
                ctx.run();
                if (i > 0) {
                    best = Math.min(best, ctx.timing().deviceNanos());
                }
            }
        }
        return Math.max(1, best);
    }

    private static void fill(ByteBuffer b) {
        for (int i = 0; b.remaining() >= 4; i++) {
            b.putFloat(((i * 7919) % 1024) / 1024f - 0.5f);
        }
    }

    private void add(String what, double ours, double baseline, String baselineName, String goal) {
        String ratio = Double.isNaN(baseline) || baseline <= 0 ? "n/a" : String.format(Locale.ROOT, "%.2fx", ours / baseline);
        rows.add(new String[] {what, String.format(Locale.ROOT, "%.1f", ours),
                Double.isNaN(baseline) ? baselineName + ": n/a" : String.format(Locale.ROOT, "%s %.1f (%s)",
                        baselineName, baseline, ratio), goal});
        String key = what.replaceAll("[^A-Za-z0-9]+", "_").replaceAll("_+$", "");
        json.put(key, ours);
        json.put(key + "_baseline", Double.isNaN(baseline) ? null : baseline);
    }

    private void row(String a, String b, String c, String d) {
        rows.add(new String[] {a, b, c, d});
    }

    private static double number(String json, String key) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\"\\s*:\\s*([-0-9.eE+]+)").matcher(json);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    private void print() {
        System.out.println();
        System.out.println("depin GPU check on " + json.get("device") + (json.containsKey("driver")
                ? " (sm " + json.get("computeCapability") + ", driver " + json.get("driver") + ", "
                + json.get("runtime") + ")" : ""));
        String fmt = "| %-50s | %-22s | %-70s | %-10s |%n";
        System.out.printf(fmt, "measure", "ours", "baseline, same run (ratio)", "goal");
        for (String[] r : rows) {
            System.out.printf(fmt, (Object[]) r);
        }
    }

    private String toJson() {
        StringBuilder b = new StringBuilder("{");
        String sep = "";
        for (Map.Entry<String, Object> e : json.entrySet()) {
            b.append(sep).append('"').append(e.getKey()).append("\": ");
            Object v = e.getValue();
            if (v == null || v instanceof Double d && !Double.isFinite(d)) {
                b.append("null");
            } else if (v instanceof Number || v instanceof Boolean) {
                b.append(v);
            } else {
                b.append('"').append(v.toString().replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            }
            sep = ", ";
        }
        b.append(", \"rows\": [");
        sep = "";
        for (String[] r : rows) {
            b.append(sep).append('[');
            for (int i = 0; i < r.length; i++) {
                b.append(i == 0 ? "" : ", ").append('"').append(r[i].replace("\"", "\\\"")).append('"');
            }
            b.append(']');
            sep = ", ";
        }
        return b.append("]}\n").toString();
    }
}
