package dev.depin.client.internal;

import dev.depin.crypto.NodeId;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * What this client has left on each provider (the outputs of its jobs that leave them there)
 * and until when. A provider's hold terms give a buyer one share of room for everything it
 * holds there, so {@link HoldPlacement} places a job that leaves outputs only where they fit
 * beside what is already held, instead of sending it to be refused.
 *
 * <p>Counted from what this client knows, never from what a provider says: an attempt's outputs
 * count from the moment its answer arrives (whether or not it is accepted: the node holds them
 * either way), by the sizes its spec declares, until the client's clock passes the hold asked,
 * which is no earlier than the node's own expiry (the node starts counting before the answer
 * is sent). It is a buyer-side estimate, not the node's account: another client of the same
 * buyer key, or an output the node already held by the same root, is not seen, and the node's
 * own check stays the last word (it refuses before running a job it cannot hold). At most
 * {@value #MAX_PER_PROVIDER} outputs are counted per provider; past that the earliest to expire
 * are forgotten first, so the estimate errs towards sending, as before it existed.
 */
public final class HeldRoom {
    static final int MAX_PER_PROVIDER = 4_096;
    /** Providers whose holds are pruned together once this many have any. */
    private static final int PRUNE_ALL_AFTER = 1_024;

    /** What is held on one provider now. */
    record Held(long bytes, int entries, Instant firstExpiry) {
        static final Held NONE = new Held(0, 0, null);
    }

    private record Output(long bytes, long untilMillis) {
    }

    private final Map<NodeId, List<Output>> byProvider = new HashMap<>();

    /** Nothing held yet: a client makes one. */
    public HeldRoom() {
    }

    /**
     * @param provider where the outputs stay
     * @param sizes    each output's declared bytes
     * @param now      the client's clock
     * @param until    when the client stops counting them
     */
    synchronized void left(NodeId provider, long[] sizes, Instant now, Instant until) {
        if (byProvider.size() >= PRUNE_ALL_AFTER) {
            long at = now.toEpochMilli();
            byProvider.values().removeIf(list -> {
                list.removeIf(o -> o.untilMillis() <= at);
                return list.isEmpty();
            });
        }
        List<Output> list = byProvider.computeIfAbsent(provider, p -> new ArrayList<>());
        for (long s : sizes) {
            if (list.size() >= MAX_PER_PROVIDER) {
                Output first = list.get(0);
                for (Output o : list) {
                    if (o.untilMillis() < first.untilMillis()) {
                        first = o;
                    }
                }
                list.remove(first);
            }
            list.add(new Output(s, until.toEpochMilli()));
        }
    }

    /**
     * @param provider a provider
     * @param now      the client's clock
     * @return what this client holds there now ({@link Held#NONE} for nothing)
     */
    synchronized Held held(NodeId provider, Instant now) {
        List<Output> list = byProvider.get(provider);
        if (list == null) {
            return Held.NONE;
        }
        long at = now.toEpochMilli();
        long bytes = 0;
        long first = Long.MAX_VALUE;
        for (Iterator<Output> it = list.iterator(); it.hasNext(); ) {
            Output o = it.next();
            if (o.untilMillis() <= at) {
                it.remove();
            } else {
                bytes = bytes + o.bytes() < 0 ? Long.MAX_VALUE : bytes + o.bytes();
                first = Math.min(first, o.untilMillis());
            }
        }
        if (list.isEmpty()) {
            byProvider.remove(provider);
            return Held.NONE;
        }
        return new Held(bytes, list.size(), Instant.ofEpochMilli(first));
    }
}
