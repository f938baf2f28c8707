//! [`AudioStream`]: decode any supported file block by block, mono, with the
//! sample rate known before the first block.

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use symphonia::core::io::MediaSource;

use crate::DecodeOptions;
use crate::compressed::{CompressedKind, CompressedReader};
use crate::error::{AudioError, AudioErrorKind, DecodeWarning, NotAudio, StreamProblem};
use crate::pcm::frames_to_mono;
use crate::riff::{self, SampleEncoding, WavFormat};

/// The container/encoding a stream was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// RIFF/WAVE through privox's own chunk walker.
    Wav {
        /// Sample layout.
        encoding: SampleEncoding,
        /// Whether the header was WAVE_FORMAT_EXTENSIBLE.
        extensible: bool,
    },
    /// FLAC (symphonia).
    Flac,
    /// OGG/Vorbis (symphonia).
    OggVorbis,
    /// MPEG-1/2 layer III (symphonia).
    Mp3,
}

/// The byte source: a file, or bytes held in memory.
enum Source {
    File(File),
    Memory(Cursor<Vec<u8>>),
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::File(f) => f.read(buf),
            Self::Memory(c) => c.read(buf),
        }
    }
}

impl Seek for Source {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match self {
            Self::File(f) => f.seek(pos),
            Self::Memory(c) => c.seek(pos),
        }
    }
}

impl Source {
    fn into_media_source(self) -> Box<dyn MediaSource> {
        match self {
            Self::File(f) => Box::new(f),
            Self::Memory(c) => Box::new(c),
        }
    }
}

enum Inner {
    Wav {
        src: Source,
        format: WavFormat,
        remaining_bytes: u64,
        frames_per_read: usize,
        non_finite: u64,
    },
    Compressed {
        reader: Box<CompressedReader>,
        /// A block decoded early to learn the sample rate.
        pending: Option<Vec<f32>>,
    },
}

/// A decoder that yields mono `f32` blocks (int16 full scale == 1.0) so a long
/// recording never has to be held in memory at once.
///
/// ```no_run
/// let mut stream = privox_audio::AudioStream::open("speech.flac", &Default::default())?;
/// println!("{} Hz", stream.sample_rate());
/// let mut energy = 0.0f64;
/// for block in &mut stream {
///     energy += block?.iter().map(|s| f64::from(s * s)).sum::<f64>();
/// }
/// # Ok::<(), privox_audio::AudioError>(())
/// ```
pub struct AudioStream {
    origin: String,
    sample_rate: u32,
    channels: u16,
    format: SourceFormat,
    declared_frames: Option<u64>,
    opts: DecodeOptions,
    inner: Inner,
    frames_out: u64,
    warnings: Vec<DecodeWarning>,
    done: bool,
}

/// At most this many bytes are read from a WAV per block, whatever the channel count.
const MAX_READ_BYTES: usize = 1 << 20;

