package dev.depin.benchmarks.grpc;

import dev.depin.crypto.ExecutionReceipt;
import dev.depin.crypto.Hex;
import dev.depin.crypto.Merkle;
import dev.depin.crypto.NodeKeyPair;
import dev.depin.executor.CpuExecutor;
import dev.depin.grpc.ProviderServer;
import dev.depin.grpc.internal.NodeTls;
import dev.depin.grpc.internal.RemoteAttempt;
import dev.depin.grpc.internal.Wire;
import dev.depin.grpc.internal.wire.ExecuteRequest;
import dev.depin.grpc.internal.wire.ExecuteResponse;
import dev.depin.grpc.internal.wire.ProviderGrpc;
import dev.depin.job.Job;
import dev.depin.job.JobSpec;
import dev.depin.kernel.BuiltinKernel;
import dev.depin.network.spi.ExecutionRequest;
import dev.depin.network.spi.ExecutionResponse;
import dev.depin.node.ProviderNode;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.grpc.stub.ClientResponseObserver;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Bulk output streaming over mutual TLS 1.3 with the Merkle root computed on arrival, beside
 * a bare TLS stream of the same bytes, in one run, client and server in one JVM on loopback.
 *
 * <p>The streamed path is the real one: a job whose output is large and whose inputs are small
 * (SGEMM with k = 1: {@code c[m,n] = a[m,1] * b[1,n]}, 4 m n output bytes from 4 (m + n) input
 * bytes) runs on a {@link ProviderServer}; the provider sends the output under gRPC flow control
 * in {@link Wire#CHUNK_BYTES} messages; the buyer's {@link RemoteAttempt} (as
 * {@code GrpcNetwork} uses it, on a channel configured the same way) assembles it and hashes
 * it on arrival. The time is from the first output message's arrival to the moment the last
 * one is assembled and hashed; the output's root is checked against the provider's receipt.
 *
 * <p>Baselines, same bytes, same JVM: a bare Netty TLS 1.3 stream with the node contexts gRPC
 * uses ({@link NodeTls}: OpenSSL where netty-tcnative loads, JSSE otherwise), and, with the
 * same P-256 certificates through JSSE, a bare TLS socket stream (the server writes the bytes in chunks of the same size, the
 * client reads them and does nothing else), and the same stream with the client computing the
 * same Merkle root as it reads; plus the Merkle root of the bytes in memory on one thread.
 *
 * <p>Run: {@code java -Xmx2g -cp depin-benchmarks/target/benchmarks.jar
 * dev.depin.benchmarks.grpc.BulkOutputBenchmark [side] [repetitions]} (default side 4096:
 * 64 MiB per stream; 8 repetitions after 3 warm-ups; about a minute).
 */
public final class BulkOutputBenchmark {
    private BulkOutputBenchmark() {
    }

