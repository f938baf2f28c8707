"""Writes bench/cryptonet/RESULTS.md from the JSON files of one run.sh run.

Reads OUT/{privox,tenseal,openfhe}-{p2,p4,p6}-{single,batch}[-t2].json,
OUT/machine.txt and OUT/loadavg.txt. A missing file (privox example not built
yet, an anchor skipped or failed) is a "—" cell, never an error.

  venv/bin/python aggregate.py --out-dir out --results RESULTS.md
"""

import argparse
import json
import os
import sys

MODELS = ("p2", "p4", "p6")
IMPLS = ("privox", "tenseal", "openfhe")
NAMES = {"privox": "privox", "tenseal": "TenSEAL", "openfhe": "OpenFHE"}
DASH = "—"


def load(out_dir):
    res = {}
    for impl in IMPLS:
        for m in MODELS:
            for packing in ("single", "batch"):
                for suffix, threads in (("", 1), ("-t2", 2)):
                    path = os.path.join(out_dir, f"{impl}-{m}-{packing}{suffix}.json")
                    try:
                        with open(path) as f:
                            res[(impl, m, packing, threads)] = json.load(f)
                    except FileNotFoundError:
                        pass
                    except (OSError, json.JSONDecodeError) as e:
                        print(f"warning: cannot read {path}: {e}", file=sys.stderr)
    return res


def num(r, key):
    if r is None:
        return None
    v = r.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def per_recording(r):
    if r is None:
        return None
    for key in ("per_recording_ms", "server_ms_per_recording"):  # anchors / privox example
        v = num(r, key)
        if v is not None:
            return v
    ms, n = num(r, "server_ms"), num(r, "recordings_per_batch")
    return ms / n if ms is not None and n else None


def fmt_ms(v):
    if v is None:
        return DASH
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0 or a == 0:
        return DASH
    r = a / b
    if r >= 0.1:
        return f"{r:.2f}x"
    return f"{r:.3g}x (1/{b / a:,.0f})"


def fmt_bytes(v):
    if v is None:
        return DASH
    if v >= 1e6:
        return f"{v / 1e6:,.1f} MB"
    if v >= 1e3:
        return f"{v / 1e3:,.1f} kB"
    return f"{v:.0f} B"


def fmt_agree(r):
    if r is None:
        return DASH
    a = num(r, "agreement")
    if a is None:
        return DASH
    pct = a if a > 1.0 else 100.0 * a  # fraction (anchors) or percent
    rows = r.get("agreement_rows", r.get("rows"))  # anchors / privox example
    err = num(r, "max_abs_err")
    s = f"{pct:.2f} %"
    if rows is not None:
        s += f" of {rows}"
    if err is not None:
        s += f", {err:.1e}"
    return s


def runs_of(r):
    if r is None:
        return ""
    t = r.get("timing", {}).get("server", {})
    n = t.get("n") or r.get("runs")
    return f" ({n})" if n else ""


