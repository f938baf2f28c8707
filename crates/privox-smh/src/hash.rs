//! Batch hashing `h(x) = floor((A x + w) / Δ) mod k` as one blocked matrix product.
//!
//! The default kernel (AVX-512) computes `s = [A | w]·[x; 1] / (kΔ)` in f32,
//! 6 rows × 64 symbols per register tile (24 zmm accumulators), with `A` packed
//! once per key into (L+1) × 64 panels that stay in L1 while a task's rows
//! stream past. Each finished tile is quantized in registers
//! (`floor(x/Δ) mod k = floor(k·frac(s))`) and written as one u64 word per
//! bit-plane, so no projection is ever stored. Symbols whose f32 value lies
//! within a proven error bound of a cell boundary are recomputed in f64, so
//! the codes are those of the f64 computation. Row blocks run in parallel
//! with rayon. All-f64 kernels (AVX-512, AVX2/FMA, portable) remain for CPUs
//! without AVX-512, for inputs too large for the f32 range, and for
//! comparison (`PRIVOX_SMH_KERNEL=f64`). FMA changes the last bit of an f64
//! `A x`, so on the f64 kernels a projection within ~1e-15 of a cell boundary
//! may quantize differently across CPUs; this is far below the noise the
//! scheme tolerates.

use crate::{CodeSpace, Codes, SmhError, SmhKey};
use rayon::prelude::*;
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// Symbols per micro-tile of the f64 kernels (one packed panel of `Aᵀ` is L × C).
const C: usize = 16;
/// Rows per parallel task of the f64 kernels: each panel of `Aᵀ` is reused from L1 across them.
const ROWS_PER_TASK: usize = 32;
/// Symbols per panel group of the f32 kernel: exactly one u64 word of each bit-plane.
const G: usize = 64;
/// Rows per register tile of the f32 kernel (R32 × 64 symbols = 24 zmm accumulators).
const R32: usize = 6;
/// Rows per parallel task of the f32 kernel: the task's f32 rows (48 × 89 × 4 B)
/// and one panel group ((L+1) × 64 × 4 B) fit in L1 together for L = 88.
const ROWS_PER_TASK32: usize = 48;
/// Beyond this magnitude of floor(v/Δ) the fast exact modulo path is not exact.
const FAST_MOD_LIMIT: f64 = (1u64 << 40) as f64;
/// Projections beyond this many cells take the all-f64 path (f32 integers
/// are exact below 2^24; the margin keeps fix-up arithmetic exact).
const F32_PATH_MAX_CELL: f64 = (1u32 << 22) as f64;
/// Inputs beyond this magnitude are refused: the projection could overflow.
pub const MAX_ABS_FEATURE: f64 = 1e100;

impl SmhKey {
    /// Hashes one feature vector of length L.
    pub fn hash_one(&self, x: &[f64]) -> Result<Codes, SmhError> {
        if x.len() != self.params().dim() {
            return Err(SmhError::WrongDim {
                expected: self.params().dim(),
                found: x.len(),
            });
        }
        self.hash(x, x.len())
    }

    /// Hashes a row-major batch of feature vectors of length L each.
    ///
    /// `x.len()` must be a multiple of L.
    pub fn hash_rows(&self, x: &[f64]) -> Result<Codes, SmhError> {
        self.hash(x, self.params().dim())
    }

