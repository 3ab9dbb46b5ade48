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
 * 1,000 jobs, user PTX), then the kernels' figures beside the baselines the script measured
 * with PyTorch in the same run (cuBLAS FP32 with TF32 off, a device-to-device copy), and the
 * trust overhead of a committed and wiped SGEMM at n = 8192. Prints one table headed by the
 * card's name and writes the same rows as JSON.
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
                figures(gpu, base);
            } catch (RuntimeException e) {
                // Keep what was measured: the table and the JSON say where it stopped and why.
                e.printStackTrace();
                ok = false;
                json.putIfAbsent("device", "CUDA executor failed: " + e);
                row("FAILED", e.toString(), "", "");
            }
        }
        json.put("testsPassed", ok);
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
                selectClass(CudaExecutorTest.class), selectClass(CudaExecutorGpuTest.class)).build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        launcher.execute(request, listener);
        TestExecutionSummary s = listener.getSummary();
        StringWriter w = new StringWriter();
        s.printFailuresTo(new PrintWriter(w), 20);
        System.out.print(w);
        row("tests: found / passed / failed / skipped", s.getTestsFoundCount() + " / " + s.getTestsSucceededCount()
                + " / " + s.getTestsFailedCount() + " / " + s.getTestsSkippedCount(), "", "");
        json.put("testsFound", s.getTestsFoundCount());
        json.put("testsFailed", s.getTestsFailedCount());
        json.put("testsSkipped", s.getTestsSkippedCount());
        return s.getTotalFailureCount() == 0;
    }

    private void figures(CudaExecutor gpu, String base) {
        double copy = number(base, "d2d_copy_gbs");
        for (int n : new int[] {4096, 8192}) {
            long ns = best(gpu, BuiltinKernel.SGEMM, LaunchParams.builder().put("m", n).put("k", n).put("n", n).build(), 3);
            double gflops = 2.0 * n * n * n / ns;
            double cublas = number(base, "cublas_fp32_gflops_" + n);
            add("sgemm n=" + n + " GFLOP/s", gflops, cublas, "cuBLAS FP32 (torch, TF32 off)", ">= 0.70");
        }
        long n = 1L << 26;
        long saxpy = best(gpu, BuiltinKernel.SAXPY, LaunchParams.builder().put("n", n).put("alpha", 1.5f).build(), 3);
        add("saxpy GB/s (12n bytes)", 12.0 * n / saxpy, copy, "device-to-device copy (torch)", ">= 0.85");
        long reduce = best(gpu, BuiltinKernel.REDUCE_SUM, LaunchParams.builder().put("n", n).build(), 3);
        add("reduce-sum GB/s (4n bytes)", 4.0 * n / reduce, copy, "device-to-device copy (torch)", ">= 0.85");
        try (ExecutionContext ctx = gpu.open(BuiltinKernel.REDUCE_SUM, LaunchParams.builder().put("n", n).build())) {
            ctx.run();
            ctx.wipe((byte) 0xa5);
            long[] w = ((CudaJob) ctx).deviceWipeStats();
            // fill writes every byte once, verify reads it once: 2 bytes of traffic per byte wiped
            add("wipe fill+verify GB/s (2 x bytes)", 2.0 * w[1] / w[0], copy, "device-to-device copy (torch)",
                    ">= 0.80");
        }
        try (ExecutionContext ctx = gpu.open(BuiltinKernel.SAXPY,
                LaunchParams.builder().put("n", n).put("alpha", 1f).build())) {
            ctx.run();
            ((CudaJob) ctx).inputRoot("x");
            long[] r = ((CudaJob) ctx).rootStats();
            add("merkle (RFC 6962, 4 KiB leaves) GB/s", (double) r[1] / r[0], Double.NaN, "goal 50 GB/s", ">= 50 GB/s");
        }
        int big = 8192;
        LaunchParams p = LaunchParams.builder().put("m", big).put("k", big).put("n", big).build();
        long bare = best(gpu, BuiltinKernel.SGEMM, p, 2);
        try (ExecutionContext ctx = gpu.open(BuiltinKernel.SGEMM, p)) {
            fill(ctx.input("a"));
            fill(ctx.input("b"));
            ctx.run();
            CudaJob job = (CudaJob) ctx;
            job.inputRoot("a");
            job.inputRoot("b");
            ctx.outputRoot("c");
            ctx.wipe((byte) 0x6d);
            long trust = job.rootStats()[0] + job.deviceWipeStats()[0];
            double overhead = 100.0 * trust / bare;
            rows.add(new String[] {"verified sgemm n=8192: trust overhead", String.format(Locale.ROOT, "%.1f %%",
                    overhead), String.format(Locale.ROOT, "bare kernel %.1f ms", bare / 1e6), "<= 3 %"});
            json.put("sgemm8192_bare_ms", bare / 1e6);
            json.put("sgemm8192_trust_ms", trust / 1e6);
            json.put("sgemm8192_trust_overhead_pct", overhead);
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
        String fmt = "| %-40s | %-22s | %-52s | %-10s |%n";
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
