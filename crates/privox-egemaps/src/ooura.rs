//! Single-precision forward real DFT with the operation order of Takuya
//! Ooura's split-radix FFT package (`fftsg.c`, "rdft"), which openSMILE
//! compiles with `float` data and twiddle tables.
//!
//! Ooura's package: <http://www.kurims.kyoto-u.ac.jp/~ooura/fft.html>,
//! Copyright Takuya OOURA, 1996-2001, "You may use, copy, modify and
//! distribute this code for any purpose (include commercial use) and without
//! fee. Please refer to this package when you modify this code." This module
//! is a Rust re-implementation of the forward path of its `rdft` (table
//! set-up, radix-4 first stage, recursive/leaf butterflies, real-split post
//! processing); the bit reversal is done with a plain permutation table, which
//! moves the same values.
//!
//! Why it exists: the formant branch solves an ill-conditioned order-11 LPC
//! problem, and a correctly rounded float32 spectrum still differs from
//! openSMILE's by a few ulps, which is enough to change LPC coefficients by
//! several percent in some frames. Reproducing the same float32 rounding
//! sequence makes the spectrum (and everything downstream) bit-identical.
//! Each arithmetic statement below rounds to f32 exactly like the C code
//! (Rust never fuses multiply-adds on its own).

/// Planned forward real DFT of length `n` (a power of two, ≥ 16).
pub(crate) struct OouraRdft {
    n: usize,
    /// Complex twiddles (`nw = n/4` entries), Ooura's `w[0..nw]`.
    w: Vec<f32>,
    /// Real-split cosine table (`nc = n/4` entries), Ooura's `w[nw..]`.
    c: Vec<f32>,
    /// Bit-reversal permutation of the `n/2` complex elements.
    perm: Vec<usize>,
}

impl OouraRdft {
    /// Returns `None` unless `n` is a power of two ≥ 16.
    pub fn new(n: usize) -> Option<Self> {
        if n < 16 || !n.is_power_of_two() {
            return None;
        }
        let nw = n >> 2;
        let nc = n >> 2;
        let half = n / 2;
        let bits = half.trailing_zeros();
        let perm = (0..half)
            .map(|i| i.reverse_bits() >> (usize::BITS - bits))
            .collect();
        Some(Self {
            n,
            w: make_wt(nw),
            c: make_ct(nc),
            perm,
        })
    }

    /// In-place forward transform of `a` (length `n`). Output layout (Ooura):
    /// `a[0] = R0`, `a[1] = R(n/2)`, `a[2k] = Σ x_j cos(2πjk/n)`,
    /// `a[2k+1] = Σ x_j sin(2πjk/n)`.
    pub fn forward(&self, a: &mut [f32]) {
        let n = self.n;
        let a = &mut a[..n];
        let nw = self.w.len();
        if n > 4 {
            self.cft_fsub(a, nw);
            rft_fsub(a, &self.c);
        } else if n == 4 {
            self.cft_fsub(a, nw);
        }
        let xi = a[0] - a[1];
        a[0] += a[1];
        a[1] = xi;
    }

    fn cft_fsub(&self, a: &mut [f32], nw: usize) {
        let n = a.len();
        let w = &self.w;
        if n > 32 {
            cft_f1st(a, &w[nw - (n >> 2)..]);
            if n > 512 {
                cft_rec4(a, nw, w);
            } else if n > 128 {
                cft_leaf(n, true, a, nw, w);
            } else {
                cft_fx41(n, a, nw, w);
            }
        } else if n == 32 {
            cft_f161(a, &w[nw - 8..]);
        } else {
            cft_f081(a, w);
        }
        self.bit_reverse(a);
    }

    fn bit_reverse(&self, a: &mut [f32]) {
        for (i, &j) in self.perm.iter().enumerate() {
            if i < j {
                a.swap(2 * i, 2 * j);
                a.swap(2 * i + 1, 2 * j + 1);
            }
        }
    }
}

/// Ooura's `makewt` with openSMILE's float types: the angle step is a float,
/// products `delta * j` are formed in float, the trigonometry in double.
fn make_wt(nw: usize) -> Vec<f32> {
    let mut w = vec![0f32; nw.max(2)];
    if nw <= 2 {
        w[0] = 1.0;
        return w;
    }
    let mut nwh = nw >> 1;
    let delta = (1.0f64.atan() as f32) / nwh as f32;
    let wn4r = f64::from(delta * nwh as f32).cos() as f32;
    w[0] = 1.0;
    w[1] = wn4r;
    if nwh == 4 {
        w[2] = f64::from(delta * 2.0).cos() as f32;
        w[3] = f64::from(delta * 2.0).sin() as f32;
    } else if nwh > 4 {
        w[2] = (0.5 / f64::from(delta * 2.0).cos()) as f32;
        w[3] = (0.5 / f64::from(delta * 6.0).cos()) as f32;
        let mut j = 4;
        while j < nwh {
            let dj = f64::from(delta * j as f32);
            let d3j = f64::from(3.0 * delta * j as f32);
            w[j] = dj.cos() as f32;
            w[j + 1] = dj.sin() as f32;
            w[j + 2] = d3j.cos() as f32;
            w[j + 3] = (-d3j.sin()) as f32;
            j += 4;
        }
    }
    let mut nw0 = 0;
    while nwh > 2 {
        let nw1 = nw0 + nwh;
        nwh >>= 1;
        w[nw1] = 1.0;
        w[nw1 + 1] = wn4r;
        if nwh == 4 {
            w[nw1 + 2] = w[nw0 + 4];
            w[nw1 + 3] = w[nw0 + 5];
        } else if nwh > 4 {
            w[nw1 + 2] = 0.5 / w[nw0 + 4];
            w[nw1 + 3] = 0.5 / w[nw0 + 6];
            let mut j = 4;
            while j < nwh {
                w[nw1 + j] = w[nw0 + 2 * j];
                w[nw1 + j + 1] = w[nw0 + 2 * j + 1];
                w[nw1 + j + 2] = w[nw0 + 2 * j + 2];
                w[nw1 + j + 3] = w[nw0 + 2 * j + 3];
                j += 4;
            }
        }
        nw0 = nw1;
    }
    w
}

/// Ooura's `makect` with openSMILE's float types.
fn make_ct(nc: usize) -> Vec<f32> {
    let mut c = vec![0f32; nc.max(1)];
    if nc > 1 {
        let nch = nc >> 1;
        let delta = (1.0f64.atan() as f32) / nch as f32;
        c[0] = f64::from(delta * nch as f32).cos() as f32;
        c[nch] = 0.5 * c[0];
        for j in 1..nch {
            let dj = f64::from(delta * j as f32);
            c[j] = (0.5 * dj.cos()) as f32;
            c[nc - j] = (0.5 * dj.sin()) as f32;
        }
    }
    c
}

