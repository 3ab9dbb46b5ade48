package dev.depin.crypto;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EnvelopeTest {
    private static final String TYPE = "http://example.com/HelloWorld";
    private static final byte[] BODY = "hello world".getBytes(StandardCharsets.UTF_8);
    private final NodeKeyPair alice = NodeKeyPair.generate(new SecureRandom());
    private final NodeKeyPair bob = NodeKeyPair.generate(new SecureRandom());

    @Test
    void sign_thenJsonRoundTrip_verifies() {
        Envelope env = Envelope.sign(TYPE, BODY, alice);
        String json = env.toJson();
        assertTrue(json.startsWith("{\"payload\":\"" + Base64.getEncoder().encodeToString(BODY) + "\",\"payloadType\":"), json);
        Envelope back = Envelope.parse(json);
        assertEquals(env, back);
        back.verify(TYPE, alice.publicKey());
        assertEquals(Set.of(alice.nodeId()), back.verify(TYPE, List.of(alice.publicKey(), bob.publicKey())));
        assertEquals(alice.nodeId().hex(), back.signatures().get(0).keyid());
    }

    @Test
    void verify_signatureCoversPae_matchesDirectVerification() {
        Envelope env = Envelope.sign(TYPE, BODY, alice);
        alice.publicKey().verify(Dsse.pae(TYPE, BODY), env.signatures().get(0).sig());
    }

    @Test
    void addSignature_twoSigners_bothVerify() {
        Envelope env = Envelope.sign(TYPE, BODY, alice).addSignature(bob);
        Envelope back = Envelope.parse(env.toJsonBytes());
        assertEquals(Set.of(alice.nodeId(), bob.nodeId()), back.verify(TYPE, List.of(alice.publicKey(), bob.publicKey())));
        back.verify(TYPE, bob.publicKey());
    }

    @Test
    void verify_otherKey_isKeyMismatchOrUnknownKey() {
        Envelope env = Envelope.sign(TYPE, BODY, alice);
        assertEquals(VerificationException.Reason.KEY_MISMATCH,
                assertThrows(VerificationException.class, () -> env.verify(TYPE, bob.publicKey())).reason());
        assertEquals(VerificationException.Reason.UNKNOWN_KEY,
                assertThrows(VerificationException.class, () -> env.verify(TYPE, List.of(bob.publicKey()))).reason());
    }

    @Test
    void verify_signatureClaimingAnotherKeyId_isBadSignature() {
        byte[] sig = bob.sign(TYPE, BODY);
        Envelope forged = new Envelope(TYPE, BODY, List.of(new Envelope.Signature(alice.nodeId().hex(), sig)));
        assertThrows(BadSignatureException.class, () -> forged.verify(TYPE, alice.publicKey()));
        assertThrows(BadSignatureException.class, () -> forged.verify(TYPE, List.of(alice.publicKey())));
    }

    @Test
    void verify_alteredPayloadOrType_fails() {
        Envelope env = Envelope.sign(TYPE, BODY, alice);
        Envelope altered = new Envelope(TYPE, "hello World".getBytes(StandardCharsets.UTF_8), env.signatures());
        assertThrows(BadSignatureException.class, () -> altered.verify(TYPE, alice.publicKey()));
        Envelope retyped = new Envelope("http://example.com/Other", BODY, env.signatures());
        assertEquals(VerificationException.Reason.WRONG_PAYLOAD_TYPE,
                assertThrows(VerificationException.class, () -> retyped.verify(TYPE, alice.publicKey())).reason());
        // even when the verifier is told to expect the altered type, the signature (over PAE) fails
        assertThrows(BadSignatureException.class, () -> retyped.verify("http://example.com/Other", alice.publicKey()));
    }

    @Test
    void parse_malformedInputs_failWithMalformedEnvelope() {
        String sig = Base64.getEncoder().encodeToString(new byte[64]);
        String[] bad = {
            "",
            "not json",
            "[]",
            "{\"payloadType\":\"t\",\"signatures\":[{\"keyid\":\"k\",\"sig\":\"" + sig + "\"}]}",
            "{\"payload\":\"aGk=\",\"signatures\":[{\"keyid\":\"k\",\"sig\":\"" + sig + "\"}]}",
            "{\"payload\":\"aGk=\",\"payloadType\":\"t\"}",
            "{\"payload\":\"aGk=\",\"payloadType\":\"t\",\"signatures\":[]}",
            "{\"payload\":\"not*base64\",\"payloadType\":\"t\",\"signatures\":[{\"keyid\":\"k\",\"sig\":\"" + sig + "\"}]}",
            "{\"payload\":\"aGk=\",\"payloadType\":\"t\",\"signatures\":[{\"keyid\":\"k\",\"sig\":\"%%%\"}]}",
            "{\"payload\":\"aGk=\",\"payloadType\":\"t\",\"signatures\":[{\"keyid\":\"k\"}]}",
            "{\"payload\":\"aGk=\",\"payloadType\":7,\"signatures\":[{\"keyid\":\"k\",\"sig\":\"" + sig + "\"}]}",
            "{\"payload\":\"aGk=\",\"payload\":\"aGk=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"" + sig + "\"}]}",
            "{\"payload\":\"aGk=\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"" + sig + "\"}]} trailing",
            "{\"payload\":\"aGk=\",\"payloadType\":\"t\",\"signatures\":[\"x\"]}",
        };
        for (String s : bad) {
            MalformedEnvelopeException e = assertThrows(MalformedEnvelopeException.class, () -> Envelope.parse(s), s);
            assertEquals(VerificationException.Reason.MALFORMED_ENVELOPE, e.reason());
        }
        byte[] big = new byte[Envelope.DEFAULT_MAX_JSON_BYTES + 1];
        assertThrows(MalformedEnvelopeException.class, () -> Envelope.parse(big));
    }

    @Test
    void parse_urlSafeBase64AndMissingKeyid_accepted() {
        byte[] payload = new byte[] {(byte) 0xfb, (byte) 0xff, 0x01};
        byte[] sig = alice.sign(TYPE, payload);
        String json = "{\"payload\":\"" + Base64.getUrlEncoder().encodeToString(payload) + "\",\"payloadType\":\"" + TYPE
                + "\",\"signatures\":[{\"sig\":\"" + Base64.getUrlEncoder().encodeToString(sig) + "\"}]}";
        Envelope env = Envelope.parse(json);
        assertArrayEquals(payload, env.payload());
        env.verify(TYPE, alice.publicKey());
        assertEquals(Set.of(alice.nodeId()), env.verify(TYPE, List.of(bob.publicKey(), alice.publicKey())));
    }

    @Test
    void payload_isCopiedInAndOut() {
        byte[] body = BODY.clone();
        Envelope env = Envelope.sign(TYPE, body, alice);
        body[0] = 'X';
        env.payload()[0] = 'Y';
        env.verify(TYPE, alice.publicKey());
    }
}
