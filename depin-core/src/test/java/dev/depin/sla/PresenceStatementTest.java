package dev.depin.sla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationException.Reason;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The directory's signed presence statement: one encoding, verified against the directory's
 * key and the provider asked about, every malformed or tampered form refused with its reason.
 */
class PresenceStatementTest {
    private static final long SEED = 0x9E5E7CEL;
    private static final NodeKeyPair DIRECTORY = key(1);
    private static final NodeKeyPair OTHER = key(2);
    private static final NodeId PROVIDER = key(3).nodeId();
    private static final Instant T0 = Instant.parse("2026-12-05T00:00:00Z");

    private static NodeKeyPair key(int i) {
        byte[] seed = new byte[NodeKeyPair.SEED_LENGTH];
        seed[0] = (byte) i;
        return NodeKeyPair.fromSeed(seed);
    }

    private static Instant t(long seconds) {
        return T0.plusSeconds(seconds);
    }

    private static PresenceStatement.Interval iv(long from, long to) {
        return new PresenceStatement.Interval(t(from), t(to));
    }

    private static PresenceStatement sample() {
        return PresenceStatement.issue(DIRECTORY, PROVIDER, t(0), t(3600), t(600), t(3700),
                List.of(iv(600, 1800), iv(1830, 3600)));
    }

    @Test
    void roundTrip_oneEncoding_andTheLiveShareOfWhatIsKnown() {
        PresenceStatement s = sample();
        PresenceStatement back = PresenceStatement.parse(s.toBytes());
        back.verify(DIRECTORY.publicKey(), PROVIDER);
        assertEquals(s.live(), back.live());
        assertEquals(t(600), back.history());
        assertEquals(2_970_000L, back.liveMillis());
        assertEquals(3_000_000L, back.knownMillis(), "the window before the history is not known");
        assertEquals((1200.0 + 1770.0) / 3000.0, back.liveFraction(), 1e-12);
        String payload = new String(Envelope.parse(s.toBytes(), PresenceStatement.MAX_BYTES).payload(),
                StandardCharsets.US_ASCII);
        assertEquals("depin-presence v1\ndirectory " + DIRECTORY.nodeId().hex() + "\nprovider " + PROVIDER.hex()
                + "\nfrom " + t(0).toEpochMilli() + "\nto " + t(3600).toEpochMilli() + "\nhistory "
                + t(600).toEpochMilli() + "\nissued " + t(3700).toEpochMilli() + "\nlive " + t(600).toEpochMilli()
                + " " + t(1800).toEpochMilli() + "\nlive " + t(1830).toEpochMilli() + " " + t(3600).toEpochMilli()
                + "\n", payload);
    }

