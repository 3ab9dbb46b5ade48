package dev.depin.capacity.spi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.depin.InvalidArgumentException;
import dev.depin.capacity.MarketApiException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The HTTP side every market's REST client shares: an API key in {@code x-api-key}, JSON both
 * ways, no redirects (a redirect would carry the key elsewhere), a deadline per request, and an
 * answer read to a bound before it is parsed, so a hostile or broken endpoint can neither make
 * the client hold unbounded memory nor put control characters into a message. What a status
 * means, and how the service wraps its data, stays in each market's client.
 */
public final class MarketHttp {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String market;
    private final String service;
    private final URI base;
    private final String apiKey;
    private final Duration timeout;
    private final int maxAnswerBytes;
    private final HttpClient http;

    /**
     * A parsed answer.
     *
     * @param status the HTTP status
     * @param json   the body, an empty object when there was none
     */
    public record Answer(int status, JsonNode json) {
        /** @return whether the status is 2xx */
        public boolean ok() {
            return status >= 200 && status <= 299;
        }
    }

    /**
     * A client of one service, its arguments validated.
     *
     * @param market         the market's name in exceptions ({@code "akash"})
     * @param service        the service's name in messages ({@code "Akash Console"})
     * @param base           the base address, http(s); a trailing slash is dropped
     * @param apiKey         the API key: printable ASCII, at most {@code maxKeyLength} characters
     * @param maxKeyLength   the longest key the service issues
     * @param whereToGetKey  what to do about a bad key, for the message
     * @param timeout        the longest one request may take; positive
     * @param maxAnswerBytes the largest answer read; larger ones are refused
     * @throws InvalidArgumentException on a null, a base that is not http(s), a malformed key or a
     *                                  non-positive timeout
     */
    public MarketHttp(String market, String service, URI base, String apiKey, int maxKeyLength, String whereToGetKey,
                      Duration timeout, int maxAnswerBytes) {
        this.market = InvalidArgumentException.requireNonNull(market, "market name");
        this.service = InvalidArgumentException.requireNonNull(service, "service name");
        InvalidArgumentException.requireNonNull(base, service + " base address");
        InvalidArgumentException.requireNonNull(apiKey, service + " API key");
        InvalidArgumentException.requireNonNull(timeout, "timeout");
        if (!("https".equals(base.getScheme()) || "http".equals(base.getScheme())) || base.getHost() == null) {
            throw new InvalidArgumentException(service + " base address '" + base + "' must be an http(s) URL");
        }
        if (apiKey.isBlank() || apiKey.length() > maxKeyLength || !apiKey.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new InvalidArgumentException("the " + service + " API key must be 1 to " + maxKeyLength
                    + " printable ASCII characters" + whereToGetKey);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new InvalidArgumentException("timeout " + timeout + " must be positive");
        }
        String b = base.toString();
        this.base = URI.create(b.endsWith("/") ? b.substring(0, b.length() - 1) : b);
        this.apiKey = apiKey;
        this.timeout = timeout;
        this.maxAnswerBytes = maxAnswerBytes;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** @return the base address, without a trailing slash */
    public URI base() {
        return base;
    }

    /**
     * Sends one request and parses the answer, whatever its status.
     *
     * @param method       the HTTP method
     * @param pathAndQuery what follows the base, starting with {@code /}
     * @param body         the JSON body, or {@code null} for none
     * @return the status and the parsed body
     * @throws MarketApiException when the service does not answer, answers more than the bound,
     *                            or answers with a body that is not JSON
     */
    public Answer call(String method, String pathAndQuery, JsonNode body) {
        String what = method + " " + pathAndQuery;
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(base + pathAndQuery)).timeout(timeout)
                .header("x-api-key", apiKey).header("Accept", "application/json");
        if (body != null) {
            byte[] bytes;
            try {
                bytes = JSON.writeValueAsBytes(body);
            } catch (IOException e) {
                throw new IllegalStateException("a JSON tree always serializes", e);
            }
            rb.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofByteArray(bytes));
        } else {
            rb.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpResponse<InputStream> resp;
        byte[] answer;
        try {
            resp = http.send(rb.build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = resp.body()) {
                answer = in.readNBytes(maxAnswerBytes + 1);
            }
        } catch (IOException e) {
            throw new MarketApiException(market, service + " did not answer " + what + ": " + e
                    + " -- check the network and the base address " + base, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MarketApiException(market, "interrupted during " + what, e);
        }
        int status = resp.statusCode();
        if (answer.length > maxAnswerBytes) {
            throw new MarketApiException(market, status, "oversized", service + "'s answer to " + what + " is over "
                    + maxAnswerBytes + " bytes: refused");
        }
        try {
            return new Answer(status, answer.length == 0 ? JSON.createObjectNode() : JSON.readTree(answer));
        } catch (IOException e) {
            throw new MarketApiException(market, status, "malformed", service + " answered " + what + " with status "
                    + status + " and a body that is not JSON: " + clip(new String(answer, 0, Math.min(answer.length,
                    200), StandardCharsets.UTF_8), 200));
        }
    }

    /**
     * A peer's text for a message: control characters replaced, cut to {@code max} characters.
     *
     * @param s   the text
     * @param max the most characters kept
     * @return the clipped text
     */
    public static String clip(String s, int max) {
        String t = s.replaceAll("\\p{Cntrl}", "?");
        return t.length() > max ? t.substring(0, max) + "…" : t;
    }
}
