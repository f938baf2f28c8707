//! Typed errors and non-fatal warnings of the decoders.

use std::fmt;

/// Why a file could not be decoded, and which file it was.
///
/// `Display` names the file; the problem (and what to do) is the
/// [`source`](std::error::Error::source), the [`AudioErrorKind`], so a
/// chain-printing reporter such as `privox_format::Report` gives one line,
/// `"<file>: <problem>; <what to do>"`. Match on [`AudioError::kind`] to
/// react to a category.
#[derive(Debug, thiserror::Error)]
#[error("{origin}")]
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
    #[error("cannot read the file")]
    Io(#[source] std::io::Error),
    /// Zero bytes.
    #[error("the file is empty (0 bytes); nothing to decode")]
    Empty,
    /// Not a format privox recognises by its leading bytes.
    #[error(
        "not a recognised audio file ({found}); privox reads WAV (RIFF/WAVE), FLAC, OGG/Vorbis and MP3"
    )]
    NotAudio {
        /// What was found instead.
        found: NotAudio,
    },
    /// A WAV header that cannot be interpreted.
    #[error(
        "corrupt WAV header: {0}; re-encode the file with a standard tool (e.g. `sox in.wav out.wav`)"
    )]
    CorruptHeader(WavHeaderProblem),
    /// A well-formed file in an encoding privox does not decode.
    #[error("unsupported audio encoding: {0}; convert the file to PCM WAV or FLAC")]
    Unsupported(UnsupportedEncoding),
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
    #[error("the {format} stream is corrupt or unsupported")]
    Corrupt {
        /// Container/codec name.
        format: &'static str,
        /// The decoder's error.
        #[source]
        source: symphonia::core::errors::Error,
    },
    /// A compressed stream (FLAC/Vorbis/MP3) that cannot be decoded.
    #[error("the {format} stream is corrupt: {problem}")]
    Malformed {
        /// Container/codec name.
        format: &'static str,
        /// What is wrong.
        problem: StreamProblem,
    },
}

/// What a file that is not audio holds instead (the detail of
/// [`AudioErrorKind::NotAudio`]; plain data, not an error of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotAudio {
    /// The path is a directory.
    Directory,
    /// A RIFF container of another form (e.g. `AVI `).
    OtherRiffForm {
        /// The form type, printable.
        form: String,
    },
    /// Printable text (e.g. a CSV given by mistake).
    Text {
        /// Its first characters.
        start: String,
    },
    /// Unrecognised binary data.
    Bytes {
        /// Its first bytes (up to 8).
        head: Vec<u8>,
    },
}

impl fmt::Display for NotAudio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAudio::Directory => write!(f, "it is a directory"),
            NotAudio::OtherRiffForm { form } => write!(f, "a RIFF file of form '{form}', not WAVE"),
            NotAudio::Text { start } => write!(f, "it starts with text \"{start}\""),
            NotAudio::Bytes { head } => {
                write!(f, "it starts with bytes")?;
                for b in head {
                    write!(f, " {b:02X}")?;
                }
                Ok(())
            }
        }
    }
}

/// What is wrong with a WAV header (the detail of
/// [`AudioErrorKind::CorruptHeader`]; plain data, not an error of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WavHeaderProblem {
    /// The file cannot even hold the 12-byte RIFF/WAVE header.
    FileTooShort {
        /// File length in bytes.
        len: u64,
    },
    /// Bytes where a chunk id should be are not one.
    NotAChunkId {
        /// Byte offset.
        offset: u64,
        /// The four bytes found.
        bytes: [u8; 4],
    },
    /// A second `fmt ` chunk.
    TwoFmtChunks,
    /// A chunk that declares more bytes than the file holds.
    ChunkOverrun {
        /// The chunk id, printable.
        id: String,
        /// Byte offset of the chunk header.
        offset: u64,
        /// Bytes declared.
        declared: u32,
        /// Bytes left in the file.
        remaining: u64,
    },
    /// No `fmt ` chunk.
    NoFmtChunk,
    /// No `data` chunk.
    NoDataChunk,
    /// A `fmt ` chunk shorter than its format needs.
    FmtTooShort {
        /// Its length.
        len: usize,
        /// The length needed (16, or 40 for WAVE_FORMAT_EXTENSIBLE).
        needed: usize,
    },
    /// More valid bits than the sample container holds.
    ValidBitsAboveContainer {
        /// Valid bits declared.
        valid: u16,
        /// Container bits.
        container: u16,
    },
    /// A channel count of 0 or above the limit.
    Channels {
        /// Channels declared.
        channels: u16,
        /// The limit.
        max: u16,
    },
    /// A sample rate of 0 or above the limit.
    SampleRate {
        /// Rate declared, in Hz.
        rate: u32,
        /// The limit, in Hz.
        max: u32,
    },
    /// IEEE float samples of a width other than 32 or 64 bits.
    FloatBits {
        /// Bits declared.
        bits: u16,
    },
}

