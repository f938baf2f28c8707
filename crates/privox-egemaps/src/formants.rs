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

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::ooura::OouraRdft;

const TARGET_RATE: f64 = 11_000.0;
const ORDER: usize = 11;

/// Frequencies and bandwidths of F1..F3 in Hz (0 when missing).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Formants {
    pub freq: [f64; 3],
    pub bw: [f64; 3],
}

/// Output samples accumulated together in the synthesis (four SSE registers);
/// each lane is its own sequential sum, so the rounding is unchanged.
const LANES: usize = 16;
/// Distinct geometries whose plans are kept (one per sample rate in use).
const PLAN_CACHE: usize = 8;

/// Everything that depends only on the frame geometry, shared by all
/// analyzers of the same sample rate (building the tables costs ~50k sin/cos).
struct FormantPlan {
    key: (usize, usize, u64),
    window: Vec<f32>,
    /// Start of the frame inside the zero-padded FFT buffer (symmetric padding).
    offset: usize,
    fft: Option<OouraRdft>,
    /// Number of complex bins used by the synthesis (bins 1..=bins).
    bins: usize,
    /// Length of the synthesised 11 kHz frame (220 at the usual rates).
    out_len: usize,
    /// `cos(2π k n / nd)` and `sin(...)` rounded to f32, laid out per block of
    /// [`LANES`] output samples, then per bin: `LANES` cosines, `LANES` sines
    /// (zero in the padding beyond `out_len`), so the synthesis streams it.
    table: Vec<f32>,
    /// Divisor of the synthesis (K/2, K = FFT length).
    norm: f32,
}

impl FormantPlan {
    fn new(len: usize, nfft: usize, sample_rate: f64) -> Self {
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
        let kmax = nfft.min(out_len) & !1;
        let bins = (kmax / 2).saturating_sub(1).min(nfft / 2 - 1);
        let blocks = out_len.div_ceil(LANES);
        let mut table = vec![0f32; blocks * bins * 2 * LANES];
        let two_pi = 2.0 * std::f64::consts::PI;
        for b in 0..blocks {
            for k in 1..=bins {
                let row = &mut table[(b * bins + k - 1) * 2 * LANES..][..2 * LANES];
                for l in 0..LANES {
                    let n = b * LANES + l;
                    if n < out_len {
                        let ph = two_pi * (k * n) as f64 / nd;
                        row[l] = ph.cos() as f32;
                        row[LANES + l] = ph.sin() as f32;
                    }
                }
            }
        }
        Self {
            key: (len, nfft, sample_rate.to_bits()),
            window,
            offset: (nfft - len) / 2,
            fft: OouraRdft::new(nfft),
            bins,
            out_len,
            table,
            norm: (nfft / 2) as f32,
        }
    }

    /// The plan for this geometry, built once per process and shared.
    fn shared(len: usize, nfft: usize, sample_rate: f64) -> Arc<Self> {
        static PLANS: OnceLock<Mutex<Vec<Arc<FormantPlan>>>> = OnceLock::new();
        let key = (len, nfft, sample_rate.to_bits());
        // A poisoned lock only means another thread panicked while holding it;
        // the plans themselves are immutable, so keep using them.
        let mut plans = PLANS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = plans.iter().find(|p| p.key == key) {
            return Arc::clone(p);
        }
        let plan = Arc::new(Self::new(len, nfft, sample_rate));
        if plans.len() >= PLAN_CACHE {
            plans.remove(0);
        }
        plans.push(Arc::clone(&plan));
        plan
    }
}

/// Per-frame formant analysis of the 20 ms branch, float32 throughout.
pub(crate) struct FormantAnalyzer {
    plan: Arc<FormantPlan>,
    /// Zero-padded FFT buffer.
    buf: Vec<f32>,
    /// The synthesised 11 kHz frame.
    frame: Vec<f32>,
}

