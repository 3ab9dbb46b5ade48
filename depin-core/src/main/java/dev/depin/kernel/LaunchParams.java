package dev.depin.kernel;

import dev.depin.InvalidArgumentException;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A kernel's scalar launch parameters: integer dimensions (such as {@code m}, {@code k},
 * {@code n}) and float scalars (such as {@code alpha}). Immutable and ordered by name,
 * so its canonical form is stable.
 *
 * <pre>{@code
 * LaunchParams p = LaunchParams.builder().put("m", 64).put("k", 32).put("n", 16).build();
 * }</pre>
 *
 * @param longs  integer parameters by name
 * @param floats float parameters by name; every value finite
 */
public record LaunchParams(SortedMap<String, Long> longs, SortedMap<String, Float> floats) {

    /** No parameters. */
    public static final LaunchParams EMPTY = new LaunchParams(new TreeMap<>(), new TreeMap<>());

    /**
     * Copies both maps and checks every name and value.
     *
     * @param longs  integer parameters by name
     * @param floats float parameters by name; every value finite
     * @throws InvalidArgumentException on a malformed name, a duplicate name or a non-finite float
     */
    public LaunchParams {
        InvalidArgumentException.requireNonNull(longs, "integer launch parameters");
        InvalidArgumentException.requireNonNull(floats, "float launch parameters");
        longs = Collections.unmodifiableSortedMap(new TreeMap<>(longs));
        floats = Collections.unmodifiableSortedMap(new TreeMap<>(floats));
        for (Map.Entry<String, Long> e : longs.entrySet()) {
            checkName(e.getKey());
            if (e.getValue() == null) { // the message only when needed: every spec received builds these
                InvalidArgumentException.requireNonNull(e.getValue(), "launch parameter '" + e.getKey() + "'");
            }
        }
        for (Map.Entry<String, Float> e : floats.entrySet()) {
            checkName(e.getKey());
            if (e.getValue() == null) { // the message only when needed: every spec received builds these
                InvalidArgumentException.requireNonNull(e.getValue(), "launch parameter '" + e.getKey() + "'");
            }
            if (!Float.isFinite(e.getValue())) {
                throw new InvalidArgumentException("launch parameter '" + e.getKey() + "' is " + e.getValue()
                        + ": float parameters must be finite");
            }
            if (longs.containsKey(e.getKey())) {
                throw new InvalidArgumentException("launch parameter '" + e.getKey()
                        + "' is given both as an integer and as a float: give it once");
            }
        }
    }

    private static void checkName(String name) {
        if (!validName(name)) {
            throw new InvalidArgumentException("launch parameter name '" + name
                    + "' must start with a letter and have at most 32 letters, digits, '_' or '.'");
        }
    }

    /** {@code [A-Za-z][A-Za-z0-9_.]{0,31}}, checked by hand (every spec a node receives has its parameters named). */
    private static boolean validName(String name) {
        if (name == null || name.isEmpty() || name.length() > 32) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            if (!(letter || (i > 0 && ((c >= '0' && c <= '9') || c == '_' || c == '.')))) {
                return false;
            }
        }
        return true;
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The integer parameter {@code name}.
     *
     * @param name the parameter's name
     * @return its value
     * @throws ShapeMismatchException if it is missing
     */
    public long requireLong(String name) {
        Long v = longs.get(name);
        if (v == null) {
            throw new ShapeMismatchException("launch parameter '" + name + "' is missing: set it with "
                    + "LaunchParams.builder().put(\"" + name + "\", value)");
        }
        return v;
    }

    /**
     * The float parameter {@code name}.
     *
     * @param name the parameter's name
     * @return its value
     * @throws ShapeMismatchException if it is missing
     */
    public float requireFloat(String name) {
        Float v = floats.get(name);
        if (v == null) {
            throw new ShapeMismatchException("float launch parameter '" + name + "' is missing: set it with "
                    + "LaunchParams.builder().put(\"" + name + "\", 1.0f)");
        }
        return v;
    }

    /** Builds {@link LaunchParams}. */
    public static final class Builder {
        private final TreeMap<String, Long> longs = new TreeMap<>();
        private final TreeMap<String, Float> floats = new TreeMap<>();

        private Builder() {
        }

        /**
         * Sets an integer parameter.
         *
         * @param name  the parameter's name: a letter, then up to 31 letters, digits, '_' or '.'
         * @param value its value
         * @return this builder
         * @throws InvalidArgumentException if the name is malformed
         */
        public Builder put(String name, long value) {
            checkName(name);
            longs.put(name, value);
            return this;
        }

        /**
         * Sets a float parameter.
         *
         * @param name  the parameter's name: a letter, then up to 31 letters, digits, '_' or '.'
         * @param value its value; {@link LaunchParams} rejects a non-finite one when built
         * @return this builder
         * @throws InvalidArgumentException if the name is malformed
         */
        public Builder put(String name, float value) {
            checkName(name);
            floats.put(name, value);
            return this;
        }

        /** @return the parameters */
        public LaunchParams build() {
            return new LaunchParams(longs, floats);
        }
    }
}
