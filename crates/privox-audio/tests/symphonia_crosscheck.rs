//! Cross-check of the hand-written WAV walker against an independent decoder
//! (symphonia's own WAV reader) on every bundled demo file and on generated
//! stereo / 24-bit / float files: the samples must be identical.

use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::DecoderOptions;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

mod common;

/// Mono samples through symphonia's WAV reader (channel average in f64, like privox-audio).
fn symphonia_wav(bytes: Vec<u8>) -> (u32, Vec<f32>) {
    let mss = MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("wav");
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            mss,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .unwrap();
    let mut format = probed.format;
    let track = format.default_track().unwrap().clone();
    let mut dec = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .unwrap();
    let mut out = Vec::new();
    let mut rate = 0;
    while let Ok(packet) = format.next_packet() {
        let audio = dec.decode(&packet).unwrap();
        let spec = *audio.spec();
        rate = spec.rate;
        let ch = spec.channels.count();
        let mut buf = SampleBuffer::<f64>::new(audio.capacity() as u64, spec);
        buf.copy_interleaved_ref(audio);
        out.extend(
            buf.samples()
                .chunks_exact(ch)
                .map(|f| (f.iter().sum::<f64>() * (1.0 / ch as f64)) as f32),
        );
    }
    (rate, out)
}

#[test]
fn demo_corpus_decodes_identically_to_symphonia() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/demo/wav");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let ours = privox_audio::decode_bytes(&bytes).unwrap();
        let (rate, theirs) = symphonia_wav(bytes);
        assert_eq!(ours.sample_rate, rate, "{}", path.display());
        assert_eq!(ours.samples, theirs, "{}", path.display());
        n += 1;
    }
    assert_eq!(n, 206);
}

#[test]
fn generated_encodings_decode_identically_to_symphonia() {
    // Stereo 8-, 16-, 24-, 32-bit int and 32-bit float in a canonical 44-byte-header WAV.
    let frames = 5_000usize;
    for (tag, bits) in [(1u16, 8u16), (1, 16), (1, 24), (1, 32), (3, 32)] {
        let channels = 2u16;
        let mut data = Vec::new();
        for i in 0..frames * channels as usize {
            let v = (i as f64 * 0.013).sin() * 0.7;
            match (tag, bits) {
                (3, _) => data.extend_from_slice(&(v as f32).to_le_bytes()),
                (_, 8) => data.push((v * 127.0 + 128.0) as u8),
                (_, 16) => data.extend_from_slice(&((v * 32_767.0) as i16).to_le_bytes()),
                (_, 24) => data.extend_from_slice(&((v * 8_388_607.0) as i32).to_le_bytes()[..3]),
                _ => data.extend_from_slice(&((v * 2_147_483_647.0) as i32).to_le_bytes()),
            }
        }
        let w = common::canonical_wav(tag, channels, 44_100, bits, &data);
        let ours = privox_audio::decode_bytes(&w).unwrap();
        let (_, theirs) = symphonia_wav(w);
        assert_eq!(ours.samples.len(), frames);
        let max_diff = ours
            .samples
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        // Symphonia scales ints by 2^(bits-1) too; only f32 rounding of the average may differ.
        assert!(
            max_diff <= 1e-7,
            "tag {tag} bits {bits}: max diff {max_diff}"
        );
    }
}
