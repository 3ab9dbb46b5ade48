package dev.depin.client.internal;

import dev.depin.client.NoHoldingOfferException;
import dev.depin.job.Job;
import dev.depin.kernel.BufferDecl;
import dev.depin.provider.HoldTerms;
import dev.depin.provider.ProviderOffer;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;

/**
 * Where a job that leaves its outputs on the provider may go, by what each offer signs it holds
 * ({@link dev.depin.provider.OfferTerms#inputCacheBytes()} and
 * {@link dev.depin.provider.OfferTerms#hold()}): an offer whose hold terms are too short or too
 * small for the job is passed over, so the job is never sent where the node would refuse it at
 * admission. An offer with a cache that states no hold terms (a node from before they existed)
 * stays a candidate: a buyer learns its terms only from a refusal, as before. The check counts the
 * job beside what this client already holds there ({@link HeldRoom}); another client of the same
 * buyer is not seen, so a node may still refuse for room (before running the job).
 */
final class HoldPlacement {
    private final Duration hold;
    private final int entries;
    private final long bytes;
    /** The first expiry of held outputs that kept an offer from this job in the last check, or null. */
    private java.time.Instant heldUntil;

    /**
     * @param job the job; nothing to check unless it leaves its outputs
     */
    HoldPlacement(Job job) {
        this.hold = job.leaveOutputsFor().orElse(null);
        List<BufferDecl> outputs = job.spec().outputs();
        long sum = 0;
        for (BufferDecl d : outputs) {
            sum += d.bytes();
            if (sum < 0) {
                sum = Long.MAX_VALUE;
                break;
            }
        }
        this.entries = outputs.size();
        this.bytes = sum;
    }

    /** @return whether the job leaves its outputs, so that offers are checked */
    boolean applies() {
        return hold != null;
    }

    /**
     * Why an offer cannot hold the job's outputs beside what this buyer already holds there.
     *
     * @param o    an offer
     * @param held what this client holds on the offer's provider now ({@link HeldRoom})
     * @return the reason, or {@code null} when it can (or the job returns its outputs)
     */
    String refusal(ProviderOffer o, HeldRoom.Held held) {
        if (hold == null) {
            return null;
        }
        long cache = o.terms().inputCacheBytes();
        if (cache == 0) {
            return "keeps no data between jobs";
        }
        if (cache < bytes) {
            return "holds " + cache + " bytes for buyers, too few to keep this job's " + bytes + " output bytes";
        }
        HoldTerms h = o.terms().hold();
        if (h == null) {
            return null;
        }
        String alone = h.refusal(hold, entries, bytes);
        if (alone != null || held.entries() == 0) {
            return alone;
        }
        long together = bytes + held.bytes() < 0 ? Long.MAX_VALUE : bytes + held.bytes();
        if (entries + (long) held.entries() > h.maxEntriesPerBuyer() || together > h.maxBytesPerBuyer()) {
            heldUntil = heldUntil == null || held.firstExpiry().isBefore(heldUntil) ? held.firstExpiry() : heldUntil;
            return "holds " + h.maxBytesPerBuyer() + " bytes in " + h.maxEntriesPerBuyer() + " entries per buyer, and "
                    + "this buyer's " + held.entries() + " output(s) of " + held.bytes() + " bytes held there leave no "
                    + "room for this job's " + entries + " of " + bytes + " bytes until the first expires at "
                    + held.firstExpiry();
        }
        return null;
    }

    /**
     * The rejection when every offer considered was passed over by {@link #refusal}: what was
     * asked, what the offer that holds the most holds, and what to do.
     *
     * @param refused the offers passed over, at least one
     * @param pinned  whether the job's inputs are held on the one provider considered
     * @return the exception
     */
    NoHoldingOfferException rejection(List<ProviderOffer> refused, boolean pinned) {
        ProviderOffer best = refused.stream().max(Comparator
                .comparing((ProviderOffer o) -> o.terms().hold() != null)
                .thenComparing(o -> o.terms().hold() == null ? Duration.ZERO : o.terms().hold().maxHold())
                .thenComparingLong(o -> o.terms().hold() == null ? 0 : o.terms().hold().maxBytesPerBuyer())
                .thenComparingLong(o -> o.terms().inputCacheBytes())).orElseThrow();
        HoldTerms h = best.terms().hold();
        String asked = "this job asks leaveOutputsOnNode(" + hold + ") for " + entries + " output(s) of " + bytes
                + " bytes together";
        String holds = (pinned ? "the provider holding its inputs, " : "the best of " + refused.size()
                + " offer(s), ") + best.nodeId().shortId() + ", " + (h != null ? "holds " + h.describe()
                : best.terms().inputCacheBytes() == 0 ? "keeps no data between jobs"
                : "holds " + best.terms().inputCacheBytes() + " bytes in all");
        String todo;
        if (h != null && hold.compareTo(h.maxHold()) > 0) {
            todo = "ask leaveOutputsOnNode(ttl) with ttl <= " + h.maxHold() + ", return the outputs, or add a "
                    + "provider whose offer holds data longer";
        } else if (heldUntil != null) {
            todo = "wait until " + heldUntil + ", when the first of this buyer's held outputs expires, leave fewer "
                    + "or smaller outputs, return them, or add a provider whose offer holds more";
        } else {
            todo = "leave fewer or smaller outputs, return them, or add a provider whose offer holds more";
        }
        return new NoHoldingOfferException("no offer can hold this job's outputs: " + asked + "; " + holds + ": "
                + todo + (pinned ? " (its held inputs pin it to that provider)" : ""), hold, entries, bytes, h);
    }
}
