//! F0 candidates by sub-harmonic summation on an octave-scale spectrum
//! (spec §4.1).

pub(crate) const NUM_CANDIDATES: usize = 6;
const NUM_HARMONICS: usize = 15;
const COMPRESSION: f64 = 0.85;
const MIN_F: f64 = 25.0;
const MIN_PITCH: f64 = 55.0;
const MAX_PITCH: f64 = 1000.0;

/// Up to six (frequency, voicing) candidates; empty slots are (0, 0).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Candidates {
    pub freq: [f64; NUM_CANDIDATES],
    pub voicing: [f64; NUM_CANDIDATES],
}

/// Precomputed octave-scale spline and SHS tables for one spectrum size.
pub(crate) struct ShsAnalyzer {
    n: usize,
    /// Source abscissae log2(f) of the linear bins.
    src_x: Vec<f64>,
    /// Natural-spline elimination factors (depend only on the abscissae).
    sig: Vec<f64>,
    inv_p: Vec<f64>,
    /// For each output point: upper source index k and interpolation weights.
    eval: Vec<(usize, f64, f64, f64)>,
    weights: Vec<f64>,
    shifts: [usize; NUM_HARMONICS],
    lo: f64,
    step: f64,
    // scratch
    y: Vec<f64>,
    y2: Vec<f64>,
    u: Vec<f64>,
    oct: Vec<f64>,
    ss: Vec<f64>,
}

impl ShsAnalyzer {
    pub fn new(bins: usize, df: f64) -> Self {
        let n = bins;
        let mut src_x = vec![0.0; n];
        for (i, x) in src_x.iter_mut().enumerate().skip(1) {
            *x = (i as f64 * df).log2();
        }
        src_x[0] = 2.0 * src_x[1] - src_x[2];
        let mut sig = vec![0.0; n];
        let mut inv_p = vec![0.0; n];
        let mut y2 = vec![0.0; n];
        for i in 1..n - 1 {
            let s = (src_x[i] - src_x[i - 1]) / (src_x[i + 1] - src_x[i - 1]);
            let p = s * y2[i - 1] + 2.0;
            y2[i] = (s - 1.0) / p;
            sig[i] = s;
            inv_p[i] = 1.0 / p;
        }
        let max_f = df * (n - 1) as f64;
        let lo = MIN_F.log2();
        let hi = max_f.log2();
        let step = (hi - lo) / (n - 1) as f64;
        let eval = (0..n)
            .map(|j| {
                let x = lo + j as f64 * step;
                // first k with src_x[k] >= x, clipped to 1..n-1
                let k = src_x.partition_point(|&v| v < x).clamp(1, n - 1);
                let h = src_x[k] - src_x[k - 1];
                let a = (src_x[k] - x) / h;
                (k, a, 1.0 - a, h)
            })
            .collect();
        let ppo = n as f64 / (max_f / MIN_F).log2();
        let s = ppo * (65.0f64 / 50.0).log2() - 1.0;
        let weights = (0..n)
            .map(|j| 0.5 + (3.0 * (j as f64 + 1.0 - s) / ppo).atan() / std::f64::consts::PI)
            .collect();
        let ppo32 = f64::from(ppo as f32);
        let shifts = std::array::from_fn(|h| (ppo32 * ((h + 1) as f64).log2()).floor() as usize);
        Self {
            n,
            src_x,
            sig,
            inv_p,
            eval,
            weights,
            shifts,
            lo,
            step,
            y: vec![0.0; n],
            y2,
            u: vec![0.0; n],
            oct: vec![0.0; n],
            ss: vec![0.0; n],
        }
    }

    pub fn process(&mut self, mag: &[f64]) -> Candidates {
        let n = self.n;
        self.peak_enhance_and_smooth(mag);
        self.octave_scale();
        // Sub-harmonic summation.
        let ss = &mut self.ss;
        ss.copy_from_slice(&self.oct);
        let mut w = COMPRESSION;
        for &sh in &self.shifts[1..] {
            if sh < n {
                for (d, s) in ss[..n - sh].iter_mut().zip(&self.oct[sh..]) {
                    *d += s * w;
                }
            }
            w *= COMPRESSION;
        }
        let mut mean = 0.0;
        for v in ss.iter_mut() {
            *v = (*v / NUM_HARMONICS as f64).max(0.0);
            mean += *v;
        }
        mean /= n as f64;

        // Greedy top-6 strict local maxima by score (ties keep the earlier peak).
        let mut top: [(f64, usize); NUM_CANDIDATES] = [(f64::NEG_INFINITY, 0); NUM_CANDIDATES];
        let mut count = 0;
        for i in 1..n - 1 {
            let v = ss[i];
            if ss[i - 1] < v && v > ss[i + 1] {
                let pos = top[..count].iter().position(|t| v > t.0).unwrap_or(count);
                if pos < NUM_CANDIDATES {
                    let end = count.min(NUM_CANDIDATES - 1);
                    for q in (pos..end).rev() {
                        top[q + 1] = top[q];
                    }
                    top[pos] = (v, i);
                    count = (count + 1).min(NUM_CANDIDATES);
                }
            }
        }
        let mut list: [(f64, f64, f64); NUM_CANDIDATES] = [(0.0, 0.0, 0.0); NUM_CANDIDATES];
        let mut kept = 0;
        for &(_, i) in &top[..count] {
            let x1 = self.lo + (i - 1) as f64 * self.step;
            let x2 = self.lo + i as f64 * self.step;
            let x3 = self.lo + (i + 1) as f64 * self.step;
            let (xp, yp) = parabola_vertex(x1, x2, x3, ss[i - 1], ss[i], ss[i + 1]);
            let f = xp.exp2();
            let v = if yp > 0.0 && yp > mean {
                1.0 - mean / yp
            } else {
                0.0
            };
            if (MIN_PITCH..=MAX_PITCH).contains(&f) {
                list[kept] = (f, v, yp);
                kept += 1;
            }
        }
        if kept > 0 {
            let mut best = 0;
            for k in 1..kept {
                if list[k].2 > list[best].2 {
                    best = k;
                }
            }
            list.swap(0, best);
        }
        let mut c = Candidates::default();
        for k in 0..kept {
            c.freq[k] = list[k].0;
            c.voicing[k] = list[k].1;
        }
        c
    }

