#!/usr/bin/env bash
# Encrypted cryptonet inference: privox-cryptonet vs TenSEAL and OpenFHE, on
# the three HE-aware EmoDB models (p2, p4, p6), single-threaded, then
# aggregate.py writes bench/cryptonet/RESULTS.md.
#
# Usage:  bench/cryptonet/run.sh               (full run; the timed run belongs on an idle machine)
#         QUICK=1 bench/cryptonet/run.sh       (smoke test: 1-2 runs, few checked rows)
# Env:    MODELS="p2 p4 p6"   which models          ANCHORS="tenseal openfhe"  which anchors
#         SKIP_PRIVOX=1       anchors only          PYTHON=/path/to/python3.10 (auto-detected)
#         BENCH_CPU=1         pin every process to that core (taskset)
#         TENSEAL_RUNS / OPENFHE_RUNS / BATCH_RUNS / CHECK_ROWS / PRIVOX_REPEATS
#                             override the repetition counts
#         PRIVOX_EXTRA="..."  extra arguments for the privox example
#
# Order per model: privox single, TenSEAL single, OpenFHE single, privox batch,
# OpenFHE batch, then privox with 2 threads (single, batch), so each model's
# implementations share the same minutes of machine load. `uptime` is logged
# before every step in out/loadavg.txt.
set -euo pipefail

# Everything runs inside main(): bash parses the whole function first, so
# editing this file during a run cannot corrupt that run.
main() {
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/venv"
OUT="$HERE/out"
mkdir -p "$OUT"
MODELS="${MODELS:-p2 p4 p6}"
ANCHORS="${ANCHORS:-tenseal openfhe}"

export OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
PIN=()
if [[ -n "${BENCH_CPU:-}" ]]; then PIN=(taskset -c "$BENCH_CPU"); fi

# ---- Python 3.10 venv with the pinned anchors (why 3.10: requirements.txt)
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
  echo "== creating $VENV with $PY"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -r "$HERE/requirements.txt"
  echo "$WANT" > "$STAMP"
fi
PYBIN="$VENV/bin/python"

# ---- models (trained once; FORCE=1 bench/cryptonet/models.sh retrains)
for m in $MODELS; do
  if [[ ! -f "$OUT/cryptonet-$m.model.json" || ! -f "$OUT/cryptonet-$m.scaled.json" || ! -f "$OUT/emodb-neutral-angry.csv" ]]; then
    "$HERE/models.sh"
    break
  fi
done

# ---- repetition counts
if [[ -n "${QUICK:-}" ]]; then
  TENSEAL_ARGS=(--runs "${TENSEAL_RUNS:-1}" --check-rows "${CHECK_ROWS:-1}")
  SINGLE_ARGS=(--runs "${OPENFHE_RUNS:-2}" --check-rows "${CHECK_ROWS:-2}")
  BATCH_ARGS=(--runs "${BATCH_RUNS:-1}")
  PRIVOX_SINGLE_REPEATS="${PRIVOX_REPEATS:-2}" PRIVOX_BATCH_REPEATS="${PRIVOX_REPEATS:-1}"
else
  TENSEAL_ARGS=(--runs "${TENSEAL_RUNS:-5}" --check-rows "${CHECK_ROWS:-2}")
  SINGLE_ARGS=(--runs "${OPENFHE_RUNS:-7}" --check-rows "${CHECK_ROWS:-16}")
  BATCH_ARGS=(--runs "${BATCH_RUNS:-3}")
  PRIVOX_SINGLE_REPEATS="${PRIVOX_REPEATS:-7}" PRIVOX_BATCH_REPEATS="${PRIVOX_REPEATS:-3}"
fi

# ---- the privox example (written in crates/privox-cryptonet by its owner)
PRIVOX=0
if [[ -z "${SKIP_PRIVOX:-}" ]]; then
  echo "== building the privox example: cargo build --release -p privox-cryptonet --example bench"
  if (cd "$ROOT" && nice -n 10 cargo build --release -q -p privox-cryptonet --example bench); then
    # Snapshot: a rebuild by someone else in the shared tree must not swap
    # versions in the middle of a run.
    cp "$ROOT/target/release/examples/bench" "$OUT/privox-cryptonet-bench"
    PRIVOX=1
  else
    echo "warning: the privox example does not build (yet); timing the anchors only" >&2
  fi
fi
# RESULTS.md describes one invocation: drop every earlier result file.
rm -f "$OUT"/privox-*.json "$OUT"/tenseal-*.json "$OUT"/openfhe-*.json

# ---- machine state
{
  echo "date_utc: $(date -u +%FT%TZ)"
  echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet -- crates/privox-cryptonet crates/privox-ckks 2>/dev/null || echo ' (privox-cryptonet/privox-ckks have uncommitted changes)')"
  echo "privox-cryptonet last commit: $(git -C "$ROOT" log -1 --format='%h %s' -- crates/privox-cryptonet 2>/dev/null | cut -c1-100)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')"
  echo "cores: $(nproc --all)"
  echo "rustc: $(rustc --version)"
  echo "python: $("$PYBIN" --version 2>&1)"
  echo "pin: ${BENCH_CPU:-none}"
  echo "privox example: $([[ $PRIVOX == 1 ]] && echo "built (sha256 $(sha256sum "$OUT/privox-cryptonet-bench" | cut -c1-16))" || echo absent)"
  echo "command: bench/cryptonet/run.sh${QUICK:+ (QUICK=1)} MODELS='$MODELS' ANCHORS='$ANCHORS'"
  echo "uptime_start: $(uptime)"
} > "$OUT/machine.txt"
: > "$OUT/loadavg.txt"

