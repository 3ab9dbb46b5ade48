package dev.depin.executor.spi;

/**
 * Discovers one kind of executor through {@link java.util.ServiceLoader}. Discovery is
 * cheap: constructing a provider and calling {@link #name()} or {@link #rank()} loads no
 * native code. {@link #availability()} probes the hardware once (and may load native
 * libraries inside a catch); {@link #create} starts the executor.
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
     *
     * @return the probe's result
     */
    Availability availability();

    /**
     * Starts an executor.
     *
     * @param options which device and how many host threads
     * @return the started executor; the caller closes it
     * @throws ExecutionFailedException if the hardware is unavailable; the message says why
     */
    DeviceExecutor create(ExecutorOptions options);

    /**
     * The result of a probe.
     *
     * @param available whether the executor can be created
     * @param cause     why not, or a short description of what was found
     */
    record Availability(boolean available, String cause) {
        /**
         * @param what a short description of what was found
         * @return an available result
         */
        public static Availability yes(String what) {
            return new Availability(true, what);
        }

        /**
         * @param cause why the executor cannot run here
         * @return an unavailable result
         */
        public static Availability no(String cause) {
            return new Availability(false, cause);
        }
    }
}
