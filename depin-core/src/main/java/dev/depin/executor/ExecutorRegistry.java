package dev.depin.executor;

import dev.depin.DepinException;
import dev.depin.executor.spi.Executor;
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
 * try (Executor best = ExecutorRegistry.createBest(Runtime.getRuntime().availableProcessors())) {
 *     System.out.println(best.kind() + " on " + best.device().model());
 * }
 * }</pre>
 */
public final class ExecutorRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorRegistry.class);

    private ExecutorRegistry() {
    }

    /** @return every registered provider, highest rank first; loads no native code */
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
     * @param hostThreads CPU threads the executor may use (all of its compute, for the
     *                    CPU executor), 1 to 1024
     * @return a started executor, which the caller closes
     */
    public static Executor createBest(int hostThreads) {
        if (hostThreads < 1 || hostThreads > 1024) {
            throw new dev.depin.InvalidArgumentException("host threads is " + hostThreads + ": give 1 to 1024");
        }
        List<String> skipped = new ArrayList<>();
        for (ExecutorProvider p : providers()) {
            ExecutorProvider.Availability a = p.availability();
            if (!a.available()) {
                LOG.info("{} executor unavailable, skipping it: {}", p.name(), a.cause());
                skipped.add(p.name() + ": " + a.cause());
                continue;
            }
            try {
                return p.create(hostThreads);
            } catch (DepinException | LinkageError e) {
                LOG.warn("{} executor failed to start, skipping it: {}", p.name(), e.toString());
                skipped.add(p.name() + ": " + e);
            }
        }
        LOG.info("falling back to the CPU reference executor");
        if (!skipped.isEmpty()) {
            LOG.debug("skipped executors: {}", skipped);
        }
        return new CpuExecutor(hostThreads);
    }
}
