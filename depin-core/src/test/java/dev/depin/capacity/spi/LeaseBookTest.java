package dev.depin.capacity.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.capacity.BudgetExceededException;
import dev.depin.capacity.CapacityException;
import dev.depin.capacity.CapacityQuote;
import dev.depin.capacity.CapacityRequest;
import dev.depin.capacity.GpuSpec;
import dev.depin.capacity.Machine;
import dev.depin.capacity.MachineState;
import dev.depin.capacity.MarketApiException;
import dev.depin.capacity.NodeTemplate;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.settlement.SettlementContract.ManualClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The lease bookkeeping that the Akash and io.net markets share, against a market kept in a map:
 * what each answer of the market makes of a machine's state, how an obtain is undone, and a
 * release's idempotence.
 */
class LeaseBookTest {
    private static final NodeTemplate NODE = new NodeTemplate(NodeTemplate.DEFAULT_IMAGE, List.of("dir.invalid:7000"),
            new Price(MicroUsd.ofMicros(10), MicroUsd.ofMicros(10)), MicroUsd.ZERO, 7001, Duration.ofSeconds(10));
    private static final Instant T0 = Instant.parse("2026-12-05T12:00:00Z");

    /** The market: what it says of each lease, what it was asked to end, and how it fails. */
    private final Map<String, LeaseBook.Seen> said = new HashMap<>();
    private final List<String> ended = new ArrayList<>();
    private final List<String> looked = new ArrayList<>();
    private int endStatus;
    private ManualClock clock;
    private LeaseBook book;

    @BeforeEach
    void setUp() {
        clock = new ManualClock(T0);
        book = new LeaseBook("fake", "closed", clock, id -> {
            looked.add(id);
            return said.get(id);
        }, id -> {
            if (endStatus != 0) {
                throw new MarketApiException("fake", endStatus, "refused", "fake: ending " + id + " refused");
            }
            ended.add(id);
        });
    }

    private static CapacityQuote quote(int machines, long totalMicros) {
        CapacityRequest r = new CapacityRequest(machines, GpuSpec.NONE, null, Duration.ofHours(1), MicroUsd.ofUsd("1"),
                NODE);
        return new CapacityQuote("fake", r, MicroUsd.ofMicros(totalMicros / machines), MicroUsd.ofMicros(totalMicros),
                null, T0.plusSeconds(300), "test");
    }

    private Machine lease(String id) {
        return book.add(id, MicroUsd.ofMicros(100), T0.plus(Duration.ofHours(1)), "leased " + id);
    }

    private Machine listed(String id) {
        return book.machines().join().stream().filter(m -> m.id().equals(id)).findFirst().orElseThrow();
    }

    @Test
    void eachAnswerOfTheMarketSetsTheStateItNames() {
        for (String id : List.of("same", "running", "failed", "ended-early", "ended-late", "completed")) {
            lease(id);
        }
        said.put("same", LeaseBook.Seen.same(null));
        said.put("running", LeaseBook.Seen.running(null));
        said.put("failed", LeaseBook.Seen.failed("lease closed"));
        said.put("ended-early", LeaseBook.Seen.ended("deployment closed"));
        said.put("completed", LeaseBook.Seen.released("completed"));
        said.put("ended-late", LeaseBook.Seen.same("pending"));
        assertEquals(MachineState.STARTING, listed("same").state());
        assertEquals("leased same", listed("same").detail(), "a null detail keeps the last one");
        assertEquals(MachineState.RUNNING, listed("running").state());
        assertEquals(MachineState.FAILED, listed("failed").state());
        assertEquals("lease closed", listed("failed").detail());
        assertEquals(MachineState.FAILED, listed("ended-early").state(), "ended before its term: the market broke it");
        assertEquals(MachineState.RELEASED, listed("completed").state());
        assertEquals(MachineState.STARTING, listed("ended-late").state());
        assertEquals("pending", listed("ended-late").detail());

        clock.advance(Duration.ofHours(1));
        said.put("ended-late", LeaseBook.Seen.ended("deployment closed"));
        assertEquals(MachineState.RELEASED, listed("ended-late").state(), "ended at its term: it ran its course");
    }

