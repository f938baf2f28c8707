//! Generated WAVs for every encoding and odd chunk layout, plus the bundled
//! compressed fixtures and one demo-corpus file with a `PAD ` chunk.

use privox_audio::{
    AudioErrorKind, AudioStream, DecodeOptions, DecodeWarning, NotAudio, SampleEncoding,
    SourceFormat, decode_bytes, decode_bytes_with, decode_file,
};

/// Builds a WAV from parts so each test states exactly the layout it checks.
struct WavBuilder {
    tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    extensible_sub: Option<u16>,
    before: Vec<([u8; 4], Vec<u8>)>,
    after: Vec<([u8; 4], Vec<u8>)>,
    data: Vec<u8>,
    declared_data: Option<u32>,
}

impl WavBuilder {
    fn new(tag: u16, channels: u16, rate: u32, bits: u16, data: Vec<u8>) -> Self {
        Self {
            tag,
            channels,
            rate,
            bits,
            extensible_sub: None,
            before: vec![],
            after: vec![],
            data,
            declared_data: None,
        }
    }
    fn pcm16(channels: u16, rate: u32, samples: &[i16]) -> Self {
        Self::new(
            1,
            channels,
            rate,
            16,
            samples.iter().flat_map(|s| s.to_le_bytes()).collect(),
        )
    }
    fn chunk(out: &mut Vec<u8>, id: &[u8; 4], body: &[u8], declared: Option<u32>) {
        out.extend_from_slice(id);
        out.extend_from_slice(&declared.unwrap_or(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
        if body.len() % 2 == 1 {
            out.push(0);
        }
    }
    fn build(&self) -> Vec<u8> {
        let block = self.channels * self.bits.div_ceil(8);
        let mut fmt = Vec::new();
        let tag = if self.extensible_sub.is_some() {
            0xFFFE
        } else {
            self.tag
        };
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&self.channels.to_le_bytes());
        fmt.extend_from_slice(&self.rate.to_le_bytes());
        fmt.extend_from_slice(&(self.rate * block as u32).to_le_bytes());
        fmt.extend_from_slice(&block.to_le_bytes());
        fmt.extend_from_slice(&self.bits.to_le_bytes());
        if let Some(sub) = self.extensible_sub {
            fmt.extend_from_slice(&22u16.to_le_bytes());
            fmt.extend_from_slice(&self.bits.to_le_bytes());
            fmt.extend_from_slice(&3u32.to_le_bytes());
            fmt.extend_from_slice(&sub.to_le_bytes());
            fmt.extend_from_slice(&[
                0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
            ]);
        }
        let mut body = b"WAVE".to_vec();
        Self::chunk(&mut body, b"fmt ", &fmt, None);
        for (id, b) in &self.before {
            Self::chunk(&mut body, id, b, None);
        }
        Self::chunk(&mut body, b"data", &self.data, self.declared_data);
        for (id, b) in &self.after {
            Self::chunk(&mut body, id, b, None);
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }
}

fn ramp_i16(n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| ((i as i32 * 37) % 60_000 - 30_000) as i16)
        .collect()
}

fn expect_i16(samples: &[i16]) -> Vec<f32> {
    samples.iter().map(|&s| f32::from(s) / 32_768.0).collect()
}

#[test]
fn pcm16_mono_at_common_rates() {
    for rate in [8_000, 16_000, 22_050, 44_100, 48_000] {
        let s = ramp_i16(rate as usize / 10);
        let a = decode_bytes(&WavBuilder::pcm16(1, rate, &s).build()).unwrap();
        assert_eq!(a.sample_rate, rate);
        assert_eq!(a.channels, 1);
        assert_eq!(a.samples, expect_i16(&s));
        assert!(a.warnings.is_empty());
    }
}

#[test]
fn stereo_is_averaged() {
    let inter: Vec<i16> = vec![1000, 3000, -2000, 2000, 32_767, 32_767];
    let a = decode_bytes(&WavBuilder::pcm16(2, 16_000, &inter).build()).unwrap();
    assert_eq!(a.channels, 2);
    assert_eq!(a.samples, vec![2000.0 / 32_768.0, 0.0, 32_767.0 / 32_768.0]);
}

#[test]
fn every_bit_depth_scales_like_int16() {
    // The same half-scale value in each encoding decodes to 0.5.
    let cases: Vec<(u16, u16, Vec<u8>)> = vec![
        (1, 8, vec![192]),
        (1, 16, 16_384i16.to_le_bytes().to_vec()),
        (1, 24, vec![0x00, 0x00, 0x40]),
        (1, 32, (1i32 << 30).to_le_bytes().to_vec()),
        (3, 32, 0.5f32.to_le_bytes().to_vec()),
        (3, 64, 0.5f64.to_le_bytes().to_vec()),
    ];
    for (tag, bits, data) in cases {
        let a = decode_bytes(&WavBuilder::new(tag, 1, 16_000, bits, data.clone()).build()).unwrap();
        assert_eq!(a.samples, vec![0.5], "tag {tag} bits {bits}");
        // The same through WAVE_FORMAT_EXTENSIBLE.
        let mut b = WavBuilder::new(tag, 1, 16_000, bits, data);
        b.extensible_sub = Some(tag);
        let a = decode_bytes(&b.build()).unwrap();
        assert_eq!(a.samples, vec![0.5], "extensible tag {tag} bits {bits}");
        assert!(matches!(
            a.format,
            SourceFormat::Wav {
                extensible: true,
                ..
            }
        ));
    }
}

#[test]
fn float_wav_keeps_values_above_full_scale() {
    let data: Vec<u8> = [1.5f32, -2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let a = decode_bytes(&WavBuilder::new(3, 1, 48_000, 32, data).build()).unwrap();
    assert_eq!(a.samples, vec![1.5, -2.0]);
    assert_eq!(
        a.format,
        SourceFormat::Wav {
            encoding: SampleEncoding::F32,
            extensible: false
        }
    );
}

#[test]
fn extra_chunks_before_and_after_data_odd_sizes_included() {
    let s = ramp_i16(500);
    let mut b = WavBuilder::pcm16(1, 16_000, &s);
    b.before = vec![
        (*b"PAD ", vec![0; 4044]),
        (*b"LIST", b"INFOISFT\x05\x00\x00\x00sox!\x00\x00".to_vec()),
        (*b"bext", vec![7; 603]), // odd: padded
        (*b"FLLR", vec![0; 11]),
    ];
    b.after = vec![(*b"LIST", vec![1; 33]), (*b"id3 ", vec![2; 9])];
    let a = decode_bytes(&b.build()).unwrap();
    assert_eq!(a.samples, expect_i16(&s));
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
}

#[test]
fn odd_chunk_without_pad_byte_is_tolerated() {
    let s = ramp_i16(100);
    let clean = WavBuilder::pcm16(1, 16_000, &s).build();
    // Splice an odd-sized chunk with no pad byte right after the 12-byte RIFF header.
    let mut bytes = clean[..12].to_vec();
    bytes.extend_from_slice(b"junk");
    bytes.extend_from_slice(&3u32.to_le_bytes());
    bytes.extend_from_slice(&[1, 2, 3]);
    bytes.extend_from_slice(&clean[12..]);
    let a = decode_bytes(&bytes).unwrap();
    assert_eq!(a.samples, expect_i16(&s));
}

#[test]
fn fmt_after_data_is_found() {
    let s = ramp_i16(64);
    let data: Vec<u8> = s.iter().flat_map(|v| v.to_le_bytes()).collect();
    let clean = WavBuilder::pcm16(1, 8_000, &s).build();
    // RIFF hdr(12) + fmt chunk (8+16) then data: move fmt to the end.
    let fmt = clean[12..36].to_vec();
    let mut bytes = clean[..12].to_vec();
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&data);
    bytes.extend_from_slice(&fmt);
    let a = decode_bytes(&bytes).unwrap();
    assert_eq!(a.sample_rate, 8_000);
    assert_eq!(a.samples, expect_i16(&s));
}

#[test]
fn truncated_data_decodes_what_is_there_with_a_warning() {
    let s = ramp_i16(1000);
    let mut bytes = WavBuilder::pcm16(1, 16_000, &s).build();
    bytes.truncate(bytes.len() - 601); // cut 300.5 samples
    let a = decode_bytes(&bytes).unwrap();
    assert_eq!(a.samples, expect_i16(&s[..699]));
    assert_eq!(
        a.warnings,
        vec![DecodeWarning::TruncatedData {
            declared_bytes: 2000,
            decoded_bytes: 1398
        }]
    );
}

#[test]
fn streaming_size_runs_to_end_of_file() {
    let s = ramp_i16(300);
    let mut b = WavBuilder::pcm16(1, 16_000, &s);
    b.declared_data = Some(u32::MAX);
    let a = decode_bytes(&b.build()).unwrap();
    assert_eq!(a.samples, expect_i16(&s));
    assert!(a.warnings.is_empty());
}

#[test]
fn partial_trailing_frame_is_dropped_with_a_warning() {
    let mut b = WavBuilder::new(1, 2, 16_000, 16, vec![0, 0, 0, 0, 1, 2, 3]);
    b.declared_data = Some(7);
    let a = decode_bytes(&b.build()).unwrap();
    assert_eq!(a.samples.len(), 1);
    assert_eq!(
        a.warnings,
        vec![DecodeWarning::PartialFrameDropped { bytes: 3 }]
    );
}

#[test]
fn empty_data_chunk_gives_empty_audio() {
    let a = decode_bytes(&WavBuilder::pcm16(1, 16_000, &[]).build()).unwrap();
    assert!(a.samples.is_empty());
}

fn kind_of(bytes: &[u8]) -> AudioErrorKind {
    match decode_bytes_with(bytes, "clip.wav", &DecodeOptions::default()) {
        Ok(a) => panic!("expected an error, decoded {} samples", a.samples.len()),
        Err(e) => {
            assert_eq!(e.origin(), "clip.wav");
            // The message names the file; the problem is the chained source.
            assert_eq!(e.to_string(), "clip.wav");
            let source = std::error::Error::source(&e).expect("the problem is the source");
            assert_eq!(source.to_string(), e.kind().to_string());
            match e.kind() {
                AudioErrorKind::Empty => AudioErrorKind::Empty,
                AudioErrorKind::NotAudio { found } => AudioErrorKind::NotAudio {
                    found: found.clone(),
                },
                AudioErrorKind::CorruptHeader(m) => AudioErrorKind::CorruptHeader(m.clone()),
                AudioErrorKind::Unsupported(m) => AudioErrorKind::Unsupported(m.clone()),
                AudioErrorKind::TooLong {
                    seconds,
                    limit_secs,
                } => AudioErrorKind::TooLong {
                    seconds: *seconds,
                    limit_secs: *limit_secs,
                },
                other => panic!("unexpected {other}"),
            }
        }
    }
}

#[test]
fn corrupt_headers_are_typed_errors() {
    let good = WavBuilder::pcm16(1, 16_000, &ramp_i16(10)).build();
    let mut zero_ch = good.clone();
    zero_ch[22] = 0;
    zero_ch[23] = 0;
    assert!(
        matches!(kind_of(&zero_ch), AudioErrorKind::CorruptHeader(m) if m.to_string().contains("0 channels"))
    );
    let mut zero_rate = good.clone();
    zero_rate[24..28].copy_from_slice(&0u32.to_le_bytes());
    assert!(
        matches!(kind_of(&zero_rate), AudioErrorKind::CorruptHeader(m) if m.to_string().contains("sample rate"))
    );
    let mut bad_bits = good.clone();
    bad_bits[34] = 0;
    assert!(matches!(kind_of(&bad_bits), AudioErrorKind::Unsupported(_)));
    let mut huge_fmt = good.clone();
    huge_fmt[16..20].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
    assert!(matches!(
        kind_of(&huge_fmt),
        AudioErrorKind::CorruptHeader(_)
    ));
    assert!(
        matches!(kind_of(&good[..20]), AudioErrorKind::CorruptHeader(m) if m.to_string().contains("no fmt") || m.to_string().contains("declares"))
    );
    assert!(
        matches!(kind_of(&good[..8]), AudioErrorKind::CorruptHeader(m) if m.to_string().contains("too short"))
    );
    let mut garbage_id = good.clone();
    garbage_id[12..16].copy_from_slice(&[0, 1, 2, 3]);
    assert!(
        matches!(kind_of(&garbage_id), AudioErrorKind::CorruptHeader(m) if m.to_string().contains("not a chunk id"))
    );
    let mut alaw = good.clone();
    alaw[20] = 6;
    assert!(
        matches!(kind_of(&alaw), AudioErrorKind::Unsupported(m) if m.to_string().contains("A-law"))
    );
}

#[test]
fn empty_and_non_audio_inputs_are_typed_errors() {
    assert!(matches!(kind_of(b""), AudioErrorKind::Empty));
    assert!(
        matches!(kind_of(b"file,speaker,label\n"), AudioErrorKind::NotAudio { found: NotAudio::Text { start } } if start == "file,speaker")
    );
    assert!(
        matches!(kind_of(&[0x89, b'P', b'N', b'G', 0, 0, 0, 0]), AudioErrorKind::NotAudio { found: found @ NotAudio::Bytes { .. } } if found.to_string().contains("89 50 4E 47"))
    );
    assert!(
        matches!(kind_of(b"RIFF\x04\x00\x00\x00AVI "), AudioErrorKind::NotAudio { found: NotAudio::OtherRiffForm { form } } if form == "AVI ")
    );
}

#[test]
fn over_long_declared_length_is_refused_before_decoding() {
    let s = ramp_i16(16_000);
    let opts = DecodeOptions {
        max_duration_secs: 0.5,
        ..Default::default()
    };
    let err = decode_bytes_with(&WavBuilder::pcm16(1, 16_000, &s).build(), "long.wav", &opts)
        .unwrap_err();
    assert!(
        matches!(err.kind(), AudioErrorKind::TooLong { .. }),
        "{err}"
    );
    // A header lying about a 4 GiB data chunk in a tiny file is treated as truncation, bounded by the file.
    let mut b = WavBuilder::pcm16(1, 16_000, &ramp_i16(10));
    b.declared_data = Some(0xFFFF_FFF0);
    let a = decode_bytes(&b.build()).unwrap();
    assert_eq!(a.samples.len(), 10);
}

#[test]
fn errors_from_files_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    let err = decode_file(&empty).unwrap_err();
    assert!(
        err.to_string().contains("empty.wav") && err.kind().to_string().contains("empty"),
        "{err}"
    );
    let missing = dir.path().join("missing.wav");
    let err = decode_file(&missing).unwrap_err();
    assert!(matches!(err.kind(), AudioErrorKind::Io(_)) && err.to_string().contains("missing.wav"));
    let err = decode_file(dir.path()).unwrap_err();
    assert!(
        matches!(err.kind(), AudioErrorKind::NotAudio { .. }),
        "{err}"
    );
}

