package dev.depin.settlement;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.money.MicroUsd;
import dev.depin.settlement.spi.Settlement;
import java.math.BigInteger;
import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Token rates, quotes, the fixed-rate oracle, slash policies and an escrow's bounds: values and refusals. */
class EscrowTermsTest {
    private static final long SEED = 20261128L;
    private static final Instant T0 = Instant.parse("2026-11-28T10:00:00Z");

    private static void refused(String fragment, Executable e) {
        InvalidArgumentException x = assertThrows(InvalidArgumentException.class, e);
        assertTrue(x.getMessage().contains(fragment), x.getMessage());
    }

    @Test
    void tokenRate_validatesSymbolAndPositivity() {
        refused("malformed", () -> new TokenRate("usdc", 1, T0));
        refused("malformed", () -> new TokenRate("", 1, T0));
        refused("malformed", () -> new TokenRate("ABCDEFGHIJKLMNOPQ", 1, T0));
        refused("must be positive", () -> new TokenRate("DPN", 0, T0));
        refused("must be positive", () -> new TokenRate("DPN", -5, T0));
        refused("time of the rate", () -> new TokenRate("DPN", 5, null));
        assertEquals("DPN = $2.000000 as of 2026-11-28T10:00:00Z", new TokenRate("DPN", 2_000_000, T0).toString());
    }

    @Test
    void basisPoints_roundUpInBothDirectionsAndSaturate() {
        TokenRate base = new TokenRate("DPN", 2_000_000, T0);
        assertEquals(0, base.basisPointsTo(base));
        assertEquals(300, base.basisPointsTo(new TokenRate("DPN", 1_940_000, T0)));
        assertEquals(300, base.basisPointsTo(new TokenRate("DPN", 2_060_000, T0)));
        assertEquals(1, base.basisPointsTo(new TokenRate("DPN", 2_000_001, T0)), "any move is at least 1 bp");
        assertEquals(Long.MAX_VALUE, new TokenRate("DPN", 1, T0).basisPointsTo(new TokenRate("DPN", Long.MAX_VALUE, T0)),
                "saturates instead of overflowing");
        refused("cannot compare", () -> base.basisPointsTo(new TokenRate("USDC", 1, T0)));
        System.out.println("EscrowTermsTest seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int i = 0; i < 10_000; i++) {
            long a = rnd.nextLong(1, 1L << 40);
            long b = rnd.nextLong(1, 1L << 40);
            BigInteger[] qr = BigInteger.valueOf(Math.abs(b - a)).multiply(BigInteger.valueOf(10_000))
                    .divideAndRemainder(BigInteger.valueOf(a));
            long want = qr[0].longValueExact() + (qr[1].signum() == 0 ? 0 : 1);
            assertEquals(want, new TokenRate("X", a, T0).basisPointsTo(new TokenRate("X", b, T0)), a + " -> " + b);
        }
    }

    @Test
    void quote_convertsUsdToMicroTokensRoundingDownAndExpires() {
        Quote q = new Quote(new TokenRate("DPN", 2_000_000, T0), T0, T0.plusSeconds(60));
        assertEquals(500_000, q.microTokens(MicroUsd.ofUsd("1")), "$1 at $2/token = 0.5 token");
        assertEquals(0, q.microTokens(MicroUsd.ofMicros(1)), "half a micro-token rounds down");
        assertEquals(1, q.microTokens(MicroUsd.ofMicros(2)));
        assertEquals(Long.MAX_VALUE / 2, q.microTokens(MicroUsd.ofMicros(Long.MAX_VALUE)), "no overflow in the product");
        assertTrue(q.validAt(T0.plusSeconds(59)));
        assertFalse(q.validAt(T0.plusSeconds(60)));
        refused("not after it was locked", () -> new Quote(q.rate(), T0, T0));
        refused("amount", () -> q.microTokens(null));
    }

    @Test
    void fixedRateOracle_stampsNowAndNeverMoves() {
        Clock clock = Clock.fixed(T0, ZoneOffset.UTC);
        FixedRateOracle o = new FixedRateOracle("DPN", 1_250_000, clock);
        assertEquals(new TokenRate("DPN", 1_250_000, T0), o.rate().join());
        assertEquals("fixed DPN = $1.250000", o.name());
        assertEquals(1_000_000, FixedRateOracle.usdPegged().rate().join().microUsdPerToken());
        refused("must be positive", () -> new FixedRateOracle("DPN", 0, clock));
        refused("clock", () -> new FixedRateOracle("DPN", 1, null));
    }