    @Test
    void anEndedLeaseIsNotAskedAboutAgain() {
        lease("a");
        said.put("a", LeaseBook.Seen.failed("gone"));
        assertEquals(MachineState.FAILED, listed("a").state());
        said.put("a", LeaseBook.Seen.running("back?"));
        looked.clear();
        assertEquals(MachineState.FAILED, listed("a").state());
        assertEquals(List.of(), looked);
    }

    @Test
    void obtainLeasesEveryMachineOfTheQuote() {
        List<String> ids = new ArrayList<>();
        List<Machine> got = book.obtain(CompletableFuture.completedFuture(quote(3, 300)), q -> {
            String id = "m" + ids.size();
            ids.add(id);
            return lease(id);
        }).join();
        assertEquals(List.of("m0", "m1", "m2"), got.stream().map(Machine::id).toList());
        assertTrue(got.stream().allMatch(m -> m.state() == MachineState.STARTING && m.market().equals("fake")));
        assertEquals(List.of(), ended);
    }

    @Test
    void aQuoteOverBudgetLeasesNothing() {
        List<String> tried = new ArrayList<>();
        CompletionException e = assertThrows(CompletionException.class, () -> book.obtain(
                CompletableFuture.completedFuture(quote(2, 1_000_001)), q -> {
                    tried.add("x");
                    return lease("x");
                }).join());
        assertInstanceOf(BudgetExceededException.class, e.getCause());
        assertEquals(List.of(), tried);
        assertEquals(List.of(), book.machines().join());
    }

    @Test
    void aFailedMachineEndsThoseAlreadyLeased() {
        List<String> ids = new ArrayList<>();
        CompletionException e = assertThrows(CompletionException.class, () -> book.obtain(
                CompletableFuture.completedFuture(quote(3, 300)), q -> {
                    if (ids.size() == 2) {
                        throw new MarketApiException("fake", 0, "no-bids", "fake: no bids");
                    }
                    String id = "m" + ids.size();
                    ids.add(id);
                    return lease(id);
                }).join());
        assertEquals("fake: no bids", e.getCause().getMessage());
        assertEquals(List.of("m0", "m1"), ended);
    }

    @Test
    void releaseEndsOnceAndIsIdempotent() {
        lease("a");
        book.release("a").join();
        assertEquals(List.of("a"), ended);
        Machine m = book.machines().join().get(0);
        assertEquals(MachineState.RELEASED, m.state());
        assertEquals("closed", m.detail());
        book.release("a").join();
        assertEquals(List.of("a"), ended, "a released lease is not ended twice");
    }

    @Test
    void aLeaseTheMarketNoLongerKnowsIsReleased() {
        lease("a");
        endStatus = 404;
        book.release("a").join();
        assertEquals(MachineState.RELEASED, book.machines().join().get(0).state());
    }

    @Test
    void aRefusedReleaseLeavesTheLeaseLiveToRetry() {
        lease("a");
        said.put("a", LeaseBook.Seen.running(null));
        endStatus = 402;
        CompletionException e = assertThrows(CompletionException.class, () -> book.release("a").join());
        assertEquals(402, ((MarketApiException) e.getCause()).status());
        assertEquals(MachineState.RUNNING, listed("a").state());
        endStatus = 0;
        book.release("a").join();
        assertEquals(MachineState.RELEASED, listed("a").state());
        assertEquals(List.of("a"), ended);
    }

    @Test
    void releasingWhatWasNotObtainedHereFails() {
        CompletionException e = assertThrows(CompletionException.class, () -> book.release("nope").join());
        assertInstanceOf(CapacityException.class, e.getCause());
        assertEquals("fake: no deployment nope was obtained here", e.getCause().getMessage());
    }
}
