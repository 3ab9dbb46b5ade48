package dev.depin.settlement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Assertions on settlement errors, for every module's tests. */
public final class SettlementAssertions {
    private SettlementAssertions() {
    }

    /**
     * Asserts that {@code thrown} (or what a {@link CompletionException} or
     * {@link ExecutionException} wraps) is a {@link SettlementException} with {@code reason}.
     *
     * @param reason the reason expected
     * @param thrown what was thrown
     * @return the exception
     */
    public static SettlementException assertReason(SettlementException.Reason reason, Throwable thrown) {
        Throwable t = thrown;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        Throwable shown = t;
        SettlementException e = assertInstanceOf(SettlementException.class, t, () -> "expected " + reason + ", got " + shown);
        assertEquals(reason, e.reason(), () -> "expected " + reason + ", got " + shown);
        return e;
    }

    /**
     * @param thrown what was thrown, or null
     * @return its settlement reason, or null if it is not a settlement error (or null)
     */
    public static SettlementException.Reason reasonOf(Throwable thrown) {
        return thrown instanceof SettlementException e ? e.reason() : null;
    }
}
