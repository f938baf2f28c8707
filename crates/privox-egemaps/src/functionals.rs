//! Smoothing (sma3 / sma3nz) and the functionals of spec §6–§7, replicating
//! openSMILE's float32 data memory where it matters.

const T: f32 = 0.01;

/// Centred 3-frame moving average with replicated edges.
pub(crate) fn sma3(x: &[f32]) -> Vec<f32> {
    let n = x.len();
    (0..n)
        .map(|i| {
            let l = x[i.saturating_sub(1)];
            let r = x[(i + 1).min(n - 1)];
            (l + x[i] + r) / 3.0
        })
        .collect()
}

/// 3-frame average over non-zero values only; zeros stay zero.
pub(crate) fn sma3nz(x: &[f32]) -> Vec<f32> {
    let n = x.len();
    (0..n)
        .map(|i| {
            if x[i] == 0.0 {
                return 0.0;
            }
            let w = [x[i.saturating_sub(1)], x[i], x[(i + 1).min(n - 1)]];
            let mut s = 0f32;
            let mut c = 0f32;
            for v in w {
                if v != 0.0 {
                    s += v;
                    c += 1.0;
                }
            }
            s / c
        })
        .collect()
}

/// (amean, stddevNorm) with openSMILE's signed-mean normalisation.
pub(crate) fn mean_stddev_norm(x: &[f32]) -> (f32, f32) {
    let n = x.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
    let m32 = mean as f32;
    let m2 = x
        .iter()
        .map(|&v| {
            let d = f64::from(v) - f64::from(m32);
            d * d
        })
        .sum::<f64>()
        / n as f64;
    let sd = if m2 > 0.0 {
        let div = if m32 != 0.0 { f64::from(m32) } else { 1.0 };
        (m2.sqrt() / div) as f32
    } else {
        0.0
    };
    (m32, sd)
}

/// Percentile with linear interpolation on an ascending-sorted slice.
pub(crate) fn percentile(sorted: &[f32], p: f64) -> f32 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    let idx = p * (n - 1) as f64;
    let i1 = (idx.floor() as usize).min(n - 1);
    let i2 = (idx.ceil() as usize).min(n - 1);
    if i1 != i2 {
        sorted[i1] * (i2 as f64 - idx) as f32 + sorted[i2] * (idx - i1 as f64) as f32
    } else {
        sorted[i1]
    }
}

/// Results of the Peaks2 functional.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Peaks {
    pub peaks_per_sec: f32,
    pub mean_rise: f32,
    pub sd_rise: f32,
    pub mean_fall: f32,
    pub sd_fall: f32,
}

#[derive(Clone, Copy)]
struct Extremum {
    is_max: bool,
    y: f32,
    pos: usize,
}