    /**
     * Runs every measurement and prints one table.
     *
     * @param args optional: side of the output matrix (bytes = 4 side²), repetitions
     * @throws Exception if a stream fails or a root does not match
     */
    public static void main(String[] args) throws Exception {
        int side = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        long bytes = 4L * side * side;
        System.out.printf(Locale.ROOT, "bulk output benchmark: %d MiB per stream, %d KiB chunks, %d repetitions "
                        + "after 3 warm-ups, %d cores, %s%n", bytes >> 20, Wire.CHUNK_BYTES >> 10, reps,
                Runtime.getRuntime().availableProcessors(), Runtime.version());
        SplittableRandom rnd = new SplittableRandom(20261128L);
        NodeKeyPair providerKey = NodeKeyPair.generate();
        NodeKeyPair buyerKey = NodeKeyPair.generate();

        double[] grpc = new double[reps];
        try (ProviderServer server = ProviderServer.builder(ProviderNode.builder(providerKey, new CpuExecutor(2))
                .build(), providerKey).start()) {
            ManagedChannel channel = NettyChannelBuilder.forTarget(server.address())
                    .sslContext(NodeTls.client(NodeTls.identity(buyerKey), providerKey.publicKey()))
                    .flowControlWindow(Wire.FLOW_CONTROL_WINDOW)
                    .maxInboundMessageSize(Wire.MAX_MESSAGE_BYTES).build();
            try {
                for (int i = -3; i < reps; i++) {
                    double s = grpcStream(channel, server, side, rnd);
                    if (i >= 0) {
                        grpc[i] = s;
                    }
                }
            } finally {
                channel.shutdownNow();
                channel.awaitTermination(5, TimeUnit.SECONDS);
            }
        }

        byte[] data = new byte[(int) bytes];
        rnd.nextBytes(data);
        byte[] expectedRoot = Merkle.root(data, JobSpec.MERKLE_CHUNK_BYTES);
        double[] bare = new double[reps];
        double[] bareHashed = new double[reps];
        double[] memory = new double[reps];
        double[] netty = new double[reps];
        // One identity per side: each NodeTls.identity makes a fresh TLS key, which the other side pins.
        NodeTls.Identity provider = NodeTls.identity(providerKey);
        NodeTls.Identity buyer = NodeTls.identity(buyerKey);
        SslContext nettyServer = NodeTls.server(provider);
        SslContext nettyClient = NodeTls.client(buyer, providerKey.publicKey());
        SSLContext serverTls = tls(provider, buyer);
        SSLContext clientTls = tls(buyer, provider);
        for (int i = -3; i < reps; i++) {
            double a = bareTls(serverTls, clientTls, data, null);
            double b = bareTls(serverTls, clientTls, data, expectedRoot);
            long t0 = System.nanoTime();
            byte[] root = Merkle.root(data, JobSpec.MERKLE_CHUNK_BYTES);
            double c = (System.nanoTime() - t0) / 1e9;
            double d = bareNetty(nettyServer, nettyClient, data);
            if (!MessageDigest.isEqual(root, expectedRoot)) {
                throw new IllegalStateException("Merkle root changed between runs");
            }
            if (i >= 0) {
                bare[i] = a;
                bareHashed[i] = b;
                memory[i] = c;
                netty[i] = d;
            }
        }
        System.out.printf(Locale.ROOT, "%-58s %12s %12s%n", "", "median MB/s", "best MB/s");
        row("bare TLS 1.3 stream (Netty, " + NodeTls.provider() + ", node certs), no hashing", bytes, netty);
        row("bare TLS 1.3 stream (JSSE socket), no hashing", bytes, bare);
        row("bare TLS 1.3 stream + Merkle root on arrival", bytes, bareHashed);
        row("Merkle root in memory, one thread", bytes, memory);
        row("gRPC Execute output stream + Merkle root on arrival", bytes, grpc);
        System.out.printf(Locale.ROOT, "gRPC path vs bare Netty TLS as gRPC uses it (speed ratio of medians): %.2f, "
                        + "vs bare JSSE: %.2f, vs bare JSSE + Merkle: %.2f; goal >= 1000 MB/s: %s%n",
                median(netty) / median(grpc), median(bare) / median(grpc), median(bareHashed) / median(grpc),
                bytes / median(grpc) / 1e6 >= 1000 ? "met" : "not met");
    }

