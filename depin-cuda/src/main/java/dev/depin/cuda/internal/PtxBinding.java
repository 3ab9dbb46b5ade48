package dev.depin.cuda.internal;

import dev.depin.kernel.PtxKernel;
import dev.depin.kernel.ShapeMismatchException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Typed argument binding for user PTX: reads the {@code .param} list of the kernel's
 * {@code .entry} from the PTX text and checks it, position by position, against the
 * parameters the {@link PtxKernel} declares. Buffers need a 64-bit parameter
 * ({@code .u64}, {@code .s64}, {@code .b64}: a device pointer), {@code I32} a 32-bit integer
 * ({@code .s32}, {@code .u32}, {@code .b32}), {@code F32} a {@code .f32} (or {@code .b32}).
 * A mismatch fails before anything is loaded on a device, with a message that shows both
 * signatures.
 */
public final class PtxBinding {
    private static final Pattern PARAM = Pattern.compile(
            "\\.param\\s+((?:\\.align\\s+\\d+\\s+)?)\\.(\\w+)\\s+(?:\\.ptr(?:\\s+\\.\\w+(?:\\s+\\d+)?)*\\s+)?([A-Za-z_$%][\\w$]*)"
                    + "\\s*(\\[\\s*\\d*\\s*\\])?");
    private static final Set<String> POINTER = Set.of("u64", "s64", "b64");
    private static final Set<String> INT32 = Set.of("s32", "u32", "b32");
    private static final Set<String> FLOAT32 = Set.of("f32", "b32");

    /** The PTX types of the entry's parameters, in order. */
    private final List<String> types;

    private PtxBinding(List<String> types) {
        this.types = types;
    }

    /** @return the PTX types of the entry's parameters, in signature order, e.g. {@code [u64, u32, f32]} */
    public List<String> types() {
        return types;
    }

    /**
     * Reads the entry's signature and checks it against the declared parameters.
     *
     * @param kernel the user's kernel
     * @return the binding
     * @throws ShapeMismatchException if the signature cannot be read or does not match
     */
    public static PtxBinding of(PtxKernel kernel) {
        List<String> types = signature(kernel.ptx(), kernel.entry());
        List<PtxKernel.Param> params = kernel.params();
        if (types.size() != params.size()) {
            throw new ShapeMismatchException("PTX entry '" + kernel.entry() + "' takes " + types.size()
                    + " parameters " + types + " but the kernel declares " + params.size() + " " + describe(params)
                    + ": declare exactly the entry's parameters, in signature order");
        }
        for (int i = 0; i < types.size(); i++) {
            PtxKernel.Param p = params.get(i);
            String t = types.get(i);
            Set<String> ok = switch (p.kind()) {
                case INPUT, OUTPUT -> POINTER;
                case I32 -> INT32;
                case F32 -> FLOAT32;
            };
            if (!ok.contains(t)) {
                throw new ShapeMismatchException("PTX entry '" + kernel.entry() + "' parameter " + i + " is ." + t
                        + " but the kernel declares it as " + p.kind() + " '" + p.name() + "', which needs one of "
                        + ok.stream().sorted().map(s -> "." + s).toList() + "; full signature " + types
                        + " vs " + describe(params));
            }
        }
        return new PtxBinding(List.copyOf(types));
    }

    private static String describe(List<PtxKernel.Param> params) {
        List<String> out = new ArrayList<>();
        for (PtxKernel.Param p : params) {
            out.add(p.kind().name().toLowerCase(java.util.Locale.ROOT) + " " + p.name());
        }
        return out.toString();
    }

    /**
     * The parameter types of one entry.
     *
     * @param ptx   PTX text
     * @param entry the entry's name
     * @return its parameter types in order
     * @throws ShapeMismatchException if the entry or its parameter list cannot be read
     */
    static List<String> signature(String ptx, String entry) {
        Matcher m = Pattern.compile("\\.entry\\s+" + Pattern.quote(entry) + "\\s*\\(").matcher(ptx);
        if (!m.find()) {
            throw new ShapeMismatchException("PTX has no '.entry " + entry + "('");
        }
        int close = ptx.indexOf(')', m.end());
        if (close < 0) {
            throw new ShapeMismatchException("PTX entry '" + entry + "' has no closing ')' after its parameters");
        }
        String list = ptx.substring(m.end(), close).replaceAll("//[^\n]*", " ");
        List<String> types = new ArrayList<>();
        for (String part : list.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            Matcher pm = PARAM.matcher(part.trim());
            if (!pm.matches()) {
                throw new ShapeMismatchException("cannot read PTX parameter '" + part.trim() + "' of entry '" + entry
                        + "': only scalar .u64/.s64/.b64, .u32/.s32/.b32 and .f32 parameters are supported");
            }
            if (pm.group(4) != null || !pm.group(1).isEmpty()) {
                throw new ShapeMismatchException("PTX parameter '" + pm.group(3) + "' of entry '" + entry
                        + "' is an array or aligned struct: pass buffers as .u64 pointers and scalars one by one");
            }
            types.add(pm.group(2));
        }
        return types;
    }
}
