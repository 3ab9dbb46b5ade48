#!/usr/bin/env python3
"""Verify a depin execution receipt without depin: an independent implementation.

Usage: verify_receipt.py RECEIPT.json PROVIDER.pub.pem NAME=OUTPUT.bin [NAME=OUTPUT.bin ...]

Checks, with Python's `cryptography` package and hashlib only:
  1. the DSSE envelope (at most 4 MiB, strict JSON without duplicate keys, standard or
     URL-safe base64) and its payloadType application/vnd.in-toto+json;
  2. the signature: Ed25519 over
     PAE = "DSSEv1" SP len(payloadType) SP payloadType SP len(payload) SP payload,
     by the given key, from the signature whose keyid is SHA-256 of the raw public key
     (the depin node id) or, failing that, one with an empty keyid;
  3. the in-toto Statement v1: _type and predicateType https://depin.dev/execution/v1,
     4 KiB Merkle leaves (merkleChunkBytes 4096), and subjects = the predicate's outputs
     (names and digests);
  4. that the NAME=FILE pairs name exactly the outputs the receipt commits to, and each
     file has the predicate's size and the RFC 6962 Merkle root over 4096-byte leaves
     (leaf = SHA-256(0x00 || chunk), node = SHA-256(0x01 || l || r), left subtree =
     largest power of two < n),
     read in chunks, so any size fits in memory.
Not checked (depin verify does these): nonce, spec, inputs, wipe attestation.
Prints VALID or INVALID: reason and exits 0 or 1; exits 2 on bad usage or an unreadable
file.

verify_receipt.py --batch reads a JSON array of such argument lists from standard input
and prints a JSON array of {"exit": N, "out": TEXT}, one per list, in one process (for
checking many receipts without starting Python for each).
"""
import base64
import binascii
import hashlib
import json
import os
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

CHUNK = 4096
MAX_ENVELOPE_BYTES = 4 << 20
MAX_KEY_BYTES = 64 << 10


class Invalid(Exception):
    pass


class Usage(Exception):
    pass


def pae(payload_type: bytes, payload: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(payload), payload)


