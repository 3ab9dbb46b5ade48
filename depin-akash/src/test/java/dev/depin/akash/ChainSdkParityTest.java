package dev.depin.akash;

import dev.depin.InvalidArgumentException;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The SDL and manifest version made in Java against Akash's own TypeScript SDK
 * ({@code @akashnetwork/chain-sdk} 1.0.0-alpha.45, installed from npm by {@link ChainSdk}): every
 * SDL this module writes must validate there, and its canonical manifest JSON and version must be
 * the same bytes; and what the SDK refuses, the builder refuses too. Skipped, saying why, where
 * Node.js and npm are absent.
 */
class ChainSdkParityTest {
    private static final long SEED = 20261205L;
    private static final String AUDITOR = "akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63";
    private static final String AUDITOR2 = "akash18qa2a2ltfyvkyj0ggj3hkvuj6twzyumuaru9s4";

    @BeforeAll
    static void sdk() {
        String why = ChainSdk.unavailable();
        assumeTrue(why == null, () -> "skipped: " + why);
    }

    @Test
    void manifestVersion_matchesChainSdk_onManySdls() throws Exception {
        System.out.println("ChainSdkParityTest seed = " + SEED);
        SplittableRandom rnd = new SplittableRandom(SEED);
        List<AkashSdl> sdls = new ArrayList<>();
        sdls.add(AkashSdl.builder("ghcr.io/depin-dev/depin-node:0.1.0").build());
        sdls.add(AkashSdl.builder("ghcr.io/depin-dev/depin-node:0.1.0").keyVolume(0, "beta3", "/data").build());
        sdls.add(AkashSdl.builder("ghcr.io/depin-dev/depin-node:0.1.0")
                .args(List.of("node", "--region", "DE/fra-1", "quote\"and\\back", "<tag>&amp;", "ünïcode ✓",
                        "emoji 😀 pair", "colon: value", "- dash", "# hash", "{brace}", "[bracket]", "'single'", "",
                        "\"quantity\":", "sequenceNumber"))
                .env(List.of("DEPIN_X=a=b", "EMPTY=", "HTML=<b>&</b>"))
                .gpu("nvidia", List.of("h100", "a100", "rtx4090"), 8).gpuDetails("80Gi", "sxm")
                .attribute("region", "us-west").attribute("capabilities/storage/1/class", "beta3")
                .attribute("host", "akash").signedByAnyOf(AUDITOR, AUDITOR2).signedByAllOf(AUDITOR)
                .maxPricePerBlock("uact", new BigDecimal("123.456")).count(3).port(443).exposeAs(8443).build());
        for (int i = 0; i < 150; i++) {
            sdls.add(random(rnd));
        }
        List<String> texts = sdls.stream().map(AkashSdl::yaml).toList();
        List<ChainSdk.Result> results = ChainSdk.run(texts);
        for (int i = 0; i < sdls.size(); i++) {
            ChainSdk.Result r = results.get(i);
            String sdl = texts.get(i);
            assertTrue(r.ok(), () -> "chain-sdk refused an SDL we wrote: " + r.errors() + "\n" + sdl);
            assertEquals(r.json(), sdls.get(i).manifestJson(), "canonical manifest JSON of\n" + sdl);
            assertEquals(r.version(), sdls.get(i).manifestVersionHex(), "manifest version of\n" + sdl);
        }
        System.out.println("manifest versions identical to chain-sdk " + ChainSdk.VERSION + " on " + sdls.size()
                + " SDLs; first: " + sdls.get(0).manifestVersionHex());
    }

