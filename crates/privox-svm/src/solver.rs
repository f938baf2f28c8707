//! LIBSVM's SMO solver for the C-SVC dual, ported line by line.
//!
//! Solves `min ½ αᵀQα − eᵀα` s.t. `yᵀα = 0`, `0 ≤ α_i ≤ C_i`, with
//! `Q_ij = y_i y_j K(x_i, x_j)`, as in Fan, Chen & Lin (JMLR 2005):
//!
//! * **WSS3**: `i` maximizes the violation `−y_i ∇f(α)_i` over `I_up`, `j`
//!   minimizes the second-order objective decrease `−b²/a` over `I_low`;
//! * **τ safeguard**: a non-positive curvature `a = K_ii + K_jj − 2K_ij`
//!   (indefinite kernels) is replaced by `TAU = 1e-12`, exactly where LIBSVM
//!   does it (working-set selection and the two-variable update);
//! * **shrinking** every `min(l, 1000)` iterations, with LIBSVM's one-time
//!   unshrink at `10·eps` and gradient reconstruction from `G_bar`;
//! * stopping when `m(α) − M(α) < eps`;
//! * `ρ` (the bias is `−ρ`) as the mean of `y_i ∇f_i` over free vectors, or
//!   the midpoint of the feasible interval when none is free.
//!
//! Kernel columns are kept as `f32` in an LRU cache (`cache::Cache`), as LIBSVM's `Qfloat`.

// Index loops mirror LIBSVM's C++ line by line, which keeps the port reviewable.
#![allow(clippy::needless_range_loop)]

use crate::cache::Cache;
use crate::kernel::Kernel;

/// Curvature floor for indefinite kernels (LIBSVM's `TAU`).
pub const TAU: f64 = 1e-12;

/// The `Q` matrix of a C-SVC subproblem over selected kernel points.
struct SvcQ<'k, K: Kernel + ?Sized> {
    kernel: &'k K,
    /// Kernel index of each solver position (permuted by shrinking).
    idx: Vec<usize>,
    y: Vec<i8>,
    qd: Vec<f64>,
    cache: Cache,
}

impl<'k, K: Kernel + ?Sized> SvcQ<'k, K> {
    fn new(kernel: &'k K, idx: &[usize], y: &[i8], cache_bytes: usize) -> Self {
        let qd = idx.iter().map(|&i| kernel.eval(i, i)).collect();
        SvcQ {
            kernel,
            idx: idx.to_vec(),
            y: y.to_vec(),
            qd,
            cache: Cache::new(idx.len(), cache_bytes),
        }
    }

    fn fill(&mut self, i: usize, len: usize) {
        let start = self.cache.request(i, len);
        if start < len {
            let (ki, yi) = (self.idx[i], self.y[i] as f64);
            let kernel = self.kernel;
            let idx = &self.idx;
            let y = &self.y;
            let col = self.cache.column_vec_mut(i);
            col.extend((start..len).map(|j| (yi * y[j] as f64 * kernel.eval(ki, idx[j])) as f32));
        }
    }

    /// Column `i` of `Q` (first `len` entries) and the diagonal `QD`.
    fn get_q(&mut self, i: usize, len: usize) -> (&[f32], &[f64]) {
        self.fill(i, len);
        (&self.cache.column(i)[..len], &self.qd)
    }

    /// Both working-set columns at once; the cache keeps ≥ 2 full columns so
    /// filling `j` never evicts `i` (it was just made most recently used).
    fn get_q_pair(&mut self, i: usize, j: usize, len: usize) -> (&[f32], &[f32]) {
        self.fill(i, len);
        self.fill(j, len);
        if self.cache.column(i).len() < len {
            // Cannot happen given the cache floor; refill defensively.
            self.fill(i, len);
        }
        (&self.cache.column(i)[..len], &self.cache.column(j)[..len])
    }

