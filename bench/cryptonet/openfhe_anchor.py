"""The cryptonet on OpenFHE CKKS (official `openfhe` wheel), two packings.

--packing single: one recording per query. The client encrypts the scaled
  features, zero-padded to n = 100 (the widest layer) and repeated with
  period n over the first 4n slots. Each affine layer y = W^T x + b is the
  diagonal method on the n x n zero-padded matrix, with baby-step giant-step:
  B = 10 baby rotations of the input, all from one
  `EvalFastRotationPrecompute` (hoisted) + `EvalFastRotation`, then per giant
  step g a sum of plaintext products with the diagonals (pre-rotated by -gB
  and encoded once at the layer's level) and one `EvalRotate` by gB.
  All-zero diagonals and giant steps are skipped. Each layer writes its output
  repeated with period n far enough for the next layer's rotations, so no
  re-packing is needed between layers.
--packing batch: SIMD over recordings. The client encrypts one ciphertext per
  feature (88), slot j = recording j, N/2 = 8192 recordings per batch (the
  206 EmoDB rows repeated). Affine layers are scalar products `EvalMult(ct,
  w)` summed with `EvalAddInPlace`, one bias `EvalAdd` and one `Rescale` per
  output unit: no rotations and no rotation keys.

Activations (both packings): the power-basis polynomial as a product chain,
c_k x^k = (c_k x^(2^j0)) * x^(2^j1) * ..., the powers x^(2^j) by
`EvalSquare`: depth floor(log2 k) + 1, i.e. 2 for p2 and 3 for p4 / p6.
OpenFHE's `EvalPoly` takes 2 / 3 / 4 levels for p2 / p4 / p6 (measured), so
the chain saves p6 a level per activation; it is also what TenSEAL's polyval
does, which keeps both anchors on one Q chain.

Scaling: FIXEDMANUAL with explicit `Rescale` (once per layer output and per
product), so the input of each layer is rescaled once before its rotations
(FLEXIBLEAUTO rescales lazily and would rescale every baby-step ciphertext
again in each of its plaintext products). Parameters (see README.md):
N = 2^14, HEStd_128_classic, first modulus 50 bits, scale 2^40 for p2
(depth 7) and 2^36 for p4 / p6 (depth 9), HYBRID key switching with one Q
prime per digit (dnum = depth + 1), for which OpenFHE adds one 60-bit special
prime: log QP = 390 / 434 <= 438. `--dnum` times other digit counts.

Usage:
  venv/bin/python openfhe_anchor.py --model out/cryptonet-p2.model.json \
      --scaled out/cryptonet-p2.scaled.json --packing single --out out/openfhe-p2-single.json
"""

import argparse
import math
import os
import re

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import openfhe as o  # noqa: E402

import common  # noqa: E402

N = 16384
SLOTS = N // 2


