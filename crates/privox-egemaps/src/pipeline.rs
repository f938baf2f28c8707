//! The streaming pipeline: framing of both branches, online pitch smoothing,
//! and the per-frame LLD records that the functionals are computed from.

use std::collections::VecDeque;

use realfft::RealFftPlanner;

use crate::formants::{FormantAnalyzer, Formants};
use crate::geometry::{Geometry, gauss, hamming};
use crate::jitter::JitterTracker;
use crate::shs::{Candidates, ShsAnalyzer};
use crate::spectral::{SpectralAnalyzer, SpectralFrame};
use crate::spectrum::FramedFft;
use crate::viterbi::{UNVOICED_STATE, Viterbi};
use crate::voice::VoiceAnalyzer;

/// RMS gate of the pitch branch (windowed RMS, spec §4.3).
const PITCH_RMS_GATE: f64 = 0.001;
/// Drop consumed samples once this many are dead at the buffer's front.
const COMPACT_AT: usize = 16_384;

/// Per 20 ms frame: energy/spectral LLDs, Leq energy and formants (float32,
/// like openSMILE's data memory).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EFrame {
    /// loudness, alphaRatio, hammarberg, slope0-500, slope500-1500, flux, mfcc1-4
    pub spectral: [f32; 10],
    pub energy: f32,
    pub formant_freq: [f32; 3],
    pub formant_bw: [f32; 3],
}

/// Per 60 ms frame after the Viterbi and the gate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FFrame {
    /// F0 semitone, jitter, shimmer, HNR, H1-H2, H1-A3, F1..F3 amplitude
    pub values: [f32; 9],
}

struct PendingPitch {
    cands: Candidates,
    e60: f64,
    mag: Vec<f64>,
}

pub(crate) struct Pipeline {
    geo: Geometry,
    fft20: FramedFft,
    fft60: FramedFft,
    spectral: SpectralAnalyzer,
    formants: FormantAnalyzer,
    shs: ShsAnalyzer,
    voice: VoiceAnalyzer,
    viterbi: Viterbi,
    jitter: JitterTracker,
    /// Converted samples starting at absolute index `buf_start`.
    buf: Vec<f64>,
    buf_start: usize,
    frame: Vec<f64>,
    next20: usize,
    next60: usize,
    pending: VecDeque<PendingPitch>,
    pool: Vec<Vec<f64>>,
    decided: Vec<(usize, usize)>,
    pub e_frames: Vec<EFrame>,
    pub f_frames: Vec<FFrame>,
}

impl Pipeline {
    pub fn new(sample_rate: u32) -> Self {
        let geo = Geometry::new(sample_rate);
        let mut planner = RealFftPlanner::<f64>::new();
        let fft20 = FramedFft::new(&mut planner, hamming(geo.len20), geo.nfft20);
        let fft60 = FramedFft::new(&mut planner, gauss(geo.len60, 0.4), geo.nfft60);
        let nyquist = geo.sample_rate / 2.0;
        Self {
            spectral: SpectralAnalyzer::new(geo.bins20(), geo.df20(), nyquist),
            formants: FormantAnalyzer::new(geo.len20, geo.nfft20, geo.sample_rate),
            shs: ShsAnalyzer::new(geo.bins60(), geo.df60()),
            voice: VoiceAnalyzer::new(&mut planner, geo.nfft60, geo.sample_rate),
            viterbi: Viterbi::new(),
            jitter: JitterTracker::new(geo.sample_rate, geo.hop, geo.len60),
            buf: Vec::with_capacity(COMPACT_AT * 2),
            buf_start: 0,
            frame: vec![0.0; geo.len60],
            next20: 0,
            next60: 0,
            pending: VecDeque::new(),
            pool: Vec::new(),
            decided: Vec::new(),
            e_frames: Vec::new(),
            f_frames: Vec::new(),
            fft20,
            fft60,
            geo,
        }
    }

    /// Appends already-validated samples (int16 full scale = 1.0).
    pub fn push(&mut self, chunk: &[f32]) {
        for part in chunk.chunks(4096) {
            self.buf.extend(part.iter().map(|&x| to_opensmile_scale(x)));
            self.run_frames();
        }
    }

    fn buf_end(&self) -> usize {
        self.buf_start + self.buf.len()
    }

    fn run_frames(&mut self) {
        let hop = self.geo.hop;
        while self.next20 * hop + self.geo.len20 <= self.buf_end() {
            self.process20();
        }
        while self.next60 * hop + self.geo.len60 <= self.buf_end() {
            self.process60();
        }
        self.compact();
    }

