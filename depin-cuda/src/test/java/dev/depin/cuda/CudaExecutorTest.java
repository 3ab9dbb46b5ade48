package dev.depin.cuda;

import dev.depin.executor.ExecutorContractTest;
import dev.depin.executor.spi.DeviceExecutor;
import org.junit.jupiter.api.extension.ExtendWith;

/** The executor contract suite on the first CUDA device; skipped, saying why, without one. */
@ExtendWith(RequiresCuda.class)
class CudaExecutorTest extends ExecutorContractTest {
    @Override
    protected DeviceExecutor createExecutor() {
        return new CudaExecutor(0);
    }
}