class OpenFheNet:
    def __init__(self, net, first_bits, scale_bits, dnum, packing):
        self.net = net
        self.packing = packing
        self.depth = common.network_depth(net)
        self.dnum = dnum or self.depth + 1
        p = o.CCParamsCKKSRNS()
        p.SetSecurityLevel(o.HEStd_128_classic)
        p.SetRingDim(N)
        p.SetMultiplicativeDepth(self.depth)
        p.SetScalingModSize(scale_bits)
        p.SetFirstModSize(first_bits)
        p.SetScalingTechnique(o.FIXEDMANUAL)
        p.SetKeySwitchTechnique(o.HYBRID)
        p.SetNumLargeDigits(self.dnum)
        p.SetBatchSize(SLOTS)
        self.param_str = str(p)
        cc = o.GenCryptoContext(p)  # raises if log QP exceeds the 128-bit bound for N
        for feature in (o.PKE, o.KEYSWITCH, o.LEVELEDSHE):
            cc.Enable(feature)
        if cc.GetRingDimension() != N:
            raise SystemExit(f"OpenFHE chose ring dimension {cc.GetRingDimension()}, wanted {N}")
        self.cc = cc
        self.kp = cc.KeyGen()
        cc.EvalMultKeyGen(self.kp.secretKey)
        self.coeffs = list(net.poly)
        while len(self.coeffs) > 1 and self.coeffs[-1] == 0.0:
            self.coeffs.pop()
        self.act_depth = common.power_tree_depth(len(self.coeffs) - 1)
        self.steps = []
        if packing == "single":
            self._prepare_single()
        else:
            self._prepare_batch()
        tag = self.kp.secretKey.GetKeyTag()
        self.relin_bytes = len(o.Serialize(cc.GetEvalMultKeyVector(tag)[0], o.BINARY))
        self.galois_bytes = (len(o.Serialize(cc.GetEvalAutomorphismKeyMap(tag), o.BINARY))
                             if self.steps else 0)

    # ---------------------------------------------------------- activation

    def activation(self, x):
        """sum_k c_k x^k, each term (c_k x^(2^j0)) * x^(2^j1) * ..., one
        Rescale per product; EvalAdd aligns the levels of the terms."""
        cc, c = self.cc, self.coeffs
        d = len(c) - 1
        powers = [x]
        for _ in range(1, int(math.floor(math.log2(d))) + 1 if d >= 1 else 0):
            powers.append(cc.Rescale(cc.EvalSquare(powers[-1])))
        acc = None
        for k in range(1, d + 1):
            if c[k] == 0.0:
                continue
            bits = [j for j in range(len(powers)) if (k >> j) & 1]
            t = cc.Rescale(cc.EvalMult(powers[bits[0]], float(c[k])))
            for j in bits[1:]:
                t = cc.Rescale(cc.EvalMult(t, powers[j]))
            acc = t if acc is None else cc.EvalAdd(acc, t)
        return cc.EvalAdd(acc, float(c[0]))

    # ---------------------------------------------------------- single

    def _prepare_single(self):
        cc, net = self.cc, self.net
        affines = net.affines()
        self.n = n = max(max(w.shape) for w, _ in affines)
        self.bsize = bs = int(math.ceil(math.sqrt(n)))
        # Output slots each layer must fill (with period n): the last layer
        # its outputs, every earlier one what the next layer's rotations read.
        reach = [affines[-1][0].shape[1]]
        for _ in affines[:-1]:
            reach.insert(0, reach[0] + n)
        self.in_len = reach[0] + n
        if self.in_len > SLOTS:
            raise SystemExit("the replicated input does not fit the slots")
        level = 0
        self.layers = []
        giant_steps, baby_steps = set(), set()
        for (w, b), r in zip(affines, reach):
            a = np.zeros((n, n))
            a[: w.shape[1], : w.shape[0]] = w.T
            j = np.arange(r)
            groups = {}
            for k in range(n):
                diag = a[j % n, (j + k) % n]
                if not np.any(diag):
                    continue
                g, bb = divmod(k, bs)
                shifted = np.zeros(SLOTS)
                shifted[g * bs: g * bs + r] = diag  # rotated right by g*B
                groups.setdefault(g, []).append(
                    (bb, cc.MakeCKKSPackedPlaintext(shifted, 1, level)))
                if bb:
                    baby_steps.add(bb)
                if g:
                    giant_steps.add(g * bs)
            bias = np.zeros(SLOTS)
            bpad = np.zeros(n)
            bpad[: b.shape[0]] = b
            bias[:r] = bpad[j % n]
            # The sum of products has scale degree 2 until the layer's Rescale.
            self.layers.append((sorted(groups.items()), cc.MakeCKKSPackedPlaintext(bias, 2, level)))
            level += 1 + self.act_depth
        self.baby_steps = sorted(baby_steps)
        self.steps = self.baby_steps + sorted(giant_steps)
        cc.EvalRotateKeyGen(self.kp.secretKey, self.steps)
        self.m = cc.GetCyclotomicOrder()
        self.n_diagonals = sum(len(v) for layer in self.layers for _, v in layer[0])
        self.n_giant = sum(1 for layer in self.layers for g, _ in layer[0] if g)

    def _layer_single(self, u, groups, bias):
        cc = self.cc
        pre = cc.EvalFastRotationPrecompute(u)
        baby = {0: u}
        for s in self.baby_steps:
            baby[s] = cc.EvalFastRotation(u, s, self.m, pre)
        acc = None
        for g, terms in groups:
            part = None
            for bb, pt in terms:
                prod = cc.EvalMult(baby[bb], pt)
                if part is None:
                    part = prod
                else:
                    cc.EvalAddInPlace(part, prod)
            if g:
                part = cc.EvalRotate(part, g * self.bsize)
            if acc is None:
                acc = part
            else:
                cc.EvalAddInPlace(acc, part)
        return cc.Rescale(cc.EvalAdd(acc, bias))

    def encrypt_single(self, x):
        xp = np.zeros(self.n)
        xp[: len(x)] = x
        u = np.zeros(SLOTS)
        u[: self.in_len] = xp[np.arange(self.in_len) % self.n]
        return self.cc.Encrypt(self.kp.publicKey, self.cc.MakeCKKSPackedPlaintext(u))

    def evaluate_single(self, ct):
        h = ct
        for i, (groups, bias) in enumerate(self.layers):
            if i:
                h = self.activation(h)
            h = self._layer_single(h, groups, bias)
        return h

    def decrypt_single(self, ct):
        pt = self.cc.Decrypt(self.kp.secretKey, ct)
        pt.SetLength(self.net.widths()[-1])
        return np.asarray(pt.GetRealPackedValue())

    # ---------------------------------------------------------- batch

    def _prepare_batch(self):
        self.batch_affines = [(w.astype(float), b.astype(float)) for w, b in self.net.affines()]

    def encrypt_batch(self, xs):
        """xs: SLOTS x 88 -> 88 ciphertexts (one per feature)."""
        cc, pk = self.cc, self.kp.publicKey
        return [cc.Encrypt(pk, cc.MakeCKKSPackedPlaintext(np.ascontiguousarray(xs[:, i])))
                for i in range(xs.shape[1])]

    def evaluate_batch(self, cts):
        cc = self.cc
        h = cts
        for li, (w, b) in enumerate(self.batch_affines):
            if li:
                h = [self.activation(c) for c in h]
            out = []
            for j in range(w.shape[1]):
                acc = None
                for i in range(w.shape[0]):
                    wij = float(w[i, j])
                    if wij == 0.0:
                        continue
                    prod = cc.EvalMult(h[i], wij)
                    if acc is None:
                        acc = prod
                    else:
                        cc.EvalAddInPlace(acc, prod)
                out.append(cc.Rescale(cc.EvalAdd(acc, float(b[j]))))
            h = out
        return h

    def decrypt_batch(self, cts):
        cols = []
        for c in cts:
            pt = self.cc.Decrypt(self.kp.secretKey, c)
            pt.SetLength(SLOTS)
            cols.append(np.asarray(pt.GetRealPackedValue()))
        return np.stack(cols, axis=1)

    # ---------------------------------------------------------- info

    def params(self):
        cc = self.cc
        tag = self.kp.secretKey.GetKeyTag()
        relin = cc.GetEvalMultKeyVector(tag)[0]
        moduli = sorted({int(m) for m in re.findall(r'"cm":\s*\{\s*"v":\s*"?(\d+)', o.Serialize(relin, o.JSON))})
        q_bits = [round(math.log2(m), 2) for m in moduli]
        out = {
            "N": N, "slots": SLOTS, "depth": self.depth, "dnum": self.dnum,
            "log_q": round(math.log2(cc.GetModulus()), 2),
            "log_qp": round(sum(math.log2(m) for m in moduli), 2),
            "qp_bits": q_bits,
            "p_primes": len(moduli) - (self.depth + 1),
            "scaling": "FIXEDMANUAL (explicit Rescale)",
            "key_switching": f"HYBRID, numLargeDigits = {self.dnum}",
            "security": "HEStd_128_classic (GenCryptoContext refuses log QP above the bound)",
            "poly": self.coeffs, "activation_depth": self.act_depth,
            "cc_params": self.param_str,
        }
        if self.packing == "single":
            out.update({
                "n": self.n, "baby_steps": self.bsize, "rotation_keys": self.steps,
                "hoisted_rotations_per_query": len(self.baby_steps) * len(self.layers),
                "giant_rotations_per_query": self.n_giant,
                "plaintext_products_per_query": self.n_diagonals,
                "input_slots_used": self.in_len,
                "method": "diagonal method, BSGS: EvalFastRotationPrecompute + EvalFastRotation baby steps, "
                          "EvalRotate giant steps; diagonals pre-encoded at each layer's level",
            })
        else:
            out["method"] = ("SIMD over recordings: one ciphertext per feature, EvalMult(ct, double) + "
                             "EvalAddInPlace, EvalAdd bias, one Rescale per output unit; no rotations")
        return out


