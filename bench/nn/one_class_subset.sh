#!/usr/bin/env bash
# The one-class-speaker demo subset of issue 11: the 206 demo recordings
# (data/demo, EmoDB neutral/angry, 10 speakers) with six speakers reduced to
# one class each: 03, 08, 09 keep only angry; 10, 11, 12 keep only neutral.
# 143 recordings remain.
#
#   bash bench/nn/one_class_subset.sh [OUT.csv]   # default bench/nn/out/demo-one-class.csv
#
# Features come from `privox extract` on data/demo (written once to
# bench/nn/out/demo-features.csv and reused).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT_DIR=bench/nn/out
OUT="${1:-$OUT_DIR/demo-one-class.csv}"
mkdir -p "$OUT_DIR" "$(dirname "$OUT")"
PRIVOX="${PRIVOX:-target/release/privox}"
[ -x "$PRIVOX" ] || nice -n 10 cargo build --release -q -p privox-cli
FEATS="$OUT_DIR/demo-features.csv"
[ -s "$FEATS" ] || nice -n 10 "$PRIVOX" extract -j 1 --manifest data/demo/labels.csv -o "$FEATS"
# Columns: file,speaker,label,<88 features>.
awk -F, 'NR == 1 { print; next }
  ($2 == "03" || $2 == "08" || $2 == "09") && $3 != "angry" { next }
  ($2 == "10" || $2 == "11" || $2 == "12") && $3 != "neutral" { next }
  { print }' "$FEATS" > "$OUT"
rows=$(($(wc -l < "$OUT") - 1))
echo "$OUT: $rows recordings"
[ "$rows" -eq 143 ] || { echo "expected 143 recordings, got $rows" >&2; exit 1; }