def read_text(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def section_single(res, lines):
    g = lambda impl, m, t=1: res.get((impl, m, "single", t))  # noqa: E731
    lines += [
        "## Single query: one recording per query",
        "",
        "Server-side evaluation of one encrypted query, **milliseconds, median** (number of timed runs in "
        "parentheses), one thread. Ratios are privox / anchor: below 1 means privox is faster.",
        "",
        "| model | privox | TenSEAL | OpenFHE | privox / TenSEAL | privox / OpenFHE | privox, 2 threads | 2-thread speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in MODELS:
        p, t, o, p2 = g("privox", m), g("tenseal", m), g("openfhe", m), g("privox", m, 2)
        ps, ts, os_, p2s = (num(x, "server_ms") for x in (p, t, o, p2))
        lines.append(f"| {m} | {fmt_ms(ps)}{runs_of(p)} | {fmt_ms(ts)}{runs_of(t)} | {fmt_ms(os_)}{runs_of(o)} | "
                     f"{fmt_ratio(ps, ts)} | {fmt_ratio(ps, os_)} | {fmt_ms(p2s)}{runs_of(p2)} | "
                     f"{fmt_ratio(ps, p2s)} |")
    lines += [""]
    section_common(res, lines, "single", ("privox", "tenseal", "openfhe"))


def section_batch(res, lines):
    g = lambda impl, m, t=1: res.get((impl, m, "batch", t))  # noqa: E731
    lines += [
        "## Batch: SIMD over recordings",
        "",
        "One batch of encrypted recordings (slot j = recording j), one thread. **Per recording** = batch time / "
        "recordings per batch; the ratio compares per-recording times, so batches of different sizes compare "
        "fairly. TenSEAL has no batched anchor (optional; see README.md).",
        "",
        "| model | privox batch ms | OpenFHE batch ms | privox recordings | OpenFHE recordings | privox ms / recording "
        "| OpenFHE ms / recording | privox / OpenFHE | privox, 2 threads, ms / recording | 2-thread speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in MODELS:
        p, o, p2 = g("privox", m), g("openfhe", m), g("privox", m, 2)
        pr, orr, p2r = per_recording(p), per_recording(o), per_recording(p2)
        n = lambda r: DASH if num(r, "recordings_per_batch") is None else f"{num(r, 'recordings_per_batch'):.0f}"  # noqa: E731
        lines.append(f"| {m} | {fmt_ms(num(p, 'server_ms'))}{runs_of(p)} | {fmt_ms(num(o, 'server_ms'))}{runs_of(o)} | "
                     f"{n(p)} | {n(o)} | {fmt_ms(pr)} | {fmt_ms(orr)} | {fmt_ratio(pr, orr)} | "
                     f"{fmt_ms(p2r)} | {fmt_ratio(pr, p2r)} |")
    lines += [""]
    section_common(res, lines, "batch", ("privox", "openfhe"))


def section_common(res, lines, packing, impls):
    g = lambda impl, m: res.get((impl, m, packing, 1))  # noqa: E731
    head = " | ".join(NAMES[i] for i in impls)
    sep = "|".join("---:" for _ in impls)
    lines += [
        f"Decisions ({packing}): share of checked recordings whose decrypted argmax equals the plaintext "
        "network's, out of how many (batch: every slot of every batch evaluated), and the largest "
        "|decrypted score − plaintext score|. The anchors check before they time and check every timed "
        "query too.",
        "",
        f"| model | {head} |",
        f"|---|{sep}|",
    ]
    for m in MODELS:
        lines.append(f"| {m} | " + " | ".join(fmt_agree(g(i, m)) for i in impls) + " |")
    lines += [
        "",
        f"Client side ({packing}), milliseconds, median: encrypt (encode + encrypt the query) / decrypt (decrypt + decode the result).",
        "",
        f"| model | {head} |",
        f"|---|{sep}|",
    ]
    for m in MODELS:
        cells = []
        for i in impls:
            r = g(i, m)
            cells.append(DASH if r is None else
                         f"{fmt_ms(num(r, 'client_encrypt_ms'))} / {fmt_ms(num(r, 'client_decrypt_ms'))}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Sizes ({packing}), serialized: evaluation keys (relinearization + Galois) / query / result "
        "(MB = 10^6 bytes).",
        "",
        f"| model | {head} |",
        f"|---|{sep}|",
    ]
    for m in MODELS:
        cells = []
        for i in impls:
            r = g(i, m)
            cells.append(DASH if r is None else " / ".join(
                fmt_bytes(num(r, k)) for k in ("eval_key_bytes", "query_bytes", "result_bytes")))
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    cpu = [(i, m, num(g(i, m), "server_cpu_ms")) for i in impls for m in MODELS]
    if any(v is not None for *_, v in cpu):
        lines += [
            "",
            f"Diagnostic ({packing}): server **CPU** time of the same runs, ms, median (process CPU time; on a "
            "loaded machine wall time includes time spent descheduled).",
            "",
            f"| model | {head} |",
            f"|---|{sep}|",
        ]
        for m in MODELS:
            lines.append(f"| {m} | " + " | ".join(fmt_ms(num(g(i, m), "server_cpu_ms")) for i in impls) + " |")
    lines += [""]


def section_params(res, lines):
    lines += ["## Parameters (as each implementation reports them)", ""]
    for m in MODELS:
        for packing in ("single", "batch"):
            r = res.get(("privox", m, packing, 1))
            if r is not None and r.get("plan"):
                lines.append(f"- privox {m} {packing}: {r['plan']}")
    for impl in ("tenseal", "openfhe"):
        for m in MODELS:
            for packing in ("single", "batch"):
                r = res.get((impl, m, packing, 1))
                if r is None:
                    continue
                p = r.get("params", {})
                if impl == "tenseal":
                    desc = (f"N = {p.get('N')}, moduli {p.get('coeff_mod_bit_sizes')} bits (log QP {p.get('log_qp')}), "
                            f"scale 2^{p.get('scale_bits')}, depth {p.get('depth')}, "
                            f"{r.get('sizes', {}).get('galois_keys')} Galois keys {r.get('sizes', {}).get('galois_steps')}, "
                            f"{p.get('rotations_per_query')} rotations = {p.get('key_switches_per_query')} key switches per query")
                else:
                    desc = (f"N = {p.get('N')}, log Q {p.get('log_q')}, log QP {p.get('log_qp')} "
                            f"({p.get('p_primes')} special prime), dnum {p.get('dnum')}, depth {p.get('depth')}, "
                            f"{p.get('scaling')}")
                    if packing == "single":
                        desc += (f", BSGS n = {p.get('n')}, {len(p.get('rotation_keys', []))} rotation keys, "
                                 f"{p.get('hoisted_rotations_per_query')} hoisted + {p.get('giant_rotations_per_query')} "
                                 f"giant rotations and {p.get('plaintext_products_per_query')} plaintext products per query")
                lines.append(f"- {NAMES[impl]} {m} {packing}: {desc}; {r.get('library', '')}; "
                             f"peak RSS {r.get('peak_rss_kb', 0) / 1e6:.2f} GB")
    lines += [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--results", required=True)
    args = ap.parse_args()
    res = load(args.out_dir)
    machine = read_text(os.path.join(args.out_dir, "machine.txt"))
    loads = read_text(os.path.join(args.out_dir, "loadavg.txt"))
    has_privox = any(k[0] == "privox" for k in res)
    lines = [
        "# Encrypted cryptonet inference: privox vs TenSEAL and OpenFHE",
        "",
        "Generated by `bench/cryptonet/aggregate.py` from one invocation of `bench/cryptonet/run.sh`; do not edit "
        "by hand. What is measured and how each anchor is built: [README.md](README.md).",
        "",
        "The network: 88 scaled eGeMAPS features → affine 100 → polynomial → affine 50 → polynomial → affine 2 "
        "(batch-norm folded), HE-aware models p2 / p4 / p6 trained on EmoDB neutral vs angry (seed 1); the 206 "
        "neutral/angry recordings are the queries. CKKS at 128-bit security, N = 2^14 for both anchors.",
        "",
    ]
    if "QUICK=1" in machine:
        lines += ["**QUICK smoke test (1-2 timed runs, few checked rows): these numbers are not the timed "
                  "benchmark.**", ""]
    if not has_privox:
        lines += ["**The privox example (`privox-cryptonet --example bench`) produced no results in this run; "
                  "privox cells are —.**", ""]
    section_single(res, lines)
    section_batch(res, lines)
    section_params(res, lines)
    lines += ["## Machine and load", "", "```", machine, "```", ""]
    if loads:
        lines += ["`uptime` before each step:", "", "```", loads, "```", ""]
    with open(args.results, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    print(f"wrote {args.results} ({len(res)} result files)", file=sys.stderr)


if __name__ == "__main__":
    main()
