//! FLAC, OGG/Vorbis and MP3 through symphonia, as a pull decoder of mono blocks.

use std::panic::{AssertUnwindSafe, catch_unwind};

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::error::{AudioErrorKind, StreamProblem, UnsupportedEncoding};
use crate::pcm::interleaved_to_mono;

/// Which compressed container/codec was detected from the magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressedKind {
    /// `fLaC`.
    Flac,
    /// `OggS` (Vorbis inside).
    Ogg,
    /// MPEG audio frame sync or an ID3v2 tag.
    Mp3,
}

impl CompressedKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Flac => "FLAC",
            Self::Ogg => "OGG/Vorbis",
            Self::Mp3 => "MP3",
        }
    }
    fn extension(self) -> &'static str {
        match self {
            Self::Flac => "flac",
            Self::Ogg => "ogg",
            Self::Mp3 => "mp3",
        }
    }
}

/// Pulls decoded packets and mixes them down to mono.
///
/// Symphonia is run behind `catch_unwind`: a decoder bug triggered by a
/// malformed file becomes a typed [`AudioErrorKind::Corrupt`] error for that
/// file instead of taking down a whole batch. The decoder is dropped after a
/// panic and never used again.
pub struct CompressedReader {
    kind: CompressedKind,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    /// Known once probed or after the first decoded packet.
    pub sample_rate: Option<u32>,
    /// Known once probed or after the first decoded packet.
    pub channels: Option<u16>,
    /// Declared length, when the container states it.
    pub n_frames: Option<u64>,
    /// Corrupt packets skipped so far.
    pub skipped_packets: u64,
    buf: Option<SampleBuffer<f32>>,
    finished: bool,
}

/// Consecutive corrupt packets after which the stream is declared unreadable.
const MAX_CONSECUTIVE_BAD_PACKETS: u32 = 64;

impl CompressedReader {
    /// Probes `source` as `kind` and prepares a decoder for its first audio track.
    pub fn open(
        source: Box<dyn MediaSource>,
        kind: CompressedKind,
    ) -> Result<Self, AudioErrorKind> {
        let format = kind.name();
        let corrupt = |source| AudioErrorKind::Corrupt { format, source };
        let malformed = |problem| AudioErrorKind::Malformed { format, problem };
        let probed = catch_unwind(AssertUnwindSafe(|| {
            let mss = MediaSourceStream::new(source, Default::default());
            let mut hint = Hint::new();
            hint.with_extension(kind.extension());
            symphonia::default::get_probe().format(
                &hint,
                mss,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
        }))
        .map_err(|_| {
            malformed(StreamProblem::Crashed {
                stage: "demuxer while probing",
            })
        })?
        .map_err(corrupt)?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or(malformed(StreamProblem::NoAudioTrack))?;
        let params = track.codec_params.clone();
        let track_id = track.id;
        let decoder = catch_unwind(AssertUnwindSafe(|| {
            symphonia::default::get_codecs().make(&params, &DecoderOptions::default())
        }))
        .map_err(|_| {
            malformed(StreamProblem::Crashed {
                stage: "decoder while starting",
            })
        })?
        .map_err(|e| match e {
            SymError::Unsupported(what) => {
                AudioErrorKind::Unsupported(UnsupportedEncoding::Codec { what })
            }
            other => corrupt(other),
        })?;
        let channels = params.channels.and_then(|c| u16::try_from(c.count()).ok());
        Ok(Self {
            kind,
            format,
            decoder,
            track_id,
            sample_rate: params.sample_rate.filter(|&r| r > 0),
            channels: channels.filter(|&c| c > 0),
            n_frames: params.n_frames,
            skipped_packets: 0,
            buf: None,
            finished: false,
        })
    }

    /// The next block of mono samples; `Ok(None)` at the end of the stream.
    pub fn next_block(&mut self) -> Result<Option<Vec<f32>>, AudioErrorKind> {
        let kind = self.kind;
        let format = kind.name();
        let corrupt = |source| AudioErrorKind::Corrupt { format, source };
        let malformed = |problem| AudioErrorKind::Malformed { format, problem };
        let mut bad_in_a_row = 0u32;
        while !self.finished {
            let packet = match catch_unwind(AssertUnwindSafe(|| self.format.next_packet())) {
                Err(_) => {
                    self.finished = true;
                    return Err(malformed(StreamProblem::Crashed { stage: "demuxer" }));
                }
                Ok(Ok(p)) => p,
                Ok(Err(SymError::IoError(e))) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.finished = true;
                    return Ok(None);
                }
                Ok(Err(SymError::ResetRequired)) => {
                    self.finished = true;
                    return Err(AudioErrorKind::Unsupported(
                        UnsupportedEncoding::ParametersChange { format },
                    ));
                }
                Ok(Err(SymError::IoError(e))) => {
                    self.finished = true;
                    return Err(AudioErrorKind::Io(e));
                }
                Ok(Err(e)) => {
                    self.finished = true;
                    return Err(corrupt(e));
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            let decoded = catch_unwind(AssertUnwindSafe(|| match self.decoder.decode(&packet) {
                Ok(audio) => {
                    let spec = *audio.spec();
                    let frames = audio.frames();
                    let cap = audio.capacity() as u64;
                    let buf = match &mut self.buf {
                        Some(b) if b.capacity() >= frames * spec.channels.count() => b,
                        slot => slot.insert(SampleBuffer::<f32>::new(cap, spec)),
                    };
                    buf.copy_interleaved_ref(audio);
                    Ok((spec, buf.samples().to_vec()))
                }
                Err(e) => Err(e),
            }));
            match decoded {
                Err(_) => {
                    self.finished = true;
                    return Err(malformed(StreamProblem::Crashed { stage: "decoder" }));
                }
                Ok(Ok((spec, interleaved))) => {
                    let ch = spec.channels.count();
                    if ch == 0 {
                        return Err(malformed(StreamProblem::ZeroChannels));
                    }
                    match self.sample_rate {
                        None => self.sample_rate = Some(spec.rate),
                        Some(r) if r != spec.rate => {
                            self.finished = true;
                            return Err(AudioErrorKind::Unsupported(
                                UnsupportedEncoding::RateChange {
                                    from: r,
                                    to: spec.rate,
                                },
                            ));
                        }
                        Some(_) => {}
                    }
                    self.channels = Some(u16::try_from(ch).unwrap_or(u16::MAX));
                    let mut mono = Vec::with_capacity(interleaved.len() / ch);
                    interleaved_to_mono(&interleaved, ch, &mut mono);
                    return Ok(Some(mono));
                }
                Ok(Err(SymError::DecodeError(_))) => {
                    // Symphonia's guidance: a decode error is recoverable, skip the packet.
                    self.skipped_packets += 1;
                    bad_in_a_row += 1;
                    if bad_in_a_row >= MAX_CONSECUTIVE_BAD_PACKETS {
                        self.finished = true;
                        return Err(malformed(StreamProblem::CorruptPackets {
                            count: bad_in_a_row,
                        }));
                    }
                }
                Ok(Err(SymError::IoError(e))) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.finished = true;
                    return Ok(None);
                }
                Ok(Err(e)) => {
                    self.finished = true;
                    return Err(corrupt(e));
                }
            }
        }
        Ok(None)
    }
}
