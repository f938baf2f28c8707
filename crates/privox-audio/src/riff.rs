//! A hand-written RIFF/WAVE chunk walker.
//!
//! Why not a WAV crate (or symphonia's WAV reader)? Speech corpora are full of
//! WAVs that generic readers handle differently or not at all, and the
//! features must not silently change with the reader's policy. Walking the
//! chunks ourselves gives exact control over:
//! - unknown chunks (`PAD `, `LIST`, `FLLR`, `bext`, `JUNK`, ...) before *or
//!   after* `data`, and `fmt ` after `data`;
//! - odd-sized chunks, whose pad byte some writers forget;
//! - a truncated `data` chunk (decoded, and reported as a
//!   [`DecodeWarning::TruncatedData`] rather than an error, because a cut
//!   recording is still a recording), and the `0xFFFFFFFF` size that
//!   streaming writers leave when they cannot seek back;
//! - `WAVE_FORMAT_EXTENSIBLE` headers, validated field by field;
//! - every size checked against the real file length before anything is
//!   allocated, so a lying header cannot make us allocate gigabytes.

use std::io::{Read, Seek, SeekFrom};

use crate::error::{
    AudioErrorKind, DecodeWarning, NotAudio, UnsupportedEncoding, WavHeaderProblem,
};

const WAVE_FORMAT_PCM: u16 = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 0x0003;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// The 14 trailing bytes shared by every KSDATAFORMAT_SUBTYPE_* GUID; the
/// leading two bytes hold the plain format tag.
const KSDATAFORMAT_GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];
/// A `data` size of 0xFFFFFFFF means "until end of file" (streaming writers).
const STREAMING_SIZE: u32 = u32::MAX;
/// More channels than this is a corrupt header, not a recording.
const MAX_CHANNELS: u16 = 1024;
/// Rates above this (768 kHz) are not audio any privox stage can use.
const MAX_SAMPLE_RATE: u32 = 768_000;

/// How samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleEncoding {
    /// Unsigned 8-bit (WAV's convention for 8-bit PCM).
    U8,
    /// Signed little-endian integer in a container of 2, 3 or 4 bytes,
    /// left-justified (WAV's convention), so it is scaled by the container size.
    Int {
        /// Bytes per sample (2, 3 or 4).
        container_bytes: u8,
        /// Meaningful bits (informational; scaling uses the container).
        valid_bits: u16,
    },
    /// IEEE float, 32-bit.
    F32,
    /// IEEE float, 64-bit.
    F64,
}

impl SampleEncoding {
    /// Bytes one sample of one channel occupies.
    pub fn bytes(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::Int {
                container_bytes, ..
            } => usize::from(container_bytes),
            Self::F32 => 4,
            Self::F64 => 8,
        }
    }
}

/// The parsed `fmt ` chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    /// Interleaved channels.
    pub channels: u16,
    /// Frames per second.
    pub sample_rate: u32,
    /// Sample layout.
    pub encoding: SampleEncoding,
    /// Whether the header was WAVE_FORMAT_EXTENSIBLE.
    pub extensible: bool,
}

impl WavFormat {
    /// Bytes per frame (all channels).
    pub fn frame_bytes(&self) -> usize {
        usize::from(self.channels) * self.encoding.bytes()
    }
}

/// One chunk seen by the walker (kept for diagnostics and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkInfo {
    /// The four-character id, e.g. `"LIST"`.
    pub id: String,
    /// Offset of the chunk header in the file.
    pub offset: u64,
    /// Declared body size.
    pub size: u32,
}

/// Where the audio is, and in what format.
#[derive(Debug, Clone)]
pub struct WavLayout {
    /// Sample format.
    pub format: WavFormat,
    /// Offset of the first sample byte.
    pub data_offset: u64,
    /// Bytes of whole frames to decode (already clamped to the file).
    pub data_bytes: u64,
    /// All chunks, in file order.
    pub chunks: Vec<ChunkInfo>,
    /// Non-fatal findings (truncation, partial frame, ignored chunks).
    pub warnings: Vec<DecodeWarning>,
}

fn corrupt(problem: WavHeaderProblem) -> AudioErrorKind {
    AudioErrorKind::CorruptHeader(problem)
}

fn unsupported(encoding: UnsupportedEncoding) -> AudioErrorKind {
    AudioErrorKind::Unsupported(encoding)
}

