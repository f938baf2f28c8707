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

/// Evaluates the truncated inverse DFT either with an inverse FFT (when the
/// 11 kHz period `nfft·11000/rate` times a small integer is an even integer,
/// true for 8, 16, 24, 32 and 48 kHz) or with precomputed cos/sin tables.
enum Synth {
    Fft {
        ifft: std::sync::Arc<dyn realfft::ComplexToReal<f64>>,
        input: Vec<Complex<f64>>,
        output: Vec<f64>,
        scratch: Vec<Complex<f64>>,
        stride: usize,
    },
    Table {
        cos_tab: Vec<f64>, // OUT_LEN x USED_BINS
        sin_tab: Vec<f64>,
    },
}

pub(crate) struct FormantAnalyzer {
    synth: Synth,
    scale: f64,
    frame: [f64; OUT_LEN],
}

impl FormantAnalyzer {
    pub fn new(nfft: usize, sample_rate: f64) -> Self {
        let rate = sample_rate as u64;
        for stride in 1..=8u64 {
            let num = nfft as u64 * TARGET_RATE as u64 * stride;
            if num % rate == 0 {
                let m = (num / rate) as usize;
                if m % 2 == 0 && m / 2 > USED_BINS && m <= 8192 {
                    let ifft = realfft::RealFftPlanner::<f64>::new().plan_fft_inverse(m);
                    return Self {
                        synth: Synth::Fft {
                            input: ifft.make_input_vec(),
                            output: ifft.make_output_vec(),
                            scratch: ifft.make_scratch_vec(),
                            ifft,
                            stride: stride as usize,
                        },
                        scale: nfft as f64 / 2.0,
                        frame: [0.0; OUT_LEN],
                    };
                }
            }
        }
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
            synth: Synth::Table { cos_tab, sin_tab },
            scale: nfft as f64 / 2.0,
            frame: [0.0; OUT_LEN],
        }
    }

    /// `spec` is the complex spectrum of the symmetrically zero-padded
    /// Hamming-windowed 20 ms frame.
    pub fn process(&mut self, spec: &[Complex<f64>]) -> Formants {
        let bins = USED_BINS.min(spec.len() - 1);
        let re0 = spec[0].re;
        let (cos_tab, sin_tab) = match &mut self.synth {
            Synth::Fft {
                ifft,
                input,
                output,
                scratch,
                stride,
            } => {
                // c2r computes X0 + 2 Σ Re(X_k e^{+iθ}): halve the bins.
                input.iter_mut().for_each(|c| *c = Complex::new(0.0, 0.0));
                input[0] = Complex::new(re0, 0.0);
                for k in 1..=bins {
                    input[k] = spec[k] * 0.5;
                }
                // Input and output were made by this plan and the DC/Nyquist
                // imaginary parts are zero, so the transform cannot fail.
                let _ = ifft.process_with_scratch(input, output, scratch);
                for n in 0..OUT_LEN {
                    self.frame[n] = (output[n * *stride] / self.scale) as f32 as f64;
                }
                let lpc = lpc_f32(&self.frame);
                return formants_from_lpc(&lpc);
            }
            Synth::Table { cos_tab, sin_tab } => (&*cos_tab, &*sin_tab),
        };
        let mut re = [0.0f64; USED_BINS];
        let mut im = [0.0f64; USED_BINS];
        for k in 0..bins {
            re[k] = spec[k + 1].re;
            // openSMILE stores S_k = -Im (sin-transform sign).
            im[k] = -spec[k + 1].im;
        }
        for n in 0..OUT_LEN {
            let c = &cos_tab[n * USED_BINS..(n + 1) * USED_BINS];
            let s = &sin_tab[n * USED_BINS..(n + 1) * USED_BINS];
            let mut acc = [0.0f64; 4];
            for (((cc, ss), r), i) in c
                .chunks_exact(4)
                .zip(s.chunks_exact(4))
                .zip(re.chunks_exact(4))
                .zip(im.chunks_exact(4))
            {
                for q in 0..4 {
                    acc[q] += r[q] * cc[q] + i[q] * ss[q];
                }
            }
            let tail = USED_BINS - USED_BINS % 4;
            let mut sum = re0 + acc.iter().sum::<f64>();
            for k in tail..USED_BINS {
                sum += re[k] * c[k] + im[k] * s[k];
            }
            self.frame[n] = (sum / self.scale) as f32 as f64;
        }
        let lpc = lpc_f32(&self.frame);
        formants_from_lpc(&lpc)
    }
}

/// Autocorrelation (float32 sums, as openSMILE) and Levinson–Durbin in
/// double precision (the variant closest to openSMILE on EmoDB), `A(z) = 1 + Σ a_k z^-k`.
fn lpc_f32(x: &[f64]) -> [f32; ORDER] {
    let mut r = [0f32; ORDER + 1];
    for (lag, rv) in r.iter_mut().enumerate() {
        let mut s = 0f32;
        for (a, b) in x[lag..].iter().zip(x) {
            s += (*a as f32) * (*b as f32);
        }
        *rv = s;
    }
    let r: [f64; ORDER + 1] = r.map(f64::from);
    let mut a = [0f64; ORDER];
    let mut e = r[0];
    if e == 0.0 {
        return [0f32; ORDER];
    }
    let mut prev = [0f64; ORDER];
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
    a.map(|v| v as f32)
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
