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
RECEIPT.json may also be a batched receipt (what nodes send by default: JSON with "format":
"depin.batched-receipt/v1", at most 8 MiB): then the batch envelope is checked as in 1-2, its
statement (predicateType https://depin.dev/batch/v1, one subject "statements" whose
merkle-sha256 digest is the root, the leaf rule, the statement count), and the receipt
statement's inclusion: its leaf is SHA-256(0x00 || SHA-256(PAE(application/vnd.in-toto+json,
statement))), and its audit path (RFC 9162 section 2.1.3.2, for the signed statement count)
must lead to the signed root; then 3-4 on that statement.
An optional "energy" ({"millijoules": integer 0 to 1 MWh, "source": "measured" or "estimated"},
nothing else) is checked and printed after VALID: it is the provider's signed claim.
Not checked (depin verify does these): nonce, spec, inputs, wipe attestation, the energy's bound
by 100 kW over the execution.
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
MAX_BATCHED_BYTES = 8 << 20
IN_TOTO = "application/vnd.in-toto+json"
BATCHED_FORMAT = "depin.batched-receipt/v1"
BATCH_PREDICATE = "https://depin.dev/batch/v1"
BATCH_LEAF_RULE = "rfc6962-leaf(sha256(DSSEv1-PAE(%s, statement)))" % IN_TOTO
HEX = set("0123456789abcdef")
MAX_KEY_BYTES = 64 << 10
MAX_MILLIJOULES = 3600000000000


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
    raw_receipt = read_bounded(argv[0], MAX_BATCHED_BYTES, "receipt")
    try:
        # Like Jackson: UTF-8 (with or without a BOM), UTF-16 or UTF-32, detected from the bytes.
        env = json.loads(raw_receipt, object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        raise Invalid("the receipt is not JSON: %s" % e)
    batched = isinstance(env, dict) and env.get("format") == BATCHED_FORMAT
    if not batched and len(raw_receipt) > MAX_ENVELOPE_BYTES:
        raise Invalid("receipt %s has %d bytes, more than the %d a genuine envelope can have"
                      % (argv[0], len(raw_receipt), MAX_ENVELOPE_BYTES))
    key_pem = read_bounded(argv[1], MAX_KEY_BYTES, "public key")
    try:
        key = serialization.load_pem_public_key(key_pem)
    except (ValueError, TypeError) as e:
        raise Invalid("the key file is not a PEM public key (%s)" % e)
    if not isinstance(key, Ed25519PublicKey):
        raise Invalid("the key is not an Ed25519 public key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    node_id = hashlib.sha256(raw).hexdigest()

    if batched:
        payload = batched_receipt_statement(env, key, node_id)
    else:
        payload = signed_payload(env, key, node_id, "the envelope")
    st = statement(payload, "the payload")
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
    return "VALID: job %s attempt %s, spec %s, signed by %s%s, %d output(s) match%s" % (
        pred.get("jobId"), pred.get("attempt"), pred.get("specHash"), node_id,
        " (in a batch)" if batched else "", len(outputs), energy_note(pred))


def energy_note(pred):
    """The receipt's optional energy, checked as depin reads it (bar the bound by power over time)."""
    if "energy" not in pred:
        return ""
    e = pred["energy"]
    if not isinstance(e, dict):
        raise Invalid("'energy' is not an object")
    for k in e:
        if k not in ("millijoules", "source"):
            raise Invalid("'energy' has an unknown field %r" % k)
    mj = field(e, "millijoules", int, "the energy")
    source = field(e, "source", str, "the energy")
    if mj < 0 or mj > MAX_MILLIJOULES:
        raise Invalid("energy %d mJ is out of range: it must be 0 to %d mJ (1 MWh)" % (mj, MAX_MILLIJOULES))
    if source not in ("measured", "estimated"):
        raise Invalid("energy source %r is neither 'measured' nor 'estimated'" % source)
    return ", energy %d.%03d J %s (the provider's signed claim)" % (mj // 1000, mj % 1000, source)


def signed_payload(env, key, node_id, what):
    """The payload of a DSSE envelope signed by key (in-toto payload type), or Invalid."""
    ptype = field(env, "payloadType", str, what)
    payload = b64(field(env, "payload", str, what), "the payload")
    sigs = field(env, "signatures", list, what)
    if not sigs or len(sigs) > 32:
        raise Invalid("%s has %d signatures, not 1 to 32" % (what, len(sigs)))
    if ptype != IN_TOTO:
        raise Invalid("payloadType is %r, not %s" % (ptype, IN_TOTO))
    for s in sigs:
        keyid = s.get("keyid", "") if isinstance(s, dict) else None
        if keyid is None or not isinstance(keyid, str):
            raise Invalid("a signature entry is malformed")
        if keyid not in (node_id, ""):
            continue
        try:
            key.verify(b64(s.get("sig"), "a signature"), pae(ptype.encode(), payload))
            return payload
        except InvalidSignature:
            if keyid == node_id:
                raise Invalid("the Ed25519 signature over the PAE of %s does not verify under this key" % what)
    raise Invalid("no signature by this key (node id %s) on %s" % (node_id, what))


def statement(payload, what):
    try:
        st = json.loads(payload, object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        raise Invalid("%s is not JSON: %s" % (what, e))
    if not isinstance(st, dict) or st.get("_type") != "https://in-toto.io/Statement/v1":
        raise Invalid("_type is not https://in-toto.io/Statement/v1")
    return st


def hex32(text, what):
    if not isinstance(text, str) or len(text) != 64 or not set(text) <= HEX:
        raise Invalid("%s is not 64 lower-case hex characters" % what)
    return bytes.fromhex(text)


def batched_receipt_statement(obj, key, node_id):
    """The receipt statement of a batched receipt, once the batch signature and its inclusion hold."""
    batch = statement(signed_payload(field(obj, "batch", dict, "the batched receipt"), key, node_id,
                                     "the batch envelope"), "the batch statement")
    if batch.get("predicateType") != BATCH_PREDICATE:
        raise Invalid("the batch's predicateType is %r, not %s" % (batch.get("predicateType"), BATCH_PREDICATE))
    subjects = field(batch, "subject", list, "the batch statement")
    if len(subjects) != 1 or field(subjects[0], "name", str, "the batch subject") != "statements":
        raise Invalid("a batch statement has exactly one subject named 'statements'")
    root = hex32(field(subjects[0], "digest", dict, "the batch subject").get("merkle-sha256"),
                 "the batch subject's merkle-sha256 digest")
    pred = field(batch, "predicate", dict, "the batch statement")
    count = field(pred, "statements", int, "the batch predicate")
    if count < 1:
        raise Invalid("a batch commits to at least 1 statement, not %d" % count)
    if field(pred, "leaf", str, "the batch predicate") != BATCH_LEAF_RULE:
        raise Invalid("the batch's leaf rule is %r, not %r" % (pred["leaf"], BATCH_LEAF_RULE))
    receipt = b64(field(obj, "receipt", str, "the batched receipt"), "the receipt statement")
    proof = field(obj, "receiptProof", dict, "the batched receipt")
    index = field(proof, "leafIndex", int, "the receipt's proof")
    size = field(proof, "leafCount", int, "the receipt's proof")
    path = field(proof, "path", list, "the receipt's proof")
    if size != count:
        raise Invalid("the receipt's inclusion proof is for %d leaves but the signed batch commits to %d "
                      "statements: it belongs to another batch" % (size, count))
    if not 0 <= index < size or len(path) > 64:
        raise Invalid("the receipt's inclusion proof names leaf %d of %d with %d path hashes" % (index, size, len(path)))
    digest = hashlib.sha256(pae(IN_TOTO.encode(), receipt)).digest()
    got = inclusion_root(index, size, hashlib.sha256(b"\x00" + digest).digest(),
                         [hex32(h, "a path hash") for h in path])
    if got != root:
        raise Invalid("the receipt statement (sha256 %s) is not leaf %d of the %d statements under the signed root %s"
                      % (digest.hex(), index, count, root.hex()))
    return receipt


def inclusion_root(index, size, leaf, path):
    """RFC 9162 section 2.1.3.2: the root an audit path leads to, or None if it does not fit the tree."""
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


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
