//! Audio decoding for privox: any supported file to mono `f32` at its native
//! sample rate, scaled so that int16 full scale is 1.0 (openSMILE's scaling,
//! which the eGeMAPS extractor expects).
//!
//! - **WAV** through a hand-written RIFF chunk walker ([`riff`]): PCM 8/16/24/32-bit,
//!   IEEE float 32/64, WAVE_FORMAT_EXTENSIBLE, any extra chunks before or after
//!   `data`, odd chunk padding, streaming (`0xFFFFFFFF`) sizes, and truncated
//!   `data` chunks (decoded, with a [`DecodeWarning::TruncatedData`]).
//! - **FLAC, OGG/Vorbis, MP3** through symphonia.
//! - Several channels are averaged to mono.
//! - [`resample`] converts rates with a band-limited resampler (rubato).
//! - [`AudioStream`] decodes block by block; [`decode_file`] / [`decode_bytes`]
//!   collect everything.
//!
//! The format is detected from the leading bytes. Every failure is an
//! [`AudioError`] naming the file and the problem; nothing panics on bad input.
//!
//! ```no_run
//! let audio = privox_audio::decode_file("data/demo/wav/03a01Nc.wav")?;
//! println!("{} samples at {} Hz", audio.samples.len(), audio.sample_rate);
//! # Ok::<(), privox_audio::AudioError>(())
//! ```

mod compressed;
pub mod discover;
mod error;
mod pcm;
mod resample;
pub mod riff;
mod stream;

use std::path::Path;

pub use discover::{AUDIO_EXTENSIONS, Discovered, find_audio_files, has_audio_extension};
pub use error::{
    AudioError, AudioErrorKind, DecodeWarning, NotAudio, StreamProblem, UnsupportedEncoding,
    WavHeaderProblem,
};
pub use resample::{ResampleError, resample};
pub use riff::SampleEncoding;
pub use stream::{AudioStream, SourceFormat};

/// Limits and tuning for decoding.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeOptions {
    /// Longest accepted recording, in seconds. A header declaring more (or a
    /// stream decoding past it) is refused with [`AudioErrorKind::TooLong`]
    /// before the samples are allocated. Default: 4 hours.
    pub max_duration_secs: f64,
    /// Frames per block yielded by [`AudioStream`]. Default: 16384.
    pub block_frames: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_duration_secs: 4.0 * 3600.0,
            block_frames: 16_384,
        }
    }
}

/// A whole decoded recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Mono samples, int16 full scale == 1.0.
    pub samples: Vec<f32>,
    /// Native sample rate in Hz.
    pub sample_rate: u32,
    /// Channels in the source (averaged into `samples`).
    pub channels: u16,
    /// What the source was.
    pub format: SourceFormat,
    /// Non-fatal oddities found while decoding (e.g. a truncated `data` chunk).
    pub warnings: Vec<DecodeWarning>,
}

impl Audio {
    /// Length in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }

    /// The same recording at `rate` Hz (band-limited; see [`resample`]).
    pub fn resampled(&self, rate: u32) -> Result<Audio, ResampleError> {
        Ok(Audio {
            samples: resample(&self.samples, self.sample_rate, rate)?,
            sample_rate: rate,
            ..self.clone()
        })
    }
}

fn collect(mut stream: AudioStream) -> Result<Audio, AudioError> {
    // The WAV length is exact and already checked against the file size and the
    // duration limit, so reserving it cannot be abused; other formats grow as decoded.
    let reserve = match stream.source_format() {
        SourceFormat::Wav { .. } => stream.declared_frames().unwrap_or(0),
        _ => 0,
    };
    let mut samples = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
    for block in &mut stream {
        samples.extend_from_slice(&block?);
    }
    Ok(Audio {
        samples,
        sample_rate: stream.sample_rate(),
        channels: stream.channels(),
        format: stream.source_format(),
        warnings: stream.warnings().to_vec(),
    })
}

/// Decodes a whole file with default limits.
pub fn decode_file(path: impl AsRef<Path>) -> Result<Audio, AudioError> {
    decode_file_with(path, &DecodeOptions::default())
}

/// Decodes a whole file with the given limits.
pub fn decode_file_with(path: impl AsRef<Path>, opts: &DecodeOptions) -> Result<Audio, AudioError> {
    collect(AudioStream::open(path, opts)?)
}

/// Decodes a file held in memory, with default limits; errors name it `<memory>`.
///
/// ```
/// let err = privox_audio::decode_bytes(b"hello world").unwrap_err();
/// assert!(matches!(err.kind(), privox_audio::AudioErrorKind::NotAudio { .. }));
/// ```
pub fn decode_bytes(bytes: &[u8]) -> Result<Audio, AudioError> {
    decode_bytes_with(bytes, "<memory>", &DecodeOptions::default())
}

/// Decodes bytes held in memory; `name` is used in error messages.
pub fn decode_bytes_with(
    bytes: &[u8],
    name: &str,
    opts: &DecodeOptions,
) -> Result<Audio, AudioError> {
    collect(AudioStream::from_bytes(bytes.to_vec(), name, opts)?)
}
