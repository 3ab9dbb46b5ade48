package dev.depin.crypto;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * An in-toto Statement v1 subject: a name and a map of digest algorithm to hex digest.
 *
 * @param name   the artifact's name
 * @param digest algorithm → lower-case hex (copied, sorted)
 */
public record Subject(String name, Map<String, String> digest) {
    /** Validates and copies. */
    public Subject {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(digest, "digest");
        if (digest.isEmpty()) {
            throw new IllegalArgumentException("subject '" + name + "' needs at least one digest");
        }
        digest = Collections.unmodifiableMap(new TreeMap<>(digest));
    }
}
