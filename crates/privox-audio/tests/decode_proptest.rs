//! Property tests: the decoder never panics and never returns garbage on
//! random or mutated input; it either decodes or returns a typed error.

use proptest::prelude::*;

use privox_audio::{DecodeOptions, decode_bytes_with};

mod common;

fn valid_wav(channels: u16, bits: u16, tag: u16, frames: usize) -> Vec<u8> {
    let data_len = frames * usize::from(channels * bits / 8);
    let data: Vec<u8> = (0..data_len).map(|i| (i * 31 % 251) as u8).collect();
    common::canonical_wav(tag, channels, 16_000, bits, &data)
}

fn opts() -> DecodeOptions {
    // Small limit so a mutated header cannot ask for hours of audio.
    DecodeOptions {
        max_duration_secs: 60.0,
        ..Default::default()
    }
}

fn check(bytes: &[u8]) {
    match decode_bytes_with(bytes, "fuzz.bin", &opts()) {
        Ok(a) => {
            assert!(a.sample_rate > 0);
            assert!(a.channels > 0);
            assert!(a.samples.iter().all(|s| s.is_finite()));
        }
        Err(e) => {
            // The message names the input; the problem is the chained source.
            let msg = e.to_string();
            assert_eq!(msg, "fuzz.bin");
            assert!(std::error::Error::source(&e).is_some(), "{msg}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn random_bytes_behind_magic_never_panic(
        magic in prop_oneof![Just(&b"RIFF"[..]), Just(&b"fLaC"[..]), Just(&b"OggS"[..]), Just(&b"ID3\x03"[..]), Just(&b"\xFF\xFB\x90\x00"[..])],
        rest in proptest::collection::vec(any::<u8>(), 0..4096),
    ) {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&rest);
        check(&bytes);
    }

    #[test]
    fn mutated_wavs_never_panic(
        channels in 1u16..4,
        fmt in prop_oneof![Just((8u16, 1u16)), Just((16, 1)), Just((24, 1)), Just((32, 1)), Just((32, 3)), Just((64, 3))],
        frames in 0usize..300,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let mut bytes = valid_wav(channels, fmt.0, fmt.1, frames);
        for (i, b) in edits {
            let i = i.index(bytes.len());
            bytes[i] = b;
        }
        if do_cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        check(&bytes);
    }
}