/// Real-split post-processing (`rftfsub`).
fn rft_fsub(a: &mut [f32], c: &[f32]) {
    let n = a.len();
    let nc = c.len();
    let m = n >> 1;
    let ks = 2 * nc / m;
    let mut kk = 0;
    let mut j = 2;
    while j < m {
        let k = n - j;
        kk += ks;
        let wkr = 0.5 - c[nc - kk];
        let wki = c[kk];
        let xr = a[j] - a[k];
        let xi = a[j + 1] + a[k + 1];
        let yr = wkr * xr - wki * xi;
        let yi = wkr * xi + wki * xr;
        a[j] -= yr;
        a[j + 1] -= yi;
        a[k] += yr;
        a[k + 1] -= yi;
        j += 2;
    }
}

/// First radix-4 stage over the whole array (`cftf1st`).
fn cft_f1st(a: &mut [f32], w: &[f32]) {
    let n = a.len();
    let mh = n >> 3;
    let m = 2 * mh;
    let (mut j1, mut j2, mut j3) = (m, 2 * m, 3 * m);
    let x0r = a[0] + a[j2];
    let x0i = a[1] + a[j2 + 1];
    let x1r = a[0] - a[j2];
    let x1i = a[1] - a[j2 + 1];
    let x2r = a[j1] + a[j3];
    let x2i = a[j1 + 1] + a[j3 + 1];
    let x3r = a[j1] - a[j3];
    let x3i = a[j1 + 1] - a[j3 + 1];
    a[0] = x0r + x2r;
    a[1] = x0i + x2i;
    a[j1] = x0r - x2r;
    a[j1 + 1] = x0i - x2i;
    a[j2] = x1r - x3i;
    a[j2 + 1] = x1i + x3r;
    a[j3] = x1r + x3i;
    a[j3 + 1] = x1i - x3r;
    let wn4r = w[1];
    let csc1 = w[2];
    let csc3 = w[3];
    let (mut wd1r, mut wd1i, mut wd3r, mut wd3i) = (1f32, 0f32, 1f32, 0f32);
    let mut k = 0;
    let mut j = 2;
    while j + 2 < mh {
        k += 4;
        let wk1r = csc1 * (wd1r + w[k]);
        let wk1i = csc1 * (wd1i + w[k + 1]);
        let wk3r = csc3 * (wd3r + w[k + 2]);
        let wk3i = csc3 * (wd3i + w[k + 3]);
        wd1r = w[k];
        wd1i = w[k + 1];
        wd3r = w[k + 2];
        wd3i = w[k + 3];
        j1 = j + m;
        j2 = j1 + m;
        j3 = j2 + m;
        let x0r = a[j] + a[j2];
        let x0i = a[j + 1] + a[j2 + 1];
        let x1r = a[j] - a[j2];
        let x1i = a[j + 1] - a[j2 + 1];
        let y0r = a[j + 2] + a[j2 + 2];
        let y0i = a[j + 3] + a[j2 + 3];
        let y1r = a[j + 2] - a[j2 + 2];
        let y1i = a[j + 3] - a[j2 + 3];
        let x2r = a[j1] + a[j3];
        let x2i = a[j1 + 1] + a[j3 + 1];
        let x3r = a[j1] - a[j3];
        let x3i = a[j1 + 1] - a[j3 + 1];
        let y2r = a[j1 + 2] + a[j3 + 2];
        let y2i = a[j1 + 3] + a[j3 + 3];
        let y3r = a[j1 + 2] - a[j3 + 2];
        let y3i = a[j1 + 3] - a[j3 + 3];
        a[j] = x0r + x2r;
        a[j + 1] = x0i + x2i;
        a[j + 2] = y0r + y2r;
        a[j + 3] = y0i + y2i;
        a[j1] = x0r - x2r;
        a[j1 + 1] = x0i - x2i;
        a[j1 + 2] = y0r - y2r;
        a[j1 + 3] = y0i - y2i;
        let (x0r, x0i) = (x1r - x3i, x1i + x3r);
        a[j2] = wk1r * x0r - wk1i * x0i;
        a[j2 + 1] = wk1r * x0i + wk1i * x0r;
        let (x0r, x0i) = (y1r - y3i, y1i + y3r);
        a[j2 + 2] = wd1r * x0r - wd1i * x0i;
        a[j2 + 3] = wd1r * x0i + wd1i * x0r;
        let (x0r, x0i) = (x1r + x3i, x1i - x3r);
        a[j3] = wk3r * x0r + wk3i * x0i;
        a[j3 + 1] = wk3r * x0i - wk3i * x0r;
        let (x0r, x0i) = (y1r + y3i, y1i - y3r);
        a[j3 + 2] = wd3r * x0r + wd3i * x0i;
        a[j3 + 3] = wd3r * x0i - wd3i * x0r;
        let j0 = m - j;
        j1 = j0 + m;
        j2 = j1 + m;
        j3 = j2 + m;
        let x0r = a[j0] + a[j2];
        let x0i = a[j0 + 1] + a[j2 + 1];
        let x1r = a[j0] - a[j2];
        let x1i = a[j0 + 1] - a[j2 + 1];
        let y0r = a[j0 - 2] + a[j2 - 2];
        let y0i = a[j0 - 1] + a[j2 - 1];
        let y1r = a[j0 - 2] - a[j2 - 2];
        let y1i = a[j0 - 1] - a[j2 - 1];
        let x2r = a[j1] + a[j3];
        let x2i = a[j1 + 1] + a[j3 + 1];
        let x3r = a[j1] - a[j3];
        let x3i = a[j1 + 1] - a[j3 + 1];
        let y2r = a[j1 - 2] + a[j3 - 2];
        let y2i = a[j1 - 1] + a[j3 - 1];
        let y3r = a[j1 - 2] - a[j3 - 2];
        let y3i = a[j1 - 1] - a[j3 - 1];
        a[j0] = x0r + x2r;
        a[j0 + 1] = x0i + x2i;
        a[j0 - 2] = y0r + y2r;
        a[j0 - 1] = y0i + y2i;
        a[j1] = x0r - x2r;
        a[j1 + 1] = x0i - x2i;
        a[j1 - 2] = y0r - y2r;
        a[j1 - 1] = y0i - y2i;
        let (x0r, x0i) = (x1r - x3i, x1i + x3r);
        a[j2] = wk1i * x0r - wk1r * x0i;
        a[j2 + 1] = wk1i * x0i + wk1r * x0r;
        let (x0r, x0i) = (y1r - y3i, y1i + y3r);
        a[j2 - 2] = wd1i * x0r - wd1r * x0i;
        a[j2 - 1] = wd1i * x0i + wd1r * x0r;
        let (x0r, x0i) = (x1r + x3i, x1i - x3r);
        a[j3] = wk3i * x0r + wk3r * x0i;
        a[j3 + 1] = wk3i * x0i - wk3r * x0r;
        let (x0r, x0i) = (y1r + y3i, y1i - y3r);
        a[j3 - 2] = wd3i * x0r + wd3r * x0i;
        a[j3 - 1] = wd3i * x0i - wd3r * x0r;
        j += 4;
    }
    let wk1r = csc1 * (wd1r + wn4r);
    let wk1i = csc1 * (wd1i + wn4r);
    let wk3r = csc3 * (wd3r - wn4r);
    let wk3i = csc3 * (wd3i - wn4r);
    let j0 = mh;
    j1 = j0 + m;
    j2 = j1 + m;
    j3 = j2 + m;
    let x0r = a[j0 - 2] + a[j2 - 2];
    let x0i = a[j0 - 1] + a[j2 - 1];
    let x1r = a[j0 - 2] - a[j2 - 2];
    let x1i = a[j0 - 1] - a[j2 - 1];
    let x2r = a[j1 - 2] + a[j3 - 2];
    let x2i = a[j1 - 1] + a[j3 - 1];
    let x3r = a[j1 - 2] - a[j3 - 2];
    let x3i = a[j1 - 1] - a[j3 - 1];
    a[j0 - 2] = x0r + x2r;
    a[j0 - 1] = x0i + x2i;
    a[j1 - 2] = x0r - x2r;
    a[j1 - 1] = x0i - x2i;
    let (x0r, x0i) = (x1r - x3i, x1i + x3r);
    a[j2 - 2] = wk1r * x0r - wk1i * x0i;
    a[j2 - 1] = wk1r * x0i + wk1i * x0r;
    let (x0r, x0i) = (x1r + x3i, x1i - x3r);
    a[j3 - 2] = wk3r * x0r + wk3i * x0i;
    a[j3 - 1] = wk3r * x0i - wk3i * x0r;
    let x0r = a[j0] + a[j2];
    let x0i = a[j0 + 1] + a[j2 + 1];
    let x1r = a[j0] - a[j2];
    let x1i = a[j0 + 1] - a[j2 + 1];
    let x2r = a[j1] + a[j3];
    let x2i = a[j1 + 1] + a[j3 + 1];
    let x3r = a[j1] - a[j3];
    let x3i = a[j1 + 1] - a[j3 + 1];
    a[j0] = x0r + x2r;
    a[j0 + 1] = x0i + x2i;
    a[j1] = x0r - x2r;
    a[j1 + 1] = x0i - x2i;
    let (x0r, x0i) = (x1r - x3i, x1i + x3r);
    a[j2] = wn4r * (x0r - x0i);
    a[j2 + 1] = wn4r * (x0i + x0r);
    let (x0r, x0i) = (x1r + x3i, x1i - x3r);
    a[j3] = -wn4r * (x0r + x0i);
    a[j3 + 1] = -wn4r * (x0i - x0r);
    let x0r = a[j0 + 2] + a[j2 + 2];
    let x0i = a[j0 + 3] + a[j2 + 3];
    let x1r = a[j0 + 2] - a[j2 + 2];
    let x1i = a[j0 + 3] - a[j2 + 3];
    let x2r = a[j1 + 2] + a[j3 + 2];
    let x2i = a[j1 + 3] + a[j3 + 3];
    let x3r = a[j1 + 2] - a[j3 + 2];
    let x3i = a[j1 + 3] - a[j3 + 3];
    a[j0 + 2] = x0r + x2r;
    a[j0 + 3] = x0i + x2i;
    a[j1 + 2] = x0r - x2r;
    a[j1 + 3] = x0i - x2i;
    let (x0r, x0i) = (x1r - x3i, x1i + x3r);
    a[j2 + 2] = wk1i * x0r - wk1r * x0i;
    a[j2 + 3] = wk1i * x0i + wk1r * x0r;
    let (x0r, x0i) = (x1r + x3i, x1i - x3r);
    a[j3 + 2] = wk3i * x0r + wk3r * x0i;
    a[j3 + 3] = wk3i * x0i - wk3r * x0r;
}

