package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * What a verification checked, one {@link Check} per binding or test, and the
 * {@link Assurance} that results. It says exactly what was checked, never more: a
 * signature-only report does not claim the math is right.
 *
 * <pre>{@code
 * VerificationReport r = receiptReport.and(freivaldsReport);
 * log.info(r.summary());   // "signatureOnly+freivalds: 14/14 checks passed; FREIVALDS rounds=2 ..."
 * }</pre>
 *
 * @param policy     the policy name, e.g. {@code "freivalds(2)"}
 * @param checks     the checks, in the order performed (copied)
 * @param assurance  the assurance reached
 */
public record VerificationReport(String policy, List<Check> checks, Assurance assurance) {
    /**
     * One check: its name, whether it held, and what exactly was compared. A value with the
     * accessors, {@code equals}, {@code hashCode} and {@code toString} of the record it was
     * ({@code Check[name=..., passed=..., detail=...]}).
     *
     * <p>A check's detail may be given as a {@link Supplier} ({@link #passed(String, Supplier)}):
     * it is then built when first read ({@link #detail()}, {@code equals}, {@code hashCode},
     * {@code toString}) and kept, so that a buyer that verifies thousands of small jobs a second
     * and reads only {@link VerificationReport#summary()} does not build a line per check per job.
     * Such a supplier must read only values that never change after the check is made, and must
     * not throw: the text it gives is the text the check has, whenever it is first read.
     */
    public static final class Check {
        private final String name;
        private final boolean passed;
        /** Builds the detail on first read; null once built (or when given as a string). */
        private Supplier<String> lazy;
        /** The detail once known; a {@code String} is immutable, so a racing first read is harmless. */
        private volatile String detail;

        /**
         * Validates.
         *
         * @param name   e.g. {@code "signature"}, {@code "nonce"}, {@code "freivalds"}
         * @param passed whether it held
         * @param detail what exactly was compared, with numbers
         */
        public Check(String name, boolean passed, String detail) {
            this.name = InvalidArgumentException.requireNonNull(name, "name");
            this.passed = passed;
            this.detail = InvalidArgumentException.requireNonNull(detail, "detail");
        }

        private Check(String name, Supplier<String> detail) {
            this.name = InvalidArgumentException.requireNonNull(name, "name");
            this.passed = true;
            this.lazy = InvalidArgumentException.requireNonNull(detail, "detail");
        }

        /**
         * A passed check.
         *
         * @param name   the check's name
         * @param detail what was compared
         * @return the check
         */
        public static Check passed(String name, String detail) {
            return new Check(name, true, detail);
        }

        /**
         * A passed check whose detail is built when first read (see the class comment).
         *
         * @param name   the check's name
         * @param detail builds what was compared, from values that never change; must not
         *               return null or throw
         * @return the check
         */
        public static Check passed(String name, Supplier<String> detail) {
            return new Check(name, detail);
        }

        /**
         * @return the check's name, e.g. {@code "signature"}
         */
        public String name() {
            return name;
        }

        /**
         * @return whether it held
         */
        public boolean passed() {
            return passed;
        }

        /**
         * What exactly was compared, with numbers (built now if it was given as a supplier).
         *
         * @return the detail, never null
         * @throws IllegalStateException if a detail supplier returned null (a bug in the verifier
         *                               that made the check)
         */
        public String detail() {
            String d = detail;
            if (d == null) {
                synchronized (this) {
                    d = detail;
                    if (d == null) {
                        d = lazy.get();
                        if (d == null) {
                            throw new IllegalStateException("the detail of check '" + name + "' was built as null");
                        }
                        detail = d;
                        lazy = null;
                    }
                }
            }
            return d;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Check c && passed == c.passed && name.equals(c.name) && detail().equals(c.detail());
        }

        @Override
        public int hashCode() {
            return (name.hashCode() * 31 + Boolean.hashCode(passed)) * 31 + detail().hashCode();
        }

        @Override
        public String toString() {
            return "Check[name=" + name + ", passed=" + passed + ", detail=" + detail() + "]";
        }
    }

    /**
     * Validates and copies.
     *
     * @param policy     the policy name, e.g. {@code "freivalds(2)"}
     * @param checks     the checks, in the order performed (copied)
     * @param assurance  the assurance reached
     */
    public VerificationReport {
        InvalidArgumentException.requireNonNull(policy, "policy");
        InvalidArgumentException.requireNonNull(assurance, "assurance");
        checks = List.copyOf(InvalidArgumentException.requireNonNull(checks, "checks"));
    }

    /**
     * Whether every check passed.
     *
     * @return {@code true} if none failed
     */
    public boolean allPassed() {
        return checks.stream().allMatch(Check::passed);
    }

    /**
     * This report followed by {@code other}: checks concatenated, policies joined with
     * {@code +}, and the assurance of whichever has the higher {@link Assurance.Level}
     * (declaration order; {@code other} wins a tie).
     *
     * @param other the later report
     * @return the combined report
     */
    public VerificationReport and(VerificationReport other) {
        InvalidArgumentException.requireNonNull(other, "other");
        List<Check> all = new ArrayList<>(checks);
        all.addAll(other.checks);
        Assurance a = other.assurance.level().compareTo(assurance.level()) >= 0 ? other.assurance : assurance;
        return new VerificationReport(policy + "+" + other.policy, all, a);
    }

    /**
     * One line: policy, checks passed, assurance.
     *
     * @return e.g. {@code "freivalds(2): 1/1 checks passed; FREIVALDS falseAcceptBound=0.25 rounds=2 ..."}
     */
    public String summary() {
        long ok = checks.stream().filter(Check::passed).count();
        return policy + ": " + ok + "/" + checks.size() + " checks passed; " + assurance.summary();
    }
}
