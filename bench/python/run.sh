#!/usr/bin/env bash
# privox's Python package vs opensmile-python (the oracle), in one run:
# drop-in agreement on every demo file, then interleaved timings of
# opensmile-python, privox.Smile, the `privox extract` CLI, 2 Python threads
# and privox.ray.extract with 1 and 2 workers. Writes bench/python/RESULTS.md.
#
#   bench/python/run.sh                # ~5 min on 2 cores
#   REPEATS=5 bench/python/run.sh
#
# opensmile-python lives only in this bench venv; it is never a dependency of
# privox. Time it when the machine is quiet: `uptime` is recorded per timing.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$HERE/out"
mkdir -p "$OUT"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

if [ ! -x "$HERE/venv/bin/python" ]; then
  python3 -m venv "$HERE/venv"
  "$HERE/venv/bin/pip" install -q --upgrade pip
  "$HERE/venv/bin/pip" install -q -r "$HERE/requirements-oracle.txt" -r "$HERE/requirements-bench.txt"
fi
PY="$HERE/venv/bin/python"

log "release builds: the privox CLI and the wheel"
(cd "$ROOT" && nice -n 10 cargo build --release -p privox-cli -q)
rm -rf "$OUT/wheels"
(cd "$ROOT" && nice -n 10 "$HERE/venv/bin/maturin" build --release -q \
  -m crates/privox-py/Cargo.toml -i "$PY" -o "$OUT/wheels")
"$PY" -m pip install -q --no-deps --force-reinstall "$OUT"/wheels/privox-*.whl

log "comparison"
(cd "$OUT" && "$PY" "$HERE/compare.py" "$OUT/results.json" --repeats "${REPEATS:-3}" \
  --cli "$ROOT/target/release/privox")
"$PY" "$HERE/report.py" "$OUT/results.json" > "$HERE/RESULTS.md"
log "wrote $HERE/RESULTS.md"
