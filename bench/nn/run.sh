#!/usr/bin/env bash
# privox-nn against scikit-learn, same protocol, same machine, same run.
#
#   bash bench/nn/run.sh            # from the repository root
#
# Needs ../shared/data/{emodb,nemo}/egemaps_v02_opensmile.csv (read at run
# time, never copied). Outputs go to bench/nn/out/ (gitignored):
#   speed.txt        one nEMO LOSO fold trained (privox vs sklearn) + inference throughput
#   relu-paper.txt   privox-nn's ReLU baseline, paper's recipe, 5 seeds (`privox nn eval`)
#   (the full Table 4 in the clear is `privox repro`, docs/results/cryptonet-plain.md)
#   sklearn.md       the scikit-learn ReLU baseline on the same validation speakers
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED="${PRIVOX_SHARED:-../shared}"
EMODB="$SHARED/data/emodb/egemaps_v02_opensmile.csv"
NEMO="$SHARED/data/nemo/egemaps_v02_opensmile.csv"
[ -f "$NEMO" ] || { echo "skipping: $NEMO not found"; exit 0; }
OUT=bench/nn/out
mkdir -p "$OUT"

if [ ! -x bench/nn/venv/bin/python ]; then
  python3 -m venv bench/nn/venv
  bench/nn/venv/bin/pip install -q -r bench/nn/requirements.txt
fi
cargo build --release -q -p privox-nn --examples
cargo build --release -q -p privox-cli

echo "== speed (interleaved: privox, sklearn)" | tee "$OUT/speed.txt"
target/release/examples/speed "$NEMO" | tee -a "$OUT/speed.txt"
bench/nn/venv/bin/python bench/nn/sklearn_reference.py --time-fold "$NEMO" | tee -a "$OUT/speed.txt"

echo "== validation speakers shared by both implementations"
target/release/examples/validation_splits "$OUT/splits.csv" --csv "$EMODB" --csv "$NEMO"

echo "== ReLU baseline (privox-nn, paper's recipe, same validation speakers)"
for f in "$EMODB" "$NEMO"; do
  target/release/privox nn eval --features "$f" --recipe paper --seeds 5
done | tee "$OUT/relu-paper.txt"

echo "== scikit-learn reference"
bench/nn/venv/bin/python bench/nn/sklearn_reference.py --splits "$OUT/splits.csv" "$EMODB" "$NEMO" | tee "$OUT/sklearn.md"
