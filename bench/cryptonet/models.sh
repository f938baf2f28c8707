#!/usr/bin/env bash
# Trains the three HE-aware cryptonets (p2, p4, p6 + batch-norm, seed 1) on
# EmoDB neutral vs angry (reference openSMILE features) and exports each as
# JSON for the anchors, with the scaled features and plaintext logits.
#
#   bench/cryptonet/models.sh          # from anywhere; skips models that exist
#   FORCE=1 bench/cryptonet/models.sh  # retrain everything
#
# Inputs (read at run time, never copied):
#   $PRIVOX_SHARED/data/emodb/egemaps_v02_opensmile.csv   (default ../shared)
#   $PRIVOX_SHARED/data/emodb/labels.csv                   (only cross-checked)
# Outputs in bench/cryptonet/out/ (gitignored):
#   cryptonet-pN.pvxnn         the folded model (privox nn train)
#   cryptonet-pN.model.json    the model as JSON (export_json)
#   cryptonet-pN.scaled.json   the 206 scaled, clamped test rows + plaintext logits
#   emodb-neutral-angry.csv    the 206 neutral/angry rows of the CSV (what run.sh
#                              gives the privox example: the same rows as scaled.json)
#   models.log                 training output
set -euo pipefail

main() {
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$HERE/out"
SHARED="${PRIVOX_SHARED:-$ROOT/../shared}"
CSV="$SHARED/data/emodb/egemaps_v02_opensmile.csv"
LABELS="$SHARED/data/emodb/labels.csv"
SEED="${SEED:-1}"
mkdir -p "$OUT"

for f in "$CSV" "$LABELS"; do
  [[ -f "$f" ]] || { echo "error: $f not found (set PRIVOX_SHARED)" >&2; exit 1; }
done

# The openSMILE CSV carries its own file,speaker,emotion columns, which is what
# `privox nn train` reads (the third column may be named `emotion`); there is
# no --manifest join for `nn`. Check once that those columns are exactly the
# corpus manifest's, so the speakers and labels are the documented ones.
if ! diff -q <(cut -d, -f1-3 "$CSV" | tail -n +2 | sort) \
             <(cut -d, -f1-3 "$LABELS" | tail -n +2 | sort) >/dev/null; then
  echo "error: file,speaker,emotion of $CSV differ from $LABELS" >&2
  exit 1
fi
# The rows every implementation evaluates: EmoDB neutral + angry (206), the
# rows `privox nn eval --model` scores; run.sh gives this file to the privox
# example, and export_json writes the same rows to cryptonet-pN.scaled.json.
awk -F, 'NR == 1 || $3 == "neutral" || $3 == "angry"' "$CSV" > "$OUT/emodb-neutral-angry.csv.tmp"
mv "$OUT/emodb-neutral-angry.csv.tmp" "$OUT/emodb-neutral-angry.csv"

PRIVOX="$ROOT/target/release/privox"
EXPORT="$ROOT/target/release/examples/export_json"
# The tree is shared with engineers who edit these crates: if a build fails
# mid-edit and a binary from an earlier build exists, say so and use it.
build() {  # build <binary> <cargo args...>
  local bin="$1"; shift
  if ! (cd "$ROOT" && nice -n 10 cargo build --release -q "$@"); then
    [[ -x "$bin" ]] || { echo "error: cargo build $* failed" >&2; exit 1; }
    echo "warning: cargo build $* failed; using the existing $bin ($(date -r "$bin" +%FT%T))" >&2
  fi
}
echo "== building privox-cli and the export_json example (release)"
build "$PRIVOX" -p privox-cli
build "$EXPORT" -p privox-nn --example export_json

for act in p2 p4 p6; do
  M="$OUT/cryptonet-$act.pvxnn"
  if [[ -n "${FORCE:-}" || ! -f "$M" ]]; then
    echo "== training $act (HE-aware: --activation $act --batch-norm, seed $SEED)"
    # Paper defaults otherwise: 100,50 hidden, SGD lr 0.01, batch 32, <= 300
    # epochs, early stopping (patience 20) on a quarter of the training speakers.
    nice -n 10 "$PRIVOX" nn train --recipe paper --features "$CSV" --classes neutral,angry \
      --activation "$act" --batch-norm --seed "$SEED" -o "$M" | tee -a "$OUT/models.log"
  fi
  if [[ -n "${FORCE:-}" || ! -f "$OUT/cryptonet-$act.scaled.json" || "$M" -nt "$OUT/cryptonet-$act.scaled.json" ]]; then
    "$EXPORT" --model "$M" --out "$OUT/cryptonet-$act.model.json" \
      --features "$OUT/emodb-neutral-angry.csv" --scaled-out "$OUT/cryptonet-$act.scaled.json"
    # The plaintext accuracy of the exported network, as `privox nn eval` reports it.
    "$PRIVOX" nn eval --model "$M" --features "$CSV" | tee -a "$OUT/models.log"
  fi
done
echo "== models in $OUT"
}

main "$@"
