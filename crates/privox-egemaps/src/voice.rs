//! Voice-quality LLDs on the 60 ms Gaussian spectrum (spec §4.5, §4.6):
//! ACF-based HNR, the harmonic levels "H1-H2" (2F0 vs 3F0), "H1-A3" and the
//! formant amplitudes relative to F0.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner};

use crate::shs::parabola_vertex;

const NUM_HARMONICS: usize = 100;
/// Level used for missing or discarded harmonics.
const SENTINEL: f64 = -201.0;

/// HNR, H1-H2, H1-A3, F1..F3 amplitude of one voiced or unvoiced frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VoiceFrame {
    pub hnr: f64,
    pub h1h2: f64,
    pub h1a3: f64,
    pub formant_amp: [f64; 3],
}

impl VoiceFrame {
    pub const UNVOICED: VoiceFrame = VoiceFrame {
        hnr: 0.0,
        h1h2: 0.0,
        h1a3: 0.0,
        formant_amp: [SENTINEL; 3],
    };
}

#[derive(Clone, Copy, Default)]
struct Harmonic {
    bin: usize,
    mag: f64,
    freq: f64,
    mag_interp: f64,
}

pub(crate) struct VoiceAnalyzer {
    sample_rate: f64,
    df: f64,
    bins: usize,
    ifft: Arc<dyn ComplexToReal<f64>>,
    spec: Vec<Complex<f64>>,
    acf: Vec<f64>,
    scratch: Vec<Complex<f64>>,
    harm: [Harmonic; NUM_HARMONICS],
}

impl VoiceAnalyzer {
    pub fn new(planner: &mut RealFftPlanner<f64>, nfft: usize, sample_rate: f64) -> Self {
        let ifft = planner.plan_fft_inverse(nfft);
        Self {
            sample_rate,
            df: sample_rate / nfft as f64,
            bins: nfft / 2 + 1,
            spec: ifft.make_input_vec(),
            acf: ifft.make_output_vec(),
            scratch: ifft.make_scratch_vec(),
            ifft,
            harm: [Harmonic::default(); NUM_HARMONICS],
        }
    }

    /// `mag`: 60 ms magnitude spectrum; `f0`: gated F0 in Hz (0 = unvoiced);
    /// `formants`: the un-masked F1..F3 frequencies of the 20 ms frame.
    pub fn process(&mut self, mag: &[f64], f0: f64, formants: &[f64; 3]) -> VoiceFrame {
        if f0 <= 0.0 {
            return VoiceFrame::UNVOICED;
        }
        let hnr = self.hnr(mag, f0);
        let (h1h2, h1a3, formant_amp) = self.harmonics(mag, f0, formants);
        VoiceFrame {
            hnr,
            h1h2,
            h1a3,
            formant_amp,
        }
    }

    fn hnr(&mut self, mag: &[f64], f0: f64) -> f64 {
        for (s, &m) in self.spec.iter_mut().zip(mag) {
            *s = Complex::new(m * m, 0.0);
        }
        // Imaginary parts are zero by construction, so the transform cannot fail.
        let _ = self
            .ifft
            .process_with_scratch(&mut self.spec, &mut self.acf, &mut self.scratch);
        let n = self.bins;
        let acf = &mut self.acf[..n];
        for v in acf.iter_mut() {
            *v = v.abs();
        }
        let t = ((self.sample_rate / f0).floor() as usize).min(n - 1);
        let t = closest_peak(acf, t);
        let h = acf[0] - acf[t];
        let ratio = if h == 0.0 { 1e11 } else { acf[t] / h };
        10.0 * ratio.clamp(1e-9, 1e11).log10()
    }

    /// Nearest bin to `f`, looking at bins from `start` on (0 if beyond the
    /// last bin). Equivalent to scanning upwards for the first bin above `f`.
    fn freq_to_bin(&self, f: f64, start: usize) -> usize {
        let start = start.max(1);
        let mut b = if f / self.df >= 0.0 {
            ((f / self.df).floor() as usize + 1).max(start)
        } else {
            start
        };
        while b > start && (b - 1) as f64 * self.df > f {
            b -= 1;
        }
        while b < self.bins && b as f64 * self.df <= f {
            b += 1;
        }
        if b >= self.bins {
            return 0;
        }
        let fb = b as f64 * self.df;
        let fl = (b - 1) as f64 * self.df;
        if fb - f > f - fl { b - 1 } else { b }
    }

