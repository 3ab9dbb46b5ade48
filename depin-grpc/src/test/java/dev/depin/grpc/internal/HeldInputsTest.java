package dev.depin.grpc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.job.InputRef;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The buyer's memory of kept inputs and its index by input: {@link HeldInputs#bytesHeld} always
 * equals a scan of every provider's inputs, through remembers, forgets and both evictions.
 */
class HeldInputsTest {
    private static final long SEED = 0x4E1DL;

    private static InputRef input(SplittableRandom rnd, int i) {
        String root = String.format("%064x", (long) i * 0x9E3779B97F4A7C15L & Long.MAX_VALUE);
        return new InputRef("in" + i, 4L * (1 + rnd.nextInt(3)), root);
    }

    private static NodeId node(int i) {
        byte[] seed = new byte[NodeKeyPair.SEED_LENGTH];
        seed[0] = (byte) i;
        seed[1] = (byte) (i >> 8);
        return NodeKeyPair.fromSeed(seed).nodeId();
    }

    @Test
    void bytesHeld_countsEachInputOnce_perProvider() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        HeldInputs h = new HeldInputs();
        InputRef a = new InputRef("a", 4096, "ab".repeat(32));
        InputRef b = new InputRef("b", 100, "cd".repeat(32));
        InputRef aOtherSize = new InputRef("a2", 8, "ab".repeat(32));
        NodeId p = node(1);
        NodeId q = node(2);
        assertEquals(Map.of(), h.bytesHeld(List.of(a, b)));
        h.remember(p, a);
        h.remember(p, b);
        h.remember(q, b);
        assertEquals(Map.of(p, 4196L, q, 100L), h.bytesHeld(List.of(a, b)));
        assertEquals(Map.of(p, 4096L), h.bytesHeld(List.of(a, a)), "an input named twice counts once");
        assertEquals(Map.of(), h.bytesHeld(List.of(aOtherSize)), "a root with another size is another input");
        h.forget(p, a);
        assertEquals(Map.of(p, 100L, q, 100L), h.bytesHeld(List.of(a, b)));
        h.forget(p, a); // twice: nothing to forget
        h.forget(node(3), b); // a provider never remembered
        assertEquals(Map.of(p, 100L, q, 100L), h.bytesHeld(List.of(a, b)));
        assertTrue(input(rnd, 1).bytes() > 0);
    }

    @Test
    void index_matchesAScan_throughEvictionsOfInputsAndProviders() {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        System.out.println("HeldInputsTest seed " + (SEED + 1));
        HeldInputs h = new HeldInputs();
        // The reference: per provider, its inputs in recency order, evicted by the same rules.
        java.util.LinkedHashMap<NodeId, java.util.LinkedHashMap<String, InputRef>> ref =
                new java.util.LinkedHashMap<>(16, 0.75f, true);
        List<InputRef> inputs = new ArrayList<>();
        for (int i = 0; i < 6000; i++) {
            inputs.add(input(rnd, i));
        }
        NodeId[] nodes = new NodeId[HeldInputs.PROVIDERS + 40];
        for (int i = 0; i < nodes.length; i++) {
            nodes[i] = node(i);
        }
        for (int step = 0; step < 60_000; step++) {
            // A few hot providers take most inputs (so per-provider eviction happens), the rest
            // spread over more providers than are remembered (so providers are evicted).
            NodeId p = nodes[rnd.nextInt(4) > 0 ? rnd.nextInt(3) : rnd.nextInt(nodes.length)];
            InputRef in = inputs.get(rnd.nextInt(inputs.size()));
            String key = in.merkleRoot() + ":" + in.bytes();
            if (rnd.nextInt(10) == 0) {
                h.forget(p, in);
                java.util.LinkedHashMap<String, InputRef> m = ref.get(p);
                if (m != null) {
                    m.remove(key);
                }
            } else {
                h.remember(p, in);
                java.util.LinkedHashMap<String, InputRef> m = ref.computeIfAbsent(p,
                        x -> new java.util.LinkedHashMap<>(16, 0.75f, true));
                m.put(key, in);
                if (m.size() > HeldInputs.PER_PROVIDER) {
                    m.remove(m.keySet().iterator().next());
                }
                if (ref.size() > HeldInputs.PROVIDERS) {
                    ref.remove(ref.keySet().iterator().next());
                }
            }
        }
        assertEquals(HeldInputs.PROVIDERS, h.providers(), "providers past the bound were evicted");
        int entries = 0;
        for (java.util.LinkedHashMap<String, InputRef> m : ref.values()) {
            entries += m.size();
        }
        assertEquals(entries, h.indexed(), "the index holds exactly the remembered inputs");
        assertTrue(ref.values().stream().anyMatch(m -> m.size() == HeldInputs.PER_PROVIDER),
                "a hot provider reached its bound");
        for (int q = 0; q < 200; q++) {
            List<InputRef> job = new ArrayList<>();
            for (int k = 1 + rnd.nextInt(4); k > 0; k--) {
                job.add(inputs.get(rnd.nextInt(inputs.size())));
            }
            Map<NodeId, Long> expected = new HashMap<>();
            for (Map.Entry<NodeId, java.util.LinkedHashMap<String, InputRef>> e : ref.entrySet()) {
                long sum = 0;
                java.util.Set<String> seen = new java.util.HashSet<>();
                for (InputRef in : job) {
                    String key = in.merkleRoot() + ":" + in.bytes();
                    if (seen.add(key) && e.getValue().containsKey(key)) {
                        sum += in.bytes();
                    }
                }
                if (sum > 0) {
                    expected.put(e.getKey(), sum);
                }
            }
            assertEquals(expected, h.bytesHeld(job), "query " + q);
        }
        assertFalse(h.bytesHeld(inputs.subList(0, 50)).isEmpty());
    }
}
