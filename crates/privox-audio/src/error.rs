//! Typed errors and non-fatal warnings of the decoders.

use std::fmt;

/// Why a file could not be decoded, and which file it was.
///
/// `Display` gives one line, `"<file>: <problem>; <what to do>"`, so the CLI
/// can print it as is. Match on [`AudioError::kind`] to react to a category.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {kind}")]
pub struct AudioError {
    origin: String,
    #[source]
    kind: AudioErrorKind,
}

impl AudioError {
    /// An error about `origin` (a file path, or a caller-chosen name for bytes).
    pub fn new(origin: impl Into<String>, kind: AudioErrorKind) -> Self {
        Self {
            origin: origin.into(),
            kind,
        }
    }

    /// The file (or in-memory name) the error is about.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// What went wrong.
    pub fn kind(&self) -> &AudioErrorKind {
        &self.kind
    }
}

/// The categories of decode failure. Each message says what was wrong and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioErrorKind {
    /// The operating system refused to read the file.
    #[error("cannot read the file: {0}")]
    Io(#[source] std::io::Error),
    /// Zero bytes.
    #[error("the file is empty (0 bytes); nothing to decode")]
    Empty,
    /// Not a format privox recognises by its leading bytes.
    #[error(
        "not a recognised audio file ({detail}); privox reads WAV (RIFF/WAVE), FLAC, OGG/Vorbis and MP3"
    )]
    NotAudio {
        /// What was found instead, e.g. the first bytes in hex.
        detail: String,
    },
    /// A WAV header that cannot be interpreted.
    #[error(
        "corrupt WAV header: {0}; re-encode the file with a standard tool (e.g. `sox in.wav out.wav`)"
    )]
    CorruptHeader(String),
    /// A well-formed file in an encoding privox does not decode.
    #[error("unsupported audio encoding: {0}; convert the file to PCM WAV or FLAC")]
    Unsupported(String),
    /// The declared or decoded length exceeds [`crate::DecodeOptions::max_duration_secs`].
    #[error(
        "audio is at least {seconds:.1} s long, over the {limit_secs:.1} s limit; split the file or raise the limit"
    )]
    TooLong {
        /// Duration known so far (declared, or decoded up to the point of refusal).
        seconds: f64,
        /// The limit in force.
        limit_secs: f64,
    },
    /// A compressed stream (FLAC/Vorbis/MP3) that its decoder rejected.
    #[error("the {format} stream is corrupt or unsupported: {detail}")]
    Corrupt {
        /// Container/codec name.
        format: &'static str,
        /// The decoder's message.
        detail: String,
    },
}

/// Something odd about a file that still decoded. The CLI prints these per file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DecodeWarning {
    /// The `data` chunk declares more bytes than the file holds (a cut download,
    /// an interrupted recorder). The bytes present were decoded.
    TruncatedData {
        /// Bytes the chunk header promised.
        declared_bytes: u64,
        /// Bytes actually present (whole frames only).
        decoded_bytes: u64,
    },
    /// The data ended inside a sample frame; that partial frame was dropped.
    PartialFrameDropped {
        /// Bytes dropped at the end.
        bytes: u64,
    },
    /// Float samples that were NaN or infinite were replaced by 0.0.
    NonFiniteSamples {
        /// How many values were replaced.
        count: u64,
    },
    /// A compressed stream had corrupt packets that were skipped.
    SkippedCorruptPackets {
        /// Number of packets skipped.
        count: u64,
    },
    /// A second `data` chunk was found and ignored (only the first is decoded).
    ExtraDataChunkIgnored {
        /// Byte offset of the ignored chunk.
        offset: u64,
    },
}

impl fmt::Display for DecodeWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TruncatedData {
                declared_bytes,
                decoded_bytes,
            } => write!(
                f,
                "truncated data chunk: header declares {declared_bytes} bytes, only {decoded_bytes} present (decoded those)"
            ),
            Self::PartialFrameDropped { bytes } => {
                write!(
                    f,
                    "data ends inside a sample frame; dropped the last {bytes} bytes"
                )
            }
            Self::NonFiniteSamples { count } => {
                write!(f, "{count} NaN/infinite float samples replaced by 0.0")
            }
            Self::SkippedCorruptPackets { count } => {
                write!(f, "{count} corrupt packets skipped")
            }
            Self::ExtraDataChunkIgnored { offset } => {
                write!(f, "second data chunk at byte {offset} ignored")
            }
        }
    }
}
