package dev.depin.metrics;

import dev.depin.InvalidArgumentException;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * GPU telemetry (utilisation, memory, temperature, power, and the energy integrated from
 * power) read from NVIDIA's management library through {@code nvidia-smi}, which ships with
 * every NVIDIA driver: one {@code --query-gpu} per interval on a daemon thread, published as
 * gauges in a Micrometer registry. Where there is no {@code nvidia-smi} or it fails (no
 * driver, no GPU, a container without the device) the telemetry is simply unavailable, with
 * the reason in {@link #unavailability()}; nothing throws and nothing is published. Why
 * nvidia-smi rather than NVML through JNA or the FFM API: docs/decisions.md, "GPU telemetry
 * through nvidia-smi".
 */
public final class GpuTelemetry implements AutoCloseable {
    /** The fields asked for, in this order; {@link #parse} reads them (rows without the uuid too). */
    public static final String QUERY = "index,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw,"
            + "uuid";
    private static final java.util.regex.Pattern GPU_UUID = java.util.regex.Pattern.compile(
            "GPU-([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})",
            java.util.regex.Pattern.CASE_INSENSITIVE);
    private static final long MIB = 1L << 20;
    private static final int MAX_OUTPUT = 64 << 10;
    private static final long QUERY_TIMEOUT_MS = 5_000;

    /**
     * One GPU at one moment; a field the driver does not report ({@code [N/A]},
     * {@code [Not Supported]}) is NaN.
     *
     * @param index          the GPU's index
     * @param name           its product name
     * @param utilization    percent of the last sample period a kernel ran, 0 to 100
     * @param memoryUsed     bytes of device memory in use
     * @param memoryTotal    bytes of device memory
     * @param temperature    degrees Celsius
     * @param power          watts drawn by the board
     * @param uuid           the GPU's UUID as nvidia-smi writes it ({@code GPU-xxxxxxxx-...}), or
     *                       empty where the row does not have it
     */
    public record Sample(int index, String name, double utilization, double memoryUsed, double memoryTotal,
                         double temperature, double power, String uuid) {
        /**
         * A row without the UUID (nvidia-smi output recorded before it was asked for).
         *
         * @param index       the GPU's index
         * @param name        its product name
         * @param utilization percent of the last sample period a kernel ran
         * @param memoryUsed  bytes of device memory in use
         * @param memoryTotal bytes of device memory
         * @param temperature degrees Celsius
         * @param power       watts drawn by the board
         */
        public Sample(int index, String name, double utilization, double memoryUsed, double memoryTotal,
                      double temperature, double power) {
            this(index, name, utilization, memoryUsed, memoryTotal, temperature, power, "");
        }

        /**
         * @return the SHA-256 (hex) of the UUID's 16 bytes, which is how an executor names its
         *         device ({@code DeviceInfo.uuidHash}), or null where the row has no GPU UUID
         */
        public String uuidHash() {
            java.util.regex.Matcher m = GPU_UUID.matcher(uuid);
            if (!m.matches()) {
                return null;
            }
            String hex = m.group(1) + m.group(2) + m.group(3) + m.group(4) + m.group(5);
            return dev.depin.crypto.Sha256.hex(dev.depin.crypto.Hex.decode(hex));
        }
    }

    private final List<String> command;
    private final ScheduledExecutorService poller;
    private final AtomicReference<List<Sample>> latest = new AtomicReference<>(List.of());
    private final DoubleAdder energyJoules = new DoubleAdder();
    private final MeterRegistry registry;
    private volatile String unavailability;
    private volatile long lastSampleNanos;
    private boolean registered;

    private GpuTelemetry(MeterRegistry registry, List<String> command, Duration every) {
        this.registry = registry;
        this.command = List.copyOf(command);
        List<Sample> first;
        try {
            first = parse(query());
        } catch (IOException | RuntimeException e) {
            first = null;
            unavailability = "nvidia-smi (" + command.get(0) + ") gave no GPU readings: " + e.getMessage();
        }
        if (first == null || first.isEmpty()) {
            if (unavailability == null) {
                unavailability = "nvidia-smi lists no GPU";
            }
            poller = null;
            return;
        }
        accept(first);
        poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "depin-gpu-telemetry");
            t.setDaemon(true);
            return t;
        });
        long ms = every.toMillis();
        poller.scheduleWithFixedDelay(this::poll, ms, ms, TimeUnit.MILLISECONDS);
    }

    /**
     * Starts reading {@code nvidia-smi} from the {@code PATH} every {@code every}.
     *
     * @param registry where the gauges go
     * @param every    how often to sample, 100 ms to 1 h
     * @return the telemetry; {@link #available()} false where there is no NVIDIA GPU to read
     * @throws InvalidArgumentException on nulls or an interval out of range
     */
    public static GpuTelemetry start(MeterRegistry registry, Duration every) {
        return start(registry, every, List.of("nvidia-smi"));
    }

    /**
     * Starts reading with another command line (a full path to {@code nvidia-smi}, or a
     * recorded session's replay); the query arguments are appended to it.
     *
     * @param registry where the gauges go
     * @param every    how often to sample, 100 ms to 1 h
     * @param command  the program and any leading arguments
     * @return the telemetry
     * @throws InvalidArgumentException on nulls, an empty command or an interval out of range
     */
    public static GpuTelemetry start(MeterRegistry registry, Duration every, List<String> command) {
        InvalidArgumentException.requireNonNull(registry, "meter registry");
        InvalidArgumentException.requireNonNull(every, "telemetry interval");
        InvalidArgumentException.requireNonNull(command, "telemetry command");
        if (command.isEmpty()) {
            throw new InvalidArgumentException("the telemetry command is empty: give nvidia-smi's path");
        }
        if (every.compareTo(Duration.ofMillis(100)) < 0 || every.compareTo(Duration.ofHours(1)) > 0) {
            throw new InvalidArgumentException("telemetry interval " + every + " must be 100 ms to 1 h");
        }
        return new GpuTelemetry(registry, command, every);
    }

    /** @return whether GPU readings are being published */
    public boolean available() {
        return unavailability == null;
    }

    /** @return why there are no readings, or null when there are */
    public String unavailability() {
        return unavailability;
    }

    /** @return the latest reading of every GPU; empty when unavailable */
    public List<Sample> latest() {
        return latest.get();
    }

    /** @return the board power of every GPU now, in watts (NaN when unavailable or not reported) */
    public double powerWatts() {
        double w = 0;
        List<Sample> s = latest.get();
        if (s.isEmpty()) {
            return Double.NaN;
        }
        for (Sample g : s) {
            if (Double.isNaN(g.power())) {
                return Double.NaN;
            }
            w += g.power();
        }
        return w;
    }

    /**
     * The board power of one GPU, matched by its UUID rather than its index (nvidia-smi lists
     * GPUs in PCI order, CUDA by default fastest first, and {@code CUDA_VISIBLE_DEVICES}
     * renumbers them), so a node that drives one GPU of several states that GPU's energy, not
     * the whole machine's.
     *
     * @param uuidHash the device's {@code DeviceInfo.uuidHash}
     * @return its power now, in watts; NaN when no listed GPU has that UUID or it reports none
     * @throws InvalidArgumentException if {@code uuidHash} is null
     */
    public double powerWatts(String uuidHash) {
        InvalidArgumentException.requireNonNull(uuidHash, "device uuid hash");
        for (Sample g : latest.get()) {
            if (uuidHash.equals(g.uuidHash())) {
                return g.power();
            }
        }
        return Double.NaN;
    }

    /** @return joules drawn by every GPU since start: power × time between samples */
    public double energyJoules() {
        return energyJoules.sum();
    }

    private void poll() {
        try {
            accept(parse(query()));
        } catch (IOException | RuntimeException e) {
            // A failed sample leaves the last one in place; the next interval tries again.
        }
    }

    private synchronized void accept(List<Sample> samples) {
        long now = System.nanoTime();
        List<Sample> before = latest.get();
        if (lastSampleNanos != 0 && before.size() == samples.size()) {
            double seconds = (now - lastSampleNanos) / 1e9;
            for (int i = 0; i < samples.size(); i++) {
                double a = before.get(i).power();
                double b = samples.get(i).power();
                if (!Double.isNaN(a) && !Double.isNaN(b)) {
                    energyJoules.add((a + b) / 2 * seconds); // trapezoid between two readings
                }
            }
        }
        lastSampleNanos = now;
        latest.set(List.copyOf(samples));
        if (!registered) {
            registered = true;
            for (int i = 0; i < samples.size(); i++) {
                register(i, samples.get(i));
            }
            FunctionCounter.builder("depin.gpu.energy", energyJoules, DoubleAdder::sum).baseUnit("joules")
                    .description("Energy drawn by the node's GPUs, integrated from nvidia-smi's power readings")
                    .tag("source", "measured").register(registry);
        }
    }

    private void register(int position, Sample first) {
        Tags tags = Tags.of("gpu", String.valueOf(first.index()), "model", first.name());
        gauge("depin.gpu.utilization", "percent", "Percent of the last sample period a kernel ran", tags, position,
                Sample::utilization);
        gauge("depin.gpu.memory.used", "bytes", "Device memory in use", tags, position, Sample::memoryUsed);
        gauge("depin.gpu.memory.total", "bytes", "Device memory", tags, position, Sample::memoryTotal);
        gauge("depin.gpu.temperature", "celsius", "GPU temperature", tags, position, Sample::temperature);
        gauge("depin.gpu.power", "watts", "Board power draw", tags, position, Sample::power);
    }

    private void gauge(String name, String unit, String help, Tags tags, int position,
                       java.util.function.ToDoubleFunction<Sample> field) {
        Gauge.builder(name, latest, l -> {
            List<Sample> s = l.get();
            return position < s.size() ? field.applyAsDouble(s.get(position)) : Double.NaN;
        }).baseUnit(unit).description(help).tags(tags).register(registry);
    }

    private String query() throws IOException {
        List<String> cmd = new ArrayList<>(command);
        cmd.add("--query-gpu=" + QUERY);
        cmd.add("--format=csv,noheader,nounits");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try (InputStream in = p.getInputStream()) {
            byte[] out = in.readNBytes(MAX_OUTPUT);
            if (!p.waitFor(QUERY_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                throw new IOException("no answer within " + QUERY_TIMEOUT_MS + " ms");
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                String first = text.lines().findFirst().orElse("");
                throw new IOException("exit status " + p.exitValue() + (first.isEmpty() ? "" : ": " + first));
            }
            return text;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } finally {
            p.destroyForcibly();
        }
    }

    /**
     * Parses {@code nvidia-smi --query-gpu=}{@value #QUERY}{@code --format=csv,noheader,nounits}:
     * one line per GPU, fields separated by {@code ", "}, memory in MiB.
     *
     * @param csv the program's output
     * @return one sample per GPU, in the order listed
     * @throws InvalidArgumentException on a line that does not have the seven fields (rows
     *                                  recorded before the uuid was asked for) or the eight,
     *                                  or a field that is neither a number nor a bracketed
     *                                  "not available"
     */
    public static List<Sample> parse(String csv) {
        InvalidArgumentException.requireNonNull(csv, "nvidia-smi output");
        List<Sample> out = new ArrayList<>();
        for (String line : csv.split("\\R")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(",", -1);
            if (f.length != 7 && f.length != 8) {
                throw new InvalidArgumentException("nvidia-smi line '" + shorten(line) + "' has " + f.length
                        + " fields, not the 8 of " + QUERY + " (or 7 without the uuid)");
            }
            double index = number(f[0], line);
            if (Double.isNaN(index) || index < 0 || index != Math.rint(index) || index > 4096) {
                throw new InvalidArgumentException("nvidia-smi line '" + shorten(line) + "' has no GPU index");
            }
            out.add(new Sample((int) index, f[1].strip(), number(f[2], line), number(f[3], line) * MIB,
                    number(f[4], line) * MIB, number(f[5], line), number(f[6], line),
                    f.length == 8 ? shorten(f[7].strip()) : ""));
        }
        return out;
    }

    private static double number(String field, String line) {
        String v = field.strip();
        if (v.startsWith("[") && v.endsWith("]")) {
            return Double.NaN; // [N/A], [Not Supported], [Unknown Error]
        }
        try {
            double d = Double.parseDouble(v);
            if (!Double.isFinite(d) || d < 0) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new InvalidArgumentException("nvidia-smi line '" + shorten(line) + "': '" + shorten(v)
                    + "' is not a reading");
        }
    }

    private static String shorten(String s) {
        String t = s.length() <= 120 ? s : s.substring(0, 120) + "…";
        return t.replaceAll("\\p{Cntrl}", "?");
    }

    @Override
    public void close() {
        if (poller != null) {
            poller.shutdownNow();
        }
    }
}
