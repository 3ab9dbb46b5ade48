package dev.depin.crypto;

import dev.depin.InvalidArgumentException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.Signature;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NodeKeyPairTest {
    /** RFC 8032 §7.1: TEST 1, 2, 3 and TEST SHA(abc): secret, public, message, signature. */
    private static final String[][] VECTORS = {
        {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
        {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
        {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
        {"833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
            "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"},
    };

    @Test
    void sign_rfc8032Vectors_matchExactly() {
        for (String[] v : VECTORS) {
            NodeKeyPair kp = NodeKeyPair.fromSeed(Hex.decode(v[0]));
            assertEquals(v[1], Hex.encode(kp.publicKey().raw()));
            assertEquals(v[3], Hex.encode(kp.sign(Hex.decode(v[2]))));
        }
    }

    @Test
    void verify_rfc8032Vectors_acceptAndRejectAltered() {
        for (String[] v : VECTORS) {
            NodePublicKey pk = NodePublicKey.of(Hex.decode(v[1]));
            byte[] msg = Hex.decode(v[2]);
            byte[] sig = Hex.decode(v[3]);
            pk.verify(msg, sig);
            byte[] badSig = sig.clone();
            badSig[5] ^= 1;
            assertThrows(BadSignatureException.class, () -> pk.verify(msg, badSig));
            byte[] badMsg = java.util.Arrays.copyOf(msg, msg.length + 1);
            assertThrows(BadSignatureException.class, () -> pk.verify(badMsg, sig));
            assertThrows(BadSignatureException.class, () -> pk.verify(msg, new byte[10]));
        }
    }

    @Test
    void sign_payloadType_isDomainSeparated() {
        NodeKeyPair kp = NodeKeyPair.generate(new SecureRandom());
        byte[] payload = "{}".getBytes(StandardCharsets.UTF_8);
        byte[] sig = kp.sign("application/vnd.in-toto+json", payload);
        kp.publicKey().verify("application/vnd.in-toto+json", payload, sig);
        VerificationException e = assertThrows(VerificationException.class,
                () -> kp.publicKey().verify("application/vnd.depin.wipe+json", payload, sig));
        assertEquals(VerificationException.Reason.BAD_SIGNATURE, e.reason());
        assertThrows(BadSignatureException.class, () -> kp.publicKey().verify(payload, sig));
    }

    @Test
    void sign_bouncyCastle_verifiesWithJdkEdDsa() throws Exception {
        NodeKeyPair kp = NodeKeyPair.generate(new SecureRandom());
        byte[] msg = "interop".getBytes(StandardCharsets.UTF_8);
        byte[] sig = kp.sign(msg);
        Signature jdk = Signature.getInstance("Ed25519");
        jdk.initVerify(kp.publicKey().toJdk());
        jdk.update(msg);
        assertTrue(jdk.verify(sig));
    }

    @Test
    void verify_jdkEdDsaSignature_acceptedByBouncyCastle() throws Exception {
        NodeKeyPair kp = NodeKeyPair.generate(new SecureRandom());
        KeyPair jdkPair = kp.toJdk();
        byte[] msg = "the other way".getBytes(StandardCharsets.UTF_8);
        Signature jdk = Signature.getInstance("Ed25519");
        jdk.initSign(jdkPair.getPrivate());
        jdk.update(msg);
        byte[] sig = jdk.sign();
        assertArrayEquals(kp.sign(msg), sig, "Ed25519 is deterministic");
        NodePublicKey.fromJdk(jdkPair.getPublic()).verify(msg, sig);
        assertEquals(kp.publicKey(), NodePublicKey.fromJdk(jdkPair.getPublic()));

        KeyPair fresh = java.security.KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        jdk.initSign(fresh.getPrivate());
        jdk.update(msg);
        byte[] s2 = jdk.sign();
        NodePublicKey.fromJdk(fresh.getPublic()).verify(msg, s2);
    }

    @Test
    void toString_neverShowsPrivateKey() {
        NodeKeyPair kp = NodeKeyPair.fromSeed(Hex.decode(VECTORS[0][0]));
        String s = kp.toString();
        assertFalse(s.contains(VECTORS[0][0]));
        assertFalse(s.contains(VECTORS[0][0].substring(0, 12)));
        assertTrue(s.contains(kp.nodeId().hex()));
    }

    @Test
    void nodeId_isSha256OfRawPublicKey() throws Exception {
        NodeKeyPair kp = NodeKeyPair.fromSeed(Hex.decode(VECTORS[0][0]));
        String expected = Hex.encode(java.security.MessageDigest.getInstance("SHA-256").digest(Hex.decode(VECTORS[0][1])));
        assertEquals(expected, kp.nodeId().hex());
        assertEquals(expected, NodeId.of(kp.publicKey()).hex());
        assertEquals(expected.substring(0, 12), kp.nodeId().shortId());
    }

    @Test
    void of_invalidPublicKey_isRejected() {
        assertThrows(InvalidArgumentException.class, () -> NodePublicKey.of(new byte[31]));
        assertThrows(InvalidArgumentException.class, () -> NodePublicKey.fromX509(new byte[44]));
        assertThrows(InvalidArgumentException.class, () -> NodeKeyPair.fromSeed(new byte[16]));
    }
}