fn fourcc_text(id: [u8; 4]) -> String {
    id.iter()
        .map(|&b| {
            if (0x20..0x7F).contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// Chunk ids are four printable ASCII characters; used to detect a missing pad byte.
fn looks_like_fourcc(id: &[u8]) -> bool {
    id.len() == 4 && id.iter().all(|&b| (0x20..0x7F).contains(&b))
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Reads exactly `buf.len()` bytes at `offset`, or returns how many were available.
fn read_at<R: Read + Seek>(
    r: &mut R,
    offset: u64,
    buf: &mut [u8],
) -> Result<usize, AudioErrorKind> {
    r.seek(SeekFrom::Start(offset))
        .map_err(AudioErrorKind::Io)?;
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(AudioErrorKind::Io(e)),
        }
    }
    Ok(got)
}

/// Parses a `fmt ` chunk body.
pub fn parse_fmt(body: &[u8]) -> Result<WavFormat, AudioErrorKind> {
    if body.len() < 16 {
        return Err(corrupt(WavHeaderProblem::FmtTooShort {
            len: body.len(),
            needed: 16,
        }));
    }
    let mut tag = u16_at(body, 0);
    let channels = u16_at(body, 2);
    let sample_rate = u32_at(body, 4);
    let block_align = u16_at(body, 12);
    let bits = u16_at(body, 14);
    let mut valid_bits = bits;
    let extensible = tag == WAVE_FORMAT_EXTENSIBLE;
    if extensible {
        // cbSize(2) validBits(2) channelMask(4) subFormat GUID(16) = 24 bytes after the 16.
        if body.len() < 40 {
            return Err(corrupt(WavHeaderProblem::FmtTooShort {
                len: body.len(),
                needed: 40,
            }));
        }
        let vb = u16_at(body, 18);
        if vb != 0 {
            if vb > bits {
                return Err(corrupt(WavHeaderProblem::ValidBitsAboveContainer {
                    valid: vb,
                    container: bits,
                }));
            }
            valid_bits = vb;
        }
        let guid = &body[24..40];
        if guid[2..] != KSDATAFORMAT_GUID_TAIL {
            return Err(unsupported(UnsupportedEncoding::ExtensibleSubFormat));
        }
        tag = u16_at(guid, 0);
    }
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(corrupt(WavHeaderProblem::Channels {
            channels,
            max: MAX_CHANNELS,
        }));
    }
    if sample_rate == 0 || sample_rate > MAX_SAMPLE_RATE {
        return Err(corrupt(WavHeaderProblem::SampleRate {
            rate: sample_rate,
            max: MAX_SAMPLE_RATE,
        }));
    }
    let encoding = match tag {
        WAVE_FORMAT_PCM => {
            let bytes: u8 = match bits {
                1..=8 => 1,
                9..=16 => 2,
                17..=24 => 3,
                25..=32 => 4,
                _ => {
                    return Err(unsupported(UnsupportedEncoding::IntegerBits { bits }));
                }
            };
            // Some writers store e.g. 24-bit samples in 4-byte slots without an
            // extensible header; block_align is then the truth about the container.
            let bytes = if block_align != 0
                && block_align.is_multiple_of(channels)
                && block_align / channels > u16::from(bytes)
                && block_align / channels <= 4
            {
                (block_align / channels) as u8
            } else {
                bytes
            };
            if bytes == 1 {
                SampleEncoding::U8
            } else {
                SampleEncoding::Int {
                    container_bytes: bytes,
                    valid_bits,
                }
            }
        }
        WAVE_FORMAT_IEEE_FLOAT => match bits {
            32 => SampleEncoding::F32,
            64 => SampleEncoding::F64,
            _ => {
                return Err(corrupt(WavHeaderProblem::FloatBits { bits }));
            }
        },
        tag => return Err(unsupported(UnsupportedEncoding::WavFormatTag { tag })),
    };
    Ok(WavFormat {
        channels,
        sample_rate,
        encoding,
        extensible,
    })
}

/// Walks the chunks of a RIFF/WAVE stream of `file_len` bytes and locates the audio.
///
/// The RIFF size field is not trusted (writers get it wrong often): the
/// walk goes to the real end of the file. Trailing garbage after a complete
/// `fmt ` + `data` pair is ignored; before that it is a corrupt header.
pub fn walk<R: Read + Seek>(r: &mut R, file_len: u64) -> Result<WavLayout, AudioErrorKind> {
    let mut head = [0u8; 12];
    let got = read_at(r, 0, &mut head)?;
    if got < 12 || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        if got >= 4 && (&head[0..4] == b"RIFX" || &head[0..4] == b"RF64") {
            return Err(unsupported(UnsupportedEncoding::Container {
                fourcc: fourcc_text([head[0], head[1], head[2], head[3]]),
            }));
        }
        if got >= 12 && &head[0..4] == b"RIFF" {
            return Err(AudioErrorKind::NotAudio {
                found: NotAudio::OtherRiffForm {
                    form: fourcc_text([head[8], head[9], head[10], head[11]]),
                },
            });
        }
        return Err(corrupt(WavHeaderProblem::FileTooShort { len: file_len }));
    }

    let mut chunks = Vec::new();
    let mut warnings = Vec::new();
    let mut format: Option<WavFormat> = None;
    // (offset of first sample, declared size, bytes available)
    let mut data: Option<(u64, u32, u64)> = None;
    let mut pos: u64 = 12;

    while pos + 8 <= file_len {
        let mut hdr = [0u8; 8];
        read_at(r, pos, &mut hdr)?;
        let id = [hdr[0], hdr[1], hdr[2], hdr[3]];
        let size = u32_at(&hdr, 4);
        let body = pos + 8;
        let remaining = file_len - body;
        if !looks_like_fourcc(&id) {
            if format.is_some() && data.is_some() {
                break; // trailing garbage after a complete file
            }
            return Err(corrupt(WavHeaderProblem::NotAChunkId {
                offset: pos,
                bytes: id,
            }));
        }
        chunks.push(ChunkInfo {
            id: fourcc_text(id),
            offset: pos,
            size,
        });
        match &id {
            b"fmt " => {
                if format.is_some() {
                    return Err(corrupt(WavHeaderProblem::TwoFmtChunks));
                }
                if u64::from(size) > remaining {
                    return Err(corrupt(WavHeaderProblem::ChunkOverrun {
                        id: fourcc_text(id),
                        offset: pos,
                        declared: size,
                        remaining,
                    }));
                }
                // A real fmt chunk is 16..=40 bytes; anything beyond 64 is ignored
                // extension data, so the read is bounded whatever `size` says.
                let mut buf = vec![0u8; (size as usize).min(64)];
                read_at(r, body, &mut buf)?;
                format = Some(parse_fmt(&buf)?);
            }
            b"data" => {
                if data.is_some() {
                    warnings.push(DecodeWarning::ExtraDataChunkIgnored { offset: pos });
                } else {
                    data = Some((body, size, remaining));
                    if size == STREAMING_SIZE || u64::from(size) > remaining {
                        break; // data runs to the end of the file: nothing follows
                    }
                }
            }
            _ => {
                if u64::from(size) > remaining {
                    if format.is_some() && data.is_some() {
                        break; // a cut trailing chunk (e.g. LIST) does not hurt the audio
                    }
                    return Err(corrupt(WavHeaderProblem::ChunkOverrun {
                        id: fourcc_text(id),
                        offset: pos,
                        declared: size,
                        remaining,
                    }));
                }
            }
        }
        let mut next = body + u64::from(size);
        if size % 2 == 1 {
            // RIFF pads odd chunks to even length; some writers forget. Take the
            // padded position unless only the unpadded one holds a chunk id.
            let mut probe = [0u8; 5];
            let n = read_at(r, next, &mut probe)?;
            let padded_ok = n >= 5 && looks_like_fourcc(&probe[1..5]);
            let unpadded_ok = n >= 4 && looks_like_fourcc(&probe[0..4]);
            if padded_ok || !unpadded_ok {
                next += 1;
            }
        }
        pos = next;
    }

    let format = format.ok_or(corrupt(WavHeaderProblem::NoFmtChunk))?;
    let (data_offset, declared, available) = data.ok_or(corrupt(WavHeaderProblem::NoDataChunk))?;
    let usable = if declared == STREAMING_SIZE {
        available
    } else {
        u64::from(declared).min(available)
    };
    let frame = format.frame_bytes() as u64;
    let whole = usable - usable % frame;
    if declared != STREAMING_SIZE && u64::from(declared) > available {
        warnings.push(DecodeWarning::TruncatedData {
            declared_bytes: u64::from(declared),
            decoded_bytes: whole,
        });
    } else if usable % frame != 0 {
        warnings.push(DecodeWarning::PartialFrameDropped {
            bytes: usable % frame,
        });
    }
    Ok(WavLayout {
        format,
        data_offset,
        data_bytes: whole,
        chunks,
        warnings,
    })
}
