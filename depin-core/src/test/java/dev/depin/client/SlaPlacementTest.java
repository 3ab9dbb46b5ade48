package dev.depin.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.client.internal.OfferBook;
import dev.depin.client.internal.ProviderLoad;
import dev.depin.client.internal.Reputation;
import dev.depin.client.internal.Selection;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobFailedException;
import dev.depin.job.JobResult;
import dev.depin.job.JobState;
import dev.depin.job.SlaRequirement;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.ScriptedNetwork;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import dev.depin.provider.SlaTerms;
import dev.depin.provider.SlaTerms.CreditTier;
import dev.depin.provider.SlaTerms.Objective;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A job that requires an SLA is placed only where the signed SLA meets it, by both placement paths. */
class SlaPlacementTest {
    private static final SlaTerms STANDARD = SlaTerms.standard(Duration.ofHours(1),
            List.of(new Objective(Long.MAX_VALUE, Duration.ofSeconds(30))));
    /** 99 % promised: weaker than STANDARD in availability only. */
    private static final SlaTerms WEAKER = new SlaTerms(Duration.ofHours(1),
            List.of(new Objective(Long.MAX_VALUE, Duration.ofSeconds(30))),
            List.of(new CreditTier(9_900, 25), new CreditTier(9_500, 100)));
    private static final SlaRequirement NEEDS = SlaRequirement.builder().minAvailabilityBasisPoints(9_990)
            .maxTimeToResult(Duration.ofSeconds(30)).build();

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
    }

    /** Cheapest first: no SLA, then the weaker SLA, then the standard one, then the standard one dearer. */
    private List<ProviderNode> nodes() {
        SlaTerms[] slas = {null, WEAKER, STANDARD, STANDARD};
        List<ProviderNode> nodes = new ArrayList<>();
        for (int i = 0; i < slas.length; i++) {
            byte[] seed = new byte[32];
            seed[0] = (byte) (i + 1);
            nodes.add(ProviderNode.builder(NodeKeyPair.fromSeed(seed), new CpuExecutor(1))
                    .region(Region.parse("US/iad-1")).sla(slas[i])
                    .price(new Price(MicroUsd.ofMicros(1_000L * (i + 1)), MicroUsd.ofMicros(10_000))).build());
        }
        return nodes;
    }

    private DepinClient client(ScriptedNetwork net) {
        DepinClient c = DepinClient.builder(net).maxAttempts(3).attemptTimeout(Duration.ofSeconds(30)).build();
        open.add(net);
        open.add(c);
        return c;
    }

    private static Job.Builder sum() {
        return Job.builder(BuiltinKernel.REDUCE_SUM).param("n", 3).input("x", new float[] {1, 2, 3})
                .timeout(Duration.ofSeconds(30));
    }

    @Test
    void requiredSla_passesOverCheaperOffersThatDoNotMeetIt() {
        List<ProviderNode> nodes = nodes();
        ScriptedNetwork net = new ScriptedNetwork(LocalNetwork.of(nodes));
        DepinClient client = client(net);
        assertEquals(nodes.get(0).nodeId(), client.submit(sum().build()).result().provider(), "no requirement: cheapest");
        JobResult r = client.submit(sum().requireSla(NEEDS).build()).result();
        assertEquals(nodes.get(2).nodeId(), r.provider(), "the cheapest offer whose SLA meets the requirement");
        assertEquals(6f, r.floats("sum")[0]);
        assertEquals(0, net.dispatches(nodes.get(1).nodeId()));
    }

    @Test
    void requiredSlaNoOfferMeets_rejectedWithEachOffersReason() {
        List<ProviderNode> nodes = nodes();
        DepinClient client = client(new ScriptedNetwork(LocalNetwork.of(nodes)));
        SlaRequirement strict = SlaRequirement.builder().minAvailabilityBasisPoints(9_990)
                .maxTimeToFirstByte(Duration.ofSeconds(1)).build();
        dev.depin.job.JobHandle h = client.submit(sum().requireSla(strict).build());
        JobFailedException e = assertThrows(JobFailedException.class, h::result);
        assertEquals(JobState.REJECTED, e.finalState());
        String s0 = nodes.get(0).nodeId().shortId();
        String s1 = nodes.get(1).nodeId().shortId();
        String s2 = nodes.get(2).nodeId().shortId();
        String s3 = nodes.get(3).nodeId().shortId();
        assertEquals("job " + h.jobId() + " rejected: no offer fits (4 offer(s) considered: " + s0 + " offers no SLA, and the job requires one; "
                + s1 + " SLA promises no time to first byte, and the job requires PT1S; "
                + s2 + " SLA promises no time to first byte, and the job requires PT1S; "
                + s3 + " SLA promises no time to first byte, and the job requires PT1S). "
                + "Relax the requirements, raise the max price, or add providers", e.getMessage());
    }

    @Test
    void indexedAndLinearPaths_agreeOnARequiredSla() {
        List<ProviderNode> nodes = nodes();
        Instant now = Instant.now();
        List<ProviderOffer> offers = new ArrayList<>();
        for (ProviderNode n : nodes) {
            offers.add(n.offer());
        }
        List<ProviderOffer> answer = List.copyOf(offers); // immutable, as GrpcNetwork's cached answer
        OfferBook book = new OfferBook(1_000);
        List<String> dropped = new ArrayList<>();
        List<ProviderOffer> usable = book.usable(answer, now, dropped);
        assertEquals(List.of(), dropped);
        Reputation reputation = new Reputation();
        ProviderLoad load = new ProviderLoad(4);
        Job job = sum().requireSla(NEEDS).build();
        Selection s = new Selection(job.spec(), job.slaRequirement(), reputation, load, 0);
        // Indexed (the snapshot's ranking for this shape) and linear give the same plan.
        Selection.Plan fast = s.choose(usable, Set.of(), 2, new ArrayList<>());
        List<String> over = new ArrayList<>();
        Selection.Plan slow = s.chooseLinear(new ArrayList<>(usable), Set.of(), 2, over);
        assertEquals(List.of(offers.get(2), offers.get(3)), fast.chosen());
        assertEquals(fast, slow);
        assertEquals(List.of(nodes.get(0).nodeId().shortId() + " offers no SLA, and the job requires one",
                nodes.get(1).nodeId().shortId() + " SLA availability 99 %, below the required 99.9 %"), over);
        // The same job shape without the requirement ranks by price, from the same snapshot.
        Selection any = new Selection(job.spec(), null, reputation, load, 0);
        assertEquals(List.of(offers.get(0), offers.get(1)), any.choose(usable, Set.of(), 2, new ArrayList<>()).chosen());
        // Three wanted: only two meet it, so no plan, and the reasons name the two others.
        List<String> why = new ArrayList<>();
        assertEquals(List.of(), s.choose(usable, Set.of(), 3, why).chosen());
        assertEquals(over, why);
    }
}
