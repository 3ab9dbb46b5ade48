package dev.depin.kernel;

import dev.depin.DepinException;

/**
 * An executor was asked to run a kernel it cannot run, such as user PTX on the CPU
 * executor. The job itself may be valid; route it to a provider that offers the kernel.
 */
public class UnsupportedKernelException extends DepinException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong and what to do */
    public UnsupportedKernelException(String message) {
        super(message);
    }
}
