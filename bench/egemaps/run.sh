#!/usr/bin/env bash
# eGeMAPS v02: privox-egemaps vs openSMILE (the oracle), in one run.
#
#   bench/egemaps/run.sh            # everything (~10-15 min on 2 cores)
#   QUICK=1 bench/egemaps/run.sh    # reuse the shared openSMILE CSVs for EmoDB/nEMO
#                                   # (8 kHz EmoDB and the timing are always re-run)
#
# Writes bench/egemaps/RESULTS.md. Scratch files go to bench/egemaps/out/
# (gitignored): openSMILE output is an oracle only and is never committed.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SHARED="${PRIVOX_SHARED:-$ROOT/../shared}"
ORACLE="$SHARED/tools/opensmile-oracle"
OUT="$HERE/out"
EMODB="$SHARED/data/emodb"
NEMO="$SHARED/data/nemo"
mkdir -p "$OUT"

[ -d "$EMODB/wav" ] || { echo "need $EMODB (set PRIVOX_SHARED)" >&2; exit 1; }

# --- oracle venv (pinned) and sox -------------------------------------------------
if [ ! -x "$HERE/venv/bin/python" ]; then
  python3 -m venv "$HERE/venv"
  "$HERE/venv/bin/pip" install -q --upgrade pip
  "$HERE/venv/bin/pip" install -q -r "$HERE/requirements.txt"
fi
PY="$HERE/venv/bin/python"
if ! command -v sox >/dev/null; then
  apt-get update -qq && apt-get install -y -qq sox libsox-fmt-all
fi

# --- privox binaries --------------------------------------------------------------
(cd "$ROOT" && cargo build --release -p privox-egemaps --examples)
BIN="$ROOT/target/release/examples"

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

