//! Formants F1-F3 (spec §4.7): openSMILE's frequency-domain "resampling" of the
//! 20 ms frame to 11 kHz, order-11 LPC, and root solving of the polynomial with
//! negated coefficients (openSMILE's convention, replicated on purpose).
//!
//! The LPC problem is ill-conditioned (the 11 kHz frame is band-limited to
//! ≈3.4 kHz), so ulp-level differences in its input change the coefficients by
//! up to tens of percent in some frames, and near-degenerate roots then give
//! very different bandwidths. Everything up to the LPC coefficients is
//! therefore computed in float32 with openSMILE's operation order: float32
//! windowing, Ooura's float FFT ([`crate::ooura`]), a float32 truncated inverse
//! DFT with float32 cos/sin tables accumulated term by term, a float32
//! autocorrelation and a float32 Levinson–Durbin recursion. The result is
//! bit-identical to openSMILE's LPC level on the frames checked (see
//! `bench/egemaps/formant_check.py`).

use crate::ooura::OouraRdft;

const TARGET_RATE: f64 = 11_000.0;
const ORDER: usize = 11;

/// Frequencies and bandwidths of F1..F3 in Hz (0 when missing).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Formants {
    pub freq: [f64; 3],
    pub bw: [f64; 3],
}

/// Per-frame formant analysis of the 20 ms branch, float32 throughout.
pub(crate) struct FormantAnalyzer {
    window: Vec<f32>,
    /// Start of the frame inside the zero-padded FFT buffer (symmetric padding).
    offset: usize,
    fft: Option<OouraRdft>,
    buf: Vec<f32>,
    /// Number of complex bins used by the synthesis (bins 1..=bins).
    bins: usize,
    /// `cos(2π k n / nd)` and `sin(...)` rounded to f32, laid out `[k-1][n]`
    /// so that the accumulation vectorises over output samples.
    cos_tab: Vec<f32>,
    sin_tab: Vec<f32>,
    /// Divisor of the synthesis (K/2, K = FFT length).
    norm: f32,
    /// The synthesised 11 kHz frame.
    frame: Vec<f32>,
}

impl FormantAnalyzer {
    /// `len` is the 20 ms frame length in samples, `nfft` its FFT length.
    pub fn new(len: usize, nfft: usize, sample_rate: f64) -> Self {
        let window = crate::geometry::hamming(len)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        // Output length and synthesis period as openSMILE's spectral resampler
        // derives them from the frame sizes before and after zero padding.
        let last_fs = len as f64 / sample_rate;
        let fs = last_fs * (nfft as f64 / len as f64);
        let ratio0 = TARGET_RATE / sample_rate;
        let nout0 = (nfft as f64 * ratio0 * last_fs / fs).round().max(1.0);
        let new_ratio = nout0 / (nfft as f64 * (last_fs / fs));
        let ratio = if new_ratio != ratio0 {
            new_ratio
        } else {
            ratio0
        };
        let nd = nfft as f64 * ratio;
        let out_len = nout0 as usize;
        // Anti-aliasing: only bins below min(K, I), rounded down to even.
        let mut kmax = nfft.min(out_len);
        kmax &= !1;
        let bins = (kmax / 2).saturating_sub(1).min(nfft / 2 - 1);
        let mut cos_tab = vec![0f32; bins * out_len];
        let mut sin_tab = vec![0f32; bins * out_len];
        let two_pi = 2.0 * std::f64::consts::PI;
        for k in 1..=bins {
            for n in 0..out_len {
                let ph = two_pi * (k * n) as f64 / nd;
                cos_tab[(k - 1) * out_len + n] = ph.cos() as f32;
                sin_tab[(k - 1) * out_len + n] = ph.sin() as f32;
            }
        }
        Self {
            window,
            offset: (nfft - len) / 2,
            fft: OouraRdft::new(nfft),
            buf: vec![0f32; nfft],
            bins,
            cos_tab,
            sin_tab,
            norm: (nfft / 2) as f32,
            frame: vec![0f32; out_len],
        }
    }

    /// `frame` holds the raw (unwindowed) 20 ms samples.
    pub fn process(&mut self, frame: &[f64]) -> Formants {
        let lpc = self.lpc(frame);
        formants_from_lpc(&lpc)
    }

