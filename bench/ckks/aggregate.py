#!/usr/bin/env python3
"""Merge anchor timings (anchors.py) and privox criterion estimates into
bench/ckks/RESULTS.md.

  aggregate.py collect-criterion --criterion-dir target/criterion --since EPOCH --out privox.json
  aggregate.py report --out-dir bench/ckks/out --results bench/ckks/RESULTS.md

Only standard library, so it runs with any Python 3.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import statistics
import sys

# Rows of the comparison, in display order:
#   key, label, privox target ratio (vs the faster anchor), in acceptance list?
OPS = [
    ("encode", "encode (8192 real slots, top level)", 1.0),
    ("encrypt_pk", "encrypt, public key", 1.0),
    ("encrypt_sk", "encrypt, secret key", 1.0),
    ("decrypt", "decrypt (no decode)", 1.0),
    ("decode", "decode (8192 real slots)", 1.0),
    ("decrypt_decode", "decrypt + decode", 1.0),
    ("mul_relin", "ct-ct multiply + relinearize", 0.5),
    ("mul_ct_ct", "ct-ct multiply (tensor only)", 1.0),
    ("relinearize", "relinearize", 0.5),
    ("rescale", "rescale", 1.0),
    ("rotate", "rotate (1 step)", 0.5),
    ("rotate_hoisted16", "rotate, hoisted x16 (steps 1..16)", 1.0),
    ("mul_ct_pt", "ct-pt multiply", 1.0),
    ("ntt_limb", "NTT, one 2^14-point limb (forward)", 0.5),
    ("ntt_inverse_limb", "NTT, one 2^14-point limb (inverse)", 0.5),
]
OP_KEYS = {k for k, _, _ in OPS}

# How a privox criterion id maps onto an op key: first matching regex wins.
# Ids are matched lowercased against "group/function/parameter".
PRIVOX_ID_PATTERNS = [
    ("rotate_hoisted16", r"hoist"),
    ("mul_relin", r"(mul|mult|multiply)[_ -]?(and[_ -]?)?relin|mul_ct_ct_relin|ct_ct.*relin"),
    ("relinearize", r"relin"),
    ("mul_ct_pt", r"(ct[_-]?pt|plain)"),
    ("mul_ct_ct", r"(mul|mult|multiply|tensor)"),
    ("rescale", r"rescale"),
    ("rotate", r"rotat"),
    ("decrypt_decode", r"decrypt.*decode"),
    ("decrypt", r"decrypt"),
    ("encrypt_sk", r"encrypt.*(sk|secret|symmetric)"),
    ("encrypt_pk", r"encrypt"),
    ("decode", r"decode"),
    ("encode", r"encode"),
    ("ntt_inverse_limb", r"(intt|inverse[_ -]?ntt|ntt.*(inv|backward))"),
    ("ntt_limb", r"ntt"),
]

ANCHOR_LIBS = ["seal", "openfhe"]  # same-dnum anchors (dnum = #Q primes = 7)


def cmd_collect(args):
    """Read criterion's estimates.json files written since --since."""
    rows = {}
    for est in glob.glob(os.path.join(args.criterion_dir, "**", "new", "estimates.json"), recursive=True):
        if os.path.getmtime(est) < args.since:
            continue
        bench_json = os.path.join(os.path.dirname(est), "benchmark.json")
        try:
            with open(bench_json) as f:
                full_id = json.load(f)["full_id"]
        except (OSError, KeyError, json.JSONDecodeError):
            full_id = os.path.relpath(os.path.dirname(os.path.dirname(est)), args.criterion_dir)
        with open(est) as f:
            e = json.load(f)
        p10 = None
        try:
            with open(os.path.join(os.path.dirname(est), "sample.json")) as f:
                smp = json.load(f)
            per_iter = sorted(t / n for t, n in zip(smp["times"], smp["iters"]) if n > 0)
            p10 = percentile(per_iter, 10)
        except (OSError, KeyError, json.JSONDecodeError, ValueError):
            pass
        rows[full_id] = {
            "p10_ns": p10,
            "median_ns": e["median"]["point_estimate"],
            "median_ci_ns": [e["median"]["confidence_interval"]["lower_bound"],
                             e["median"]["confidence_interval"]["upper_bound"]],
            "mean_ns": e["mean"]["point_estimate"],
        }
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=1, sort_keys=True)
    print(f"collected {len(rows)} criterion estimates into {args.out}", file=sys.stderr)


