package dev.depin.cuda;

import dev.depin.DepinException;
import jcuda.driver.JCudaDriver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether CUDA can be used in this JVM, probed once, in the manner of Netty's
 * {@code Epoll}: {@link #isAvailable()}, {@link #unavailabilityCause()},
 * {@link #ensureAvailability()}.
 *
 * <p>JCuda's {@code JCudaDriver} loads {@code libcuda.so.1} in its static initializer and
 * throws {@link UnsatisfiedLinkError} when there is no NVIDIA driver. The probe touches it
 * exactly once, inside {@code catch (Throwable)}, then calls {@code cuInit} and
 * {@code cuDeviceGetCount}; any failure is remembered as the cause and logged once at
 * info. Nothing here ever crashes a JVM without a GPU. Set the system property
 * {@value #DISABLE_PROPERTY}{@code =true} to skip the probe and report CUDA unavailable.
 *
 * <pre>{@code
 * if (Cuda.isAvailable()) {
 *     System.out.println(Cuda.deviceCount() + " CUDA device(s)");
 * } else {
 *     System.out.println("CPU only: " + Cuda.unavailabilityCause().getMessage());
 * }
 * }</pre>
 */
public final class Cuda {
    /** System property that turns CUDA off without probing. */
    public static final String DISABLE_PROPERTY = "depin.cuda.disabled";

    private static final Logger LOG = LoggerFactory.getLogger(Cuda.class);
    private static final Probe PROBE = probe();

    private Cuda() {
    }

    /** @return whether a CUDA driver and at least one device are present and usable */
    public static boolean isAvailable() {
        return PROBE.cause == null;
    }

    /** @return why CUDA is unavailable, or {@code null} when it is available */
    public static Throwable unavailabilityCause() {
        return PROBE.cause;
    }

    /** @return CUDA devices found; 0 when CUDA is unavailable */
    public static int deviceCount() {
        return PROBE.devices;
    }

    /**
     * Fails unless CUDA is available.
     *
     * @throws CudaUnavailableException with the probe's cause and what to do about it
     */
    public static void ensureAvailability() {
        if (PROBE.cause != null) {
            throw new CudaUnavailableException("CUDA is unavailable: " + PROBE.cause.getMessage()
                    + ". Install an NVIDIA driver (CUDA 12.6 or newer) on a machine with a GPU, or use the CPU "
                    + "executor", PROBE.cause);
        }
    }

    private record Probe(int devices, Throwable cause) {
    }

    private static Probe probe() {
        if (Boolean.getBoolean(DISABLE_PROPERTY)) {
            Probe p = new Probe(0, new CudaUnavailableException("disabled by -D" + DISABLE_PROPERTY + "=true"));
            LOG.info("CUDA disabled by -D{}=true: using the CPU executor", DISABLE_PROPERTY);
            return p;
        }
        try {
            JCudaDriver.setExceptionsEnabled(true);
            JCudaDriver.cuInit(0);
            int[] count = new int[1];
            JCudaDriver.cuDeviceGetCount(count);
            if (count[0] < 1) {
                throw new CudaUnavailableException("the CUDA driver reports no device");
            }
            LOG.info("CUDA available: {} device(s)", count[0]);
            return new Probe(count[0], null);
        } catch (Throwable t) {
            Throwable cause = t instanceof UnsatisfiedLinkError
                    ? new CudaUnavailableException("no NVIDIA driver: " + firstLine(t.getMessage()), t)
                    : t;
            LOG.info("CUDA unavailable ({}): GPU executors are off, the CPU executor runs every job", cause.getMessage());
            return new Probe(0, cause);
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "native library could not be loaded";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** CUDA cannot be used here; the message says why and what to do. */
    public static final class CudaUnavailableException extends DepinException {
        private static final long serialVersionUID = 1L;

        CudaUnavailableException(String message) {
            super(message);
        }

        CudaUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
