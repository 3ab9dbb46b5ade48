package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.ScriptedNetwork;
import dev.depin.node.InputCache;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.provider.HoldTerms;
import dev.depin.provider.ProviderOffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A job that leaves its outputs on the provider is placed only where the signed offer says they
 * can be held for the time asked, in the entries and bytes one buyer may keep: never sent where
 * the node would refuse it, and rejected before any money moves, naming what was asked and what
 * the best offer holds, when no offer can. An offer that states no hold terms (a node from before
 * them) is still tried, and the node's own check refuses it.
 */
class HoldPlacementTest {
    private static final long SEED = 0x401D_2026_1206L;
    private final SplittableRandom random = new SplittableRandom(SEED);

    HoldPlacementTest() {
        System.out.println("HoldPlacementTest seed 0x" + Long.toHexString(SEED));
    }

    private static NodeKeyPair key(int i) {
        byte[] seed = new byte[32];
        seed[0] = (byte) (i + 40);
        seed[1] = 0x4d;
        return NodeKeyPair.fromSeed(seed);
    }

    /** A node on key {@code i} at {@code priceMicros} per device-second, keeping data as {@code cache} says. */
    private static ProviderNode node(int i, long priceMicros, InputCache.Limits cache) {
        ProviderNode.Builder b = ProviderNode.builder(key(i), new CpuExecutor(1)).receiptBatching(0)
                .price(new Price(MicroUsd.ofMicros(priceMicros), MicroUsd.ofMicros(1_000)));
        return (cache == null ? b : b.inputCache(cache)).build();
    }

    private static InputCache.Limits holding(Duration ttl) {
        return InputCache.Limits.of(16L << 20, 64).withIdleTtl(ttl);
    }

