package dev.depin.examples;

// The README quotes everything between the tags below; ReadmeQuickstartTest keeps the two the
// same, and depin-cli's consumer test compiles and runs the README's copy in a new project.
// tag::quickstart[]
import dev.depin.client.DepinClient;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.job.Job;
import dev.depin.job.JobResult;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.provider.Region;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/** A buyer runs a matrix product on a two-provider in-process network and prints the result. */
public final class Quickstart {
    private Quickstart() {
    }

    /**
     * Computes {@code C = A·B} (2×3 · 3×2) and prints C, the provider that computed it and the cost.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        ProviderNode cheap = ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1))
                .region(Region.parse("DE/fra-1"))
                .price(new Price(MicroUsd.ofUsd("0.0005"), MicroUsd.ofUsd("0.01")))
                .build();
        ProviderNode dear = ProviderNode.builder(NodeKeyPair.generate(), new CpuExecutor(1))
                .region(Region.parse("US/iad-1"))
                .price(new Price(MicroUsd.ofUsd("0.0020"), MicroUsd.ofUsd("0.01")))
                .build();
        try (LocalNetwork network = LocalNetwork.of(List.of(cheap, dear));
             DepinClient client = DepinClient.builder(network).build()) {
            Job job = Job.builder(BuiltinKernel.SGEMM)
                    .param("m", 2).param("k", 3).param("n", 2)
                    .input("a", new float[] {1, 2, 3, 4, 5, 6})
                    .input("b", new float[] {7, 8, 9, 10, 11, 12})
                    .maxPrice(MicroUsd.ofUsd("0.01"))
                    .timeout(Duration.ofSeconds(30))
                    .build();
            JobResult result = client.submit(job).result();
            float[] c = result.floats("c");   // {58, 64, 139, 154}
            System.out.printf("C = %s, computed by %s for %s%n",
                    Arrays.toString(c), result.provider().shortId(), result.cost());
        }
    }
}
// end::quickstart[]
