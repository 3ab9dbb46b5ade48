package dev.depin.job;

import dev.depin.InvalidArgumentException;
import dev.depin.provider.DeviceInfo;
import dev.depin.provider.DeviceKind;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import java.util.Set;

/**
 * What a provider must have for a job to run there. Empty sets mean "any".
 *
 * <pre>{@code
 * Requirements r = Requirements.builder().minDeviceMemoryBytes(16L << 30)
 *         .regions(Region.parse("DE"), Region.parse("FR")).minReputation(0.9).build();
 * }</pre>
 *
 * @param minDeviceMemoryBytes least memory one device must offer, &ge; 0
 * @param models               acceptable device models (exact names); empty = any
 * @param regions              acceptable regions ({@link Region#admits}); empty = any
 * @param deviceKinds          acceptable device kinds; empty = any
 * @param minReputation        least reputation in [0, 1] the buyer's client has measured
 */
public record Requirements(long minDeviceMemoryBytes, Set<String> models, Set<Region> regions,
                           Set<DeviceKind> deviceKinds, double minReputation) {
    /** Anything goes. */
    public static final Requirements ANY = new Requirements(0, Set.of(), Set.of(), Set.of(), 0);

    /**
     * Creates requirements after checking them; the sets are copied, and a reputation of
     * -0.0 is stored as 0.0.
     *
     * @param minDeviceMemoryBytes least memory one device must offer, in bytes, &ge; 0
     * @param models               acceptable device models (exact names), empty for any; not
     *                             null, no null elements
     * @param regions              acceptable regions, empty for any; not null, no null elements
     * @param deviceKinds          acceptable device kinds, empty for any; not null, no null elements
     * @param minReputation        least reputation, in [0, 1] (NaN is refused)
     * @throws InvalidArgumentException on null sets, negative memory or a reputation outside [0, 1]
     */
    public Requirements {
        if (minDeviceMemoryBytes < 0) {
            throw new InvalidArgumentException("minimum device memory is " + minDeviceMemoryBytes
                    + " bytes: give 0 or more");
        }
        models = noNulls(models, "required models");
        regions = noNulls(regions, "required regions");
        deviceKinds = noNulls(deviceKinds, "required device kinds");
        if (!(minReputation >= 0 && minReputation <= 1)) {
            throw new InvalidArgumentException("minimum reputation is " + minReputation
                    + ": give a number between 0 and 1");
        }
        minReputation = minReputation + 0.0; // -0.0 and 0.0 are one requirement, with one hash
    }

    private static <T> Set<T> noNulls(Set<T> values, String what) {
        InvalidArgumentException.requireNonNull(values, what);
        for (T v : values) {
            InvalidArgumentException.requireNonNull(v, "an element of " + what);
        }
        return Set.copyOf(values);
    }

    /**
     * Why {@code offer} does not meet these requirements, or {@code null} if it does.
     * Reputation is checked by the caller, who knows it.
     *
     * @param offer the provider's offer; not null
     * @return {@code null} if the offer's region is acceptable and one of its devices has
     *         the memory, model and kind asked for; otherwise a one-line, human-readable
     *         reason: the region, or else the device requirements no device meets
     */
    public String mismatch(ProviderOffer offer) {
        if (!regions.isEmpty() && regions.stream().noneMatch(r -> r.admits(offer.region()))) {
            return "region " + offer.region() + " not in " + regions;
        }
        for (DeviceInfo d : offer.devices()) {
            if (d.memoryBytes() >= minDeviceMemoryBytes
                    && (models.isEmpty() || models.contains(d.model()))
                    && (deviceKinds.isEmpty() || deviceKinds.contains(d.kind()))) {
                return null;
            }
        }
        return "no device with >= " + minDeviceMemoryBytes + " bytes"
                + (models.isEmpty() ? "" : " of model " + models)
                + (deviceKinds.isEmpty() ? "" : " of kind " + deviceKinds);
    }

    /** @return a builder starting from {@link #ANY} */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link Requirements}. */
    public static final class Builder {
        private long minMemory;
        private Set<String> models = Set.of();
        private Set<Region> regions = Set.of();
        private Set<DeviceKind> kinds = Set.of();
        private double minReputation;

        private Builder() {
        }

        /**
         * Least memory one device must offer; default 0.
         *
         * @param bytes the memory in bytes, &ge; 0 (a negative value makes {@link #build()} throw)
         * @return this builder
         */
        public Builder minDeviceMemoryBytes(long bytes) {
            this.minMemory = bytes;
            return this;
        }

        /**
         * Acceptable device models, replacing any set before; default any.
         *
         * @param models exact model names as providers report them; none for any model.
         *               Duplicates are dropped
         * @return this builder
         * @throws InvalidArgumentException if the array or one of its elements is null
         */
        public Builder models(String... models) {
            this.models = distinct(models, "required model");
            return this;
        }

        /**
         * Acceptable regions, replacing any set before; default any.
         *
         * @param regions regions a provider may be in (see {@link Region#admits}); none for
         *                any region. Duplicates are dropped
         * @return this builder
         * @throws InvalidArgumentException if the array or one of its elements is null
         */
        public Builder regions(Region... regions) {
            this.regions = distinct(regions, "required region");
            return this;
        }

        /**
         * Acceptable device kinds, replacing any set before; default any.
         *
         * @param kinds kinds a provider's device may be; none for any kind. Duplicates are dropped
         * @return this builder
         * @throws InvalidArgumentException if the array or one of its elements is null
         */
        public Builder deviceKinds(DeviceKind... kinds) {
            this.kinds = distinct(kinds, "required device kind");
            return this;
        }

        /**
         * Least reputation the buyer's client must have measured for the provider; default 0.
         *
         * @param reputation the threshold, in [0, 1] (a value outside it, or NaN, makes
         *                   {@link #build()} throw)
         * @return this builder
         */
        public Builder minReputation(double reputation) {
            this.minReputation = reputation;
            return this;
        }

        private static <T> Set<T> distinct(T[] values, String what) {
            InvalidArgumentException.requireNonNull(values, what + "s");
            Set<T> set = new java.util.LinkedHashSet<>();
            for (T v : values) {
                set.add(InvalidArgumentException.requireNonNull(v, what));
            }
            return set;
        }

        /** @return the requirements */
        public Requirements build() {
            return new Requirements(minMemory, models, regions, kinds, minReputation);
        }
    }
}
