package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import java.util.ArrayList;
import java.util.List;

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
     * One check.
     *
     * @param name   e.g. {@code "signature"}, {@code "nonce"}, {@code "freivalds"}
     * @param passed whether it held
     * @param detail what exactly was compared, with numbers
     */
    public record Check(String name, boolean passed, String detail) {
        /**
         * Validates.
         *
         * @param name   e.g. {@code "signature"}, {@code "nonce"}, {@code "freivalds"}
         * @param passed whether it held
         * @param detail what exactly was compared, with numbers
         */
        public Check {
            InvalidArgumentException.requireNonNull(name, "name");
            InvalidArgumentException.requireNonNull(detail, "detail");
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
