package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.NodeProbe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code depin health}: asks a node whether it serves, through its own health RPC over mutual TLS
 * with its key pinned; exit status 0 when it does. Made for a container's {@code HEALTHCHECK}
 * (the node's key file is on the same volume) and for operators' scripts.
 */
@Command(name = "health", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Ask a node whether it serves (its Health RPC over mutual TLS 1.3, its key pinned); exit 0 "
                + "when it does, 1 when it does not or cannot be reached, 2 on a usage error.",
            "The node's public key comes from --public-key (a PEM public key) or --key (the node's own key file, "
                + "unencrypted, as in the container image)."})
public final class HealthCommand implements Callable<Integer> {
    @Parameters(paramLabel = "HOST:PORT", description = "Where the node listens.")
    String address;

    @Option(names = "--public-key", paramLabel = "FILE", description = "The node's public key, PEM.")
    Path publicKey;

    @Option(names = "--key", paramLabel = "FILE", description = "The node's key file (unencrypted).")
    Path key;

    @Option(names = "--timeout", defaultValue = "5s", paramLabel = "DURATION", converter = ServeOptions.DurationConverter.class,
            description = "The longest the check may take (default ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() {
        NodePublicKey pinned;
        try {
            if ((publicKey == null) == (key == null)) {
                System.err.println("give exactly one of --public-key FILE and --key FILE");
                return 2;
            }
            pinned = publicKey != null ? KeyPem.readPublicKey(Files.readString(publicKey))
                    : KeyPem.load(key, null).publicKey();
        } catch (DepinException | java.io.IOException e) {
            System.err.println("cannot read the node's key: " + e.getMessage());
            return 2;
        }
        try {
            NodeId id = NodeProbe.health(address, pinned, timeout);
            System.out.println("depin node " + id.hex() + " at " + address + " is serving");
            return 0;
        } catch (DepinException e) {
            System.err.println(e.getMessage());
            return 1;
        }
    }
}
