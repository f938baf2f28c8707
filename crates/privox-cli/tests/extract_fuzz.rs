//! Mutation fuzzing of the decode -> extract path (stable Rust, no cargo-fuzz).
//!
//! Seeds are valid WAVs of every encoding plus the FLAC/OGG/MP3 fixtures;
//! mutations flip bits, rewrite header fields with boundary values, truncate,
//! splice and insert chunks; pure random bytes behind each magic number are
//! mixed in. Every input goes through `privox_audio::decode_bytes_with` and,
//! when it decodes, `privox_egemaps::extract` (after resampling to 48 kHz if
//! the rate is above). Any panic that escapes fails the test and the input is
//! saved under `target/fuzz-crashes/`.
//!
//! - `cargo test -p privox-cli --test extract_fuzz` runs a short smoke round.
//! - `PRIVOX_FUZZ_SECS=600 cargo test --release -p privox-cli --test extract_fuzz -- --ignored --nocapture`
//!   runs the long campaign (`PRIVOX_FUZZ_SEED` picks the RNG seed).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use privox_audio::{AudioErrorKind, DecodeOptions, decode_bytes_with};

/// Every panic, including those privox-audio catches inside symphonia.
static PANICS_SEEN: AtomicU64 = AtomicU64::new(0);
static FIRST_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// One campaign at a time: the panic hook is process-global.
static CAMPAIGN: Mutex<()> = Mutex::new(());

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

fn wav(tag: u16, channels: u16, rate: u32, bits: u16, frames: usize, rng: &mut Rng) -> Vec<u8> {
    let block = channels * bits / 8;
    let mut data = Vec::with_capacity(frames * block as usize);
    for i in 0..frames * channels as usize {
        let v = ((i as f64 * 0.07).sin() * 0.5 + (rng.below(100) as f64 - 50.0) * 1e-3) as f32;
        match (tag, bits) {
            (3, 32) => data.extend_from_slice(&v.to_le_bytes()),
            (3, 64) => data.extend_from_slice(&f64::from(v).to_le_bytes()),
            (_, 8) => data.push((v * 127.0 + 128.0) as u8),
            (_, 16) => data.extend_from_slice(&((v * 32767.0) as i16).to_le_bytes()),
            (_, 24) => data.extend_from_slice(&((v * 8_388_607.0) as i32).to_le_bytes()[..3]),
            _ => data.extend_from_slice(&((f64::from(v) * 2_147_483_647.0) as i32).to_le_bytes()),
        }
    }
    let mut body = b"WAVEfmt ".to_vec();
    body.extend_from_slice(&16u32.to_le_bytes());
    for v in [tag, channels] {
        body.extend_from_slice(&v.to_le_bytes());
    }
    body.extend_from_slice(&rate.to_le_bytes());
    body.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    body.extend_from_slice(&block.to_le_bytes());
    body.extend_from_slice(&bits.to_le_bytes());
    if rng.below(3) == 0 {
        body.extend_from_slice(b"LIST\x04\0\0\0INFO");
    }
    body.extend_from_slice(b"data");
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&data);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