/// Recursive radix-4 driver for n > 512 (`cftrec4`); `a` is the whole array.
fn cft_rec4(a: &mut [f32], nw: usize, w: &[f32]) {
    let n = a.len();
    let mut m = n;
    while m > 512 {
        m >>= 2;
        cft_mdl1(m, &mut a[n - m..], &w[nw - (m >> 1)..]);
    }
    cft_leaf(m, true, &mut a[n - m..], nw, w);
    let mut k = 0;
    let mut j = n - m;
    while j > 0 {
        k += 1;
        let isplt = cft_tree(m, j, k, a, nw, w);
        cft_leaf(m, isplt, &mut a[j - m..], nw, w);
        j -= m;
    }
}

/// `cfttree`: the middle butterflies that precede leaf block `j`.
fn cft_tree(n: usize, j: usize, k: usize, a: &mut [f32], nw: usize, w: &[f32]) -> bool {
    if k & 3 != 0 {
        let isplt = k & 1 != 0;
        if isplt {
            cft_mdl1(n, &mut a[j - n..], &w[nw - (n >> 1)..]);
        } else {
            cft_mdl2(n, &mut a[j - n..], &w[nw - n..]);
        }
        isplt
    } else {
        let mut m = n;
        let mut i = k;
        while i & 3 == 0 {
            m <<= 2;
            i >>= 2;
        }
        let isplt = i & 1 != 0;
        if isplt {
            while m > 128 {
                cft_mdl1(m, &mut a[j - m..], &w[nw - (m >> 1)..]);
                m >>= 2;
            }
        } else {
            while m > 128 {
                cft_mdl2(m, &mut a[j - m..], &w[nw - m..]);
                m >>= 2;
            }
        }
        isplt
    }
}

