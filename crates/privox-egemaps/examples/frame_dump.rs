//! Development aid: per-frame unsmoothed values of a 16-bit mono WAV.
//! `frame_dump FILE.wav [formants|pitch]`
fn main() {
    let path = std::env::args().nth(1).expect("WAV path");
    let what = std::env::args().nth(2).unwrap_or_else(|| "pitch".into());
    let b = std::fs::read(&path).expect("read");
    // Assumes the canonical 44-byte header of mono 16-bit PCM.
    let rate = u32::from_le_bytes([b[24], b[25], b[26], b[27]]);
    let x: Vec<f32> = b[44..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32768.0)
        .collect();
    let rows: Vec<Vec<f32>> = if what == "formants" {
        privox_egemaps::debug_formant_frames(&x, rate)
            .iter()
            .map(|r| r.to_vec())
            .collect()
    } else {
        privox_egemaps::debug_pitch_frames(&x, rate)
            .iter()
            .map(|r| r.to_vec())
            .collect()
    };
    for (i, r) in rows.iter().enumerate() {
        let s: Vec<String> = r.iter().map(|v| v.to_string()).collect();
        println!("{i};{}", s.join(";"));
    }
}