    fn peak_enhance_and_smooth(&mut self, mag: &[f64]) {
        let n = self.n;
        let y = &mut self.y;
        y.copy_from_slice(&mag[..n]);
        // Keep +-2 bins around local maxima; zero the valleys between maxima.
        let is_max = |i: usize| -> bool {
            if i == 0 {
                mag[0] > mag[1]
            } else if i == n - 1 {
                mag[n - 1] > mag[n - 2]
            } else {
                mag[i] > mag[i - 1] && mag[i] >= mag[i + 1]
            }
        };
        let mut prev: Option<usize> = None;
        let mut num_peaks = 0;
        for i in 0..n {
            if is_max(i) {
                num_peaks += 1;
                if let Some(p) = prev {
                    let a = p + 3;
                    let b = i.saturating_sub(2);
                    if a < b {
                        y[a..b].iter_mut().for_each(|v| *v = 0.0);
                    }
                }
                prev = Some(i);
            }
        }
        if num_peaks == 1 {
            y[3.min(n)..].iter_mut().for_each(|v| *v = 0.0);
        }
        // [1,2,1]/4 smoothing with original neighbours; last bin unchanged.
        let mut left = 0.0;
        for i in 0..n - 1 {
            let cur = y[i];
            y[i] = (left + 2.0 * cur + y[i + 1]) / 4.0;
            left = cur;
        }
    }

    fn octave_scale(&mut self) {
        let n = self.n;
        let (x, y, y2, u) = (&self.src_x, &self.y, &mut self.y2, &mut self.u);
        u[0] = 0.0;
        for i in 1..n - 1 {
            let d = (y[i + 1] - y[i]) / (x[i + 1] - x[i]) - (y[i] - y[i - 1]) / (x[i] - x[i - 1]);
            u[i] = (6.0 * d / (x[i + 1] - x[i - 1]) - self.sig[i] * u[i - 1]) * self.inv_p[i];
        }
        // Back substitution sol[k] = fac[k] * sol[k+1] + u[k], where the
        // x-only factors fac = (sig-1)/p were stored in `y2` by `new`.
        let mut next = 0.0;
        let fac = &*y2;
        let out = &mut self.ss; // temporary storage for the second derivatives
        out[n - 1] = 0.0;
        for k in (0..n - 1).rev() {
            next = fac[k] * next + u[k];
            out[k] = next;
        }
        for (j, &(k, a, b, h)) in self.eval.iter().enumerate() {
            let v = a * y[k - 1]
                + b * y[k]
                + ((a * a * a - a) * out[k - 1] + (b * b * b - b) * out[k]) * h * h / 6.0;
            self.oct[j] = if v > 0.0 { v * self.weights[j] } else { 0.0 };
        }
    }
}

/// Vertex (x, y) of the parabola through three points.
pub(crate) fn parabola_vertex(x1: f64, x2: f64, x3: f64, y1: f64, y2: f64, y3: f64) -> (f64, f64) {
    let den =
        x1 * x1 * x2 + x2 * x2 * x3 + x3 * x3 * x1 - x3 * x3 * x2 - x2 * x2 * x1 - x1 * x1 * x3;
    if den == 0.0 {
        return (x2, y2);
    }
    let a = (y1 * x2 + y2 * x3 + y3 * x1 - y3 * x2 - y2 * x1 - y1 * x3) / den;
    let b =
        (x1 * x1 * y2 + x2 * x2 * y3 + x3 * x3 * y1 - x3 * x3 * y2 - x2 * x2 * y1 - x1 * x1 * y3)
            / den;
    let c = (x1 * x1 * x2 * y3 + x2 * x2 * x3 * y1 + x3 * x3 * x1 * y2
        - x3 * x3 * x2 * y1
        - x2 * x2 * x1 * y3
        - x1 * x1 * x3 * y2)
        / den;
    if a == 0.0 {
        return (x2, y2);
    }
    let xp = -b / (2.0 * a);
    (xp, c - a * xp * xp)
}