/// `cftleaf` for blocks of 512 or 256 floats.
fn cft_leaf(n: usize, isplt: bool, a: &mut [f32], nw: usize, w: &[f32]) {
    if n == 512 {
        cft_mdl1(128, a, &w[nw - 64..]);
        cft_f161(a, &w[nw - 8..]);
        cft_f162(&mut a[32..], &w[nw - 32..]);
        cft_f161(&mut a[64..], &w[nw - 8..]);
        cft_f161(&mut a[96..], &w[nw - 8..]);
        cft_mdl2(128, &mut a[128..], &w[nw - 128..]);
        cft_f161(&mut a[128..], &w[nw - 8..]);
        cft_f162(&mut a[160..], &w[nw - 32..]);
        cft_f161(&mut a[192..], &w[nw - 8..]);
        cft_f162(&mut a[224..], &w[nw - 32..]);
        cft_mdl1(128, &mut a[256..], &w[nw - 64..]);
        cft_f161(&mut a[256..], &w[nw - 8..]);
        cft_f162(&mut a[288..], &w[nw - 32..]);
        cft_f161(&mut a[320..], &w[nw - 8..]);
        cft_f161(&mut a[352..], &w[nw - 8..]);
        if isplt {
            cft_mdl1(128, &mut a[384..], &w[nw - 64..]);
            cft_f161(&mut a[480..], &w[nw - 8..]);
        } else {
            cft_mdl2(128, &mut a[384..], &w[nw - 128..]);
            cft_f162(&mut a[480..], &w[nw - 32..]);
        }
        cft_f161(&mut a[384..], &w[nw - 8..]);
        cft_f162(&mut a[416..], &w[nw - 32..]);
        cft_f161(&mut a[448..], &w[nw - 8..]);
    } else {
        cft_mdl1(64, a, &w[nw - 32..]);
        cft_f081(a, &w[nw - 8..]);
        cft_f082(&mut a[16..], &w[nw - 8..]);
        cft_f081(&mut a[32..], &w[nw - 8..]);
        cft_f081(&mut a[48..], &w[nw - 8..]);
        cft_mdl2(64, &mut a[64..], &w[nw - 64..]);
        cft_f081(&mut a[64..], &w[nw - 8..]);
        cft_f082(&mut a[80..], &w[nw - 8..]);
        cft_f081(&mut a[96..], &w[nw - 8..]);
        cft_f082(&mut a[112..], &w[nw - 8..]);
        cft_mdl1(64, &mut a[128..], &w[nw - 32..]);
        cft_f081(&mut a[128..], &w[nw - 8..]);
        cft_f082(&mut a[144..], &w[nw - 8..]);
        cft_f081(&mut a[160..], &w[nw - 8..]);
        cft_f081(&mut a[176..], &w[nw - 8..]);
        if isplt {
            cft_mdl1(64, &mut a[192..], &w[nw - 32..]);
            cft_f081(&mut a[240..], &w[nw - 8..]);
        } else {
            cft_mdl2(64, &mut a[192..], &w[nw - 64..]);
            cft_f082(&mut a[240..], &w[nw - 8..]);
        }
        cft_f081(&mut a[192..], &w[nw - 8..]);
        cft_f082(&mut a[208..], &w[nw - 8..]);
        cft_f081(&mut a[224..], &w[nw - 8..]);
    }
}

/// `cftfx41` for blocks of 128 or 64 floats.
fn cft_fx41(n: usize, a: &mut [f32], nw: usize, w: &[f32]) {
    if n == 128 {
        cft_f161(a, &w[nw - 8..]);
        cft_f162(&mut a[32..], &w[nw - 32..]);
        cft_f161(&mut a[64..], &w[nw - 8..]);
        cft_f161(&mut a[96..], &w[nw - 8..]);
    } else {
        cft_f081(a, &w[nw - 8..]);
        cft_f082(&mut a[16..], &w[nw - 8..]);
        cft_f081(&mut a[32..], &w[nw - 8..]);
        cft_f081(&mut a[48..], &w[nw - 8..]);
    }
}

/// Radix-4 middle stage, first kind (`cftmdl1`), on `a[0..n]`.
fn cft_mdl1(n: usize, a: &mut [f32], w: &[f32]) {
    let mh = n >> 3;
    let m = 2 * mh;
    let (mut j1, mut j2, mut j3) = (m, 2 * m, 3 * m);
    let x0r = a[0] + a[j2];
    let x0i = a[1] + a[j2 + 1];
    let x1r = a[0] - a[j2];
    let x1i = a[1] - a[j2 + 1];
    let x2r = a[j1] + a[j3];
    let x2i = a[j1 + 1] + a[j3 + 1];
    let x3r = a[j1] - a[j3];
    let x3i = a[j1 + 1] - a[j3 + 1];
    a[0] = x0r + x2r;
    a[1] = x0i + x2i;
    a[j1] = x0r - x2r;
    a[j1 + 1] = x0i - x2i;
    a[j2] = x1r - x3i;
    a[j2 + 1] = x1i + x3r;
    a[j3] = x1r + x3i;
    a[j3 + 1] = x1i - x3r;
    let wn4r = w[1];
    let mut k = 0;
    let mut j = 2;
    while j < mh {
        k += 4;
        let wk1r = w[k];
        let wk1i = w[k + 1];
        let wk3r = w[k + 2];
        let wk3i = w[k + 3];
        j1 = j + m;
        j2 = j1 + m;
        j3 = j2 + m;
        let x0r = a[j] + a[j2];
        let x0i = a[j + 1] + a[j2 + 1];
        let x1r = a[j] - a[j2];
        let x1i = a[j + 1] - a[j2 + 1];
        let x2r = a[j1] + a[j3];
        let x2i = a[j1 + 1] + a[j3 + 1];
        let x3r = a[j1] - a[j3];
        let x3i = a[j1 + 1] - a[j3 + 1];
        a[j] = x0r + x2r;
        a[j + 1] = x0i + x2i;
        a[j1] = x0r - x2r;
        a[j1 + 1] = x0i - x2i;
        let (x0r, x0i) = (x1r - x3i, x1i + x3r);
        a[j2] = wk1r * x0r - wk1i * x0i;
        a[j2 + 1] = wk1r * x0i + wk1i * x0r;
        let (x0r, x0i) = (x1r + x3i, x1i - x3r);
        a[j3] = wk3r * x0r + wk3i * x0i;
        a[j3 + 1] = wk3r * x0i - wk3i * x0r;
        let j0 = m - j;
        j1 = j0 + m;
        j2 = j1 + m;
        j3 = j2 + m;
        let x0r = a[j0] + a[j2];
        let x0i = a[j0 + 1] + a[j2 + 1];
        let x1r = a[j0] - a[j2];
        let x1i = a[j0 + 1] - a[j2 + 1];
        let x2r = a[j1] + a[j3];
        let x2i = a[j1 + 1] + a[j3 + 1];
        let x3r = a[j1] - a[j3];
        let x3i = a[j1 + 1] - a[j3 + 1];
        a[j0] = x0r + x2r;
        a[j0 + 1] = x0i + x2i;
        a[j1] = x0r - x2r;
        a[j1 + 1] = x0i - x2i;
        let (x0r, x0i) = (x1r - x3i, x1i + x3r);
        a[j2] = wk1i * x0r - wk1r * x0i;
        a[j2 + 1] = wk1i * x0i + wk1r * x0r;
        let (x0r, x0i) = (x1r + x3i, x1i - x3r);
        a[j3] = wk3i * x0r + wk3r * x0i;
        a[j3 + 1] = wk3i * x0i - wk3r * x0r;
        j += 2;
    }
    let j0 = mh;
    j1 = j0 + m;
    j2 = j1 + m;
    j3 = j2 + m;
    let x0r = a[j0] + a[j2];
    let x0i = a[j0 + 1] + a[j2 + 1];
    let x1r = a[j0] - a[j2];
    let x1i = a[j0 + 1] - a[j2 + 1];
    let x2r = a[j1] + a[j3];
    let x2i = a[j1 + 1] + a[j3 + 1];
    let x3r = a[j1] - a[j3];
    let x3i = a[j1 + 1] - a[j3 + 1];
    a[j0] = x0r + x2r;
    a[j0 + 1] = x0i + x2i;
    a[j1] = x0r - x2r;
    a[j1 + 1] = x0i - x2i;
    let (x0r, x0i) = (x1r - x3i, x1i + x3r);
    a[j2] = wn4r * (x0r - x0i);
    a[j2 + 1] = wn4r * (x0i + x0r);
    let (x0r, x0i) = (x1r + x3i, x1i - x3r);
    a[j3] = -wn4r * (x0r + x0i);
    a[j3 + 1] = -wn4r * (x0i - x0r);
}

