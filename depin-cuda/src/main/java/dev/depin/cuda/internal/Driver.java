package dev.depin.cuda.internal;

import dev.depin.cuda.DeviceException;
import java.util.function.IntSupplier;
import jcuda.CudaException;
import jcuda.driver.CUresult;

/**
 * Every JCuda driver call goes through {@link #call}: a non-success {@code CUresult} (or
 * JCuda's own {@link CudaException} when its exceptions are enabled, or a native linkage
 * error) becomes a {@link DeviceException} naming the call and the error.
 */
public final class Driver {
    private Driver() {
    }

    /**
     * Runs one driver call and checks its result.
     *
     * @param what the call and its key arguments, for the message
     * @param call the call
     * @throws DeviceException if it does not return {@code CUDA_SUCCESS}
     */
    public static void call(String what, IntSupplier call) {
        int r;
        try {
            r = call.getAsInt();
        } catch (CudaException e) {
            throw new DeviceException(what, errorName(e.getMessage()), advice(e.getMessage()), e);
        } catch (LinkageError e) {
            throw new DeviceException(what, "native library unavailable (" + e.getMessage() + ")",
                    "install an NVIDIA driver or use the CPU executor", e);
        }
        check(what, r);
    }

    /**
     * Checks a driver result.
     *
     * @param what   the call and its key arguments
     * @param result its {@code CUresult}
     * @throws DeviceException unless {@code result} is {@code CUDA_SUCCESS}
     */
    public static void check(String what, int result) {
        if (result != CUresult.CUDA_SUCCESS) {
            String name = name(result);
            throw new DeviceException(what, name, advice(name), null);
        }
    }

    /**
     * @param result a {@code CUresult}
     * @return its name, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}, without touching native code
     */
    public static String name(int result) {
        String s = CUresult.stringFor(result);
        return s == null || s.startsWith("INVALID CUresult") ? "CUresult " + result : s;
    }

    private static String errorName(String message) {
        if (message == null) {
            return "unknown CUDA error";
        }
        int i = message.indexOf("CUDA_ERROR_");
        if (i < 0) {
            return message;
        }
        int j = i;
        while (j < message.length() && (Character.isUpperCase(message.charAt(j)) || message.charAt(j) == '_'
                || Character.isDigit(message.charAt(j)))) {
            j++;
        }
        return message.substring(i, j);
    }

    static String advice(String error) {
        if (error == null) {
            return "";
        }
        if (error.contains("OUT_OF_MEMORY")) {
            return "the device has too little free memory for this job: run a smaller job or wait for others to end";
        }
        if (error.contains("UNSUPPORTED_PTX_VERSION") || error.contains("NO_BINARY_FOR_GPU")) {
            return "the driver is older than the kernels need (PTX ISA 9.0 needs driver >= 580, CUDA 13)";
        }
        if (error.contains("INVALID_PTX") || error.contains("INVALID_IMAGE")) {
            return "the PTX does not compile for this device: check its .version and .target";
        }
        return "";
    }
}
