package dev.depin.provider;

import dev.depin.InvalidArgumentException;
import java.util.regex.Pattern;

/**
 * Where a provider's hardware runs: an ISO 3166-1 alpha-2 country code and a zone
 * inside it chosen by the provider (a city, a data centre, an availability zone).
 *
 * <p>Written as {@code "DE/fra-1"}. A buyer's requirement {@code "DE"} (zone empty)
 * matches every zone in Germany; {@code "DE/fra-1"} matches that zone only.
 *
 * @param country two upper-case letters, e.g. {@code DE}
 * @param zone    lower-case letters, digits and dashes, at most 32 characters; empty
 *                means "any zone" when used in a requirement
 */
public record Region(String country, String zone) {
    private static final Pattern COUNTRY = Pattern.compile("[A-Z]{2}");
    private static final Pattern ZONE = Pattern.compile("[a-z0-9-]{0,32}");

    /**
     * Checks the country and the zone.
     *
     * @param country two upper-case letters, e.g. {@code DE}
     * @param zone    lower-case letters, digits and dashes, at most 32 characters; empty
     *                means "any zone" when used in a requirement
     * @throws InvalidArgumentException if the country or zone is malformed
     */
    public Region {
        InvalidArgumentException.requireNonNull(country, "region country");
        InvalidArgumentException.requireNonNull(zone, "region zone");
        if (!COUNTRY.matcher(country).matches()) {
            throw new InvalidArgumentException("region country '" + country
                    + "' is not an ISO 3166-1 alpha-2 code: use two upper-case letters such as DE or US");
        }
        if (!ZONE.matcher(zone).matches()) {
            throw new InvalidArgumentException("region zone '" + zone
                    + "' must be at most 32 lower-case letters, digits or dashes, e.g. fra-1");
        }
    }

    /**
     * Parses {@code "DE"} or {@code "DE/fra-1"}.
     *
     * @param text a country code, optionally followed by {@code /} and a zone
     * @return the region
     * @throws InvalidArgumentException if the text is malformed
     */
    public static Region parse(String text) {
        InvalidArgumentException.requireNonNull(text, "region");
        int slash = text.indexOf('/');
        return slash < 0 ? new Region(text, "") : new Region(text.substring(0, slash), text.substring(slash + 1));
    }

    /**
     * Whether a provider located in {@code actual} satisfies this region used as a
     * requirement.
     *
     * @param actual where the provider is
     * @return whether the countries match and this zone is empty or equal
     */
    public boolean admits(Region actual) {
        InvalidArgumentException.requireNonNull(actual, "region to admit");
        return country.equals(actual.country) && (zone.isEmpty() || zone.equals(actual.zone));
    }

    @Override
    public String toString() {
        return zone.isEmpty() ? country : country + "/" + zone;
    }
}