fn seeds(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut s = Vec::new();
    let formats = [(1, 8), (1, 16), (1, 24), (1, 32), (3, 32), (3, 64)];
    for &(tag, bits) in &formats {
        for &rate in &[8_000u32, 16_000, 22_050, 44_100, 48_000, 96_000] {
            let ch = 1 + rng.below(2) as u16;
            // 0.05..0.3 s: long enough to reach the functionals, short enough to run fast.
            let frames = rate as usize / 20 + rng.below(rate as usize / 4);
            s.push(wav(tag, ch, rate, bits, frames, rng));
        }
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../privox-audio/tests/fixtures");
    for name in [
        "tone440_stereo_44k.flac",
        "tone440_mono_22k.ogg",
        "tone440_mono_16k.mp3",
    ] {
        if let Ok(b) = std::fs::read(fixtures.join(name)) {
            s.push(b);
        }
    }
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/demo/wav/14a07Na.wav");
    if let Ok(b) = std::fs::read(demo) {
        s.push(b[..b.len().min(12_000)].to_vec()); // PAD chunk + a truncated data chunk
    }
    s
}

const MAGICS: [&[u8]; 7] = [
    b"RIFF",
    b"fLaC",
    b"OggS",
    b"ID3\x03",
    b"\xFF\xFB\x90\x00",
    b"RF64",
    b"",
];
const INTERESTING_U32: [u32; 9] = [
    0,
    1,
    2,
    3,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    0xFFFF_FFFE,
    16,
];

fn mutate(seeds: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    if rng.below(10) == 0 {
        let mut b = MAGICS[rng.below(MAGICS.len())].to_vec();
        let n = rng.below(4096);
        b.extend((0..n).map(|_| rng.byte()));
        return b;
    }
    let mut b = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                b[i] = rng.byte();
            }
            2 if len >= 4 => {
                // Header fields live in the first ~64 bytes; hit them often.
                let i = if rng.below(2) == 0 {
                    rng.below(len.min(64) - 3)
                } else {
                    rng.below(len - 3)
                };
                let v = match rng.below(3) {
                    0 => INTERESTING_U32[rng.below(INTERESTING_U32.len())],
                    1 => len as u32 + rng.below(3) as u32 - 1,
                    _ => rng.next() as u32,
                };
                b[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            3 => b.truncate(rng.below(len + 1)),
            4 if len > 0 => {
                let (a, n) = (rng.below(len), rng.below(256));
                let piece: Vec<u8> = b[a..(a + n).min(len)].to_vec();
                let at = rng.below(len + 1);
                b.splice(at..at, piece);
            }
            5 => {
                let at = rng.below(len + 1).max(12.min(len));
                let ids: [&[u8; 4]; 6] = [b"PAD ", b"LIST", b"FLLR", b"bext", b"data", b"fmt "];
                let mut chunk = ids[rng.below(ids.len())].to_vec();
                let n = rng.below(40);
                chunk.extend_from_slice(&(n as u32 + rng.below(2) as u32).to_le_bytes());
                chunk.extend((0..n).map(|_| rng.byte()));
                b.splice(at..at, chunk);
            }
            6 if len > 1 => {
                let a = rng.below(len);
                let e = (a + rng.below(512)).min(len);
                b.drain(a..e);
            }
            _ => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(b.len() + 1);
                let from = rng.below(other.len() + 1);
                b.truncate(cut);
                b.extend_from_slice(&other[from..]);
            }
        }
    }
    b
}

#[derive(Default, Debug)]
struct Stats {
    inputs: u64,
    decoded: u64,
    decode_errors: u64,
    extracted: u64,
    too_short_or_rejected: u64,
    escaped_panics: u64,
}

