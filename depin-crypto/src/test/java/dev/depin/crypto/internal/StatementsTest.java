package dev.depin.crypto.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import dev.depin.crypto.MalformedEnvelopeException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class StatementsTest {
    private static final long SEED = 20261206L;

    @Test
    void utcInstant_agreesWithInstantParse() {
        System.out.println("StatementsTest seed " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        long max = Instant.parse("9999-12-31T23:59:59.999999999Z").getEpochSecond();
        for (int i = 0; i < 20_000; i++) {
            long sec = rnd.nextLong(Instant.parse("0000-01-01T00:00:00Z").getEpochSecond(), max + 1);
            // Whole seconds, milli, micro and nano precision: every fraction length toString writes.
            int nanos = switch (i % 4) {
                case 0 -> 0;
                case 1 -> rnd.nextInt(1000) * 1_000_000;
                case 2 -> rnd.nextInt(1_000_000) * 1000;
                default -> rnd.nextInt(1_000_000_000);
            };
            String s = Instant.ofEpochSecond(sec, nanos).toString();
            assertEquals(Instant.parse(s), Statements.utcInstant(s), s);
        }
        for (String s : new String[] {"2026-12-06T05:30:00.5Z", "2026-12-06T05:30:00.123456789Z",
            "2024-02-29T23:59:59Z", "0000-01-01T00:00:00Z", "1970-01-01T00:00:00.000000001Z"}) {
            assertEquals(Instant.parse(s), Statements.utcInstant(s), s);
        }
    }

    @Test
    void utcInstant_leavesOtherFormsToInstantParse() {
        // Not this exact form, or not a date: left to Instant.parse (which accepts some, rejects the rest).
        for (String s : new String[] {"2026-12-06T05:30:00.Z", "2026-12-06T05:30:00.1234567890Z",
            "2026-12-06T05:30:00+01:00", "2026-12-06 05:30:00Z", "2026-12-06T05:30Z", "+12026-12-06T05:30:00Z",
            "2026-13-06T05:30:00Z", "2026-02-29T05:30:00Z", "2026-12-32T05:30:00Z", "2026-12-06T24:00:00Z",
            "2026-12-06T05:60:00Z", "2026-12-06T23:59:60Z", "2026-12-0xT05:30:00Z", "2026-12-06T05:30:00z",
            "2026-12-06T05:30:00.12a4Z", "2026-00-06T05:30:00Z", "2026-12-00T05:30:00Z"}) {
            assertNull(Statements.utcInstant(s), s);
        }
        assertEquals(Instant.parse("2026-12-06T23:59:59Z"), Instant.parse("2026-12-06T23:59:60Z"));
    }

    @Test
    void instant_badText_isMalformedWithTheField() throws java.io.IOException {
        MalformedEnvelopeException e = assertThrows(MalformedEnvelopeException.class,
                () -> Statements.instant(at("2026-02-29T05:30:00Z"), "at"));
        assertEquals(DateTimeParseException.class, e.getCause().getClass());
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains(
                "field 'at' is not an ISO-8601 instant: '2026-02-29T05:30:00Z'"), e.getMessage());
        assertEquals(Instant.parse("2026-12-06T23:59:59Z"), Statements.instant(at("2026-12-06T23:59:60Z"), "at"));
        assertEquals(Instant.parse("2026-12-06T05:30:00.250Z"), Statements.instant(at("2026-12-06T05:30:00.250Z"), "at"));
    }

    private static StrictJson.Obj at(String value) throws java.io.IOException {
        return (StrictJson.Obj) StrictJson.read(("{\"at\":\"" + value + "\"}").getBytes(StandardCharsets.UTF_8));
    }
}