def b64(text, what):
    if not isinstance(text, str):
        raise Invalid("%s is not a base64 string" % what)
    t = text.replace("-", "+").replace("_", "/")
    t += "=" * (-len(t) % 4)
    try:
        return base64.b64decode(t, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("%s is not base64" % what)


def leaf_hashes(path: str):
    leaves = []
    size = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(256 * CHUNK)  # whole leaves, so a leaf never straddles two reads
            if not block:
                break
            size += len(block)
            view = memoryview(block)
            for off in range(0, len(block), CHUNK):
                h = hashlib.sha256(b"\x00")
                h.update(view[off:off + CHUNK])
                leaves.append(h.digest())
    return leaves, size


def merkle_root(leaves) -> bytes:
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


def no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise Invalid("duplicate JSON key %r" % k)
        d[k] = v
    return d


def require_regular(path, what):
    # A FIFO would block the reader forever, a device never end: refuse before opening.
    if os.path.isdir(path):
        raise Usage("cannot read %s %s: it is a directory" % (what, path))
    if os.path.exists(path) and not os.path.isfile(path):
        raise Usage("cannot read %s %s: it is not a regular file (a FIFO, socket or device)" % (what, path))


def read_bounded(path, limit, what):
    require_regular(path, what)
    try:
        size = os.path.getsize(path)
        if size > limit:
            raise Invalid("%s %s has %d bytes, more than the %d a genuine one can have" % (what, path, size, limit))
        with open(path, "rb") as f:
            return f.read(limit + 1)
    except OSError as e:
        raise Usage("cannot read %s %s: %s" % (what, path, e.strerror or e))


def field(obj, name, kind, what):
    if not isinstance(obj, dict) or name not in obj or not isinstance(obj[name], kind) \
            or (kind is int and isinstance(obj[name], bool)):
        raise Invalid("%s lacks %r of the right type" % (what, name))
    return obj[name]


def verify(argv):
    if len(argv) < 3:
        raise Usage(__doc__)
    files = {}
    for a in argv[2:]:
        name, eq, path = a.partition("=")
        if not eq or not name or not path:
            raise Usage("outputs are NAME=FILE, got %r" % a)
        if name in files:
            raise Usage("output %r given twice" % name)
        files[name] = path
    try:
        # Like Jackson: UTF-8 (with or without a BOM), UTF-16 or UTF-32, detected from the bytes.
        env = json.loads(read_bounded(argv[0], MAX_ENVELOPE_BYTES, "receipt"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        raise Invalid("the receipt is not JSON: %s" % e)
    key_pem = read_bounded(argv[1], MAX_KEY_BYTES, "public key")
    try:
        key = serialization.load_pem_public_key(key_pem)
    except (ValueError, TypeError) as e:
        raise Invalid("the key file is not a PEM public key (%s)" % e)
    if not isinstance(key, Ed25519PublicKey):
        raise Invalid("the key is not an Ed25519 public key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    node_id = hashlib.sha256(raw).hexdigest()

    ptype = field(env, "payloadType", str, "the envelope")
    payload = b64(field(env, "payload", str, "the envelope"), "the payload")
    sigs = field(env, "signatures", list, "the envelope")
    if not sigs or len(sigs) > 32:
        raise Invalid("the envelope has %d signatures, not 1 to 32" % len(sigs))
    if ptype != "application/vnd.in-toto+json":
        raise Invalid("payloadType is %r, not application/vnd.in-toto+json" % ptype)
    verified = False
    for s in sigs:
        keyid = s.get("keyid", "") if isinstance(s, dict) else None
        if keyid is None or not isinstance(keyid, str):
            raise Invalid("a signature entry is malformed")
        if keyid not in (node_id, ""):
            continue
        try:
            key.verify(b64(s.get("sig"), "a signature"), pae(ptype.encode(), payload))
            verified = True
            break
        except InvalidSignature:
            if keyid == node_id:
                raise Invalid("the Ed25519 signature over the PAE does not verify under this key")
    if not verified:
        raise Invalid("no signature by this key (node id %s)" % node_id)

    try:
        st = json.loads(payload, object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        raise Invalid("the payload is not JSON: %s" % e)
    if not isinstance(st, dict) or st.get("_type") != "https://in-toto.io/Statement/v1":
        raise Invalid("_type is not https://in-toto.io/Statement/v1")
    if st.get("predicateType") != "https://depin.dev/execution/v1":
        raise Invalid("predicateType is %r" % st.get("predicateType"))
    pred = field(st, "predicate", dict, "the statement")
    if field(pred, "merkleChunkBytes", int, "the predicate") != CHUNK:
        raise Invalid("merkleChunkBytes is %r, not %d" % (pred["merkleChunkBytes"], CHUNK))
    outputs = {}
    for o in field(pred, "outputs", list, "the predicate"):
        name = field(o, "name", str, "an output")
        if name in outputs:
            raise Invalid("output %r is listed twice" % name)
        outputs[name] = (field(o, "merkleRoot", str, "an output"), field(o, "bytes", int, "an output"))
    subjects = {}
    for s in field(st, "subject", list, "the statement"):
        name = field(s, "name", str, "a subject")
        digest = field(s, "digest", dict, "a subject").get("merkle-sha256")
        if name in subjects or name not in outputs or digest != outputs[name][0]:
            raise Invalid("subject %r is not exactly one of the predicate's outputs" % name)
        subjects[name] = digest
    if set(subjects) != set(outputs):
        raise Invalid("subjects %s differ from the predicate's outputs %s" % (sorted(subjects), sorted(outputs)))
    for name in files:
        if name not in outputs:
            raise Invalid("output %r was given but the receipt commits to %s only" % (name, sorted(outputs)))
    for name in outputs:
        if name not in files:
            raise Usage("no file given for output %r" % name)
    for name, (root, size) in outputs.items():
        require_regular(files[name], "output %r" % name)
        try:
            actual = os.path.getsize(files[name])
            if actual != size:
                raise Invalid("output %r has %d bytes, the receipt commits to %d" % (name, actual, size))
            leaves, read = leaf_hashes(files[name])
        except OSError as e:
            raise Usage("cannot read output %r from %s: %s" % (name, files[name], e.strerror or e))
        got = merkle_root(leaves).hex()
        if read != size or got != root:
            raise Invalid("output %r has Merkle root %s, the receipt commits to %s" % (name, got, root))
    return "VALID: job %s attempt %s, spec %s, signed by %s, %d output(s) match" % (
        pred.get("jobId"), pred.get("attempt"), pred.get("specHash"), node_id, len(outputs))


def main(argv):
    try:
        print(verify(argv))
        return 0
    except Invalid as e:
        print("INVALID: %s" % e)
        return 1
    except Usage as e:
        print(str(e), file=sys.stderr)
        return 2
    except RecursionError:
        print("INVALID: the JSON is nested too deeply")
        return 1


def batch():
    import contextlib
    import io
    results = []
    for argv in json.load(sys.stdin):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            code = main([str(a) for a in argv])
        results.append({"exit": code, "out": buf.getvalue()})
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(batch() if sys.argv[1:] == ["--batch"] else main(sys.argv[1:]))
