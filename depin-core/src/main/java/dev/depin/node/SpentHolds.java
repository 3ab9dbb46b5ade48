package dev.depin.node;

import dev.depin.settlement.HoldCertificate;
import dev.depin.settlement.OperationKey;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The hold certificates a node has already run an attempt for. A certificate pays for one
 * attempt: without this memory, a buyer (or anyone who saw a certificate go by) could send the
 * same certificate again and have the node rerun the job unpaid.
 *
 * <p>An entry is kept until its certificate expires; after that the certificate itself is
 * refused ({@link HoldCertificate#verify}), so forgetting it loses nothing. The memory is
 * bounded by the holds the ledger certified for this node within one expiry window, and each
 * of those locked the buyer's money: a peer cannot grow it for free.
 */
final class SpentHolds {
    private record Spent(String by, Instant expiresAt) {
    }

    /** Insertion order: certificates from one ledger expire in roughly that order. */
    private final Map<OperationKey, Spent> spent = new LinkedHashMap<>();

    /**
     * @return who already spent {@code c} (job and attempt), or empty if no one has
     */
    synchronized Optional<String> spentBy(HoldCertificate c) {
        Spent s = spent.get(c.hold());
        return s == null ? Optional.empty() : Optional.of(s.by());
    }

    /**
     * Spends {@code c} for {@code by}, unless it was spent already.
     *
     * @param c   a certificate that verified
     * @param by  the attempt that spends it, e.g. "job 0123… attempt 2"
     * @param now the node's clock, to forget certificates that have expired
     * @return who had spent it already, or empty when this call spent it
     */
    synchronized Optional<String> spend(HoldCertificate c, String by, Instant now) {
        for (Iterator<Spent> it = spent.values().iterator(); it.hasNext(); ) {
            if (it.next().expiresAt().isBefore(now)) {
                it.remove();
            } else {
                break; // the rest is (roughly) younger; a few stragglers wait for their turn
            }
        }
        Spent earlier = spent.putIfAbsent(c.hold(), new Spent(by, c.expiresAt()));
        return earlier == null ? Optional.empty() : Optional.of(earlier.by());
    }

    /** @return how many certificates are remembered */
    synchronized int size() {
        return spent.size();
    }
}