    @Test
    void slashPolicy_boundsBothFields() {
        assertEquals(new SlashPolicy(10, 50), SlashPolicy.DEFAULT);
        assertEquals(1, new SlashPolicy(1, 0).holdMultiple());
        assertEquals(100, new SlashPolicy(1000, 100).toBuyerPercent());
        refused("give 1 to 1000", () -> new SlashPolicy(0, 50));
        refused("give 1 to 1000", () -> new SlashPolicy(1001, 50));
        refused("give 0 to 100", () -> new SlashPolicy(1, -1));
        refused("give 0 to 100", () -> new SlashPolicy(1, 101));
    }

    @Test
    void escrowBuilder_defaultsAndRefusals() {
        // Building an escrow must not touch the ledger: any call fails the test.
        Settlement ledger = (Settlement) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {Settlement.class}, (p, m, a) -> {
                    throw new AssertionError("building an escrow called the ledger's " + m.getName());
                });
        AccountId buyer = AccountId.of("buyer:acme");
        Escrow e = Escrow.builder(ledger, buyer).build();
        assertEquals("buyer:acme", e.session(), "the session defaults to the buyer account");
        assertEquals(Duration.ofMinutes(5), e.maxRateAge());
        assertEquals(Duration.ofMinutes(10), e.quoteTtl());
        assertEquals(100, e.maxSlippageBps());
        assertEquals(SlashPolicy.DEFAULT, e.slashing());
        assertEquals(Duration.ofMinutes(1), e.expiryGrace());
        refused("ledger", () -> Escrow.builder(null, buyer));
        refused("buyer account", () -> Escrow.builder(ledger, null));
        refused("must be positive", () -> Escrow.builder(ledger, buyer).maxRateAge(Duration.ZERO));
        refused("must be positive", () -> Escrow.builder(ledger, buyer).quoteTtl(Duration.ofSeconds(-1)));
        refused("must be positive", () -> Escrow.builder(ledger, buyer).expiryGrace(Duration.ZERO));
        refused("give 0 to 10000", () -> Escrow.builder(ledger, buyer).maxSlippage(-1));
        refused("give 0 to 10000", () -> Escrow.builder(ledger, buyer).maxSlippage(10_001));
        refused("malformed", () -> Escrow.builder(ledger, buyer).session("has space"));
        refused("malformed", () -> Escrow.builder(ledger, buyer).session("a/b"));
        refused("malformed", () -> Escrow.builder(ledger, buyer).session("x".repeat(65)));
        assertEquals("s-1", Escrow.builder(ledger, buyer).session("s-1").build().session());
        NodeKeyPair k = NodeKeyPair.fromSeed(new byte[32]);
        assertEquals("provider:" + k.nodeId().hex(), Escrow.providerAccount(k.nodeId()).value());
        assertEquals("stake:" + k.nodeId().hex(), Escrow.stakeAccount(k.nodeId()).value());
    }

    @Test
    void payable_isTheChargeAtThePriceBoundedByTheHold_evenWhenTheChargeOverflows() {
        dev.depin.money.Price p = new dev.depin.money.Price(MicroUsd.ofMicros(1_000_000), MicroUsd.ofMicros(3));
        MicroUsd hold = MicroUsd.ofMicros(5_000_000);
        // 1.5 s at 1 USD/s is 1,500,000; 1 byte at 3 per 10^9 bytes rounds up to 1
        assertEquals(MicroUsd.ofMicros(1_500_001), Escrow.payable(p, 1_500_000_000L, 1, hold));
        assertEquals(MicroUsd.ofMicros(1_500_000), Escrow.payable(p, 1_500_000_000L, 0, hold));
        assertEquals(hold, Escrow.payable(p, 60_000_000_000L, 0, hold), "at most the hold");
        assertEquals(hold, Escrow.payable(p, Long.MAX_VALUE, Long.MAX_VALUE, hold), "a hostile device time");
        assertEquals(MicroUsd.ZERO, Escrow.payable(p, 0, 0, hold));
        assertThrows(InvalidArgumentException.class, () -> Escrow.payable(p, -1, 0, hold));
        assertThrows(InvalidArgumentException.class, () -> Escrow.payable(null, 1, 0, hold));
    }
}
