//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Minimal reader for mono/stereo 16-bit PCM WAV (walks the chunks).
pub fn read_wav_i16(path: &Path) -> (Vec<f32>, u32) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        &b[0..4] == b"RIFF" && &b[8..12] == b"WAVE",
        "not a WAV file"
    );
    let mut pos = 12;
    let (mut ch, mut rate) = (1usize, 0u32);
    while pos + 8 <= b.len() {
        let id = &b[pos..pos + 4];
        let len = u32::from_le_bytes([b[pos + 4], b[pos + 5], b[pos + 6], b[pos + 7]]) as usize;
        let body = &b[pos + 8..(pos + 8 + len).min(b.len())];
        if id == b"fmt " {
            ch = u16::from_le_bytes([body[2], body[3]]) as usize;
            rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
        } else if id == b"data" {
            let x = body
                .chunks_exact(2 * ch)
                .map(|f| {
                    f.chunks_exact(2)
                        .map(|s| f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0)
                        .sum::<f32>()
                        / ch as f32
                })
                .collect();
            return (x, rate);
        }
        pos += 8 + len + (len & 1);
    }
    panic!("{}: no data chunk", path.display());
}

/// Sum of harmonics `amps[h]·sin(2π(h+1)f0 t)` of `secs` seconds.
pub fn harmonic_complex(f0: f32, amps: &[f32], rate: u32, secs: f32) -> Vec<f32> {
    let n = (secs * rate as f32) as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            amps.iter()
                .enumerate()
                .map(|(h, a)| a * (2.0 * std::f32::consts::PI * (h + 1) as f32 * f0 * t).sin())
                .sum()
        })
        .collect()
}

/// Deterministic pseudo-random noise in [-amp, amp] (xorshift).
pub fn noise(n: usize, amp: f32, seed: u64) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32 * amp
        })
        .collect()
}
