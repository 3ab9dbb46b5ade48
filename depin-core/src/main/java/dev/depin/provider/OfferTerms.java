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
 * @param endpoint   where buyers reach the provider: {@code local:<name>} in process,
 *                   {@code depin://host:port} on the Netty network; at most 256 characters
 * @param devices    the devices it really runs on, at least one
 * @param region     where they are
 * @param kernels    kernel ids it runs ({@code "saxpy"}, {@code "sgemm"}, {@code "reduce-sum"},
 *                   and {@code "ptx"} for user PTX)
 * @param price      what it charges
 * @param stake      what it has at stake, slashed on proven fraud
 * @param validUntil when the offer expires
 */
public record OfferTerms(String endpoint, List<DeviceInfo> devices, Region region, Set<String> kernels,
                         Price price, MicroUsd stake, Instant validUntil) {
    /** Kernel id that stands for "runs user-supplied PTX". */
    public static final String PTX = "ptx";
    private static final Pattern ENDPOINT = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*:[\\x21-\\x7e]{1,240}");

    /** @throws InvalidArgumentException on a null or malformed field */
    public OfferTerms {
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

    /** @return whether a provider with these terms runs {@code kernel} */
    public boolean runs(Kernel kernel) {
        return kernels.contains(kernel instanceof PtxKernel ? PTX : kernel.id());
    }
}