    private float[] floats(int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) random.nextDouble(-1, 1);
        }
        return f;
    }

    private Job.Builder saxpy(int n) {
        return Job.builder(BuiltinKernel.SAXPY).param("n", n).param("alpha", 2f).input("x", floats(n))
                .input("y", floats(n)).maxPrice(MicroUsd.ofMicros(1_000_000)).timeout(Duration.ofSeconds(60));
    }

    @Test
    void nodeOffer_statesItsCacheAsHoldTerms() {
        try (ProviderNode caching = node(0, 1_000, holding(Duration.ofHours(1)));
             ProviderNode plain = node(1, 1_000, null)) {
            ProviderOffer offer = caching.offer();
            assertEquals(new HoldTerms(Duration.ofHours(1), 64, 4L << 20, 16), offer.terms().hold());
            String json = new String(offer.toJson(), StandardCharsets.UTF_8);
            assertTrue(json.contains("\"hold\":{\"maxBytesPerBuyer\":4194304,\"maxEntries\":64,"
                    + "\"maxEntriesPerBuyer\":16,\"maxHoldMillis\":3600000}"), json);
            ProviderOffer back = ProviderOffer.fromJson(offer.toJson());
            back.verifySignature();
            assertEquals(offer.terms(), back.terms());
            assertNull(plain.offer().terms().hold());
            assertFalse(new String(plain.offer().toJson(), StandardCharsets.UTF_8).contains("hold"));
        }
    }

    @Test
    void leaveOutputs_placedOnlyWhereHeldLongEnough() {
        List<ProviderNode> nodes = List.of(node(2, 100, null), node(3, 1_000, holding(Duration.ofMinutes(1))),
                node(4, 10_000, holding(Duration.ofHours(1))));
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        try (DepinClient client = DepinClient.builder(net).maxAttempts(1).build()) {
            JobResult longHold = client.submit(saxpy(256).leaveOutputsOnNode(Duration.ofMinutes(30)).build()).result();
            assertEquals(nodes.get(2).nodeId(), longHold.provider(), "only the 1 h node holds 30 min");
            assertEquals(1, longHold.attempt(), "placed where it is held, never refused first");
            JobResult shortHold = client.submit(saxpy(256).leaveOutputsOnNode(Duration.ofSeconds(30)).build()).result();
            assertEquals(nodes.get(1).nodeId(), shortHold.provider(), "the cheapest node that holds 30 s");
            JobResult returned = client.submit(saxpy(256).build()).result();
            assertEquals(nodes.get(0).nodeId(), returned.provider(), "outputs returned: the cheapest of all");
            assertEquals(0, net.dispatches(nodes.get(0).nodeId()) - 1, "the cacheless node got only the last job");
            for (ProviderNode n : nodes) {
                assertEquals(0, n.failedCount(), "no node refused a job");
            }
        } finally {
            nodes.forEach(ProviderNode::close);
        }
    }

    @Test
    void ttlAboveEveryOffer_rejectedBeforeSending_withWhatTheBestHolds() {
        List<ProviderNode> nodes = List.of(node(5, 100, null), node(6, 1_000, holding(Duration.ofMinutes(1))),
                node(7, 10_000, holding(Duration.ofHours(1))));
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        try (DepinClient client = DepinClient.builder(net).build()) {
            Job job = saxpy(1024).leaveOutputsOnNode(Duration.ofHours(2)).build();
            JobFailedException e = assertThrows(JobFailedException.class, () -> client.submit(job).result());
            assertEquals(JobState.REJECTED, e.finalState());
            assertTrue(e.getMessage().contains(nodes.get(0).nodeId().shortId() + " keeps no data between jobs"),
                    e.getMessage());
            assertTrue(e.getMessage().contains(nodes.get(1).nodeId().shortId() + " holds data for at most PT1M, this "
                    + "job asks PT2H"), e.getMessage());
            NoHoldingOfferException why = assertInstanceOf(NoHoldingOfferException.class, e.getSuppressed()[0]);
            assertEquals("no offer can hold this job's outputs: this job asks leaveOutputsOnNode(PT2H) for 1 output(s) "
                    + "of 4096 bytes together; the best of 3 offer(s), " + nodes.get(2).nodeId().shortId() + ", holds "
                    + "up to PT1H, 64 entries (16 per buyer), 4194304 bytes per buyer: ask leaveOutputsOnNode(ttl) "
                    + "with ttl <= PT1H, return the outputs, or add a provider whose offer holds data longer",
                    why.getMessage());
            assertEquals(Duration.ofHours(2), why.askedHold());
            assertEquals(1, why.askedEntries());
            assertEquals(4096, why.askedBytes());
            assertEquals(nodes.get(2).offer().terms().hold(), why.bestOffer().orElseThrow());
            for (ProviderNode n : nodes) {
                assertEquals(0, net.dispatches(n.nodeId()), "nothing was sent");
            }
        } finally {
            nodes.forEach(ProviderNode::close);
        }
    }

    @Test
    void outputsAboveThePerBuyerShare_rejectedWithWhatToDo() {
        ProviderNode small = node(8, 1_000, holding(Duration.ofHours(1)).withPeerShare(4096, 2));
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(List.of(small)));
        try (small; DepinClient client = DepinClient.builder(net).build()) {
            Job job = saxpy(2048).leaveOutputsOnNode(Duration.ofMinutes(5)).build();
            JobFailedException e = assertThrows(JobFailedException.class, () -> client.submit(job).result());
            assertTrue(e.getMessage().contains(small.nodeId().shortId() + " holds at most 4096 bytes per buyer, this "
                    + "job leaves 8192"), e.getMessage());
            assertEquals("no offer can hold this job's outputs: this job asks leaveOutputsOnNode(PT5M) for 1 output(s) "
                    + "of 8192 bytes together; the best of 1 offer(s), " + small.nodeId().shortId() + ", holds up to "
                    + "PT1H, 64 entries (2 per buyer), 4096 bytes per buyer: leave fewer or smaller outputs, return "
                    + "them, or add a provider whose offer holds more", e.getSuppressed()[0].getMessage());
            assertEquals(0, net.dispatches(small.nodeId()));
            // Within the share it runs there.
            assertEquals(small.nodeId(), client.submit(saxpy(1024).leaveOutputsOnNode(Duration.ofMinutes(5)).build())
                    .result().provider());
        }
    }

    @Test
    void heldInputsPinTheJob_toAHolderThatCannotHoldLongEnough_rejected() {
        ProviderNode holder = node(9, 500, holding(Duration.ofMinutes(1)));
        ProviderNode other = node(10, 1_000, holding(Duration.ofHours(1)));
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(List.of(holder, other)));
        try (holder; other; DepinClient client = DepinClient.builder(net).build()) {
            JobResult first = client.submit(saxpy(1024).leaveOutputsOnNode(Duration.ofSeconds(50)).build()).result();
            assertEquals(holder.nodeId(), first.provider(), "the cheaper offer that holds 50 s");
            Job next = Job.builder(BuiltinKernel.SAXPY).param("n", 1024).param("alpha", 2f)
                    .inputFrom("x", first, "out").input("y", floats(1024)).maxPrice(MicroUsd.ofMicros(1_000_000))
                    .leaveOutputsOnNode(Duration.ofMinutes(10)).build();
            JobFailedException e = assertThrows(JobFailedException.class, () -> client.submit(next).result());
            assertEquals(JobState.REJECTED, e.finalState());
            assertEquals("no offer can hold this job's outputs: this job asks leaveOutputsOnNode(PT10M) for 1 "
                    + "output(s) of 4096 bytes together; the provider holding its inputs, " + holder.nodeId().shortId()
                    + ", holds up to PT1M, 64 entries (16 per buyer), 4194304 bytes per buyer: ask "
                    + "leaveOutputsOnNode(ttl) with ttl <= PT1M, return the outputs, or add a provider whose offer "
                    + "holds data longer (its held inputs pin it to that provider)", e.getSuppressed()[0].getMessage());
            assertEquals(1, net.dispatches(holder.nodeId()) + net.dispatches(other.nodeId()), "only the first job");
        }
    }

    @Test
    void offerWithoutHoldTerms_stillTried_andTheNodeRefusesALongerHold() {
        NodeKeyPair key = key(11);
        ProviderNode old = node(11, 1_000, holding(Duration.ofMinutes(1)));
        // As a node from before hold terms signs it: the same terms without them.
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(List.of(old))).tamperOffers(offers -> offers.stream()
                .map(o -> ProviderOffer.sign(key, o.terms().withHold(null))).toList());
        try (old; DepinClient client = DepinClient.builder(net).maxAttempts(1).build()) {
            Job job = saxpy(256).leaveOutputsOnNode(Duration.ofMinutes(30)).build();
            JobFailedException e = assertThrows(JobFailedException.class, () -> client.submit(job).result());
            assertEquals(1, net.dispatches(old.nodeId()), "unstated terms: tried, as before they existed");
            assertTrue(e.getMessage().contains("provider " + old.nodeId().shortId() + " holds outputs for at most PT1M, "
                    + "not PT30M: ask leaveOutputsOnNode(ttl) with ttl <= PT1M, or choose another provider"),
                    e.getMessage());
        }
    }
}
