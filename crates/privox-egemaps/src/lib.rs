//! Pure-Rust, openSMILE-compatible eGeMAPS v02 feature extraction.
//!
//! Computes the 25 low-level descriptors (LLDs, 10 ms hop) and the 88
//! utterance-level functionals of the extended Geneva Minimalistic Acoustic
//! Parameter Set v02, reproducing openSMILE 3.0.1's `eGeMAPSv02` configuration
//! including its documented quirks (see `docs/egemaps.md` in the repository
//! for every stage; the "spec §N" comments in this crate cite its sections).
//!
//! ```
//! let sr = 16_000;
//! let tone: Vec<f32> = (0..sr)
//!     .map(|i| 0.3 * (2.0 * std::f32::consts::PI * 220.0 * i as f32 / sr as f32).sin())
//!     .collect();
//! let f = privox_egemaps::extract(&tone, sr as u32).unwrap();
//! let (name, value) = f.iter().next().unwrap();
//! assert_eq!(name, "F0semitoneFrom27.5Hz_sma3nz_amean");
//! assert!((value - 12.0 * (220.0f64 / 27.5).log2()).abs() < 0.1);
//! ```
//!
//! With the `audio` feature, the `file` module decodes audio files (WAV, FLAC,
//! OGG/Vorbis, MP3 through `privox-audio`) and extracts them, resampling
//! rates above 48 kHz: the one implementation behind `privox extract` and
//! the Python package.
//!
//! # Input conventions
//! Samples are mono `f32` where int16 full scale is 1.0 (`int16 / 32768`). Like
//! openSMILE's Python wrapper, each sample is converted to int16 by truncation
//! of `x * 32768` (saturating) and back by dividing by 32767.
//!
//! # Short inputs
//! openSMILE produces functionals only when at least one 60 ms pitch frame
//! fits in the input. Shorter inputs (fewer than `round(0.06 * rate)` samples,
//! e.g. 0.05 s or an empty file) give [`EgemapsError::TooShort`]; 60 ms and
//! longer give a full vector, as openSMILE does. Digital silence gives
//! openSMILE's values (no voiced segments, MFCC 0, Leq −120 dB, the −201
//! formant-amplitude sentinel).
//!
//! # Sample rates
//! Any rate from 8 to 48 kHz runs natively, like openSMILE: frame and hop
//! lengths are `round(seconds · rate)`, FFTs are zero-padded to the next power
//! of two, the mel bank stops at min(8 kHz, Nyquist), the SHS octave scale
//! spans 25 Hz to Nyquist, spectral slopes weight fractional edge bins, and
//! the formant stage synthesises the same 220-sample 11 kHz frame from the
//! 20 ms spectrum (bins 1..=109) at every rate.
//!
//! # Memory and threads
//! [`Extractor`] is streaming: it keeps about one 60 ms frame plus the
//! undecided Viterbi window (≤ 41 frames) of audio, and 17 + 9 floats of LLDs
//! per 10 ms frame; a 10-minute 16 kHz file peaks at ≈ 25 MiB RSS in total. It is
//! `Send` and cheap to create; parallelise over files (one extractor each).
//!
//! # Agreement with openSMILE
//! Frame by frame every stage matches openSMILE's intermediate levels
//! (including the online Viterbi, the RMS gate and jitter/shimmer). The
//! formant branch (an ill-conditioned order-11 LPC, where ulp-level input
//! differences change coefficients by tens of percent) is computed in float32
//! with openSMILE's operation order, including a port of Ooura's float FFT, and
//! gives bit-identical LPC coefficients on the frames checked (see
//! `bench/egemaps/RESULTS.md` for the corpus-level agreement).

// Index loops mirror the numerical algorithms (QR, Levinson, spline,
// harmonic search) and keep neighbouring-element access readable.
#![allow(clippy::needless_range_loop)]