impl fmt::Display for WavHeaderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FileTooShort { len } => write!(
                f,
                "file is {len} bytes, too short for a RIFF/WAVE header (12 bytes)"
            ),
            Self::NotAChunkId { offset, bytes: b } => write!(
                f,
                "bytes at offset {offset} are not a chunk id ({:02X} {:02X} {:02X} {:02X})",
                b[0], b[1], b[2], b[3]
            ),
            Self::TwoFmtChunks => f.write_str("two fmt chunks"),
            Self::ChunkOverrun {
                id,
                offset,
                declared,
                remaining,
            } => write!(
                f,
                "chunk '{id}' at offset {offset} declares {declared} bytes but only {remaining} remain"
            ),
            Self::NoFmtChunk => f.write_str("no fmt chunk found"),
            Self::NoDataChunk => f.write_str("no data chunk found"),
            Self::FmtTooShort { len, needed } => {
                write!(f, "fmt chunk is {len} bytes, it needs at least {needed}")
            }
            Self::ValidBitsAboveContainer { valid, container } => write!(
                f,
                "extensible header says {valid} valid bits in a {container}-bit container"
            ),
            Self::Channels { channels: 0, .. } => f.write_str("0 channels"),
            Self::Channels { channels, max } => write!(
                f,
                "{channels} channels (more than {max} is not a real recording)"
            ),
            Self::SampleRate { rate, max } => {
                write!(f, "sample rate {rate} Hz is outside 1..={max}")
            }
            Self::FloatBits { bits } => {
                write!(f, "IEEE float with {bits} bits (only 32 and 64 exist)")
            }
        }
    }
}

/// What is wrong with a compressed stream (the detail of
/// [`AudioErrorKind::Malformed`]; plain data, not an error of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamProblem {
    /// The demuxer or decoder panicked (caught) at the given stage.
    Crashed {
        /// `"demuxer while probing"`, `"decoder while starting"`, `"demuxer"` or `"decoder"`.
        stage: &'static str,
    },
    /// No audio track in the container.
    NoAudioTrack,
    /// A decoded packet with 0 channels.
    ZeroChannels,
    /// Too many corrupt packets in a row.
    CorruptPackets {
        /// Packets in a row.
        count: u32,
    },
    /// Nothing decodable, so the sample rate is unknown.
    UnknownSampleRate,
}

impl fmt::Display for StreamProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Crashed { stage } => write!(f, "the {stage} crashed (malformed file)"),
            Self::NoAudioTrack => f.write_str("no audio track"),
            Self::ZeroChannels => f.write_str("a packet with 0 channels"),
            Self::CorruptPackets { count } => write!(f, "{count} corrupt packets in a row"),
            Self::UnknownSampleRate => f.write_str("no decodable audio (sample rate unknown)"),
        }
    }
}

/// An encoding or container privox does not decode (the detail of
/// [`AudioErrorKind::Unsupported`]; plain data, not an error of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnsupportedEncoding {
    /// A RIFF-like container other than RIFF/WAVE (RIFX, RF64).
    Container {
        /// Its four-character code, printable.
        fourcc: String,
    },
    /// WAVE_FORMAT_EXTENSIBLE with a sub-format GUID that is not a standard one.
    ExtensibleSubFormat,
    /// Integer PCM of a width other than 8, 16, 24 or 32 bits.
    IntegerBits {
        /// Bits declared.
        bits: u16,
    },
    /// A WAV format tag privox does not decode (ADPCM, A-law, …).
    WavFormatTag {
        /// The tag.
        tag: u16,
    },
    /// A codec or feature the compressed-audio decoder does not support.
    Codec {
        /// The decoder's description of it.
        what: &'static str,
    },
    /// A chained stream whose parameters change mid-stream.
    ParametersChange {
        /// Container/codec name.
        format: &'static str,
    },
    /// A sample rate that changes mid-stream.
    RateChange {
        /// Rate before, in Hz.
        from: u32,
        /// Rate after, in Hz.
        to: u32,
    },
}

impl fmt::Display for UnsupportedEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Container { fourcc } => write!(f, "{fourcc} container"),
            Self::ExtensibleSubFormat => {
                f.write_str("WAVE_FORMAT_EXTENSIBLE with a non-standard sub-format GUID")
            }
            Self::IntegerBits { bits } => {
                write!(f, "{bits}-bit integer PCM (supported: 8, 16, 24, 32)")
            }
            Self::WavFormatTag { tag } => match tag {
                0x0002 => f.write_str("MS ADPCM WAV"),
                0x0006 => f.write_str("A-law WAV"),
                0x0007 => f.write_str("mu-law WAV"),
                0x0011 => f.write_str("IMA ADPCM WAV"),
                0x0055 => f.write_str("MP3-in-WAV"),
                other => write!(f, "WAV format tag 0x{other:04X}"),
            },
            Self::Codec { what } => f.write_str(what),
            Self::ParametersChange { format } => write!(
                f,
                "{format} stream whose parameters change mid-stream (chained stream)"
            ),
            Self::RateChange { from, to } => {
                write!(f, "sample rate changes mid-stream ({from} Hz to {to} Hz)")
            }
        }
    }
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