impl FormantAnalyzer {
    /// `len` is the 20 ms frame length in samples, `nfft` its FFT length.
    pub fn new(len: usize, nfft: usize, sample_rate: f64) -> Self {
        let plan = FormantPlan::shared(len, nfft, sample_rate);
        Self {
            buf: vec![0f32; nfft],
            frame: vec![0f32; plan.out_len],
            plan,
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
        let plan = &*self.plan;
        let Some(fft) = &plan.fft else {
            return [0f32; ORDER];
        };
        self.buf.iter_mut().for_each(|v| *v = 0.0);
        for ((dst, &x), &w) in self.buf[plan.offset..]
            .iter_mut()
            .zip(frame)
            .zip(&plan.window)
        {
            *dst = x as f32 * w;
        }
        fft.forward(&mut self.buf);
        synthesise(plan, &self.buf, &mut self.frame);
        lpc_durbin_f32(&self.frame)
    }
}

/// Truncated inverse DFT at the 11 kHz rate: each output sample starts at DC,
/// then for every bin adds the cosine and then the sine term, rounding to f32
/// at each addition (openSMILE's order), and is finally divided by K/2.
fn synthesise(plan: &FormantPlan, spec: &[f32], out: &mut [f32]) {
    let bins = plan.bins;
    let dc = spec[0];
    if bins == 0 {
        // Degenerate geometry (not reachable for 8-48 kHz): DC only.
        out.iter_mut().for_each(|y| *y = dc / plan.norm);
        return;
    }
    let per_block = bins * 2 * LANES;
    for (b, rows) in plan.table.chunks_exact(per_block).enumerate() {
        let mut acc = [dc; LANES];
        // Bins 1..=bins: (Re_k, S_k) pairs start at index 2.
        for (row, bin) in rows.chunks_exact(2 * LANES).zip(spec[2..].chunks_exact(2)) {
            let (re, im) = (bin[0], bin[1]);
            let (c, s) = row.split_at(LANES);
            for l in 0..LANES {
                acc[l] += re * c[l];
                acc[l] += im * s[l];
            }
        }
        let start = b * LANES;
        let end = (start + LANES).min(out.len());
        for (y, a) in out[start..end].iter_mut().zip(&acc) {
            *y = a / plan.norm;
        }
    }
}

/// Autocorrelation and Levinson–Durbin in float32 with openSMILE's operation
/// order (sequential sums, `k = (-1/e)·sum`, symmetric in-place update).
fn lpc_durbin_f32(x: &[f32]) -> [f32; ORDER] {
    // r[lag] = Σ_{i ≥ lag} x[i]·x[i-lag], summed in ascending i. The lags are
    // interleaved so that their 12 dependency chains overlap in the pipeline.
    let mut r = [0f32; ORDER + 1];
    for (i, &xi) in x.iter().enumerate() {
        if i >= ORDER {
            for (lag, rv) in r.iter_mut().enumerate() {
                *rv += xi * x[i - lag];
            }
        } else {
            for (lag, rv) in r.iter_mut().enumerate().take(i + 1) {
                *rv += xi * x[i - lag];
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Geometry;

    /// The blocked float32 synthesis equals the defining sum (spec §4.7) up to
    /// float32 rounding, at rates with integer and non-integer periods.
    #[test]
    fn synthesis_matches_definition_at_several_rates() {
        for rate in [8_000u32, 16_000, 22_050, 24_000, 44_100, 48_000] {
            let geo = Geometry::new(rate);
            let plan = FormantPlan::new(geo.len20, geo.nfft20, geo.sample_rate);
            assert_eq!(plan.out_len, 220, "rate {rate}");
            assert_eq!(plan.bins, 109, "rate {rate}");
            let spec: Vec<f32> = (0..geo.nfft20)
                .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
                .collect();
            let mut out = vec![0f32; plan.out_len];
            synthesise(&plan, &spec, &mut out);
            let nd = geo.nfft20 as f64 * 220.0 / geo.len20 as f64;
            for (n, &y) in out.iter().enumerate() {
                let mut want = f64::from(spec[0]);
                for k in 1..=109 {
                    let ph = 2.0 * std::f64::consts::PI * (k * n) as f64 / nd;
                    want +=
                        f64::from(spec[2 * k]) * ph.cos() + f64::from(spec[2 * k + 1]) * ph.sin();
                }
                want /= (geo.nfft20 / 2) as f64;
                assert!(
                    (f64::from(y) - want).abs() < 1e-4,
                    "rate {rate} n {n}: {y} vs {want}"
                );
            }
        }
    }

    /// Levinson–Durbin recovers the coefficients of a stable AR(2) process.
    #[test]
    fn durbin_recovers_ar2() {
        // x[n] = 1.3 x[n-1] - 0.6 x[n-2] + e[n]  =>  A(z) = 1 - 1.3 z^-1 + 0.6 z^-2
        let mut x = vec![0f32; 4000];
        let mut state = 12345u32;
        for n in 2..x.len() {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let e = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            x[n] = 1.3 * x[n - 1] - 0.6 * x[n - 2] + e;
        }
        let a = lpc_durbin_f32(&x);
        assert!((a[0] + 1.3).abs() < 0.1, "{a:?}");
        assert!((a[1] - 0.6).abs() < 0.1, "{a:?}");
        assert!(a[2..].iter().all(|v| v.abs() < 0.1), "{a:?}");
    }

    #[test]
    fn silence_gives_no_formants() {
        let geo = Geometry::new(16_000);
        let mut fa = FormantAnalyzer::new(geo.len20, geo.nfft20, geo.sample_rate);
        let f = fa.process(&vec![0.0; geo.len20]);
        assert_eq!(f.freq, [0.0; 3]);
        assert_eq!(f.bw, [0.0; 3]);
    }
}
