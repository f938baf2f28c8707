//! Windowed, symmetrically zero-padded real FFT with a reusable plan.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// One planned forward FFT for a fixed frame length, with all scratch buffers
/// owned so that per-frame calls allocate nothing.
pub(crate) struct FramedFft {
    window: Vec<f64>,
    offset: usize,
    fft: Arc<dyn RealToComplex<f64>>,
    input: Vec<f64>,
    scratch: Vec<Complex<f64>>,
    /// Mean square of the last windowed frame (computed before the FFT,
    /// which uses `input` as scratch space).
    pub windowed_ms: f64,
    /// Complex spectrum of the last frame (bins 0..=N/2).
    pub spec: Vec<Complex<f64>>,
    /// Magnitudes of the last frame.
    pub mag: Vec<f64>,
}

impl FramedFft {
    pub fn new(planner: &mut RealFftPlanner<f64>, window: Vec<f64>, nfft: usize) -> Self {
        let fft = planner.plan_fft_forward(nfft);
        let offset = (nfft - window.len()) / 2;
        Self {
            input: fft.make_input_vec(),
            scratch: fft.make_scratch_vec(),
            spec: fft.make_output_vec(),
            mag: vec![0.0; nfft / 2 + 1],
            windowed_ms: 0.0,
            window,
            offset,
            fft,
        }
    }

    /// Windows `frame`, places it in the middle of the FFT buffer (openSMILE's
    /// symmetric zero padding), transforms it and fills `spec` and `mag`.
    pub fn process(&mut self, frame: &[f64]) {
        self.input.iter_mut().for_each(|v| *v = 0.0);
        for ((dst, &x), &w) in self.input[self.offset..]
            .iter_mut()
            .zip(frame)
            .zip(&self.window)
        {
            *dst = x * w;
        }
        let n = self.window.len();
        self.windowed_ms = self.input[self.offset..self.offset + n]
            .iter()
            .map(|v| v * v)
            .sum::<f64>()
            / n as f64;
        // The buffers were created by this plan, so their lengths always match.
        let _ = self
            .fft
            .process_with_scratch(&mut self.input, &mut self.spec, &mut self.scratch);
        for (m, c) in self.mag.iter_mut().zip(&self.spec) {
            *m = (c.re * c.re + c.im * c.im).sqrt();
        }
    }
}
