package dev.depin.internal;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 through the JDK's (hardware-accelerated) {@link MessageDigest}. */
public final class Sha256 {
    private static final HexFormat HEX = HexFormat.of();

    private Sha256() {
    }

    /** @return a new SHA-256 digest; every JDK has one */
    public static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256, which every Java SE platform must provide", e);
        }
    }

    /** @return lower-case hex SHA-256 of {@code bytes} */
    public static String hex(byte[] bytes) {
        return HEX.formatHex(digest().digest(bytes));
    }
}
