#!/usr/bin/env bash
# The measurements of issue 11 (robust recipe, multi-class, seed reporting),
# as reported in docs/studies/cryptonet.md, section "A robust recipe".
#
#   bash bench/nn/issue11.sh [a|b|c|d|all]     # from the repository root
#
# a  one-class-speaker demo subset: HE-aware p2 + BN, 5 seeds, robust and paper
#    recipes, ReLU, and the RBF-SVM
# b  EmoDB and nEMO neutral/angry, LOSO, 5 seeds: ReLU and HE-aware p2, p4, p6
#    with the robust recipe (table4 --recipe robust --cells he-aware)
# c  EmoDB, all 7 emotions, LOSO, 5 seeds: RBF-SVM, ReLU and HE-aware p2
#    (robust recipe; then 3 inner folds, γ₀ fixed at 0.1 or 1, UAR stopping);
#    pre-activation ranges
# d  time of one nEMO LOSO fold (examples/speed)
#
# Training runs single-threaded and niced (the build machine is shared).
# b, c and d need ../shared/data/{emodb,nemo}/egemaps_v02_opensmile.csv (read
# at run time, never copied). Outputs: bench/nn/out/issue11/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
export RAYON_NUM_THREADS=1
SHARED="${PRIVOX_SHARED:-../shared}"
EMODB="$SHARED/data/emodb/egemaps_v02_opensmile.csv"
NEMO="$SHARED/data/nemo/egemaps_v02_opensmile.csv"
OUT=bench/nn/out/issue11
mkdir -p "$OUT"
nice -n 10 cargo build --release -q -p privox-cli -p privox-nn --examples --bins
P="nice -n 10 target/release/privox"
what="${1:-all}"
run() { echo "\$ $*" ; "$@"; }

if [ "$what" = a ] || [ "$what" = all ]; then
  bash bench/nn/one_class_subset.sh
  D=bench/nn/out/demo-one-class.csv
  {
    run $P svm eval --features "$D"
    run $P nn eval --features "$D" --activation p2 --batch-norm --seeds 5
    run $P nn eval --features "$D" --activation p2 --batch-norm --seeds 5 --recipe paper
    run $P nn eval --features "$D" --seeds 5
  } 2>&1 | tee "$OUT/a-demo-one-class.txt"
fi
if [ "$what" = b ] || [ "$what" = all ]; then
  [ -f "$NEMO" ] || { echo "skipping b: $NEMO not found"; exit 0; }
  # Table 4's robust cells (examples/table4 is gone: `privox repro` regenerates
  # the table; this reruns the same cells with 5 seeds through `privox nn eval`).
  for D in "$EMODB" "$NEMO"; do
    run $P nn eval --features "$D" --seeds 5
    for a in p2 p4 p6; do run $P nn eval --features "$D" --activation $a --batch-norm --seeds 5; done
  done 2>&1 | tee "$OUT/b-table4-robust.md"
fi
if [ "$what" = c ] || [ "$what" = all ]; then
  [ -f "$EMODB" ] || { echo "skipping c: $EMODB not found"; exit 0; }
  C=neutral,angry,happy,sad,fear,boredom,disgust
  {
    run $P svm eval --features "$EMODB" --classes $C
    # the robust recipe as it is the default: inner 5-fold speaker CV picks
    # the epoch count and (polynomial networks) BN γ₀ from {0.1, 1}
    run $P nn eval --features "$EMODB" --classes $C --seeds 5
    run $P nn eval --features "$EMODB" --classes $C --activation p2 --batch-norm --seeds 5
    # the study behind it: 3 inner folds; γ₀ fixed
    run $P nn eval --features "$EMODB" --classes $C --seeds 5 --val-folds 3
    run $P nn eval --features "$EMODB" --classes $C --activation p2 --batch-norm --seeds 5 --val-folds 3
    run $P nn eval --features "$EMODB" --classes $C --activation p2 --batch-norm --seeds 5 --val-folds 3 --stop-on uar
    run $P nn eval --features "$EMODB" --classes $C --activation p2 --batch-norm --seeds 5 --val-folds 3 --bn-gamma-init 0.1
    run $P nn eval --features "$EMODB" --classes $C --activation p2 --batch-norm --seeds 5 --val-folds 3 --bn-gamma-init 1
    # pre-activation ranges on the training rows of a model fitted on all rows
    for g in 0.1 1; do for w in 1 10 100; do
      run $P nn train --features "$EMODB" --classes $C --activation p2 --batch-norm \
        --bn-gamma-init $g --range-penalty $w -o "$OUT/emodb7-g$g-w$w.pvxnn"
    done; done
  } 2>&1 | tee "$OUT/c-emodb-7-classes.txt"
fi
if [ "$what" = d ] || [ "$what" = all ]; then
  [ -f "$NEMO" ] || { echo "skipping d: $NEMO not found"; exit 0; }
  run nice -n 10 target/release/examples/speed "$NEMO" 2>&1 | tee "$OUT/d-speed.txt"
fi
