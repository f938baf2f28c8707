#!/usr/bin/env bash
# numpy vs privox-smh: hashing throughput and RBF-Hamming Gram, in one run.
# Writes bench/smh-svm/RESULTS-hashing.md. Needs python3 (venv made here) and cargo.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
if [ ! -x "$here/venv/bin/python" ]; then
  python3 -m venv "$here/venv"
  "$here/venv/bin/pip" install -q -r "$here/requirements.txt"
fi
(cd "$root" && cargo build --release -q -p privox-smh --example smh_bench)
"$here/venv/bin/python" "$here/bench_hashing.py" "$root/target/release/examples/smh_bench"