/// Runs one input through decode -> extract; returns Err(message) if a panic escaped.
fn run_one(bytes: &[u8], stats: &mut Stats) -> Result<(), String> {
    let opts = DecodeOptions {
        max_duration_secs: 30.0,
        ..Default::default()
    };
    let r = catch_unwind(AssertUnwindSafe(|| {
        match decode_bytes_with(bytes, "fuzz-input", &opts) {
            Err(e) => {
                assert_eq!(e.origin(), "fuzz-input");
                assert!(
                    !matches!(e.kind(), AudioErrorKind::TooLong { .. })
                        || e.kind().to_string().contains("limit")
                );
                (false, false)
            }
            Ok(audio) => {
                assert!(
                    audio.samples.iter().all(|s| s.is_finite()),
                    "decoder produced a non-finite sample"
                );
                let (samples, rate) = if audio.sample_rate > privox_egemaps::MAX_SAMPLE_RATE {
                    match privox_audio::resample(
                        &audio.samples,
                        audio.sample_rate,
                        privox_egemaps::MAX_SAMPLE_RATE,
                    ) {
                        Ok(s) => (s, privox_egemaps::MAX_SAMPLE_RATE),
                        Err(_) => return (true, false),
                    }
                } else {
                    (audio.samples, audio.sample_rate)
                };
                match privox_egemaps::extract(&samples, rate) {
                    Ok(f) => {
                        assert!(
                            f.values().iter().all(|v| v.is_finite()),
                            "non-finite feature"
                        );
                        (true, true)
                    }
                    Err(_) => (true, false),
                }
            }
        }
    }));
    stats.inputs += 1;
    match r {
        Ok((decoded, extracted)) => {
            if decoded {
                stats.decoded += 1;
                if extracted {
                    stats.extracted += 1;
                } else {
                    stats.too_short_or_rejected += 1;
                }
            } else {
                stats.decode_errors += 1;
            }
            Ok(())
        }
        Err(p) => {
            stats.escaped_panics += 1;
            Err(p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic".into()))
        }
    }
}

fn campaign(duration: Duration, max_inputs: u64, seed: u64) -> Stats {
    let _one_at_a_time = CAMPAIGN.lock().unwrap_or_else(|e| e.into_inner());
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        PANICS_SEEN.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut v) = FIRST_PANICS.lock()
            && v.len() < 5
        {
            v.push(info.to_string());
        }
    }));
    let mut rng = Rng(seed);
    let seeds = seeds(&mut rng);
    let mut stats = Stats::default();
    let mut crashes = Vec::new();
    let start = Instant::now();
    while start.elapsed() < duration && stats.inputs < max_inputs {
        let input = mutate(&seeds, &mut rng);
        if let Err(msg) = run_one(&input, &mut stats) {
            crashes.push((msg, input));
        }
    }
    std::panic::set_hook(default_hook);
    let panics_seen = PANICS_SEEN.swap(0, Ordering::Relaxed);
    let first = FIRST_PANICS
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default();
    eprintln!(
        "fuzz: seed {seed}, {} inputs in {:.1} s: {} decoded ({} extracted, {} too short/rejected by the extractor), {} typed decode errors; panics seen {} (caught and turned into typed errors inside the decoder: {}), escaped: {}",
        stats.inputs,
        start.elapsed().as_secs_f64(),
        stats.decoded,
        stats.extracted,
        stats.too_short_or_rejected,
        stats.decode_errors,
        panics_seen,
        panics_seen - stats.escaped_panics,
        stats.escaped_panics
    );
    for p in &first {
        eprintln!("fuzz: panic seen: {p}");
    }
    if !crashes.is_empty() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-crashes");
        let _ = std::fs::create_dir_all(&dir);
        for (i, (msg, input)) in crashes.iter().enumerate() {
            let p = dir.join(format!("crash-{seed}-{i}.bin"));
            let _ = std::fs::write(&p, input);
            eprintln!(
                "fuzz: ESCAPED PANIC ({msg}); input saved to {}",
                p.display()
            );
        }
    }
    stats
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn fuzz_smoke_decode_extract_never_panics() {
    let stats = campaign(
        Duration::from_secs(20),
        400,
        env_u64("PRIVOX_FUZZ_SEED").unwrap_or(1),
    );
    assert_eq!(stats.escaped_panics, 0, "{stats:?}");
    assert!(
        stats.extracted > 0 && stats.decode_errors > 0,
        "the mutator must reach both paths: {stats:?}"
    );
}

#[test]
#[ignore = "long campaign: PRIVOX_FUZZ_SECS=600 cargo test --release -p privox-cli --test extract_fuzz -- --ignored --nocapture"]
fn fuzz_campaign_decode_extract_never_panics() {
    let secs = env_u64("PRIVOX_FUZZ_SECS").unwrap_or(600);
    let seed = env_u64("PRIVOX_FUZZ_SEED").unwrap_or(0x5EED);
    let stats = campaign(Duration::from_secs(secs), u64::MAX, seed);
    assert_eq!(stats.escaped_panics, 0, "{stats:?}");
}
