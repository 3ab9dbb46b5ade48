package dev.depin.provider;

import dev.depin.InvalidArgumentException;
import dev.depin.kernel.Kernel;
import dev.depin.kernel.PtxKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What a provider offers, before it signs it into a {@link ProviderOffer}.
 *
 * @param endpoint   where buyers reach the provider, a URI of at most 256 characters:
 *                   {@code local:<name>} in process ({@code LocalNetwork}); other schemes,
 *                   such as {@code depin://host:port}, are for networks between machines,
 *                   which are planned
 * @param devices    the devices it really runs on, at least one
 * @param region     where they are
 * @param kernels    kernel ids it runs ({@code "saxpy"}, {@code "sgemm"}, {@code "reduce-sum"},
 *                   and {@code "ptx"} for user PTX)
 * @param price      what it charges
 * @param stake      the stake it declares; slashing it on proven fraud needs a settlement
 *                   backend, which is planned
 * @param validUntil when the offer expires
 * @param sla        what the provider promises and credits back when it does not keep it
 *                   ({@link SlaTerms}), or {@code null} for no SLA
 * @param inputCacheBytes how many bytes of a buyer's inputs the provider will hold by Merkle root
 *                   between jobs (all buyers together; {@code dev.depin.node.InputCache}), 0 for
 *                   none. Terms with 0 sign exactly the bytes they did before this field existed.
 * @param limits     the largest job the provider takes ({@link JobLimits}), or {@code null} when
 *                   the offer does not say (a buyer then learns it only from a refusal). Terms
 *                   without limits sign exactly the bytes they did before this field existed;
 *                   {@code ProviderNode} always states its own.
 * @param hold       how long and how much the provider holds between jobs ({@link HoldTerms}), or
 *                   {@code null} when the offer does not say (a buyer then learns it only from a
 *                   refusal); only with {@code inputCacheBytes > 0}. Terms without it sign exactly
 *                   the bytes they did before this field existed; {@code ProviderNode} with an
 *                   input cache always states its own.
 */
public record OfferTerms(String endpoint, List<DeviceInfo> devices, Region region, Set<String> kernels,
                         Price price, MicroUsd stake, Instant validUntil, SlaTerms sla, long inputCacheBytes,
                         JobLimits limits, HoldTerms hold) {
    /** Kernel id that stands for "runs user-supplied PTX" ({@link dev.depin.kernel.PtxKernel#OFFER_ID}). */
    public static final String PTX = dev.depin.kernel.PtxKernel.OFFER_ID;
    private static final Pattern ENDPOINT = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*:[\\x21-\\x7e]{1,240}");

    /**
     * Checks every field and copies the collections.
     *
     * @param endpoint   where buyers reach the provider, at most 256 characters
     * @param devices    the devices it really runs on, at least one
     * @param region     where they are
     * @param kernels    kernel ids it runs
     * @param price      what it charges
     * @param stake      the stake it declares
     * @param validUntil when the offer expires
     * @param sla        the provider's SLA, or {@code null} for none
     * @param inputCacheBytes bytes of inputs the provider holds between jobs, &ge; 0 (0: none)
     * @param limits     the largest job the provider takes, or {@code null} when unstated
     * @param hold       how long and how much the provider holds, or {@code null} when unstated
     * @throws InvalidArgumentException on a null or malformed field, or hold terms that do not
     *                                  fit the input cache
     */
    public OfferTerms {
        if (inputCacheBytes < 0) {
            throw new InvalidArgumentException("offer input cache of " + inputCacheBytes + " bytes: give >= 0");
        }
        if (hold != null && hold.maxBytesPerBuyer() > inputCacheBytes) {
            throw new InvalidArgumentException("offer holds " + hold.maxBytesPerBuyer() + " bytes per buyer but "
                    + "states an input cache of " + inputCacheBytes + " bytes: state inputCacheBytes >= the bytes per "
                    + "buyer, or no hold terms");
        }
        InvalidArgumentException.requireNonNull(endpoint, "offer endpoint");
        if (!ENDPOINT.matcher(endpoint).matches()) {
            throw new InvalidArgumentException("offer endpoint '" + endpoint
                    + "' must be a URI such as local:provider-1 or depin://10.0.0.5:7400");
        }
        devices = List.copyOf(InvalidArgumentException.requireNonNull(devices, "offer devices"));
        if (devices.isEmpty()) {
            throw new InvalidArgumentException("an offer must list at least one device: offer what you run on");
        }
        InvalidArgumentException.requireNonNull(region, "offer region");
        kernels = Set.copyOf(InvalidArgumentException.requireNonNull(kernels, "offer kernels"));
        if (kernels.isEmpty()) {
            throw new InvalidArgumentException("an offer must list at least one kernel id it runs");
        }
        InvalidArgumentException.requireNonNull(price, "offer price");
        InvalidArgumentException.requireNonNull(stake, "offer stake");
        InvalidArgumentException.requireNonNull(validUntil, "offer expiry");
        validUntil = validUntil.truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
    }

    /**
     * Terms that do not state how long and how much the provider holds.
     *
     * @param endpoint   where buyers reach the provider, at most 256 characters
     * @param devices    the devices it really runs on, at least one
     * @param region     where they are
     * @param kernels    kernel ids it runs
     * @param price      what it charges
     * @param stake      the stake it declares
     * @param validUntil when the offer expires
     * @param sla        the provider's SLA, or {@code null} for none
     * @param inputCacheBytes bytes of inputs the provider holds between jobs, &ge; 0 (0: none)
     * @param limits     the largest job the provider takes, or {@code null} when unstated
     * @throws InvalidArgumentException on a null or malformed field
     */
    public OfferTerms(String endpoint, List<DeviceInfo> devices, Region region, Set<String> kernels, Price price,
                      MicroUsd stake, Instant validUntil, SlaTerms sla, long inputCacheBytes, JobLimits limits) {
        this(endpoint, devices, region, kernels, price, stake, validUntil, sla, inputCacheBytes, limits, null);
    }

    /**
     * Terms that do not state the largest job the provider takes.
     *
     * @param endpoint   where buyers reach the provider, at most 256 characters
     * @param devices    the devices it really runs on, at least one
     * @param region     where they are
     * @param kernels    kernel ids it runs
     * @param price      what it charges
     * @param stake      the stake it declares
     * @param validUntil when the offer expires
     * @param sla        the provider's SLA, or {@code null} for none
     * @param inputCacheBytes bytes of inputs the provider holds between jobs, &ge; 0 (0: none)
     * @throws InvalidArgumentException on a null or malformed field
     */
    public OfferTerms(String endpoint, List<DeviceInfo> devices, Region region, Set<String> kernels, Price price,
                      MicroUsd stake, Instant validUntil, SlaTerms sla, long inputCacheBytes) {
        this(endpoint, devices, region, kernels, price, stake, validUntil, sla, inputCacheBytes, null);
    }

    /**
     * Terms without an SLA.
     *
     * @param endpoint   where buyers reach the provider, at most 256 characters
     * @param devices    the devices it really runs on, at least one
     * @param region     where they are
     * @param kernels    kernel ids it runs
     * @param price      what it charges
     * @param stake      the stake it declares
     * @param validUntil when the offer expires
     * @throws InvalidArgumentException on a null or malformed field
     */
    public OfferTerms(String endpoint, List<DeviceInfo> devices, Region region, Set<String> kernels, Price price,
                      MicroUsd stake, Instant validUntil) {
        this(endpoint, devices, region, kernels, price, stake, validUntil, null, 0);
    }

    /**
     * Terms without an input cache.
     *
     * @param endpoint   where buyers reach the provider, at most 256 characters
     * @param devices    the devices it really runs on, at least one
     * @param region     where they are
     * @param kernels    kernel ids it runs
     * @param price      what it charges
     * @param stake      the stake it declares
     * @param validUntil when the offer expires
     * @param sla        the provider's SLA, or {@code null} for none
     * @throws InvalidArgumentException on a null or malformed field
     */
    public OfferTerms(String endpoint, List<DeviceInfo> devices, Region region, Set<String> kernels, Price price,
                      MicroUsd stake, Instant validUntil, SlaTerms sla) {
        this(endpoint, devices, region, kernels, price, stake, validUntil, sla, 0);
    }

    /**
     * These terms stating an input cache.
     *
     * @param bytes bytes of inputs the provider holds between jobs, 0 for none
     * @return new terms, otherwise equal
     * @throws InvalidArgumentException if negative, or below the hold terms' bytes per buyer
     */
    public OfferTerms withInputCache(long bytes) {
        return new OfferTerms(endpoint, devices, region, kernels, price, stake, validUntil, sla, bytes, limits, hold);
    }

    /**
     * These terms stating how long and how much the provider holds.
     *
     * @param holdTerms the hold terms, or {@code null} to state none
     * @return new terms, otherwise equal
     * @throws InvalidArgumentException if the terms hold more bytes per buyer than {@link #inputCacheBytes()}
     */
    public OfferTerms withHold(HoldTerms holdTerms) {
        return new OfferTerms(endpoint, devices, region, kernels, price, stake, validUntil, sla, inputCacheBytes,
                limits, holdTerms);
    }

    /** @return how long and how much the provider holds between jobs, if the offer states it */
    public java.util.Optional<HoldTerms> holdTerms() {
        return java.util.Optional.ofNullable(hold);
    }

    /**
     * These terms with an SLA.
     *
     * @param terms the SLA, or {@code null} for none
     * @return new terms, otherwise equal
     */
    public OfferTerms withSla(SlaTerms terms) {
        return new OfferTerms(endpoint, devices, region, kernels, price, stake, validUntil, terms, inputCacheBytes, limits,
                hold);
    }

    /**
     * These terms stating the largest job the provider takes.
     *
     * @param jobLimits the limits, or {@code null} to state none
     * @return new terms, otherwise equal
     */
    public OfferTerms withLimits(JobLimits jobLimits) {
        return new OfferTerms(endpoint, devices, region, kernels, price, stake, validUntil, sla, inputCacheBytes,
                jobLimits, hold);
    }

    /** @return the largest job the provider takes, if the offer states it */
    public java.util.Optional<JobLimits> jobLimits() {
        return java.util.Optional.ofNullable(limits);
    }

    /** @return the SLA, if the provider offers one */
    public java.util.Optional<SlaTerms> slaTerms() {
        return java.util.Optional.ofNullable(sla);
    }

    /**
     * Whether a provider with these terms runs a kernel.
     *
     * @param kernel a built-in kernel or user PTX
     * @return whether {@link #kernels()} lists it ({@link #PTX} for any user PTX)
     */
    public boolean runs(Kernel kernel) {
        return kernels.contains(kernel instanceof PtxKernel ? PTX : kernel.id());
    }
}