    /** One job; seconds from the first output message to the last one assembled and hashed. */
    private static double grpcStream(ManagedChannel channel, ProviderServer server, int side, SplittableRandom rnd)
            throws Exception {
        float[] a = new float[side];
        float[] b = new float[side];
        for (int i = 0; i < side; i++) {
            a[i] = (float) rnd.nextDouble(-1, 1);
            b[i] = (float) rnd.nextDouble(-1, 1);
        }
        Job job = Job.builder(BuiltinKernel.SGEMM).param("m", side).param("k", 1).param("n", side)
                .input("a", a).input("b", b).build();
        byte[] nonce = new byte[ExecutionRequest.NONCE_BYTES];
        new SecureRandom().nextBytes(nonce);
        String id = String.format(Locale.ROOT, "%016x%016x", rnd.nextLong(), rnd.nextLong());
        RemoteAttempt attempt = new RemoteAttempt(server.nodeId(), new ExecutionRequest(id, 1, job.spec(),
                job.inputs(), nonce), p -> { });
        Timed timed = new Timed(attempt);
        ProviderGrpc.newStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS).execute(timed);
        ExecutionResponse r = attempt.dispatch().response().get(60, TimeUnit.SECONDS);
        ExecutionReceipt receipt = r.receipt() != null ? ExecutionReceipt.readUnverified(r.receipt())
                : r.batched().readReceiptUnverified(); // nodes batch receipts by default now
        String expected = receipt.outputs().get(0).merkleRoot();
        if (!expected.equals(Hex.encode(r.outputs().get("c").merkleRoot()))) {
            throw new IllegalStateException("the root computed on arrival is not the receipt's");
        }
        if (r.outputs().get("c").bytes() != 4L * side * side || timed.bytes != 4L * side * side) {
            throw new IllegalStateException("received " + timed.bytes + " output bytes, not " + 4L * side * side);
        }
        // Let the provider finish its wipe and close the stream before the next job.
        attempt.released().get(60, TimeUnit.SECONDS);
        return (timed.last - timed.first) / 1e9;
    }

    /** Records when the first output message arrived and when the last one was assembled. */
    private static final class Timed implements ClientResponseObserver<ExecuteRequest, ExecuteResponse> {
        private final RemoteAttempt inner;
        private long first;
        private long last;
        private long bytes;

        Timed(RemoteAttempt inner) {
            this.inner = inner;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<ExecuteRequest> stream) {
            inner.beforeStart(stream);
        }

        @Override
        public void onNext(ExecuteResponse m) {
            boolean output = m.getKindCase() == ExecuteResponse.KindCase.OUTPUT;
            if (output && first == 0) {
                first = System.nanoTime();
            }
            inner.onNext(m);
            if (output) {
                last = System.nanoTime();
                bytes += m.getOutput().getData().size();
            }
        }

        @Override
        public void onError(Throwable t) {
            inner.onError(t);
        }

        @Override
        public void onCompleted() {
            inner.onCompleted();
        }
    }

    /** A TLS 1.3 context presenting {@code self} and accepting only {@code peer}'s key, as the nodes pin keys. */
    private static SSLContext tls(NodeTls.Identity self, NodeTls.Identity peer) throws Exception {
        char[] pw = "bench".toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("self", self.tls().getPrivate(), pw, new Certificate[] {self.certificate()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pw);
        SSLContext ctx = SSLContext.getInstance(NodeTls.PROTOCOL);
        ctx.init(kmf.getKeyManagers(), new TrustManager[] {new Pinned(peer.certificate().getPublicKey().getEncoded())},
                new SecureRandom());
        return ctx;
    }

    /** Accepts exactly one certificate whose key is the pinned one (no host names: the key is the identity). */
    private static final class Pinned extends X509ExtendedTrustManager {
        private final byte[] key;

        Pinned(byte[] key) {
            this.key = key;
        }

        private void check(X509Certificate[] chain) throws CertificateException {
            if (chain == null || chain.length != 1
                    || !MessageDigest.isEqual(key, chain[0].getPublicKey().getEncoded())) {
                throw new CertificateException("not the pinned key");
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    /**
     * One bare TLS stream of {@code data}: seconds from the first byte read to the last;
     * when {@code root} is given, the reader computes the Merkle root as the bytes arrive.
     */
    private static double bareTls(SSLContext serverTls, SSLContext clientTls, byte[] data, byte[] root)
            throws Exception {
        try (SSLServerSocket ss = (SSLServerSocket) serverTls.getServerSocketFactory().createServerSocket(0, 1,
                java.net.InetAddress.getLoopbackAddress())) {
            ss.setEnabledProtocols(new String[] {NodeTls.PROTOCOL});
            ss.setNeedClientAuth(true);
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
                try (SSLSocket s = (SSLSocket) ss.accept(); OutputStream out = s.getOutputStream()) {
                    s.setTcpNoDelay(true);
                    for (int off = 0; off < data.length; off += Wire.CHUNK_BYTES) {
                        out.write(data, off, Math.min(Wire.CHUNK_BYTES, data.length - off));
                    }
                    out.flush();
                    s.getInputStream().read(); // wait for the reader's last byte before closing
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            try (SSLSocket s = (SSLSocket) clientTls.getSocketFactory().createSocket(ss.getInetAddress(),
                    ss.getLocalPort())) {
                s.setEnabledProtocols(new String[] {NodeTls.PROTOCOL});
                s.setTcpNoDelay(true);
                s.startHandshake();
                InputStream in = s.getInputStream();
                byte[] buf = new byte[Wire.CHUNK_BYTES];
                Merkle.Builder merkle = root == null ? null : Merkle.builder(JobSpec.MERKLE_CHUNK_BYTES);
                long got = 0;
                long first = 0;
                while (got < data.length) {
                    int n = in.read(buf);
                    if (n < 0) {
                        throw new IllegalStateException("stream ended after " + got + " bytes");
                    }
                    if (first == 0) {
                        first = System.nanoTime();
                    }
                    if (merkle != null) {
                        merkle.update(buf, 0, n);
                    }
                    got += n;
                }
                long last = System.nanoTime();
                if (merkle != null && !MessageDigest.isEqual(merkle.root(), root)) {
                    throw new IllegalStateException("the root computed on arrival is wrong");
                }
                s.getOutputStream().write(1);
                s.getOutputStream().flush();
                sent.get(60, TimeUnit.SECONDS);
                return (last - first) / 1e9;
            }
        }
    }

    /**
     * One bare TLS stream of {@code data} through Netty with the node contexts gRPC uses
     * ({@link NodeTls#server}, {@link NodeTls#client}: OpenSSL where it loads): the server
     * writes {@link Wire#CHUNK_BYTES} slices, the client counts them; seconds from the first
     * byte read to the last.
     */
    private static double bareNetty(SslContext serverTls, SslContext clientTls, byte[] data) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        try {
            Channel server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            SslHandler tls = serverTls.newHandler(ch.alloc());
                            ch.pipeline().addLast(tls);
                            tls.handshakeFuture().addListener(f -> {
                                if (f.isSuccess()) {
                                    for (int off = 0; off < data.length; off += Wire.CHUNK_BYTES) {
                                        ch.write(Unpooled.wrappedBuffer(data, off,
                                                Math.min(Wire.CHUNK_BYTES, data.length - off)));
                                    }
                                    ch.flush();
                                }
                            });
                        }
                    }).bind(java.net.InetAddress.getLoopbackAddress(), 0).sync().channel();
            CompletableFuture<long[]> done = new CompletableFuture<>();
            Channel client = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(clientTls.newHandler(ch.alloc()), new ChannelInboundHandlerAdapter() {
                                private long got;
                                private long first;

                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    ByteBuf b = (ByteBuf) msg;
                                    try {
                                        if (first == 0) {
                                            first = System.nanoTime();
                                        }
                                        got += b.readableBytes();
                                        if (got >= data.length) {
                                            done.complete(new long[] {first, System.nanoTime(), got});
                                        }
                                    } finally {
                                        b.release();
                                    }
                                }

                                @Override
                                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                    done.completeExceptionally(cause);
                                    ctx.close();
                                }
                            });
                        }
                    }).connect(server.localAddress()).sync().channel();
            long[] t = done.get(120, TimeUnit.SECONDS);
            if (t[2] != data.length) {
                throw new IllegalStateException("received " + t[2] + " bytes, not " + data.length);
            }
            client.close().sync();
            server.close().sync();
            return (t[1] - t[0]) / 1e9;
        } finally {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
        }
    }

    private static double median(double[] seconds) {
        double[] s = seconds.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static void row(String name, long bytes, double[] seconds) {
        double best = Arrays.stream(seconds).min().orElseThrow();
        System.out.printf(Locale.ROOT, "%-58s %12.0f %12.0f%n", name, bytes / median(seconds) / 1e6,
                bytes / best / 1e6);
    }
}