    /// Hashes a row-major `rows × cols` matrix; `cols` must equal L.
    ///
    /// NaN or infinite values and a wrong feature count are typed errors.
    /// The first call with a key packs the key for the kernel (about a
    /// millisecond for M = 2816, L = 88); later calls reuse that layout.
    pub fn hash(&self, x: &[f64], cols: usize) -> Result<Codes, SmhError> {
        let p = *self.params();
        let l = p.dim();
        if cols != l {
            return Err(SmhError::WrongDim {
                expected: l,
                found: cols,
            });
        }
        if !x.len().is_multiple_of(l) {
            return Err(SmhError::RaggedInput {
                what: "feature matrix",
                len: x.len(),
                dim: l,
            });
        }
        // A branch-free pass (vectorizes) first; the position only on failure.
        let in_range = |v: &f64| v.abs() <= MAX_ABS_FEATURE; // false for NaN
        if !x
            .chunks(256)
            .all(|c| c.iter().fold(true, |ok, v| ok & in_range(v)))
            && let Some(pos) = x.iter().position(|v| !in_range(v))
        {
            return Err(SmhError::NonFinite {
                row: pos / l,
                col: pos % l,
                value: x[pos],
            });
        }
        let n = x.len() / l;
        let space = CodeSpace {
            params: p,
            key_id: self.key_id(),
        };
        let mut codes = Codes::zeros(space, n);
        if n == 0 {
            return Ok(codes);
        }
        let ctx = Ctx::new(self);
        let stride = codes.stride();
        let cache = self.kernel_cache();
        #[cfg(target_arch = "x86_64")]
        if matches!(detect(), Level::Avx512F32) {
            let p32 = cache.f32.get_or_init(|| Panels32::new(self));
            codes
                .rows_mut()
                .par_chunks_mut(ROWS_PER_TASK32 * stride)
                .zip(x.par_chunks(ROWS_PER_TASK32 * l))
                .for_each(|(out, xs)| {
                    // SAFETY: AVX-512F/BW/VL/DQ and FMA were detected at run time in `detect`.
                    let done = unsafe { hash_block_avx512_f32(&ctx, p32, xs, out) };
                    if !done {
                        let p64 = cache.f64.get_or_init(|| Panels64::new(self));
                        // SAFETY: as above, the same features.
                        unsafe { hash_block_avx512(&ctx, p64, xs, out) }
                    }
                });
            return Ok(codes);
        }
        let p64 = cache.f64.get_or_init(|| Panels64::new(self));
        let level = detect();
        codes
            .rows_mut()
            .par_chunks_mut(ROWS_PER_TASK * stride)
            .zip(x.par_chunks(ROWS_PER_TASK * l))
            .for_each(|(out, xs)| match level {
                Level::Portable => hash_block_portable(&ctx, p64, xs, out),
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the enabled CPU features were detected at run time in `detect`.
                Level::Avx2 => unsafe { hash_block_avx2(&ctx, p64, xs, out) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                Level::Avx512 | Level::Avx512F32 => unsafe {
                    hash_block_avx512(&ctx, p64, xs, out)
                },
            });
        Ok(codes)
    }
}

/// Kernel layouts of a key, built on first use and kept with the key. They
/// are secret copies of `(A, w)`, zeroized on drop.
#[derive(Default)]
pub(crate) struct KernelCache {
    f32: OnceLock<Panels32>,
    f64: OnceLock<Panels64>,
}

/// The key's public shape and its row-major secret material, for one call.
struct Ctx<'k> {
    /// Row-major A (M × L), for the f64 kernels' quantization and for exact
    /// recomputation near cell boundaries.
    a: &'k [f64],
    w: &'k [f64],
    l: usize,
    m: usize,
    words: usize,
    planes: usize,
    k: f64,
    delta: f64,
}

impl<'k> Ctx<'k> {
    fn new(key: &'k SmhKey) -> Self {
        let p = key.params();
        Ctx {
            a: key.projection(),
            w: key.dither(),
            l: p.dim(),
            m: p.symbols(),
            words: p.words_per_plane(),
            planes: p.planes(),
            k: p.k() as f64,
            delta: p.delta(),
        }
    }

    /// The symbol of row `x` at position `m`, computed in f64 exactly as the
    /// definition reads (the reference the f32 kernel's fix-ups reproduce).
    fn exact_symbol(&self, x: &[f64], m: usize) -> u32 {
        let a = &self.a[m * self.l..(m + 1) * self.l];
        let v = a.iter().zip(x).map(|(a, x)| a * x).sum::<f64>() + self.w[m];
        (v * (1.0 / self.delta)).floor().rem_euclid(self.k) as u32
    }
}

/// `Aᵀ` packed in panels of C columns (panel b holds rows l = 0..L of
/// columns bC..bC+C, contiguous) and `w` padded to a multiple of C.
struct Panels64 {
    panels: Zeroizing<Vec<f64>>,
    w: Zeroizing<Vec<f64>>,
    mp: usize,
}

impl Panels64 {
    fn new(key: &SmhKey) -> Self {
        let p = key.params();
        let (m, l) = (p.symbols(), p.dim());
        let mp = m.div_ceil(C) * C;
        let mut panels = Zeroizing::new(vec![0.0; l * mp]);
        for (mi, row) in key.projection().chunks_exact(l).enumerate() {
            let (b, c) = (mi / C, mi % C);
            for (li, &v) in row.iter().enumerate() {
                panels[b * l * C + li * C + c] = v;
            }
        }
        let mut w = Zeroizing::new(vec![0.0; mp]);
        w[..m].copy_from_slice(key.dither());
        Panels64 { panels, w, mp }
    }
}

