package dev.depin.provider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrowsExactly;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.InvalidArgumentException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RegionTest {

    /** Fixed seed for the generated zones. Printed so a failure can be replayed. */
    private static final long SEED = 0x4E61_0A00_2024L;

    @BeforeAll
    static void printSeed() {
        System.out.println("RegionTest seed=" + SEED);
    }

    @Test
    void parse_countryOnly_hasEmptyZone() {
        Region r = Region.parse("DE");
        assertEquals("DE", r.country());
        assertEquals("", r.zone());
        assertEquals("DE", r.toString());
    }

    @Test
    void parse_countryAndZone_splitsAtSlash() {
        Region r = Region.parse("DE/fra-1");
        assertEquals("DE", r.country());
        assertEquals("fra-1", r.zone());
        assertEquals("DE/fra-1", r.toString());
        assertEquals(new Region("DE", "fra-1"), r);
    }

    @Test
    void parse_randomZones_roundTripThroughToString() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        String zoneChars = "abcdefghijklmnopqrstuvwxyz0123456789-";
        for (int i = 0; i < 500; i++) {
            String country = "" + (char) ('A' + rnd.nextInt(26)) + (char) ('A' + rnd.nextInt(26));
            StringBuilder zone = new StringBuilder();
            int len = rnd.nextInt(1, 33);
            for (int j = 0; j < len; j++) {
                zone.append(zoneChars.charAt(rnd.nextInt(zoneChars.length())));
            }
            String text = country + "/" + zone;
            Region r = Region.parse(text);
            assertEquals(text, r.toString());
            assertEquals(r, Region.parse(r.toString()));
        }
    }

    @Test
    void parse_zoneOf32Characters_accepted() {
        String zone = "a".repeat(32);
        assertEquals(zone, Region.parse("US/" + zone).zone());
    }

    @Test
    void parse_malformedCountry_rejected() {
        for (String bad : new String[] {"", "D", "de", "De", "DEU", "1E", "D-", "/fra-1", "de/fra-1", " DE"}) {
            InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                    () -> Region.parse(bad), "'" + bad + "'");
            assertTrue(e.getMessage().contains("region country"), bad + " -> " + e.getMessage());
            assertTrue(e.getMessage().contains("ISO 3166-1 alpha-2"), bad + " -> " + e.getMessage());
        }
    }

    @Test
    void parse_malformedZone_rejected() {
        for (String bad : new String[] {"DE/FRA", "DE/fra_1", "DE/fra 1", "DE/fra-1/x", "DE/fra.1", "DE/" + "a".repeat(33),
            "DE/é"}) {
            InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class,
                    () -> Region.parse(bad), "'" + bad + "'");
            assertTrue(e.getMessage().contains("region zone"), bad + " -> " + e.getMessage());
        }
    }

    @Test
    void parse_null_rejected() {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class, () -> Region.parse(null));
        assertTrue(e.getMessage().contains("region is null"), e.getMessage());
    }

    @Test
    void constructor_nullParts_rejected() {
        InvalidArgumentException e = assertThrowsExactly(InvalidArgumentException.class, () -> new Region(null, ""));
        assertTrue(e.getMessage().contains("region country is null"), e.getMessage());
        e = assertThrowsExactly(InvalidArgumentException.class, () -> new Region("DE", null));
        assertTrue(e.getMessage().contains("region zone is null"), e.getMessage());
    }

    @Test
    void admits_countryRequirement_admitsEveryZoneOfThatCountry() {
        Region germany = Region.parse("DE");
        assertTrue(germany.admits(Region.parse("DE/fra-1")));
        assertTrue(germany.admits(Region.parse("DE/ber-2")));
        assertTrue(germany.admits(Region.parse("DE")));
        assertFalse(germany.admits(Region.parse("FR/par-1")));
        assertFalse(germany.admits(Region.parse("FR")));
    }

    @Test
    void admits_zoneRequirement_admitsOnlyThatZone() {
        Region frankfurt = Region.parse("DE/fra-1");
        assertTrue(frankfurt.admits(Region.parse("DE/fra-1")));
        assertFalse(frankfurt.admits(Region.parse("DE/fra-2")));
        assertFalse(frankfurt.admits(Region.parse("DE/fra-10")));
        assertFalse(frankfurt.admits(Region.parse("DE")), "a provider without a zone is not in zone fra-1");
        assertFalse(frankfurt.admits(Region.parse("AT/fra-1")), "same zone name in another country");
    }
}
