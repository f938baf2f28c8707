"""Shared pieces of the cryptonet anchors (tenseal_anchor.py, openfhe_anchor.py).

* loading `model.json` / `scaled.json` written by
  `cargo run --release -p privox-nn --example export_json`;
* the plaintext network in numpy (checked against the exported logits);
* the depth plan of the network (levels each layer consumes);
* the decision check (agreement of argmax, max |score difference|);
* timing helpers, peak RSS, load average, and the result JSON.

The result JSON uses the keys of the privox example
(`cargo run --release -p privox-cryptonet --example bench`): server_ms (median),
client_encrypt_ms, client_decrypt_ms, eval_key_bytes, query_bytes,
result_bytes, agreement (fraction of checked recordings whose decrypted
decision equals the plaintext argmax, in [0, 1]), max_abs_err (max |decrypted
score - plaintext score| over those recordings and both classes),
recordings_per_batch; plus extra keys documented in README.md.
"""

import json
import os
import platform
import resource
import statistics
import sys
import time
from importlib import metadata

import numpy as np


# ------------------------------------------------------------------ model

class Net:
    """The folded network of model.json: affine layers and polynomials."""

    def __init__(self, model_path, scaled_path):
        with open(model_path) as f:
            m = json.load(f)
        with open(scaled_path) as f:
            s = json.load(f)
        self.model_path, self.scaled_path = model_path, scaled_path
        self.fingerprint = m.get("fingerprint", "")
        self.description = m.get("description", "")
        self.class_names = m["class_names"]
        self.layers = []
        for layer in m["layers"]:
            if layer["type"] == "affine":
                w = np.asarray(layer["weights"], dtype=np.float64).reshape(layer["inputs"], layer["outputs"])
                self.layers.append(("affine", w, np.asarray(layer["bias"], dtype=np.float64)))
            elif layer["type"] == "poly":
                self.layers.append(("poly", [float(c) for c in layer["coeffs"]], float(layer["interval"])))
            else:
                raise SystemExit(f"{model_path}: layer type {layer['type']!r} cannot be evaluated under CKKS")
        kinds = [k for k, *_ in self.layers]
        if kinds != ["affine", "poly", "affine", "poly", "affine"]:
            raise SystemExit(f"{model_path}: expected affine, poly, affine, poly, affine; got {kinds}")
        self.x = np.asarray(s["x"], dtype=np.float64)
        self.logits = np.asarray(s["logits"], dtype=np.float64)
        self.files = s["files"]
        if self.x.shape[1] != self.layers[0][1].shape[0]:
            raise SystemExit("scaled features and model disagree on the input width")
        # The export is the reference: recompute it in numpy to catch a
        # misread layout (row-major inputs x outputs) before any HE work.
        err = float(np.max(np.abs(self.plain_logits(self.x) - self.logits)))
        if err > 1e-9:
            raise SystemExit(f"numpy evaluation of {model_path} differs from the exported logits by {err}")
        self.poly = self.layers[1][1]
        if self.layers[3][1] != self.poly:
            raise SystemExit("the two activations differ; the anchors assume one polynomial")

    def affines(self):
        return [(w, b) for k, w, b in self.layers if k == "affine"]

    def plain_logits(self, x):
        h = np.asarray(x, dtype=np.float64)
        for kind, a, b in self.layers:
            if kind == "affine":
                h = h @ a + b
            else:
                h = np.polynomial.polynomial.polyval(h, a)
        return h

    def degree(self):
        c = list(self.poly)
        while len(c) > 1 and c[-1] == 0.0:
            c.pop()
        return len(c) - 1

    def widths(self):
        return [self.layers[0][1].shape[0]] + [w.shape[1] for w, _ in self.affines()]


def power_tree_depth(degree):
    """Levels of c_k x^k evaluated as (c_k x^(2^j0)) * x^(2^j1) * ... with the
    powers x^(2^j) by repeated squaring: floor(log2 k) + 1 for k >= 1. Both
    TenSEAL's polyval and openfhe_anchor's chain have this depth."""
    return int(np.floor(np.log2(degree))) + 1 if degree >= 1 else 0


