//! Audio files (and whole signals at any rate) to eGeMAPS features: the one
//! implementation behind `privox extract` and the Python package.
//!
//! Enabled by the `audio` feature (it pulls in `privox-audio`). Files are
//! decoded block by block and streamed into an [`Extractor`], so a long
//! recording is never held in memory, except above 48 kHz, where it is
//! decoded fully and band-limited down to 48 kHz first.

use std::path::Path;

use privox_audio::{AudioError, AudioStream, DecodeOptions, ResampleError};

use crate::{EgemapsError, Extractor, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Output};

/// What one recording yielded.
#[derive(Debug, Clone)]
pub struct FileFeatures {
    /// Functionals and LLD frames.
    pub output: Output,
    /// The source's sample rate in Hz (before any resampling).
    pub sample_rate: u32,
    /// Samples (per channel) decoded at the source rate.
    pub frames: u64,
    /// Non-fatal remarks (decoder warnings, resampling), one line each.
    pub warnings: Vec<String>,
}

impl FileFeatures {
    /// Seconds of audio: `frames / sample_rate`.
    pub fn audio_secs(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate)
    }
}

/// Why a recording gave no features. `Display` names the input and what
/// failed; the underlying error is the `source()` (print the whole line with
/// `privox_format::Report` or any chain-printing reporter).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read or decoded (names the path itself).
    #[error(transparent)]
    Audio(AudioError),
    /// The sample rate is below 8 kHz.
    #[error(
        "{name}: sample rate {rate} Hz is below the {MIN_SAMPLE_RATE} Hz that eGeMAPS needs; use a recording at 8 kHz or more"
    )]
    RateTooLow {
        /// The input's name.
        name: String,
        /// Its sample rate in Hz.
        rate: u32,
    },
    /// Resampling down to 48 kHz failed.
    #[error("{name}: cannot resample to {MAX_SAMPLE_RATE} Hz")]
    Resample {
        /// The input's name.
        name: String,
        /// The resampler's error.
        #[source]
        cause: ResampleError,
    },
    /// Decodable, but shorter than one 60 ms pitch frame: no functionals exist.
    #[error("{name}")]
    TooShort {
        /// The input's name.
        name: String,
        /// The extractor's [`EgemapsError::TooShort`].
        #[source]
        cause: EgemapsError,
        /// Seconds of audio decoded.
        audio_secs: f64,
    },
    /// The extractor refused the samples (e.g. NaN after decoding).
    #[error("{name}")]
    Extract {
        /// The input's name.
        name: String,
        /// The extractor's error.
        #[source]
        cause: EgemapsError,
    },
}

impl FileError {
    /// True for [`FileError::TooShort`].
    pub fn is_too_short(&self) -> bool {
        matches!(self, FileError::TooShort { .. })
    }
}

fn classify(name: &str, e: EgemapsError, audio_secs: f64) -> FileError {
    match e {
        EgemapsError::TooShort { .. } => FileError::TooShort {
            name: name.to_string(),
            cause: e,
            audio_secs,
        },
        other => FileError::Extract {
            name: name.to_string(),
            cause: other,
        },
    }
}

/// Extracts the functionals and LLDs of a whole signal at any rate:
/// 8–48 kHz natively, higher rates band-limited down to 48 kHz first (the
/// returned flag says so), lower rates refused. `name` is used in errors.
pub fn extract_signal(
    samples: &[f32],
    sample_rate: u32,
    name: &str,
) -> Result<(Output, bool), FileError> {
    let audio_secs = samples.len() as f64 / f64::from(sample_rate.max(1));
    if sample_rate < MIN_SAMPLE_RATE {
        return Err(FileError::RateTooLow {
            name: name.to_string(),
            rate: sample_rate,
        });
    }
    let run = |x: &[f32], rate: u32| {
        Extractor::new(rate).and_then(|mut ex| {
            ex.push(x)?;
            ex.finish()
        })
    };
    if sample_rate > MAX_SAMPLE_RATE {
        let resampled =
            privox_audio::resample(samples, sample_rate, MAX_SAMPLE_RATE).map_err(|e| {
                FileError::Resample {
                    name: name.to_string(),
                    cause: e,
                }
            })?;
        run(&resampled, MAX_SAMPLE_RATE)
            .map(|o| (o, true))
            .map_err(|e| classify(name, e, audio_secs))
    } else {
        run(samples, sample_rate)
            .map(|o| (o, false))
            .map_err(|e| classify(name, e, audio_secs))
    }
}

/// Decodes `path` and extracts its features; `name` is how errors other than
/// decoding errors (which name the path) refer to it.
pub fn extract_file(
    path: &Path,
    name: &str,
    opts: &DecodeOptions,
) -> Result<FileFeatures, FileError> {
    let mut stream = AudioStream::open(path, opts).map_err(FileError::Audio)?;
    let rate = stream.sample_rate();
    if rate < MIN_SAMPLE_RATE {
        return Err(FileError::RateTooLow {
            name: name.to_string(),
            rate,
        });
    }
    let mut warnings = Vec::new();
    let mut frames = 0u64;
    let result = if rate > MAX_SAMPLE_RATE {
        // Above 48 kHz: decode fully, then band-limit down to 48 kHz.
        let mut samples = Vec::new();
        for block in &mut stream {
            samples.extend_from_slice(&block.map_err(FileError::Audio)?);
        }
        warnings.extend(stream.warnings().iter().map(ToString::to_string));
        frames = samples.len() as u64;
        let (out, _) = extract_signal(&samples, rate, name)?;
        warnings.push(format!("resampled from {rate} Hz to {MAX_SAMPLE_RATE} Hz"));
        Ok(out)
    } else {
        let mut ex = Extractor::new(rate).map_err(|e| classify(name, e, 0.0))?;
        for block in &mut stream {
            let b = block.map_err(FileError::Audio)?;
            frames += b.len() as u64;
            ex.push(&b).map_err(|e| classify(name, e, 0.0))?;
        }
        warnings.extend(stream.warnings().iter().map(ToString::to_string));
        ex.finish()
    };
    let audio_secs = frames as f64 / f64::from(rate);
    match result {
        Ok(output) => Ok(FileFeatures {
            output,
            sample_rate: rate,
            frames,
            warnings,
        }),
        Err(e) => Err(classify(name, e, audio_secs)),
    }
}
