#!/usr/bin/env bash
# The Python package (crates/privox-py): a fresh venv with maturin, pytest,
# numpy, pandas and ray[data] from PyPI (pinned in requirements-ci.txt), the
# wheel built with maturin and installed into it, then the pytest suite
# (including the 2-worker Ray test). Called by .ci/run.
#
# Measured on the 2-core machine: the venv install takes ~40 s (ray[data]
# makes it ~650 MB); the wheel build reuses `cargo test`'s dev-profile
# dependencies. Set PRIVOX_PY_PROFILE=release for an optimised wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${PRIVOX_CI_VENV:-target/ci-venv}"
WHEELS=target/wheels-ci
PROFILE="${PRIVOX_PY_PROFILE:-dev}"

log() { echo "[python.sh $(date -u +%H:%M:%S)] $*" >&2; }

log "fresh venv in $VENV"
rm -rf "$VENV" "$WHEELS"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -r crates/privox-py/requirements-ci.txt

log "maturin build (profile $PROFILE)"
"$VENV/bin/maturin" build --profile "$PROFILE" -m crates/privox-py/Cargo.toml \
  -i "$VENV/bin/python" -o "$WHEELS" -q
"$VENV/bin/python" -m pip install -q --no-deps --force-reinstall "$WHEELS"/privox-*.whl

log "pytest"
# Run from outside the source tree so the installed wheel is what is imported.
(cd crates/privox-py/tests && "../../../$VENV/bin/python" -m pytest -q -p no:cacheprovider .)
log "done"