/// openSMILE's Peaks2 (spec §7.1): extremum list with three pruning passes,
/// then rising/falling slopes.
pub(crate) fn peaks2(x: &[f32]) -> Peaks {
    let n = x.len();
    if n == 0 {
        return Peaks::default();
    }
    let (mn, mx) = x
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let thr = 0.1f32 * (mx - mn);
    let below = |d: f32| d < thr;
    let mut list: Vec<Extremum> = Vec::new();
    for i in 2..n.saturating_sub(2) {
        if x[i] > x[i - 1] && x[i] > x[i + 1] {
            list.push(Extremum {
                is_max: true,
                y: x[i],
                pos: i,
            });
        } else if x[i] < x[i - 1] && x[i] < x[i + 1] {
            list.push(Extremum {
                is_max: false,
                y: x[i],
                pos: i,
            });
        }
    }
    // Pass 1.
    let mut removed = vec![false; list.len()];
    let (mut last_val, mut last_min, mut last_max) = (x[0], x[0], x[0]);
    let mut min_flag = false;
    let mut last_max_el: Option<usize> = None;
    for (k, el) in list.iter().enumerate() {
        if el.is_max {
            if below((el.y - last_val).abs()) {
                if below(el.y - last_min) {
                    removed[k] = true;
                } else {
                    if el.y > last_max * 1.05 {
                        if let Some(p) = last_max_el {
                            removed[p] = true;
                        }
                        last_max = el.y;
                        last_max_el = Some(k);
                    } else if min_flag {
                        last_max = el.y;
                        last_max_el = Some(k);
                    } else {
                        removed[k] = true;
                    }
                    min_flag = false;
                }
            } else {
                min_flag = false;
                last_max = el.y;
                last_max_el = Some(k);
            }
        } else if !below((el.y - last_val).abs()) {
            min_flag = true;
            last_min = el.y;
        }
        last_val = el.y;
    }
    let list: Vec<Extremum> = list
        .into_iter()
        .zip(removed)
        .filter(|(_, r)| !r)
        .map(|(e, _)| e)
        .collect();
    // Pass 2: minima not deep enough below the preceding maximum.
    let mut last_max = x[0];
    let mut l2 = Vec::with_capacity(list.len());
    for el in list {
        if !el.is_max {
            if below(last_max - el.y) {
                continue;
            }
        } else {
            last_max = el.y;
        }
        l2.push(el);
    }
    // Pass 3: alternation.
    let mut out: Vec<Extremum> = Vec::with_capacity(l2.len());
    let mut min_flag = false;
    let mut init = true;
    let (mut last_min, mut last_max) = (x[0], x[0]);
    let mut last_min_idx: Option<usize> = None;
    let mut last_max_idx: Option<usize> = None;
    for el in l2 {
        if !el.is_max {
            if !min_flag || init {
                last_min = el.y;
                min_flag = true;
                init = false;
                out.push(el);
                last_min_idx = Some(out.len() - 1);
            } else {
                if el.y >= last_min {
                    continue;
                }
                if let Some(i) = last_min_idx {
                    out[i] = el;
                }
                last_min = el.y;
            }
        } else if min_flag || init {
            last_max = el.y;
            min_flag = false;
            init = false;
            out.push(el);
            last_max_idx = Some(out.len() - 1);
        } else {
            if el.y <= last_max {
                continue;
            }
            if let Some(i) = last_max_idx {
                out[i] = el;
            }
            last_max = el.y;
        }
    }
    let num_peaks = out.iter().filter(|e| e.is_max).count();
    // Slopes.
    let mut rises: Vec<f32> = Vec::new();
    let mut falls: Vec<f32> = Vec::new();
    let (mut lmax, mut lmax_pos, mut lmin, mut lmin_pos) = (x[0], 0usize, x[0], 0usize);
    let mut last_is_max: i8 = -1;
    for el in &out {
        if !el.is_max {
            lmin = el.y;
            lmin_pos = el.pos;
            if lmin_pos > lmax_pos {
                falls.push((lmax - lmin) / ((lmin_pos - lmax_pos) as f32 * T));
                last_is_max = 0;
            }
        } else {
            lmax = el.y;
            lmax_pos = el.pos;
            if lmax_pos > lmin_pos {
                rises.push((lmax - lmin) / ((lmax_pos - lmin_pos) as f32 * T));
                last_is_max = 1;
            }
        }
    }
    let (n_rise_sd, n_fall_sd) = (rises.len(), falls.len());
    if last_is_max == 1 && n - 1 > lmax_pos {
        falls.push((x[n - 1] - lmax) / ((n - 1 - lmax_pos) as f32 * T));
    } else if last_is_max == 0 && n - 1 > lmin_pos {
        rises.push((x[n - 1] - lmin) / ((n - 1 - lmin_pos) as f32 * T));
    } else if last_is_max == -1 {
        let s = (x[n - 1] - x[0]) / n as f32;
        if s > 0.0 {
            rises = vec![s];
        } else if s < 0.0 {
            falls = vec![s];
        }
    }
    let mean = |v: &[f32]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().map(|&a| f64::from(a)).sum::<f64>() / v.len() as f64
        }
    };
    let sd = |v: &[f32], n_sd: usize, m: f64| {
        let count = v.len();
        if count == 0 {
            return 0.0;
        }
        let n_sd = n_sd.min(count);
        let mut s: f64 = v[..n_sd].iter().map(|&a| (f64::from(a) - m).powi(2)).sum();
        if count > 1 {
            s /= count as f64;
        }
        if s > 0.0 { s.sqrt() } else { 0.0 }
    };
    let mr = mean(&rises);
    let mf = mean(&falls);
    // The no-extremum slope replaces the list, so no sd terms for it.
    let (nr, nf) = if last_is_max == -1 {
        (0, 0)
    } else {
        (n_rise_sd, n_fall_sd)
    };
    Peaks {
        peaks_per_sec: num_peaks as f32 / (n as f32 * T),
        mean_rise: mr as f32,
        sd_rise: sd(&rises, nr, mr) as f32,
        mean_fall: mf as f32,
        sd_fall: sd(&falls, nf, mf) as f32,
    }
}

