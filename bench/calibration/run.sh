#!/usr/bin/env bash
# Issue 12 experiments: speaker calibration, with and without, on EmoDB and nEMO.
#
#   bash bench/calibration/run.sh svm      # RBF-SVM, binary (both corpora) and EmoDB 7-class
#   bash bench/calibration/run.sh smh      # SMH + RBF-Hamming SVM at the Δ tuned for 5/28/60 % leakage
#   bash bench/calibration/run.sh nn       # HE-aware MLP p2 + BN, 5 seeds
#   bash bench/calibration/run.sh nn_g01   # nEMO again with BN γ₀ fixed at 0.1
#   bash bench/calibration/run.sh he       # encrypted inference with a calibrated model (nEMO)
#   bash bench/calibration/run.sh oneclass # when not to use it: the one-class-speaker demo subset
#   bash bench/calibration/run.sh mix      # statistics from a skewed class mix (nEMO, RBF-SVM)
#   bash bench/calibration/run.sh collect  # bench/calibration/raw-results.md from the outputs
#   bash bench/calibration/run.sh all
#
# Every run is niced, writes bench/calibration/out/<name>.txt with the exact
# command, `uptime` before and after, and the full output.
set -euo pipefail
cd "$(dirname "$0")/../.."
PRIVOX="${PRIVOX:-target/release/privox}"
[ -x "$PRIVOX" ] || nice -n 10 cargo build --release -q -p privox-cli
OUT=bench/calibration/out
mkdir -p "$OUT"
EMODB=../shared/data/emodb/egemaps_v02_opensmile.csv
NEMO=../shared/data/nemo/egemaps_v02_opensmile.csv
C7=neutral,angry,happy,sad,fear,boredom,disgust
for f in "$EMODB" "$NEMO"; do
  [ -s "$f" ] || { echo "missing $f (the reference corpora in ../shared)" >&2; exit 1; }
done

run() { # name, command...
  local name=$1; shift
  {
    echo "\$ $*"
    echo "start $(date -u +%FT%TZ) uptime: $(uptime)"
    /usr/bin/time -f "wall %e s, user %U s, sys %S s, max RSS %M KiB" nice -n 10 "$@" 2>&1
    echo "end $(date -u +%FT%TZ) uptime: $(uptime)"
  } > "$OUT/$name.txt" 2>&1
  echo "$name: $(grep -E '^accuracy|UAR .*worst|^  UAR|pooled' "$OUT/$name.txt" | tail -2 | tr '\n' ' ')"
}

svm() {
  for cal in none speaker robust; do
    run svm-nemo-$cal       "$PRIVOX" svm eval --features "$NEMO"  --calibration $cal
    run svm-emodb-$cal      "$PRIVOX" svm eval --features "$EMODB" --calibration $cal
    run svm-emodb7-$cal     "$PRIVOX" svm eval --features "$EMODB" --classes $C7 --calibration $cal
  done
}

smh() {
  # Δ tuned (k = 3) for 5, 28, 60 % leakage on the (calibrated) training
  # features of each LOSO fold, then SMH + RBF-Hamming SVM; 3 key seeds.
  for cal in none speaker; do
    for corpus in nemo emodb; do
      run smh-$corpus-$cal "$PRIVOX" repro hashing --corpus ../shared/data/$corpus --no-table \
        --calibration $cal --out "$OUT/repro-$cal" --no-report
    done
  done
}

nn() {
  for cal in none speaker; do
    run nn-nemo-$cal   "$PRIVOX" nn eval --features "$NEMO"  --activation p2 --batch-norm --seeds 5 --calibration $cal
    run nn-emodb-$cal  "$PRIVOX" nn eval --features "$EMODB" --activation p2 --batch-norm --seeds 5 --calibration $cal
    run nn-emodb7-$cal "$PRIVOX" nn eval --features "$EMODB" --classes $C7 --activation p2 --batch-norm --seeds 5 --calibration $cal
  done
}

