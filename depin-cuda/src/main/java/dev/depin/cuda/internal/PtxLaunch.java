package dev.depin.cuda.internal;

import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;

import dev.depin.kernel.LaunchParams;
import dev.depin.kernel.PtxKernel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;

/**
 * How the CUDA executor launches user PTX: the entry's signature is checked against the
 * declared parameters ({@link PtxBinding}) before anything touches the device, the module is
 * loaded (JIT-compiled by the driver) for the job and unloaded with it, outputs are zeroed
 * before the launch, and arguments are passed by declared kind.
 */
final class PtxLaunch implements CudaJob.Launch {
    private final CudaJob job;
    private final PtxKernel kernel;
    private final LaunchParams params;
    private final CUmodule module = new CUmodule();
    private final CUfunction function = new CUfunction();
    private boolean loaded;

    private PtxLaunch(CudaJob job, PtxKernel kernel, LaunchParams params) {
        this.job = job;
        this.kernel = kernel;
        this.params = params;
    }

    /** The launch of one user kernel: checks its signature, then loads it per job. */
    static final class Factory implements CudaLaunch {
        private final PtxKernel kernel;

        Factory(PtxKernel kernel) {
            this.kernel = kernel;
        }

        /** Reads the entry's signature and checks it against the declared parameters, before any device work. */
        @Override
        public void check(LaunchParams p) {
            PtxBinding.of(kernel);
        }

        @Override
        public CudaJob.Launch prepare(CudaJob job, LaunchParams p) {
            return load(job, kernel, p);
        }
    }

    /**
     * Loads the module (the driver JIT-compiles the PTX) and finds the entry.
     *
     * @param job    the job (its context is current on this thread)
     * @param kernel the user's kernel, whose signature was checked
     * @param params its launch parameters
     * @return the launch; closing it unloads the module
     * @throws dev.depin.cuda.DeviceException if the driver refuses the PTX
     */
    private static PtxLaunch load(CudaJob job, PtxKernel kernel, LaunchParams params) {
        PtxLaunch l = new PtxLaunch(job, kernel, params);
        byte[] text = (kernel.ptx() + "\0").getBytes(StandardCharsets.US_ASCII);
        Driver.call("cuModuleLoadData(user PTX " + kernel.entry() + ")", () -> cuModuleLoadData(l.module, text));
        l.loaded = true;
        try {
            Driver.call("cuModuleGetFunction(" + kernel.entry() + ")",
                    () -> cuModuleGetFunction(l.function, l.module, kernel.entry()));
        } catch (RuntimeException e) {
            l.close();
            throw e;
        }
        return l;
    }

    @Override
    public void run() {
        int[] g = kernel.geometry(params);
        List<Object> args = new ArrayList<>();
        for (PtxKernel.Param p : kernel.params()) {
            switch (p.kind()) {
                case INPUT -> args.add(job.deviceInput(p.name()));
                case OUTPUT -> {
                    job.zeroOutput(p.name());
                    args.add(job.deviceOutput(p.name()));
                }
                case I32 -> args.add((int) params.requireLong(p.name()));
                case F32 -> args.add(params.requireFloat(p.name()));
            }
        }
        job.launch(function, kernel.entry(), g, args.toArray());
    }

    @Override
    public void close() {
        if (loaded) {
            loaded = false;
            int r = cuModuleUnload(module);
            if (r != 0) {
                org.slf4j.LoggerFactory.getLogger(PtxLaunch.class).warn("cuModuleUnload(user PTX {}) failed: {}",
                        kernel.entry(), Driver.name(r));
            }
        }
    }
}
