#!/usr/bin/env python3
"""Verify a depin execution receipt without depin: an independent implementation.

Usage: verify_receipt.py RECEIPT.json PROVIDER.pub.pem NAME=OUTPUT.bin [NAME=OUTPUT.bin ...]

Checks, with Python's `cryptography` package and hashlib only:
  1. the DSSE envelope's signature: Ed25519 over
     PAE = "DSSEv1" SP len(payloadType) SP payloadType SP len(payload) SP payload;
  2. that the envelope's keyid is SHA-256 of the raw public key (the depin node id);
  3. the in-toto Statement v1: _type and predicateType https://depin.dev/execution/v1;
  4. for every subject, that the file given for it has the predicate's size and the
     RFC 6962 Merkle root (leaf = SHA-256(0x00 || chunk), node = SHA-256(0x01 || l || r),
     left subtree = largest power of two < n) in its "merkle-sha256" digest.
Prints VALID or INVALID: reason, and exits 0 or 1.
"""
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def pae(payload_type: bytes, payload: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(payload), payload)


def merkle_root(data: bytes, chunk: int) -> bytes:
    leaves = [hashlib.sha256(b"\x00" + data[i:i + chunk]).digest() for i in range(0, len(data), chunk)]
    if not leaves:
        return hashlib.sha256(b"").digest()

    def node(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaves[lo]
        k = 1
        while k * 2 < hi - lo:
            k *= 2
        return hashlib.sha256(b"\x01" + node(lo, lo + k) + node(lo + k, hi)).digest()

    return node(0, len(leaves))


def fail(reason: str) -> None:
    print("INVALID: " + reason)
    sys.exit(1)


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        sys.exit(2)
    env = json.load(open(argv[0]))
    key = serialization.load_pem_public_key(open(argv[1], "rb").read())
    if not isinstance(key, Ed25519PublicKey):
        fail("the key is not an Ed25519 public key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    node_id = hashlib.sha256(raw).hexdigest()
    payload = base64.b64decode(env["payload"])
    ptype = env["payloadType"].encode()
    if env["payloadType"] != "application/vnd.in-toto+json":
        fail("payloadType is %r, not application/vnd.in-toto+json" % env["payloadType"])
    sigs = [s for s in env["signatures"] if s.get("keyid") == node_id]
    if not sigs:
        fail("no signature with keyid %s (the key's node id)" % node_id)
    try:
        key.verify(base64.b64decode(sigs[0]["sig"]), pae(ptype, payload))
    except InvalidSignature:
        fail("the Ed25519 signature over the PAE does not verify under this key")
    st = json.loads(payload)
    if st.get("_type") != "https://in-toto.io/Statement/v1":
        fail("_type is %r" % st.get("_type"))
    if st.get("predicateType") != "https://depin.dev/execution/v1":
        fail("predicateType is %r" % st.get("predicateType"))
    pred = st["predicate"]
    chunk = int(pred["merkleChunkBytes"])
    files = dict(a.split("=", 1) for a in argv[2:])
    sizes = {o["name"]: int(o["bytes"]) for o in pred["outputs"]}
    for subject in st["subject"]:
        name = subject["name"]
        if name not in files:
            fail("no file given for output %r" % name)
        data = open(files[name], "rb").read()
        if len(data) != sizes.get(name):
            fail("output %r has %d bytes, the receipt commits to %s" % (name, len(data), sizes.get(name)))
        root = merkle_root(data, chunk).hex()
        if root != subject["digest"]["merkle-sha256"]:
            fail("output %r has Merkle root %s, the receipt commits to %s"
                 % (name, root, subject["digest"]["merkle-sha256"]))
    print("VALID: job %s attempt %d, spec %s, signed by %s, %d output(s) match"
          % (pred["jobId"], pred["attempt"], pred["specHash"], node_id, len(st["subject"])))


if __name__ == "__main__":
    main(sys.argv[1:])