    private static AkashSdl random(SplittableRandom rnd) {
        AkashSdl.Builder b = AkashSdl.builder(rnd.nextBoolean() ? "ghcr.io/depin-dev/depin-node:0.1.0"
                : "docker.io/example/node@sha256:" + "ab".repeat(32));
        List<String> args = new ArrayList<>(List.of("node", "--port", String.valueOf(1 + rnd.nextInt(65535))));
        for (int i = rnd.nextInt(6); i > 0; i--) {
            args.add(word(rnd));
        }
        b.args(args);
        if (rnd.nextInt(3) == 0) {
            b.env(List.of("A" + rnd.nextInt(100) + "=" + word(rnd), "B=" + word(rnd)));
        }
        int port = 1 + rnd.nextInt(65535);
        b.port(port == 80 ? 81 : port);
        if (rnd.nextBoolean()) {
            int as = 1 + rnd.nextInt(65535);
            b.exposeAs(as == 80 ? 8080 : as);
        }
        b.cpuMillis(1 + rnd.nextLong(64_000));
        b.memoryMiB(1 + rnd.nextLong(512 * 1024));
        b.rootStorageMiB(1 + rnd.nextLong(2 * 1024 * 1024));
        if (rnd.nextInt(4) > 0) {
            String[] classes = {"beta1", "beta2", "beta3", "default"};
            b.keyVolume(1 + rnd.nextLong(10 * 1024), classes[rnd.nextInt(4)], "/var/lib/depin-" + rnd.nextInt(1000));
        } else {
            b.keyVolume(0, "beta3", AkashSdl.DEFAULT_KEY_MOUNT);
        }
        if (rnd.nextInt(4) > 0) {
            String[] models = {"h100", "h200", "a100", "rtx4090", "l40s", "t4", "a6000"};
            List<String> pick = new ArrayList<>();
            for (String m : models) {
                if (pick.isEmpty() || rnd.nextInt(4) == 0) {
                    if (rnd.nextInt(3) == 0 || pick.isEmpty() && rnd.nextBoolean()) {
                        pick.add(m);
                    }
                }
            }
            if (pick.isEmpty()) {
                pick.add("h100");
            }
            b.gpu("nvidia", pick, 1 + rnd.nextInt(8));
            if (rnd.nextBoolean()) {
                b.gpuDetails(rnd.nextBoolean() ? (rnd.nextBoolean() ? "80Gi" : "40Gi") : null,
                        rnd.nextBoolean() ? (rnd.nextBoolean() ? "sxm" : "pcie") : null);
            }
        }
        if (rnd.nextBoolean()) {
            b.placement(rnd.nextBoolean() ? "dcloud" : "akash-" + rnd.nextInt(1000));
        }
        for (int i = rnd.nextInt(4); i > 0; i--) {
            b.attribute(rnd.nextBoolean() ? "region" : "tier" + rnd.nextInt(5), word(rnd).isEmpty() ? "x" : word(rnd) + "x");
        }
        if (rnd.nextBoolean()) {
            b.signedByAnyOf(AUDITOR);
        }
        if (rnd.nextInt(4) == 0) {
            b.signedByAllOf(AUDITOR, AUDITOR2);
        }
        b.maxPricePerBlock(rnd.nextBoolean() ? "uakt" : "uact", BigDecimal.valueOf(rnd.nextLong(10_000_000),
                rnd.nextInt(4)));
        b.count(1 + rnd.nextInt(10));
        return b.build();
    }

    private static String word(SplittableRandom rnd) {
        String alphabet = "abcxyz019-_.:/ <>&\"\\é😀";
        StringBuilder s = new StringBuilder();
        for (int i = rnd.nextInt(12); i > 0; i--) {
            int at = rnd.nextInt(alphabet.length() - 1);
            if (Character.isHighSurrogate(alphabet.charAt(at))) {
                s.append(alphabet, at, at + 2);
            } else if (!Character.isLowSurrogate(alphabet.charAt(at))) {
                s.append(alphabet.charAt(at));
            }
        }
        return s.toString();
    }

    /** One thing Akash's SDK refuses: the SDL text with the fault, what the SDK says, and the builder refusing the same. */
    private record Refusal(String what, Supplier<String> faultySdl, String sdkSays, Executable builderRefuses,
                           String builderSays) {
    }