mod assemble;
#[cfg(feature = "audio")]
pub mod batch;
mod error;
#[cfg(feature = "audio")]
pub mod file;
mod formants;
mod functionals;
mod geometry;
mod jitter;
mod names;
mod ooura;
mod pipeline;
mod roots;
mod shs;
mod spectral;
mod spectrum;
mod viterbi;
mod voice;

use std::io::{self, Write};

pub use error::EgemapsError;
pub use names::{FEATURE_NAMES, LLD_NAMES, NUM_FEATURES, NUM_LLDS};

/// Lowest supported input sample rate in Hz.
pub const MIN_SAMPLE_RATE: u32 = 8_000;
/// Highest supported input sample rate in Hz.
pub const MAX_SAMPLE_RATE: u32 = 48_000;
/// LLD frame period in seconds (10 ms hop).
pub const FRAME_PERIOD_S: f64 = 0.01;

/// The frame geometry and filters are defined for 8000..=48000 Hz only.
fn check_sample_rate(sample_rate: u32) -> Result<(), EgemapsError> {
    if (MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        Ok(())
    } else {
        Err(EgemapsError::UnsupportedSampleRate { rate: sample_rate })
    }
}

/// Extracts the 88 eGeMAPS v02 functionals of a whole recording.
///
/// `samples` are mono, int16 full scale = 1.0; `sample_rate` in 8000..=48000 Hz.
/// Equivalent to pushing everything into an [`Extractor`] and keeping only the
/// functionals.
pub fn extract(samples: &[f32], sample_rate: u32) -> Result<Functionals, EgemapsError> {
    let mut ex = Extractor::new(sample_rate)?;
    ex.push(samples)?;
    Ok(ex.finish()?.functionals)
}

/// Streaming extractor: feed chunks of any size with [`Extractor::push`], then
/// call [`Extractor::finish`]. Memory grows only with the per-frame LLD
/// records (≈ 10 KiB per second of audio while pushing, ≈ 35 KiB/s briefly in
/// `finish` while smoothing), never with the signal itself.
pub struct Extractor {
    sample_rate: u32,
    received: u64,
    pipeline: pipeline::Pipeline,
}

impl Extractor {
    /// Creates an extractor for audio at `sample_rate` Hz (8000..=48000).
    pub fn new(sample_rate: u32) -> Result<Self, EgemapsError> {
        check_sample_rate(sample_rate)?;
        Ok(Self {
            sample_rate,
            received: 0,
            pipeline: pipeline::Pipeline::new(sample_rate),
        })
    }

    /// The sample rate this extractor was created for.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Feeds the next chunk of samples. Fails on NaN/infinite samples; the
    /// extractor must not be used further after an error.
    pub fn push(&mut self, chunk: &[f32]) -> Result<(), EgemapsError> {
        for (k, &x) in chunk.iter().enumerate() {
            if !x.is_finite() {
                return Err(EgemapsError::NonFiniteSample {
                    index: self.received + k as u64,
                    value: x,
                });
            }
        }
        self.received += chunk.len() as u64;
        self.pipeline.push(chunk);
        Ok(())
    }

    /// Ends the stream and returns the functionals and the LLD frames.
    pub fn finish(mut self) -> Result<Output, EgemapsError> {
        let needed = (0.06 * f64::from(self.sample_rate)).round() as u64;
        let pending = self.pipeline.finish();
        if self.received < needed || self.pipeline.f_frames.is_empty() {
            return Err(EgemapsError::TooShort {
                samples: self.received,
                sample_rate: self.sample_rate,
                needed,
            });
        }
        let p = &self.pipeline;
        Ok(Output {
            functionals: Functionals {
                values: assemble::functionals(&p.e_frames, &p.f_frames, pending),
            },
            llds: Llds {
                frames: assemble::lld_rows(&p.e_frames, &p.f_frames),
            },
        })
    }
}

/// Everything one recording yields.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The 88 utterance-level functionals.
    pub functionals: Functionals,
    /// The 25 LLDs per 10 ms frame.
    pub llds: Llds,
}

/// The 88 eGeMAPS v02 functionals, in [`FEATURE_NAMES`] order.
#[derive(Debug, Clone, PartialEq)]
pub struct Functionals {
    values: [f64; NUM_FEATURES],
}