step() {  # step <label> <command...>: logs uptime, runs, keeps going on failure
  local label="$1"; shift
  echo "$label: $(uptime)" >> "$OUT/loadavg.txt"
  echo "== $label"
  local rc=0
  "$@" || rc=$?
  if [[ $rc != 0 ]]; then echo "warning: $label failed (exit $rc)" | tee -a "$OUT/loadavg.txt" >&2; fi
}
privox() {  # privox <model> <packing> <threads> <out.json>
  local reps="$PRIVOX_SINGLE_REPEATS"
  if [[ $2 == batch ]]; then reps="$PRIVOX_BATCH_REPEATS"; fi
  # shellcheck disable=SC2086  # PRIVOX_EXTRA is a list of arguments
  RAYON_NUM_THREADS="$3" "${PIN[@]}" "$OUT/privox-cryptonet-bench" --model "$OUT/cryptonet-$1.pvxnn" \
    --features "$OUT/emodb-neutral-angry.csv" --packing "$2" --threads "$3" --repeats "$reps" \
    --json "$4" ${PRIVOX_EXTRA:-}
}
anchor() {  # anchor <script> <model> <out.json> <args...>
  local script="$1" m="$2" out="$3"; shift 3
  "${PIN[@]}" "$PYBIN" "$HERE/$script" --model "$OUT/cryptonet-$m.model.json" \
    --scaled "$OUT/cryptonet-$m.scaled.json" --out "$out" "$@"
}
has() { [[ " $ANCHORS " == *" $1 "* ]]; }

for m in $MODELS; do
  if [[ $PRIVOX == 1 ]]; then step "privox $m single" privox "$m" single 1 "$OUT/privox-$m-single.json"; fi
  if has tenseal; then step "tenseal $m single" anchor tenseal_anchor.py "$m" "$OUT/tenseal-$m-single.json" "${TENSEAL_ARGS[@]}"; fi
  if has openfhe; then step "openfhe $m single" anchor openfhe_anchor.py "$m" "$OUT/openfhe-$m-single.json" --packing single "${SINGLE_ARGS[@]}"; fi
  if [[ $PRIVOX == 1 ]]; then step "privox $m batch" privox "$m" batch 1 "$OUT/privox-$m-batch.json"; fi
  if has openfhe; then step "openfhe $m batch" anchor openfhe_anchor.py "$m" "$OUT/openfhe-$m-batch.json" --packing batch "${BATCH_ARGS[@]}"; fi
  if [[ $PRIVOX == 1 && -z "${BENCH_CPU:-}" ]]; then
    # Two threads: the scaling row (not with BENCH_CPU, which pins to one core).
    step "privox $m single, 2 threads" privox "$m" single 2 "$OUT/privox-$m-single-t2.json"
    step "privox $m batch, 2 threads" privox "$m" batch 2 "$OUT/privox-$m-batch-t2.json"
  fi
done

echo "uptime_end: $(uptime)" >> "$OUT/machine.txt"
"$PYBIN" "$HERE/aggregate.py" --out-dir "$OUT" --results "$HERE/RESULTS.md"
echo "== wrote $HERE/RESULTS.md"
}

main "$@"