impl AudioStream {
    /// Opens a file. The format is detected from its first bytes, not its extension.
    pub fn open(path: impl AsRef<Path>, opts: &DecodeOptions) -> Result<Self, AudioError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let fail = |kind| AudioError::new(origin.clone(), kind);
        let file = File::open(path).map_err(|e| fail(AudioErrorKind::Io(e)))?;
        let meta = file.metadata().map_err(|e| fail(AudioErrorKind::Io(e)))?;
        if meta.is_dir() {
            return Err(fail(AudioErrorKind::NotAudio {
                found: NotAudio::Directory,
            }));
        }
        Self::from_source(Source::File(file), meta.len(), origin, opts)
    }

    /// Decodes bytes held in memory; `name` is used in error messages.
    pub fn from_bytes(
        bytes: Vec<u8>,
        name: impl Into<String>,
        opts: &DecodeOptions,
    ) -> Result<Self, AudioError> {
        let len = bytes.len() as u64;
        Self::from_source(Source::Memory(Cursor::new(bytes)), len, name.into(), opts)
    }

    fn from_source(
        mut src: Source,
        len: u64,
        origin: String,
        opts: &DecodeOptions,
    ) -> Result<Self, AudioError> {
        let fail = |kind| AudioError::new(origin.clone(), kind);
        if len == 0 {
            return Err(fail(AudioErrorKind::Empty));
        }
        let mut head = [0u8; 16];
        let n = read_up_to(&mut src, &mut head).map_err(|e| fail(AudioErrorKind::Io(e)))?;
        let head = &head[..n];
        match detect(head).map_err(fail)? {
            Detected::Wav => {
                let layout = riff::walk(&mut src, len).map_err(fail)?;
                let format = layout.format;
                let frames = layout.data_bytes / format.frame_bytes() as u64;
                let seconds = frames as f64 / f64::from(format.sample_rate);
                if seconds > opts.max_duration_secs {
                    return Err(fail(AudioErrorKind::TooLong {
                        seconds,
                        limit_secs: opts.max_duration_secs,
                    }));
                }
                src.seek(SeekFrom::Start(layout.data_offset))
                    .map_err(|e| fail(AudioErrorKind::Io(e)))?;
                let frames_per_read = opts
                    .block_frames
                    .clamp(1, (MAX_READ_BYTES / format.frame_bytes()).max(1));
                Ok(Self {
                    sample_rate: format.sample_rate,
                    channels: format.channels,
                    format: SourceFormat::Wav {
                        encoding: format.encoding,
                        extensible: format.extensible,
                    },
                    declared_frames: Some(frames),
                    opts: opts.clone(),
                    inner: Inner::Wav {
                        src,
                        format,
                        remaining_bytes: layout.data_bytes,
                        frames_per_read,
                        non_finite: 0,
                    },
                    frames_out: 0,
                    warnings: layout.warnings,
                    done: false,
                    origin,
                })
            }
            Detected::Compressed(kind) => {
                src.seek(SeekFrom::Start(0))
                    .map_err(|e| fail(AudioErrorKind::Io(e)))?;
                let mut reader =
                    CompressedReader::open(src.into_media_source(), kind).map_err(fail)?;
                let mut pending = None;
                if reader.sample_rate.is_none() || reader.channels.is_none() {
                    pending = reader.next_block().map_err(fail)?;
                }
                let sample_rate = reader.sample_rate.ok_or_else(|| {
                    fail(AudioErrorKind::Malformed {
                        format: kind.name(),
                        problem: StreamProblem::UnknownSampleRate,
                    })
                })?;
                let channels = reader.channels.unwrap_or(1);
                if let Some(n) = reader.n_frames {
                    let seconds = n as f64 / f64::from(sample_rate);
                    if seconds > opts.max_duration_secs {
                        return Err(fail(AudioErrorKind::TooLong {
                            seconds,
                            limit_secs: opts.max_duration_secs,
                        }));
                    }
                }
                Ok(Self {
                    sample_rate,
                    channels,
                    format: match kind {
                        CompressedKind::Flac => SourceFormat::Flac,
                        CompressedKind::Ogg => SourceFormat::OggVorbis,
                        CompressedKind::Mp3 => SourceFormat::Mp3,
                    },
                    declared_frames: reader.n_frames,
                    opts: opts.clone(),
                    inner: Inner::Compressed {
                        reader: Box::new(reader),
                        pending,
                    },
                    frames_out: 0,
                    warnings: Vec::new(),
                    done: false,
                    origin,
                })
            }
        }
    }

    /// Sample rate in Hz (native; nothing is resampled).
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Channels in the file (the blocks are always mono).
    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// What the file was.
    pub fn source_format(&self) -> SourceFormat {
        self.format
    }

    /// The length the header declares, in frames, when it declares one (exact for WAV).
    pub fn declared_frames(&self) -> Option<u64> {
        self.declared_frames
    }

    /// The file (or in-memory name) being decoded.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Warnings so far; complete once the iterator has returned `None`.
    pub fn warnings(&self) -> &[DecodeWarning] {
        &self.warnings
    }

    fn next_block(&mut self) -> Result<Option<Vec<f32>>, AudioErrorKind> {
        let block = match &mut self.inner {
            Inner::Wav {
                src,
                format,
                remaining_bytes,
                frames_per_read,
                non_finite,
            } => {
                if *remaining_bytes == 0 {
                    if *non_finite > 0 {
                        self.warnings
                            .push(DecodeWarning::NonFiniteSamples { count: *non_finite });
                        *non_finite = 0;
                    }
                    return Ok(None);
                }
                let frame = format.frame_bytes();
                // Bounded by MAX_READ_BYTES (see frames_per_read), so this cast cannot truncate.
                let want = (*remaining_bytes).min((*frames_per_read * frame) as u64) as usize;
                let mut buf = vec![0u8; want];
                src.read_exact(&mut buf).map_err(AudioErrorKind::Io)?;
                *remaining_bytes -= want as u64;
                let mut out = Vec::with_capacity(want / frame);
                *non_finite += frames_to_mono(&buf, format, &mut out);
                out
            }
            Inner::Compressed { reader, pending } => {
                let next = match pending.take() {
                    Some(b) => Some(b),
                    None => reader.next_block()?,
                };
                match next {
                    Some(b) => b,
                    None => {
                        if reader.skipped_packets > 0 {
                            self.warnings.push(DecodeWarning::SkippedCorruptPackets {
                                count: reader.skipped_packets,
                            });
                        }
                        return Ok(None);
                    }
                }
            }
        };
        self.frames_out += block.len() as u64;
        let seconds = self.frames_out as f64 / f64::from(self.sample_rate);
        if seconds > self.opts.max_duration_secs {
            return Err(AudioErrorKind::TooLong {
                seconds,
                limit_secs: self.opts.max_duration_secs,
            });
        }
        Ok(Some(block))
    }
}

