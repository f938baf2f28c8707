#!/usr/bin/env python3
"""Time the CKKS anchor libraries (Microsoft SEAL via TenSEAL's raw `sealapi`,
and OpenFHE via its official Python bindings) on the operations of issue 4.

Every operation is timed call by call with `time.perf_counter_ns`; the two
libraries alternate in blocks so that background load on the shared machine
hits both alike. The script writes one JSON file that `aggregate.py` merges
with privox's criterion estimates.

Run it through `run.sh`, which pins the thread counts and the venv.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shlex
import subprocess
import statistics
import sys
import tempfile
import time
from importlib import metadata

import numpy as np

# ---------------------------------------------------------------- parameters

LOG_N = 14
N = 1 << LOG_N
SLOTS = N // 2
SCALE_BITS = 40
# Multiplicative depth L: Q = [60, 40 x L]. 6 by default (log Q = 300) so that
# OpenFHE, which picks two 60-bit special primes, still fits 438 bits.
DEPTH = int(os.environ.get("CKKS_BENCH_DEPTH", "6"))
Q_BITS = [60] + [SCALE_BITS] * DEPTH
# SEAL convention: the last prime of the chain is the special prime P.
CHAIN_BITS = Q_BITS + [60]
# SEAL decomposes a key switch per RNS prime of Q: dnum = number of Q primes.
DNUM = len(Q_BITS)
HOISTED_ROTATIONS = 16
# HomomorphicEncryption.org standard, 128-bit classical, ternary secret.
HE_STD_128_MAX_LOG_QP = {4096: 109, 8192: 218, 16384: 438, 32768: 881}


# Thread CPU time of the most recent timed_samples call(s): a diagnostic that
# separates time spent computing from time spent descheduled on a loaded machine.
CPU_SAMPLES = []


def timed_samples(fn, reps, pre=None, post=None):
    """Run `fn` `reps` times; return per-call wall times in nanoseconds.

    `pre` / `post` are untimed hooks (for example to undo an in-place op).
    """
    out, cpu = [], []
    for _ in range(reps):
        if pre is not None:
            pre()
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        fn()
        t1 = time.perf_counter_ns()
        c1 = time.thread_time_ns()
        if post is not None:
            post()
        out.append(t1 - t0)
        cpu.append(c1 - c0)
    CPU_SAMPLES.append(cpu)
    return out


class Op:
    """One timed operation: a callable plus optional untimed hooks."""

    def __init__(self, fn, pre=None, post=None, note=""):
        self.fn, self.pre, self.post, self.note = fn, pre, post, note


# ---------------------------------------------------------------- SEAL

def seal_galois_elt(step):
    """SEAL's Galois element for a left rotation by `step` slots: 3^step mod 2N
    (SEAL's python binding takes elements, not steps)."""
    return pow(3, step, 2 * N)


class SealBench:
    name = "seal"

    def __init__(self, values):
        import tenseal.sealapi as s

        self.s = s
        parms = s.EncryptionParameters(s.SCHEME_TYPE.CKKS)
        parms.set_poly_modulus_degree(N)
        parms.set_coeff_modulus(s.CoeffModulus.Create(N, CHAIN_BITS))
        # TC128 makes SEAL itself refuse parameters above its 128-bit table.
        self.ctx = s.SEALContext(parms, True, s.SEC_LEVEL_TYPE.TC128)
        if not self.ctx.parameters_set():
            raise RuntimeError(f"SEAL refused parameters: {self.ctx.parameters_error_message()}")
        self.moduli = [m.value() for m in parms.coeff_modulus()]
        self.scale = 2.0 ** SCALE_BITS
        keygen = s.KeyGenerator(self.ctx)
        self.sk = keygen.secret_key()
        self.pk = s.PublicKey()
        keygen.create_public_key(self.pk)
        self.rk = s.RelinKeys()
        keygen.create_relin_keys(self.rk)
        self.gk = s.GaloisKeys()
        keygen.create_galois_keys([seal_galois_elt(k) for k in range(1, HOISTED_ROTATIONS + 1)], self.gk)
        self.keygen = keygen
        self.encoder = s.CKKSEncoder(self.ctx)
        self.encryptor = s.Encryptor(self.ctx, self.pk)
        self.sym_encryptor = s.Encryptor(self.ctx, self.sk)
        self.decryptor = s.Decryptor(self.ctx, self.sk)
        self.evaluator = s.Evaluator(self.ctx)
        self.values = list(map(float, values))
        self.pt = s.Plaintext()
        self.encoder.encode(self.values, self.scale, self.pt)
        self.ct = s.Ciphertext(self.ctx)
        self.encryptor.encrypt(self.pt, self.ct)
        self.ct2 = s.Ciphertext(self.ctx)
        self.encryptor.encrypt(self.pt, self.ct2)
        self.check_correctness()

    def check_correctness(self):
        """Decrypt a product and a rotation: a wrong setup must not be timed."""
        s, ev = self.s, self.evaluator
        prod = s.Ciphertext(self.ctx)
        ev.multiply(self.ct, self.ct2, prod)
        ev.relinearize_inplace(prod, self.rk)
        ev.rescale_to_next_inplace(prod)
        rot = s.Ciphertext(self.ctx)
        ev.rotate_vector(self.ct, 1, self.gk, rot)
        for c, want in ((prod, [v * v for v in self.values]), (rot, self.values[1:] + self.values[:1])):
            p = s.Plaintext()
            self.decryptor.decrypt(c, p)
            got = self.encoder.decode_double(p)
            err = max(abs(a - b) for a, b in zip(got, want))
            if err > 1e-4:
                raise RuntimeError(f"SEAL self-check failed, max error {err}")

    def ops(self):
        s, ev = self.s, self.evaluator
        pt_out = s.Plaintext()
        ct_out = s.Ciphertext(self.ctx)
        ct_out2 = s.Ciphertext(self.ctx)
        work = s.Ciphertext(self.ctx)
        ntt_ct = s.Ciphertext(self.ctx)
        self.encryptor.encrypt(self.pt, ntt_ct)
        values = self.values

        def relin_pre():
            # relinearize is in place: rebuild the size-3 ciphertext, untimed
            # (sealapi exposes no copy constructor).
            ev.multiply(self.ct, self.ct2, work)

        def hoisted16():
            # SEAL has no hoisting: 16 independent rotations, each decomposes.
            for k in range(1, HOISTED_ROTATIONS + 1):
                ev.rotate_vector(self.ct, k, self.gk, ct_out)

        return {
            "encode": Op(lambda: self.encoder.encode(values, self.scale, pt_out),
                         note="includes pybind11 conversion of a Python list of 8192 floats"),
            "encrypt_pk": Op(lambda: self.encryptor.encrypt(self.pt, ct_out)),
            "encrypt_sk": Op(lambda: self.sym_encryptor.encrypt_symmetric(self.pt, ct_out)),
            "decrypt": Op(lambda: self.decryptor.decrypt(self.ct, pt_out),
                          note="decrypt to plaintext, no decode"),
            "decode": Op(lambda: self.encoder.decode_double(self.pt),
                         note="includes conversion to a Python list of 8192 floats"),
            "decrypt_decode": Op(lambda: self.encoder.decode_double(self._dec(pt_out))),
            "mul_ct_ct": Op(lambda: ev.multiply(self.ct, self.ct2, ct_out2), note="tensor only, size-3 result"),
            "relinearize": Op(lambda: ev.relinearize_inplace(work, self.rk), pre=relin_pre),
            "mul_relin": Op(lambda: (ev.multiply(self.ct, self.ct2, ct_out2), ev.relinearize_inplace(ct_out2, self.rk))),
            "rescale": Op(lambda: ev.rescale_to_next(self.ct, ct_out)),
            "rotate": Op(lambda: ev.rotate_vector(self.ct, 1, self.gk, ct_out), note="step 1, key for step 1 present"),
            "rotate_hoisted16": Op(hoisted16, note="NOT hoisted: SEAL has no hoisting API; 16 separate rotations (steps 1..16)"),
            "mul_ct_pt": Op(lambda: ev.multiply_plain(self.ct, self.pt, ct_out)),
            "ntt_forward_ct": Op(lambda: ev.transform_to_ntt_inplace(ntt_ct),
                                 pre=lambda: ev.transform_from_ntt_inplace(ntt_ct),
                                 note=f"forward NTT of a fresh ciphertext: 2 polys x {len(Q_BITS)} limbs"),
            "ntt_inverse_ct": Op(lambda: ev.transform_from_ntt_inplace(ntt_ct),
                                 post=lambda: ev.transform_to_ntt_inplace(ntt_ct),
                                 note=f"inverse NTT of a fresh ciphertext: 2 polys x {len(Q_BITS)} limbs"),
        }

    def _dec(self, pt_out):
        self.decryptor.decrypt(self.ct, pt_out)
        return pt_out

    def sizes(self):
        """Serialized sizes. SEAL compresses with zstd by default; we also
        decompress the payload to report the exact uncompressed size."""
        s = self.s
        res = {}
        with tempfile.TemporaryDirectory() as d:
            def measure(label, saver):
                path = os.path.join(d, label)
                saver(path)
                res[label] = seal_file_sizes(s, path)

            full_ct = s.Ciphertext(self.ctx)
            self.sym_encryptor.encrypt_symmetric(self.pt, full_ct)
            measure("ciphertext_full", full_ct.save)
            measure("ciphertext_seeded", self.sym_encryptor.encrypt_symmetric(self.pt).save)
            measure("relin_key_full", self.rk.save)
            measure("relin_key_seeded", self.keygen.create_relin_keys().save)
            one = s.GaloisKeys()
            self.keygen.create_galois_keys([seal_galois_elt(1)], one)
            measure("galois_key_full", one.save)
            measure("galois_key_seeded", self.keygen.create_galois_keys([seal_galois_elt(1)]).save)
        return res

    def params(self):
        log_q = sum(math.log2(q) for q in self.moduli[:-1])
        log_p = math.log2(self.moduli[-1])
        return {
            "library": "Microsoft SEAL 4.1 (bundled in TenSEAL, raw tenseal.sealapi)",
            "N": N,
            "q_bits": [round(math.log2(q), 2) for q in self.moduli[:-1]],
            "p_bits": [round(log_p, 2)],
            "log_q": round(log_q, 2),
            "log_qp": round(log_q + log_p, 2),
            "dnum": len(self.moduli) - 1,
            "key_switching": "RNS digit decomposition, one digit per Q prime (dnum = #Q primes = 7), one special prime P",
            "scale_bits": SCALE_BITS,
            "security_check": "SEALContext(sec_level=TC128) accepted",
            "secret": "uniform ternary; error: clipped centred normal sigma=3.2",
        }


# SEAL's SEALHeader is a fixed 16 bytes, never compressed.
SEAL_HEADER_BYTES = 16


def seal_file_sizes(s, path):
    """Bytes on disk (SEAL default compression) and uncompressed bytes."""
    on_disk = os.path.getsize(path)
    header = s.Serialization.SEALHeader()
    s.Serialization.LoadHeader(path, header, True)
    mode = header.compr_mode.name
    raw = on_disk
    if mode == "ZSTD":
        import zstandard

        with open(path, "rb") as f:
            blob = f.read()
        body = zstandard.ZstdDecompressor().decompressobj().decompress(blob[SEAL_HEADER_BYTES:])
        raw = SEAL_HEADER_BYTES + len(body)
    elif mode == "ZLIB":
        import zlib

        with open(path, "rb") as f:
            blob = f.read()
        raw = SEAL_HEADER_BYTES + len(zlib.decompress(blob[SEAL_HEADER_BYTES:]))
    return {"bytes_default": on_disk, "compression": mode, "bytes_uncompressed": raw}


# ---------------------------------------------------------------- OpenFHE

class OpenFheBench:
    def __init__(self, values, dnum=DNUM):
        import openfhe as o

        self.o = o
        self.dnum = dnum
        # The row that matches SEAL's dnum is "openfhe"; others are extra rows.
        self.name = "openfhe" if dnum == DNUM else f"openfhe_dnum{dnum}"
        p = o.CCParamsCKKSRNS()
        p.SetSecurityLevel(o.HEStd_128_classic)
        p.SetRingDim(N)
        p.SetMultiplicativeDepth(DEPTH)
        p.SetScalingModSize(SCALE_BITS)
        p.SetFirstModSize(Q_BITS[0])
        p.SetScalingTechnique(o.FIXEDMANUAL)
        p.SetKeySwitchTechnique(o.HYBRID)
        p.SetNumLargeDigits(dnum)
        p.SetBatchSize(SLOTS)
        self.param_str = str(p)
        cc = o.GenCryptoContext(p)
        for feature in (o.PKE, o.KEYSWITCH, o.LEVELEDSHE):
            cc.Enable(feature)
        if cc.GetRingDimension() != N:
            raise RuntimeError(f"OpenFHE chose ring dimension {cc.GetRingDimension()}, wanted {N}")
        self.cc = cc
        self.kp = cc.KeyGen()
        cc.EvalMultKeyGen(self.kp.secretKey)
        # One Galois key first so that its serialized size can be measured alone.
        cc.EvalRotateKeyGen(self.kp.secretKey, [1])
        self.one_galois_map = o.Serialize(cc.GetEvalAutomorphismKeyMap(self.kp.secretKey.GetKeyTag()), o.BINARY)
        cc.EvalRotateKeyGen(self.kp.secretKey, list(range(2, HOISTED_ROTATIONS + 1)))
        self.values = np.asarray(values, dtype=np.float64)
        self.pt = cc.MakeCKKSPackedPlaintext(self.values)
        self.ct = cc.Encrypt(self.kp.publicKey, self.pt)
        self.ct2 = cc.Encrypt(self.kp.publicKey, self.pt)
        self.m = cc.GetCyclotomicOrder()
        self.check_correctness()

    def check_correctness(self):
        cc, sk = self.cc, self.kp.secretKey
        prod = cc.Rescale(cc.EvalMult(self.ct, self.ct2))
        rot = cc.EvalRotate(self.ct, 1)
        pre = cc.EvalFastRotationPrecompute(self.ct)
        fast = cc.EvalFastRotation(self.ct, 3, self.m, pre)
        v = self.values
        for c, want in ((prod, v * v), (rot, np.roll(v, -1)), (fast, np.roll(v, -3))):
            pt = cc.Decrypt(sk, c)
            pt.SetLength(SLOTS)
            got = np.asarray(pt.GetRealPackedValue())
            err = float(np.max(np.abs(got - want)))
            if err > 1e-4:
                raise RuntimeError(f"OpenFHE self-check failed, max error {err}")

    def ops(self):
        cc, o = self.cc, self.o
        sk, pk = self.kp.secretKey, self.kp.publicKey
        tensor = cc.EvalMultNoRelin(self.ct, self.ct2)
        m = self.m

        def hoisted16():
            digits = cc.EvalFastRotationPrecompute(self.ct)
            for k in range(1, HOISTED_ROTATIONS + 1):
                cc.EvalFastRotation(self.ct, k, m, digits)

        return {
            "encode": Op(lambda: cc.MakeCKKSPackedPlaintext(self.values), note="numpy buffer fast path"),
            "encrypt_pk": Op(lambda: cc.Encrypt(pk, self.pt)),
            "encrypt_sk": Op(lambda: cc.Encrypt(sk, self.pt)),
            "decrypt_decode": Op(lambda: cc.Decrypt(sk, self.ct),
                                 note="OpenFHE's Decrypt always decodes"),
            "mul_ct_ct": Op(lambda: cc.EvalMultNoRelin(self.ct, self.ct2), note="tensor only, size-3 result"),
            "relinearize": Op(lambda: cc.Relinearize(tensor), note="out of place (copies the input)"),
            "mul_relin": Op(lambda: cc.EvalMult(self.ct, self.ct2), note="FIXEDMANUAL: EvalMult = tensor + relinearize, no rescale"),
            "rescale": Op(lambda: cc.Rescale(self.ct), note="out of place"),
            "rotate": Op(lambda: cc.EvalRotate(self.ct, 1)),
            "rotate_hoisted16": Op(hoisted16, note="EvalFastRotationPrecompute once + 16 x EvalFastRotation (steps 1..16)"),
            "mul_ct_pt": Op(lambda: cc.EvalMult(self.ct, self.pt)),
        }

    def sizes(self):
        o, cc = self.o, self.cc
        ct_sk = cc.Encrypt(self.kp.secretKey, self.pt)
        relin = cc.GetEvalMultKeyVector(self.kp.secretKey.GetKeyTag())[0]
        return {
            "ciphertext_full": {"bytes_default": len(o.Serialize(ct_sk, o.BINARY)), "compression": "NONE"},
            "ciphertext_seeded": None,
            "relin_key_full": {"bytes_default": len(o.Serialize(relin, o.BINARY)), "compression": "NONE"},
            "relin_key_seeded": None,
            "galois_key_full": {"bytes_default": len(self.one_galois_map), "compression": "NONE",
                                "note": "EvalKeyMap holding exactly one key (step 1)"},
            "galois_key_seeded": None,
        }

    def params(self):
        o, cc = self.o, self.cc
        log_q = math.log2(cc.GetModulus())
        relin = cc.GetEvalMultKeyVector(self.kp.secretKey.GetKeyTag())[0]
        # A hybrid key lives over Q*P: the JSON form of the relinearization key
        # lists every tower modulus, which gives the exact special primes.
        moduli = sorted({int(m) for m in re.findall(r'"cm":\s*\{\s*"v":\s*"?(\d+)', o.Serialize(relin, o.JSON))})
        log_qp = sum(math.log2(m) for m in moduli)
        n_p = len(moduli) - len(Q_BITS)
        return {
            "library": f"OpenFHE {metadata.version('openfhe')} (official Python wheel)",
            "N": N,
            "log_q": round(log_q, 2),
            "qp_bits": [round(math.log2(m), 2) for m in moduli],
            "p_primes": n_p,
            "log_qp": round(log_qp, 2),
            "dnum": self.dnum,
            "key_switching": f"HYBRID, numLargeDigits = {self.dnum}; P = {n_p} special primes, chosen by OpenFHE",
            "scale_bits": SCALE_BITS,
            "security_check": "HEStd_128_classic enforced by GenCryptoContext (it raises if N is too small for log QP)",
            "cc_params": self.param_str,
        }


# ---------------------------------------------------------------- driver

# privox criterion benchmark id (within group ckks_n<logN>) for each anchor op.
PRIVOX_BENCH_NAME = {"ntt_forward_ct": "ntt_limb", "ntt_inverse_ct": "intt_limb"}


def privox_bench_name(op):
    return PRIVOX_BENCH_NAME.get(op, op)


def read_criterion_samples(criterion_home, op):
    """Per-iteration times (ns) of criterion's samples from its last run of `op`."""
    path = os.path.join(criterion_home, f"ckks_n{LOG_N}", privox_bench_name(op), "new", "sample.json")
    try:
        with open(path) as f:
            smp = json.load(f)
    except (OSError, json.JSONDecodeError):
        return []
    return [t / n for t, n in zip(smp["times"], smp["iters"]) if n > 0]


def run_privox(cmd, cwd, op, log):
    """Run privox's criterion bench for one op (between two anchor phases)."""
    name = privox_bench_name(op)
    filt = f"^ckks_n{LOG_N}/{name}$"
    t0 = time.time()
    proc = subprocess.run(cmd + [filt], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write(proc.stdout)
    log.flush()
    if proc.returncode != 0:
        raise RuntimeError(f"privox bench for {op} failed (exit {proc.returncode}); see {log.name}")
    found = re.search(rf"ckks_n{LOG_N}/{re.escape(name)}\s+time:\s+\[([^\]]*)\]", proc.stdout)
    return (found.group(1) if found else "no estimate printed"), time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out-prefix", required=True,
                    help="writes PREFIX-1.json (anchor samples before privox) and PREFIX-2.json (after)")
    ap.add_argument("--reps", type=int, default=20, help="timed calls per block (default 20)")
    ap.add_argument("--blocks", type=int, default=2,
                    help="alternating blocks per library in each anchor phase (default 2)")
    ap.add_argument("--privox-rounds", type=int, default=3,
                    help="privox criterion runs per op, each between two anchor phases (default 3)")
    ap.add_argument("--criterion-home", default="",
                    help="CRITERION_HOME of --privox-cmd; its sample.json files are pooled across rounds")
    ap.add_argument("--openfhe-dnum", default=f"{DNUM},4",
                    help=f"comma-separated OpenFHE numLargeDigits values to time (default {DNUM},4: "
                         f"{DNUM} matches SEAL; 4 is the smallest dnum OpenFHE accepts as 128-bit here)")
    ap.add_argument("--only", default="", help="comma-separated op names (default all)")
    ap.add_argument("--privox-cmd", default="",
                    help="criterion command run for each op between the two anchor phases; the op's "
                         "id filter is appended (e.g. 'cargo bench -p privox-ckks --bench ops -- --noplot')")
    ap.add_argument("--privox-cwd", default=".", help="working directory of --privox-cmd")
    ap.add_argument("--privox-log", default="criterion.log", help="where the criterion output goes")
    args = ap.parse_args()

    rng = np.random.default_rng(20261126)
    values = rng.uniform(-1.0, 1.0, SLOTS)

    t_setup = time.time()
    libs = [SealBench(values)] + [OpenFheBench(values, int(d)) for d in args.openfhe_dnum.split(",")]
    print(f"setup + self-checks done in {time.time() - t_setup:.1f} s", file=sys.stderr)
    lib_ops = {lib.name: lib.ops() for lib in libs}
    all_ops = []
    for ops in lib_ops.values():
        all_ops += [k for k in ops if k not in all_ops]
    if args.only:
        wanted = args.only.split(",")
        all_ops = [k for k in all_ops if k in wanted]
    privox_cmd = shlex.split(args.privox_cmd)
    # Ops that privox's bench does not have (SEAL's decode-free decrypt exists there too).
    privox_skip = set()

    n_phases = args.privox_rounds + 1 if privox_cmd else 2
    phases = tuple(f"phase{i}" for i in range(1, n_phases + 1))
    privox_samples = {}
    samples = {ph: {lib.name: {} for lib in libs} for ph in phases}
    cpu_samples = {ph: {lib.name: {} for lib in libs} for ph in phases}
    load = {ph: {} for ph in phases}
    log = open(args.privox_log, "w")
    for op in all_ops:
        present = [lib for lib in libs if op in lib_ops[lib.name]]
        reps = max(2, args.reps // HOISTED_ROTATIONS) if op == "rotate_hoisted16" else args.reps
        privox_note = ""
        for i, ph in enumerate(phases):
            if i > 0 and privox_cmd and op not in privox_skip:
                est, secs = run_privox(privox_cmd, args.privox_cwd, op, log)
                privox_note += f"  privox=[{est}] ({secs:.0f} s)"
                if args.criterion_home:
                    privox_samples.setdefault(privox_bench_name(op), []).extend(
                        read_criterion_samples(args.criterion_home, op))
            load[ph].setdefault("start", os.getloadavg())
            for lib in present:  # warm-up, untimed (caches are cold after another library ran)
                o = lib_ops[lib.name][op]
                timed_samples(o.fn, 2, o.pre, o.post)
            for b in range(args.blocks):
                order = present if b % 2 == 0 else list(reversed(present))
                for lib in order:
                    o = lib_ops[lib.name][op]
                    samples[ph][lib.name].setdefault(op, []).extend(timed_samples(o.fn, reps, o.pre, o.post))
                    cpu_samples[ph][lib.name].setdefault(op, []).extend(CPU_SAMPLES.pop())
            load[ph]["end"] = os.getloadavg()
        line = "  ".join(
            f"{lib.name}={statistics.median([x for ph in phases for x in samples[ph][lib.name][op]]) / 1e6:.3f} ms"
            for lib in present)
        print(f"{op:18s} {line}{privox_note}", file=sys.stderr)
    log.close()
    if privox_samples:
        path = os.path.join(os.path.dirname(args.out_prefix) or ".", "privox-samples.json")
        with open(path, "w") as f:
            json.dump(privox_samples, f, indent=1)
        print(f"wrote {path}", file=sys.stderr)

    common = {
        "sizes": {lib.name: lib.sizes() for lib in libs},
        "params": {lib.name: lib.params() for lib in libs},
        "versions": {
            "python": platform.python_version(),
            "tenseal": metadata.version("tenseal"),
            "openfhe": metadata.version("openfhe"),
            "numpy": metadata.version("numpy"),
        },
        "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "RAYON_NUM_THREADS")},
        "affinity": sorted(os.sched_getaffinity(0)),
        "he_std_128_max_log_qp": HE_STD_128_MAX_LOG_QP[N],
        "privox_interleaved": bool(privox_cmd),
    }
    for i, ph in enumerate(phases, start=1):
        result = {
            "phase": ph,
            "timings": {
                lib.name: {
                    op: {
                        "median_ns": statistics.median(v),
                        "p25_ns": float(np.percentile(v, 25)),
                        "p75_ns": float(np.percentile(v, 75)),
                        "min_ns": min(v),
                        "n": len(v),
                        "samples_ns": v,
                        "cpu_samples_ns": cpu_samples[ph][lib.name][op],
                        "note": lib_ops[lib.name][op].note,
                    }
                    for op, v in samples[ph][lib.name].items()
                }
                for lib in libs
            },
            "loadavg": {"before": load[ph].get("start", os.getloadavg()), "after": load[ph].get("end", os.getloadavg())},
            **common,
        }
        path = f"{args.out_prefix}-{i}.json"
        with open(path, "w") as f:
            json.dump(result, f, indent=1)
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