/// Radix-4 middle stage, second kind (`cftmdl2`), on `a[0..n]`.
fn cft_mdl2(n: usize, a: &mut [f32], w: &[f32]) {
    let mh = n >> 3;
    let m = 2 * mh;
    let wn4r = w[1];
    let (mut j1, mut j2, mut j3) = (m, 2 * m, 3 * m);
    let x0r = a[0] - a[j2 + 1];
    let x0i = a[1] + a[j2];
    let x1r = a[0] + a[j2 + 1];
    let x1i = a[1] - a[j2];
    let x2r = a[j1] - a[j3 + 1];
    let x2i = a[j1 + 1] + a[j3];
    let x3r = a[j1] + a[j3 + 1];
    let x3i = a[j1 + 1] - a[j3];
    let y0r = wn4r * (x2r - x2i);
    let y0i = wn4r * (x2i + x2r);
    a[0] = x0r + y0r;
    a[1] = x0i + y0i;
    a[j1] = x0r - y0r;
    a[j1 + 1] = x0i - y0i;
    let y0r = wn4r * (x3r - x3i);
    let y0i = wn4r * (x3i + x3r);
    a[j2] = x1r - y0i;
    a[j2 + 1] = x1i + y0r;
    a[j3] = x1r + y0i;
    a[j3 + 1] = x1i - y0r;
    let mut k = 0;
    let mut kr = 2 * m;
    let mut j = 2;
    while j < mh {
        k += 4;
        let wk1r = w[k];
        let wk1i = w[k + 1];
        let wk3r = w[k + 2];
        let wk3i = w[k + 3];
        kr -= 4;
        let wd1i = w[kr];
        let wd1r = w[kr + 1];
        let wd3i = w[kr + 2];
        let wd3r = w[kr + 3];
        j1 = j + m;
        j2 = j1 + m;
        j3 = j2 + m;
        let x0r = a[j] - a[j2 + 1];
        let x0i = a[j + 1] + a[j2];
        let x1r = a[j] + a[j2 + 1];
        let x1i = a[j + 1] - a[j2];
        let x2r = a[j1] - a[j3 + 1];
        let x2i = a[j1 + 1] + a[j3];
        let x3r = a[j1] + a[j3 + 1];
        let x3i = a[j1 + 1] - a[j3];
        let y0r = wk1r * x0r - wk1i * x0i;
        let y0i = wk1r * x0i + wk1i * x0r;
        let y2r = wd1r * x2r - wd1i * x2i;
        let y2i = wd1r * x2i + wd1i * x2r;
        a[j] = y0r + y2r;
        a[j + 1] = y0i + y2i;
        a[j1] = y0r - y2r;
        a[j1 + 1] = y0i - y2i;
        let y0r = wk3r * x1r + wk3i * x1i;
        let y0i = wk3r * x1i - wk3i * x1r;
        let y2r = wd3r * x3r + wd3i * x3i;
        let y2i = wd3r * x3i - wd3i * x3r;
        a[j2] = y0r + y2r;
        a[j2 + 1] = y0i + y2i;
        a[j3] = y0r - y2r;
        a[j3 + 1] = y0i - y2i;
        let j0 = m - j;
        j1 = j0 + m;
        j2 = j1 + m;
        j3 = j2 + m;
        let x0r = a[j0] - a[j2 + 1];
        let x0i = a[j0 + 1] + a[j2];
        let x1r = a[j0] + a[j2 + 1];
        let x1i = a[j0 + 1] - a[j2];
        let x2r = a[j1] - a[j3 + 1];
        let x2i = a[j1 + 1] + a[j3];
        let x3r = a[j1] + a[j3 + 1];
        let x3i = a[j1 + 1] - a[j3];
        let y0r = wd1i * x0r - wd1r * x0i;
        let y0i = wd1i * x0i + wd1r * x0r;
        let y2r = wk1i * x2r - wk1r * x2i;
        let y2i = wk1i * x2i + wk1r * x2r;
        a[j0] = y0r + y2r;
        a[j0 + 1] = y0i + y2i;
        a[j1] = y0r - y2r;
        a[j1 + 1] = y0i - y2i;
        let y0r = wd3i * x1r + wd3r * x1i;
        let y0i = wd3i * x1i - wd3r * x1r;
        let y2r = wk3i * x3r + wk3r * x3i;
        let y2i = wk3i * x3i - wk3r * x3r;
        a[j2] = y0r + y2r;
        a[j2 + 1] = y0i + y2i;
        a[j3] = y0r - y2r;
        a[j3 + 1] = y0i - y2i;
        j += 2;
    }
    let wk1r = w[m];
    let wk1i = w[m + 1];
    let j0 = mh;
    j1 = j0 + m;
    j2 = j1 + m;
    j3 = j2 + m;
    let x0r = a[j0] - a[j2 + 1];
    let x0i = a[j0 + 1] + a[j2];
    let x1r = a[j0] + a[j2 + 1];
    let x1i = a[j0 + 1] - a[j2];
    let x2r = a[j1] - a[j3 + 1];
    let x2i = a[j1 + 1] + a[j3];
    let x3r = a[j1] + a[j3 + 1];
    let x3i = a[j1 + 1] - a[j3];
    let y0r = wk1r * x0r - wk1i * x0i;
    let y0i = wk1r * x0i + wk1i * x0r;
    let y2r = wk1i * x2r - wk1r * x2i;
    let y2i = wk1i * x2i + wk1r * x2r;
    a[j0] = y0r + y2r;
    a[j0 + 1] = y0i + y2i;
    a[j1] = y0r - y2r;
    a[j1 + 1] = y0i - y2i;
    let y0r = wk1i * x1r - wk1r * x1i;
    let y0i = wk1i * x1i + wk1r * x1r;
    let y2r = wk1r * x3r - wk1i * x3i;
    let y2i = wk1r * x3i + wk1i * x3r;
    a[j2] = y0r - y2r;
    a[j2 + 1] = y0i - y2i;
    a[j3] = y0r + y2r;
    a[j3 + 1] = y0i + y2i;
}