    /// The order-11 LPC coefficients of one raw 20 ms frame (openSMILE's
    /// `lpc` level), `A(z) = 1 + Σ a_k z^-k`.
    pub fn lpc(&mut self, frame: &[f64]) -> [f32; ORDER] {
        let Some(fft) = &self.fft else {
            return [0f32; ORDER];
        };
        self.buf.iter_mut().for_each(|v| *v = 0.0);
        for ((dst, &x), &w) in self.buf[self.offset..]
            .iter_mut()
            .zip(frame)
            .zip(&self.window)
        {
            *dst = x as f32 * w;
        }
        fft.forward(&mut self.buf);
        self.synthesise();
        lpc_durbin_f32(&self.frame)
    }

    /// Truncated inverse DFT at the 11 kHz rate: DC, then for each bin the
    /// cosine and the sine term, each rounded to f32 as it is added.
    fn synthesise(&mut self) {
        let n = self.frame.len();
        let dc = self.buf[0];
        self.frame.iter_mut().for_each(|v| *v = dc);
        for k in 1..=self.bins {
            let re = self.buf[2 * k];
            let s = self.buf[2 * k + 1];
            let c = &self.cos_tab[(k - 1) * n..k * n];
            let si = &self.sin_tab[(k - 1) * n..k * n];
            for ((y, &cv), &sv) in self.frame.iter_mut().zip(c).zip(si) {
                *y += re * cv;
                *y += s * sv;
            }
        }
        let norm = self.norm;
        self.frame.iter_mut().for_each(|v| *v /= norm);
    }
}

/// Autocorrelation and Levinson–Durbin in float32 with openSMILE's operation
/// order (sequential sums, `k = (-1/e)·sum`, symmetric in-place update).
fn lpc_durbin_f32(x: &[f32]) -> [f32; ORDER] {
    let mut r = [0f32; ORDER + 1];
    for (lag, rv) in r.iter_mut().enumerate() {
        let mut s = 0f32;
        for (a, b) in x.iter().skip(lag).zip(x) {
            s += a * b;
        }
        *rv = s;
    }
    let mut a = [0f32; ORDER];
    if r[0] == 0.0 {
        return a;
    }
    let mut e = r[0];
    for m in 1..=ORDER {
        let mut sum = r[m];
        for i in 1..m {
            sum += a[i - 1] * r[m - i];
        }
        let k = (-1.0 / e) * sum;
        a[m - 1] = k;
        for i in 1..=m / 2 {
            let x = a[i - 1];
            a[i - 1] += k * a[m - i - 1];
            if i < m / 2 || m & 1 == 1 {
                a[m - i - 1] += k * x;
            }
        }
        e *= 1.0 - k * k;
        if e == 0.0 {
            // openSMILE zeroes the not yet computed coefficients and stops.
            a[m..].iter_mut().for_each(|v| *v = 0.0);
            break;
        }
    }
    a
}

/// Roots of `z^11 - a1 z^10 - ... - a11`, reflected into the unit circle,
/// converted to (frequency, bandwidth) and the three lowest kept.
fn formants_from_lpc(a: &[f32; ORDER]) -> Formants {
    let mut out = Formants::default();
    if a.iter().all(|&v| v == 0.0) {
        return out;
    }
    // Monic polynomial z^n + c1 z^(n-1) + ... + cn with c_k = -a_k.
    let coeffs: [f64; ORDER] = std::array::from_fn(|k| -f64::from(a[k]));
    let Some(roots) = crate::roots::companion_roots(&coeffs) else {
        return out;
    };
    let mut found: Vec<(f64, f64)> = Vec::with_capacity(5);
    for z in roots {
        if z.im < 0.0 {
            continue;
        }
        let mut r = z.norm();
        if r > 1.0 {
            r = 1.0 / r;
        }
        let f = z.im.atan2(z.re).abs() * TARGET_RATE / (2.0 * std::f64::consts::PI);
        if (50.0..=5450.0).contains(&f) && found.len() < 5 {
            let bw = if r > 0.0 {
                -r.ln() * TARGET_RATE / std::f64::consts::PI
            } else {
                0.0
            };
            found.push((f, bw));
        }
    }
    found.sort_by(|x, y| x.0.total_cmp(&y.0));
    for (i, (f, b)) in found.into_iter().take(3).enumerate() {
        out.freq[i] = f;
        out.bw[i] = b;
    }
    out
}
