"""The cryptonet on TenSEAL CKKS (Microsoft SEAL 4.1), one recording per query.

Implemented the way TenSEAL's tutorials do encrypted inference: the client
encrypts the 88 scaled features as one `CKKSVector` (TenSEAL replicates the
vector over all slots); the server computes each affine layer with
`CKKSVector.mm` (encrypted vector x plain matrix, Halevi-Shoup diagonal
method: one plaintext product and one rotation per matrix row) and each
activation with `CKKSVector.polyval`. TenSEAL rescales automatically.

Two deviations from the tutorials, both needed for a correct result:

* **Bias.** `vector + list` encodes the bias into the first `outputs` slots
  only, but the next `mm` reads the replicated copies of its input beyond them
  (measured: 0.4 error on the logits). The server therefore encrypts each bias
  once with the public key (`ts.ckks_vector(server_ctx, bias)` is replicated
  like any TenSEAL vector) and adds it ciphertext + ciphertext. The encrypted
  biases are prepared once per model, untimed, like the plain matrices.
* **Galois keys.** `generate_galois_keys()` makes SEAL's default set (all
  power-of-two steps, 26 keys at N = 2^14) and TenSEAL cannot take a step list.
  SEAL rotates by a step without its own key through the non-adjacent form of
  the step (NAF, sums of +-2^k), so the keys `mm` uses are exactly the NAF
  digits of the steps 1..width-1 of the three layers (14 keys: +-1 .. +-32,
  64, 128). They are generated with SEAL's KeyGenerator from the context's
  secret key, in place in the context's GaloisKeys object, before the public
  context is serialized; evaluation then does the same key switches as with
  the default set, and a rotation outside the set is refused by SEAL.

Parameters (see README.md): N = 2^14, coefficient moduli
[50, s x depth, 60] bits with s = 40 for p2 (depth 7) and 36 for p4 / p6
(depth 9), global scale 2^s, 128-bit (SEAL's tc128 table: log QP <= 438).

Usage:
  venv/bin/python tenseal_anchor.py --model out/cryptonet-p2.model.json \
      --scaled out/cryptonet-p2.scaled.json --out out/tenseal-p2-single.json [--runs 5]
"""

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import tenseal as ts  # noqa: E402
import tenseal.sealapi as sealapi  # noqa: E402

import common  # noqa: E402

N = 16384
SLOTS = N // 2
SPECIAL_BITS = 60


def naf(value):
    """SEAL's util::naf: the non-adjacent form of a rotation step, as the
    signed powers of two SEAL rotates by when it has no key for the step."""
    out, sign, v, i = [], value < 0, abs(value), 0
    while v:
        zi = (2 - (v & 3)) if v & 1 else 0
        v = (v - zi) >> 1
        if zi:
            out.append((-zi if sign else zi) * (1 << i))
        i += 1
    return out


def galois_elt(step):
    """SEAL's Galois element of a left rotation by `step` (negative: right)."""
    return pow(3, step if step > 0 else SLOTS + step, 2 * N)


def ctx_bytes(ctx, relin=False, galois=False):
    return len(ctx.serialize(save_public_key=False, save_secret_key=False,
                             save_galois_keys=galois, save_relin_keys=relin))


