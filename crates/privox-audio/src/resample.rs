//! Band-limited sample-rate conversion with `rubato`.
//!
//! Rates with a small common structure (16 k <-> 8 k, 44.1 k -> 16 k, ...) use
//! rubato's synchronous FFT resampler, which is exact in ratio and fast. Rates
//! whose reduced ratio would need huge FFTs (e.g. 22051 Hz) fall back to a
//! windowed-sinc resampler. Both low-pass below the lower Nyquist frequency,
//! so downsampling does not alias.

use rubato::{
    FftFixedIn, Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

/// Why resampling could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResampleError {
    /// A rate of 0 Hz.
    #[error("cannot resample from {from} Hz to {to} Hz: both rates must be positive")]
    ZeroRate {
        /// Input rate.
        from: u32,
        /// Output rate.
        to: u32,
    },
    /// Upsampling by more than `MAX_UPSAMPLING` (256) times.
    #[error(
        "cannot resample from {from} Hz to {to} Hz: upsampling by more than {MAX_UPSAMPLING}x is refused (the output would be that many times the input); check the rates"
    )]
    TooMuchUpsampling {
        /// Input rate.
        from: u32,
        /// Output rate.
        to: u32,
    },
    /// Rates rubato cannot build a resampler for.
    #[error("cannot resample from {from} Hz to {to} Hz")]
    Unsupported {
        /// Input rate.
        from: u32,
        /// Output rate.
        to: u32,
        /// rubato's reason.
        #[source]
        source: rubato::ResamplerConstructionError,
    },
    /// A sample is NaN/infinite or so large that the filter would overflow.
    #[error(
        "sample {index} is {value}, outside the resampler's range (finite, |x| <= {MAX_ABS_SAMPLE:e}); the audio is corrupt"
    )]
    SampleOutOfRange {
        /// Index of the first offending sample.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// rubato failed while processing (an internal error; please report it).
    #[error("the resampler failed (please report this input)")]
    Failed(#[source] rubato::ResampleError),
    /// rubato panicked (caught) or returned no channel: an internal error.
    #[error("the resampler crashed (please report this input)")]
    Crashed,
}

/// Largest accepted |sample|. Float WAVs may hold any finite value, but FFT
/// sums of values near `f32::MAX` overflow to inf/NaN (and rubato then
/// panics); real audio is within a few units of full scale.
pub const MAX_ABS_SAMPLE: f32 = 1e20;

/// Largest accepted upsampling factor `to / from` (8 kHz to 768 kHz is 96).
/// The output is allocated up front, so without a bound a bad pair of rates
/// (e.g. 1 Hz to 4 GHz) would ask for terabytes and abort the process.
pub const MAX_UPSAMPLING: u32 = 256;
/// Frames per processing chunk.
const CHUNK: usize = 1024;
/// Above this reduced-ratio size the FFT resampler's kernel gets too large.
const MAX_FFT_RATIO_TERM: u32 = 2048;

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Resamples mono `samples` from `from` Hz to `to` Hz.
///
/// The output has `round(len * to / from)` samples and is time-aligned with
/// the input (the filter delay is removed).
///
/// ```
/// let tone: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.1).sin()).collect();
/// let low = privox_audio::resample(&tone, 16_000, 8_000)?;
/// assert_eq!(low.len(), 8_000);
/// # Ok::<(), privox_audio::ResampleError>(())
/// ```
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, ResampleError> {
    let bad = |source| ResampleError::Unsupported { from, to, source };
    if from == 0 || to == 0 {
        return Err(ResampleError::ZeroRate { from, to });
    }
    if from == to {
        return Ok(samples.to_vec());
    }
    if u64::from(to) > u64::from(MAX_UPSAMPLING) * u64::from(from) {
        return Err(ResampleError::TooMuchUpsampling { from, to });
    }
    let expected = ((samples.len() as u128 * u128::from(to) + u128::from(from) / 2)
        / u128::from(from)) as usize;
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    if let Some((index, &value)) = samples
        .iter()
        .enumerate()
        .find(|(_, v)| v.is_nan() || v.abs() > MAX_ABS_SAMPLE)
    {
        return Err(ResampleError::SampleOutOfRange { index, value });
    }
    let g = gcd(from, to);
    if from / g <= MAX_FFT_RATIO_TERM && to / g <= MAX_FFT_RATIO_TERM {
        let r = FftFixedIn::<f32>::new(from as usize, to as usize, CHUNK, 2, 1).map_err(bad)?;
        let delay = r.output_delay();
        run(r, samples, expected, delay)
    } else {
        let params = SincInterpolationParameters {
            sinc_len: 256,
            f_cutoff: 0.95,
            interpolation: SincInterpolationType::Cubic,
            oversampling_factor: 256,
            window: WindowFunction::BlackmanHarris2,
        };
        let r = SincFixedIn::<f32>::new(f64::from(to) / f64::from(from), 1.0, params, CHUNK, 1)
            .map_err(bad)?;
        // Measured with an impulse: in rubato 0.16, SincFixedIn's output is
        // already aligned with its input (its `output_delay()` is the filter's
        // half-length, not a shift of `process` output). The alignment test
        // below catches a change of that behaviour.
        run(r, samples, expected, 0)
    }
}

/// Feeds all of `samples` (then silence to flush the filter) and returns the
/// `expected` output samples after the resampler's delay.
fn run<R: Resampler<f32>>(
    resampler: R,
    samples: &[f32],
    expected: usize,
    delay: usize,
) -> Result<Vec<f32>, ResampleError> {
    // rubato unwraps internally; a bug there must not take down a batch.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_inner(resampler, samples, expected, delay)
    }))
    .map_err(|_| ResampleError::Crashed)?
}

