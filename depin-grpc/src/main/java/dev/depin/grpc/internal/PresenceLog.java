package dev.depin.grpc.internal;

import dev.depin.crypto.NodeId;
import dev.depin.sla.PresenceStatement;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a directory remembers of each provider's renewals: the intervals during which its
 * listing was live. A renewal at {@code t} that keeps the listing until {@code u} extends the
 * provider's last interval when that interval had not ended by {@code t} (the listing never
 * lapsed), and starts a new one otherwise; an interval's end is the listing's expiry, so the
 * last one may end in the future (it is clipped to the time of a statement).
 *
 * <p>Bounded: {@code maxIntervals} per provider (the oldest dropped first, which moves that
 * provider's {@code history} to the end of the dropped interval: the directory then says it does
 * not know, rather than that the provider was absent) and {@code maxProviders} providers (the
 * one renewed least recently dropped first; from then on the log says it knows providers it
 * does not hold only since that moment). Both keep what a stranger with many keys can make the
 * directory hold at {@code maxProviders × maxIntervals} pairs of longs. Thread-safe.
 */
public final class PresenceLog {
    private final int maxProviders;
    private final int maxIntervals;
    private final LinkedHashMap<NodeId, Record> records;
    /**
     * From when the record of a provider it does not hold is complete: the start, or the last
     * time the provider bound dropped someone (a provider absent from the record since then has
     * not renewed since then; before it, it may have been the one dropped).
     */
    private long knownSince;
    /** The time of the renewal being recorded, for the eviction callback. */
    private long now;

    /** One provider's intervals, as {start, end} epoch-millisecond pairs, oldest first. */
    private static final class Record {
        final ArrayDeque<long[]> intervals = new ArrayDeque<>();
        long history;

        Record(long history) {
            this.history = history;
        }
    }

    /**
     * @param started      when the directory started: nothing before it is known
     * @param maxProviders providers remembered at most, &ge; 1
     * @param maxIntervals intervals per provider at most, &ge; 1
     */
    public PresenceLog(Instant started, int maxProviders, int maxIntervals) {
        if (maxProviders < 1 || maxIntervals < 1) {
            throw new IllegalArgumentException("presence log bounds must be at least 1: " + maxProviders + ", "
                    + maxIntervals);
        }

        this.knownSince = started.toEpochMilli();
        this.maxProviders = maxProviders;
        this.maxIntervals = maxIntervals;
        this.records = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<NodeId, Record> eldest) {
                if (size() <= PresenceLog.this.maxProviders) {
                    return false;
                }
                knownSince = Math.max(knownSince, now);
                return true;
            }
        };
    }

    /**
     * Records an accepted renewal.
     *
     * @param provider whose listing was renewed
     * @param at       when
     * @param until    until when it is listed now
     */
    public synchronized void renewed(NodeId provider, Instant at, Instant until) {
        long t = at.toEpochMilli();
        long u = until.toEpochMilli();
        if (u <= t) {
            return; // listed for no time: nothing live to record
        }
        now = t;
        Record r = records.get(provider);
        if (r == null) {
            r = new Record(knownSince);
            records.put(provider, r);
        }
        long[] last = r.intervals.peekLast();
        if (last != null && t <= last[1]) {
            last[1] = Math.max(last[1], u);
            return;
        }
        if (last != null && t < last[0]) {
            return; // a clock that went back: never reorder the record
        }
        r.intervals.addLast(new long[] {t, u});
        while (r.intervals.size() > maxIntervals) {
            long[] dropped = r.intervals.removeFirst();
            r.history = Math.max(r.history, dropped[1]);
        }
    }

    /**
     * The intervals of a window, clipped to it, and from when the record is complete.
     *
     * @param provider the provider
     * @param from     the window's start
     * @param to       the window's end
     * @return the history start and the intervals, ready for a {@link PresenceStatement}
     */
    public synchronized Window window(NodeId provider, Instant from, Instant to) {
        long f = from.toEpochMilli();
        long e = to.toEpochMilli();
        Record r = records.get(provider);
        // A provider not held: absent since knownSince (it would have a record had it renewed).
        long history = Math.min(r == null ? knownSince : r.history, e);
        List<PresenceStatement.Interval> out = new ArrayList<>();
        if (r != null) {
            for (Iterator<long[]> it = r.intervals.iterator(); it.hasNext(); ) {
                long[] i = it.next();
                long s = Math.max(Math.max(i[0], f), history);
                long end = Math.min(i[1], e);
                if (end > s) {
                    out.add(new PresenceStatement.Interval(Instant.ofEpochMilli(s), Instant.ofEpochMilli(end)));
                }
            }
        }
        return new Window(Instant.ofEpochMilli(history), out);
    }

    /** @return providers remembered */
    public synchronized int providers() {
        return records.size();
    }

    /**
     * @param history from when the record is complete
     * @param live    the live intervals, clipped
     */
    public record Window(Instant history, List<PresenceStatement.Interval> live) {
    }
}
