package dev.depin.akash;

import dev.depin.InvalidArgumentException;
import dev.depin.capacity.CapacityRequest;
import dev.depin.crypto.Hex;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * An Akash SDL (Stack Definition Language, version 2.0) that runs one depin node service: its
 * image and arguments, the node's port exposed globally over TCP, CPU, memory, GPUs by vendor and
 * model, root storage and a persistent volume for the node's key, placement attributes, the
 * auditors who must have signed the provider ({@code signedBy}), and the most it pays per block.
 *
 * <p>{@link #yaml()} is the SDL to deploy; {@link #manifestJson()} and {@link #manifestVersion()}
 * are the manifest's canonical JSON and its SHA-256, computed here in Java the way Akash's own
 * TypeScript SDK ({@code @akashnetwork/chain-sdk} 1.0.0-alpha.45: {@code generateManifest},
 * {@code manifestToSortedJSON}, {@code generateManifestVersion}) computes them; the test
 * {@code ChainSdkParityTest} compares the two bit for bit on many SDLs. The version is what the
 * deployment carries on chain and what a provider checks the manifest against.
 *
 * <p>The builder rejects what Akash's SDK rejects for these fields (a vendor other than
 * {@code nvidia}, a price denomination other than {@code uakt}/{@code uact}, a count below 1,
 * zero CPU, a persistent volume without an absolute mount, a storage class Akash does not know),
 * each with a message that says what to give instead.
 *
 * <pre>{@code
 * AkashSdl sdl = AkashSdl.builder("ghcr.io/depin-dev/depin-node:0.1.0")
 *         .args(List.of("node", "--port", "7001"))
 *         .gpu("h100", 2).cpuMillis(16_000).memoryMiB(64 * 1024)
 *         .attribute("region", "us-west").signedByAnyOf("akash1...")
 *         .maxPricePerBlock("uakt", new BigDecimal("10000")).build();
 * String yaml = sdl.yaml();
 * String version = sdl.manifestVersionHex();
 * }</pre>
 */
public final class AkashSdl {
    /** The service's name in the SDL. */
    public static final String SERVICE = "depin-node";
    /** The compute profile's name. */
    public static final String PROFILE = "depin-node";
    /** The persistent volume that keeps the node's key. */
    public static final String KEY_VOLUME = "node-key";
    /** Where the key volume is mounted in the container. */
    public static final String DEFAULT_KEY_MOUNT = "/var/lib/depin";

