//! Jitter (local) and shimmer (local, dB) by time-domain period tracking on the
//! raw waveform, driven by the smoothed F0 (spec §4.4).

const SEARCH_REL: f64 = 0.10;
const MIN_CC: f64 = 0.5;

/// Tracker state carried across pitch frames.
pub(crate) struct JitterTracker {
    sample_rate: f64,
    hop: usize,
    frame_len: usize,
    /// Absolute sample index where the next read starts.
    pub last_idx: usize,
    last_mis: usize,
    last_t0: f64,
    last_jitter: f64,
    last_shimmer: f64,
    cc: Vec<f64>,
}

impl JitterTracker {
    pub fn new(sample_rate: f64, hop: usize, frame_len: usize) -> Self {
        Self {
            sample_rate,
            hop,
            frame_len,
            last_idx: 0,
            last_mis: 0,
            last_t0: 0.0,
            last_jitter: 0.0,
            last_shimmer: 0.0,
            cc: Vec::new(),
        }
    }

    /// Processes pitch frame `index` with gated F0 `f0` (Hz, 0 = unvoiced).
    /// `signal(a, b)` returns the samples `a..b` (absolute indices; may be
    /// shorter at the end of the input). Returns (jitterLocal, shimmerLocaldB).
    pub fn process<'a>(
        &mut self,
        index: usize,
        f0: f64,
        signal: impl Fn(usize, usize) -> &'a [f64],
    ) -> (f64, f64) {
        let s0 = index * self.hop;
        if f0 <= 0.0 {
            self.last_t0 = 0.0;
            self.last_jitter = 0.0;
            self.last_shimmer = 0.0;
            self.last_idx += self.hop + self.last_mis;
            self.last_mis = 0;
            return (0.0, 0.0);
        }
        let tf = self.sample_rate / f0;
        let t0f = tf.round().max(1.0) as usize;
        let lag_min = (tf * (1.0 - SEARCH_REL)).floor().max(1.0) as usize;
        let lag_max = (tf * (1.0 + SEARCH_REL)).ceil() as usize;
        let need = 2 * lag_max + 2;
        let (read_start, cap) = if s0 >= self.last_mis && s0 - self.last_mis == self.last_idx {
            (self.last_idx, self.last_mis + self.frame_len)
        } else {
            self.last_mis = 0;
            (s0, self.frame_len)
        };
        let consumed = self.hop + self.last_mis;
        let to_read = consumed.max(need).min(cap);
        let x = signal(read_start, read_start + to_read);
        let n = x.len();

        let (mut sum_p, mut n_p) = (0.0, 0usize);
        let (mut sum_dp, mut n_dp) = (0.0, 0usize);
        let (mut sum_a, mut sum_da) = (0.0, 0.0);
        let mut start = 0usize;
        let mut resume = 0usize;
        let range = lag_max - lag_min + 1;
        while n > 2 * lag_max + 1 && start < n - 2 * lag_max - 1 {
            self.cc.clear();
            for lag in lag_min..=lag_max {
                self.cc.push(pearson(
                    &x[start..start + lag],
                    &x[start + lag..start + 2 * lag],
                ));
            }
            let mut best: Option<usize> = None;
            // openSMILE never takes the last two lags as the peak.
            for k in 1..range.saturating_sub(2) {
                let c = self.cc[k];
                if c > self.cc[k - 1] && c > self.cc[k + 1] && best.is_none_or(|b| c > self.cc[b]) {
                    best = Some(k);
                }
            }
            let Some(k) = best else {
                start += t0f;
                if start + 1 < consumed {
                    resume = start;
                }
                continue;
            };
            let (vx, vy) = crate::shs::parabola_vertex(
                -1.0,
                0.0,
                1.0,
                self.cc[k - 1],
                self.cc[k],
                self.cc[k + 1],
            );
            let lag = lag_min + k;
            let period = (lag as f64 + vx) / self.sample_rate;
            if vy > MIN_CC {
                let a0 = peak_to_peak(&x[start..start + lag]);
                let a1 = peak_to_peak(&x[start + lag..start + 2 * lag]);
                sum_p += period;
                n_p += 1;
                if self.last_t0 > 0.0 {
                    sum_dp += (self.last_t0 - period).abs();
                    n_dp += 1;
                }
                sum_a += (a0 + a1) / 2.0;
                sum_da += (a0 - a1).abs();
                self.last_t0 = period;
            }
            start += lag;
            if start + 1 < consumed {
                resume = start;
            }
        }
        // The next read starts at the last period start the walk reached
        // before the end of this frame's new samples (consumed - 1); a period
        // longer than that is analysed again by the next frame.
        let new_idx = resume;
        self.last_idx = read_start + new_idx;
        self.last_mis = consumed - new_idx;

        if n_p == 0 {
            return (self.last_jitter, self.last_shimmer);
        }
        let jitter = if n_dp > 0 {
            ((sum_dp / n_dp as f64) / (sum_p / n_p as f64)).min(1.0)
        } else {
            0.0
        };
        let shimmer = if sum_a > 0.0 {
            20.0 * (1.0 + (sum_da / sum_a).min(1.0)).log10()
        } else {
            0.0
        };
        self.last_jitter = jitter;
        self.last_shimmer = shimmer;
        (jitter, shimmer)
    }
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    let d = (saa * sbb).sqrt();
    if d > 0.0 { sab / d } else { 0.0 }
}

/// max − min ignoring the first and last sample.
fn peak_to_peak(x: &[f64]) -> f64 {
    if x.len() < 3 {
        return 0.0;
    }
    let inner = &x[1..x.len() - 1];
    let mx = inner.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let mn = inner.iter().fold(f64::INFINITY, |a, &b| a.min(b));
    mx - mn
}
