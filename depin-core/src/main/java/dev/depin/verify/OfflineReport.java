package dev.depin.verify;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.VerificationReport;
import java.util.List;

/**
 * The outcome of an offline verification that passed: the checks that were made (every
 * one passed; a failed check throws instead) and the checks that were <em>not</em> made
 * because the verifier was not given what they need. A check that was not made is never
 * reported as passed: its absence is a limit of what this report proves.
 *
 * <pre>{@code
 * OfflineReport r = OfflineVerifier.receipt(env, key).output("c", Path.of("c.bin")).verify();
 * r.checked().checks().forEach(c -> System.out.println("ok   " + c.name() + ": " + c.detail()));
 * r.notChecked().forEach(n -> System.out.println("skip " + n.check() + ": " + n.why()));
 * }</pre>
 *
 * @param checked    the checks made, all passed, with the assurance they give
 * @param notChecked the checks not made and why (copied)
 */
public record OfflineReport(VerificationReport checked, List<NotChecked> notChecked) {
    /**
     * A check that was not made.
     *
     * @param check the check's name, e.g. {@code "nonce"}
     * @param why   what was not given, and what is therefore not excluded
     */
    public record NotChecked(String check, String why) {
        /**
         * Creates the entry after checking that neither field is null.
         *
         * @param check the check's name, e.g. {@code "nonce"}; not null
         * @param why   what was not given, and what is therefore not excluded; not null
         * @throws InvalidArgumentException if either is null
         */
        public NotChecked {
            InvalidArgumentException.requireNonNull(check, "check");
            InvalidArgumentException.requireNonNull(why, "why");
        }
    }

    /**
     * Creates the report; the list is copied.
     *
     * @param checked    the checks made, all passed; not null
     * @param notChecked the checks not made and why; not null, no null elements (may be empty)
     * @throws InvalidArgumentException if either is null
     */
    public OfflineReport {
        InvalidArgumentException.requireNonNull(checked, "checked");
        notChecked = List.copyOf(InvalidArgumentException.requireNonNull(notChecked, "notChecked"));
    }

    /**
     * Whether a check of this name was made.
     *
     * @param name e.g. {@code "nonce"}
     * @return {@code true} if it is among {@link #checked()}
     */
    public boolean made(String name) {
        return checked.checks().stream().anyMatch(c -> c.name().equals(name));
    }

    /**
     * One line: how many checks passed, how many were not made, and the assurance.
     *
     * @return e.g. {@code "9 checks passed, 2 not checked; SIGNATURE"}
     */
    public String summary() {
        return checked.checks().size() + " checks passed, " + notChecked.size() + " not checked; "
                + checked.assurance().summary();
    }
}
