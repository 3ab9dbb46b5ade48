package dev.depin.cuda;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Skips a test class, saying why, where the {@link Cuda} probe finds no usable device. */
public final class RequiresCuda implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        return Cuda.isAvailable()
                ? ConditionEvaluationResult.enabled(Cuda.deviceCount() + " CUDA device(s)")
                : ConditionEvaluationResult.disabled("no CUDA device here, so this runs on a GPU machine only "
                        + "(depin-cuda/scripts/gpu-check.sh): " + Cuda.unavailabilityCause().getMessage());
    }
}
