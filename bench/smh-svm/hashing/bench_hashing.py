"""numpy anchors vs privox-smh for SMH hashing and the RBF-Hamming Gram, in one run.

Run through run.sh (it builds the privox example in release mode first).
Timings are best-of-REPS, and numpy and privox alternate over ROUNDS rounds so
that noise from other jobs on the shared machine hits both sides alike.
Nothing derived from the openSMILE CSVs is written outside bench/**/out/.
"""
import csv
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
OUT = HERE.parent / "out"
K, DELTA, MPC = 3, 2.0, 32
GRAM_N, GAMMA = 1500, 1.0
REPS, ROUNDS = 5, 3


def shared_dir():
    env = os.environ.get("PRIVOX_SHARED")
    p = Path(env) if env else ROOT.parent / "shared"
    return p if p.is_dir() else None


def load_real():
    """Min-max scaled eGeMAPS rows of nEMO and EmoDB (openSMILE reference CSVs)."""
    sd = shared_dir()
    rows = []
    if sd is None:
        return None
    for corpus in ("nemo", "emodb"):
        f = sd / "data" / corpus / "egemaps_v02_opensmile.csv"
        if f.is_file():
            with open(f, newline="") as fh:
                r = csv.reader(fh)
                next(r)
                rows += [[float(v) for v in row[3:]] for row in r]
    if not rows:
        return None
    x = np.asarray(rows, dtype=np.float64)
    lo, hi = x.min(0), x.max(0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return np.ascontiguousarray(2.0 * (x - lo) / span - 1.0)


def numpy_key(a, w):
    """numpy's once-per-key preparation (outside the timed region, like privox's
    cached kernel layout): (A/Δ)ᵀ contiguous and w/Δ, so no division pass per call."""
    return np.ascontiguousarray((a / DELTA).T), w / DELTA


def numpy_hash(x, key):
    """The natural numpy form: one GEMM, then in-place `+= w/Δ`, `floor`, `mod k`."""
    at, wd = key
    p = x @ at
    p += wd
    np.floor(p, out=p)
    np.mod(p, K, out=p)
    return p.astype(np.uint8)


def numpy_hash_fast_mod(x, key):
    """Hand-tuned numpy (informative): `mod k` as q − k·floor(q/k), which avoids
    np.mod's slow floating-point remainder; same codes as `numpy_hash`."""
    at, wd = key
    p = x @ at
    p += wd
    np.floor(p, out=p)
    t = np.divide(p, K)
    np.floor(t, out=t)
    t *= K
    p -= t
    return p.astype(np.uint8)


def gram_simplex(codes):
    """Codes embedded as regular-simplex vertices in R^(k-1): one float32 GEMM gives agreements."""
    n, m = codes.shape
    centered = np.eye(K) - 1.0 / K
    basis = np.linalg.svd(centered)[0][:, : K - 1]  # orthonormal basis of the simplex plane
    table = (centered @ basis).astype(np.float32)  # row s = vertex of symbol s
    e = table[codes].reshape(n, m * (K - 1))
    dot = e @ e.T  # same symbol: 1 - 1/k, different: -1/k
    agree = np.rint(dot + m / K)
    d = 1.0 - agree / m
    return np.exp(-GAMMA * d * d)


def gram_onehot(codes):
    n, m = codes.shape
    e = np.zeros((n, m * K), dtype=np.float32)
    e[np.arange(n)[:, None], np.arange(m)[None, :] * K + codes] = 1.0
    agree = e @ e.T
    d = 1.0 - agree / m
    return np.exp(-GAMMA * d * d)


def gram_bitcount(codes):
    """Bit-planes packed into uint64 and np.bitwise_count over XOR/OR, row block by row block."""
    n, m = codes.shape
    planes = [np.packbits(((codes >> p) & 1).astype(np.uint8), axis=1, bitorder="little") for p in range(2)]
    pad = (-planes[0].shape[1]) % 8
    planes = [np.pad(q, ((0, 0), (0, pad))).view(np.uint64) for q in planes]
    out = np.empty((n, n), dtype=np.float64)
    blk = 64
    for i in range(0, n, blk):
        diff = (planes[0][i : i + blk, None, :] ^ planes[0][None, :, :]) | (
            planes[1][i : i + blk, None, :] ^ planes[1][None, :, :]
        )
        cnt = np.bitwise_count(diff).sum(axis=2, dtype=np.int64)
        d = cnt / m
        out[i : i + blk] = np.exp(-GAMMA * d * d)
    return out


def best(f, reps):
    t_best, res = float("inf"), None
    for _ in range(reps):
        t = time.perf_counter()
        res = f()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best, res


def run_privox(binary, path, dim, gram_n, kernel="auto"):
    env = dict(os.environ, PRIVOX_SMH_KERNEL=kernel)
    out = subprocess.run([binary, str(path), str(dim), str(gram_n), str(REPS)], check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout)


def main():
    binary = sys.argv[1]
    load_start = os.getloadavg()[0]
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2026)
    real = load_real()
    datasets = []
    if real is not None:
        datasets.append(("eGeMAPS nEMO+EmoDB (scaled)", real))
    else:
        print("skipping real features: ../shared/data/*/egemaps_v02_opensmile.csv not found", file=sys.stderr)
        datasets.append(("synthetic U[-1,1]^88 n=5000", rng.uniform(-1, 1, size=(5000, 88))))
    datasets.append(("synthetic U[-1,1]^88 n=20000", rng.uniform(-1, 1, size=(20000, 88))))

    results = []
    for name, x in datasets:
        n, dim = x.shape
        m = MPC * dim
        a = rng.standard_normal((m, dim))
        w = rng.uniform(0, K * DELTA, size=m)
        path = OUT / f"hashing_x_{n}.f64"
        x.astype("<f8").tofile(path)
        key = numpy_key(a, w)
        np_hash_t, np_fast_t, np_gram = float("inf"), float("inf"), {}
        pv_hash_t, pv_cold_t, pv_gram_t, pv64_hash_t = (float("inf"),) * 4
        codes = numpy_hash(x, key)
        if not np.array_equal(codes, numpy_hash_fast_mod(x, key)):
            raise SystemExit("numpy fast-mod hashing disagrees with np.mod")
        sub = codes[:GRAM_N]
        do_gram = len(results) == 0  # Gram on the first (real) data set only
        for _ in range(ROUNDS):
            t, _ = best(lambda: numpy_hash(x, key), REPS)
            np_hash_t = min(np_hash_t, t)
            t, _ = best(lambda: numpy_hash_fast_mod(x, key), REPS)
            np_fast_t = min(np_fast_t, t)
            if do_gram:
                ref = None
                for gname, g in (("simplex-GEMM", gram_simplex), ("one-hot-GEMM", gram_onehot), ("bitwise_count", gram_bitcount)):
                    t, val = best(lambda: g(sub), max(2, REPS // 2))
                    np_gram[gname] = min(np_gram.get(gname, float("inf")), t)
                    if ref is None:
                        ref = val
                    elif not np.allclose(ref, val, atol=1e-9):
                        raise SystemExit(f"numpy Gram formulations disagree ({gname})")
            pv = run_privox(binary, path, dim, GRAM_N)
            pv_hash_t = min(pv_hash_t, pv["hash_s"])
            pv_cold_t = min(pv_cold_t, pv["hash_cold_s"])
            pv64_hash_t = min(pv64_hash_t, run_privox(binary, path, dim, 2, "f64")["hash_s"])
            pv_gram_t = min(pv_gram_t, pv["gram_s"])
        results.append(dict(name=name, n=n, dim=dim, m=m, np_hash=np_hash_t, np_fast=np_fast_t, pv_hash=pv_hash_t,
                            pv_cold=pv_cold_t, pv64_hash=pv64_hash_t,
                            np_gram=np_gram if do_gram else None, pv_gram=pv_gram_t if do_gram else None,
                            threads=pv["threads"], gram_n=min(GRAM_N, n)))
    write_report(results, load_start, os.getloadavg()[0])


def write_report(results, load_start, load_end):
    lines = [
        "# SMH hashing and RBF-Hamming Gram: privox vs numpy (same run)",
        "",
        "Generated by `bash bench/smh-svm/hashing/run.sh`; do not edit by hand.",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} logical CPUs (shared with other builds), "
        f"numpy {np.__version__} (OpenBLAS), Python {platform.python_version()}; privox rayon threads: {results[0]['threads']}.",
        f"- Parameters: k = {K}, Δ = {DELTA}, mpc = {MPC}; Gram γ = {GAMMA}. Best of {REPS} repetitions, "
        f"{ROUNDS} alternating rounds (numpy, privox, numpy, ...). 1-minute load average at start / end: "
        f"{load_start:.2f} / {load_end:.2f} (above ~0.5 other jobs shared the CPUs: ratios are then noisy).",
        "- numpy hashing: `X @ (A/Δ).T` (float64 GEMM) then in-place `+= w/Δ`, `floor`, `mod k`, cast to uint8;",
        "  `(A/Δ).T` (contiguous) and `w/Δ` are prepared once per key outside the timed region.",
        "  privox (default): AVX-512 f32 register-blocked product (6 rows × 64 symbols) fused with floor/mod k/bit-plane",
        "  packing, with every projection closer to a cell boundary than the proven f32 error bound recomputed in f64, so",
        "  the codes equal the f64 computation's. Its kernel layout of the key (A/(kΔ) packed in f32 panels) is built on",
        "  a key's first use and cached with the key, so like numpy's preparation it is outside `privox s`;",
        "  `privox cold s` is the first call with a fresh key, layout building included.",
        "  privox f64 (`PRIVOX_SMH_KERNEL=f64`): the all-f64 AVX-512 kernel, for comparison.",
        "- numpy fast-mod (informative, not the acceptance anchor): the same hashing with `mod k` written as",
        "  `q - k*floor(q/k)` (checked to give the same codes), which avoids np.mod's slow float remainder; it shows",
        "  how much of the ratio comes from np.mod.",
        "- numpy Gram: three formulations, all checked equal; the ratio uses the fastest. privox: packed bit-planes,",
        "  32 × 32 tiles on and below the diagonal (each also written mirrored), AVX-512 XOR/OR + popcount,",
        "  exp via an (M+1)-entry lookup table, written straight into the n × n float64 output.",
        "",
        "## Hashing throughput",
        "",
        "| data | n × L | M | numpy s | privox s | privox cold s | privox f64 s | numpy vectors/s | privox vectors/s | ratio (privox/numpy) | ratio cold key | ratio f64 kernel | numpy fast-mod s | ratio vs fast-mod |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {r['n']} × {r['dim']} | {r['m']} | {r['np_hash']:.4f} | {r['pv_hash']:.4f} | {r['pv_cold']:.4f} | {r['pv64_hash']:.4f} | "
            f"{r['n'] / r['np_hash']:.0f} | {r['n'] / r['pv_hash']:.0f} | **{r['np_hash'] / r['pv_hash']:.1f}×** | {r['np_hash'] / r['pv_cold']:.1f}× | "
            f"{r['np_hash'] / r['pv64_hash']:.1f}× | {r['np_fast']:.4f} | {r['np_fast'] / r['pv_hash']:.1f}× |"
        )
    g = results[0]
    fastest = min(g["np_gram"], key=g["np_gram"].get)
    lines += [
        "",
        f"## RBF-Hamming Gram, n = {g['gram_n']} (train × train), from codes of the first data set",
        "",
        "| implementation | seconds | privox speed-up |",
        "|---|---|---|",
    ]
    for name, t in sorted(g["np_gram"].items(), key=lambda kv: kv[1]):
        lines.append(f"| numpy {name}{' (fastest)' if name == fastest else ''} | {t:.4f} | {t / g['pv_gram']:.1f}× |")
    lines.append(f"| privox `rbf_hamming_gram_symmetric` | {g['pv_gram']:.4f} | 1× |")
    lines += [
        "",
        f"Acceptance: hashing ≥ 20× numpy — measured {min(r['np_hash'] / r['pv_hash'] for r in results):.1f}× (worst data set); "
        f"Gram ≥ 10× the fastest numpy — measured {g['np_gram'][fastest] / g['pv_gram']:.1f}×.",
        "",
    ]
    (HERE.parent / "RESULTS-hashing.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
