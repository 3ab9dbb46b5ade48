package dev.depin.sla;

import dev.depin.InvalidArgumentException;
import dev.depin.crypto.Envelope;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.crypto.VerificationException;
import dev.depin.crypto.VerificationException.Reason;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A directory's signed word on when a provider was listed: the provider's renewals (its
 * heartbeats) turned into the intervals during which its listing was live, over a window. It is
 * evidence both sides of an SLA can check against the directory's key, beside the buyer's own
 * measurement: a provider shows it was reachable for buyers to find, a buyer shows it was not.
 *
 * <p>The payload is ASCII lines, each {@code name value}, in this order ({@link #PAYLOAD_TYPE},
 * one {@code \n} after each line):
 * <pre>
 * depin-presence v1
 * directory &lt;the directory key's node id, 64 hex&gt;
 * provider  &lt;the provider's node id, 64 hex&gt;
 * from      &lt;window start, epoch ms&gt;
 * to        &lt;window end, epoch ms&gt;
 * history   &lt;from when the directory's record of this provider is complete, epoch ms&gt;
 * issued    &lt;when the directory signed it, epoch ms&gt;
 * live      &lt;start&gt; &lt;end&gt;     (zero or more, ascending, disjoint and not touching, inside the window)
 * </pre>
 * with exactly one space between fields. It travels as a DSSE envelope signed by the directory's
 * Ed25519 key over the PAE of that payload type, so it cannot pass as any other depin signature.
 * Parsing re-encodes the fields and requires the same bytes: one encoding per statement.
 *
 * <p>Before {@code history} the directory does not know (it was not running, or it dropped the
 * oldest intervals to stay within its bounds): that time is neither live nor absent, and
 * {@link #liveFraction()} counts only the part of the window after it.
 *
 * @param directory the id of the key that signed it
 * @param provider  whose listing it describes
 * @param from      the window's start
 * @param to        the window's end, not after {@code issued}
 * @param history   from when the record is complete
 * @param issued    when it was signed
 * @param live      the intervals the listing was live, clipped to the window
 * @param envelope  the signed envelope
 */
public record PresenceStatement(NodeId directory, NodeId provider, Instant from, Instant to, Instant history,
                                Instant issued, List<Interval> live, Envelope envelope) {
    /** The DSSE payload type of a presence statement. */
    public static final String PAYLOAD_TYPE = "application/vnd.depin.presence.v1";
    /** Intervals in one statement at most. */
    public static final int MAX_INTERVALS = 4096;
    /** The largest encoded statement accepted. */
    public static final int MAX_BYTES = 256 << 10;
    private static final String FIRST = "depin-presence v1";
    private static final String[] NAMES = {"directory", "provider", "from", "to", "history", "issued"};

    /**
     * One interval during which the listing was live, {@code [start, end)}, whole milliseconds.
     *
     * @param start when it began
     * @param end   when it ended, after {@code start}
     */
    public record Interval(Instant start, Instant end) {
        /**
         * Checks the bounds.
         *
         * @param start when it began
         * @param end   when it ended
         * @throws InvalidArgumentException if a bound is null, not whole milliseconds, or
         *                                  {@code end} is not after {@code start}
         */
        public Interval {
            InvalidArgumentException.requireNonNull(start, "interval start");
            InvalidArgumentException.requireNonNull(end, "interval end");
            requireMillis(start, "interval start");
            requireMillis(end, "interval end");
            if (!end.isAfter(start)) {
                throw new InvalidArgumentException("interval [" + start + ", " + end + ") is empty or reversed: "
                        + "its end must be after its start");
            }
        }

        /** @return its length in milliseconds */
        public long millis() {
            return end.toEpochMilli() - start.toEpochMilli();
        }
    }

    /**
     * Checks the fields.
     *
     * @param directory the id of the key that signed it
     * @param provider  whose listing it describes
     * @param from      the window's start
     * @param to        the window's end, not after {@code issued}
     * @param history   from when the record is complete
     * @param issued    when it was signed
     * @param live      the intervals the listing was live, clipped to the window
     * @param envelope  the signed envelope
     * @throws InvalidArgumentException if a field is null, a time is not whole milliseconds, the
     *                                  window is empty or ends after {@code issued}, {@code
     *                                  history} is after {@code to}, or the intervals are not
     *                                  ascending, disjoint, apart and inside the window, or
     *                                  more than {@link #MAX_INTERVALS}
     */
    public PresenceStatement {
        InvalidArgumentException.requireNonNull(envelope, "envelope");
        live = check(directory, provider, from, to, history, issued, live);
    }

    /** The constructor's checks, without an envelope; returns the intervals copied. */
    private static List<Interval> check(NodeId directory, NodeId provider, Instant from, Instant to, Instant history,
                                        Instant issued, List<Interval> live) {
        InvalidArgumentException.requireNonNull(directory, "directory key id");
        InvalidArgumentException.requireNonNull(provider, "provider");
        InvalidArgumentException.requireNonNull(from, "window start");
        InvalidArgumentException.requireNonNull(to, "window end");
        InvalidArgumentException.requireNonNull(history, "history start");
        InvalidArgumentException.requireNonNull(issued, "issue time");
        InvalidArgumentException.requireNonNull(live, "live intervals");
        for (Instant t : new Instant[] {from, to, history, issued}) {
            requireMillis(t, "time " + t);
        }
        if (!to.isAfter(from)) {
            throw new InvalidArgumentException("window [" + from + ", " + to + ") is empty: its end must be after "
                    + "its start");
        }
        if (to.isAfter(issued)) {
            throw new InvalidArgumentException("window ends at " + to + ", after the statement was issued (" + issued
                    + "): a presence statement is about the past only");
        }
        if (history.isAfter(to)) {
            throw new InvalidArgumentException("history starts at " + history + ", after the window's end " + to);
        }
        if (live.size() > MAX_INTERVALS) {
            throw new InvalidArgumentException(live.size() + " intervals; a statement holds at most " + MAX_INTERVALS);
        }
        List<Interval> copy = List.copyOf(live);
        Instant last = null;
        for (Interval i : copy) {
            if (i.start().isBefore(from) || i.end().isAfter(to)) {
                throw new InvalidArgumentException("interval [" + i.start() + ", " + i.end() + ") is outside the "
                        + "window [" + from + ", " + to + ")");
            }
            if (i.start().isBefore(history)) {
                throw new InvalidArgumentException("interval [" + i.start() + ", " + i.end() + ") starts before the "
                        + "history the statement claims (" + history + ")");
            }
            if (last != null && !i.start().isAfter(last)) {
                throw new InvalidArgumentException("interval [" + i.start() + ", " + i.end() + ") does not start "
                        + "after the previous one ends (" + last + "): intervals are ascending, disjoint and apart");
            }
            last = i.end();
        }
        return copy;
    }

    private static void requireMillis(Instant t, String what) {
        if (t.getNano() % 1_000_000 != 0) {
            throw new InvalidArgumentException(what + " has a fraction of a millisecond: give whole milliseconds");
        }
    }

    /**
     * Signs a statement (what a directory does when asked).
     *
     * @param directoryKey the directory's key
     * @param provider     the provider
     * @param from         the window's start
     * @param to           the window's end, not after {@code issued}
     * @param history      from when the record is complete
     * @param issued       now
     * @param live         the intervals, as the constructor requires them
     * @return the statement
     * @throws InvalidArgumentException as the constructor, or if the key is null
     */
    public static PresenceStatement issue(NodeKeyPair directoryKey, NodeId provider, Instant from, Instant to,
                                          Instant history, Instant issued, List<Interval> live) {
        InvalidArgumentException.requireNonNull(directoryKey, "directory key");
        NodeId id = directoryKey.nodeId();
        List<Interval> checked = check(id, provider, from, to, history, issued, live); // sign only what is valid
        byte[] payload = encode(id, provider, from, to, history, issued, checked);
        return new PresenceStatement(id, provider, from, to, history, issued, checked,
                Envelope.sign(PAYLOAD_TYPE, payload, directoryKey));
    }

    /**
     * Reads a statement from its encoding (the envelope's JSON). Does not check the signature:
     * {@link #verify} does.
     *
     * @param bytes the encoding, at most {@link #MAX_BYTES}
     * @return the statement
     * @throws InvalidArgumentException if {@code bytes} is null
     * @throws VerificationException    ({@code MALFORMED_ENVELOPE}, {@code WRONG_PAYLOAD_TYPE},
     *                                  {@code MALFORMED_STATEMENT}) if it is not a well-formed
     *                                  presence statement in its one encoding
     */
    public static PresenceStatement parse(byte[] bytes) {
        InvalidArgumentException.requireNonNull(bytes, "presence statement bytes");
        if (bytes.length > MAX_BYTES) {
            throw new VerificationException(Reason.MALFORMED_ENVELOPE, "presence statement of " + bytes.length
                    + " bytes is over the " + MAX_BYTES + "-byte limit: reject it");
        }
        Envelope env = Envelope.parse(bytes, MAX_BYTES);
        if (!PAYLOAD_TYPE.equals(env.payloadType())) {
            throw new VerificationException(Reason.WRONG_PAYLOAD_TYPE, "payload type '" + env.payloadType()
                    + "' is not a presence statement's (" + PAYLOAD_TYPE + "): reject it");
        }
        byte[] payload = env.payload();
        String[] lines = new String(payload, StandardCharsets.US_ASCII).split("\n", -1);
        if (lines.length < NAMES.length + 2 || !lines[0].equals(FIRST) || !lines[lines.length - 1].isEmpty()) {
            throw malformed("it does not start '" + FIRST + "' with " + NAMES.length + " named lines after it");
        }
        String[] v = new String[NAMES.length];
        for (int i = 0; i < NAMES.length; i++) {
            String prefix = NAMES[i] + " ";
            if (!lines[i + 1].startsWith(prefix)) {
                throw malformed("line " + (i + 2) + " is not '" + NAMES[i] + " <value>'");
            }
            v[i] = lines[i + 1].substring(prefix.length());
        }
        int intervals = lines.length - NAMES.length - 2;
        if (intervals > MAX_INTERVALS) {
            throw malformed(intervals + " intervals, more than " + MAX_INTERVALS);
        }
        PresenceStatement s;
        try {
            List<Interval> live = new ArrayList<>(intervals);
            for (int i = 0; i < intervals; i++) {
                String line = lines[NAMES.length + 1 + i];
                String[] f = line.split(" ", -1);
                if (f.length != 3 || !f[0].equals("live")) {
                    throw malformed("line " + (NAMES.length + 2 + i) + " is not 'live <start> <end>'");
                }
                live.add(new Interval(Instant.ofEpochMilli(Long.parseLong(f[1])),
                        Instant.ofEpochMilli(Long.parseLong(f[2]))));
            }
            s = new PresenceStatement(NodeId.parse(v[0]), NodeId.parse(v[1]), millis(v[2]), millis(v[3]),
                    millis(v[4]), millis(v[5]), live, env);
        } catch (InvalidArgumentException | NumberFormatException | java.time.DateTimeException e) {
            throw malformed(e.getMessage());
        }
        if (!Arrays.equals(payload, encode(s.directory, s.provider, s.from, s.to, s.history, s.issued, s.live))) {
            throw malformed("its fields are not in their one canonical form");
        }
        return s;
    }

    private static Instant millis(String v) {
        return Instant.ofEpochMilli(Long.parseLong(v));
    }

    /** @return the encoding: the signed envelope's JSON */
    public byte[] toBytes() {
        return envelope.toJsonBytes();
    }

    /**
     * Checks that the statement is signed by the directory one trusts and is about the
     * provider one asked about.
     *
     * @param directoryKey the directory's public key
     * @param about        the provider the statement must describe
     * @throws InvalidArgumentException if an argument is null
     * @throws VerificationException    {@code KEY_MISMATCH} or {@code BAD_SIGNATURE} (not signed
     *                                  by that directory), {@code SUBJECT_MISMATCH} (about
     *                                  another provider)
     */
    public void verify(NodePublicKey directoryKey, NodeId about) {
        InvalidArgumentException.requireNonNull(directoryKey, "directory key");
        InvalidArgumentException.requireNonNull(about, "provider");
        if (!directoryKey.nodeId().equals(directory)) {
            throw new VerificationException(Reason.KEY_MISMATCH, "presence statement names directory "
                    + directory.shortId() + ", not the trusted directory " + directoryKey.nodeId().shortId()
                    + ": reject it");
        }
        envelope.verify(PAYLOAD_TYPE, directoryKey);
        if (!provider.equals(about)) {
            throw new VerificationException(Reason.SUBJECT_MISMATCH, "presence statement is about provider "
                    + provider.shortId() + ", not " + about.shortId() + ": reject it");
        }
    }

    /** @return milliseconds of the window the listing was live */
    public long liveMillis() {
        long sum = 0;
        for (Interval i : live) {
            sum += i.millis();
        }
        return sum;
    }

    /** @return milliseconds of the window the directory has a complete record of */
    public long knownMillis() {
        Instant start = history.isAfter(from) ? history : from;
        return to.toEpochMilli() - start.toEpochMilli();
    }

    /**
     * @return the share of the known part of the window in which the listing was live, 0 to 1;
     *         NaN when the directory knows none of the window
     */
    public double liveFraction() {
        long known = knownMillis();
        return known == 0 ? Double.NaN : (double) liveMillis() / known;
    }

    private static byte[] encode(NodeId directory, NodeId provider, Instant from, Instant to, Instant history,
                                 Instant issued, List<Interval> live) {
        StringBuilder b = new StringBuilder(128 + 32 * live.size());
        b.append(FIRST).append("\ndirectory ").append(directory.hex()).append("\nprovider ").append(provider.hex())
                .append("\nfrom ").append(from.toEpochMilli()).append("\nto ").append(to.toEpochMilli())
                .append("\nhistory ").append(history.toEpochMilli()).append("\nissued ").append(issued.toEpochMilli())
                .append('\n');
        for (Interval i : live) {
            b.append("live ").append(i.start().toEpochMilli()).append(' ').append(i.end().toEpochMilli()).append('\n');
        }
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static VerificationException malformed(String why) {
        return new VerificationException(Reason.MALFORMED_STATEMENT, "malformed presence statement: " + why
                + "; reject it");
    }
}
