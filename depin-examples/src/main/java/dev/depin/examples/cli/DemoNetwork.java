package dev.depin.examples.cli;

import dev.depin.crypto.KeyPem;
import dev.depin.crypto.NodeId;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.ExecutorRegistry;
import dev.depin.executor.spi.DeviceExecutor;
import dev.depin.executor.spi.ExecutorOptions;
import dev.depin.grpc.GrpcNetwork;
import dev.depin.job.JobHandle;
import dev.depin.job.Requirements;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.money.MicroUsd;
import dev.depin.money.Price;
import dev.depin.network.NetworkException;
import dev.depin.network.spi.ComputeNetwork;
import dev.depin.network.spi.OfferQuery;
import dev.depin.node.LocalNetwork;
import dev.depin.node.ProviderNode;
import dev.depin.provider.ProviderOffer;
import dev.depin.provider.Region;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Where the demo's providers run, behind one seam so that the demo's job loop and summary
 * are the same for both: {@link #local} keeps every provider in this JVM on a
 * {@link LocalNetwork}; {@link #grpc} starts a directory and one node per provider as child
 * processes ({@code depin directory} and {@code depin node}, with this JVM's java and class
 * path) and reaches them through a {@link GrpcNetwork} over loopback mutual TLS, and can
 * kill one of them with SIGKILL mid-run.
 */
abstract class DemoNetwork implements AutoCloseable {
    /** The network's name for {@code --network}. */
    enum Kind {
        grpc, local
    }

    /** One provider the demo wants: its identity, terms and executor. */
    record Provider(NodeKeyPair key, Region region, Price price, MicroUsd stake, int threads, double dishonest,
                    long seed, dev.depin.provider.SlaTerms sla) {
    }

    /** @return the network the buyer's client uses */
    abstract ComputeNetwork network();

    /** @return each provider's offer, in the order the providers were given */
    abstract List<ProviderOffer> offers();

    /**
     * Kills one honest provider, as a crash would, once {@code after} of the jobs in {@code handles}
     * have ended; {@code total} is how many jobs the run submits in all (for the message).
     *
     * @return what was done, once done; empty if this network does not inject faults
     */
    abstract CompletableFuture<String> killOneHonestAfter(List<JobHandle> handles, int after, int total);

    /** @return how many providers will still be serving at the end of the run */
    abstract int survivors();

    @Override
    public abstract void close();

    /**
     * Starts the demo's providers.
     *
     * @param kind      in this JVM or as {@code depin node} processes over gRPC
     * @param providers who they are
     * @param out       where to say what happens
     * @param ledgerKey the settlement ledger's key: every node admits only jobs with its hold
     *                  certificate (a private network)
     * @return the network
     */
    static DemoNetwork start(Kind kind, List<Provider> providers, PrintStream out, dev.depin.crypto.NodePublicKey ledgerKey) {
        return kind == Kind.local ? new Local(providers, ledgerKey) : new Grpc(providers, out, ledgerKey);
    }

    /**
     * The providers already listed in a running directory ({@code depin demo --directory}): the
     * demo starts none, kills none, and sends its jobs to what the directory lists.
     *
     * @param directory the directory's {@code host:port}
     * @param out       where to say what was found
     * @return the network
     * @throws dev.depin.DepinException if the address is malformed or the directory lists no provider
     */
    static DemoNetwork attach(String directory, PrintStream out) {
        return new Attached(directory, out);
    }

    /** Providers someone else runs, found in their directory. */
    private static final class Attached extends DemoNetwork {
        private static final long LOOKUP_TIMEOUT_S = 30;
        private final GrpcNetwork network;
        private final List<ProviderOffer> offers;

        Attached(String directory, PrintStream out) {
            GrpcNetwork net = GrpcNetwork.builder().directory(directory).build();
            try {
                List<ProviderOffer> found = List.of();
                String lastError = "";
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(LOOKUP_TIMEOUT_S);
                while (found.isEmpty() && System.nanoTime() < until) {
                    try {
                        found = net.offers(new OfferQuery(BuiltinKernel.SGEMM.id(), Requirements.ANY, 1000)).join();
                    } catch (RuntimeException e) {
                        lastError = ": " + Grpc.rootMessage(e);
                    }
                    if (found.isEmpty()) {
                        Grpc.sleep(200);
                    }
                }
                if (found.isEmpty()) {
                    throw new NetworkException("the directory at " + directory + " lists no provider that runs sgemm "
                            + "after " + LOOKUP_TIMEOUT_S + " s" + lastError + " -- start one with depin node "
                            + "--directory " + directory);
                }
                this.offers = found.stream().sorted(Comparator.comparing(o -> o.nodeId().hex())).toList();
            } catch (RuntimeException e) {
                net.close();
                throw e;
            }
            this.network = net;
            out.printf("found %d provider node(s) in the directory at %s%n", offers.size(), directory);
        }

        @Override
        ComputeNetwork network() {
            return network;
        }

        @Override
        List<ProviderOffer> offers() {
            return offers;
        }

        @Override
        CompletableFuture<String> killOneHonestAfter(List<JobHandle> handles, int after, int total) {
            return CompletableFuture.completedFuture("");
        }

        @Override
        int survivors() {
            return offers.size();
        }

        @Override
        public void close() {
            network.close();
        }
    }

    /** Every provider in this JVM: the in-process pool. */
    private static final class Local extends DemoNetwork {
        private final List<ProviderNode> nodes = new ArrayList<>();
        private final LocalNetwork network;

        Local(List<Provider> providers, dev.depin.crypto.NodePublicKey ledgerKey) {
            for (int i = 0; i < providers.size(); i++) {
                Provider p = providers.get(i);
                DeviceExecutor executor = ExecutorRegistry.createBest(ExecutorOptions.threads(p.threads()));
                if (p.dishonest() > 0) {
                    executor = new DishonestExecutor(executor, p.dishonest(), p.seed());
                }
                // Single envelopes per job (receiptBatching(0)): the demo's evidence is re-checked
                // by verify_receipt.py, which reads single receipt envelopes.
                nodes.add(ProviderNode.builder(p.key(), executor).region(p.region()).price(p.price())
                        .stake(p.stake()).sla(p.sla()).endpoint("local:provider-" + (i + 1)).receiptBatching(0)
                        .requireHoldCertificates(ledgerKey).build());
            }
            network = LocalNetwork.of(nodes);
        }

        @Override
        ComputeNetwork network() {
            return network;
        }

        @Override
        List<ProviderOffer> offers() {
            return nodes.stream().map(ProviderNode::offer).toList();
        }

        @Override
        CompletableFuture<String> killOneHonestAfter(List<JobHandle> handles, int after, int total) {
            return CompletableFuture.completedFuture("");
        }

        @Override
        int survivors() {
            return nodes.size();
        }

        @Override
        public void close() {
            network.close();
        }
    }

    /** A directory and a node per provider, each a child JVM; the buyer reaches them over gRPC. */
    private static final class Grpc extends DemoNetwork {
        private static final Pattern ADDRESS = Pattern.compile(" on (\\S+:\\d+) ");
        /** The directory forgets a killed node this long after its last heartbeat. */
        private static final String TTL = "4s";
        private static final String RENEW = "1s";
        private static final long START_TIMEOUT_S = 120;
        private static final int MIN_TO_KILL = 4;

        private final Path work;
        private final List<Child> children = new ArrayList<>();
        private final Thread reaper = new Thread(this::destroyAll, "depin-demo-reaper");
        private final List<Provider> providers;
        private final List<ProviderOffer> offers = new ArrayList<>();
        private final GrpcNetwork network;
        private final int victim;

        private record Child(String name, Process process, Path log) {
        }

        Grpc(List<Provider> providers, PrintStream out, dev.depin.crypto.NodePublicKey ledgerKey) {
            this.providers = providers;
            // The victim is the last honest provider, and only if another honest one and three in
            // all remain: a redundant(3) round that loses its replica on the victim still has a
            // strict majority of two, and any job finds enough untried providers for its next round.
            int honest = (int) providers.stream().filter(p -> p.dishonest() == 0).count();
            int v = -1;
            for (int i = 0; i < providers.size() && honest >= 2 && providers.size() >= MIN_TO_KILL; i++) {
                if (providers.get(i).dishonest() == 0) {
                    v = i;
                }
            }
            this.victim = v;
            long t0 = System.nanoTime();
            try {
                work = Files.createTempDirectory("depin-demo-");
            } catch (IOException e) {
                throw new NetworkException("cannot create a temporary directory for the demo's keys: " + e, e);
            }
            Runtime.getRuntime().addShutdownHook(reaper);
            GrpcNetwork net = null;
            try {
                NodeKeyPair dirKey = NodeKeyPair.generate();
                Path dirKeyFile = work.resolve("directory.key");
                KeyPem.save(dirKeyFile, dirKey, null);
                Child dir = spawn("directory", List.of("directory", "--port", "0", "--key", dirKeyFile.toString(),
                        "--ttl", TTL));
                String dirAddress = address(dir);
                List<Child> nodes = new ArrayList<>();
                for (int i = 0; i < providers.size(); i++) {
                    Provider p = providers.get(i);
                    Path keyFile = work.resolve("provider-" + (i + 1) + ".key");
                    KeyPem.save(keyFile, p.key(), null);
                    List<String> args = new ArrayList<>(List.of("node", "--port", "0", "--key", keyFile.toString(),
                            "--directory", dirAddress, "--renew", RENEW, "--threads", String.valueOf(p.threads()),
                            "--region", p.region().toString(),
                            "--price-per-second", p.price().perDeviceSecond().toUsd().toPlainString(),
                            "--price-per-gb", p.price().perGigabyte().toUsd().toPlainString(),
                            "--stake", p.stake().toUsd().toPlainString(),
                            "--ledger-key", dev.depin.crypto.Hex.encode(ledgerKey.raw())));
                    if (p.sla() != null) {
                        args.addAll(SlaOptions.args(p.sla()));
                    }
                    if (p.dishonest() > 0) {
                        args.addAll(List.of("--dishonest", String.valueOf(p.dishonest()), "--dishonest-seed",
                                String.valueOf(p.seed())));
                    }
                    nodes.add(spawn("provider-" + (i + 1), args));
                }
                for (Child c : nodes) {
                    address(c);
                }
                net = GrpcNetwork.builder().directory(dirAddress, dirKey.publicKey()).build();
                this.network = net;
                awaitListings();
            } catch (RuntimeException e) {
                if (net != null) {
                    net.close();
                }
                destroyAll();
                removeHook();
                throw e;
            }
            out.printf("started a directory and %d provider nodes as child processes (depin directory, depin node), "
                    + "on loopback with mutual TLS 1.3, in %.1f s%n", providers.size(), (System.nanoTime() - t0) / 1e9);
        }

        private Child spawn(String name, List<String> args) {
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            // Five JVMs start at once on what may be two cores: the first JIT tier only (no C2
            // compiler threads competing for them) starts each in about half the time, and the
            // demo's jobs are small. A GPU node's kernels do not depend on the JIT at all.
            cmd.addAll(List.of("-Xmx512m", "-XX:+UseSerialGC", "-Xss512k", "-XX:TieredStopAtLevel=1"));
            // Settings such as -Ddepin.cuda.disabled=true travel to the nodes.
            System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("depin.")).sorted()
                    .forEach(k -> cmd.add("-D" + k + "=" + System.getProperty(k)));
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), DepinCli.class.getName()));
            cmd.addAll(args);
            cmd.add("--stop-on-stdin-eof");
            Path log = work.resolve(name + ".log");
            try {
                Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
                Child c = new Child(name, p, log);
                synchronized (children) {
                    children.add(c);
                }
                return c;
            } catch (IOException e) {
                throw new NetworkException("cannot start the demo's " + name + " (" + String.join(" ", cmd) + "): " + e, e);
            }
        }

        /** Reads the child's one line and returns the address in it; the rest of its output is drained. */
        private String address(Child c) {
            CompletableFuture<String> line = new CompletableFuture<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(c.process().getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String l;
                    while ((l = r.readLine()) != null) {
                        if (!line.isDone() && l.startsWith("depin ")) {
                            line.complete(l);
                        }
                    }
                } catch (IOException ignored) {
                    // The child is gone: handled below.
                }
                line.complete(null);
            }, "depin-demo-" + c.name());
            reader.setDaemon(true);
            reader.start();
            String l;
            try {
                l = line.get(START_TIMEOUT_S, TimeUnit.SECONDS);
            } catch (Exception e) {
                l = null;
            }
            Matcher m = l == null ? null : ADDRESS.matcher(l);
            if (m == null || !m.find()) {
                throw new NetworkException("the demo's " + c.name() + " did not start"
                        + (c.process().isAlive() ? " within " + START_TIMEOUT_S + " s" : " (exit status "
                        + c.process().exitValue() + ")") + ": " + tail(c.log()) + " -- try --network local");
            }
            return m.group(1);
        }

        private static String tail(Path log) {
            try {
                List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
                return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
            } catch (IOException e) {
                return "(no log)";
            }
        }

        /** Waits until the directory lists every node, and keeps their offers in provider order. */
        private void awaitListings() {
            Map<NodeId, Integer> index = new HashMap<>();
            for (int i = 0; i < providers.size(); i++) {
                index.put(providers.get(i).key().nodeId(), i);
            }
            OfferQuery q = new OfferQuery(BuiltinKernel.SGEMM.id(), Requirements.ANY, 1000);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_TIMEOUT_S);
            List<ProviderOffer> got = List.of();
            String lastError = "";
            while (System.nanoTime() < until) {
                try {
                    got = network.offers(q).join().stream().filter(o -> index.containsKey(o.nodeId())).toList();
                } catch (RuntimeException e) {
                    // A directory still warming up may miss a deadline: ask again.
                    lastError = " (last answer: " + e.getMessage() + ")";
                }
                if (got.size() == providers.size()) {
                    break;
                }
                sleep(100);
            }
            if (got.size() != providers.size()) {
                throw new NetworkException("the demo's directory lists " + got.size() + " of " + providers.size()
                        + " provider nodes after " + START_TIMEOUT_S + " s" + lastError + " -- try --network local");
            }
            offers.addAll(got.stream().sorted(Comparator.comparingInt(o -> index.get(o.nodeId()))).toList());
        }

        @Override
        ComputeNetwork network() {
            return network;
        }

        @Override
        List<ProviderOffer> offers() {
            return List.copyOf(offers);
        }

        @Override
        CompletableFuture<String> killOneHonestAfter(List<JobHandle> handles, int after, int total) {
            if (victim < 0) {
                return CompletableFuture.completedFuture("no provider killed: that needs " + MIN_TO_KILL
                        + " providers, two of them honest");
            }
            CompletableFuture<String> done = new CompletableFuture<>();
            AtomicInteger ended = new AtomicInteger();
            for (JobHandle h : handles) {
                h.resultAsync().whenComplete((r, t) -> {
                    int n = ended.incrementAndGet();
                    if (n == Math.max(1, Math.min(after, handles.size()))) {
                        // Off the engine's thread: killing waits for the process to go.
                        CompletableFuture.runAsync(() -> done.complete(kill(n, total)));
                    }
                });
            }
            return done;
        }

        private String kill(int ended, int total) {
            Child c = children.get(victim + 1); // children[0] is the directory
            c.process().destroyForcibly(); // SIGKILL: no goodbye to buyers or the directory
            try {
                c.process().waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return "killed provider " + (victim + 1) + " (" + providers.get(victim).key().nodeId().shortId()
                    + ") with SIGKILL after " + ended + " of " + total + " jobs had ended; its attempts were "
                    + "rescheduled on the others";
        }

        @Override
        int survivors() {
            return providers.size() - (victim < 0 ? 0 : 1);
        }

        @Override
        public void close() {
            try {
                network.close();
            } finally {
                destroyAll();
                removeHook();
            }
        }

        private void removeHook() {
            try {
                Runtime.getRuntime().removeShutdownHook(reaper);
            } catch (IllegalStateException shuttingDown) {
                // The hook is running or about to: it does the same.
            }
        }

        /** Asks every child to stop (SIGTERM), kills what is left after 5 s, and deletes the keys. */
        private void destroyAll() {
            List<Child> all;
            synchronized (children) {
                all = new ArrayList<>(children);
            }
            for (Child c : all) {
                c.process().destroy();
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            for (Child c : all) {
                try {
                    long left = until - System.nanoTime();
                    if (left <= 0 || !c.process().waitFor(left, TimeUnit.NANOSECONDS)) {
                        c.process().destroyForcibly();
                        c.process().waitFor(5, TimeUnit.SECONDS);
                    }
                } catch (InterruptedException e) {
                    c.process().destroyForcibly();
                    Thread.currentThread().interrupt();
                }
            }
            try (Stream<Path> s = Files.walk(work)) {
                s.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            } catch (IOException ignored) {
                // Best effort: only throwaway keys live there.
            }
        }

        static String rootMessage(Throwable t) {
            while (t.getCause() != null && t.getCause() != t) {
                t = t.getCause();
            }
            return String.valueOf(t.getMessage());
        }

        static void sleep(long ms) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new NetworkException("interrupted while waiting for the demo's nodes", e);
            }
        }
    }
}