    fn process20(&mut self) {
        let start = self.next20 * self.geo.hop - self.buf_start;
        let n = self.geo.len20;
        self.frame[..n].copy_from_slice(&self.buf[start..start + n]);
        let energy = self.frame[..n].iter().map(|v| v * v).sum::<f64>() / n as f64;
        self.fft20.process(&self.frame[..n]);
        let s: SpectralFrame = self.spectral.process(&self.fft20.mag);
        let f: Formants = self.formants.process(&self.frame[..n]);
        let spectral = [
            s.loudness,
            s.alpha_ratio,
            s.hammarberg,
            s.slope0_500,
            s.slope500_1500,
            s.flux,
            s.mfcc[0],
            s.mfcc[1],
            s.mfcc[2],
            s.mfcc[3],
        ]
        .map(|v| v as f32);
        self.e_frames.push(EFrame {
            spectral,
            energy: energy as f32,
            formant_freq: f.freq.map(|v| v as f32),
            formant_bw: f.bw.map(|v| v as f32),
        });
        self.next20 += 1;
    }

    fn process60(&mut self) {
        let start = self.next60 * self.geo.hop - self.buf_start;
        let n = self.geo.len60;
        self.frame[..n].copy_from_slice(&self.buf[start..start + n]);
        self.fft60.process(&self.frame[..n]);
        let e60 = self.fft60.windowed_ms.sqrt();
        let cands = self.shs.process(&self.fft60.mag);
        let mut mag = self.pool.pop().unwrap_or_default();
        mag.clear();
        mag.extend_from_slice(&self.fft60.mag);
        self.pending.push_back(PendingPitch { cands, e60, mag });
        self.next60 += 1;
        let mut decided = std::mem::take(&mut self.decided);
        decided.clear();
        self.viterbi.push(&cands, |idx, st| decided.push((idx, st)));
        for &(idx, st) in &decided {
            self.finalize_pitch_frame(idx, st);
        }
        self.decided = decided;
    }

    /// Computes the F0-dependent LLDs of a frame whose Viterbi state is final.
    fn finalize_pitch_frame(&mut self, idx: usize, state: usize) {
        debug_assert_eq!(idx, self.f_frames.len());
        // Frames are decided strictly in order, so the oldest pending one is `idx`.
        let Some(p) = self.pending.pop_front() else {
            return;
        };
        let mut f0 = if state == UNVOICED_STATE {
            0.0
        } else {
            p.cands.freq[state]
        };
        if p.e60 <= PITCH_RMS_GATE {
            f0 = 0.0;
        }
        let semitone = if f0 > 29.136 {
            12.0 * (f0 / 27.5).log2()
        } else if f0 > 0.0 {
            1.0
        } else {
            0.0
        };
        let buf = &self.buf;
        let buf_start = self.buf_start;
        let (jit, shim) = self.jitter.process(idx, f0, |a, b| {
            let a = a.saturating_sub(buf_start).min(buf.len());
            let b = b.saturating_sub(buf_start).min(buf.len());
            &buf[a..b.max(a)]
        });
        let formants = self
            .e_frames
            .get(idx)
            .map(|e| e.formant_freq.map(f64::from))
            .unwrap_or([0.0; 3]);
        let v = self.voice.process(&p.mag, f0, &formants);
        self.f_frames.push(FFrame {
            values: [
                semitone as f32,
                jit as f32,
                shim as f32,
                v.hnr as f32,
                v.h1h2 as f32,
                v.h1a3 as f32,
                v.formant_amp[0] as f32,
                v.formant_amp[1] as f32,
                v.formant_amp[2] as f32,
            ],
        });
        self.pool.push(p.mag);
    }

    fn compact(&mut self) {
        let hop = self.geo.hop;
        let keep_from = (self.next20 * hop)
            .min(self.next60 * hop)
            .min(self.f_frames.len() * hop)
            .min(self.jitter.last_idx)
            .saturating_sub(self.geo.len60);
        if keep_from > self.buf_start + COMPACT_AT {
            let dead = keep_from - self.buf_start;
            self.buf.drain(..dead);
            self.buf_start = keep_from;
        }
    }

    /// Ends the input; returns the number of pitch frames the Viterbi had not
    /// decided (openSMILE's "pending" count, spec §6.3).
    pub fn finish(&mut self) -> usize {
        let mut decided = std::mem::take(&mut self.decided);
        decided.clear();
        let pending = self.viterbi.finish(|idx, st| decided.push((idx, st)));
        for &(idx, st) in &decided {
            self.finalize_pitch_frame(idx, st);
        }
        pending
    }
}

/// openSMILE's Python wrapper: float → int16 by truncation, library: ÷ 32767.
pub(crate) fn to_opensmile_scale(x: f32) -> f64 {
    let i = (x * 32768.0).trunc().clamp(-32768.0, 32767.0);
    f64::from(i) / 32767.0
}
