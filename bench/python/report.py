"""Renders bench/python/RESULTS.md from compare.py's JSON (numbers only from the run)."""

import json
import os
import platform
import statistics
import sys
import time


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt_t(t):
    return f"{t['wall_s']:.3f} s (CPU {t['cpu_s']:.3f} s; load {t['load_before']} → {t['load_after']})"


def main():
    r = json.load(open(sys.argv[1]))
    mtime = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(sys.argv[1])))
    ok = lambda b: "**met**" if b else "**not met**"  # noqa: E731
    med = r["median_wall_s"]
    L = []
    p = L.append
    p("# privox (Python) vs opensmile-python: drop-in agreement and speed")
    p("")
    p(f"One run of `bench/python/run.sh` ({mtime}; {os.cpu_count()} cores, {cpu_model()}).")
    p(f"privox {r['privox_version']} (release wheel, abi3) vs opensmile-python {r['opensmile_version']} "
      f"(the oracle, in the bench venv only). Corpus: all {r['files']} files of `data/demo` "
      f"({r['audio_secs']:.1f} s of 16 kHz audio). Load averages (1/5/15 min, from `/proc/loadavg`, "
      "i.e. `uptime`) are recorded beside every timing: the machine is shared by several engineers, "
      "so read the wall-clock figures with the load next to them.")
    p("")
    p("## 1. Drop-in: `privox.Smile(...).process_files(files)` vs `opensmile.Smile(eGeMAPSv02, Functionals).process_files(files)`")
    p("")
    p("| check | result |")
    p("|---|---|")
    p(f"| index (`file`, `start`, `end`) identical | {r['index_equal']} (level dtypes {r['index_level_dtypes']} vs {r['ref_index_level_dtypes']}) |")
    p(f"| columns identical (names and order) | {r['columns_equal']} ({r['ncols']} columns) |")
    p(f"| dtypes identical | {r['dtypes_equal']} |")
    p(f"| features with Pearson r ≥ 0.999 over the {r['files']} files | {r['features_r_ge_0999']}/{r['ncols']} (lowest r = {r['min_r']:.6f}) |")
    p(f"| features with median relative error ≤ 0.5 % | {r['features_medrel_le_0005']}/{r['ncols']} (largest median = {100 * r['max_median_rel_err']:.2g} %) |")
    p("")
    crit1 = r["index_equal"] and r["columns_equal"] and r["features_r_ge_0999"] == r["ncols"] and r["features_medrel_le_0005"] == r["ncols"]
    p(f"Acceptance 1 (drop-in): {ok(crit1)}.")
    p("")
    worst = sorted(r["agreement"], key=lambda x: x["r"])[:5]
    p("Lowest five correlations: " + ", ".join(f"`{w['feature']}` r = {w['r']:.6f} (median rel. err. {100 * w['median_rel_err']:.2g} %)" for w in worst) + ".")
    worst = sorted(r["agreement"], key=lambda x: -x["median_rel_err"])[:5]
    p("")
    p("Largest five median relative errors: " + ", ".join(f"`{w['feature']}` {100 * w['median_rel_err']:.2g} % (r = {w['r']:.6f})" for w in worst) + ".")
    p("")
    p(f"LLDs (not an acceptance criterion), first {r['lld_files']} files: rows {r['lld_rows'][0]} vs {r['lld_rows'][1]}, "
      f"index identical {r['lld_index_equal']}, columns identical {r['lld_columns_equal']}"
      + (f", lowest per-LLD r over all frames {r['lld_min_r']:.4f}" if "lld_min_r" in r else "") + ".")
    p("")
    p("## 2. Speed: the same 206 files, same run, interleaved")
    p("")
    p(f"{len(r['timings']['privox'])} interleaved repetitions. The criteria use the best (fastest) repetition of each: "
      "on a shared machine other processes only ever add time, so the fastest run is the least disturbed; "
      "medians and CPU times are given too, and every repetition is listed with its load.")
    p("")
    best = r["best_wall_s"]
    p("| what | best wall | median wall | per repetition |")
    p("|---|---|---|---|")
    names = {
        "opensmile": "opensmile-python, `process_files`, one process",
        "privox": "privox.Smile, `process_files`, one thread",
        "cli": "`privox extract --jobs 1` (CLI, incl. process start and CSV)",
        "threads2": "privox.Smile, 2 Python threads (half the files each)",
        "cli2": "`privox extract --jobs 2` (reference: 2-core scaling available)",
    }
    for k in [k for k in ("opensmile", "privox", "cli", "threads2", "cli2") if k in r["timings"]]:
        p(f"| {names[k]} | {best[k]:.3f} s | {med[k]:.3f} s | " + "<br>".join(fmt_t(t) for t in r["timings"][k]) + " |")
    p("")
    s1 = r["speedup_vs_opensmile"]
    s2 = r["python_over_cli"]
    s3 = r["threads2_speedup"]
    p("| criterion | best of N (wall) | median (wall) | CPU time | target | |")
    p("|---|---|---|---|---|---|")
    p(f"| single process vs opensmile-python | {s1:.2f}× faster | {r['median_speedup_vs_opensmile']:.2f}× | {r['cpu_speedup_vs_opensmile']:.2f}× | ≥ 3× | {ok(s1 >= 3)} |")
    p(f"| privox.Smile vs `privox extract --jobs 1` | {s2:.3f}× the CLI's time | {r['median_python_over_cli']:.3f}× | {r['cpu_python_over_cli']:.3f}× | ≤ 1.15× | {ok(s2 <= 1.15)} |")
    p(f"| 2 Python threads vs 1 | {s3:.2f}× faster | {r['median_threads2_speedup']:.2f}× | (n/a) | ≥ 1.7× | {ok(s3 >= 1.7)} |")
    if "cli2_speedup" in r:
        p(f"| (reference) CLI `--jobs 2` vs `--jobs 1` | {r['cli2_speedup']:.2f}× | {r['median_cli2_speedup']:.2f}× | (n/a) | | |")
    p("")
    if "ray" in r:
        p("## 3. Ray: `privox.ray.extract` on a local cluster (`ray.init(num_cpus=2)`)")
        p("")
        p("Best of the repetitions; times include Ray Data planning and scheduling, not `ray.init()`; workers warmed up by a small job first. "
          "Batch size = files / (4 × workers). `equal` = the DataFrame equals `privox.Smile().process_files(files)` row for row.")
        p("")
        p("| corpus | files | single process | Ray, 1 worker | Ray, 2 workers | 2 vs 1 worker | 2 workers vs single process | equal |")
        p("|---|---|---|---|---|---|---|---|")
        for label, e in r["ray"].items():
            p(f"| {label} | {e['files']} | {fmt_t(e['single_process'])} | {fmt_t(e['ray_1'])} | {fmt_t(e['ray_2'])} | "
              f"{e['speedup_2_vs_1']:.2f}× | {e['speedup_2_vs_single_process']:.2f}× | {e['ray_1_equal_single'] and e['ray_2_equal_single']} |")
        p("")
    p("## Reproduce")
    p("")
    p("```sh")
    p("bench/python/run.sh            # builds the CLI and the release wheel, then runs compare.py and this report")
    p("```")
    print("\n".join(L))


if __name__ == "__main__":
    main()
