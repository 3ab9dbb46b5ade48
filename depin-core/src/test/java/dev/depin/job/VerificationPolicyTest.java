package dev.depin.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class VerificationPolicyTest {

    private static void invalid(Executable call, String messagePart) {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class, call);
        assertTrue(e.getMessage().contains(messagePart), "expected '" + messagePart + "' in: " + e.getMessage());
    }

    @Test
    void signatureOnly_hasNoNumbers() {
        VerificationPolicy p = VerificationPolicy.signatureOnly();
        assertEquals(VerificationPolicy.of("SIGNATURE_ONLY", 0, 0, 0), p);
        assertEquals("signatureOnly", p.toString());
    }

    @Test
    void freivalds_boundsAccepted() {
        assertEquals(1, VerificationPolicy.freivalds(1).rounds());
        assertEquals(64, VerificationPolicy.freivalds(64).rounds());
        assertEquals("FREIVALDS", VerificationPolicy.freivalds(20).kind());
        assertEquals("freivalds(20)", VerificationPolicy.freivalds(20).toString());
    }

    @Test
    void freivalds_outOfRange_rejected() {
        for (int bad : new int[] {0, 65, -1, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
            invalid(() -> VerificationPolicy.freivalds(bad), "freivalds needs 1 to 64 rounds (got " + bad + ")");
        }
    }

    @Test
    void spotCheck_boundsAccepted() {
        assertEquals(1.0, VerificationPolicy.spotCheck(1.0).fraction());
        assertEquals(Double.MIN_VALUE, VerificationPolicy.spotCheck(Double.MIN_VALUE).fraction());
        assertEquals("spotCheck(0.05)", VerificationPolicy.spotCheck(0.05).toString());
    }

    @Test
    void spotCheck_outOfRange_rejected() {
        for (double bad : new double[] {0, -0.0, 1.5, Math.nextUp(1.0), -0.1, Double.NaN, Double.POSITIVE_INFINITY}) {
            invalid(() -> VerificationPolicy.spotCheck(bad), "spotCheck needs a fraction in (0, 1] (got " + bad + ")");
        }
    }

    @Test
    void redundant_boundsAccepted() {
        assertEquals(2, VerificationPolicy.redundant(2).replicas());
        assertEquals(9, VerificationPolicy.redundant(9).replicas());
        assertEquals("redundant(3)", VerificationPolicy.redundant(3).toString());
    }

    @Test
    void redundant_outOfRange_rejected() {
        for (int bad : new int[] {1, 10, 0, -2}) {
            invalid(() -> VerificationPolicy.redundant(bad), "redundant needs 2 to 9 replicas (got " + bad + ")");
        }
    }

    @Test
    void constructor_numbersForAnotherKind_rejected() {
        invalid(() -> VerificationPolicy.of("SIGNATURE_ONLY", 1, 0, 0), "SIGNATURE_ONLY takes no rounds, fraction or replicas");
        invalid(() -> VerificationPolicy.of("SIGNATURE_ONLY", 0, 0.5, 0), "SIGNATURE_ONLY takes no rounds, fraction or replicas");
        invalid(() -> VerificationPolicy.of("SIGNATURE_ONLY", 0, 0, 3), "SIGNATURE_ONLY takes no rounds, fraction or replicas");
        invalid(() -> VerificationPolicy.of("FREIVALDS", 20, 0.5, 0), "FREIVALDS takes only rounds");
        invalid(() -> VerificationPolicy.of("FREIVALDS", 20, 0, 3), "FREIVALDS takes only rounds");
        invalid(() -> VerificationPolicy.of("SPOT_CHECK", 1, 0.5, 0), "SPOT_CHECK takes only a fraction");
        invalid(() -> VerificationPolicy.of("SPOT_CHECK", 0, 0.5, 2), "SPOT_CHECK takes only a fraction");
        invalid(() -> VerificationPolicy.of("REDUNDANT", 1, 0, 3), "REDUNDANT takes only replicas");
        invalid(() -> VerificationPolicy.of("REDUNDANT", 0, 0.5, 3), "REDUNDANT takes only replicas");
    }

    @Test
    void constructor_nullKind_rejected() {
        invalid(() -> VerificationPolicy.of(null, 0, 0, 0), "verification kind is null");
        invalid(() -> VerificationPolicy.of("MAJORITY", 0, 0, 0), "verification kind 'MAJORITY' is unknown");
    }
}
