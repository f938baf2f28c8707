#!/usr/bin/env bash
# CKKS speed and size comparison: privox-ckks vs Microsoft SEAL (TenSEAL) and
# OpenFHE, single-threaded, N = 2^14, in ONE invocation with interleaving:
#   build privox bench -> anchors round 1 -> privox criterion -> anchors round 2
# then aggregate.py writes bench/ckks/RESULTS.md.
#
# Usage:  bench/ckks/run.sh            (full run, ~5-10 min on 2 cores)
#         QUICK=1 bench/ckks/run.sh    (fewer repetitions, smoke test)
# Env:    PYTHON=/path/to/python3.10   interpreter for the venv (auto-detected)
#         BENCH_CPU=1                  pin everything to that core with taskset
#         SKIP_PRIVOX=1                anchors only (when privox-ckks has no bench yet)
set -euo pipefail

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

if [[ -n "${QUICK:-}" ]]; then ANCHOR_ARGS=(--reps 5 --blocks 2); else ANCHOR_ARGS=(--reps 20 --blocks 5); fi

# ---- record the machine state
{
  echo "date_utc: $(date -u +%FT%TZ)"
  echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet -- crates/privox-ckks 2>/dev/null || echo ' (privox-ckks has uncommitted changes)')"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')"
  echo "cores: $(nproc)"
  echo "loadavg_start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rustc: $(rustc --version)"
  echo "pin: ${BENCH_CPU:-none}"
  echo "command: bench/ckks/run.sh${QUICK:+ (QUICK=1)}"
} > "$OUT/machine.txt"

PRIVOX=1
if [[ -n "${SKIP_PRIVOX:-}" ]]; then PRIVOX=0; fi
if [[ $PRIVOX == 1 ]]; then
  echo "== building privox-ckks bench (not timed)"
  (cd "$ROOT" && cargo bench -p privox-ckks --bench ops --no-run)
fi

echo "== anchors round 1"
"${PIN[@]}" "$VENV/bin/python" "$HERE/anchors.py" --out "$OUT/anchors-1.json" "${ANCHOR_ARGS[@]}"

rm -f "$OUT/privox-criterion.json"
if [[ $PRIVOX == 1 ]]; then
  echo "== privox-ckks criterion (RAYON_NUM_THREADS=1)"
  START="$(date +%s)"
  CRIT_ARGS=(--noplot)
  if [[ -n "${QUICK:-}" ]]; then CRIT_ARGS+=(--warm-up-time 1 --measurement-time 2 --sample-size 10); fi
  (cd "$ROOT" && "${PIN[@]}" cargo bench -p privox-ckks --bench ops -- "${CRIT_ARGS[@]}") | tee "$OUT/criterion.log"
  TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  "$VENV/bin/python" "$HERE/aggregate.py" collect-criterion --criterion-dir "$TARGET_DIR/criterion" --since "$START" --out "$OUT/privox-criterion.json"
fi

echo "== anchors round 2"
"${PIN[@]}" "$VENV/bin/python" "$HERE/anchors.py" --out "$OUT/anchors-2.json" "${ANCHOR_ARGS[@]}"

echo "loadavg_end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
"$VENV/bin/python" "$HERE/aggregate.py" report --out-dir "$OUT" --results "$HERE/RESULTS.md"
echo "== wrote $HERE/RESULTS.md"
