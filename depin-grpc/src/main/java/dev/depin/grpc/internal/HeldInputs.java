package dev.depin.grpc.internal;

import dev.depin.crypto.NodeId;
import dev.depin.job.InputRef;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The buyer's memory of which of its inputs each provider said it holds (Result.kept_inputs),
 * by root and size, so that its next job on them sends only the roots. Only a hint: a provider
 * that no longer holds one answers Need and the bytes are sent on the same stream. Bounded:
 * {@value #PER_PROVIDER} inputs per provider and {@value #PROVIDERS} providers, least recently
 * used dropped first.
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
                    return size() > PROVIDERS;
                }
            };

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
        held.computeIfAbsent(provider, p -> new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                return size() > PER_PROVIDER;
            }
        }).put(key(in), Boolean.TRUE);
    }

    /**
     * @param provider the provider
     * @param in       an input it no longer holds
     */
    public synchronized void forget(NodeId provider, InputRef in) {
        LinkedHashMap<String, Boolean> m = held.get(provider);
        if (m != null) {
            m.remove(key(in));
        }
    }
}