/// 16-point leaf butterfly, first kind (`cftf161`), on `a[0..32]`.
fn cft_f161(a: &mut [f32], w: &[f32]) {
    let wn4r = w[1];
    let wk1r = w[2];
    let wk1i = w[3];
    let x0r = a[0] + a[16];
    let x0i = a[1] + a[17];
    let x1r = a[0] - a[16];
    let x1i = a[1] - a[17];
    let x2r = a[8] + a[24];
    let x2i = a[9] + a[25];
    let x3r = a[8] - a[24];
    let x3i = a[9] - a[25];
    let y0r = x0r + x2r;
    let y0i = x0i + x2i;
    let y4r = x0r - x2r;
    let y4i = x0i - x2i;
    let y8r = x1r - x3i;
    let y8i = x1i + x3r;
    let y12r = x1r + x3i;
    let y12i = x1i - x3r;
    let x0r = a[2] + a[18];
    let x0i = a[3] + a[19];
    let x1r = a[2] - a[18];
    let x1i = a[3] - a[19];
    let x2r = a[10] + a[26];
    let x2i = a[11] + a[27];
    let x3r = a[10] - a[26];
    let x3i = a[11] - a[27];
    let y1r = x0r + x2r;
    let y1i = x0i + x2i;
    let y5r = x0r - x2r;
    let y5i = x0i - x2i;
    let (x0r, x0i) = (x1r - x3i, x1i + x3r);
    let y9r = wk1r * x0r - wk1i * x0i;
    let y9i = wk1r * x0i + wk1i * x0r;
    let (x0r, x0i) = (x1r + x3i, x1i - x3r);
    let y13r = wk1i * x0r - wk1r * x0i;
    let y13i = wk1i * x0i + wk1r * x0r;
    let x0r = a[4] + a[20];
    let x0i = a[5] + a[21];
    let x1r = a[4] - a[20];
    let x1i = a[5] - a[21];
    let x2r = a[12] + a[28];
    let x2i = a[13] + a[29];
    let x3r = a[12] - a[28];
    let x3i = a[13] - a[29];
    let y2r = x0r + x2r;
    let y2i = x0i + x2i;
    let y6r = x0r - x2r;
    let y6i = x0i - x2i;
    let (x0r, x0i) = (x1r - x3i, x1i + x3r);
    let y10r = wn4r * (x0r - x0i);
    let y10i = wn4r * (x0i + x0r);
    let (x0r, x0i) = (x1r + x3i, x1i - x3r);
    let y14r = wn4r * (x0r + x0i);
    let y14i = wn4r * (x0i - x0r);
    let x0r = a[6] + a[22];
    let x0i = a[7] + a[23];
    let x1r = a[6] - a[22];
    let x1i = a[7] - a[23];
    let x2r = a[14] + a[30];
    let x2i = a[15] + a[31];
    let x3r = a[14] - a[30];
    let x3i = a[15] - a[31];
    let y3r = x0r + x2r;
    let y3i = x0i + x2i;
    let y7r = x0r - x2r;
    let y7i = x0i - x2i;
    let (x0r, x0i) = (x1r - x3i, x1i + x3r);
    let y11r = wk1i * x0r - wk1r * x0i;
    let y11i = wk1i * x0i + wk1r * x0r;
    let (x0r, x0i) = (x1r + x3i, x1i - x3r);
    let y15r = wk1r * x0r - wk1i * x0i;
    let y15i = wk1r * x0i + wk1i * x0r;
    let x0r = y12r - y14r;
    let x0i = y12i - y14i;
    let x1r = y12r + y14r;
    let x1i = y12i + y14i;
    let x2r = y13r - y15r;
    let x2i = y13i - y15i;
    let x3r = y13r + y15r;
    let x3i = y13i + y15i;
    a[24] = x0r + x2r;
    a[25] = x0i + x2i;
    a[26] = x0r - x2r;
    a[27] = x0i - x2i;
    a[28] = x1r - x3i;
    a[29] = x1i + x3r;
    a[30] = x1r + x3i;
    a[31] = x1i - x3r;
    let x0r = y8r + y10r;
    let x0i = y8i + y10i;
    let x1r = y8r - y10r;
    let x1i = y8i - y10i;
    let x2r = y9r + y11r;
    let x2i = y9i + y11i;
    let x3r = y9r - y11r;
    let x3i = y9i - y11i;
    a[16] = x0r + x2r;
    a[17] = x0i + x2i;
    a[18] = x0r - x2r;
    a[19] = x0i - x2i;
    a[20] = x1r - x3i;
    a[21] = x1i + x3r;
    a[22] = x1r + x3i;
    a[23] = x1i - x3r;
    let (x0r, x0i) = (y5r - y7i, y5i + y7r);
    let x2r = wn4r * (x0r - x0i);
    let x2i = wn4r * (x0i + x0r);
    let (x0r, x0i) = (y5r + y7i, y5i - y7r);
    let x3r = wn4r * (x0r - x0i);
    let x3i = wn4r * (x0i + x0r);
    let x0r = y4r - y6i;
    let x0i = y4i + y6r;
    let x1r = y4r + y6i;
    let x1i = y4i - y6r;
    a[8] = x0r + x2r;
    a[9] = x0i + x2i;
    a[10] = x0r - x2r;
    a[11] = x0i - x2i;
    a[12] = x1r - x3i;
    a[13] = x1i + x3r;
    a[14] = x1r + x3i;
    a[15] = x1i - x3r;
    let x0r = y0r + y2r;
    let x0i = y0i + y2i;
    let x1r = y0r - y2r;
    let x1i = y0i - y2i;
    let x2r = y1r + y3r;
    let x2i = y1i + y3i;
    let x3r = y1r - y3r;
    let x3i = y1i - y3i;
    a[0] = x0r + x2r;
    a[1] = x0i + x2i;
    a[2] = x0r - x2r;
    a[3] = x0i - x2i;
    a[4] = x1r - x3i;
    a[5] = x1i + x3r;
    a[6] = x1r + x3i;
    a[7] = x1i - x3r;
}

