package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * An in-toto Statement v1 subject: a name and a map of digest algorithm to hex digest.
 *
 * @param name   the artifact's name
 * @param digest algorithm → lower-case hex (copied, sorted)
 */
public record Subject(String name, Map<String, String> digest) {
    /**
     * Validates and copies.
     *
     * @param name   the artifact's name
     * @param digest algorithm → lower-case hex (copied, sorted)
     */
    public Subject {
        InvalidArgumentException.requireNonNull(name, "name");
        InvalidArgumentException.requireNonNull(digest, "digest");
        if (digest.isEmpty()) {
            throw new InvalidArgumentException("subject '" + name + "' needs at least one digest");
        }
        digest = Collections.unmodifiableMap(new TreeMap<>(digest));
    }
}
