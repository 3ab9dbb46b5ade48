package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import java.nio.charset.StandardCharsets;

/**
 * DSSE v1.0 pre-authentication encoding, the exact bytes every depin signature covers:
 * <pre>
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 * </pre>
 * where SP is one space (0x20) and LEN is the byte length as ASCII decimal with no
 * leading zeros. The payload type (e.g. {@code application/vnd.in-toto+json}) is inside
 * the signed bytes, which is depin's domain separation: a signature made over one type
 * can never verify as another.
 *
 * <pre>{@code
 * byte[] pae = Dsse.pae("http://example.com/HelloWorld", "hello world".getBytes(UTF_8));
 * // "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
 * }</pre>
 */
public final class Dsse {
    /** The in-toto payload type, used by receipts and wipe attestations. */
    public static final String IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

    private Dsse() {
    }

    /**
     * The pre-authentication encoding of a payload.
     *
     * @param payloadType the payload type (UTF-8); not {@code null}, not empty
     * @param payload     the payload bytes; not {@code null}
     * @return the bytes to sign or verify
     */
    public static byte[] pae(String payloadType, byte[] payload) {
        InvalidArgumentException.requireNonNull(payloadType, "payloadType");
        InvalidArgumentException.requireNonNull(payload, "payload");
        if (payloadType.isEmpty()) {
            throw new InvalidArgumentException("payloadType must not be empty: name the payload's media type");
        }
        byte[] type = payloadType.getBytes(StandardCharsets.UTF_8);
        byte[] head = ("DSSEv1 " + type.length + " ").getBytes(StandardCharsets.US_ASCII);
        byte[] mid = (" " + payload.length + " ").getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[head.length + type.length + mid.length + payload.length];
        int o = 0;
        System.arraycopy(head, 0, out, o, head.length);
        o += head.length;
        System.arraycopy(type, 0, out, o, type.length);
        o += type.length;
        System.arraycopy(mid, 0, out, o, mid.length);
        o += mid.length;
        System.arraycopy(payload, 0, out, o, payload.length);
        return out;
    }
}
