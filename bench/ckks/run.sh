#!/usr/bin/env bash
# CKKS speed and size comparison: privox-ckks vs Microsoft SEAL (TenSEAL) and
# OpenFHE, single-threaded, N = 2^14, in ONE invocation with interleaving:
#   build privox bench; then for each operation:
#     anchors -> privox criterion (that op only) -> anchors -> privox -> ... (3 privox rounds)
# then aggregate.py writes bench/ckks/RESULTS.md.
#
# Usage:  bench/ckks/run.sh            (full run, ~5-10 min on 2 cores)
#         QUICK=1 bench/ckks/run.sh    (fewer repetitions, smoke test)
# Env:    PYTHON=/path/to/python3.10   interpreter for the venv (auto-detected)
#         BENCH_CPU=1                  pin everything to that core with taskset
#         SKIP_PRIVOX=1                anchors only (when privox-ckks has no bench yet)
set -euo pipefail

# Everything runs inside main(): bash parses the whole function before running
# it, so editing this file during a run cannot corrupt that run.
main() {

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/venv"
OUT="$HERE/out"
mkdir -p "$OUT"

# ---- single-threaded everywhere
export OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
PIN=()
if [[ -n "${BENCH_CPU:-}" ]]; then PIN=(taskset -c "$BENCH_CPU"); fi

# ---- Python 3.10 venv with pinned anchors (see requirements.txt for why 3.10)
find_python() {
  if [[ -n "${PYTHON:-}" ]]; then echo "$PYTHON"; return; fi
  local c
  for c in python3.10 "$(pyenv root 2>/dev/null)"/versions/3.10*/bin/python3.10 /usr/bin/python3.10; do
    if [[ -x "$(command -v "$c" 2>/dev/null)" ]] && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
      command -v "$c"; return
    fi
  done
  echo "error: Python 3.10 not found (the openfhe wheels need CPython 3.10); set PYTHON=/path/to/python3.10" >&2
  exit 1
}
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]]; then
  PY="$(find_python)"
  echo "== creating venv with $PY"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -r "$HERE/requirements.txt"
  echo "$WANT" > "$STAMP"
fi

if [[ -n "${QUICK:-}" ]]; then ANCHOR_ARGS=(--reps 5 --blocks 1 --privox-rounds 1); else ANCHOR_ARGS=(--reps 20 --blocks 2 --privox-rounds 3); fi

# ---- record the machine state
{
  echo "date_utc: $(date -u +%FT%TZ)"
  echo "privox-ckks last commit: $(git -C "$ROOT" log -1 --format='%h %s' -- crates/privox-ckks 2>/dev/null | cut -c1-100)"
  echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet -- crates/privox-ckks 2>/dev/null || echo ' (privox-ckks has uncommitted changes)')"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')"
  echo "cores: $(nproc --all)"
  echo "loadavg_start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rustc: $(rustc --version)"
  echo "pin: ${BENCH_CPU:-none}"
  echo "command: bench/ckks/run.sh${QUICK:+ (QUICK=1)}"
} > "$OUT/machine.txt"

PRIVOX=1
if [[ -n "${SKIP_PRIVOX:-}" ]]; then PRIVOX=0; fi
if [[ $PRIVOX == 1 ]]; then
  echo "== building privox-ckks bench (not timed): cargo bench -p privox-ckks --bench ops --no-run"
  EXE="$(cd "$ROOT" && cargo bench -p privox-ckks --bench ops --no-run --message-format=json \
    | "$VENV/bin/python" -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-message":
        sys.stderr.write(m["message"].get("rendered") or "")
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "ops" and m.get("executable"):
        print(m["executable"])')"
  if [[ -z "$EXE" ]]; then echo "error: could not find the built privox-ckks ops bench" >&2; exit 1; fi
  # Snapshot the binary: the crate is under active development in a shared
  # tree, and a rebuild in the middle of the run must not mix two versions.
  cp "$EXE" "$OUT/privox-ops-bench"
  echo "privox_bench_binary: $EXE (snapshot out/privox-ops-bench, sha256 $(sha256sum "$OUT/privox-ops-bench" | cut -c1-16))" >> "$OUT/machine.txt"

  echo "== privox serialized sizes (bench/ckks/privox-sizes, not timed)"
  # Own workspace, so take the root lock file for identical dependency versions.
  cp "$ROOT/Cargo.lock" "$HERE/privox-sizes/Cargo.lock"
  (cd "$HERE/privox-sizes" && CARGO_TARGET_DIR="$ROOT/target/bench-ckks-sizes" cargo run --release --quiet) > "$OUT/privox-sizes.json"
fi

# One process times the anchors; for every operation it runs an anchor phase,
# then privox's criterion bench for that operation alone, then a second anchor
# phase, so privox and the anchors share the same minute of machine load.
rm -f "$OUT/privox-criterion.json" "$OUT/privox-samples.json" "$OUT"/anchors-*.json
PRIVOX_ARGS=()
if [[ $PRIVOX == 1 ]]; then
  # Exactly what `cargo bench -p privox-ckks --bench ops -- --noplot <filter>` runs,
  # minus cargo's rebuild check; criterion writes to out/criterion.
  rm -rf "$OUT/criterion"
  CRIT="env CRITERION_HOME=$OUT/criterion $OUT/privox-ops-bench --bench --noplot"
  if [[ -n "${QUICK:-}" ]]; then CRIT+=" --warm-up-time 1 --measurement-time 2"; fi
  if [[ -n "${BENCH_CPU:-}" ]]; then CRIT="taskset -c $BENCH_CPU $CRIT"; fi
  PRIVOX_ARGS=(--privox-cmd "$CRIT" --privox-cwd "$ROOT" --privox-log "$OUT/criterion.log" --criterion-home "$OUT/criterion")
fi
START="$(date +%s)"
echo "== anchors and privox, interleaved per operation (RAYON_NUM_THREADS=1, OMP_NUM_THREADS=1)"
"${PIN[@]}" "$VENV/bin/python" "$HERE/anchors.py" --out-prefix "$OUT/anchors" "${ANCHOR_ARGS[@]}" "${PRIVOX_ARGS[@]}"
rm -f "$OUT/privox-cputime.json"
if [[ $PRIVOX == 1 ]]; then
  echo "== privox CPU time per operation (load-independent diagnostic)"
  (cd "$HERE/privox-sizes" && CARGO_TARGET_DIR="$ROOT/target/bench-ckks-sizes" "${PIN[@]}" cargo run --release --quiet -- cpu-time) > "$OUT/privox-cputime.json"
  "$VENV/bin/python" "$HERE/aggregate.py" collect-criterion --criterion-dir "$OUT/criterion" --since "$START" --out "$OUT/privox-criterion.json"
fi

echo "loadavg_end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
"$VENV/bin/python" "$HERE/aggregate.py" report --out-dir "$OUT" --results "$HERE/RESULTS.md"
echo "== wrote $HERE/RESULTS.md"
}

main "$@"