impl Iterator for AudioStream {
    type Item = Result<Vec<f32>, AudioError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_block() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(kind) => {
                self.done = true;
                Some(Err(AudioError::new(self.origin.clone(), kind)))
            }
        }
    }
}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

enum Detected {
    Wav,
    Compressed(CompressedKind),
}

/// Decides the format from the leading bytes (extensions lie; magic numbers rarely do).
fn detect(head: &[u8]) -> Result<Detected, AudioErrorKind> {
    if head.is_empty() {
        return Err(AudioErrorKind::Empty);
    }
    if head.starts_with(b"RIFF") || head.starts_with(b"RIFX") || head.starts_with(b"RF64") {
        return Ok(Detected::Wav);
    }
    if head.starts_with(b"fLaC") {
        return Ok(Detected::Compressed(CompressedKind::Flac));
    }
    if head.starts_with(b"OggS") {
        return Ok(Detected::Compressed(CompressedKind::Ogg));
    }
    if head.starts_with(b"ID3") {
        return Ok(Detected::Compressed(CompressedKind::Mp3));
    }
    // MPEG audio frame sync: 11 set bits, a valid version, layer III.
    if head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 && (head[1] >> 1) & 0b11 == 0b01
    {
        return Ok(Detected::Compressed(CompressedKind::Mp3));
    }
    Err(AudioErrorKind::NotAudio {
        found: describe_head(head),
    })
}

fn describe_head(head: &[u8]) -> NotAudio {
    let printable = head
        .iter()
        .take(8)
        .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\n' || b == b'\r' || b == b'\t');
    if printable {
        let text: String = head
            .iter()
            .take(12)
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    ' '
                }
            })
            .collect();
        NotAudio::Text {
            start: text.trim().to_string(),
        }
    } else {
        NotAudio::Bytes {
            head: head.iter().take(8).copied().collect(),
        }
    }
}