/// The f32 kernel's layout: `[A | w] / (kΔ)` in groups of G = 64 symbols,
/// group g holding (L+1) rows of 64 consecutive symbols (padding symbols are
/// all zero), plus per-symbol coefficients of the f32 error bound.
struct Panels32 {
    panels: Zeroizing<Vec<f32>>,
    /// The bound on |y − y_exact| (y = k·frac(s), in cells) for symbol m
    /// and a row x is `eps_a[m]·‖x‖₂ + eps_w[m]`.
    eps_a: Zeroizing<Vec<f32>>,
    eps_w: Zeroizing<Vec<f32>>,
    /// max_m ‖A_m‖₂/Δ, for the f32 range check.
    a_norm_max: f64,
}

impl Panels32 {
    /// Error bound: with unit roundoff u = 2⁻²⁴, rounding `A/(kΔ)`, `w/(kΔ)`
    /// and x to f32 and an (L+1)-term FMA chain err by at most
    /// γ_{L+4}·(Σ|A_ml x_l| + w_m)/(kΔ) ≤ γ_{L+4}·(‖A_m‖‖x‖ + w_m)/(kΔ) in s
    /// (Cauchy–Schwarz), γ_n = nu/(1 − nu). `frac(s)` is exact, so in units
    /// of y = k·frac(s) the error is k times that plus the rounding of the
    /// product k·frac(s) (≤ k·u). We use 2γ, a 2⁻²⁰ relative and a 1e-6
    /// absolute slack on top.
    fn new(key: &SmhKey) -> Self {
        let p = key.params();
        let (m, l) = (p.symbols(), p.dim());
        let (l1, groups) = (l + 1, m.div_ceil(G));
        let k = p.k() as f64;
        let scale = 1.0 / (k * p.delta());
        let inv_delta = 1.0 / p.delta();
        let u = (2.0f64).powi(-24);
        let n = (l + 4) as f64;
        let rel = 2.0 * n * u / (1.0 - n * u) + (2.0f64).powi(-20);
        let mut panels = Zeroizing::new(vec![0.0f32; groups * l1 * G]);
        let mut eps_a = Zeroizing::new(vec![0.0f32; groups * G]);
        let mut eps_w = Zeroizing::new(vec![0.0f32; groups * G]);
        let (a, dither) = (key.projection(), key.dither());
        // One group of 64 symbols per task (a service's first call pays this once).
        let a_norm_max = panels
            .par_chunks_mut(l1 * G)
            .zip(eps_a.par_chunks_mut(G))
            .zip(eps_w.par_chunks_mut(G))
            .enumerate()
            .map(|(g, ((group, ea), ew))| {
                let mut norm_max = 0.0f64;
                for lane in 0..G.min(m - g * G) {
                    let mi = g * G + lane;
                    let (row, w) = (&a[mi * l..(mi + 1) * l], dither[mi]);
                    for (li, &v) in row.iter().enumerate() {
                        group[li * G + lane] = (v * scale) as f32;
                    }
                    group[l * G + lane] = (w * scale) as f32;
                    let a_norm = row.iter().map(|v| v * v).sum::<f64>().sqrt() * inv_delta;
                    norm_max = norm_max.max(a_norm);
                    // Rounded up a little so the f32 coefficients stay upper bounds.
                    ea[lane] = (rel * a_norm * (1.0 + 1e-6)) as f32;
                    ew[lane] = (rel * w * inv_delta * (1.0 + 1e-6) + 1e-6 + k * 2.0 * u) as f32;
                }
                norm_max
            })
            .reduce(|| 0.0, f64::max);
        Panels32 {
            panels,
            eps_a,
            eps_w,
            a_norm_max,
        }
    }
}

#[derive(Clone, Copy)]
enum Level {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// f32 products with exact f64 recomputation near cell boundaries.
    #[cfg(target_arch = "x86_64")]
    Avx512F32,
}

