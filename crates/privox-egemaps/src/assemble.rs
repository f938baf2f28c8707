//! Turns the per-frame records into the smoothed LLD output and the 88
//! functionals, with openSMILE's frame bookkeeping (spec §5–§7).

use crate::functionals::{
    mean_stddev_norm, peaks2, percentile, segment_stats, segments, sma3, sma3nz,
};
use crate::names::{NUM_FEATURES, NUM_LLDS};
use crate::pipeline::{EFrame, FFrame};

fn column<T>(frames: &[T], f: impl Fn(&T) -> f32) -> Vec<f32> {
    frames.iter().map(f).collect()
}

fn nonzero(x: &[f32]) -> Vec<f32> {
    x.iter().copied().filter(|&v| v != 0.0).collect()
}

/// Computes the 88 functionals. `pending` is the Viterbi's undecided count.
pub(crate) fn functionals(e: &[EFrame], f: &[FFrame], pending: usize) -> [f64; NUM_FEATURES] {
    let n20 = e.len();
    let n60 = f.len();
    let nf = n60.saturating_sub(pending).max(1).min(n60);
    let mut out: Vec<f32> = Vec::with_capacity(NUM_FEATURES);

    let voiced: Vec<bool> = f.iter().map(|x| x.values[0] > 1e-6).collect();

    // 1-10: F0 semitone (sma3nz, N_F frames, non-zero values).
    let f0 = sma3nz(&column(f, |x| x.values[0]));
    let f0 = &f0[..nf];
    pitch_like(&nonzero(f0), &mut out);
    // 11-20: loudness (sma3, all N20 frames).
    let loud = sma3(&column(e, |x| x.spectral[0]));
    pitch_like(&loud, &mut out);
    // 21-30: flux, mfcc1-4 (sma3, N20).
    for k in 5..10 {
        let (m, s) = mean_stddev_norm(&sma3(&column(e, |x| x.spectral[k])));
        out.extend([m, s]);
    }
    // 31-58: voice quality and formants (sma3nz, N_F, non-zero).
    let vq: [Vec<f32>; 14] = [
        column(f, |x| x.values[1]),
        column(f, |x| x.values[2]),
        column(f, |x| x.values[3]),
        column(f, |x| x.values[4]),
        column(f, |x| x.values[5]),
        masked(e, &voiced, |x| x.formant_freq[0]),
        masked(e, &voiced, |x| x.formant_bw[0]),
        column(f, |x| x.values[6]),
        masked(e, &voiced, |x| x.formant_freq[1]),
        masked(e, &voiced, |x| x.formant_bw[1]),
        column(f, |x| x.values[7]),
        masked(e, &voiced, |x| x.formant_freq[2]),
        masked(e, &voiced, |x| x.formant_bw[2]),
        column(f, |x| x.values[8]),
    ];
    // openSMILE's smoother of this set (one level further down the chain than
    // the F0 and V/UV sets) has only the first N_F frames when the input ends,
    // so its last included value is replicate-padded instead of using the real
    // next frame (verified on nEMO files that end voiced).
    for c in &vq {
        let (m, s) = mean_stddev_norm(&nonzero(&sma3nz(&c[..nf.min(c.len())])));
        out.extend([m, s]);
    }
    // 59-76: spectral set in voiced frames.
    for k in 1..10 {
        let c = masked(e, &voiced, |x| x.spectral[k]);
        let (m, s) = mean_stddev_norm(&nonzero(&sma3nz(&c)[..nf]));
        out.extend([m, s]);
    }
    // 77-81: spectral set in unvoiced frames (mean only).
    let unvoiced: Vec<bool> = voiced.iter().map(|v| !v).collect();
    for k in 1..6 {
        let c = masked(e, &unvoiced, |x| x.spectral[k]);
        out.push(mean_stddev_norm(&nonzero(&sma3nz(&c)[..nf])).0);
    }
    // 82: loudness peaks per second.
    out.push(peaks2(&loud).peaks_per_sec);
    // 83-87: voiced / unvoiced segments on the smoothed F0 contour.
    let (vps, vmean, vsd) = segment_stats(&segments(f0, false), nf);
    let (_, umean, usd) = segment_stats(&segments(f0, true), nf);
    out.extend([vps, vmean, vsd, umean, usd]);
    // 88: equivalent sound level.
    let leq = if n20 == 0 {
        0.0
    } else {
        e.iter().map(|x| f64::from(x.energy)).sum::<f64>() / n20 as f64
    };
    out.push((10.0 * leq.max(1e-12).log10()) as f32);

    debug_assert_eq!(out.len(), NUM_FEATURES);
    let mut values = [0.0; NUM_FEATURES];
    for (v, o) in values.iter_mut().zip(out) {
        *v = f64::from(o);
    }
    values
}