    @Test
    void randomStatements_roundTrip() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        System.out.println("PresenceStatementTest seed " + SEED);
        for (int trial = 0; trial < 200; trial++) {
            long from = rnd.nextLong(1_000_000_000_000L);
            long to = from + 1 + rnd.nextLong(100_000_000L);
            long history = from - 1_000 + rnd.nextLong(to - from + 1_000);
            List<PresenceStatement.Interval> live = new ArrayList<>();
            long at = Math.max(from, history);
            int n = rnd.nextInt(trial % 50 == 0 ? PresenceStatement.MAX_INTERVALS + 1 : 20);
            for (int i = 0; i < n && at < to - 2; i++) {
                long s = at + rnd.nextLong(Math.max(1, (to - at) / 8));
                long e = s + 1 + rnd.nextLong(Math.max(1, (to - s) / 8));
                if (e > to) {
                    break;
                }
                live.add(new PresenceStatement.Interval(Instant.ofEpochMilli(s), Instant.ofEpochMilli(e)));
                at = e + 1;
            }
            PresenceStatement st = PresenceStatement.issue(DIRECTORY, PROVIDER, Instant.ofEpochMilli(from),
                    Instant.ofEpochMilli(to), Instant.ofEpochMilli(history), Instant.ofEpochMilli(to + rnd.nextInt(5)),
                    live);
            PresenceStatement back = PresenceStatement.parse(st.toBytes());
            back.verify(DIRECTORY.publicKey(), PROVIDER);
            assertEquals(st.live(), back.live(), "trial " + trial);
            double f = back.liveFraction();
            assertEquals(true, Double.isNaN(f) || (f >= 0 && f <= 1), "trial " + trial + ": fraction " + f);
        }
    }

    @Test
    void verify_refusesAnotherDirectory_aForgedSignature_andAnotherProvider() {
        PresenceStatement s = sample();
        VerificationException e = assertThrows(VerificationException.class,
                () -> s.verify(OTHER.publicKey(), PROVIDER));
        assertEquals(Reason.KEY_MISMATCH, e.reason());
        e = assertThrows(VerificationException.class, () -> s.verify(DIRECTORY.publicKey(), key(9).nodeId()));
        assertEquals(Reason.SUBJECT_MISMATCH, e.reason());
        assertEquals("SUBJECT_MISMATCH: presence statement is about provider " + PROVIDER.shortId() + ", not " + key(9).nodeId().shortId()
                + ": reject it", e.getMessage());
        // Another key's envelope over the same payload (it names the trusted directory).
        byte[] payload = Envelope.parse(s.toBytes(), PresenceStatement.MAX_BYTES).payload();
        PresenceStatement other = PresenceStatement.parse(
                Envelope.sign(PresenceStatement.PAYLOAD_TYPE, payload, OTHER).toJsonBytes());
        e = assertThrows(VerificationException.class, () -> other.verify(DIRECTORY.publicKey(), PROVIDER));
        assertEquals(Reason.KEY_MISMATCH, e.reason());
        // The directory's own signature over a payload that a holder changed (a longer interval).
        String changed = new String(payload, StandardCharsets.US_ASCII).replace(" " + t(1800).toEpochMilli() + "\n",
                " " + t(1829).toEpochMilli() + "\n");
        String json = new String(s.toBytes(), StandardCharsets.UTF_8).replace(
                java.util.Base64.getEncoder().encodeToString(payload),
                java.util.Base64.getEncoder().encodeToString(changed.getBytes(StandardCharsets.US_ASCII)));
        PresenceStatement tampered = PresenceStatement.parse(json.getBytes(StandardCharsets.UTF_8));
        assertEquals(iv(600, 1829), tampered.live().get(0), "the edit parsed");
        e = assertThrows(VerificationException.class, () -> tampered.verify(DIRECTORY.publicKey(), PROVIDER));
        assertEquals(Reason.BAD_SIGNATURE, e.reason());
    }

    private static byte[] signed(String payloadType, String payload) {
        return Envelope.sign(payloadType, payload.getBytes(StandardCharsets.US_ASCII), DIRECTORY).toJsonBytes();
    }

    private static String payload(String live) {
        return "depin-presence v1\ndirectory " + DIRECTORY.nodeId().hex() + "\nprovider " + PROVIDER.hex()
                + "\nfrom 1000\nto 5000\nhistory 0\nissued 6000\n" + live;
    }

    @Test
    void parse_refusesEveryMalformedForm_withItsReason() {
        assertEquals(List.of(new PresenceStatement.Interval(Instant.ofEpochMilli(1000), Instant.ofEpochMilli(2000))),
                PresenceStatement.parse(signed(PresenceStatement.PAYLOAD_TYPE, payload("live 1000 2000\n"))).live());
        String[][] bad = {
            {"live 2000 1000\n", "interval [1970-01-01T00:00:02Z, 1970-01-01T00:00:01Z) is empty or reversed"},
            {"live 1000 2000\nlive 2000 3000\n", "does not start after the previous one ends"},
            {"live 1000 3000\nlive 2000 2500\n", "does not start after the previous one ends"},
            {"live 500 2000\n", "is outside the window"},
            {"live 1000 6000\n", "is outside the window"},
            {"live 01000 2000\n", "its fields are not in their one canonical form"},
            {"live 1000  2000\n", "is not 'live <start> <end>'"},
            {"live 1000 2000", "it does not start 'depin-presence v1'"},
            {"alive 1000 2000\n", "is not 'live <start> <end>'"},
            {"live 1000 x\n", "For input string: \"x\""},
        };
        for (String[] b : bad) {
            VerificationException e = assertThrows(VerificationException.class,
                    () -> PresenceStatement.parse(signed(PresenceStatement.PAYLOAD_TYPE, payload(b[0]))), b[0]);
            assertEquals(Reason.MALFORMED_STATEMENT, e.reason(), b[0]);
            assertEquals(true, e.getMessage().startsWith("MALFORMED_STATEMENT: malformed presence statement: ")
                    && e.getMessage().contains(b[1]) && e.getMessage().endsWith("; reject it"), e.getMessage());
        }
        VerificationException e = assertThrows(VerificationException.class, () -> PresenceStatement.parse(
                signed(PresenceStatement.PAYLOAD_TYPE, payload("").replace("\nhistory 0\n", "\nhistory 9000\n"))));
        assertEquals("MALFORMED_STATEMENT: malformed presence statement: history starts at 1970-01-01T00:00:09Z, after the window's end "
                + "1970-01-01T00:00:05Z; reject it", e.getMessage());
        e = assertThrows(VerificationException.class, () -> PresenceStatement.parse(
                signed(PresenceStatement.PAYLOAD_TYPE, payload("").replace("\nissued 6000\n", "\nissued 4000\n"))));
        assertEquals(true, e.getMessage().contains("a presence statement is about the past only"), e.getMessage());
        e = assertThrows(VerificationException.class, () -> PresenceStatement.parse(
                signed("application/vnd.depin.hold-certificate.v1", payload(""))));
        assertEquals(Reason.WRONG_PAYLOAD_TYPE, e.reason());
        e = assertThrows(VerificationException.class,
                () -> PresenceStatement.parse(new byte[PresenceStatement.MAX_BYTES + 1]));
        assertEquals(Reason.MALFORMED_ENVELOPE, e.reason());
        assertThrows(InvalidArgumentException.class, () -> PresenceStatement.parse(null));
    }

    @Test
    void issue_refusesWhatItCannotSign_withTheReason() {
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> PresenceStatement.issue(
                DIRECTORY, PROVIDER, t(10), t(10), t(0), t(20), List.of()));
        assertEquals("window [" + t(10) + ", " + t(10) + ") is empty: its end must be after its start", e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> PresenceStatement.issue(DIRECTORY, PROVIDER, t(0),
                t(10), t(0), t(5), List.of()));
        assertEquals("window ends at " + t(10) + ", after the statement was issued (" + t(5) + "): a presence "
                + "statement is about the past only", e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> PresenceStatement.issue(DIRECTORY, PROVIDER, t(0),
                t(10), t(5), t(10), List.of(iv(2, 8))));
        assertEquals("interval [" + t(2) + ", " + t(8) + ") starts before the history the statement claims ("
                + t(5) + ")", e.getMessage());
        e = assertThrows(InvalidArgumentException.class, () -> PresenceStatement.issue(DIRECTORY, PROVIDER,
                t(0).plusNanos(1), t(10), t(0), t(10), List.of()));
        assertEquals(true, e.getMessage().endsWith("has a fraction of a millisecond: give whole milliseconds"),
                e.getMessage());
        List<PresenceStatement.Interval> many = new ArrayList<>();
        for (int i = 0; i <= PresenceStatement.MAX_INTERVALS; i++) {
            many.add(iv(2L * i, 2L * i + 1));
        }
        e = assertThrows(InvalidArgumentException.class, () -> PresenceStatement.issue(DIRECTORY, PROVIDER, t(0),
                t(10_000), t(0), t(10_000), many));
        assertEquals("4097 intervals; a statement holds at most 4096", e.getMessage());
        assertThrows(InvalidArgumentException.class, () -> PresenceStatement.issue(null, PROVIDER, t(0), t(1), t(0),
                t(1), List.of()));
    }
}