# --- 8 kHz EmoDB (telephone band), made with sox ------------------------------------
mkdir -p "$OUT/emodb8k"
for f in "$EMODB"/wav/*.wav; do
  g="$OUT/emodb8k/$(basename "$f")"
  [ -s "$g" ] || sox -q "$f" -r 8000 "$g"
done

# --- openSMILE runs (same files as privox) ----------------------------------------
log "openSMILE on EmoDB 8 kHz"
"$PY" "$ORACLE/egemaps_ref.py" "$OUT/emodb8k_opensmile.csv" "$OUT/emodb8k" --timing 2> "$OUT/opensmile_8k.log"
if [ "${QUICK:-0}" = 1 ]; then
  cp "$EMODB/egemaps_v02_opensmile.csv" "$OUT/emodb_opensmile.csv"
  cp "$NEMO/egemaps_v02_opensmile.csv" "$OUT/nemo_opensmile.csv"
else
  log "openSMILE on nEMO (24 kHz FLAC)"
  "$PY" "$ORACLE/egemaps_ref.py" "$OUT/nemo_opensmile.csv" "$NEMO/flac" --timing 2> "$OUT/opensmile_nemo.log"
  # The EmoDB 16 kHz oracle CSV is (re)computed by the timing run below.
fi

# --- single-thread throughput, interleaved: privox, openSMILE, privox ---------------
# Functionals only, the same 535 EmoDB files, CPU seconds per minute of audio.
log "throughput (single thread, EmoDB 16 kHz)"
"$BIN/compare" --dir "$EMODB/wav" --threads 1 --time-only --label privox1 2> "$OUT/privox_t1a.log"
"$PY" "$ORACLE/egemaps_ref.py" "$OUT/emodb_opensmile_run.csv" "$EMODB/wav" --timing 2> "$OUT/opensmile_t1.log"
"$BIN/compare" --dir "$EMODB/wav" --threads 1 --time-only --label privox1 2> "$OUT/privox_t1b.log"
[ "${QUICK:-0}" = 1 ] || cp "$OUT/emodb_opensmile_run.csv" "$OUT/emodb_opensmile.csv"

num() { grep -o "$1=[0-9.]*" "$2" | head -1 | cut -d= -f2; }
P1A=$(num cpu_s_per_audio_min "$OUT/privox_t1a.log")
P1B=$(num cpu_s_per_audio_min "$OUT/privox_t1b.log")
P1WA=$(num wall_s_per_audio_min "$OUT/privox_t1a.log")
P1WB=$(num wall_s_per_audio_min "$OUT/privox_t1b.log")
OS=$(num cpu_s_per_audio_min "$OUT/opensmile_t1.log")
OSW=$(num wall_s_per_audio_min "$OUT/opensmile_t1.log")
P1=$(echo "$P1A $P1B" | awk '{print ($1+$2)/2}')
P1W=$(echo "$P1WA $P1WB" | awk '{print ($1+$2)/2}')
RATIO=$(echo "$OS $P1" | awk '{printf "%.2f", $1/$2}')
RATIOW=$(echo "$OSW $P1W" | awk '{printf "%.2f", $1/$2}')

# --- agreement ----------------------------------------------------------------------
log "agreement"
"$BIN/compare" --dir "$EMODB/wav" --oracle "$OUT/emodb_opensmile.csv" --threads 2 --quiet \
  --stats "$OUT/stats_emodb.tsv" --label "EmoDB 16 kHz" > "$OUT/agree_emodb.txt" 2>/dev/null
"$BIN/compare" --dir "$NEMO/flac" --oracle "$OUT/nemo_opensmile.csv" --threads 2 --quiet \
  --stats "$OUT/stats_nemo.tsv" --label "nEMO 24 kHz" > "$OUT/agree_nemo.txt" 2>/dev/null
"$BIN/compare" --dir "$OUT/emodb8k" --oracle "$OUT/emodb8k_opensmile.csv" --threads 2 --quiet \
  --stats "$OUT/stats_emodb8k.tsv" --label "EmoDB 8 kHz" > "$OUT/agree_emodb8k.txt" 2>/dev/null

# --- 2-core scaling (nEMO, wall time) ---------------------------------------------
log "scaling"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
"$BIN/compare" --dir "$NEMO/flac" --threads 1 --time-only --label scale1 2> "$OUT/scale1.log"
"$BIN/compare" --dir "$NEMO/flac" --threads 2 --time-only --label scale2 2> "$OUT/scale2.log"
W1=$(num wall "$OUT/scale1.log"); W2=$(num wall "$OUT/scale2.log")
C1=$(num cpu "$OUT/scale1.log"); C2=$(num cpu "$OUT/scale2.log")
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
SCALE=$(echo "$W1 $W2" | awk '{printf "%.2f", $1/$2}')

# --- peak RSS on long 16 kHz files (EmoDB concatenated) -----------------------------
log "memory"
if [ ! -s "$OUT/long10m.wav" ]; then
  ls "$EMODB"/wav/*.wav | head -260 > "$OUT/long_list.txt"
  # shellcheck disable=SC2046
  sox -q $(cat "$OUT/long_list.txt") "$OUT/long_concat.wav"
  sox -q "$OUT/long_concat.wav" "$OUT/long10m.wav" trim 0 600
  sox -q "$OUT/long_concat.wav" "$OUT/long5m.wav" trim 0 300
  sox -q "$OUT/long_concat.wav" "$OUT/long1m.wav" trim 0 60
fi
RSS=""
for m in 1 5 10; do
  kb=$(/usr/bin/time -v "$BIN/stream_file" "$OUT/long${m}m.wav" 2>&1 >/dev/null | grep "Maximum resident" | awk '{print $NF}')
  RSS="$RSS| ${m} min | $(echo "$kb" | awk '{printf "%.1f", $1/1024}') MiB |"$'\n'
done

# --- RESULTS.md -------------------------------------------------------------------
summary() { tail -1 "$1"; }
N_EMODB=$(find "$EMODB/wav" -maxdepth 1 -name '*.wav' | wc -l)
N_NEMO=$(find "$NEMO/flac" -maxdepth 1 -type f | wc -l)
{
  echo "# eGeMAPS v02: privox-egemaps vs openSMILE 3.0.1 (opensmile 2.6.0)"
  echo
  echo "Generated by \`bench/egemaps/run.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, shared machine)."
  echo "openSMILE is used only as an oracle; its outputs stay in \`bench/egemaps/out/\` (gitignored)."
  echo
  echo "## Agreement (per feature: Pearson r, median absolute relative error)"
  echo
  echo '```'
  summary "$OUT/agree_emodb.txt"
  summary "$OUT/agree_nemo.txt"
  summary "$OUT/agree_emodb8k.txt"
  echo '```'
  echo
  echo "Targets: ≥84/88 features with r ≥ 0.999 on both corpora; every feature r ≥ 0.98; ≥80 features with median rel. err. ≤ 0.5 %."
  echo
  echo "## Speed (single thread, functionals only, the same $N_EMODB EmoDB 16 kHz files, interleaved privox/openSMILE/privox)"
  echo
  echo "| extractor | CPU s per audio minute | wall s per audio minute |"
  echo "|---|---|---|"
  echo "| openSMILE (Python wrapper, incl. WAV read) | $OS | $OSW |"
  echo "| privox-egemaps (run 1 / run 2) | $P1A / $P1B | $P1WA / $P1WB |"
  echo
  echo "**Throughput ratio privox / openSMILE: ${RATIO}× (CPU time), ${RATIOW}× (wall time).**"
  echo
  echo "## Parallel scaling (rayon over files, nEMO $N_NEMO files, wall time)"
  echo
  echo "| threads | wall s | CPU s | cores actually obtained (CPU/wall) |"
  echo "|---|---|---|---|"
  echo "| 1 | $W1 | $C1 | $(echo "$C1 $W1" | awk '{printf "%.2f", $1/$2}') |"
  echo "| 2 | $W2 | $C2 | $(echo "$C2 $W2" | awk '{printf "%.2f", $1/$2}') |"
  echo
  echo "**2-core speed-up (wall): ${SCALE}×.** Load average before/after: $LOAD_BEFORE / $LOAD_AFTER."
  echo "Other engineers' builds share the 2 cores; when the 2-thread run obtains fewer than 2 cores the wall-time ratio understates the scaling."
  echo
  echo "## Peak RSS, one file streamed through \`Extractor::push\` (\`/usr/bin/time -v\`, 16 kHz EmoDB concatenation)"
  echo
  echo "| length | peak RSS |"
  echo "|---|---|"
  printf "%s" "$RSS"
  echo
  echo "## Per-feature table"
  echo
  echo "| # | feature | EmoDB r | EmoDB med. rel. err | nEMO r | nEMO med. rel. err | EmoDB 8 kHz r | 8 kHz med. rel. err |"
  echo "|---|---|---|---|---|---|---|---|"
  paste "$OUT/stats_emodb.tsv" "$OUT/stats_nemo.tsv" "$OUT/stats_emodb8k.tsv" | tail -n +2 |
    awk -F'\t' '{ printf "| %d | %s | %s | %.4f%% | %s | %.4f%% | %s | %.4f%% |\n", NR, $1, $2, $3*100, $5, $6*100, $8, $9*100 }'
  # Hand-written notes live in NOTES.md so that a re-run keeps them.
  if [ -s "$HERE/NOTES.md" ]; then
    echo
    cat "$HERE/NOTES.md"
  fi
} > "$HERE/RESULTS.md"
log "wrote $HERE/RESULTS.md"
cat "$OUT/agree_emodb.txt" "$OUT/agree_nemo.txt" "$OUT/agree_emodb8k.txt" | grep matched
echo "throughput ratio ${RATIO}x (cpu) ${RATIOW}x (wall); scaling ${SCALE}x"