def sizes_of(cts):
    return sum(len(o.Serialize(c, o.BINARY)) for c in cts)


def run_single(he, net, args, agreement, order):
    for i in range(args.check_rows):
        row = order[i % len(order)]
        out = he.evaluate_single(he.encrypt_single(net.x[row]))
        agreement.add(row, he.decrypt_single(out))
    common.log(f"checked {agreement.n} rows: agreement {agreement.agree}/{agreement.n}, "
               f"max |err| {agreement.max_abs_err:.2e}")
    agreement.require(f"openfhe {args.label} single")
    samples = {"encrypt": [], "server": [], "server_cpu": [], "decrypt": []}
    q_bytes = r_bytes = 0
    for i in range(args.runs):
        row = order[(args.check_rows + i) % len(order)]
        ct, enc_ms, _ = common.timed(lambda: he.encrypt_single(net.x[row]))
        out, srv_ms, srv_cpu = common.timed(lambda: he.evaluate_single(ct))
        scores, dec_ms, _ = common.timed(lambda: he.decrypt_single(out))
        agreement.add(row, scores)
        q_bytes, r_bytes = sizes_of([ct]), sizes_of([out])
        for k, v in (("encrypt", enc_ms), ("server", srv_ms), ("server_cpu", srv_cpu), ("decrypt", dec_ms)):
            samples[k].append(v)
        common.log(f"run {i + 1}/{args.runs} (row {row}): server {srv_ms:.0f} ms, encrypt {enc_ms:.1f} ms, "
                   f"decrypt {dec_ms:.1f} ms")
    agreement.require(f"openfhe {args.label} single (timed runs)")
    return samples, q_bytes, r_bytes, 1


