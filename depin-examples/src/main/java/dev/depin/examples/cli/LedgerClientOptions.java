package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.crypto.NodePublicKey;
import dev.depin.grpc.RemoteSettlement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import picocli.CommandLine.Option;

/**
 * How a command reaches a settlement service ({@code depin ledger serve}): this client's key
 * file, and the service's key to pin (by default the client key's own public half, which is
 * right for the operator who runs the service with that key).
 */
final class LedgerClientOptions {
    @Option(names = "--key", paramLabel = "FILE", description = "This client's key file (its TLS identity; the "
            + "service grants accounts to its public key). With the ledger's own key file, the client is the operator.")
    Path key;

    @Option(names = "--ledger-key", paramLabel = "HEX", description = "The service's public key (64 hex characters, "
            + "printed by 'depin ledger serve'), pinned; default the public half of --key.")
    String ledgerKey;

    @Option(names = "--passphrase-env", paramLabel = "VAR",
            description = "Read the key file's passphrase from this environment variable.")
    String passphraseEnv;

    /** Connects to {@code service}; nothing is sent until the first call. */
    RemoteSettlement connect(String service) throws ServeOptions.UsageException {
        if (key == null) {
            throw new ServeOptions.UsageException("--key FILE is required with --service: the service knows a client "
                    + "by its key");
        }
        if (!Files.isRegularFile(key)) {
            throw new ServeOptions.UsageException("--key " + key + " is not a key file"
                    + (Files.exists(key) ? " (not a regular file)" : " (no such file)"));
        }
        char[] passphrase = null;
        if (passphraseEnv != null) {
            String v = System.getenv(passphraseEnv);
            if (v == null || v.isEmpty()) {
                throw new ServeOptions.UsageException("the environment variable " + passphraseEnv
                        + " named by --passphrase-env is not set or empty");
            }
            passphrase = v.toCharArray();
        }
        NodeKeyPair self;
        try {
            self = KeyPem.load(key, passphrase);
        } catch (DepinException e) {
            throw new ServeOptions.UsageException("--key " + key + ": " + e.getMessage());
        } finally {
            if (passphrase != null) {
                Arrays.fill(passphrase, '\0');
            }
        }
        NodePublicKey pinned = ledgerKey == null ? self.publicKey() : LedgerServeCommand.publicKey(ledgerKey, "--ledger-key");
        try {
            return RemoteSettlement.builder(self, service, pinned).connect();
        } catch (DepinException e) {
            throw new ServeOptions.UsageException("--service " + service + ": " + e.getMessage());
        }
    }
}