fn run_inner<R: Resampler<f32>>(
    mut resampler: R,
    samples: &[f32],
    expected: usize,
    delay: usize,
) -> Result<Vec<f32>, ResampleError> {
    let mut out: Vec<f32> = Vec::with_capacity(expected + delay + 2 * CHUNK);
    let mut pos = 0;
    let fail = ResampleError::Failed;
    while out.len() < delay + expected {
        let need = resampler.input_frames_next();
        let chunk = if pos + need <= samples.len() {
            let block = resampler
                .process(&[&samples[pos..pos + need]], None)
                .map_err(fail)?;
            pos += need;
            block
        } else if pos < samples.len() {
            let block = resampler
                .process_partial(Some(&[&samples[pos..]]), None)
                .map_err(fail)?;
            pos = samples.len();
            block
        } else {
            // Flush the filter's tail with silence.
            resampler
                .process_partial::<&[f32]>(None, None)
                .map_err(fail)?
        };
        match chunk.into_iter().next() {
            Some(ch) => out.extend_from_slice(&ch),
            None => return Err(ResampleError::Crashed),
        }
    }
    Ok(out[delay..delay + expected].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: u32, secs: f32) -> Vec<f32> {
        let n = (rate as f32 * secs) as usize;
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    #[test]
    fn keeps_in_band_tone_and_alignment() {
        for &(from, to) in &[
            (16_000, 8_000),
            (44_100, 16_000),
            (8_000, 16_000),
            (22_051, 16_000),
            (16_000, 22_051),
        ] {
            let x = sine(440.0, from, 0.5);
            let y = resample(&x, from, to).unwrap();
            assert_eq!(
                y.len(),
                (x.len() as u64 * to as u64 + from as u64 / 2) as usize / from as usize,
                "{from}->{to}"
            );
            let want = sine(440.0, to, 0.5);
            // Compare the middle (edges have filter transients).
            let (a, b) = (y.len() / 4, 3 * y.len() / 4);
            let err: f32 = y[a..b]
                .iter()
                .zip(&want[a..b])
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f32::max);
            // The FFT path is exact to ~1e-3; the sinc fallback (odd rates) is
            // aligned to within ~0.3 sample, i.e. <0.06 on a 440 Hz unit sine.
            let tol = if gcd(from, to) >= 100 { 0.02 } else { 0.06 };
            assert!(err < tol, "{from}->{to}: max error {err}");
        }
    }

    #[test]
    fn removes_tone_above_new_nyquist() {
        // 6 kHz at 16 kHz is above 8 kHz's Nyquist (4 kHz): must be filtered, not aliased to 2 kHz.
        let x = sine(6_000.0, 16_000, 0.5);
        let y = resample(&x, 16_000, 8_000).unwrap();
        let mid = &y[y.len() / 4..3 * y.len() / 4];
        assert!(rms(mid) < 0.01, "aliased energy {}", rms(mid));
    }

    #[test]
    fn rejects_huge_or_nan_samples() {
        for bad in [f32::NAN, f32::INFINITY, 3e38] {
            let mut x = vec![0.1f32; 4_000];
            x[7] = bad;
            assert!(matches!(
                resample(&x, 16_000, 8_000),
                Err(ResampleError::SampleOutOfRange { index: 7, .. })
            ));
        }
    }

    #[test]
    fn rejects_zero_rate() {
        assert!(matches!(
            resample(&[0.0; 10], 0, 8_000),
            Err(ResampleError::ZeroRate { from: 0, to: 8_000 })
        ));
    }

    #[test]
    fn rejects_absurd_upsampling_before_allocating() {
        // 10 samples at 1 Hz to u32::MAX Hz would need ~170 GB of output.
        assert!(matches!(
            resample(&[0.0; 10], 1, u32::MAX),
            Err(ResampleError::TooMuchUpsampling { .. })
        ));
        assert!(matches!(
            resample(&[0.0; 10], 1_000, 1_000 * MAX_UPSAMPLING + 1),
            Err(ResampleError::TooMuchUpsampling { .. })
        ));
    }
}
