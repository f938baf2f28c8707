#!/usr/bin/env bash
# Load bench of privox serve (acceptance 5 of issue 9). Bounded: loopback
# only, stops by itself. Prints the report; records uptime before and after.
#   bench/service/run.sh [CLIENTS=64] [SECONDS=60] [TOTAL_RATE (req/s; default: closed loop)]
set -euo pipefail
cd "$(dirname "$0")/../.."
clients=${1:-64}
seconds=${2:-60}
cargo build --release -q -p privox-service --example load
echo "uptime before: $(uptime)"
start=$(date -u +%H:%M:%S)
target/release/examples/load "$clients" "$seconds" ${3:+"$3"}
echo "run ${start}-$(date -u +%H:%M:%S) UTC; uptime after: $(uptime)"