def network_depth(net):
    """Rescales of the whole network: 3 plaintext products + 2 activations."""
    return 3 + 2 * power_tree_depth(net.degree())


def default_chain(depth, n=16384, max_log_qp=438, first_bits=50, special_bits=60, max_scale=40):
    """(first_bits, scale_bits) with the largest scale <= 40 bits such that the
    chain [first, scale x depth] plus one 60-bit special prime fits
    log QP <= max_log_qp (the HE standard's 128-bit bound; 438 at N = 2^14).
    One 60-bit special prime is what OpenFHE picks with one Q prime per digit
    (dnum = depth + 1), and TenSEAL/SEAL is given the same, so both anchors
    run on the same Q and P: depth 7 -> 40-bit scale (log QP 390), depth 9 ->
    36-bit (log QP 434)."""
    for s in range(max_scale, 19, -1):
        if first_bits + depth * s + special_bits <= max_log_qp:
            return first_bits, s
    raise SystemExit(f"depth {depth} does not fit N = {n} at 128-bit security with >= 20-bit scales")


# ------------------------------------------------------------------ rows

def row_order(logits, hard=8):
    """All row indices, the `hard` rows nearest the decision boundary first
    (smallest difference between the top two plaintext scores), then the
    others in file order. Checks and timed queries walk this order, so even a
    short check covers the rows most sensitive to CKKS error."""
    srt = np.sort(logits, axis=1)
    margin = srt[:, -1] - srt[:, -2]
    first = [int(i) for i in np.argsort(margin, kind="stable")[:hard]]
    return first + [i for i in range(len(logits)) if i not in first]


class Agreement:
    """Accumulates decrypted scores against the plaintext logits."""

    def __init__(self, ref_logits):
        self.ref = ref_logits
        self.n = 0
        self.agree = 0
        self.max_abs_err = 0.0
        self.rows = []

    def add(self, row, scores):
        scores = np.asarray(scores, dtype=np.float64)[: self.ref.shape[1]]
        want = self.ref[row]
        self.n += 1
        self.agree += int(np.argmax(scores) == np.argmax(want))
        self.max_abs_err = max(self.max_abs_err, float(np.max(np.abs(scores - want))))
        self.rows.append(int(row))

    def add_many(self, rows, scores):
        for r, s in zip(rows, scores):
            self.add(r, s)

    @property
    def fraction(self):
        return self.agree / self.n if self.n else float("nan")

    def summary(self):
        return {"agreement": self.fraction, "agreement_rows": self.n, "agreement_count": self.agree,
                "max_abs_err": self.max_abs_err}

    def require(self, what):
        """Refuse to time a wrong implementation."""
        if self.n == 0 or self.agree != self.n:
            raise SystemExit(f"{what}: decisions agree on {self.agree}/{self.n} rows "
                             f"(max |score difference| {self.max_abs_err:.3g}); not timing a wrong result")


# ------------------------------------------------------------------ timing

def timed(fn):
    """(result, wall ms, CPU ms of this process)."""
    c0, t0 = time.process_time_ns(), time.perf_counter_ns()
    r = fn()
    t1, c1 = time.perf_counter_ns(), time.process_time_ns()
    return r, (t1 - t0) / 1e6, (c1 - c0) / 1e6


def stats(samples):
    if not samples:
        return {}
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples),
            "samples": samples}


def peak_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def loadavg():
    return list(os.getloadavg())


def versions(*pkgs):
    out = {"python": platform.python_version(), "numpy": metadata.version("numpy")}
    for p in pkgs:
        out[p] = metadata.version(p)
    return out


def threads():
    return {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "RAYON_NUM_THREADS")}


def write_result(path, result):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, path)
    print(f"wrote {path}", file=sys.stderr)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
