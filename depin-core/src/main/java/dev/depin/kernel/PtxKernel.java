package dev.depin.kernel;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Sha256;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A user-supplied CUDA kernel in PTX form. Only CUDA executors run it; the CPU executor
 * rejects it with {@link UnsupportedKernelException}.
 *
 * <p>The kernel's parameters are listed in the order of the PTX entry's signature.
 * Buffer parameters become device pointers; their sizes come from the launch
 * parameters {@code <name>.bytes}. Scalars come from launch parameters of the same
 * name. The launch geometry comes from the integer launch parameters {@code gridX},
 * {@code gridY}, {@code gridZ}, {@code blockX}, {@code blockY}, {@code blockZ}; an
 * optional {@code flops} parameter feeds the price estimate.
 *
 * <pre>{@code
 * PtxKernel scale = new PtxKernel("scale", ptxText, List.of(
 *         PtxKernel.Param.input("x"), PtxKernel.Param.output("y"), PtxKernel.Param.f32("factor")));
 * }</pre>
 *
 * @param entry  the {@code .entry} name in the PTX, a C identifier
 * @param ptx    the PTX module text (ASCII, at most 4 MiB)
 * @param params the entry's parameters in signature order; at least one output buffer
 */
public record PtxKernel(String entry, String ptx, List<Param> params) implements Kernel {
    /** Largest PTX text accepted. */
    public static final int MAX_PTX_CHARS = 4 << 20;
    private static final Pattern IDENT = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
    private static final Pattern PARAM_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_]{0,25}");
    private static final List<String> GEOMETRY = List.of("gridX", "gridY", "gridZ", "blockX", "blockY", "blockZ");

    /**
     * Checks the entry name, the PTX text and the parameter list, and copies the list.
     *
     * @param entry  the {@code .entry} name in the PTX, a C identifier
     * @param ptx    the PTX module text (ASCII, at most 4 MiB)
     * @param params the entry's parameters in signature order; at least one output buffer
     * @throws InvalidArgumentException if the entry, PTX or parameter list is malformed
     */
    public PtxKernel {
        InvalidArgumentException.requireNonNull(entry, "PTX entry name");
        InvalidArgumentException.requireNonNull(ptx, "PTX text");
        InvalidArgumentException.requireNonNull(params, "PTX parameter list");
        if (!IDENT.matcher(entry).matches()) {
            throw new InvalidArgumentException("PTX entry '" + entry + "' is not a C identifier");
        }
        if (ptx.isEmpty() || ptx.length() > MAX_PTX_CHARS) {
            throw new InvalidArgumentException("PTX text has " + ptx.length() + " characters: it must be 1 to "
                    + MAX_PTX_CHARS);
        }
        if (!Pattern.compile("\\.entry\\s+" + Pattern.quote(entry) + "\\s*\\(").matcher(ptx).find()) {
            throw new InvalidArgumentException("PTX text has no '.entry " + entry
                    + "': pass the entry name exactly as the PTX declares it");
        }
        for (Param p : params) {
            InvalidArgumentException.requireNonNull(p, "PTX parameter");
        }
        params = List.copyOf(params);
        Set<String> names = new HashSet<>();
        boolean hasOutput = false;
        for (Param p : params) {
            if (!names.add(p.name())) {
                throw new InvalidArgumentException("PTX parameter '" + p.name() + "' appears twice");
            }
            hasOutput |= p.kind() == ParamKind.OUTPUT;
        }
        if (!hasOutput) {
            throw new InvalidArgumentException("PTX kernel '" + entry
                    + "' declares no output buffer: a job must produce something to verify");
        }
    }

    @Override
    public String id() {
        return "ptx:" + entry;
    }

    /** Every user PTX kernel is offered under this one name: {@value}. */
    public static final String OFFER_ID = "ptx";

    @Override
    public String offerId() {
        return OFFER_ID;
    }

    @Override
    public String codeHash() {
        return Sha256.hex(ptx.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public List<BufferDecl> inputs(LaunchParams p) {
        return buffers(p, ParamKind.INPUT);
    }

    @Override
    public List<BufferDecl> outputs(LaunchParams p) {
        return buffers(p, ParamKind.OUTPUT);
    }

    @Override
    public boolean isFloatParam(String name) {
        return params.stream().anyMatch(p -> p.kind() == ParamKind.F32 && p.name().equals(name));
    }

    /**
     * @return the launch geometry ({@code gridX} … {@code blockZ}), {@code flops}, each
     *         buffer's {@code <name>.bytes} and each scalar's name
     */
    @Override
    public java.util.SortedSet<String> paramNames() {
        java.util.SortedSet<String> names = new java.util.TreeSet<>(GEOMETRY);
        names.add("flops");
        for (Param p : params) {
            names.add(p.kind() == ParamKind.INPUT || p.kind() == ParamKind.OUTPUT ? p.name() + ".bytes" : p.name());
        }
        return java.util.Collections.unmodifiableSortedSet(names);
    }

    /** @return empty: user PTX has no CPU reference; check it by redundancy or trust the signature */
    @Override
    public java.util.Optional<KernelReference> reference() {
        return java.util.Optional.empty();
    }

    @Override
    public long flops(LaunchParams p) {
        Long f = p.longs().get("flops");
        return f == null ? 0 : Math.max(0, f);
    }

    /**
     * The launch geometry {@code {gridX, gridY, gridZ, blockX, blockY, blockZ}}.
     *
     * @param p the job's launch parameters
     * @return the six values, in that order
     * @throws ShapeMismatchException if one is missing or not in 1..2^31-1
     */
    public int[] geometry(LaunchParams p) {
        int[] g = new int[GEOMETRY.size()];
        for (int i = 0; i < g.length; i++) {
            long v = p.requireLong(GEOMETRY.get(i));
            if (v < 1 || v > Integer.MAX_VALUE) {
                throw new ShapeMismatchException("launch parameter " + GEOMETRY.get(i) + " = " + v
                        + " must be between 1 and " + Integer.MAX_VALUE);
            }
            g[i] = (int) v;
        }
        return g;
    }

    private List<BufferDecl> buffers(LaunchParams p, ParamKind kind) {
        geometry(p);
        List<BufferDecl> out = new ArrayList<>();
        for (Param param : params) {
            switch (param.kind()) {
                case INPUT, OUTPUT -> {
                    long bytes = p.requireLong(param.name() + ".bytes");
                    if (param.kind() == kind) {
                        out.add(new BufferDecl(param.name(), bytes));
                    }
                }
                case I32 -> {
                    long v = p.requireLong(param.name());
                    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                        throw new ShapeMismatchException("PTX scalar '" + param.name() + "' = " + v
                                + " does not fit in a 32-bit integer");
                    }
                }
                case F32 -> p.requireFloat(param.name());
            }
        }
        return List.copyOf(out);
    }

    /** The kind of a PTX entry parameter. */
    public enum ParamKind {
        /** A device pointer to an input buffer the job supplies. */
        INPUT,
        /** A device pointer to an output buffer the kernel writes. */
        OUTPUT,
        /** A 32-bit signed integer scalar. */
        I32,
        /** A 32-bit float scalar. */
        F32
    }

    /**
     * One PTX entry parameter.
     *
     * @param kind what it is
     * @param name its name; buffer names follow {@link BufferDecl}'s rules
     */
    public record Param(ParamKind kind, String name) {
        /**
         * Checks the kind and the name.
         *
         * @param kind what it is
         * @param name its name
         * @throws InvalidArgumentException if kind or name is invalid: every name must also
         *                                  work as a launch parameter ({@code <name>.bytes}
         *                                  for buffers), so it starts with a letter and has
         *                                  at most 26 letters, digits or '_'
         */
        public Param {
            InvalidArgumentException.requireNonNull(kind, "PTX parameter kind");
            InvalidArgumentException.requireNonNull(name, "PTX parameter name");
            if (!PARAM_NAME.matcher(name).matches()) {
                throw new InvalidArgumentException("PTX parameter name '" + name + "' must start with a letter and "
                        + "have at most 26 letters, digits or '_', so that it can be set as a launch parameter"
                        + (kind == ParamKind.INPUT || kind == ParamKind.OUTPUT ? " ('" + name + ".bytes')" : ""));
            }
        }

        /**
         * An input buffer parameter.
         *
         * @param name the buffer's name
         * @return the parameter
         */
        public static Param input(String name) {
            return new Param(ParamKind.INPUT, name);
        }

        /**
         * An output buffer parameter.
         *
         * @param name the buffer's name
         * @return the parameter
         */
        public static Param output(String name) {
            return new Param(ParamKind.OUTPUT, name);
        }

        /**
         * A 32-bit integer scalar parameter.
         *
         * @param name the launch parameter that gives its value
         * @return the parameter
         */
        public static Param i32(String name) {
            return new Param(ParamKind.I32, name);
        }

        /**
         * A 32-bit float scalar parameter.
         *
         * @param name the launch parameter that gives its value
         * @return the parameter
         */
        public static Param f32(String name) {
            return new Param(ParamKind.F32, name);
        }
    }
}
