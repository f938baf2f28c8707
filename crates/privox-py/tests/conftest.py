"""Shared fixtures: the demo corpus of the repository and small bad inputs."""

import csv
import struct
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "data" / "demo"
DATA = Path(__file__).resolve().parent / "data"


def demo_files(n=None):
    files = sorted(str(p) for p in (DEMO / "wav").glob("*.wav"))
    if not files:
        pytest.skip(f"demo corpus not found under {DEMO}")
    return files if n is None else files[:n]


def demo_labels():
    with open(DEMO / "labels.csv", newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


def wav_bytes(samples: np.ndarray, rate: int = 16000) -> bytes:
    """A 16-bit mono PCM WAV file."""
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2").tobytes()
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return header + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm


@pytest.fixture
def bad_inputs(tmp_path):
    """A corrupt WAV, a non-audio file and a too-short (40 ms) WAV."""
    corrupt = tmp_path / "corrupt.wav"
    good = wav_bytes(0.1 * np.sin(np.arange(16000) * 0.05))
    # A RIFF/WAVE header whose fmt chunk is cut in the middle.
    corrupt.write_bytes(good[:30])
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio at all\n" * 10)
    short = tmp_path / "short.wav"
    short.write_bytes(wav_bytes(0.1 * np.sin(np.arange(640) * 0.05)))
    return {"corrupt": str(corrupt), "text": str(text), "short": str(short)}


@pytest.fixture
def model_path():
    return str(DATA / "demo-p2-h8.pvxnn")