nn_g01() {
  # The same nEMO cells with BN γ₀ fixed at 0.1 (no γ₀ search in the inner CV):
  # the robust recipe as committed before issue 11's γ₀ search.
  for cal in none speaker; do
    run nn-nemo-g01-$cal "$PRIVOX" nn eval --features "$NEMO" --activation p2 --batch-norm --bn-gamma-init 0.1 --seeds 5 --calibration $cal
  done
}

he() {
  # The encrypted path with a calibrated model: train HE-aware p2 + BN on all of
  # nEMO with --calibration speaker, then encrypt every recording's calibrated
  # features (batch packing) and compare the decrypted decisions with the
  # plaintext network's. Agreement, not accuracy (same rows as training).
  run he-nemo-train "$PRIVOX" nn train --features "$NEMO" --activation p2 --batch-norm --bn-gamma-init 0.1 --calibration speaker -o "$OUT/nemo-cal-p2.pvxnn"
  run he-nemo-eval "$PRIVOX" he eval --model "$OUT/nemo-cal-p2.pvxnn" --features "$NEMO" --calibration speaker --packing batch --seed 1
  run he-nemo-eval-refused "$PRIVOX" he eval --model "$OUT/nemo-cal-p2.pvxnn" --features "$NEMO" --packing batch --seed 1 || true
}

oneclass() {
  bash bench/nn/one_class_subset.sh
  for cal in none speaker; do
    run oneclass-svm-$cal "$PRIVOX" svm eval --features bench/nn/out/demo-one-class.csv --calibration $cal --min-recordings 5
    run oneclass-nn-$cal  "$PRIVOX" nn eval --features bench/nn/out/demo-one-class.csv --activation p2 --batch-norm --seeds 5 --calibration $cal --min-recordings 5
  done
}

mix() {
  # Sensitivity to the class mix of the recordings the statistics come from:
  # each nEMO speaker's calibration file is built (privox calibrate update)
  # from all of their neutral recordings and only every 4th angry one (about
  # 80 % neutral), or the reverse, or (alternate) neutral-heavy for the 1st,
  # 3rd, ... speaker and angry-heavy for the others; then applied to all of
  # their rows.
  for skew in neutral angry alternate; do
    local sub="$OUT/nemo-calib-$skew.csv" dir="$OUT/calib-$skew"
    awk -F, -v skew="$skew" 'NR == 1 { print; next }
      !($2 in idx) { idx[$2] = k++ }
      { keep = skew; if (skew == "alternate") keep = (idx[$2] % 2 == 0) ? "neutral" : "angry" }
      $3 == keep || (++n[$2] % 4 == 0) { print }' "$NEMO" > "$sub"
    rm -rf "$dir"
    "$PRIVOX" calibrate update --features "$sub" --dir "$dir" > /dev/null
    run svm-nemo-speaker-mix-$skew "$PRIVOX" svm eval --features "$NEMO" --calibration speaker --calibration-dir "$dir"
  done
}

collect() {
  # Every run's output, for the record (out/ is gitignored).
  {
    echo "# Issue 12 runs: raw outputs"
    echo
    echo "Written by \`bash bench/calibration/run.sh collect\` from bench/calibration/out/*.txt;"
    echo "each block is one run: the exact command (PRIVOX was a copy of target/release/privox),"
    echo "\`uptime\` before and after, and the complete output. Summarised in docs/studies/calibration.md."
    for f in "$OUT"/*.txt; do
      echo
      echo "## $(basename "$f" .txt)"
      echo
      echo '```'
      cat "$f"
      echo '```'
    done
  } > bench/calibration/raw-results.md
}

case "${1:-all}" in
  svm) svm ;; smh) smh ;; nn) nn ;; nn_g01) nn_g01 ;; he) he ;; oneclass) oneclass ;; mix) mix ;;
  collect) collect ;;
  all) svm; smh; nn; nn_g01; he; oneclass; mix; collect ;;
  *) echo "usage: $0 svm|smh|nn|nn_g01|he|oneclass|mix|collect|all" >&2; exit 2 ;;
esac
