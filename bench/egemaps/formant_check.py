#!/usr/bin/env python3
"""Bit-exactness check of the formant branch's LPC coefficients (oracle only).

For each audio file, fetches openSMILE's `gemapsv01b_lpc` level at full float32
precision through the Python API (the CSV sink prints only 7 digits) and
compares it frame by frame with privox-egemaps' LPC coefficients
(`frame_dump FILE lpc`). openSMILE output is printed as a summary only and never
written to the repository.

    bench/egemaps/venv/bin/python bench/egemaps/formant_check.py \
        target/release/examples/frame_dump ../shared/data/emodb/wav/03a01Fa.wav ...
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np
import opensmile
import soundfile as sf

CONF_ROOT = os.path.join(os.path.dirname(opensmile.__file__), "core", "config")


def lld_config() -> str:
    lines = [
        "[componentInstances:cComponentManager]",
        "instance[dataMemory].type=cDataMemory",
        "printLevelStats=0",
        "",
        "\\{\\cm[source{?}:include external source]}",
        "\\{%s}" % os.path.join(CONF_ROOT, "gemaps/v01b/GeMAPSv01b_core.lld.conf.inc"),
        "\\{%s}" % os.path.join(CONF_ROOT, "egemaps/v02/eGeMAPSv02_core.lld.conf.inc"),
        "\\{\\cm[sink{?}:include external sink]}",
    ]
    fd, path = tempfile.mkstemp(suffix=".conf", prefix="formant_check_")
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    frame_dump, files = argv[0], argv[1:]
    conf = lld_config()
    total = exact = 0
    try:
        smile = opensmile.Smile(feature_set=conf, feature_level="gemapsv01b_lpc")
        for path in files:
            x, sr = sf.read(path, dtype="float32", always_2d=True)
            ref = smile.process_signal(x.mean(axis=1), sr).to_numpy(np.float32)
            out = subprocess.run([frame_dump, path, "lpc"], capture_output=True,
                                 text=True, check=True).stdout
            mine = np.array([[float(v) for v in line.split(";")[1:]]
                             for line in out.strip().splitlines()], dtype=np.float32)
            n = min(len(ref), len(mine))
            same = np.all(mine[:n] == ref[:n], axis=1)
            rel = (np.abs(mine[:n] - ref[:n]).max(axis=1)
                   / (np.abs(ref[:n]).max(axis=1) + 1e-30))
            total += n
            exact += int(same.sum())
            print(f"{os.path.basename(path)}: frames {n} (openSMILE {len(ref)}, privox "
                  f"{len(mine)}), bit-exact {int(same.sum())}, max rel diff {rel.max():.3g}")
    finally:
        os.unlink(conf)
    print(f"total: {exact}/{total} frames bit-exact")
    return 0 if exact == total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