def run_batch(he, net, args, agreement, order):
    rows = np.arange(SLOTS) % len(net.x)  # the recordings, repeated to fill the batch
    xs = net.x[rows]
    cts = he.encrypt_batch(xs)
    out = he.evaluate_batch(cts)
    scores = he.decrypt_batch(out)
    agreement.add_many(rows, scores)
    common.log(f"checked a full batch of {SLOTS} recordings: agreement {agreement.agree}/{agreement.n}, "
               f"max |err| {agreement.max_abs_err:.2e}")
    agreement.require(f"openfhe {args.label} batch")
    samples = {"encrypt": [], "server": [], "server_cpu": [], "decrypt": []}
    q_bytes, r_bytes = sizes_of(cts), sizes_of(out)
    del cts, out
    for i in range(args.runs):
        cts, enc_ms, _ = common.timed(lambda: he.encrypt_batch(xs))
        out, srv_ms, srv_cpu = common.timed(lambda: he.evaluate_batch(cts))
        scores, dec_ms, _ = common.timed(lambda: he.decrypt_batch(out))
        before = agreement.agree
        agreement.add_many(rows, scores)
        for k, v in (("encrypt", enc_ms), ("server", srv_ms), ("server_cpu", srv_cpu), ("decrypt", dec_ms)):
            samples[k].append(v)
        common.log(f"run {i + 1}/{args.runs}: server {srv_ms / 1e3:.1f} s ({srv_ms / SLOTS:.2f} ms/recording), "
                   f"encrypt {enc_ms:.0f} ms, decrypt {dec_ms:.0f} ms, agree {agreement.agree - before}/{SLOTS}")
        del cts, out
    agreement.require(f"openfhe {args.label} batch (timed runs)")
    return samples, q_bytes, r_bytes, SLOTS


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--scaled", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--packing", choices=("single", "batch"), default="single")
    ap.add_argument("--label", default="", help="model name in the result (default: from the file name)")
    ap.add_argument("--runs", type=int, default=0, help="timed runs (default: 7 single, 3 batch)")
    ap.add_argument("--check-rows", type=int, default=16,
                    help="single: untimed queries checked before timing, nearest the decision boundary "
                         "first (default 16; every timed query is checked too). Batch checks a full batch.")
    ap.add_argument("--first-bits", type=int, default=50)
    ap.add_argument("--scale-bits", type=int, default=0, help="default: largest <= 40 that fits 128-bit")
    ap.add_argument("--dnum", type=int, default=0, help="HYBRID numLargeDigits (default: depth + 1)")
    args = ap.parse_args()
    args.runs = args.runs or (7 if args.packing == "single" else 3)

    net = common.Net(args.model, args.scaled)
    args.label = args.label or os.path.basename(args.model).split(".")[0].replace("cryptonet-", "")
    depth = common.network_depth(net)
    first, scale = common.default_chain(depth, first_bits=args.first_bits)
    if args.scale_bits:
        scale = args.scale_bits
    load0 = common.loadavg()
    common.log(f"openfhe {args.label} {args.packing}: depth {depth}, first {first} bits, scale 2^{scale}, N = {N}")
    he, setup_ms, _ = common.timed(lambda: OpenFheNet(net, first, scale, args.dnum, args.packing))
    params = he.params()
    common.log(f"setup {setup_ms / 1e3:.1f} s; log QP {params['log_qp']} ({params['p_primes']} special primes), "
               f"dnum {he.dnum}, rotation keys {he.steps}")
    agreement = common.Agreement(net.logits)
    order = common.row_order(net.logits)
    run = run_single if args.packing == "single" else run_batch
    samples, q_bytes, r_bytes, per_batch = run(he, net, args, agreement, order)
    med = {k: common.stats(v).get("median") for k, v in samples.items()}
    result = {
        "anchor": "openfhe",
        "library": f"OpenFHE {common.versions('openfhe')['openfhe']} (official Python wheel)",
        "model": args.label,
        "packing": args.packing,
        "recordings_per_batch": per_batch,
        "server_ms": med["server"],
        "server_cpu_ms": med["server_cpu"],
        "per_recording_ms": med["server"] / per_batch,
        "client_encrypt_ms": med["encrypt"],
        "client_decrypt_ms": med["decrypt"],
        "eval_key_bytes": he.relin_bytes + he.galois_bytes,
        "query_bytes": q_bytes,
        "result_bytes": r_bytes,
        **agreement.summary(),
        "timing": {k: common.stats(v) for k, v in samples.items()},
        "sizes": {
            "relin_key_bytes": he.relin_bytes,
            "galois_key_bytes": he.galois_bytes,
            "galois_keys": len(he.steps),
            "note": "OpenFHE binary (cereal) serialization, uncompressed, full (not seeded); "
                    "queries encrypted with the public key",
        },
        "params": params,
        "setup_ms": setup_ms,
        "runs": args.runs,
        "check_rows": args.check_rows if args.packing == "single" else SLOTS,
        "peak_rss_kb": common.peak_rss_kb(),
        "loadavg_start": load0,
        "loadavg_end": common.loadavg(),
        "threads": common.threads(),
        "versions": common.versions("openfhe"),
        "model_fingerprint": net.fingerprint,
    }
    common.write_result(args.out, result)
    common.log(f"openfhe {args.label} {args.packing}: server {med['server']:.0f} ms (median of {args.runs}), "
               f"{med['server'] / per_batch:.3f} ms per recording, agreement {agreement.agree}/{agreement.n}, "
               f"max |err| {agreement.max_abs_err:.2e}")


if __name__ == "__main__":
    main()
