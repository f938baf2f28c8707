//! Formants F1-F3 (spec §4.7): openSMILE's frequency-domain "resampling" of the
//! 20 ms frame to 11 kHz, order-11 LPC, and root solving of the polynomial with
//! negated coefficients (openSMILE's convention, replicated on purpose).

use realfft::num_complex::Complex;

const TARGET_RATE: f64 = 11_000.0;
const OUT_LEN: usize = 220;
const USED_BINS: usize = 109;
const ORDER: usize = 11;

/// Frequencies and bandwidths of F1..F3 in Hz (0 when missing).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Formants {
    pub freq: [f64; 3],
    pub bw: [f64; 3],
}

pub(crate) struct FormantAnalyzer {
    cos_tab: Vec<f64>, // OUT_LEN x USED_BINS
    sin_tab: Vec<f64>,
    scale: f64,
    frame: [f64; OUT_LEN],
}

impl FormantAnalyzer {
    pub fn new(nfft: usize, sample_rate: f64) -> Self {
        let period = nfft as f64 * TARGET_RATE / sample_rate;
        let bins = USED_BINS.min(nfft / 2);
        let mut cos_tab = vec![0.0; OUT_LEN * USED_BINS];
        let mut sin_tab = vec![0.0; OUT_LEN * USED_BINS];
        for n in 0..OUT_LEN {
            for k in 1..=bins {
                let ph = 2.0 * std::f64::consts::PI * (k * n) as f64 / period;
                cos_tab[n * USED_BINS + k - 1] = ph.cos();
                sin_tab[n * USED_BINS + k - 1] = ph.sin();
            }
        }
        Self {
            cos_tab,
            sin_tab,
            scale: nfft as f64 / 2.0,
            frame: [0.0; OUT_LEN],
        }
    }

    /// `spec` is the complex spectrum of the symmetrically zero-padded
    /// Hamming-windowed 20 ms frame.
    pub fn process(&mut self, spec: &[Complex<f64>]) -> Formants {
        let bins = USED_BINS.min(spec.len() - 1);
        let re0 = spec[0].re;
        for n in 0..OUT_LEN {
            let c = &self.cos_tab[n * USED_BINS..n * USED_BINS + bins];
            let s = &self.sin_tab[n * USED_BINS..n * USED_BINS + bins];
            let mut acc = re0;
            for k in 0..bins {
                let x = spec[k + 1];
                // openSMILE stores S_k = -Im (sin-transform sign).
                acc += x.re * c[k] - x.im * s[k];
            }
            self.frame[n] = (acc / self.scale) as f32 as f64;
        }
        let lpc = lpc_f32(&self.frame);
        formants_from_lpc(&lpc)
    }
}

/// Autocorrelation LPC with a float32 Levinson–Durbin, `A(z) = 1 + Σ a_k z^-k`.
fn lpc_f32(x: &[f64]) -> [f32; ORDER] {
    let mut r = [0f32; ORDER + 1];
    for (lag, rv) in r.iter_mut().enumerate() {
        let s: f64 = x[lag..].iter().zip(x).map(|(a, b)| a * b).sum();
        *rv = s as f32;
    }
    let mut a = [0f32; ORDER];
    let mut e = r[0];
    if e == 0.0 {
        return a;
    }
    let mut prev = [0f32; ORDER];
    for m in 1..=ORDER {
        let mut acc = r[m];
        for i in 0..m - 1 {
            acc += a[i] * r[m - 1 - i];
        }
        let k = -acc / e;
        prev[..m].copy_from_slice(&a[..m]);
        a[m - 1] = k;
        for i in 1..m {
            a[i - 1] = prev[i - 1] + k * prev[m - i - 1];
        }
        e *= 1.0 - k * k;
        if e == 0.0 {
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
