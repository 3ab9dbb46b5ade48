package dev.depin.examples.cli;

import dev.depin.DepinException;
import dev.depin.akash.AkashSdl;
import dev.depin.capacity.CapacityRequest;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code depin akash}: Akash helpers that need no account. */
@Command(name = "akash", mixinStandardHelpOptions = true,
        description = "Akash helpers that work offline: sdl prints the SDL of a depin node.",
        subcommands = {AkashCommand.Sdl.class})
public final class AkashCommand implements Runnable {
    @picocli.CommandLine.Spec
    private picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** {@code depin akash sdl}. */
    @Command(name = "sdl", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Print the Akash SDL (YAML) of a depin node: the node image started with depin node, its "
                    + "port exposed, GPUs, CPU, memory, a persistent volume for its key, placement attributes, "
                    + "auditors and the max price per block.",
                "--manifest-version prints the manifest version (SHA-256, hex) instead, as Akash's SDK computes it."})
    static final class Sdl implements Callable<Integer> {
        @Mixin
        CapacityCommand.RequestOptions r = new CapacityCommand.RequestOptions();

        @Option(names = "--cpu", defaultValue = "2", paramLabel = "CORES", description = "CPU cores, e.g. 0.5 or 8 (default ${DEFAULT-VALUE}).")
        BigDecimal cpu;

        @Option(names = "--memory-mib", defaultValue = "8192", paramLabel = "MIB", description = "Memory in MiB (default ${DEFAULT-VALUE}).")
        long memoryMiB;

        @Option(names = "--storage-mib", defaultValue = "10240", paramLabel = "MIB", description = "Root storage in MiB (default ${DEFAULT-VALUE}).")
        long storageMiB;

        @Option(names = "--key-volume-mib", defaultValue = "1024", paramLabel = "MIB",
                description = "The persistent volume for the node's key in MiB, 0 for none (default ${DEFAULT-VALUE}).")
        long keyMiB;

        @Option(names = "--storage-class", defaultValue = "beta3", paramLabel = "CLASS",
                description = "The key volume's class: beta1, beta2, beta3 or default (default ${DEFAULT-VALUE}).")
        String storageClass;

        @Option(names = "--attribute", paramLabel = "KEY=VALUE", description = "A provider attribute the placement requires; repeat.")
        Map<String, String> attributes = Map.of();

        @Option(names = "--signed-by", paramLabel = "AKASH_ADDRESS", split = ",",
                description = "Auditors, any one of whom must have signed the provider's attributes.")
        List<String> signedBy = new ArrayList<>();

        @Option(names = "--denom", defaultValue = "uakt", paramLabel = "uakt|uact", description = "Price denomination (default ${DEFAULT-VALUE}).")
        String denom;

        @Option(names = "--max-price-per-block", defaultValue = "10000", paramLabel = "AMOUNT",
                description = "The most paid per block in micro-units of the token (default ${DEFAULT-VALUE}).")
        BigDecimal maxPerBlock;

        @Option(names = "--manifest-version", description = "Print the manifest version instead of the SDL.")
        boolean version;

        @Override
        public Integer call() {
            try {
                CapacityRequest request = r.request();
                if (cpu.signum() <= 0 || cpu.scale() > 3) {
                    throw new ServeOptions.UsageException("--cpu must be positive with at most 3 decimals, got " + cpu);
                }
                AkashSdl.Builder b = AkashSdl.forNode(request).cpuMillis(cpu.movePointRight(3).longValueExact())
                        .memoryMiB(memoryMiB).rootStorageMiB(storageMiB)
                        .keyVolume(keyMiB, storageClass, AkashSdl.DEFAULT_KEY_MOUNT)
                        .maxPricePerBlock(denom, maxPerBlock).count(request.machines());
                attributes.forEach(b::attribute);
                if (!signedBy.isEmpty()) {
                    b.signedByAnyOf(signedBy.toArray(String[]::new));
                }
                AkashSdl sdl = b.build();
                System.out.print(version ? sdl.manifestVersionHex() + "\n" : sdl.yaml());
                return 0;
            } catch (ServeOptions.UsageException | DepinException | ArithmeticException e) {
                System.err.println(e.getMessage());
                return 2;
            }
        }
    }
}