    fn harmonics(&mut self, m: &[f64], f0: f64, formants: &[f64; 3]) -> (f64, f64, [f64; 3]) {
        let n = self.bins;
        let mut last = self.freq_to_bin(0.5 * f0, 1);
        let first = self.freq_to_bin(0.5 * f0, last);
        for i in 0..NUM_HARMONICS {
            let cand = self.freq_to_bin((i + 1) as f64 * f0, last);
            let mut h = Harmonic {
                bin: cand,
                ..Harmonic::default()
            };
            if cand < n {
                let mut pk: Option<usize> = None;
                if is_peak(m, cand) {
                    pk = Some(cand);
                } else {
                    let lo = self.freq_to_bin((i as f64 + 0.5) * f0, last) as isize;
                    let hi = self.freq_to_bin((i as f64 + 1.5) * f0, cand) as isize;
                    let (mut l, mut r) = (cand as isize - 1, cand as isize + 1);
                    while (l >= lo || r <= hi) && pk.is_none() {
                        if r <= hi {
                            if is_peak(m, r as usize) {
                                pk = Some(r as usize);
                                break;
                            }
                            r += 1;
                        }
                        if l >= lo {
                            if l >= 0 && is_peak(m, l as usize) {
                                pk = Some(l as usize);
                                break;
                            }
                            l -= 1;
                        }
                    }
                }
                if let Some(p) = pk
                    && p >= first
                    && p >= 1
                    && p < n - 1
                {
                    let fx = |b: usize| b as f64 * self.df;
                    let (fi, mi) =
                        parabola_vertex(fx(p - 1), fx(p), fx(p + 1), m[p - 1], m[p], m[p + 1]);
                    h = Harmonic {
                        bin: p,
                        mag: m[p],
                        freq: fi,
                        mag_interp: mi,
                    };
                }
            }
            self.harm[i] = h;
            last = cand;
        }
        let m0 = self.harm[0].mag;
        let mut level = [0.0f64; NUM_HARMONICS];
        for i in 1..NUM_HARMONICS {
            level[i] = if m0 == 0.0 {
                SENTINEL
            } else if self.harm[i].mag_interp > 0.0 {
                (20.0 * (self.harm[i].mag_interp.log10() - m0.log10())).max(-200.0)
            } else {
                -200.0
            };
            if self.harm[i].bin == self.harm[i - 1].bin {
                self.harm[i] = Harmonic::default();
                level[i] = SENTINEL;
            }
        }
        let amp_harmonic = |fc: f64| -> Option<usize> {
            let lo = f64::from(0.8f32 * fc as f32);
            let hi = f64::from(1.2f32 * fc as f32);
            let mut best = None;
            let mut bm = 0.0;
            for (h, hm) in self.harm.iter().enumerate() {
                if lo <= hm.freq && hm.freq <= hi && hm.mag > bm {
                    best = Some(h);
                    bm = hm.mag;
                }
            }
            best
        };
        let fa: [Option<usize>; 3] = std::array::from_fn(|k| amp_harmonic(formants[k]));
        let clip = |v: f64| v.clamp(-201.0, 201.0);
        let h1h2 = clip(level[1] - level[2]);
        let h1a3 = match fa[2] {
            Some(j) => clip(level[1] - level[j]),
            None => clip(level[1] - 201.0),
        };
        let amps = std::array::from_fn(|k| fa[k].map_or(0.0, |j| level[j]));
        (h1h2, h1a3, amps)
    }
}

fn is_peak(x: &[f64], n: usize) -> bool {
    let len = x.len();
    if n >= len {
        return false;
    }
    if n + 1 < len {
        if n > 0 {
            x[n] > x[n - 1] && x[n] > x[n + 1]
        } else {
            x[0] > x[1]
        }
    } else {
        n > 0 && x[n] > x[n - 1]
    }
}

fn closest_peak(x: &[f64], idx: usize) -> usize {
    let n = x.len();
    if is_peak(x, idx) {
        return idx;
    }
    let mut o = 1;
    while idx > o || idx + o < n - 1 {
        if idx > o && is_peak(x, idx - o) {
            return idx - o;
        }
        if idx + o < n - 1 && is_peak(x, idx + o) {
            return idx + o;
        }
        o += 1;
    }
    idx
}