    @Test
    void validation_refusesWhatChainSdkRefuses() throws Exception {
        String base = AkashSdl.builder("ghcr.io/depin-dev/depin-node:0.1.0").gpu("h100", 2).build().yaml();
        List<Refusal> cases = List.of(
                new Refusal("an unknown GPU vendor", () -> base.replace("              nvidia:", "              amd:"),
                        "", () -> AkashSdl.builder("x").gpu("amd", List.of("mi300x"), 2), "GPU vendor 'amd'"),
                new Refusal("count 0", () -> base.replace("      count: 1", "      count: 0"), "",
                        () -> AkashSdl.builder("x").count(0), "count 0"),
                new Refusal("a negative count", () -> base.replace("      count: 1", "      count: -2"), "",
                        () -> AkashSdl.builder("x").count(-2), "count -2"),
                new Refusal("zero CPU", () -> base.replace("          units: 2\n        memory", "          units: 0\n"
                        + "        memory"), "", () -> AkashSdl.builder("x").cpuMillis(0), "CPU 0 millicores"),
                new Refusal("a price denomination other than uakt/uact",
                        () -> base.replace("denom: uakt", "denom: usd"), "",
                        () -> AkashSdl.builder("x").maxPricePerBlock("usd", BigDecimal.ONE), "denomination 'usd'"),
                new Refusal("a persistent volume without a mount", () -> base.replace("          mount: \"/var/lib/depin\"\n",
                        ""), "requires a mount path", () -> AkashSdl.builder("x").keyVolume(1024, "beta3", ""),
                        "mount ''"),
                new Refusal("a relative mount", () -> base.replace("mount: \"/var/lib/depin\"", "mount: \"var/lib\""), "",
                        () -> AkashSdl.builder("x").keyVolume(1024, "beta3", "var/lib"), "mount 'var/lib'"),
                new Refusal("GPU units without a model", () -> base.replace("          attributes:\n            vendor:\n"
                        + "              nvidia:\n                - model: h100\n", ""), "Missing required field: \"attributes\"",
                        () -> AkashSdl.builder("x").gpu("nvidia", List.of(), 2), "without a model"),
                new Refusal("port 0", () -> base.replace("      - port: 7001", "      - port: 0"), "",
                        () -> AkashSdl.builder("x").port(0), "port 0"),
                new Refusal("a port above 65535", () -> base.replace("      - port: 7001", "      - port: 70000"), "",
                        () -> AkashSdl.builder("x").port(70000), "port 70000"),
                new Refusal("a missing compute profile", () -> base.replace("      profile: depin-node",
                        "      profile: missing"), "The compute requirements for the \"missing\" profile are not defined",
                        null, null));
        // Where the builder is stricter than the SDK: an unknown persistent storage class passes the
        // SDK's schema (no provider offers it, so no bid would come); the builder refuses it.
        String beta9 = base.replace("class: beta3", "class: beta9");
        assertTrue(ChainSdk.run(List.of(beta9)).get(0).ok(), "chain-sdk 1.0.0-alpha.45 accepts class beta9");
        assertTrue(assertThrows(InvalidArgumentException.class, () -> AkashSdl.builder("x").keyVolume(1024, "beta9",
                "/data")).getMessage().contains("storage class 'beta9'"));
        List<String> texts = cases.stream().map(c -> c.faultySdl().get()).toList();
        for (int i = 0; i < texts.size(); i++) {
            assertFalse(texts.get(i).equals(base), "the fault was written into the SDL: " + cases.get(i).what());
        }
        List<ChainSdk.Result> results = ChainSdk.run(texts);
        for (int i = 0; i < cases.size(); i++) {
            Refusal c = cases.get(i);
            ChainSdk.Result r = results.get(i);
            assertFalse(r.ok(), "chain-sdk accepts " + c.what() + "?\n" + texts.get(i));
            assertTrue(r.errors().stream().anyMatch(e -> e.contains(c.sdkSays())), c.what() + ": " + r.errors());
            System.out.println(c.what() + ": chain-sdk says " + r.errors());
            if (c.builderRefuses() != null) {
                InvalidArgumentException e = assertThrows(InvalidArgumentException.class, c.builderRefuses(), c.what());
                assertTrue(e.getMessage().contains(c.builderSays()), c.what() + ": " + e.getMessage());
            }
        }
    }
}
