package dev.depin.capacity;

import dev.depin.InvalidArgumentException;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What each obtained machine runs: the depin node image and the node's settings. Every
 * machine runs {@code depin node} with these arguments, generates its own key on a volume
 * that only it reads, and lists its signed offer in the buyer's directories; the buyer's
 * {@link dev.depin.client.DepinClient} then reaches it like any other node.
 *
 * @param image       the container image that runs {@code depin node} (a registry reference
 *                    such as {@code ghcr.io/depin-dev/depin-node:0.1.0}); markets that start
 *                    processes rather than containers ignore it
 * @param directories the buyer's directories, {@code host:port}, 1 to 8
 * @param price       the price the node's offer asks
 * @param stake       the stake the node's offer declares
 * @param port        the port the node listens on inside the machine, 1 to 65535
 * @param renew       how often the node renews its listing
 */
public record NodeTemplate(String image, List<String> directories, Price price, MicroUsd stake, int port,
                           Duration renew) {
    /** The image this version of depin publishes (see {@code docker/README.md}). */
    public static final String DEFAULT_IMAGE = "ghcr.io/depin-dev/depin-node:0.1.0";

    private static final Pattern IMAGE = Pattern.compile("[a-z0-9][a-z0-9._/:@-]{0,254}");
    private static final Pattern HOST_PORT = Pattern.compile("[A-Za-z0-9.-]{1,253}:[0-9]{1,5}");

    /**
     * Checks every field.
     *
     * @param image       the container image that runs {@code depin node} (a registry reference such as {@code ghcr.io/depin-dev/depin-node:0.1.0}); markets that start processes rather than containers ignore it
     * @param directories the buyer's directories, {@code host:port}, 1 to 8
     * @param price       the price the node's offer asks
     * @param stake       the stake the node's offer declares
     * @param port        the port the node listens on inside the machine, 1 to 65535
     * @param renew       how often the node renews its listing
     * @throws InvalidArgumentException on a malformed image, directory, port or renewal
     */
    public NodeTemplate {
        InvalidArgumentException.requireNonNull(image, "node image");
        InvalidArgumentException.requireNonNull(directories, "directories");
        InvalidArgumentException.requireNonNull(price, "node price");
        InvalidArgumentException.requireNonNull(stake, "node stake");
        InvalidArgumentException.requireNonNull(renew, "renewal period");
        if (!IMAGE.matcher(image).matches()) {
            throw new InvalidArgumentException("node image '" + image + "' is not an image reference such as "
                    + DEFAULT_IMAGE);
        }
        directories = List.copyOf(directories);
        if (directories.isEmpty() || directories.size() > 8) {
            throw new InvalidArgumentException("a node template needs 1 to 8 directories, got " + directories.size()
                    + ": the machines list themselves there and the buyer finds them there");
        }
        for (String d : directories) {
            if (!HOST_PORT.matcher(d).matches()) {
                throw new InvalidArgumentException("directory '" + d + "' is not host:port");
            }
        }
        if (port < 1 || port > 65535) {
            throw new InvalidArgumentException("node port " + port + " must be 1 to 65535");
        }
        if (renew.compareTo(Duration.ofMillis(100)) < 0 || renew.compareTo(Duration.ofHours(1)) > 0) {
            throw new InvalidArgumentException("renewal period " + renew + " must be 100 ms to 1 hour");
        }
    }

    /**
     * A template with the default image, port 7001 and a 10 s renewal.
     *
     * @param directory the buyer's directory, {@code host:port}
     * @param price     the price the node's offer asks
     * @return the template
     */
    public static NodeTemplate of(String directory, Price price) {
        return new NodeTemplate(DEFAULT_IMAGE, List.of(directory), price, MicroUsd.ZERO, 7001, Duration.ofSeconds(10));
    }

    /**
     * The arguments of {@code depin node} on a machine (without the {@code depin} launcher).
     *
     * @param keyFile    where the node keeps its key (generated there on first start)
     * @param region     where the machine is, {@code CC} or {@code CC/zone}
     * @param listenPort the port to listen on (the template's port, or 0 for any free one)
     * @return the arguments, in order
     */
    public List<String> nodeArguments(String keyFile, String region, int listenPort) {
        List<String> a = new ArrayList<>(List.of("node", "--port", String.valueOf(listenPort), "--key", keyFile));
        for (String d : directories) {
            a.add("--directory");
            a.add(d);
        }
        a.addAll(List.of("--region", region,
                "--price-per-second", price.perDeviceSecond().toUsd().toPlainString(),
                "--price-per-gb", price.perGigabyte().toUsd().toPlainString(),
                "--stake", stake.toUsd().toPlainString(),
                "--renew", renew.toMillis() + "ms"));
        return a;
    }
}
