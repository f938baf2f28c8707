//! Energy/spectral LLDs of the 20 ms Hamming branch (spec §4.8–§4.12):
//! loudness, alpha ratio, Hammarberg index, spectral slopes, flux, MFCC 1-4.

fn mel(f: f64) -> f64 {
    1127.0 * (1.0 + f / 700.0).ln()
}

fn mel_inv(m: f64) -> f64 {
    700.0 * ((m / 1127.0).exp() - 1.0)
}

const NUM_BANDS: usize = 26;

/// Triangular mel filterbank (peak 1, no area normalisation) from 20 Hz to
/// min(8 kHz, Nyquist), stored sparsely as (bin, band, weight).
struct MelBank {
    taps: Vec<(usize, usize, f64)>,
    centres: [f64; NUM_BANDS],
}

impl MelBank {
    fn new(bins: usize, df: f64, nyquist: f64) -> Self {
        let lo = 20.0;
        let hi = 8000.0f64.min(nyquist);
        let (mlo, mhi) = (mel(lo), mel(hi));
        let pts: Vec<f64> = (0..NUM_BANDS + 2)
            .map(|i| mlo + i as f64 * (mhi - mlo) / (NUM_BANDS + 1) as f64)
            .collect();
        let mut taps = Vec::new();
        let nlo = (lo / df).round() as usize;
        let nhi = ((hi / df).round() as usize).min(bins);
        for n in nlo + 1..nhi {
            let m = mel(n as f64 * df);
            // first point >= m (pts[k-1] < m <= pts[k])
            let Some(k) = pts.iter().position(|&p| p >= m) else {
                continue;
            };
            if k == 0 {
                continue;
            }
            let w = (pts[k] - m) / (pts[k] - pts[k - 1]);
            if k >= 2 {
                taps.push((n, k - 2, w));
            }
            if k - 1 < NUM_BANDS {
                taps.push((n, k - 1, 1.0 - w));
            }
        }
        let mut centres = [0.0; NUM_BANDS];
        for (b, c) in centres.iter_mut().enumerate() {
            *c = mel_inv(pts[b + 1]);
        }
        Self { taps, centres }
    }

    fn apply(&self, power: &[f64], out: &mut [f64; NUM_BANDS]) {
        *out = [0.0; NUM_BANDS];
        for &(n, b, w) in &self.taps {
            out[b] += w * power[n];
        }
    }
}

/// Hermansky (1990) equal-loudness weight as implemented by openSMILE (ω⁷ term).
fn equal_loudness(f: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * f;
    let w2 = w * w;
    let c = w2 + 6.3e6;
    1e32 * ((w2 + 56.8e6) * w2 * w2) / (c * c * (w2 + 0.38e9) * (w2 * w2 * w2 * w + 1.7e31))
}

/// openSMILE's spectral slope over a Hz range: bins `first..=last`, the edge
/// bins weighted by the fraction of the bin inside the range (1 when the edge
/// falls exactly on a bin), `Sx = Σ w f`, `Sxx = Σ (w f)²`, `Sy = Σ w L`,
/// `Sxy = Σ w f L` and the regression count N = last − first (not the number
/// of points). Verified against openSMILE at 8, 16, 22.05, 24 and 44.1 kHz.
struct SlopeRange {
    first: usize,
    last: usize,
    w_first: f64,
    w_last: f64,
}

/// Per-frame spectral values, in LLD order 1..10 (minus loudness smoothing).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SpectralFrame {
    pub loudness: f64,
    pub alpha_ratio: f64,
    pub hammarberg: f64,
    pub slope0_500: f64,
    pub slope500_1500: f64,
    pub flux: f64,
    pub mfcc: [f64; 4],
}

/// Computes the spectral LLDs from 20 ms magnitude spectra, keeping the
/// previous spectrum for the flux.
pub(crate) struct SpectralAnalyzer {
    bank: MelBank,
    eq_weights: [f64; NUM_BANDS],
    freqs: Vec<f64>,
    alpha_lo: usize,          // bins 0..alpha_lo (< 1 kHz)
    alpha_hi: (usize, usize), // 1..5 kHz inclusive range
    ham_lo: usize,
    ham_hi: (usize, usize),
    flux_bins: usize,
    slopes: [SlopeRange; 2],
    dct: [[f64; NUM_BANDS]; 4],
    prev_mag: Vec<f64>,
    have_prev: bool,
    power: Vec<f64>,
    logp: Vec<f64>,
}

