package dev.depin.examples.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.depin.network.NetworkException;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A small read-only HTTP server for a node's or directory's operators: {@code GET /metrics}
 * in Prometheus' text format (version 0.0.4), and whatever other pages are added (the
 * dashboard). GET and HEAD only; one thread; request bodies are never read. It listens on
 * the process's {@code --host} (loopback by default): put it behind your scraper's network,
 * not on the internet.
 */
final class MetricsHttp implements AutoCloseable {
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    /** A page: its content type and a body made on each request. */
    record Page(String contentType, Supplier<byte[]> body) {
    }

    private final HttpServer server;
    private final ExecutorService threads;

    private MetricsHttp(HttpServer server, ExecutorService threads) {
        this.server = server;
        this.threads = threads;
    }

    /** @return a registry that renders Prometheus' text format */
    static PrometheusMeterRegistry registry() {
        return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    }

    /** @return the page {@code /metrics} serves for {@code registry} */
    static Page metrics(PrometheusMeterRegistry registry) {
        return new Page(PROMETHEUS_TEXT, () -> registry.scrape().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Starts serving.
     *
     * @param host  the interface
     * @param port  the port, 0 for any free one
     * @param pages path to page, e.g. {@code /metrics}
     * @return the server
     * @throws NetworkException if the port cannot be bound
     */
    static MetricsHttp start(String host, int port, Map<String, Page> pages) {
        HttpServer s;
        try {
            s = HttpServer.create(new InetSocketAddress(host, port), 16);
        } catch (IOException e) {
            throw new NetworkException("could not listen on " + host + ":" + port + " for HTTP: " + e.getMessage()
                    + " (is the port in use?)", e);
        }
        ExecutorService threads = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "depin-http");
            t.setDaemon(true);
            return t;
        });
        s.setExecutor(threads);
        s.createContext("/", exchange -> serve(exchange, pages));
        s.start();
        return new MetricsHttp(s, threads);
    }

    private static void serve(HttpExchange exchange, Map<String, Page> pages) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            Page page = pages.get(exchange.getRequestURI().getPath());
            byte[] body;
            int status;
            String type = "text/plain; charset=utf-8";
            if (!method.equals("GET") && !method.equals("HEAD")) {
                status = 405;
                exchange.getResponseHeaders().add("Allow", "GET, HEAD");
                body = "only GET and HEAD\n".getBytes(StandardCharsets.UTF_8);
            } else if (page == null) {
                status = 404;
                body = ("no such page; try " + String.join(", ", new java.util.TreeSet<>(pages.keySet())) + "\n")
                        .getBytes(StandardCharsets.UTF_8);
            } else {
                try {
                    body = page.body().get();
                    status = 200;
                    type = page.contentType();
                } catch (RuntimeException e) {
                    status = 500;
                    body = ("could not render the page: " + e.getMessage() + "\n").getBytes(StandardCharsets.UTF_8);
                }
            }
            exchange.getResponseHeaders().add("Content-Type", type);
            exchange.getResponseHeaders().add("Cache-Control", "no-store");
            exchange.getResponseHeaders().add("X-Content-Type-Options", "nosniff");
            if (method.equals("HEAD")) {
                exchange.sendResponseHeaders(status, -1);
                return;
            }
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** @return the port it listens on */
    int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