def percentile(sorted_values, q):
    """Linear-interpolated percentile of an already sorted list."""
    if not sorted_values:
        raise ValueError("empty")
    k = (len(sorted_values) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def classify_privox(full_id):
    low = full_id.lower()
    # The privox bench uses the same names as anchors.py: exact match first.
    last = low.rsplit("/", 1)[-1]
    if last in OP_KEYS:
        return last
    for key, pat in PRIVOX_ID_PATTERNS:
        if re.search(pat, low):
            return key
    return None


def is_n14(full_id):
    low = full_id.lower()
    return bool(re.search(r"16384|2\^14|n14|logn14|n=14|2_14", low))


def fmt_ms(ns):
    if ns is None:
        return "—"
    ms = ns / 1e6
    return f"{ms:.3f}" if ms < 10 else f"{ms:.2f}" if ms < 100 else f"{ms:.1f}"


def load_anchor_rounds(out_dir):
    rounds = []
    for path in sorted(glob.glob(os.path.join(out_dir, "anchors-*.json"))):
        with open(path) as f:
            rounds.append(json.load(f))
    if not rounds:
        sys.exit(f"no anchors-*.json in {out_dir}: run bench/ckks/run.sh first")
    return rounds


def merge_anchor_timings(rounds):
    """Median over all samples of all rounds, plus per-round medians."""
    merged = {}
    for r in rounds:
        for lib, ops in r["timings"].items():
            for op, t in ops.items():
                m = merged.setdefault(lib, {}).setdefault(
                    op, {"samples": [], "cpu_samples": [], "round_medians": [], "note": t["note"]})
                m["samples"].extend(t["samples_ns"])
                m["cpu_samples"].extend(t.get("cpu_samples_ns", []))
                m["round_medians"].append(t["median_ns"])
    for ops in merged.values():
        for m in ops.values():
            m["median_ns"] = statistics.median(m["samples"])
            m["p10_ns"] = percentile(sorted(m["samples"]), 10)
            m["cpu_median_ns"] = statistics.median(m["cpu_samples"]) if m["cpu_samples"] else None
    return merged


def anchor_ns(merged, lib, op, num_q, field="median_ns"):
    """Median time of `op` in `lib`, deriving per-limb NTT from SEAL's
    whole-ciphertext transform (2 polynomials x num_q limbs)."""
    ops = merged.get(lib, {})
    if op == "ntt_limb" and "ntt_forward_ct" in ops:
        v = ops["ntt_forward_ct"][field]
        return None if v is None else v / (2 * num_q)
    if op == "ntt_inverse_limb" and "ntt_inverse_ct" in ops:
        v = ops["ntt_inverse_ct"][field]
        return None if v is None else v / (2 * num_q)
    if op in ops:
        return ops[op][field]
    return None


def anchor_values(merged, key, num_q, field, extra_libs):
    """One operation's anchor values (None where unmeasured): the same-setting
    libraries (ANCHOR_LIBS order) and the extra OpenFHE dnum variants."""
    return ([anchor_ns(merged, lib, key, num_q, field) for lib in ANCHOR_LIBS],
            [anchor_ns(merged, lib, key, num_q, field) for lib in extra_libs])


def ratios(p, same, extra):
    """privox over the fastest same-setting anchor, and over the fastest of all
    (strict); None where privox or every anchor is missing."""
    sv = [v for v in same if v is not None]
    av = sv + [v for v in extra if v is not None]
    ratio = p / min(sv) if p is not None and sv and min(sv) else None
    strict = p / min(av) if p is not None and av and min(av) else None
    return ratio, strict


def fmt_ratio(r):
    return "—" if r is None else f"{r:.2f}x"


def cmd_report(args):
    rounds = load_anchor_rounds(args.out_dir)
    merged = merge_anchor_timings(rounds)
    extra_libs = sorted(lib for lib in merged if lib not in ANCHOR_LIBS)

    privox_raw = {}
    privox_path = os.path.join(args.out_dir, "privox-criterion.json")
    if os.path.exists(privox_path):
        with open(privox_path) as f:
            privox_raw = json.load(f)
    # Prefer ids that name N = 2^14 when the bench covers several N.
    ids = list(privox_raw)
    if any(is_n14(i) for i in ids):
        ids = [i for i in ids if is_n14(i)]
    # Criterion samples pooled over the interleaved privox rounds (anchors.py).
    pooled = {}
    pooled_path = os.path.join(args.out_dir, "privox-samples.json")
    if os.path.exists(pooled_path):
        with open(pooled_path) as f:
            pooled = json.load(f)
    privox = {}
    unmapped = []
    for full_id in sorted(ids):
        key = classify_privox(full_id)
        if key is None or key in privox:
            unmapped.append(full_id)
            continue
        privox[key] = {"id": full_id, **privox_raw[full_id]}
        smp = sorted(pooled.get(full_id.rsplit("/", 1)[-1], []))
        if smp:
            privox[key]["median_ns"] = statistics.median(smp)
            privox[key]["p10_ns"] = percentile(smp, 10)
            privox[key]["pooled_n"] = len(smp)

    machine = ""
    mpath = os.path.join(args.out_dir, "machine.txt")
    if os.path.exists(mpath):
        with open(mpath) as f:
            machine = f.read().strip()

    r0 = rounds[-1]
    num_q = len(r0["params"]["seal"]["q_bits"])
    q_desc = f"[60, 40 x {num_q - 1}]"
    lines = []
    w = lines.append
    w("# CKKS: privox-ckks vs Microsoft SEAL and OpenFHE")
    w("")
    w("Generated by `bench/ckks/aggregate.py` from one invocation of `bench/ckks/run.sh`; "
      "do not edit by hand. Methodology and parameter mapping: [README.md](README.md).")
    w("")
    w(f"Single-threaded (`OMP_NUM_THREADS=1`, `RAYON_NUM_THREADS=1`), N = 2^14, Q = {q_desc} bits, "
      "scale 2^40, all three libraries at the same Q chain. Times are medians in **milliseconds**. "
      "For every operation the anchors and privox's criterion bench (that operation alone) alternate: "
      "anchor phase, privox, anchor phase, privox, ... Anchor medians pool all phases; the privox "
      "median pools criterion's per-iteration sample means over all its rounds.")
    w("")
    w("**Ratio** = privox / faster same-dnum anchor (SEAL, or OpenFHE at dnum 7). "
      "**Strict** = privox / fastest anchor configuration measured at all, including OpenFHE at dnum 4 "
      "(fewer digits, so faster key switching, still 128-bit at this chain).")
    w("")
    head = "| operation | privox | SEAL | OpenFHE dnum 7 |"
    sep = "|---|---:|---:|---:|"
    for lib in extra_libs:
        head += f" OpenFHE {lib.replace('openfhe_dnum', 'dnum ')} |"
        sep += "---:|"
    head += " ratio | strict | target | result |"
    sep += "---:|---:|---:|:---:|"
    w(head)
    w(sep)
    summary = []
    for key, label, target in OPS:
        p = privox.get(key, {}).get("median_ns")
        same, extra = anchor_values(merged, key, num_q, "median_ns", extra_libs)
        if p is None and all(v is None for v in same + extra):
            continue
        ratio, strict = ratios(p, same, extra)
        if ratio is None:
            result = "not measured" if p is None else "no anchor"
        else:
            result = "PASS" if ratio <= target else "FAIL"
        w(f"| {label} | {fmt_ms(p)} | " + " | ".join(fmt_ms(v) for v in same + extra)
          + f" | {fmt_ratio(ratio)} | {fmt_ratio(strict)} | ≤ {target:.1f}x | {result} |")
        summary.append((key, result))
    w("")
    passed = sum(1 for _, r in summary if r == "PASS")
    failed = [k for k, r in summary if r == "FAIL"]
    missing = [k for k, r in summary if r in ("not measured", "no anchor")]
    w(f"Summary: {passed} PASS, {len(failed)} FAIL{' (' + ', '.join(failed) + ')' if failed else ''}, "
      f"{len(missing)} without a ratio{' (' + ', '.join(missing) + ')' if missing else ''}.")
    w("")
    ofhe_rescale = anchor_ns(merged, "openfhe", "rescale", num_q)
    ofhe_ntt_bound = fmt_ms(ofhe_rescale / (2 * num_q)) if ofhe_rescale else "—"
    w("Notes on what each number is:")
    w("")
    notes = {}
    for lib in merged:
        for op, m in merged[lib].items():
            if m["note"]:
                notes.setdefault(op, []).append(f"{lib}: {m['note']}")
    for op, ns in sorted(notes.items()):
        w(f"- `{op}`: " + "; ".join(ns))
    w("- `ntt_limb` for SEAL is **derived**: `Evaluator.transform_to_ntt_inplace` on a fresh ciphertext "
      f"(2 polynomials x {num_q} limbs) divided by {2 * num_q}. "
      "OpenFHE does not expose an NTT (its Python `DCRTPoly` has no methods), so it has no measured NTT "
      "number and is left out of the NTT ratio. Upper-bound estimate for OpenFHE: its rescale does "
      f"{2 * num_q} NTT-sized transforms (per polynomial: one inverse NTT of the dropped limb, then a "
      f"forward NTT into each of the {num_q - 1} others) plus O(N·L) scalar work, so one OpenFHE NTT "
      f"<= rescale / {2 * num_q} = {ofhe_ntt_bound} ms.")
    w("- SEAL's `decode_double`/`encode` convert between Python lists and C++ vectors of 8192 doubles inside "
      "the timed call; that conversion inflates SEAL's encode/decode times slightly, which favours privox in those rows.")
    w("")
    if privox:
        w("Privox criterion ids used:")
        w("")
        for key, v in privox.items():
            w(f"- `{key}` ← `{v['id']}`: {v.get('pooled_n', 'criterion')} samples pooled; last round's "
              f"criterion median {fmt_ms(privox_raw[v['id']]['median_ns'])} ms, 95% CI "
              f"{fmt_ms(v['median_ci_ns'][0])}–{fmt_ms(v['median_ci_ns'][1])} ms")
        w("")
    if unmapped:
        w("Other privox benches (not in the comparison): " + ", ".join(
            f"`{i}` {fmt_ms(privox_raw[i]['median_ns'])} ms" for i in unmapped))
        w("")
    if not privox_raw:
        w("**privox was not measured in this run** (no criterion estimates: the privox-ckks bench had no "
          "benchmarks yet, or SKIP_PRIVOX was set).")
        w("")

    w("## Lower-decile view (ms)")
    w("")
    w("The machine is shared, so the same comparison on the 10th percentile (anchors: of single calls; "
      "privox: of criterion's per-sample means) shows what each library does when least disturbed. "
      "This is a diagnostic; pass/fail above uses medians.")
    w("")
    w("The last two columns give the anchors' median **thread CPU time** (`time.thread_time_ns`), "
      "which leaves out time spent descheduled. If it is close to the wall-clock p10, the gap between "
      "an anchor's median and its p10 comes from other processes' load, not from the library. "
      "(privox's criterion bench measures wall-clock time only.)")
    w("")
    w("| operation | privox p10 | SEAL p10 | OpenFHE dnum 7 p10 | " + " | ".join(
        f"OpenFHE {lib.replace('openfhe_dnum', 'dnum ')} p10" for lib in extra_libs)
      + " | ratio p10 | strict p10 | SEAL CPU median | OpenFHE dnum 7 CPU median |")
    w("|---|---:|---:|---:|" + "---:|" * len(extra_libs) + "---:|---:|---:|---:|")
    for key, label, _target in OPS:
        p = privox.get(key, {}).get("p10_ns")
        same, extra = anchor_values(merged, key, num_q, "p10_ns", extra_libs)
        if p is None and all(v is None for v in same + extra):
            continue
        ratio, strict = ratios(p, same, extra)
        cpu = [anchor_ns(merged, lib, key, num_q, "cpu_median_ns") for lib in ANCHOR_LIBS]
        w(f"| {label} | {fmt_ms(p)} | " + " | ".join(fmt_ms(v) for v in same + extra)
          + f" | {fmt_ratio(ratio)} | {fmt_ratio(strict)} | " + " | ".join(fmt_ms(v) for v in cpu) + " |")
    w("")

    cpu_path = os.path.join(args.out_dir, "privox-cputime.json")
    if os.path.exists(cpu_path):
        with open(cpu_path) as f:
            pcpu = json.load(f)
        w("## CPU-time view (ms)")
        w("")
        w("On a loaded machine, wall time includes time spent descheduled. This table compares **CPU time**, "
          "which does not. Anchors: median over single calls of `time.thread_time_ns`, from the same "
          "interleaved run. privox: `bench/ckks/privox-sizes cpu-time`, run right after it. That tool times the "
          "same operations on the same inputs as the criterion bench, in batches of about 0.3 s, and sums "
          "`/proc/self/task/*/schedstat` over all threads, including rayon's pool thread. The value is the median "
          "of 7 batch means. Both clocks agree on the anchors: checked on SEAL, thread_time and schedstat "
          "differ by < 3%.")
        w("")
        w("| operation | privox CPU | SEAL CPU | OpenFHE dnum 7 CPU | " + " | ".join(
            f"OpenFHE {lib.replace('openfhe_dnum', 'dnum ')} CPU" for lib in extra_libs)
          + " | ratio | strict | target | result |")
        w("|---|---:|---:|---:|" + "---:|" * len(extra_libs) + "---:|---:|---:|:---:|")
        cpu_summary = []
        for key, label, target in OPS:
            name = {"ntt_inverse_limb": "intt_limb"}.get(key, key)
            p = (pcpu.get(name) or {}).get("cpu_ns")
            same, extra = anchor_values(merged, key, num_q, "cpu_median_ns", extra_libs)
            if p is None and all(v is None for v in same + extra):
                continue
            r, st = ratios(p, same, extra)
            res = "—" if r is None else ("PASS" if r <= target else "FAIL")
            cpu_summary.append((key, res))
            w(f"| {label} | {fmt_ms(p)} | " + " | ".join(fmt_ms(v) for v in same + extra)
              + f" | {fmt_ratio(r)} | {fmt_ratio(st)} | ≤ {target:.1f}x | {res} |")
        w("")
        fails = [k for k, r in cpu_summary if r == "FAIL"]
        w(f"CPU-time summary: {sum(1 for _, r in cpu_summary if r == 'PASS')} PASS, {len(fails)} FAIL"
          + (f" ({', '.join(fails)})" if fails else "") + ".")
        w("")

    w("## Stability: anchor medians per phase (ms; privox ran between phases)")
    w("")
    w("| library | operation | " + " | ".join(
        f"phase {i + 1}" for i in range(len(rounds))) + " |")
    w("|---|---|" + "---:|" * len(rounds))
    for lib in sorted(merged):
        for op, m in merged[lib].items():
            w(f"| {lib} | {op} | " + " | ".join(fmt_ms(x) for x in m["round_medians"]) + " |")
    w("")

    w("## Sizes at N = 2^14 (bytes)")
    w("")
    w("SEAL serializes with zstd by default; both the default (compressed) file size and the exact "
      "uncompressed size (payload decompressed) are given. OpenFHE's binary (cereal) serialization is "
      "uncompressed and has no seeded form. Raw coefficient bytes for reference: one 7-limb polynomial "
      f"is {num_q} x 16384 x 8 = {num_q * 16384 * 8} bytes.")
    w("")
    sizes = r0["sizes"]
    privox_sizes = {}
    spath = os.path.join(args.out_dir, "privox-sizes.json")
    if os.path.exists(spath):
        with open(spath) as f:
            privox_sizes = json.load(f)
    libs_sz = ["seal"] + [lib for lib in sizes if lib.startswith("openfhe")]
    w("| object | privox | SEAL (zstd, default) | SEAL uncompressed | " + " | ".join(
        f"OpenFHE {'dnum 7' if lib == 'openfhe' else lib.replace('openfhe_dnum', 'dnum ')}" for lib in libs_sz[1:]) + " |")
    w("|---|---:|---:|---:|" + "---:|" * (len(libs_sz) - 1))
    for obj in ["ciphertext_full", "ciphertext_seeded", "relin_key_full", "relin_key_seeded",
                "galois_key_full", "galois_key_seeded"]:
        s = sizes["seal"].get(obj)
        pv = privox_sizes.get(obj)
        row = f"| {obj.replace('_', ' ')} | {pv if pv is not None else '—'} | "
        row += f"{s['bytes_default'] if s else '—'} | {s['bytes_uncompressed'] if s else '—'} |"
        for lib in libs_sz[1:]:
            o = sizes[lib].get(obj)
            row += f" {o['bytes_default'] if o else 'n/a (no seeded form)'} |"
        w(row)
    w("")
    if not privox_sizes:
        w("privox sizes: not measured in this run (no `out/privox-sizes.json`).")
        w("")
    else:
        w(f"privox parameters for sizes: `{privox_sizes.get('params', '?')}`. privox packs each limb's "
          "coefficients to the bit width of its prime.")
        w("")
    w("Seeded / full ratio (acceptance 4 asks for about one half):")
    w("")
    for obj in ("ciphertext", "relin_key", "galois_key"):
        parts = []
        pf, ps = privox_sizes.get(f"{obj}_full"), privox_sizes.get(f"{obj}_seeded")
        if pf and ps:
            parts.append(f"privox {ps / pf:.3f}")
        sf, ss = sizes["seal"].get(f"{obj}_full"), sizes["seal"].get(f"{obj}_seeded")
        if sf and ss:
            parts.append(f"SEAL {ss['bytes_uncompressed'] / sf['bytes_uncompressed']:.3f} uncompressed, "
                         f"{ss['bytes_default'] / sf['bytes_default']:.3f} zstd")
        w(f"- {obj.replace('_', ' ')}: " + ("; ".join(parts) if parts else "—"))
    w("")

    w("## Parameters per library")
    w("")
    for lib, p in r0["params"].items():
        w(f"- **{lib}**: " + "; ".join(f"{k} = {v}" for k, v in p.items() if k != "cc_params"))
    w("")
    w("## Machine and versions")
    w("")
    w("```")
    w(machine)
    w("anchor loadavg per phase (1-min, start->end): " + ", ".join(
        f"{r['loadavg']['before'][0]:.2f}->{r['loadavg']['after'][0]:.2f}" for r in rounds))
    w("python packages: " + ", ".join(f"{k} {v}" for k, v in r0["versions"].items()))
    w(f"threads: {r0['threads']}, affinity: {r0['affinity']}")
    w("```")
    w("")
    w("The machine is shared with other engineers' builds (2 cores), so absolute times are noisy. "
      "privox and the anchors alternate per operation in the same invocation; the per-phase table "
      "shows the anchors' drift, and the lower-decile table shows the least-disturbed times.")
    w("")
    w("Reproduce: `bench/ckks/run.sh` from the repository root (creates `bench/ckks/venv`, "
      "runs everything, rewrites this file).")
    with open(args.results, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {args.results}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect-criterion")
    c.add_argument("--criterion-dir", required=True)
    c.add_argument("--since", type=float, required=True, help="ignore estimates older than this epoch")
    c.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("--out-dir", required=True)
    r.add_argument("--results", required=True)
    args = ap.parse_args()
    {"collect-criterion": cmd_collect, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