/// The fastest kernel this CPU supports. `PRIVOX_SMH_KERNEL=f64` skips the
/// f32 fast path (for benchmarking the two; codes are the same either way).
fn detect() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        let avx512 = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("fma");
        if avx512 {
            let force_f64 = std::env::var("PRIVOX_SMH_KERNEL").is_ok_and(|v| v == "f64");
            return if force_f64 {
                Level::Avx512
            } else {
                Level::Avx512F32
            };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Level::Avx2;
        }
    }
    Level::Portable
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn hash_block_avx2(ctx: &Ctx, p64: &Panels64, xs: &[f64], out: &mut [u64]) {
    hash_block::<2>(ctx, p64, xs, out, |xt, panel| {
        // The closure inherits avx2+fma from this function (verified by `detect`).
        simd::tile_avx2(xt, panel)
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma")]
fn hash_block_avx512(ctx: &Ctx, p64: &Panels64, xs: &[f64], out: &mut [u64]) {
    hash_block::<8>(ctx, p64, xs, out, |xt, panel| {
        // The closure inherits avx512f+fma from this function (verified by `detect`).
        simd::tile_avx512(xt, panel)
    })
}

fn hash_block_portable(ctx: &Ctx, p64: &Panels64, xs: &[f64], out: &mut [u64]) {
    hash_block::<2>(ctx, p64, xs, out, tile_portable::<2>)
}

/// Hashes up to ROWS_PER_TASK rows `xs` into their packed codes `out` (f64).
///
/// Panel by panel of `Aᵀ` (kept in L1), R rows at a time, projections plus
/// dither go to a scratch buffer; then each row is quantized and packed.
/// `tile` computes the R × C dot products of an L × R slab of transposed rows
/// with an L × C panel.
#[inline(always)]
fn hash_block<const R: usize>(
    ctx: &Ctx,
    p64: &Panels64,
    xs: &[f64],
    out: &mut [u64],
    tile: impl Fn(&[f64], &[f64]) -> [[f64; C]; R],
) {
    let l = ctx.l;
    let mp = p64.mp;
    let stride = ctx.words * ctx.planes;
    let rows = xs.len() / l;
    let blocks = rows.div_ceil(R);
    // x transposed per R-row block: xt[b][li][r], zero-padded rows.
    let mut xt = vec![0.0f64; blocks * l * R];
    for (i, row) in xs.chunks_exact(l).enumerate() {
        let (b, r) = (i / R, i % R);
        for (li, &v) in row.iter().enumerate() {
            xt[b * l * R + li * R + r] = v;
        }
    }
    let mut vals = vec![0.0f64; blocks * R * mp];
    for (pb, panel) in p64.panels.chunks_exact(l * C).enumerate() {
        let w = &p64.w[pb * C..(pb + 1) * C];
        for (b, xblk) in xt.chunks_exact(l * R).enumerate() {
            let acc = tile(xblk, panel);
            for (r, acc_r) in acc.iter().enumerate() {
                let dst = &mut vals[(b * R + r) * mp + pb * C..][..C];
                for c in 0..C {
                    dst[c] = acc_r[c] + w[c];
                }
            }
        }
    }
    for (v, code) in vals.chunks_exact(mp).zip(out.chunks_exact_mut(stride)) {
        quantize_pack(&v[..ctx.m], code, ctx);
    }
}

/// The f32 fast path for up to ROWS_PER_TASK32 rows `xs` and their codes `out`.
///
/// For each 64-symbol panel group (kept in L1) and each tile of R32 rows,
/// `s = [A | w]/(kΔ)·[x; 1]` accumulates in 24 zmm registers; then, still in
/// registers, `f = s − floor(s)` (exact), `y = k·f` and the symbol
/// `floor(y) = floor((A x + w)/Δ) mod k`, whose bits are written as one word
/// per bit-plane. Every y whose fractional part is within the bound of
/// [`Panels32::new`] of 0 or 1 is recomputed in f64 afterwards and its symbol
/// patched, so the codes are those of the f64 computation. At k = 3, Δ = 2,
/// mpc = 32 that is 0.06 % of symbols (in about 80 % of rows) on the scaled
/// eGeMAPS rows of nEMO + EmoDB and on U[-1, 1]^88 alike (a few per cent of
/// the run time in perf profiles).
///
/// Returns false, having written nothing, when a row is too large for the
/// f32 range (|(A x + w)/Δ| could reach 2^22); the caller then uses an f64 kernel.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma")]
fn hash_block_avx512_f32(ctx: &Ctx, p32: &Panels32, xs: &[f64], out: &mut [u64]) -> bool {
    match ctx.planes {
        1 => tile_rows_f32::<1>(ctx, p32, xs, out),
        2 => tile_rows_f32::<2>(ctx, p32, xs, out),
        3 => tile_rows_f32::<3>(ctx, p32, xs, out),
        4 => tile_rows_f32::<4>(ctx, p32, xs, out),
        5 => tile_rows_f32::<5>(ctx, p32, xs, out),
        6 => tile_rows_f32::<6>(ctx, p32, xs, out),
        7 => tile_rows_f32::<7>(ctx, p32, xs, out),
        _ => tile_rows_f32::<8>(ctx, p32, xs, out),
    }
}

/// [`hash_block_avx512_f32`] for P bit-planes (k ≤ 2^P).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma")]
fn tile_rows_f32<const P: usize>(ctx: &Ctx, p32: &Panels32, xs: &[f64], out: &mut [u64]) -> bool {
    use std::arch::x86_64::*;
    const FLOOR: i32 = _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC;
    let l = ctx.l;
    let l1 = l + 1;
    let (words, stride) = (ctx.words, ctx.words * ctx.planes);
    let rows = xs.len() / l;
    let blocks = rows.div_ceil(R32);
    // Transposed f32 rows with the constant 1 that multiplies w/(kΔ): xt[b][li][r].
    let mut xt = vec![0.0f32; blocks * l1 * R32];
    let mut x_norm = vec![0.0f32; blocks * R32];
    for (i, row) in xs.chunks_exact(l).enumerate() {
        let (b, r) = (i / R32, i % R32);
        let slab = &mut xt[b * l1 * R32..(b + 1) * l1 * R32];
        for (li, &v) in row.iter().enumerate() {
            slab[li * R32 + r] = v as f32;
        }
        slab[l * R32 + r] = 1.0;
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        // The f32 path needs |(A x + w)/Δ| < 2^22 so that integer parts are
        // exact in f32; bound it by ‖A_m‖‖x‖/Δ + w_m/Δ.
        if p32.a_norm_max * norm + ctx.k > F32_PATH_MAX_CELL {
            return false;
        }
        x_norm[i] = (norm * (1.0 + 1e-6)) as f32;
    }
    let kv = _mm512_set1_ps(ctx.k as f32);
    let one = _mm512_set1_ps(1.0);
    let plane_bit: [__m512i; P] = std::array::from_fn(|p| _mm512_set1_epi32(1 << p));
    let mut fixes: Vec<(usize, usize, u64)> = Vec::new();
    for (g, group) in p32.panels.chunks_exact(l1 * G).enumerate() {
        // SAFETY: eps_a and eps_w hold groups · 64 values, g < groups.
        let (ea, ew): ([__m512; 4], [__m512; 4]) = unsafe {
            (
                std::array::from_fn(|s| _mm512_loadu_ps(p32.eps_a.as_ptr().add(g * G + 16 * s))),
                std::array::from_fn(|s| _mm512_loadu_ps(p32.eps_w.as_ptr().add(g * G + 16 * s))),
            )
        };
        for (b, slab) in xt.chunks_exact(l1 * R32).enumerate() {
            let mut acc = [[_mm512_setzero_ps(); 4]; R32];
            for li in 0..l1 {
                // SAFETY: li * G + 64 <= group.len() = l1 * G and
                // li * R32 + R32 <= slab.len() = l1 * R32.
                unsafe {
                    let ap = group.as_ptr().add(li * G);
                    let a = [
                        _mm512_loadu_ps(ap),
                        _mm512_loadu_ps(ap.add(16)),
                        _mm512_loadu_ps(ap.add(32)),
                        _mm512_loadu_ps(ap.add(48)),
                    ];
                    let xp = slab.as_ptr().add(li * R32);
                    for (r, acc_r) in acc.iter_mut().enumerate() {
                        let xv = _mm512_set1_ps(*xp.add(r));
                        for (acc_rs, &a_s) in acc_r.iter_mut().zip(&a) {
                            *acc_rs = _mm512_fmadd_ps(xv, a_s, *acc_rs);
                        }
                    }
                }
            }
            for (r, acc_r) in acc.iter().enumerate() {
                let row = b * R32 + r;
                if row >= rows {
                    break;
                }
                let xn = _mm512_set1_ps(x_norm[row]);
                let mut near = 0u64;
                let mut bits = [0u64; P];
                for (s, &sv) in acc_r.iter().enumerate() {
                    let f = _mm512_sub_ps(sv, _mm512_roundscale_ps::<FLOOR>(sv));
                    let y = _mm512_mul_ps(f, kv);
                    let yf = _mm512_roundscale_ps::<FLOOR>(y);
                    let frac = _mm512_sub_ps(y, yf);
                    let eps = _mm512_fmadd_ps(ea[s], xn, ew[s]);
                    let m = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(frac, eps)
                        | _mm512_cmp_ps_mask::<_CMP_GT_OQ>(frac, _mm512_sub_ps(one, eps));
                    near |= (m as u64) << (16 * s);
                    // y ≥ 0, so truncation is floor; a y rounded up to k is flagged above.
                    let sym = _mm512_cvttps_epi32(yf);
                    for (bits_p, &bit) in bits.iter_mut().zip(&plane_bit) {
                        *bits_p |= (_mm512_test_epi32_mask(sym, bit) as u64) << (16 * s);
                    }
                }
                let code = &mut out[row * stride..(row + 1) * stride];
                for (p, &bits_p) in bits.iter().enumerate() {
                    code[p * words + g] = bits_p;
                }
                if near != 0 {
                    fixes.push((row, g, near));
                }
            }
        }
    }
    for (row, g, mut mask) in fixes {
        let x = &xs[row * l..(row + 1) * l];
        let code = &mut out[row * stride..(row + 1) * stride];
        while mask != 0 {
            let lane = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let m = g * G + lane;
            if m >= ctx.m {
                break;
            }
            let sym = ctx.exact_symbol(x, m);
            let bit = 1u64 << lane;
            for p in 0..P {
                let word = &mut code[p * words + g];
                *word = if (sym >> p) & 1 == 1 {
                    *word | bit
                } else {
                    *word & !bit
                };
            }
        }
    }
    true
}

/// Portable R × C tile (no FMA, so results match `a * b + c` everywhere).
fn tile_portable<const R: usize>(xt: &[f64], panel: &[f64]) -> [[f64; C]; R] {
    let mut acc = [[0.0f64; C]; R];
    for (xv, a) in xt.chunks_exact(R).zip(panel.chunks_exact(C)) {
        for (acc_r, &x) in acc.iter_mut().zip(xv) {
            for (o, &a) in acc_r.iter_mut().zip(a) {
                *o += x * a;
            }
        }
    }
    acc
}

/// Register-blocked tiles with explicit SIMD (autovectorization picked the
/// wrong axis here and spilled the accumulators).
#[cfg(target_arch = "x86_64")]
mod simd {
    use super::C;
    use std::arch::x86_64::*;

    /// 8 rows × 16 symbols: 16 zmm accumulators.
    #[target_feature(enable = "avx512f,fma")]
    pub(super) fn tile_avx512(xt: &[f64], panel: &[f64]) -> [[f64; C]; 8] {
        let l = panel.len() / C;
        assert!(xt.len() >= l * 8, "slab holds L x 8 values");
        let mut acc = [_mm512_setzero_pd(); 16];
        for li in 0..l {
            // SAFETY: li * C + 16 <= panel.len() and li * 8 + 8 <= xt.len() (asserted above).
            unsafe {
                let a0 = _mm512_loadu_pd(panel.as_ptr().add(li * C));
                let a1 = _mm512_loadu_pd(panel.as_ptr().add(li * C + 8));
                let x = xt.as_ptr().add(li * 8);
                for r in 0..8 {
                    let xv = _mm512_set1_pd(*x.add(r));
                    acc[2 * r] = _mm512_fmadd_pd(xv, a0, acc[2 * r]);
                    acc[2 * r + 1] = _mm512_fmadd_pd(xv, a1, acc[2 * r + 1]);
                }
            }
        }
        let mut out = [[0.0; C]; 8];
        for (r, o) in out.iter_mut().enumerate() {
            // SAFETY: each row of `out` holds exactly 16 f64.
            unsafe {
                _mm512_storeu_pd(o.as_mut_ptr(), acc[2 * r]);
                _mm512_storeu_pd(o.as_mut_ptr().add(8), acc[2 * r + 1]);
            }
        }
        out
    }

    /// 2 rows × 16 symbols: 8 ymm accumulators.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn tile_avx2(xt: &[f64], panel: &[f64]) -> [[f64; C]; 2] {
        let l = panel.len() / C;
        assert!(xt.len() >= l * 2, "slab holds L x 2 values");
        let mut acc = [_mm256_setzero_pd(); 8];
        for li in 0..l {
            // SAFETY: li * C + 16 <= panel.len() and li * 2 + 2 <= xt.len() (asserted above).
            unsafe {
                let p = panel.as_ptr().add(li * C);
                let a = [
                    _mm256_loadu_pd(p),
                    _mm256_loadu_pd(p.add(4)),
                    _mm256_loadu_pd(p.add(8)),
                    _mm256_loadu_pd(p.add(12)),
                ];
                let x = xt.as_ptr().add(li * 2);
                for r in 0..2 {
                    let xv = _mm256_set1_pd(*x.add(r));
                    for q in 0..4 {
                        acc[4 * r + q] = _mm256_fmadd_pd(xv, a[q], acc[4 * r + q]);
                    }
                }
            }
        }
        let mut out = [[0.0; C]; 2];
        for (r, o) in out.iter_mut().enumerate() {
            for q in 0..4 {
                // SAFETY: each row of `out` holds exactly 16 f64.
                unsafe { _mm256_storeu_pd(o.as_mut_ptr().add(4 * q), acc[4 * r + q]) };
            }
        }
        out
    }
}

/// Quantizes one row of projections `v = A x + w` to `floor(v/Δ) mod k` and
/// packs the symbols into the bit-planes of `code`, 64 symbols per word.
#[inline(always)]
fn quantize_pack(vals: &[f64], code: &mut [u64], ctx: &Ctx) {
    let (delta, k) = (ctx.delta, ctx.k);
    let (inv_delta, inv_k) = (1.0 / delta, 1.0 / k);
    for (wi, chunk) in vals.chunks(64).enumerate() {
        let mut syms = [0u8; 64];
        let mut slow = false;
        for (s, &v) in syms.iter_mut().zip(chunk) {
            // Multiplying by 1/Δ instead of dividing moves floor() only when
            // v/Δ is within an ulp of an integer, below the GEMM's own rounding.
            let q = (v * inv_delta).floor();
            slow |= q.is_nan() || q.abs() >= FAST_MOD_LIMIT;
            // q mod k without division: t is the quotient up to ±1, and for
            // |q| < 2^40 the products and differences below are exact integers.
            let t = (q * inv_k).floor();
            let mut r = q - k * t;
            r = if r < 0.0 { r + k } else { r };
            r = if r >= k { r - k } else { r };
            let r = if r >= 0.0 && r < k { r } else { 0.0 };
            // SAFETY: r is finite and in [0, k) ⊂ [0, 256) by the line above.
            *s = unsafe { r.to_int_unchecked::<i32>() } as u8;
        }
        if slow {
            for (s, &v) in syms.iter_mut().zip(chunk) {
                *s = (v * inv_delta).floor().rem_euclid(k) as u8;
            }
        }
        for p in 0..ctx.planes {
            code[p * ctx.words + wi] = pack_plane(&syms, p);
        }
    }
}

/// Bit p of each of 64 symbols, as one word (symbol j → bit j).
#[inline(always)]
fn pack_plane(syms: &[u8; 64], p: usize) -> u64 {
    let mut word = 0u64;
    for (j, bytes) in syms.chunks_exact(8).enumerate() {
        // Eight 0/1 bytes → eight bits: the multiply gathers byte i's low bit
        // into bit 56 + i without carries (a classic movemask emulation).
        let x = (u64::from_le_bytes(bytes.try_into().expect("chunks of 8")) >> p)
            & 0x0101_0101_0101_0101;
        word |= (x.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * j);
    }
    word
}

#[cfg(test)]
mod tests {
    use crate::{SmhError, SmhKey, SmhParams};

    /// Reference: one dot product per symbol, f64, the definition verbatim.
    fn reference(key: &SmhKey, x: &[f64]) -> Vec<u32> {
        let p = key.params();
        let l = p.dim();
        let mut out = Vec::new();
        for row in x.chunks(l) {
            for m in 0..p.symbols() {
                let a = &key.projection()[m * l..(m + 1) * l];
                let v: f64 = a.iter().zip(row).map(|(a, x)| a * x).sum::<f64>() + key.dither()[m];
                out.push((v * (1.0 / p.delta())).floor().rem_euclid(p.k() as f64) as u32);
            }
        }
        out
    }

    #[test]
    fn kernel_matches_definition() {
        for (k, delta, mpc, l, n) in [
            (2, 0.7, 3, 5, 1),
            (3, 0.7, 4, 11, 37),
            (5, 0.7, 1, 64, 9),
            (10, 0.7, 2, 88, 6),
            (7, 0.7, 5, 3, 70),
            // Many symbols with a fine step: stresses the f32 path's boundary recomputation.
            (3, 0.01, 4, 88, 200),
        ] {
            let p = SmhParams::new(k, delta, mpc, l).unwrap();
            let key = SmhKey::generate_with_seed(p, 11);
            let x: Vec<f64> = (0..n * l)
                .map(|i| ((i * 37 % 101) as f64 / 50.0 - 1.0) * 3.0)
                .collect();
            let codes = key.hash_rows(&x).unwrap();
            let expected = reference(&key, &x);
            let mut mismatches = 0;
            for i in 0..n {
                let got = codes.unpack(i).unwrap();
                let want = &expected[i * p.symbols()..(i + 1) * p.symbols()];
                mismatches += got.iter().zip(want).filter(|(a, b)| a != b).count();
            }
            // FMA vs. separate rounding may flip a symbol whose projection sits
            // within ~1e-15 of a boundary; with these sizes that never happens.
            assert_eq!(mismatches, 0, "k={k} mpc={mpc} l={l}");
        }
    }

    /// Scaled real features are full of exact ±1, zeros and repeated values,
    /// and batches are not multiples of the kernel's tiles: the f32 kernel
    /// (with its boundary fix-ups) must still give the f64 definition's
    /// codes, for every plane count, across tasks and on repeated calls with
    /// the key's cached layout.
    #[test]
    fn kernel_matches_definition_on_scaled_like_data() {
        for (k, delta, mpc, l, n) in [
            (3, 2.0, 3, 88, 97),
            (2, 0.5, 1, 70, 50),
            (5, 0.05, 2, 33, 13),
            (200, 0.3, 1, 65, 7),
            // A fine step puts many projections near boundaries: exercises the fix-ups.
            (3, 0.002, 2, 88, 61),
        ] {
            let p = SmhParams::new(k, delta, mpc, l).unwrap();
            let key = SmhKey::generate_with_seed(p, 5);
            let x: Vec<f64> = (0..n * l)
                .map(
                    |i| match ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % 11 {
                        0..=2 => 1.0,
                        3..=4 => -1.0,
                        5 => 0.0,
                        6 => 0.5,
                        j => (j as f64 - 8.0) / 3.0,
                    },
                )
                .collect();
            let expected = reference(&key, &x);
            for _ in 0..2 {
                let codes = key.hash_rows(&x).unwrap();
                for i in 0..n {
                    let got = codes.unpack(i).unwrap();
                    let want = &expected[i * p.symbols()..(i + 1) * p.symbols()];
                    assert_eq!(got, want, "k={k} l={l} row {i}");
                }
                let one = key.hash_one(&x[(n - 1) * l..]).unwrap();
                assert_eq!(one.row(0).unwrap(), codes.row(n - 1).unwrap());
            }
        }
    }

    #[test]
    fn huge_inputs_still_give_valid_symbols() {
        let p = SmhParams::new(3, 1.0, 2, 4).unwrap();
        let key = SmhKey::generate_with_seed(p, 1);
        let x = [1e90, -1e90, 3e15, -7.0];
        let codes = key.hash_rows(&x).unwrap();
        // With 1e90 inputs A·x is dominated by rounding (summation order
        // matters), so only validity is meaningful here.
        assert!(codes.unpack(0).unwrap().iter().all(|&s| s < 3));
        assert!(matches!(
            key.hash_rows(&[1e200, 0.0, 0.0, 0.0]),
            Err(SmhError::NonFinite { .. })
        ));
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let p = SmhParams::new(3, 1.0, 2, 4).unwrap();
        let key = SmhKey::generate_with_seed(p, 1);
        assert!(matches!(
            key.hash_rows(&[0.0, f64::NAN, 0.0, 0.0]),
            Err(SmhError::NonFinite { row: 0, col: 1, .. })
        ));
        assert!(matches!(
            key.hash_rows(&[0.0; 4 + 3]),
            Err(SmhError::RaggedInput { .. })
        ));
        assert!(matches!(
            key.hash(&[0.0; 10], 5),
            Err(SmhError::WrongDim {
                expected: 4,
                found: 5
            })
        ));
        assert!(matches!(
            key.hash_one(&[0.0; 3]),
            Err(SmhError::WrongDim { .. })
        ));
        assert!(matches!(
            key.hash_rows(&[f64::INFINITY, 0.0, 0.0, 0.0]),
            Err(SmhError::NonFinite { .. })
        ));
        assert_eq!(key.hash_rows(&[]).unwrap().len(), 0);
    }
}
