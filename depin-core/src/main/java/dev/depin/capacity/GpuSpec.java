package dev.depin.capacity;

import dev.depin.InvalidArgumentException;
import java.util.regex.Pattern;

/**
 * The GPUs wanted on each machine: a model as markets name it ({@code h100}, {@code a100},
 * {@code rtx4090}; lower case) and how many per machine. {@link #NONE} asks for a machine
 * without a GPU (the CPU executor).
 *
 * @param model lower-case letters, digits and dashes, 1 to 40 characters; empty for none
 * @param count GPUs per machine, 1 to 64; 0 exactly when the model is empty
 */
public record GpuSpec(String model, int count) {
    /** No GPU: the node runs the CPU executor. */
    public static final GpuSpec NONE = new GpuSpec("", 0);

    private static final Pattern MODEL = Pattern.compile("[a-z0-9][a-z0-9-]{0,39}");

    /**
     * Checks the model and count.
     *
     * @param model lower-case letters, digits and dashes, 1 to 40 characters; empty for none
     * @param count GPUs per machine, 1 to 64; 0 exactly when the model is empty
     * @throws InvalidArgumentException on a malformed model or a count out of range
     */
    public GpuSpec {
        InvalidArgumentException.requireNonNull(model, "GPU model");
        if (model.isEmpty()) {
            if (count != 0) {
                throw new InvalidArgumentException("GPU count " + count + " without a model: name the model, e.g. h100");
            }
        } else {
            if (!MODEL.matcher(model).matches()) {
                throw new InvalidArgumentException("GPU model '" + model
                        + "' must be 1 to 40 lower-case letters, digits or dashes, e.g. h100 or a100");
            }
            if (count < 1 || count > 64) {
                throw new InvalidArgumentException("GPU count " + count + " must be 1 to 64 per machine");
            }
        }
    }

    /**
     * Parses {@code "h100"}, {@code "h100x2"} or {@code "none"}.
     *
     * @param model a model, or {@code none}
     * @param count GPUs per machine (ignored for {@code none})
     * @return the spec
     * @throws InvalidArgumentException if malformed
     */
    public static GpuSpec of(String model, int count) {
        InvalidArgumentException.requireNonNull(model, "GPU model");
        String m = model.trim().toLowerCase(java.util.Locale.ROOT);
        return m.equals("none") || m.equals("cpu") ? NONE : new GpuSpec(m, count);
    }

    /** @return whether a GPU is wanted */
    public boolean any() {
        return count > 0;
    }

    @Override
    public String toString() {
        return any() ? count + "x" + model : "no GPU";
    }
}