impl SpectralAnalyzer {
    pub fn new(bins: usize, df: f64, nyquist: f64) -> Self {
        let bank = MelBank::new(bins, df, nyquist);
        let mut eq_weights = [0.0; NUM_BANDS];
        for (w, &c) in eq_weights.iter_mut().zip(&bank.centres) {
            *w = equal_loudness(c);
        }
        let freqs: Vec<f64> = (0..bins).map(|k| k as f64 * df).collect();
        let count_below = |f: f64| freqs.iter().filter(|&&x| x < f).count();
        let count_upto = |f: f64| freqs.iter().filter(|&&x| x <= f).count();
        let hi5k = count_upto(5000.0);
        let slope = |lo: f64, hi: f64| {
            let plo = lo / df;
            let phi = (hi / df).min((bins - 1) as f64);
            let first = plo.floor() as usize;
            let last = (phi.floor() as usize).max(first);
            let frac_hi = phi - last as f64;
            SlopeRange {
                first,
                last,
                w_first: 1.0 - (plo - first as f64),
                w_last: if frac_hi > 0.0 { frac_hi } else { 1.0 },
            }
        };
        let mut dct = [[0.0; NUM_BANDS]; 4];
        for (i, row) in dct.iter_mut().enumerate() {
            let q = (i + 1) as f64;
            let lifter = 1.0 + 11.0 * (std::f64::consts::PI * q / 22.0).sin();
            for (b, v) in row.iter_mut().enumerate() {
                *v = (2.0 / NUM_BANDS as f64).sqrt()
                    * (std::f64::consts::PI * q * (b as f64 + 0.5) / NUM_BANDS as f64).cos()
                    * lifter;
            }
        }
        Self {
            bank,
            eq_weights,
            alpha_lo: count_below(1000.0),
            alpha_hi: (count_below(1000.0), hi5k),
            ham_lo: count_below(2000.0),
            ham_hi: (count_below(2000.0), hi5k),
            flux_bins: count_below(5000.0),
            slopes: [slope(0.0, 500.0), slope(500.0, 1500.0)],
            dct,
            prev_mag: vec![0.0; bins],
            have_prev: false,
            power: vec![0.0; bins],
            logp: vec![0.0; bins],
            freqs,
        }
    }

    pub fn process(&mut self, mag: &[f64]) -> SpectralFrame {
        for (p, &m) in self.power.iter_mut().zip(mag) {
            *p = m * m;
        }
        let mut bands = [0.0; NUM_BANDS];
        self.bank.apply(&self.power, &mut bands);

        let mut loud = 0.0;
        for (b, w) in bands.iter().zip(&self.eq_weights) {
            loud += (b.max(9.3e-10) * w).powf(0.33);
        }
        let loudness = loud / NUM_BANDS as f64;

        let mut mfcc = [0.0; 4];
        let mut lnm = [0.0; NUM_BANDS];
        const HTK_SCALE: f64 = 32767.0 * 32767.0;
        for (l, b) in lnm.iter_mut().zip(&bands) {
            *l = (b * HTK_SCALE).max(1.0).ln();
        }
        for (c, row) in mfcc.iter_mut().zip(&self.dct) {
            *c = row.iter().zip(&lnm).map(|(a, b)| a * b).sum();
        }

        // Sums in float32 as openSMILE does.
        let lo: f32 = self.power[..self.alpha_lo].iter().map(|&p| p as f32).sum();
        let hi: f32 = self.power[self.alpha_hi.0..self.alpha_hi.1]
            .iter()
            .map(|&p| p as f32)
            .sum();
        let alpha_ratio = ratio_db(f64::from(hi), f64::from(lo));
        let max_of = |s: &[f64]| s.iter().fold(0.0f64, |a, &b| a.max(b));
        let hmax_lo = max_of(&self.power[..self.ham_lo]);
        let hmax_hi = max_of(&self.power[self.ham_hi.0..self.ham_hi.1]);
        let hammarberg = ratio_db(hmax_lo, hmax_hi);

        for (l, &p) in self.logp.iter_mut().zip(&self.power) {
            *l = if p <= 1e-14 { -140.0 } else { 10.0 * p.log10() };
        }
        let slope = |r: &SlopeRange| {
            let n = (r.last - r.first) as f64;
            let (mut sx, mut sy, mut sxy, mut sxx) = (0.0, 0.0, 0.0, 0.0);
            for k in r.first..=r.last {
                let w = if k == r.first {
                    r.w_first
                } else if k == r.last {
                    r.w_last
                } else {
                    1.0
                };
                let f = self.freqs[k];
                let y = self.logp[k];
                sx += w * f;
                sy += w * y;
                sxy += w * f * y;
                sxx += (w * f) * (w * f);
            }
            let den = n * sxx - sx * sx;
            if den == 0.0 {
                0.0
            } else {
                (n * sxy - sx * sy) / den
            }
        };
        let slope0_500 = slope(&self.slopes[0]);
        let slope500_1500 = slope(&self.slopes[1]);

        let flux = if self.have_prev {
            let s: f64 = mag[..self.flux_bins]
                .iter()
                .zip(&self.prev_mag)
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            (s / self.flux_bins as f64).sqrt()
        } else {
            0.0
        };
        self.prev_mag.copy_from_slice(mag);
        self.have_prev = true;

        SpectralFrame {
            loudness,
            alpha_ratio,
            hammarberg,
            slope0_500,
            slope500_1500,
            flux,
            mfcc,
        }
    }
}

/// `10 log10(num/den)` with openSMILE's guards: 0 if `den` is 0, a 1e-14 floor
/// on the numerator.
fn ratio_db(num: f64, den: f64) -> f64 {
    if den <= 0.0 {
        0.0
    } else if num <= 1e-14 {
        10.0 * (1e-14 / den).log10()
    } else {
        10.0 * (num / den).log10()
    }
}