/// 16-point leaf butterfly, second kind (`cftf162`), on `a[0..32]`.
fn cft_f162(a: &mut [f32], w: &[f32]) {
    let wn4r = w[1];
    let wk1r = w[4];
    let wk1i = w[5];
    let wk3r = w[6];
    let wk3i = -w[7];
    let wk2r = w[8];
    let wk2i = w[9];
    let x1r = a[0] - a[17];
    let x1i = a[1] + a[16];
    let x0r = a[8] - a[25];
    let x0i = a[9] + a[24];
    let x2r = wn4r * (x0r - x0i);
    let x2i = wn4r * (x0i + x0r);
    let y0r = x1r + x2r;
    let y0i = x1i + x2i;
    let y4r = x1r - x2r;
    let y4i = x1i - x2i;
    let x1r = a[0] + a[17];
    let x1i = a[1] - a[16];
    let x0r = a[8] + a[25];
    let x0i = a[9] - a[24];
    let x2r = wn4r * (x0r - x0i);
    let x2i = wn4r * (x0i + x0r);
    let y8r = x1r - x2i;
    let y8i = x1i + x2r;
    let y12r = x1r + x2i;
    let y12i = x1i - x2r;
    let x0r = a[2] - a[19];
    let x0i = a[3] + a[18];
    let x1r = wk1r * x0r - wk1i * x0i;
    let x1i = wk1r * x0i + wk1i * x0r;
    let x0r = a[10] - a[27];
    let x0i = a[11] + a[26];
    let x2r = wk3i * x0r - wk3r * x0i;
    let x2i = wk3i * x0i + wk3r * x0r;
    let y1r = x1r + x2r;
    let y1i = x1i + x2i;
    let y5r = x1r - x2r;
    let y5i = x1i - x2i;
    let x0r = a[2] + a[19];
    let x0i = a[3] - a[18];
    let x1r = wk3r * x0r - wk3i * x0i;
    let x1i = wk3r * x0i + wk3i * x0r;
    let x0r = a[10] + a[27];
    let x0i = a[11] - a[26];
    let x2r = wk1r * x0r + wk1i * x0i;
    let x2i = wk1r * x0i - wk1i * x0r;
    let y9r = x1r - x2r;
    let y9i = x1i - x2i;
    let y13r = x1r + x2r;
    let y13i = x1i + x2i;
    let x0r = a[4] - a[21];
    let x0i = a[5] + a[20];
    let x1r = wk2r * x0r - wk2i * x0i;
    let x1i = wk2r * x0i + wk2i * x0r;
    let x0r = a[12] - a[29];
    let x0i = a[13] + a[28];
    let x2r = wk2i * x0r - wk2r * x0i;
    let x2i = wk2i * x0i + wk2r * x0r;
    let y2r = x1r + x2r;
    let y2i = x1i + x2i;
    let y6r = x1r - x2r;
    let y6i = x1i - x2i;
    let x0r = a[4] + a[21];
    let x0i = a[5] - a[20];
    let x1r = wk2i * x0r - wk2r * x0i;
    let x1i = wk2i * x0i + wk2r * x0r;
    let x0r = a[12] + a[29];
    let x0i = a[13] - a[28];
    let x2r = wk2r * x0r - wk2i * x0i;
    let x2i = wk2r * x0i + wk2i * x0r;
    let y10r = x1r - x2r;
    let y10i = x1i - x2i;
    let y14r = x1r + x2r;
    let y14i = x1i + x2i;
    let x0r = a[6] - a[23];
    let x0i = a[7] + a[22];
    let x1r = wk3r * x0r - wk3i * x0i;
    let x1i = wk3r * x0i + wk3i * x0r;
    let x0r = a[14] - a[31];
    let x0i = a[15] + a[30];
    let x2r = wk1i * x0r - wk1r * x0i;
    let x2i = wk1i * x0i + wk1r * x0r;
    let y3r = x1r + x2r;
    let y3i = x1i + x2i;
    let y7r = x1r - x2r;
    let y7i = x1i - x2i;
    let x0r = a[6] + a[23];
    let x0i = a[7] - a[22];
    let x1r = wk1i * x0r + wk1r * x0i;
    let x1i = wk1i * x0i - wk1r * x0r;
    let x0r = a[14] + a[31];
    let x0i = a[15] - a[30];
    let x2r = wk3i * x0r - wk3r * x0i;
    let x2i = wk3i * x0i + wk3r * x0r;
    let y11r = x1r + x2r;
    let y11i = x1i + x2i;
    let y15r = x1r - x2r;
    let y15i = x1i - x2i;
    let x1r = y0r + y2r;
    let x1i = y0i + y2i;
    let x2r = y1r + y3r;
    let x2i = y1i + y3i;
    a[0] = x1r + x2r;
    a[1] = x1i + x2i;
    a[2] = x1r - x2r;
    a[3] = x1i - x2i;
    let x1r = y0r - y2r;
    let x1i = y0i - y2i;
    let x2r = y1r - y3r;
    let x2i = y1i - y3i;
    a[4] = x1r - x2i;
    a[5] = x1i + x2r;
    a[6] = x1r + x2i;
    a[7] = x1i - x2r;
    let x1r = y4r - y6i;
    let x1i = y4i + y6r;
    let x0r = y5r - y7i;
    let x0i = y5i + y7r;
    let x2r = wn4r * (x0r - x0i);
    let x2i = wn4r * (x0i + x0r);
    a[8] = x1r + x2r;
    a[9] = x1i + x2i;
    a[10] = x1r - x2r;
    a[11] = x1i - x2i;
    let x1r = y4r + y6i;
    let x1i = y4i - y6r;
    let x0r = y5r + y7i;
    let x0i = y5i - y7r;
    let x2r = wn4r * (x0r - x0i);
    let x2i = wn4r * (x0i + x0r);
    a[12] = x1r - x2i;
    a[13] = x1i + x2r;
    a[14] = x1r + x2i;
    a[15] = x1i - x2r;
    let x1r = y8r + y10r;
    let x1i = y8i + y10i;
    let x2r = y9r - y11r;
    let x2i = y9i - y11i;
    a[16] = x1r + x2r;
    a[17] = x1i + x2i;
    a[18] = x1r - x2r;
    a[19] = x1i - x2i;
    let x1r = y8r - y10r;
    let x1i = y8i - y10i;
    let x2r = y9r + y11r;
    let x2i = y9i + y11i;
    a[20] = x1r - x2i;
    a[21] = x1i + x2r;
    a[22] = x1r + x2i;
    a[23] = x1i - x2r;
    let x1r = y12r - y14i;
    let x1i = y12i + y14r;
    let x0r = y13r + y15i;
    let x0i = y13i - y15r;
    let x2r = wn4r * (x0r - x0i);
    let x2i = wn4r * (x0i + x0r);
    a[24] = x1r + x2r;
    a[25] = x1i + x2i;
    a[26] = x1r - x2r;
    a[27] = x1i - x2i;
    let x1r = y12r + y14i;
    let x1i = y12i - y14r;
    let x0r = y13r - y15i;
    let x0i = y13i + y15r;
    let x2r = wn4r * (x0r - x0i);
    let x2i = wn4r * (x0i + x0r);
    a[28] = x1r - x2i;
    a[29] = x1i + x2r;
    a[30] = x1r + x2i;
    a[31] = x1i - x2r;
}