impl Functionals {
    /// The values in [`FEATURE_NAMES`] order.
    pub fn values(&self) -> &[f64; NUM_FEATURES] {
        &self.values
    }

    /// The value of the named feature, if the name exists.
    pub fn get(&self, name: &str) -> Option<f64> {
        FEATURE_NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| self.values[i])
    }

    /// `(name, value)` pairs in openSMILE order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        FEATURE_NAMES
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }
}

/// Per-frame LLDs: one row of [`NUM_LLDS`] values every 10 ms, frame `i`
/// starting at `i * 0.01` s (openSMILE's left-aligned frame times).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Llds {
    frames: Vec<[f32; NUM_LLDS]>,
}

impl Llds {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when there are no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// All rows, in [`LLD_NAMES`] column order.
    pub fn frames(&self) -> &[[f32; NUM_LLDS]] {
        &self.frames
    }

    /// Start time of frame `index` in seconds.
    pub fn frame_time(&self, index: usize) -> f64 {
        index as f64 * FRAME_PERIOD_S
    }

    /// Writes a CSV with header `frameTime,<25 LLD names>`.
    pub fn write_csv<W: Write>(&self, mut out: W) -> io::Result<()> {
        write!(out, "frameTime")?;
        for n in LLD_NAMES.iter() {
            write!(out, ",{n}")?;
        }
        writeln!(out)?;
        for (i, row) in self.frames.iter().enumerate() {
            write!(out, "{:.2}", self.frame_time(i))?;
            for v in row {
                write!(out, ",{v}")?;
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

/// Development aid (not part of the stable API): unsmoothed per-20 ms-frame
/// formant frequencies and bandwidths `[F1, F2, F3, B1, B2, B3]`.
#[doc(hidden)]
pub fn debug_formant_frames(
    samples: &[f32],
    sample_rate: u32,
) -> Result<Vec<[f32; 6]>, EgemapsError> {
    check_sample_rate(sample_rate)?;
    let mut p = pipeline::Pipeline::new(sample_rate);
    p.push(samples);
    Ok(p.e_frames
        .iter()
        .map(|e| {
            [
                e.formant_freq[0],
                e.formant_freq[1],
                e.formant_freq[2],
                e.formant_bw[0],
                e.formant_bw[1],
                e.formant_bw[2],
            ]
        })
        .collect())
}

/// Development aid (not part of the stable API): the order-11 LPC
/// coefficients of every 20 ms frame (openSMILE's `gemapsv01b_lpc` level).
#[doc(hidden)]
pub fn debug_lpc_frames(samples: &[f32], sample_rate: u32) -> Result<Vec<[f32; 11]>, EgemapsError> {
    check_sample_rate(sample_rate)?;
    let geo = geometry::Geometry::new(sample_rate);
    let mut fa = formants::FormantAnalyzer::new(geo.len20, geo.nfft20, geo.sample_rate);
    let x: Vec<f64> = samples
        .iter()
        .map(|&v| pipeline::to_opensmile_scale(v))
        .collect();
    let mut out = Vec::new();
    let mut start = 0;
    while start + geo.len20 <= x.len() {
        out.push(fa.lpc(&x[start..start + geo.len20]));
        start += geo.hop;
    }
    Ok(out)
}

/// Development aid (not part of the stable API): unsmoothed per-pitch-frame
/// `[F0 semitone, jitter, shimmer, HNR, H1-H2, H1-A3, A1, A2, A3]`.
#[doc(hidden)]
pub fn debug_pitch_frames(
    samples: &[f32],
    sample_rate: u32,
) -> Result<Vec<[f32; 9]>, EgemapsError> {
    check_sample_rate(sample_rate)?;
    let mut p = pipeline::Pipeline::new(sample_rate);
    p.push(samples);
    p.finish();
    Ok(p.f_frames.iter().map(|f| f.values).collect())
}

/// The README's Rust examples, compiled and run as doctests of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