    private static final Set<String> DENOMS = Set.of("uakt", "uact");
    private static final Set<String> STORAGE_CLASSES = Set.of("beta1", "beta2", "beta3", "default");
    private static final Set<String> GPU_INTERFACES = Set.of("pcie", "sxm");
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]{0,62}");
    private static final Pattern GPU_MODEL = Pattern.compile("[a-z0-9][a-z0-9-]{0,39}");
    private static final Pattern GPU_RAM = Pattern.compile("[0-9]{1,4}(Gi|Mi)");
    private static final Pattern ATTRIBUTE_KEY = Pattern.compile("[a-zA-Z][a-zA-Z0-9_./-]{0,126}");
    private static final Pattern ENV = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}=.*", Pattern.DOTALL);
    private static final Pattern AKASH_ADDRESS = Pattern.compile("akash1[02-9ac-hj-np-z]{38}");
    private static final Pattern IMAGE = Pattern.compile("[a-z0-9][a-z0-9._/:@-]{0,254}");
    private static final Pattern MOUNT = Pattern.compile("/[A-Za-z0-9._/-]{0,254}");
    private static final long MIB = 1024L * 1024L;

    private final String image;
    private final List<String> args;
    private final List<String> env;
    private final int port;
    private final int exposeAs;
    private final long cpuMillis;
    private final long memoryMiB;
    private final long rootStorageMiB;
    private final long keyVolumeMiB;
    private final String keyVolumeClass;
    private final String keyMount;
    private final String gpuVendor;
    private final List<String> gpuModels;
    private final int gpuUnits;
    private final String gpuRam;
    private final String gpuInterface;
    private final String placement;
    private final SortedMap<String, String> attributes;
    private final List<String> signedByAnyOf;
    private final List<String> signedByAllOf;
    private final String denom;
    private final BigDecimal maxPricePerBlock;
    private final int count;

    private AkashSdl(Builder b) {
        this.image = b.image;
        this.args = List.copyOf(b.args);
        this.env = List.copyOf(b.env);
        this.port = b.port;
        this.exposeAs = b.exposeAs == 0 ? b.port : b.exposeAs;
        this.cpuMillis = b.cpuMillis;
        this.memoryMiB = b.memoryMiB;
        this.rootStorageMiB = b.rootStorageMiB;
        this.keyVolumeMiB = b.keyVolumeMiB;
        this.keyVolumeClass = b.keyVolumeClass;
        this.keyMount = b.keyMount;
        this.gpuVendor = b.gpuVendor;
        this.gpuModels = List.copyOf(b.gpuModels);
        this.gpuUnits = b.gpuUnits;
        this.gpuRam = b.gpuRam;
        this.gpuInterface = b.gpuInterface;
        this.placement = b.placement;
        this.attributes = Collections.unmodifiableSortedMap(new TreeMap<>(b.attributes));
        this.signedByAnyOf = List.copyOf(b.signedByAnyOf);
        this.signedByAllOf = List.copyOf(b.signedByAllOf);
        this.denom = b.denom;
        this.maxPricePerBlock = b.maxPricePerBlock;
        this.count = b.count;
    }

    /**
     * Starts an SDL for the node image; every other field has a default (2 CPUs, 8 GiB memory,
     * 10 GiB root storage, a 1 GiB {@code beta3} key volume at {@value #DEFAULT_KEY_MOUNT}, port
     * 7001, no GPU, placement {@code akash}, 10,000 uakt per block, one instance).
     *
     * @param image the container image that runs {@code depin node}
     * @return a builder
     * @throws InvalidArgumentException if the image is not an image reference
     */
    public static Builder builder(String image) {
        return new Builder(image);
    }

    /**
     * An SDL for the machines a capacity request asks for: one instance, the request's GPUs,
     * the node started with the template's arguments, its key on the persistent volume, and the
     * region as a placement attribute when one is asked.
     *
     * @param request what to obtain (its GPU, region and node template are used)
     * @return a builder to refine (CPU, memory, price, auditors)
     */
    public static Builder forNode(CapacityRequest request) {
        InvalidArgumentException.requireNonNull(request, "capacity request");
        int nodePort = request.node().port();
        String region = request.region() == null ? "ZZ" : request.region().toString();
        List<String> nodeArgs = new ArrayList<>(request.node().nodeArguments(DEFAULT_KEY_MOUNT + "/node.key", region,
                nodePort));
        nodeArgs.addAll(List.of("--host", "0.0.0.0"));
        Builder b = new Builder(request.node().image()).args(nodeArgs).port(nodePort);
        if (request.gpu().any()) {
            b.gpu(request.gpu().model(), request.gpu().count());
        }
        if (request.region() != null) {
            b.attribute("region", request.region().toString().toLowerCase(java.util.Locale.ROOT).replace('/', '-'));
        }
        return b;
    }

    /** @return the SDL, YAML, ready for {@code POST /v1/deployments} or {@code akash tx deployment create} */
    public String yaml() {
        StringBuilder y = new StringBuilder(2048);
        y.append("version: \"2.0\"\n");
        y.append("services:\n");
        y.append("  ").append(SERVICE).append(":\n");
        y.append("    image: ").append(quote(image)).append('\n');
        if (!args.isEmpty()) {
            y.append("    args:\n");
            for (String a : args) {
                y.append("      - ").append(quote(a)).append('\n');
            }
        }
        if (!env.isEmpty()) {
            y.append("    env:\n");
            for (String e : env) {
                y.append("      - ").append(quote(e)).append('\n');
            }
        }
        y.append("    expose:\n");
        y.append("      - port: ").append(port).append('\n');
        y.append("        as: ").append(exposeAs).append('\n');
        y.append("        proto: tcp\n");
        y.append("        to:\n");
        y.append("          - global: true\n");
        if (keyVolumeMiB > 0) {
            y.append("    params:\n");
            y.append("      storage:\n");
            y.append("        ").append(KEY_VOLUME).append(":\n");
            y.append("          mount: ").append(quote(keyMount)).append('\n');
            y.append("          readOnly: false\n");
        }
        y.append("profiles:\n");
        y.append("  compute:\n");
        y.append("    ").append(PROFILE).append(":\n");
        y.append("      resources:\n");
        y.append("        cpu:\n");
        y.append("          units: ").append(cores(cpuMillis)).append('\n');
        y.append("        memory:\n");
        y.append("          size: ").append(size(memoryMiB)).append('\n');
        y.append("        storage:\n");
        y.append("          - size: ").append(size(rootStorageMiB)).append('\n');
        if (keyVolumeMiB > 0) {
            y.append("          - name: ").append(KEY_VOLUME).append('\n');
            y.append("            size: ").append(size(keyVolumeMiB)).append('\n');
            y.append("            attributes:\n");
            y.append("              persistent: true\n");
            y.append("              class: ").append(keyVolumeClass).append('\n');
        }
        if (gpuUnits > 0) {
            y.append("        gpu:\n");
            y.append("          units: ").append(gpuUnits).append('\n');
            y.append("          attributes:\n");
            y.append("            vendor:\n");
            y.append("              ").append(gpuVendor).append(":\n");
            for (String m : gpuModels) {
                y.append("                - model: ").append(m).append('\n');
                if (gpuRam != null) {
                    y.append("                  ram: ").append(gpuRam).append('\n');
                }
                if (gpuInterface != null) {
                    y.append("                  interface: ").append(gpuInterface).append('\n');
                }
            }
        }
        y.append("  placement:\n");
        y.append("    ").append(placement).append(":\n");
        if (!attributes.isEmpty()) {
            y.append("      attributes:\n");
            for (Map.Entry<String, String> a : attributes.entrySet()) {
                y.append("        ").append(quote(a.getKey())).append(": ").append(quote(a.getValue())).append('\n');
            }
        }
        if (!signedByAnyOf.isEmpty() || !signedByAllOf.isEmpty()) {
            y.append("      signedBy:\n");
            if (!signedByAllOf.isEmpty()) {
                y.append("        allOf:\n");
                for (String s : signedByAllOf) {
                    y.append("          - ").append(quote(s)).append('\n');
                }
            }
            if (!signedByAnyOf.isEmpty()) {
                y.append("        anyOf:\n");
                for (String s : signedByAnyOf) {
                    y.append("          - ").append(quote(s)).append('\n');
                }
            }
        }
        y.append("      pricing:\n");
        y.append("        ").append(PROFILE).append(":\n");
        y.append("          denom: ").append(denom).append('\n');
        y.append("          amount: ").append(quote(maxPricePerBlock.toPlainString())).append('\n');
        y.append("deployment:\n");
        y.append("  ").append(SERVICE).append(":\n");
        y.append("    ").append(placement).append(":\n");
        y.append("      profile: ").append(PROFILE).append('\n');
        y.append("      count: ").append(count).append('\n');
        return y.toString();
    }

    /**
     * The manifest's canonical JSON, as {@code manifestToSortedJSON} of Akash's SDK writes it for
     * this SDL's manifest groups: keys sorted, empty lists and zero kinds left out or written as
     * null by Akash's rules, {@code quantity}/{@code sequenceNumber} renamed to the Go names
     * {@code size}/{@code sequence_number}, and {@code <}, {@code >}, {@code &} escaped.
     *
     * @return the JSON
     */
    public String manifestJson() {
        return ManifestJson.canonical(List.of(group()));
    }

    /** @return SHA-256 of {@link #manifestJson()}'s UTF-8 bytes: the deployment's version */
    public byte[] manifestVersion() {
        try {
            return MessageDigest.getInstance("SHA-256").digest(manifestJson().getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** @return {@link #manifestVersion()} in lower-case hex */
    public String manifestVersionHex() {
        return Hex.encode(manifestVersion());
    }

    /** @return the most paid per block, in {@link #denom()} */
    public BigDecimal maxPricePerBlock() {
        return maxPricePerBlock;
    }

    /** @return the price's denomination, {@code uakt} or {@code uact} */
    public String denom() {
        return denom;
    }

    /** @return how many instances */
    public int count() {
        return count;
    }

    // ------------------------------------------------------------------ the manifest group

    private Map<String, Object> group() {
        Map<String, Object> g = new TreeMap<>();
        g.put("name", placement);
        g.put("services", List.of(service()));
        return g;
    }

    private Map<String, Object> service() {
        Map<String, Object> s = new TreeMap<>();
        s.put("name", SERVICE);
        s.put("image", image);
        s.put("command", null);
        s.put("args", args.isEmpty() ? null : args);
        s.put("env", env.isEmpty() ? null : env);
        s.put("resources", resources());
        s.put("count", (long) count);
        Map<String, Object> httpOptions = new TreeMap<>();
        httpOptions.put("maxBodySize", 1_048_576L);
        httpOptions.put("readTimeout", 60_000L);
        httpOptions.put("sendTimeout", 60_000L);
        httpOptions.put("nextTries", 3L);
        httpOptions.put("nextTimeout", 0L);
        httpOptions.put("nextCases", List.of("error", "timeout"));
        Map<String, Object> expose = new TreeMap<>();
        expose.put("port", (long) port);
        expose.put("externalPort", (long) exposeAs);
        expose.put("proto", "TCP");
        expose.put("service", "");
        expose.put("global", Boolean.TRUE);
        expose.put("hosts", null);
        expose.put("httpOptions", httpOptions);
        expose.put("ip", "");
        expose.put("endpointSequenceNumber", 0L);
        s.put("expose", List.of(expose));
        if (keyVolumeMiB > 0) {
            Map<String, Object> volume = new TreeMap<>();
            volume.put("name", KEY_VOLUME);
            volume.put("mount", keyMount);
            volume.put("readOnly", Boolean.FALSE);
            s.put("params", Map.of("storage", List.of(volume)));
        }
        s.put("credentials", null);
        return s;
    }

    private Map<String, Object> resources() {
        Map<String, Object> r = new TreeMap<>();
        r.put("id", 1L);
        r.put("cpu", Map.of("units", Map.of("val", Long.toString(cpuMillis))));
        r.put("memory", Map.of("quantity", Map.of("val", Long.toString(memoryMiB * MIB))));
        List<Object> storage = new ArrayList<>();
        Map<String, Object> root = new TreeMap<>();
        root.put("name", "default");
        root.put("quantity", Map.of("val", Long.toString(rootStorageMiB * MIB)));
        storage.add(root);
        if (keyVolumeMiB > 0) {
            Map<String, Object> key = new TreeMap<>();
            key.put("name", KEY_VOLUME);
            key.put("quantity", Map.of("val", Long.toString(keyVolumeMiB * MIB)));
            key.put("attributes", List.of(attribute("class", keyVolumeClass), attribute("persistent", "true")));
            storage.add(key);
        }
        r.put("storage", storage);
        Map<String, Object> gpu = new TreeMap<>();
        gpu.put("units", Map.of("val", Integer.toString(gpuUnits)));
        if (gpuUnits > 0) {
            List<String> keys = new ArrayList<>();
            for (String m : gpuModels) {
                String k = "vendor/" + gpuVendor + "/model/" + m;
                if (gpuRam != null) {
                    k += "/ram/" + gpuRam;
                }
                if (gpuInterface != null) {
                    k += "/interface/" + gpuInterface;
                }
                keys.add(k);
            }
            Collections.sort(keys);
            List<Object> attrs = new ArrayList<>();
            for (String k : keys) {
                attrs.add(attribute(k, "true"));
            }
            gpu.put("attributes", attrs);
        }
        r.put("gpu", gpu);
        // A global TCP port is a random external port, kind 1; port 80 is the shared HTTP
        // ingress, kind 0, which Akash's canonical form leaves out.
        Map<String, Object> endpoint = new TreeMap<>();
        if (exposeAs != 80) {
            endpoint.put("kind", 1L);
        }
        endpoint.put("sequenceNumber", 0L);
        r.put("endpoints", List.of(endpoint));
        return r;
    }

    private static Map<String, Object> attribute(String key, String value) {
        Map<String, Object> a = new TreeMap<>();
        a.put("key", key);
        a.put("value", value);
        return a;
    }

    // ------------------------------------------------------------------ YAML scalars

    /** A YAML double-quoted scalar; the builder has already refused characters that need escapes beyond these. */
    static String quote(String s) {
        StringBuilder q = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                q.append('\\');
            }
            q.append(c);
        }
        return q.append('"').toString();
    }

    private static String cores(long millis) {
        return BigDecimal.valueOf(millis, 3).stripTrailingZeros().toPlainString();
    }

    private static String size(long mib) {
        return mib % 1024 == 0 ? (mib / 1024) + "Gi" : mib + "Mi";
    }

    /** Text Akash's SDL and its canonical JSON both carry safely: no control or non-characters, no lone surrogates. */
    static void requirePlainText(String s, String what) {
        InvalidArgumentException.requireNonNull(s, what);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean bad = c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 || c == 0xfeff
                    || c == 0xfffe || c == 0xffff;
            if (Character.isHighSurrogate(c)) {
                bad = i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1));
                i++;
            } else if (Character.isLowSurrogate(c)) {
                bad = true;
            }
            if (bad) {
                throw new InvalidArgumentException(what + " contains a control character or an invalid code point at "
                        + "index " + i + ": use printable text");
            }
        }
    }

    /** Options of an {@link AkashSdl}; every setter checks its argument. */
    public static final class Builder {
        private final String image;
        private List<String> args = List.of();
        private List<String> env = List.of();
        private int port = 7001;
        private int exposeAs;
        private long cpuMillis = 2000;
        private long memoryMiB = 8 * 1024;
        private long rootStorageMiB = 10 * 1024;
        private long keyVolumeMiB = 1024;
        private String keyVolumeClass = "beta3";
        private String keyMount = DEFAULT_KEY_MOUNT;
        private String gpuVendor = "nvidia";
        private List<String> gpuModels = List.of();
        private int gpuUnits;
        private String gpuRam;
        private String gpuInterface;
        private String placement = "akash";
        private final SortedMap<String, String> attributes = new TreeMap<>();
        private List<String> signedByAnyOf = List.of();
        private List<String> signedByAllOf = List.of();
        private String denom = "uakt";
        private BigDecimal maxPricePerBlock = new BigDecimal("10000");
        private int count = 1;

        private Builder(String image) {
            InvalidArgumentException.requireNonNull(image, "image");
            if (!IMAGE.matcher(image).matches()) {
                throw new InvalidArgumentException("image '" + image + "' is not an image reference such as "
                        + "ghcr.io/depin-dev/depin-node:0.1.0");
            }
            this.image = image;
        }

        /**
         * @param arguments the container's arguments (the image's entry point is {@code depin})
         * @return this builder
         */
        public Builder args(List<String> arguments) {
            InvalidArgumentException.requireNonNull(arguments, "arguments");
            if (arguments.size() > 256) {
                throw new InvalidArgumentException(arguments.size() + " arguments: at most 256");
            }
            for (String a : arguments) {
                requirePlainText(a, "argument");
            }
            this.args = List.copyOf(arguments);
            return this;
        }

        /**
         * @param variables environment variables, each {@code NAME=value}
         * @return this builder
         */
        public Builder env(List<String> variables) {
            InvalidArgumentException.requireNonNull(variables, "environment");
            for (String v : variables) {
                requirePlainText(v, "environment variable");
                if (!ENV.matcher(v).matches()) {
                    throw new InvalidArgumentException("environment variable '" + v + "' must be NAME=value, NAME of "
                            + "letters, digits and underscores");
                }
            }
            this.env = List.copyOf(variables);
            return this;
        }

        /**
         * @param p the port the node listens on in the container, 1 to 65535 (default 7001);
         *          exposed globally over TCP
         * @return this builder
         */
        public Builder port(int p) {
            this.port = port(p, "port");
            return this;
        }

        /**
         * @param p the port asked for outside (the SDL's {@code as}; default the same as
         *          {@link #port}); 80 means Akash's shared HTTP ingress, which a gRPC node with
         *          mutual TLS cannot use, so it is refused
         * @return this builder
         */
        public Builder exposeAs(int p) {
            port(p, "exposed port");
            if (p == 80) {
                throw new InvalidArgumentException("exposed port 80 is Akash's shared HTTP ingress, which terminates "
                        + "HTTP; the node speaks gRPC over mutual TLS: expose another port");
            }
            this.exposeAs = p;
            return this;
        }

        private static int port(int p, String what) {
            if (p < 1 || p > 65535) {
                throw new InvalidArgumentException(what + " " + p + " must be 1 to 65535");
            }
            return p;
        }

        /**
         * @param millis CPU in thousandths of a core, 1 to 512,000 (default 2,000)
         * @return this builder
         */
        public Builder cpuMillis(long millis) {
            if (millis < 1 || millis > 512_000) {
                throw new InvalidArgumentException("CPU " + millis + " millicores must be 1 to 512000 (Akash refuses "
                        + "zero CPU units)");
            }
            this.cpuMillis = millis;
            return this;
        }

        /**
         * @param mib memory in MiB, 1 to 4,194,304 (default 8,192)
         * @return this builder
         */
        public Builder memoryMiB(long mib) {
            this.memoryMiB = mib(mib, "memory");
            return this;
        }

        /**
         * @param mib the container's root (ephemeral) storage in MiB (default 10,240)
         * @return this builder
         */
        public Builder rootStorageMiB(long mib) {
            this.rootStorageMiB = mib(mib, "root storage");
            return this;
        }

        private static long mib(long mib, String what) {
            if (mib < 1 || mib > 4L * 1024 * 1024 * 1024) {
                throw new InvalidArgumentException(what + " " + mib + " MiB must be 1 MiB to 4 PiB");
            }
            return mib;
        }

        /**
         * The persistent volume that keeps the node's key across restarts of its container, so
         * the node keeps its identity (and its listing and reputation) on the same lease.
         *
         * @param mib          its size in MiB, or 0 for none (the key then lives and dies with the container)
         * @param storageClass an Akash persistent storage class: {@code beta1}, {@code beta2},
         *                     {@code beta3} or {@code default}
         * @param mount        where it is mounted, an absolute path
         * @return this builder
         */
        public Builder keyVolume(long mib, String storageClass, String mount) {
            InvalidArgumentException.requireNonNull(storageClass, "storage class");
            InvalidArgumentException.requireNonNull(mount, "mount");
            if (mib != 0) {
                mib(mib, "key volume");
            }
            if (!STORAGE_CLASSES.contains(storageClass)) {
                throw new InvalidArgumentException("storage class '" + storageClass + "' is not a persistent Akash "
                        + "class: use beta1, beta2, beta3 or default");
            }
            if (!MOUNT.matcher(mount).matches() || mount.equals("/")) {
                throw new InvalidArgumentException("mount '" + mount + "' must be an absolute path below /, e.g. "
                        + DEFAULT_KEY_MOUNT + " (Akash requires a mount for persistent storage)");
            }
            this.keyVolumeMiB = mib;
            this.keyVolumeClass = storageClass;
            this.keyMount = mount;
            return this;
        }

        /**
         * @param model GPU model as Akash's providers list it ({@code h100}, {@code a100},
         *              {@code rtx4090}); lower case
         * @param units GPUs per instance, 1 to 64
         * @return this builder
         */
        public Builder gpu(String model, int units) {
            return gpu("nvidia", List.of(model), units);
        }

        /**
         * @param vendor the GPU vendor; Akash's SDL knows {@code nvidia} only
         * @param models the models any of which will do
         * @param units  GPUs per instance, 0 (none) to 64
         * @return this builder
         */
        public Builder gpu(String vendor, List<String> models, int units) {
            InvalidArgumentException.requireNonNull(vendor, "GPU vendor");
            InvalidArgumentException.requireNonNull(models, "GPU models");
            if (!vendor.equals("nvidia")) {
                throw new InvalidArgumentException("GPU vendor '" + vendor + "' is not one Akash's SDL accepts: use "
                        + "nvidia");
            }
            if (units < 0 || units > 64) {
                throw new InvalidArgumentException("GPU units " + units + " must be 0 to 64");
            }
            if (units > 0 && models.isEmpty()) {
                throw new InvalidArgumentException("GPU units " + units + " without a model: Akash requires GPU "
                        + "attributes when units is not 0; name a model such as h100");
            }
            if (units == 0 && !models.isEmpty()) {
                throw new InvalidArgumentException("GPU models " + models + " with 0 units: Akash refuses GPU attributes "
                        + "when units is 0");
            }
            for (String m : models) {
                if (m == null || !GPU_MODEL.matcher(m).matches()) {
                    throw new InvalidArgumentException("GPU model '" + m + "' must be lower-case letters, digits or "
                            + "dashes, e.g. h100");
                }
            }
            if (new java.util.HashSet<>(models).size() != models.size()) {
                throw new InvalidArgumentException("GPU models " + models + " repeat a model");
            }
            this.gpuVendor = vendor;
            this.gpuModels = List.copyOf(models);
            this.gpuUnits = units;
            return this;
        }

        /**
         * @param ram the GPU memory asked for, e.g. {@code 80Gi}, or null for any
         * @param iface {@code pcie} or {@code sxm}, or null for any
         * @return this builder
         */
        public Builder gpuDetails(String ram, String iface) {
            if (ram != null && !GPU_RAM.matcher(ram).matches()) {
                throw new InvalidArgumentException("GPU memory '" + ram + "' must be like 80Gi");
            }
            if (iface != null && !GPU_INTERFACES.contains(iface)) {
                throw new InvalidArgumentException("GPU interface '" + iface + "' must be pcie or sxm");
            }
            this.gpuRam = ram;
            this.gpuInterface = iface;
            return this;
        }

        /**
         * @param name the placement group's name (default {@code akash})
         * @return this builder
         */
        public Builder placement(String name) {
            InvalidArgumentException.requireNonNull(name, "placement name");
            if (!NAME.matcher(name).matches()) {
                throw new InvalidArgumentException("placement name '" + name + "' must be lower-case letters, digits "
                        + "or dashes, starting with a letter");
            }
            this.placement = name;
            return this;
        }

        /**
         * @param key   a provider attribute the placement requires, e.g. {@code region} or
         *              {@code capabilities/storage/1/class}
         * @param value the value it must have
         * @return this builder
         */
        public Builder attribute(String key, String value) {
            InvalidArgumentException.requireNonNull(key, "attribute key");
            requirePlainText(value, "attribute value");
            if (!ATTRIBUTE_KEY.matcher(key).matches()) {
                throw new InvalidArgumentException("attribute key '" + key + "' must start with a letter and hold "
                        + "letters, digits, _ . / -");
            }
            if (value.isEmpty() || value.length() > 256) {
                throw new InvalidArgumentException("attribute '" + key + "' needs a value of 1 to 256 characters");
            }
            attributes.put(key, value);
            return this;
        }

        /**
         * @param auditors Akash addresses of auditors any one of whom must have signed the provider's attributes
         * @return this builder
         */
        public Builder signedByAnyOf(String... auditors) {
            this.signedByAnyOf = addresses(auditors);
            return this;
        }

        /**
         * @param auditors Akash addresses of auditors all of whom must have signed the provider's attributes
         * @return this builder
         */
        public Builder signedByAllOf(String... auditors) {
            this.signedByAllOf = addresses(auditors);
            return this;
        }

        private static List<String> addresses(String... auditors) {
            InvalidArgumentException.requireNonNull(auditors, "auditors");
            for (String a : auditors) {
                if (a == null || !AKASH_ADDRESS.matcher(a).matches()) {
                    throw new InvalidArgumentException("auditor '" + a + "' is not an Akash address (akash1 and 38 "
                            + "bech32 characters)");
                }
            }
            return List.of(auditors);
        }

        /**
         * @param denomination {@code uakt} or {@code uact}, the denominations Akash's SDL accepts
         * @param amount       the most paid per block, in micro-units of the token, &ge; 0
         * @return this builder
         */
        public Builder maxPricePerBlock(String denomination, BigDecimal amount) {
            InvalidArgumentException.requireNonNull(denomination, "denomination");
            InvalidArgumentException.requireNonNull(amount, "price");
            if (!DENOMS.contains(denomination)) {
                throw new InvalidArgumentException("price denomination '" + denomination + "' is not one Akash's SDL "
                        + "accepts: use uakt or uact");
            }
            if (amount.signum() < 0 || amount.scale() > 18 || amount.precision() - amount.scale() > 30) {
                throw new InvalidArgumentException("price " + amount + " must be a non-negative amount with at most 30 "
                        + "integer and 18 decimal digits");
            }
            this.denom = denomination;
            this.maxPricePerBlock = amount.scale() < 0 ? amount.setScale(0) : amount;
            return this;
        }

        /**
         * @param instances how many instances of the node, 1 to 100 (Akash refuses fewer than 1)
         * @return this builder
         */
        public Builder count(int instances) {
            if (instances < 1 || instances > 100) {
                throw new InvalidArgumentException("count " + instances + " must be 1 to 100 (Akash requires at "
                        + "least 1)");
            }
            this.count = instances;
            return this;
        }

        /** @return the SDL */
        public AkashSdl build() {
            if (exposeAs == 0 && port == 80) {
                throw new InvalidArgumentException("port 80 exposed as itself is Akash's shared HTTP ingress: expose "
                        + "the node's port as another with exposeAs");
            }
            return new AkashSdl(this);
        }
    }
}