/// 8-point leaf butterfly, first kind (`cftf081`), on `a[0..16]`.
fn cft_f081(a: &mut [f32], w: &[f32]) {
    let wn4r = w[1];
    let x0r = a[0] + a[8];
    let x0i = a[1] + a[9];
    let x1r = a[0] - a[8];
    let x1i = a[1] - a[9];
    let x2r = a[4] + a[12];
    let x2i = a[5] + a[13];
    let x3r = a[4] - a[12];
    let x3i = a[5] - a[13];
    let y0r = x0r + x2r;
    let y0i = x0i + x2i;
    let y2r = x0r - x2r;
    let y2i = x0i - x2i;
    let y1r = x1r - x3i;
    let y1i = x1i + x3r;
    let y3r = x1r + x3i;
    let y3i = x1i - x3r;
    let x0r = a[2] + a[10];
    let x0i = a[3] + a[11];
    let x1r = a[2] - a[10];
    let x1i = a[3] - a[11];
    let x2r = a[6] + a[14];
    let x2i = a[7] + a[15];
    let x3r = a[6] - a[14];
    let x3i = a[7] - a[15];
    let y4r = x0r + x2r;
    let y4i = x0i + x2i;
    let y6r = x0r - x2r;
    let y6i = x0i - x2i;
    let x0r = x1r - x3i;
    let x0i = x1i + x3r;
    let x2r = x1r + x3i;
    let x2i = x1i - x3r;
    let y5r = wn4r * (x0r - x0i);
    let y5i = wn4r * (x0r + x0i);
    let y7r = wn4r * (x2r - x2i);
    let y7i = wn4r * (x2r + x2i);
    a[8] = y1r + y5r;
    a[9] = y1i + y5i;
    a[10] = y1r - y5r;
    a[11] = y1i - y5i;
    a[12] = y3r - y7i;
    a[13] = y3i + y7r;
    a[14] = y3r + y7i;
    a[15] = y3i - y7r;
    a[0] = y0r + y4r;
    a[1] = y0i + y4i;
    a[2] = y0r - y4r;
    a[3] = y0i - y4i;
    a[4] = y2r - y6i;
    a[5] = y2i + y6r;
    a[6] = y2r + y6i;
    a[7] = y2i - y6r;
}

/// 8-point leaf butterfly, second kind (`cftf082`), on `a[0..16]`.
fn cft_f082(a: &mut [f32], w: &[f32]) {
    let wn4r = w[1];
    let wk1r = w[2];
    let wk1i = w[3];
    let y0r = a[0] - a[9];
    let y0i = a[1] + a[8];
    let y1r = a[0] + a[9];
    let y1i = a[1] - a[8];
    let x0r = a[4] - a[13];
    let x0i = a[5] + a[12];
    let y2r = wn4r * (x0r - x0i);
    let y2i = wn4r * (x0i + x0r);
    let x0r = a[4] + a[13];
    let x0i = a[5] - a[12];
    let y3r = wn4r * (x0r - x0i);
    let y3i = wn4r * (x0i + x0r);
    let x0r = a[2] - a[11];
    let x0i = a[3] + a[10];
    let y4r = wk1r * x0r - wk1i * x0i;
    let y4i = wk1r * x0i + wk1i * x0r;
    let x0r = a[2] + a[11];
    let x0i = a[3] - a[10];
    let y5r = wk1i * x0r - wk1r * x0i;
    let y5i = wk1i * x0i + wk1r * x0r;
    let x0r = a[6] - a[15];
    let x0i = a[7] + a[14];
    let y6r = wk1i * x0r - wk1r * x0i;
    let y6i = wk1i * x0i + wk1r * x0r;
    let x0r = a[6] + a[15];
    let x0i = a[7] - a[14];
    let y7r = wk1r * x0r - wk1i * x0i;
    let y7i = wk1r * x0i + wk1i * x0r;
    let x0r = y0r + y2r;
    let x0i = y0i + y2i;
    let x1r = y4r + y6r;
    let x1i = y4i + y6i;
    a[0] = x0r + x1r;
    a[1] = x0i + x1i;
    a[2] = x0r - x1r;
    a[3] = x0i - x1i;
    let x0r = y0r - y2r;
    let x0i = y0i - y2i;
    let x1r = y4r - y6r;
    let x1i = y4i - y6i;
    a[4] = x0r - x1i;
    a[5] = x0i + x1r;
    a[6] = x0r + x1i;
    a[7] = x0i - x1r;
    let x0r = y1r - y3i;
    let x0i = y1i + y3r;
    let x1r = y5r - y7r;
    let x1i = y5i - y7i;
    a[8] = x0r + x1r;
    a[9] = x0i + x1i;
    a[10] = x0r - x1r;
    a[11] = x0i - x1i;
    let x0r = y1r + y3i;
    let x0i = y1i - y3r;
    let x1r = y5r + y7r;
    let x1i = y5i + y7i;
    a[12] = x0r - x1i;
    a[13] = x0i + x1r;
    a[14] = x0r + x1i;
    a[15] = x0i - x1r;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct O(n²) DFT in f64 with Ooura's output layout.
    fn reference(x: &[f32]) -> Vec<f64> {
        let n = x.len();
        let mut out = vec![0.0; n];
        for k in 0..=n / 2 {
            let (mut re, mut im) = (0.0, 0.0);
            for (j, &v) in x.iter().enumerate() {
                let ph = 2.0 * std::f64::consts::PI * ((j * k) % n) as f64 / n as f64;
                re += f64::from(v) * ph.cos();
                im += f64::from(v) * ph.sin();
            }
            if k == 0 {
                out[0] = re;
            } else if k == n / 2 {
                out[1] = re;
            } else {
                out[2 * k] = re;
                out[2 * k + 1] = im;
            }
        }
        out
    }

    #[test]
    fn matches_direct_dft_for_all_supported_sizes() {
        for n in [16usize, 32, 64, 128, 256, 512, 1024, 2048, 4096] {
            let fft = OouraRdft::new(n).expect("power of two");
            let x: Vec<f32> = (0..n)
                .map(|i| ((i * 7919 % 101) as f32 - 50.0) / 37.0)
                .collect();
            let mut a = x.clone();
            fft.forward(&mut a);
            let want = reference(&x);
            let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (i, (&got, &w)) in a.iter().zip(&want).enumerate() {
                assert!(
                    (f64::from(got) - w).abs() <= 2e-5 * scale,
                    "n={n} i={i}: {got} vs {w}"
                );
            }
        }
    }

    #[test]
    fn rejects_non_powers_of_two() {
        assert!(OouraRdft::new(480).is_none());
        assert!(OouraRdft::new(8).is_none());
    }
}
