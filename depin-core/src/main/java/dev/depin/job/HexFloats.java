package dev.depin.job;

/**
 * {@link Double#toHexString} and {@link Float#toHexString}, character for character, without
 * their regular expressions: JDK 17 strips a significand's trailing zeros with
 * {@code String.replaceFirst("0{1,12}$", "")}, which compiles a pattern on every call (and a
 * subnormal float with a second one). A job spec's canonical JSON writes its doubles and floats
 * in this form, and a node checks every received one against it, so both ends paid for a
 * pattern compile per number per job (about 1.5 % of a small job's samples over mTLS). Same
 * output for every input, NaN and the infinities included ({@code HexFloatsTest} compares them
 * with the JDK's methods).
 */
final class HexFloats {
    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    private HexFloats() {
    }

    /**
     * @param d any double
     * @return exactly {@code Double.toHexString(d)}
     */
    static String of(double d) {
        if (!Double.isFinite(d)) {
            return Double.toString(d);
        }
        long bits = Double.doubleToRawLongBits(d);
        StringBuilder sb = new StringBuilder(24);
        if (bits < 0) {
            sb.append('-');
        }
        long magnitude = bits & 0x7fff_ffff_ffff_ffffL;
        if (magnitude == 0) {
            return sb.append("0x0.0p0").toString();
        }
        boolean subnormal = (magnitude >>> 52) == 0;
        sb.append(subnormal ? "0x0." : "0x1.");
        long significand = magnitude & 0x000f_ffff_ffff_ffffL; // 13 hex digits
        if (significand == 0) {
            sb.append('0');
        } else {
            int digits = 13;
            while ((significand & 0xf) == 0) {
                significand >>>= 4;
                digits--;
            }
            for (int i = digits - 1; i >= 0; i--) {
                sb.append(DIGITS[(int) (significand >>> (4 * i)) & 0xf]);
            }
        }
        return sb.append('p').append(subnormal ? Double.MIN_EXPONENT : (int) (magnitude >>> 52) - 1023).toString();
    }

    /**
     * @param f any float
     * @return exactly {@code Float.toHexString(f)}
     */
    static String of(float f) {
        if (Math.abs(f) < Float.MIN_NORMAL && f != 0.0f) {
            // As the JDK: the subnormal float scaled into a (subnormal) double's digits, its exponent the float's.
            String s = of(Math.scalb((double) f, Double.MIN_EXPONENT - Float.MIN_EXPONENT));
            return s.substring(0, s.length() - "-1022".length()) + Float.MIN_EXPONENT;
        }
        return of((double) f); // a float's form is its double's
    }
}