class TenSealNet:
    def __init__(self, net, first_bits, scale_bits):
        self.net = net
        self.depth = common.network_depth(net)
        self.chain = [first_bits] + [scale_bits] * self.depth + [SPECIAL_BITS]
        # Client: secret key, public key, relinearization key (ts.context makes
        # both), one worker thread (TenSEAL's own thread pool).
        ctx = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=N, coeff_mod_bit_sizes=self.chain, n_threads=1)
        ctx.global_scale = 2.0 ** scale_bits
        if not ctx.has_relin_keys():
            ctx.generate_relin_keys()
        # The Galois keys mm needs: NAF digits of every step it rotates by.
        widths = [w.shape[0] for w, _ in net.affines()]
        self.steps = sorted({d for w in widths for st in range(1, w) for d in naf(st)})
        ctx.generate_galois_keys()
        self.default_galois_keys = ctx.galois_keys().data.size()
        seal_ctx = ctx.seal_context().data
        sealapi.KeyGenerator(seal_ctx, ctx.secret_key().data).create_galois_keys(
            [galois_elt(s) for s in self.steps], ctx.galois_keys().data)
        self.n_galois_keys = ctx.galois_keys().data.size()
        self.client = ctx
        kcd = seal_ctx.key_context_data()
        self.log_qp = kcd.total_coeff_modulus_bit_count()
        self.moduli_bits = [m.bit_count() for m in kcd.parms().coeff_modulus()]
        # What the client sends once: the public context with relin + Galois keys.
        public = ctx.serialize(save_public_key=True, save_secret_key=False, save_galois_keys=True, save_relin_keys=True)
        self.public_context_bytes = len(public)
        base = ctx_bytes(ctx)
        self.relin_bytes = ctx_bytes(ctx, relin=True) - base
        self.galois_bytes = ctx_bytes(ctx, galois=True) - base
        self.server = ts.context_from(public)
        assert not self.server.has_secret_key()
        # Server-side model preparation, once (untimed): plain matrices and
        # the biases encrypted under the public key (replicated, see above).
        self.weights = [ts.plain_tensor(w.tolist(), dtype="float") for w, _ in net.affines()]
        self.biases = [ts.ckks_vector(self.server, b.tolist()) for _, b in net.affines()]
        self.poly = list(net.poly)

    # client
    def encrypt(self, x):
        return ts.ckks_vector(self.client, [float(v) for v in x])

    def decrypt(self, result_bytes):
        return ts.ckks_vector_from(self.client, result_bytes).decrypt()

    # server
    def evaluate(self, enc):
        (w1, w2, w3), (b1, b2, b3) = self.weights, self.biases
        h = enc.mm(w1) + b1
        h = h.polyval(self.poly)
        h = h.mm(w2) + b2
        h = h.polyval(self.poly)
        return h.mm(w3) + b3

    def query(self, x):
        """One full round trip; returns (scores, per-phase ms, sizes)."""
        enc, enc_ms, _ = common.timed(lambda: self.encrypt(x))
        q = enc.serialize()
        server_in = ts.ckks_vector_from(self.server, q)
        out, srv_ms, srv_cpu = common.timed(lambda: self.evaluate(server_in))
        r = out.serialize()
        scores, dec_ms, _ = common.timed(lambda: self.decrypt(r))
        return scores, {"encrypt": enc_ms, "server": srv_ms, "server_cpu": srv_cpu, "decrypt": dec_ms}, (len(q), len(r))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--scaled", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--label", default="", help="model name in the result (default: from the file name)")
    ap.add_argument("--runs", type=int, default=5, help="timed queries (median reported; default 5)")
    ap.add_argument("--check-rows", type=int, default=2,
                    help="untimed queries checked before timing (default 2: the rows nearest the decision "
                         "boundary); every timed query is checked too, on further rows")
    ap.add_argument("--first-bits", type=int, default=50)
    ap.add_argument("--scale-bits", type=int, default=0, help="default: largest <= 40 that fits 128-bit")
    args = ap.parse_args()

    net = common.Net(args.model, args.scaled)
    label = args.label or os.path.basename(args.model).split(".")[0].replace("cryptonet-", "")
    depth = common.network_depth(net)
    first, scale = common.default_chain(depth, first_bits=args.first_bits)
    if args.scale_bits:
        scale = args.scale_bits
    load0 = common.loadavg()
    common.log(f"tenseal {label}: depth {depth}, chain [{first}, {scale} x {depth}, {SPECIAL_BITS}], N = {N}")
    (he, setup_ms, _) = common.timed(lambda: TenSealNet(net, first, scale))
    common.log(f"setup {setup_ms / 1e3:.1f} s; Galois steps {he.steps} ({he.n_galois_keys} keys, "
               f"TenSEAL default {he.default_galois_keys}); log QP {he.log_qp}")

    order = common.row_order(net.logits)
    agreement = common.Agreement(net.logits)
    sizes = None
    for i in range(args.check_rows):
        row = order[i % len(order)]
        scores, ms, sizes = he.query(net.x[row])
        agreement.add(row, scores)
        common.log(f"check row {row}: {np.round(scores[:2], 5)} vs plaintext {np.round(net.logits[row], 5)} "
                   f"(server {ms['server'] / 1e3:.1f} s)")
    agreement.require(f"tenseal {label}")

    samples = {"encrypt": [], "server": [], "server_cpu": [], "decrypt": []}
    for i in range(args.runs):
        row = order[(args.check_rows + i) % len(order)]
        scores, ms, sizes = he.query(net.x[row])
        agreement.add(row, scores)
        for k in samples:
            samples[k].append(ms[k])
        common.log(f"run {i + 1}/{args.runs} (row {row}): server {ms['server']:.0f} ms, "
                   f"encrypt {ms['encrypt']:.1f} ms, decrypt {ms['decrypt']:.1f} ms")
    agreement.require(f"tenseal {label} (timed runs)")
    med = {k: common.stats(v).get("median") for k, v in samples.items()}
    widths = net.widths()
    result = {
        "anchor": "tenseal",
        "library": f"TenSEAL {common.versions('tenseal')['tenseal']} (Microsoft SEAL 4.1)",
        "model": label,
        "packing": "single",
        "recordings_per_batch": 1,
        "server_ms": med["server"],
        "server_cpu_ms": med["server_cpu"],
        "per_recording_ms": med["server"],
        "client_encrypt_ms": med["encrypt"],
        "client_decrypt_ms": med["decrypt"],
        "eval_key_bytes": he.relin_bytes + he.galois_bytes,
        "query_bytes": sizes[0],
        "result_bytes": sizes[1],
        **agreement.summary(),
        "timing": {k: common.stats(v) for k, v in samples.items()},
        "sizes": {
            "relin_key_bytes": he.relin_bytes,
            "galois_key_bytes": he.galois_bytes,
            "galois_keys": he.n_galois_keys,
            "galois_steps": he.steps,
            "public_context_bytes": he.public_context_bytes,
            "note": "as TenSEAL serializes them (protobuf around SEAL's default zstd-compressed objects); "
                    "keys and ciphertexts are full (not seeded); the query is encrypted with the public key",
        },
        "params": {
            "N": N, "slots": SLOTS, "coeff_mod_bit_sizes": he.chain, "moduli_bits": he.moduli_bits,
            "log_qp": he.log_qp, "scale_bits": scale, "depth": depth, "security": "SEAL tc128 (default)",
            "poly": net.poly, "widths": widths,
            "rotations_per_query": sum(w - 1 for w in widths[:-1]),
            "key_switches_per_query": sum(len(naf(st)) for w in widths[:-1] for st in range(1, w)),
            "method": "CKKSVector.mm (diagonal method, one rotation per matrix row), polyval, "
                      "ciphertext bias (encrypted once by the server); auto relin/rescale",
        },
        "setup_ms": setup_ms,
        "runs": args.runs,
        "check_rows": args.check_rows,
        "peak_rss_kb": common.peak_rss_kb(),
        "loadavg_start": load0,
        "loadavg_end": common.loadavg(),
        "threads": {**common.threads(), "tenseal_n_threads": 1},
        "versions": common.versions("tenseal"),
        "model_fingerprint": net.fingerprint,
    }
    common.write_result(args.out, result)
    common.log(f"tenseal {label} single: server {med['server']:.0f} ms (median of {args.runs}), agreement "
               f"{agreement.agree}/{agreement.n}, max |err| {agreement.max_abs_err:.2e}")


if __name__ == "__main__":
    main()
