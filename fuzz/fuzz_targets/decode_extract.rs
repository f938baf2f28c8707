//! libFuzzer target: arbitrary bytes through privox-audio's decoder and, when
//! they decode, privox-egemaps' extractor. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privox_audio::{DecodeOptions, decode_bytes_with};

fuzz_target!(|data: &[u8]| {
    let opts = DecodeOptions {
        max_duration_secs: 30.0,
        ..Default::default()
    };
    let Ok(audio) = decode_bytes_with(data, "fuzz-input", &opts) else {
        return;
    };
    let (samples, rate) = if audio.sample_rate > privox_egemaps::MAX_SAMPLE_RATE {
        match privox_audio::resample(
            &audio.samples,
            audio.sample_rate,
            privox_egemaps::MAX_SAMPLE_RATE,
        ) {
            Ok(s) => (s, privox_egemaps::MAX_SAMPLE_RATE),
            Err(_) => return,
        }
    } else {
        (audio.samples, audio.sample_rate)
    };
    if let Ok(f) = privox_egemaps::extract(&samples, rate) {
        assert!(f.values().iter().all(|v| v.is_finite()));
    }
});
