//! Development aid: per-frame unsmoothed values of an audio file (any format
//! privox-audio decodes, mixed to mono). Used by `bench/egemaps/formant_check.py`.
//! `frame_dump FILE [formants|pitch|lpc]`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: frame_dump FILE [formants|pitch|lpc]")?;
    let what = std::env::args().nth(2).unwrap_or_else(|| "pitch".into());
    let audio = privox_audio::decode_file(std::path::Path::new(&path))?;
    let (x, rate) = (audio.samples, audio.sample_rate);
    let rows: Vec<Vec<f32>> = match what.as_str() {
        "formants" => privox_egemaps::debug_formant_frames(&x, rate)?
            .iter()
            .map(|r| r.to_vec())
            .collect(),
        "lpc" => privox_egemaps::debug_lpc_frames(&x, rate)?
            .iter()
            .map(|r| r.to_vec())
            .collect(),
        _ => privox_egemaps::debug_pitch_frames(&x, rate)?
            .iter()
            .map(|r| r.to_vec())
            .collect(),
    };
    for (i, r) in rows.iter().enumerate() {
        // `{:e}` with Rust's shortest round-trip digits keeps full f32 precision.
        let s: Vec<String> = r.iter().map(|v| format!("{v:e}")).collect();
        println!("{i};{}", s.join(";"));
    }
    Ok(())
}