/// Segment lengths (frames) of voiced (`want_zero = false`) or unvoiced
/// (`want_zero = true`) runs with openSMILE's 3-frame / 2-frame hysteresis.
pub(crate) fn segments(x: &[f32], want_zero: bool) -> Vec<usize> {
    const SEG_MIN: usize = 3;
    const PAUSE_MIN: usize = 2;
    let mut segs = Vec::new();
    let (mut start, mut state, mut cs, mut ce) = (0usize, 0u8, 0usize, 0usize);
    let n = x.len();
    for (i, &v) in x.iter().enumerate() {
        let inside = if want_zero { v == 0.0 } else { v != 0.0 };
        if inside {
            match state {
                1 => {
                    ce = 0;
                    cs += 1;
                    if cs >= SEG_MIN {
                        cs = 0;
                        state = 2;
                    }
                }
                0 => {
                    cs += 1;
                    start = i;
                    state = 1;
                }
                _ => ce = 0,
            }
        } else if state == 2 {
            cs = 0;
            ce += 1;
            if ce >= PAUSE_MIN {
                state = 0;
                segs.push((i - ce).saturating_sub(start));
                ce = 0;
            }
        } else if state == 1 {
            ce += 1;
            if ce >= PAUSE_MIN {
                state = 0;
                ce = 0;
                cs = 0;
            }
        }
    }
    if state == 2 {
        ce += 1;
        segs.push((n - ce).saturating_sub(start));
    }
    segs
}

/// (segments per second, mean length s, stddev length s) over `n` frames.
pub(crate) fn segment_stats(segs: &[usize], n: usize) -> (f32, f32, f32) {
    let k = segs.len();
    if k == 0 || n == 0 {
        return (0.0, 0.0, 0.0);
    }
    let mean = segs.iter().sum::<usize>() as f64 / k as f64;
    let sd = if k > 1 {
        (segs.iter().map(|&s| (s as f64 - mean).powi(2)).sum::<f64>() / k as f64).sqrt()
    } else {
        0.0
    };
    let t = f64::from(T);
    (
        (k as f64 / (n as f64 * t)) as f32,
        (mean * t) as f32,
        (sd * t) as f32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sma3nz_keeps_zeros() {
        let y = sma3nz(&[0.0, 3.0, 6.0, 0.0]);
        assert_eq!(y, vec![0.0, 4.5, 4.5, 0.0]);
    }

    #[test]
    fn percentiles_interpolate() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&s, 0.5), 3.0);
        assert!((percentile(&s, 0.2) - 1.8).abs() < 1e-6);
    }

    #[test]
    fn segment_lengths_are_one_frame_short() {
        let mut x = vec![1.0f32; 10];
        x.extend(vec![0.0; 5]);
        assert_eq!(segments(&x, false), vec![9]);
    }
}
