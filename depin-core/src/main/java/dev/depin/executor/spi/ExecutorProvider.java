package dev.depin.executor.spi;

/**
 * Discovers one kind of executor through {@link java.util.ServiceLoader}. Discovery is
 * cheap: constructing a provider and calling {@link #name()} or {@link #rank()} loads no
 * native code. {@link #availability()} probes the hardware once (and may load native
 * libraries inside a catch); {@link #create(int)} starts the executor.
 *
 * <p>Register an implementation in
 * {@code META-INF/services/dev.depin.executor.spi.ExecutorProvider}.
 */
public interface ExecutorProvider {

    /** @return the executor kind, e.g. {@code "cpu"} */
    String name();

    /** @return preference among available executors; higher wins (CPU is 0, CUDA 100) */
    int rank();

    /**
     * Whether this executor can run on this machine, and if not, why. Probes once and
     * remembers the answer; never throws.
     */
    Availability availability();

    /**
     * Starts an executor.
     *
     * @param hostThreads CPU threads the executor may use for host-side work (all of its
     *                    compute, for the CPU executor), &ge; 1
     * @throws ExecutionFailedException if the hardware is unavailable; the message says why
     */
    Executor create(int hostThreads);

    /**
     * The result of a probe.
     *
     * @param available whether the executor can be created
     * @param cause     why not, or a short description of what was found
     */
    record Availability(boolean available, String cause) {
        /** @return an available result with a description */
        public static Availability yes(String what) {
            return new Availability(true, what);
        }

        /** @return an unavailable result with its cause */
        public static Availability no(String cause) {
            return new Availability(false, cause);
        }
    }
}