/// Values of an E-frame column at pitch frames, zeroed where `keep` is false.
fn masked(e: &[EFrame], keep: &[bool], f: impl Fn(&EFrame) -> f32) -> Vec<f32> {
    keep.iter()
        .enumerate()
        .map(|(i, &k)| if k { e.get(i).map_or(0.0, &f) } else { 0.0 })
        .collect()
}

/// amean, stddevNorm, P20/50/80, P80−P20, rising/falling slope mean and sd.
fn pitch_like(x: &[f32], out: &mut Vec<f32>) {
    let (m, s) = mean_stddev_norm(x);
    let mut sorted = x.to_vec();
    sorted.sort_by(f32::total_cmp);
    let p = [0.2, 0.5, 0.8].map(|q| percentile(&sorted, q));
    let pk = peaks2(x);
    out.extend([
        m,
        s,
        p[0],
        p[1],
        p[2],
        (p[2] - p[0]).abs(),
        pk.mean_rise,
        pk.sd_rise,
        pk.mean_fall,
        pk.sd_fall,
    ]);
}

/// The 25-column LLD output: N60 + 1 rows (the last is openSMILE's
/// end-of-input copy of the unsmoothed frequency/voice values).
pub(crate) fn lld_rows(e: &[EFrame], f: &[FFrame]) -> Vec<[f32; NUM_LLDS]> {
    let n60 = f.len();
    if n60 == 0 {
        return Vec::new();
    }
    let e_smooth: Vec<Vec<f32>> = (0..10)
        .map(|k| sma3(&column(e, |x| x.spectral[k])))
        .collect();
    let raw_f: [Vec<f32>; 15] = [
        column(f, |x| x.values[0]),
        column(f, |x| x.values[1]),
        column(f, |x| x.values[2]),
        column(f, |x| x.values[3]),
        column(f, |x| x.values[4]),
        column(f, |x| x.values[5]),
        efield(e, n60, |x| x.formant_freq[0]),
        efield(e, n60, |x| x.formant_bw[0]),
        column(f, |x| x.values[6]),
        efield(e, n60, |x| x.formant_freq[1]),
        efield(e, n60, |x| x.formant_bw[1]),
        column(f, |x| x.values[7]),
        efield(e, n60, |x| x.formant_freq[2]),
        efield(e, n60, |x| x.formant_bw[2]),
        column(f, |x| x.values[8]),
    ];
    let f_smooth: Vec<Vec<f32>> = raw_f.iter().map(|c| sma3nz(c)).collect();
    (0..=n60)
        .map(|i| {
            let mut row = [0f32; NUM_LLDS];
            for k in 0..10 {
                row[k] = e_smooth[k].get(i).copied().unwrap_or(0.0);
            }
            for k in 0..15 {
                row[10 + k] = if i < n60 {
                    f_smooth[k][i]
                } else {
                    raw_f[k][n60 - 1]
                };
            }
            row
        })
        .collect()
}

fn efield(e: &[EFrame], n: usize, f: impl Fn(&EFrame) -> f32) -> Vec<f32> {
    (0..n).map(|i| e.get(i).map_or(0.0, &f)).collect()
}
