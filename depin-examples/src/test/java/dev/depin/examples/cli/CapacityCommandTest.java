package dev.depin.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.depin.akash.AkashSdl;
import dev.depin.capacity.CapacityRequest;
import dev.depin.capacity.GpuSpec;
import dev.depin.capacity.NodeTemplate;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.provider.Region;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code depin capacity} and {@code depin akash sdl}: what works offline, and every refusal with status 2. */
class CapacityCommandTest {

    @Test
    void akashSdl_printsTheNodeSdlAndItsVersion() {
        String[] args = {"akash", "sdl", "--gpu", "h100", "--count", "2", "--hours", "24", "--region", "US",
                "--directory", "dir.example.com:7000", "--cpu", "16", "--memory-mib", "65536",
                "--signed-by", "akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63", "--attribute", "tier=community"};
        String out = EarningsCommandTest.run(0, args);
        assertTrue(out.startsWith("version: \"2.0\"\nservices:\n  depin-node:\n    image: \"" + NodeTemplate.DEFAULT_IMAGE
                + "\"\n"), out);
        assertTrue(out.contains("          units: 2\n          attributes:\n            vendor:\n              nvidia:\n"
                + "                - model: h100\n"), out);
        assertTrue(out.contains("      - \"--directory\"\n      - \"dir.example.com:7000\"\n"), out);
        assertTrue(out.contains("        \"region\": \"us\"\n        \"tier\": \"community\"\n"), out);
        assertTrue(out.contains("        anyOf:\n          - \"akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63\"\n"), out);
        String[] withVersion = java.util.Arrays.copyOf(args, args.length + 1);
        withVersion[args.length] = "--manifest-version";
        String version = EarningsCommandTest.run(0, withVersion);
        NodeTemplate node = new NodeTemplate(NodeTemplate.DEFAULT_IMAGE, List.of("dir.example.com:7000"),
                new Price(MicroUsd.ofUsd("0.0010"), MicroUsd.ofUsd("0.02")), MicroUsd.ZERO, 7001, Duration.ofSeconds(10));
        AkashSdl same = AkashSdl.forNode(new CapacityRequest(1, GpuSpec.of("h100", 2), Region.parse("US"),
                Duration.ofHours(24), MicroUsd.ofUsd("1000000"), node)).cpuMillis(16_000).memoryMiB(65536)
                .attribute("tier", "community").signedByAnyOf("akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63")
                .maxPricePerBlock("uakt", new BigDecimal("10000")).build();
        assertTrue(version.startsWith(same.manifestVersionHex() + "\n"), version);
    }

    @Test
    void akashSdl_refusesWhatAkashRefuses() {
        assertTrue(EarningsCommandTest.run(2, "akash", "sdl", "--denom", "usd").contains("price denomination 'usd'"));
        assertTrue(EarningsCommandTest.run(2, "akash", "sdl", "--cpu", "0").contains("--cpu must be positive"));
        assertTrue(EarningsCommandTest.run(2, "akash", "sdl", "--storage-class", "ram")
                .contains("storage class 'ram' is not a persistent Akash class"));
    }

    @Test
    void quoteLocal_pricesTheLease() {
        String out = EarningsCommandTest.run(0, "capacity", "quote", "--market", "local", "--machines", "2",
                "--hours", "24", "--price-per-hour", "0.50");
        assertTrue(out.startsWith("local: 2 machine(s) with no GPU anywhere for PT24H, budget $1000000.000000 costs "
                + "$24.000000 ($12.000000 per machine; 2 x $0.500000/h x 86400 s)\n"), out);
    }

    @Test
    void capacity_refusals() {
        assertTrue(EarningsCommandTest.run(1, "capacity", "quote", "--market", "local", "--gpu", "h100")
                .contains("local market: it starts nodes on this host's best executor and cannot promise 1xh100"));
        assertTrue(EarningsCommandTest.run(2, "capacity", "quote", "--market", "render", "--gpu", "h100")
                .contains("--market must be akash, ionet or local, got 'render' (Render has no buyer-side job API"));
        assertTrue(EarningsCommandTest.run(2, "capacity", "quote", "--market", "local", "--hours", "0")
                .contains("--hours must be 1 to 2160, got 0"));
        if (System.getenv("AKASH_API_KEY") == null) {
            assertTrue(EarningsCommandTest.run(2, "capacity", "quote", "--market", "akash", "--gpu", "h100")
                    .contains("set AKASH_API_KEY to your Akash Console API key"));
        }
        if (System.getenv("IONET_API_KEY") == null) {
            assertTrue(EarningsCommandTest.run(2, "capacity", "release", "--market", "ionet", "x")
                    .contains("set IONET_API_KEY to your io.net API key"));
        }
        assertTrue(EarningsCommandTest.run(2, "capacity", "release", "--market", "local", "local-1")
                .contains("release works for akash and ionet"));
    }
}
