package dev.depin.executor;

import dev.depin.DepinException;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutorOptions;
import dev.depin.executor.spi.ExecutorProvider;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds executors through {@link ServiceLoader} and picks the best available one. The
 * CPU executor is always there; a CUDA executor ranks above it when its module is on
 * the class path and a driver and device are present. A machine without a GPU driver
 * gets the CPU executor and one info line saying why.
 *
 * <pre>{@code
 * try (DeviceExecutor best = ExecutorRegistry.createBest(ExecutorOptions.defaults())) {
 *     System.out.println(best.kind() + " on " + best.device().model());
 * }
 * }</pre>
 */
public final class ExecutorRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorRegistry.class);

    private ExecutorRegistry() {
    }

    /**
     * The registered executor providers.
     *
     * @return every registered provider, highest rank first; loads no native code
     */
    public static List<ExecutorProvider> providers() {
        // Constructing providers is cheap by contract; availability() is what probes.
        List<ExecutorProvider> list = new ArrayList<>();
        ServiceLoader.load(ExecutorProvider.class, ExecutorRegistry.class.getClassLoader()).forEach(list::add);
        list.sort(Comparator.comparingInt(ExecutorProvider::rank).reversed().thenComparing(ExecutorProvider::name));
        return list;
    }

    /**
     * Creates the highest-ranked executor whose hardware is present. Providers that are
     * unavailable, or fail to start, are logged once at info with their cause and
     * skipped.
     *
     * @param options which device and how many host threads
     * @return a started executor, which the caller closes
     */
    public static DeviceExecutor createBest(ExecutorOptions options) {
        dev.depin.InvalidArgumentException.requireNonNull(options, "executor options");
        List<String> skipped = new ArrayList<>();
        for (ExecutorProvider p : providers()) {
            ExecutorProvider.Availability a = p.availability();
            if (!a.available()) {
                LOG.info("{} executor unavailable, skipping it: {}", p.name(), a.cause());
                skipped.add(p.name() + ": " + a.cause());
                continue;
            }
            try {
                DeviceExecutor e = p.create(options);
                LOG.info("executor: {} on {} ({})", e.kind(), e.device().model(), a.cause());
                return e;
            } catch (DepinException | LinkageError e) {
                LOG.warn("{} executor failed to start, skipping it: {}", p.name(), e.toString());
                skipped.add(p.name() + ": " + e);
            }
        }
        LOG.info("falling back to the CPU reference executor");
        if (!skipped.isEmpty()) {
            LOG.debug("skipped executors: {}", skipped);
        }
        return new CpuExecutor(options.hostThreads());
    }
}
