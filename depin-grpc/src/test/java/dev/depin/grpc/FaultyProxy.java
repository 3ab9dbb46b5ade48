package dev.depin.grpc;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on loopback that breaks connections on purpose: it can reset the next
 * connections as soon as they are accepted (as a peer that is not there yet), cut each new
 * connection at random after a random number of bytes (half way through a TLS record or an
 * HTTP/2 frame, as a network that drops), or cut every open connection now. A cut is a TCP
 * reset on both sides. Decisions come from one {@link Random} with the seed it was given.
 */
final class FaultyProxy implements AutoCloseable {
    private final ServerSocket server;
    private volatile InetSocketAddress target;
    private final Random random;
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final AtomicInteger resetNext = new AtomicInteger();
    private final Thread acceptor;
    private volatile int delayedReads;
    private volatile long delayMillis;
    private volatile double dropChance;
    private volatile long maxBytesBeforeDrop;
    private volatile boolean closed;
    /** Connections accepted. */
    final AtomicInteger connections = new AtomicInteger();
    /** Connections cut on purpose (reset at accept, at random, or all at once). */
    final AtomicInteger cuts = new AtomicInteger();

    /**
     * A proxy that forwards nowhere yet: connections are refused (reset) until
     * {@link #forwardTo} names the target.
     *
     * @param seed seed of the proxy's random decisions
     * @throws IOException if no port can be bound
     */
    FaultyProxy(long seed) throws IOException {
        this.random = new Random(seed);
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = new Thread(this::acceptLoop, "faulty-proxy-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /**
     * @param port where to forward from now on, on 127.0.0.1
     * @return this proxy
     */
    FaultyProxy forwardTo(int port) {
        this.target = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        return this;
    }

    /** @return where buyers dial, {@code 127.0.0.1:port} */
    String address() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    /**
     * Resets the next {@code n} connections as soon as they are accepted.
     *
     * @param n how many
     */
    void resetNext(int n) {
        resetNext.set(n);
    }

    /**
     * From now on each new connection is, with probability {@code chance}, cut after a number
     * of bytes (both directions together) drawn uniformly below {@code maxBytes}.
     *
     * @param chance   probability per connection
     * @param maxBytes bound of the byte count
     */
    void dropAtRandom(double chance, long maxBytes) {
        this.maxBytesBeforeDrop = maxBytes;
        this.dropChance = chance;
    }

    /**
     * From now on the first {@code reads} reads of each new connection, in each direction,
     * are held for {@code millis} before they are passed on (a slow handshake); later
     * reads pass at once.
     *
     * @param reads  how many reads per direction are held
     * @param millis how long each is held
     */
    void delayFirstReads(int reads, long millis) {
        this.delayMillis = millis;
        this.delayedReads = reads;
    }

    /** Cuts every open connection now. */
    void cutAll() {
        for (Link l : links) {
            l.cut();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket down;
            try {
                down = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            connections.incrementAndGet();
            if (resetNext.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
                cuts.incrementAndGet();
                reset(down);
                continue;
            }
            long budget = Long.MAX_VALUE;
            synchronized (random) {
                if (random.nextDouble() < dropChance) {
                    budget = (long) (random.nextDouble() * maxBytesBeforeDrop);
                }
            }
            Socket up = new Socket();
            try {
                InetSocketAddress to = target;
                if (to == null) {
                    throw new IOException("no target yet");
                }
                up.connect(to, 5_000);
            } catch (IOException e) {
                reset(down); // nothing there: the buyer sees the connection refused
                reset(up);
                continue;
            }
            Link link = new Link(down, up, budget);
            links.add(link);
            link.start();
        }
    }

    private static void reset(Socket s) {
        try {
            s.setSoLinger(true, 0);
        } catch (SocketException ignored) {
            // already closed
        }
        try {
            s.close();
        } catch (IOException ignored) {
            // a reset is all we want
        }
    }

    /** One proxied connection: two pumps sharing one byte budget. */
    private final class Link {
        private final Socket down;
        private final Socket up;
        private final AtomicLong budget;
        private final AtomicBoolean over = new AtomicBoolean();

        Link(Socket down, Socket up, long budget) {
            this.down = down;
            this.up = up;
            this.budget = new AtomicLong(budget);
        }

        void start() {
            pump(down, up, "up");
            pump(up, down, "down");
        }

        private void pump(Socket from, Socket to, String way) {
            int held = delayedReads;
            long holdFor = delayMillis;
            Thread t = new Thread(() -> {
                byte[] buf = new byte[16 << 10];
                int reads = 0;
                try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        if (reads++ < held) {
                            Thread.sleep(holdFor);
                        }
                        long left = budget.getAndAdd(-n);
                        if (left < n) {
                            if (left > 0) {
                                out.write(buf, 0, (int) left); // half a frame, then the cut
                                out.flush();
                            }
                            cutOnPurpose();
                            return;
                        }
                        out.write(buf, 0, n);
                        out.flush();
                    }
                } catch (IOException e) {
                    // the other pump cut the link, or a peer went away
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                close();
            }, "faulty-proxy-" + way);
            t.setDaemon(true);
            t.start();
        }

        private void cutOnPurpose() {
            if (over.compareAndSet(false, true)) {
                cuts.incrementAndGet();
                reset(down);
                reset(up);
                links.remove(this);
            }
        }

        void cut() {
            cutOnPurpose();
        }

        /** An orderly end: one side closed, so the other is closed too. */
        private void close() {
            if (over.compareAndSet(false, true)) {
                try {
                    down.close();
                } catch (IOException ignored) {
                    // closing
                }
                try {
                    up.close();
                } catch (IOException ignored) {
                    // closing
                }
                links.remove(this);
            }
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        for (Link l : links) {
            l.close();
        }
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
