//! Raw WAV sample bytes to mono `f32`, scaled like openSMILE (int16 full scale == 1.0).

use crate::riff::{SampleEncoding, WavFormat};

/// Converts whole interleaved frames in `bytes` to mono samples appended to `out`
/// (channel average). Returns how many NaN/infinite (or beyond-`f32`) values were replaced by 0.
///
/// `bytes.len()` must be a multiple of `format.frame_bytes()`; a trailing
/// partial frame is ignored.
pub fn frames_to_mono(bytes: &[u8], format: &WavFormat, out: &mut Vec<f32>) -> u64 {
    // One monomorphised loop per encoding: the per-sample `match` stays out of the hot loop.
    match format.encoding {
        SampleEncoding::U8 => mix(bytes, format.channels, 1, out, false, |s| {
            (f64::from(s[0]) - 128.0) / 128.0
        }),
        SampleEncoding::Int {
            container_bytes: 2, ..
        } => mix(bytes, format.channels, 2, out, false, |s| {
            f64::from(i16::from_le_bytes([s[0], s[1]])) / 32_768.0
        }),
        SampleEncoding::Int {
            container_bytes: 3, ..
        } => mix(bytes, format.channels, 3, out, false, |s| {
            // Sign-extend by placing the 3 bytes in the top of an i32.
            f64::from(i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) / 8_388_608.0
        }),
        SampleEncoding::Int { .. } => mix(bytes, format.channels, 4, out, false, |s| {
            f64::from(i32::from_le_bytes([s[0], s[1], s[2], s[3]])) / 2_147_483_648.0
        }),
        SampleEncoding::F32 => mix(bytes, format.channels, 4, out, true, |s| {
            f64::from(f32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        }),
        SampleEncoding::F64 => mix(bytes, format.channels, 8, out, true, |s| {
            f64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]])
        }),
    }
}

/// Averages `channels` decoded values per frame. Integer formats cannot
/// produce non-finite values, so the check runs only when `float` is set.
#[inline(always)]
fn mix<F: Fn(&[u8]) -> f64>(
    bytes: &[u8],
    channels: u16,
    width: usize,
    out: &mut Vec<f32>,
    float: bool,
    decode: F,
) -> u64 {
    let channels = usize::from(channels);
    let frame = channels * width;
    out.reserve(bytes.len() / frame);
    let mut non_finite = 0u64;
    if channels == 1 && !float {
        out.extend(bytes.chunks_exact(width).map(|s| decode(s) as f32));
        return 0;
    }
    let inv_channels = 1.0 / channels as f64;
    for fr in bytes.chunks_exact(frame) {
        let mut acc = 0.0f64;
        for s in fr.chunks_exact(width) {
            let v = decode(s);
            if float && !v.is_finite() {
                non_finite += 1;
            } else {
                acc += v;
            }
        }
        let mono = (acc * inv_channels) as f32;
        if mono.is_finite() {
            out.push(mono);
        } else {
            // A finite f64 beyond f32's range: as unusable as NaN.
            non_finite += 1;
            out.push(0.0);
        }
    }
    non_finite
}

/// Averages interleaved `f32` frames to mono, appending to `out`.
pub fn interleaved_to_mono(samples: &[f32], channels: usize, out: &mut Vec<f32>) {
    if channels <= 1 {
        out.extend_from_slice(samples);
        return;
    }
    let inv = 1.0 / channels as f32;
    out.extend(
        samples
            .chunks_exact(channels)
            .map(|fr| fr.iter().sum::<f32>() * inv),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(channels: u16, encoding: SampleEncoding) -> WavFormat {
        WavFormat {
            channels,
            sample_rate: 16_000,
            encoding,
            extensible: false,
        }
    }

    #[test]
    fn int16_full_scale_is_one() {
        let f = fmt(
            1,
            SampleEncoding::Int {
                container_bytes: 2,
                valid_bits: 16,
            },
        );
        let mut out = Vec::new();
        let bytes: Vec<u8> = [i16::MIN, 16_384, 0, -1]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        frames_to_mono(&bytes, &f, &mut out);
        assert_eq!(out, vec![-1.0, 0.5, 0.0, -1.0 / 32_768.0]);
    }

    #[test]
    fn int24_and_u8_scale_like_int16() {
        let f = fmt(
            1,
            SampleEncoding::Int {
                container_bytes: 3,
                valid_bits: 24,
            },
        );
        let mut out = Vec::new();
        // -8388608 (min) and 4194304 (half)
        frames_to_mono(&[0x00, 0x00, 0x80, 0x00, 0x00, 0x40], &f, &mut out);
        assert_eq!(out, vec![-1.0, 0.5]);
        let mut out = Vec::new();
        frames_to_mono(&[0, 128, 192], &fmt(1, SampleEncoding::U8), &mut out);
        assert_eq!(out, vec![-1.0, 0.0, 0.5]);
    }

    #[test]
    fn stereo_is_averaged_and_nan_replaced() {
        let f = fmt(2, SampleEncoding::F32);
        let bytes: Vec<u8> = [0.5f32, -0.25, f32::NAN, 1.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut out = Vec::new();
        let bad = frames_to_mono(&bytes, &f, &mut out);
        assert_eq!(out, vec![0.125, 0.5]);
        assert_eq!(bad, 1);
    }
}