    fn swap_index(&mut self, i: usize, j: usize) {
        self.cache.swap_index(i, j);
        self.idx.swap(i, j);
        self.y.swap(i, j);
        self.qd.swap(i, j);
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Status {
    Lower,
    Upper,
    Free,
}

/// Solver settings.
#[derive(Clone, Copy, Debug)]
pub struct SolverParams {
    /// Stopping tolerance on the maximal violating pair (LIBSVM `-e`, 1e-3).
    pub eps: f64,
    /// Use the shrinking heuristic (LIBSVM `-h 1`).
    pub shrinking: bool,
    /// Kernel cache size in bytes (LIBSVM `-m`, in MB there).
    pub cache_bytes: usize,
    /// Iteration cap; `None` means LIBSVM's `max(10⁷, 100·l)`.
    pub max_iter: Option<usize>,
}

impl Default for SolverParams {
    fn default() -> Self {
        SolverParams {
            eps: 1e-3,
            shrinking: true,
            cache_bytes: 200 << 20,
            max_iter: None,
        }
    }
}

/// The solution of one binary C-SVC dual.
#[derive(Clone, Debug)]
pub struct BinarySolution {
    /// `α_i ≥ 0`, in the order of the input indices.
    pub alpha: Vec<f64>,
    /// Decision function `f(x) = Σ α_i y_i K(x_i, x) − ρ`.
    pub rho: f64,
    /// Dual objective `½ αᵀQα − eᵀα`.
    pub obj: f64,
    /// SMO iterations performed.
    pub iterations: usize,
    /// Whether the iteration cap stopped the solver before `eps` was met.
    pub hit_max_iter: bool,
}

/// Solves the binary C-SVC dual over kernel points `idx` with labels `y`
/// (`+1`/`−1`) and bounds `C_i = cp` for `y_i = +1`, `cn` otherwise.
///
/// Inputs are validated by the callers in [`crate::svc`]; this function
/// assumes `idx.len() == y.len() > 0` and valid indices.
pub fn solve_binary<K: Kernel + ?Sized>(
    kernel: &K,
    idx: &[usize],
    y: &[i8],
    cp: f64,
    cn: f64,
    params: &SolverParams,
) -> BinarySolution {
    let l = idx.len();
    let mut s = Solver {
        l,
        active_size: l,
        y: y.to_vec(),
        g: vec![-1.0; l],
        g_bar: vec![0.0; l],
        alpha: vec![0.0; l],
        status: vec![Status::Lower; l],
        p: vec![-1.0; l],
        active_set: (0..l).collect(),
        cp,
        cn,
        eps: params.eps,
        unshrink: false,
    };
    let mut q = SvcQ::new(kernel, idx, y, params.cache_bytes);
    for i in 0..l {
        s.update_status(i);
    }
    // Initial gradient: α = 0, so G = p and G_bar = 0 (LIBSVM's loop over
    // non-lower-bound α is empty here).

    let max_iter = params
        .max_iter
        .unwrap_or_else(|| 10_000_000usize.max(l.saturating_mul(100)));
    let mut counter = l.min(1000) + 1;
    let mut iter = 0usize;
    while iter < max_iter {
        counter -= 1;
        if counter == 0 {
            counter = l.min(1000);
            if params.shrinking {
                s.do_shrinking(&mut q);
            }
        }
        let (i, j) = match s.select_working_set(&mut q) {
            Some(pair) => pair,
            None => {
                s.reconstruct_gradient(&mut q);
                s.active_size = l;
                match s.select_working_set(&mut q) {
                    Some(pair) => {
                        counter = 1;
                        pair
                    }
                    None => break,
                }
            }
        };
        iter += 1;
        s.take_step(&mut q, i, j);
    }
    let hit_max_iter = iter >= max_iter;
    if hit_max_iter && s.active_size < l {
        s.reconstruct_gradient(&mut q);
        s.active_size = l;
    }
    let rho = s.calculate_rho();
    let obj = (0..l).map(|i| s.alpha[i] * (s.g[i] + s.p[i])).sum::<f64>() / 2.0;
    let mut alpha = vec![0.0; l];
    for i in 0..l {
        alpha[s.active_set[i]] = s.alpha[i];
    }
    BinarySolution {
        alpha,
        rho,
        obj,
        iterations: iter,
        hit_max_iter,
    }
}

struct Solver {
    l: usize,
    active_size: usize,
    y: Vec<i8>,
    g: Vec<f64>,
    g_bar: Vec<f64>,
    alpha: Vec<f64>,
    status: Vec<Status>,
    p: Vec<f64>,
    active_set: Vec<usize>,
    cp: f64,
    cn: f64,
    eps: f64,
    unshrink: bool,
}

impl Solver {
    fn c(&self, i: usize) -> f64 {
        if self.y[i] > 0 { self.cp } else { self.cn }
    }
    fn update_status(&mut self, i: usize) {
        self.status[i] = if self.alpha[i] >= self.c(i) {
            Status::Upper
        } else if self.alpha[i] <= 0.0 {
            Status::Lower
        } else {
            Status::Free
        };
    }
    fn is_upper(&self, i: usize) -> bool {
        self.status[i] == Status::Upper
    }
    fn is_lower(&self, i: usize) -> bool {
        self.status[i] == Status::Lower
    }
    fn is_free(&self, i: usize) -> bool {
        self.status[i] == Status::Free
    }

    fn swap_index<K: Kernel + ?Sized>(&mut self, q: &mut SvcQ<'_, K>, i: usize, j: usize) {
        q.swap_index(i, j);
        self.y.swap(i, j);
        self.g.swap(i, j);
        self.status.swap(i, j);
        self.alpha.swap(i, j);
        self.p.swap(i, j);
        self.active_set.swap(i, j);
        self.g_bar.swap(i, j);
    }

    /// The two-variable analytic update with clipping, then gradient updates.
    fn take_step<K: Kernel + ?Sized>(&mut self, q: &mut SvcQ<'_, K>, i: usize, j: usize) {
        let active = self.active_size;
        let (qd_i, qd_j) = (q.qd[i], q.qd[j]);
        let (qi, qj) = q.get_q_pair(i, j, active);
        let (ci, cj) = (self.c(i), self.c(j));
        let (old_ai, old_aj) = (self.alpha[i], self.alpha[j]);
        let a = &mut self.alpha;
        if self.y[i] != self.y[j] {
            let mut quad = qd_i + qd_j + 2.0 * qi[j] as f64;
            if quad <= 0.0 {
                quad = TAU;
            }
            let delta = (-self.g[i] - self.g[j]) / quad;
            let diff = a[i] - a[j];
            a[i] += delta;
            a[j] += delta;
            if diff > 0.0 {
                if a[j] < 0.0 {
                    a[j] = 0.0;
                    a[i] = diff;
                }
            } else if a[i] < 0.0 {
                a[i] = 0.0;
                a[j] = -diff;
            }
            if diff > ci - cj {
                if a[i] > ci {
                    a[i] = ci;
                    a[j] = ci - diff;
                }
            } else if a[j] > cj {
                a[j] = cj;
                a[i] = cj + diff;
            }
        } else {
            let mut quad = qd_i + qd_j - 2.0 * qi[j] as f64;
            if quad <= 0.0 {
                quad = TAU;
            }
            let delta = (self.g[i] - self.g[j]) / quad;
            let sum = a[i] + a[j];
            a[i] -= delta;
            a[j] += delta;
            if sum > ci {
                if a[i] > ci {
                    a[i] = ci;
                    a[j] = sum - ci;
                }
            } else if a[j] < 0.0 {
                a[j] = 0.0;
                a[i] = sum;
            }
            if sum > cj {
                if a[j] > cj {
                    a[j] = cj;
                    a[i] = sum - cj;
                }
            } else if a[i] < 0.0 {
                a[i] = 0.0;
                a[j] = sum;
            }
        }
        let dai = a[i] - old_ai;
        let daj = a[j] - old_aj;
        // Element-wise (no reduction), so the zip form vectorizes and stays
        // bit-identical to LIBSVM's indexed loop.
        for ((g, &a), &b) in self.g[..active].iter_mut().zip(qi).zip(qj) {
            *g += a as f64 * dai + b as f64 * daj;
        }
        let (ui, uj) = (self.is_upper(i), self.is_upper(j));
        self.update_status(i);
        self.update_status(j);
        let l = self.l;
        if ui != self.is_upper(i) {
            let (qi, _) = q.get_q(i, l);
            let sign = if ui { -ci } else { ci };
            for (gb, &v) in self.g_bar.iter_mut().zip(qi) {
                *gb += sign * v as f64;
            }
        }
        if uj != self.is_upper(j) {
            let (qj, _) = q.get_q(j, l);
            let sign = if uj { -cj } else { cj };
            for (gb, &v) in self.g_bar.iter_mut().zip(qj) {
                *gb += sign * v as f64;
            }
        }
    }

    /// WSS3; `None` when the maximal violation is below `eps` (optimal).
    ///
    /// The hottest loop of training: every array is sliced to the active set
    /// first so that the compiler can drop bounds checks.
    fn select_working_set<K: Kernel + ?Sized>(
        &self,
        q: &mut SvcQ<'_, K>,
    ) -> Option<(usize, usize)> {
        let n = self.active_size;
        let (y, g, st) = (&self.y[..n], &self.g[..n], &self.status[..n]);
        let mut gmax = f64::NEG_INFINITY;
        let mut gmax2 = f64::NEG_INFINITY;
        let mut gmax_idx = None;
        let mut gmin_idx = None;
        let mut obj_diff_min = f64::INFINITY;
        for t in 0..n {
            if y[t] == 1 {
                if st[t] != Status::Upper && -g[t] >= gmax {
                    gmax = -g[t];
                    gmax_idx = Some(t);
                }
            } else if st[t] != Status::Lower && g[t] >= gmax {
                gmax = g[t];
                gmax_idx = Some(t);
            }
        }
        let i = gmax_idx?;
        let yi = y[i] as f64;
        let (qi, qd) = q.get_q(i, n);
        let (qi, qd) = (&qi[..n], &qd[..n]);
        let qd_i = qd[i];
        for j in 0..n {
            if y[j] == 1 {
                if st[j] != Status::Lower {
                    let grad_diff = gmax + g[j];
                    if g[j] >= gmax2 {
                        gmax2 = g[j];
                    }
                    if grad_diff > 0.0 {
                        let quad = qd_i + qd[j] - 2.0 * yi * qi[j] as f64;
                        let obj_diff = if quad > 0.0 {
                            -(grad_diff * grad_diff) / quad
                        } else {
                            -(grad_diff * grad_diff) / TAU
                        };
                        if obj_diff <= obj_diff_min {
                            gmin_idx = Some(j);
                            obj_diff_min = obj_diff;
                        }
                    }
                }
            } else if st[j] != Status::Upper {
                let grad_diff = gmax - g[j];
                if -g[j] >= gmax2 {
                    gmax2 = -g[j];
                }
                if grad_diff > 0.0 {
                    let quad = qd_i + qd[j] + 2.0 * yi * qi[j] as f64;
                    let obj_diff = if quad > 0.0 {
                        -(grad_diff * grad_diff) / quad
                    } else {
                        -(grad_diff * grad_diff) / TAU
                    };
                    if obj_diff <= obj_diff_min {
                        gmin_idx = Some(j);
                        obj_diff_min = obj_diff;
                    }
                }
            }
        }
        if gmax + gmax2 < self.eps {
            return None;
        }
        gmin_idx.map(|j| (i, j))
    }

    /// Recomputes the gradient of shrunk variables from `G_bar` and the free α.
    fn reconstruct_gradient<K: Kernel + ?Sized>(&mut self, q: &mut SvcQ<'_, K>) {
        let (active, l) = (self.active_size, self.l);
        if active == l {
            return;
        }
        for j in active..l {
            self.g[j] = self.g_bar[j] + self.p[j];
        }
        let nr_free = (0..active).filter(|&j| self.is_free(j)).count();
        if nr_free * l > 2 * active * (l - active) {
            for i in active..l {
                let (qi, _) = q.get_q(i, active);
                let mut acc = 0.0;
                for j in 0..active {
                    if self.status[j] == Status::Free {
                        acc += self.alpha[j] * qi[j] as f64;
                    }
                }
                self.g[i] += acc;
            }
        } else {
            for i in 0..active {
                if self.is_free(i) {
                    let (qi, _) = q.get_q(i, l);
                    let ai = self.alpha[i];
                    for j in active..l {
                        self.g[j] += ai * qi[j] as f64;
                    }
                }
            }
        }
    }

    fn be_shrunk(&self, i: usize, gmax1: f64, gmax2: f64) -> bool {
        if self.is_upper(i) {
            if self.y[i] == 1 {
                -self.g[i] > gmax1
            } else {
                -self.g[i] > gmax2
            }
        } else if self.is_lower(i) {
            if self.y[i] == 1 {
                self.g[i] > gmax2
            } else {
                self.g[i] > gmax1
            }
        } else {
            false
        }
    }

    fn do_shrinking<K: Kernel + ?Sized>(&mut self, q: &mut SvcQ<'_, K>) {
        let mut gmax1 = f64::NEG_INFINITY; // max { -y_i G_i | i in I_up }
        let mut gmax2 = f64::NEG_INFINITY; // max { y_i G_i | i in I_low }
        for i in 0..self.active_size {
            if self.y[i] == 1 {
                if !self.is_upper(i) && -self.g[i] >= gmax1 {
                    gmax1 = -self.g[i];
                }
                if !self.is_lower(i) && self.g[i] >= gmax2 {
                    gmax2 = self.g[i];
                }
            } else {
                if !self.is_upper(i) && -self.g[i] >= gmax2 {
                    gmax2 = -self.g[i];
                }
                if !self.is_lower(i) && self.g[i] >= gmax1 {
                    gmax1 = self.g[i];
                }
            }
        }
        if !self.unshrink && gmax1 + gmax2 <= self.eps * 10.0 {
            self.unshrink = true;
            self.reconstruct_gradient(q);
            self.active_size = self.l;
        }
        let mut i = 0;
        while i < self.active_size {
            if self.be_shrunk(i, gmax1, gmax2) {
                self.active_size -= 1;
                while self.active_size > i {
                    if !self.be_shrunk(self.active_size, gmax1, gmax2) {
                        let a = self.active_size;
                        self.swap_index(q, i, a);
                        break;
                    }
                    self.active_size -= 1;
                }
            }
            i += 1;
        }
    }

    fn calculate_rho(&self) -> f64 {
        let mut nr_free = 0usize;
        let (mut ub, mut lb, mut sum_free) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        for i in 0..self.active_size {
            let yg = self.y[i] as f64 * self.g[i];
            if self.is_upper(i) {
                if self.y[i] == -1 {
                    ub = ub.min(yg);
                } else {
                    lb = lb.max(yg);
                }
            } else if self.is_lower(i) {
                if self.y[i] == 1 {
                    ub = ub.min(yg);
                } else {
                    lb = lb.max(yg);
                }
            } else {
                nr_free += 1;
                sum_free += yg;
            }
        }
        if nr_free > 0 {
            sum_free / nr_free as f64
        } else {
            (ub + lb) / 2.0
        }
    }
}