#[test]
fn stream_yields_blocks_with_rate_known_up_front() {
    let s = ramp_i16(10_000);
    let opts = DecodeOptions {
        block_frames: 4096,
        ..Default::default()
    };
    let stream =
        AudioStream::from_bytes(WavBuilder::pcm16(2, 22_050, &s).build(), "x", &opts).unwrap();
    assert_eq!(stream.sample_rate(), 22_050);
    assert_eq!(stream.channels(), 2);
    assert_eq!(stream.declared_frames(), Some(5_000));
    let blocks: Vec<Vec<f32>> = stream.map(|b| b.unwrap()).collect();
    assert_eq!(
        blocks.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![4096, 904]
    );
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Checks a decoded 440 Hz tone of amplitude 0.5 by correlating with the expected sine.
fn assert_tone(samples: &[f32], rate: u32) {
    let mid = &samples[samples.len() / 4..3 * samples.len() / 4];
    let peak = mid.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!((peak - 0.5).abs() < 0.03, "peak {peak}");
    // Zero crossings: 440 Hz gives 880 per second.
    let crossings = mid.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count() as f64;
    let hz = crossings * f64::from(rate) / mid.len() as f64;
    assert!((hz - 440.0).abs() < 10.0, "estimated {hz} Hz");
}

#[test]
fn flac_stereo_44k_fixture() {
    let a = decode_file(fixture("tone440_stereo_44k.flac")).unwrap();
    assert_eq!(
        (a.sample_rate, a.channels, a.format),
        (44_100, 2, SourceFormat::Flac)
    );
    assert_eq!(a.samples.len(), 22_050);
    assert_tone(&a.samples, a.sample_rate);
}

#[test]
fn ogg_vorbis_22k_fixture() {
    let a = decode_file(fixture("tone440_mono_22k.ogg")).unwrap();
    assert_eq!(
        (a.sample_rate, a.channels, a.format),
        (22_050, 1, SourceFormat::OggVorbis)
    );
    assert!(
        (a.samples.len() as i64 - 11_025).abs() < 2_048,
        "{}",
        a.samples.len()
    );
    assert_tone(&a.samples, a.sample_rate);
}

#[test]
fn mp3_fixture() {
    let path = fixture("tone440_mono_16k.mp3");
    if !path.exists() {
        eprintln!("skipping: {} not found", path.display());
        return;
    }
    let a = decode_file(path).unwrap();
    assert_eq!((a.sample_rate, a.format), (16_000, SourceFormat::Mp3));
    assert_tone(&a.samples, a.sample_rate);
}

#[test]
fn demo_file_with_pad_chunk() {
    // 14a07Na.wav carries a 4044-byte `PAD ` chunk between `fmt ` and `data`.
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/demo/wav/14a07Na.wav");
    let bytes = std::fs::read(&path).unwrap();
    let layout =
        privox_audio::riff::walk(&mut std::io::Cursor::new(&bytes), bytes.len() as u64).unwrap();
    let ids: Vec<&str> = layout.chunks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["fmt ", "PAD ", "data"]);
    let a = decode_file(&path).unwrap();
    assert_eq!(a.sample_rate, 16_000);
    assert_eq!(a.samples.len() as u64, layout.data_bytes / 2);
    assert!(a.warnings.is_empty());
    // First sample straight from the bytes after the data header.
    let first = i16::from_le_bytes([
        bytes[layout.data_offset as usize],
        bytes[layout.data_offset as usize + 1],
    ]);
    assert_eq!(a.samples[0], f32::from(first) / 32_768.0);
}
