//! Typed errors of the extractor.

/// Everything that can go wrong when extracting eGeMAPS features.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum EgemapsError {
    /// The sample rate is outside the supported 8–48 kHz range.
    #[error(
        "unsupported sample rate {rate} Hz: eGeMAPS extraction supports 8000..=48000 Hz; resample the audio into that range first"
    )]
    UnsupportedSampleRate {
        /// The rejected rate in Hz.
        rate: u32,
    },
    /// A sample is NaN or infinite.
    #[error(
        "sample {index} is not finite ({value}): the decoded audio is corrupt; check the input file"
    )]
    NonFiniteSample {
        /// Index of the offending sample, counted from the start of the stream.
        index: u64,
        /// The offending value.
        value: f32,
    },
    /// The input is shorter than one 60 ms pitch frame, so openSMILE emits no functionals.
    #[error(
        "audio too short for eGeMAPS functionals: {samples} samples at {sample_rate} Hz, at least {needed} (60 ms) are needed; use a longer clip"
    )]
    TooShort {
        /// Number of samples received.
        samples: u64,
        /// The input's sample rate in Hz.
        sample_rate: u32,
        /// Minimum number of samples for a functionals vector.
        needed: u64,
    },
}
