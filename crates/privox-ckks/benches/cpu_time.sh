#!/usr/bin/env bash
# CPU time per call (perf task-clock) of every benchmarked op at N = 2^14,
# Q = [60, 40x6], single thread. Unlike wall time, CPU time is robust to a
# machine shared with other jobs. Setup is subtracted: (t(R) - t(1)) / (R - 1).
# Usage: crates/privox-ckks/benches/cpu_time.sh [dnum]   (default 7)
set -euo pipefail
cd "$(dirname "$0")/../../.."
cargo build --release -q -p privox-ckks --example profile_relin
BIN=target/release/examples/profile_relin
export RAYON_NUM_THREADS=1 CKKS_BENCH_DNUM="${1:-7}"
cpu() { perf stat -x, -e task-clock "$BIN" "$1" "$2" 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}'; }
printf "%-18s %12s\n" op "ms CPU/call (dnum $CKKS_BENCH_DNUM)"
for spec in encode:101 encrypt_pk:41 encrypt_sk:101 decrypt:401 decode:101 mul_ct_ct:201 mul_ct_pt:401 \
            relin:31 mul_relin:31 rescale:201 rotate:31 rotate_hoisted16:6; do
  op=${spec%%:*}; reps=${spec##*:}
  t1=$(cpu "$op" 1); tr=$(cpu "$op" "$reps")
  awk -v a="$t1" -v b="$tr" -v r="$reps" -v op="$op" 'BEGIN { printf "%-18s %12.3f\n", op, (b - a) / (r - 1) }'
done
