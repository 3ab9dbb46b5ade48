package dev.depin.grpc.internal;

import dev.depin.crypto.NodeId;
import dev.depin.job.InputRef;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The buyer's memory of which of its inputs each provider said it holds (Result.kept_inputs),
 * by root and size, so that its next job on them sends only the roots. Only a hint: a provider
 * that no longer holds one answers Need and the bytes are sent on the same stream. Bounded:
 * {@value #PER_PROVIDER} inputs per provider and {@value #PROVIDERS} providers, least recently
 * used dropped first. An index by input answers which providers hold a job's inputs without
 * looking at every provider ({@link #bytesHeld}).
 */
public final class HeldInputs {
    /** Inputs remembered per provider. */
    public static final int PER_PROVIDER = 4096;
    /** Providers remembered. */
    public static final int PROVIDERS = 1024;

    private final LinkedHashMap<NodeId, LinkedHashMap<String, Boolean>> held =
            new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<NodeId, LinkedHashMap<String, Boolean>> eldest) {
                    if (size() <= PROVIDERS) {
                        return false;
                    }
                    for (String k : eldest.getValue().keySet()) {
                        unindex(k, eldest.getKey());
                    }
                    return true;
                }
            };
    /** Input key → the providers remembered holding it; always the inverse of {@link #held}. */
    private final Map<String, Set<NodeId>> holders = new HashMap<>();

    private void unindex(String key, NodeId provider) {
        Set<NodeId> s = holders.get(key);
        if (s != null && s.remove(provider) && s.isEmpty()) {
            holders.remove(key);
        }
    }

    private static String key(InputRef in) {
        return in.merkleRoot() + ":" + in.bytes();
    }

    /**
     * @param provider the provider
     * @param in       an input
     * @return whether the provider said it holds that input for this buyer
     */
    public synchronized boolean holds(NodeId provider, InputRef in) {
        LinkedHashMap<String, Boolean> m = held.get(provider);
        return m != null && m.get(key(in)) != null;
    }

    /**
     * @param provider the provider
     * @param in       an input it says it holds now
     */
    public synchronized void remember(NodeId provider, InputRef in) {
        String key = key(in);
        held.computeIfAbsent(provider, p -> new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                if (size() <= PER_PROVIDER) {
                    return false;
                }
                unindex(eldest.getKey(), p);
                return true;
            }
        }).put(key, Boolean.TRUE);
        holders.computeIfAbsent(key, k -> new HashSet<>()).add(provider);
    }

    /**
     * How many of these inputs' bytes each provider is remembered holding. An input named
     * twice counts once. Does not refresh recency (a question is not a use).
     *
     * @param inputs a job's inputs
     * @return bytes per provider holding at least one of them; empty when none does
     */
    public synchronized Map<NodeId, Long> bytesHeld(List<InputRef> inputs) {
        if (holders.isEmpty()) {
            return Map.of();
        }
        Map<NodeId, Long> bytes = new HashMap<>();
        Set<String> seen = new HashSet<>();
        for (InputRef in : inputs) {
            String key = key(in);
            Set<NodeId> who = seen.add(key) ? holders.get(key) : null;
            if (who != null) {
                for (NodeId p : who) {
                    bytes.merge(p, in.bytes(), Long::sum);
                }
            }
        }
        return bytes.isEmpty() ? Map.of() : Map.copyOf(bytes);
    }

    /** @return providers remembered, for tests */
    synchronized int providers() {
        return held.size();
    }

    /** @return entries of the index by input, for tests: the sum of each provider's inputs */
    synchronized int indexed() {
        int n = 0;
        for (Set<NodeId> s : holders.values()) {
            n += s.size();
        }
        return n;
    }

    /**
     * @param provider the provider
     * @param in       an input it no longer holds
     */
    public synchronized void forget(NodeId provider, InputRef in) {
        LinkedHashMap<String, Boolean> m = held.get(provider);
        if (m != null && m.remove(key(in)) != null) {
            unindex(key(in), provider);
        }
    }
}
