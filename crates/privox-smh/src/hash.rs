//! Batch hashing `h(x) = floor((A x + w) / Δ) mod k` as one blocked matrix product.
//!
//! The product `X · Aᵀ` is computed tile by tile (R rows × C symbols held in
//! registers, `Aᵀ` packed into L × C panels that stay in L1 while a block of
//! rows streams past), and each block of rows is quantized and packed into
//! bit-planes straight away, so only a 32-row scratch of projections exists
//! at any time, never the n × M matrix. Row blocks run in parallel with rayon.
//! The micro-kernel is compiled for AVX-512/FMA and AVX2/FMA and chosen at run
//! time, with a portable fallback. FMA changes the last bit of `A x`, so a
//! projection that lands within ~1e-15 of a cell boundary may quantize
//! differently across CPUs; this is far below the noise the scheme tolerates.

use crate::{CodeSpace, Codes, SmhError, SmhKey};
use rayon::prelude::*;
use zeroize::Zeroizing;

/// Symbols per micro-tile (one packed panel of `Aᵀ` is L × C).
const C: usize = 16;
/// Rows per parallel task: each panel of `Aᵀ` is reused from L1 across them.
const ROWS_PER_TASK: usize = 32;
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
                len: x.len(),
                dim: l,
            });
        }
        if let Some(pos) = x
            .iter()
            .position(|v| v.is_nan() || v.abs() > MAX_ABS_FEATURE)
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
        let prep = Prepared::new(self);
        let stride = codes.stride();
        let mut level = detect();
        // The f32 fast path needs |(A x + w)/Δ| < 2^22 so that integer parts
        // are exact in f32; bound it by ‖A_m‖‖x‖/Δ + w_m/Δ.
        #[cfg(target_arch = "x86_64")]
        if matches!(level, Level::Avx512F32) {
            let a_max = prep.a_norms.iter().fold(0.0f32, |m, &v| m.max(v)) as f64;
            let x_max = x
                .chunks_exact(l)
                .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt())
                .fold(0.0f64, f64::max);
            if a_max * x_max + p.k() as f64 > F32_PATH_MAX_CELL {
                level = Level::Avx512;
            }
        }
        codes
            .rows_mut()
            .par_chunks_mut(ROWS_PER_TASK * stride)
            .zip(x.par_chunks(ROWS_PER_TASK * l))
            .for_each(|(out, xs)| match level {
                Level::Portable => hash_block_portable(&prep, xs, out),
                // SAFETY: the enabled CPU features were detected at run time in `detect`.
                #[cfg(target_arch = "x86_64")]
                Level::Avx2 => unsafe { hash_block_avx2(&prep, xs, out) },
                #[cfg(target_arch = "x86_64")]
                Level::Avx512 => unsafe { hash_block_avx512(&prep, xs, out) },
                #[cfg(target_arch = "x86_64")]
                Level::Avx512F32 => unsafe { hash_block_avx512_f32(&prep, xs, out) },
            });
        Ok(codes)
    }
}

/// Key material rearranged for the kernel: `Aᵀ` packed in panels of C
/// columns (panel b holds rows l = 0..L of columns bC..bC+C, contiguous) and
/// `w` padded to a multiple of C. Both are secret copies, zeroized on drop.
struct Prepared<'k> {
    panels: Zeroizing<Vec<f64>>,
    /// f32 panels of the augmented matrix [A/Δ | w/Δ] ((L+1) × C each), for
    /// the fast path (see `hash_block_avx512_f32`).
    panels32: Zeroizing<Vec<f32>>,
    /// ‖A_m‖₂/Δ and w_m/Δ per symbol (padded): they bound the f32 error.
    a_norms: Zeroizing<Vec<f32>>,
    w_scaled: Zeroizing<Vec<f32>>,
    /// Row-major A, for exact recomputation near cell boundaries.
    a: &'k [f64],
    w: Zeroizing<Vec<f64>>,
    l: usize,
    m: usize,
    mp: usize,
    words: usize,
    planes: usize,
    k: f64,
    delta: f64,
}

impl<'k> Prepared<'k> {
    fn new(key: &'k SmhKey) -> Self {
        let p = key.params();
        let (m, l) = (p.symbols(), p.dim());
        let mp = m.div_ceil(C) * C;
        let a = key.projection();
        let mut panels = Zeroizing::new(vec![0.0; l * mp]);
        for (mi, row) in a.chunks_exact(l).enumerate() {
            let (b, c) = (mi / C, mi % C);
            for (li, &v) in row.iter().enumerate() {
                panels[b * l * C + li * C + c] = v;
            }
        }
        let mut w = Zeroizing::new(vec![0.0; mp]);
        w[..m].copy_from_slice(key.dither());
        let inv_delta = 1.0 / p.delta();
        let l1 = l + 1;
        let mut panels32 = Zeroizing::new(vec![0.0f32; l1 * mp]);
        let mut a_norms = Zeroizing::new(vec![0.0f32; mp]);
        let mut w_scaled = Zeroizing::new(vec![0.0f32; mp]);
        for (mi, row) in a.chunks_exact(l).enumerate() {
            let (b, c) = (mi / C, mi % C);
            for (li, &v) in row.iter().enumerate() {
                panels32[b * l1 * C + li * C + c] = (v * inv_delta) as f32;
            }
            panels32[b * l1 * C + l * C + c] = (w[mi] * inv_delta) as f32;
            // Rounded up a little so the f32 bound stays an upper bound.
            a_norms[mi] =
                (row.iter().map(|v| v * v).sum::<f64>().sqrt() * inv_delta * (1.0 + 1e-6)) as f32;
            w_scaled[mi] = (w[mi] * inv_delta * (1.0 + 1e-6)) as f32;
        }
        Prepared {
            panels,
            panels32,
            a_norms,
            w_scaled,
            a,
            w,
            l,
            m,
            mp,
            words: p.words_per_plane(),
            planes: p.planes(),
            k: p.k() as f64,
            delta: p.delta(),
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
        let force_f64 = std::env::var("PRIVOX_SMH_KERNEL").is_ok_and(|v| v == "f64");
        if force_f64
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("fma")
        {
            return Level::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("fma")
        {
            return Level::Avx512F32;
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
fn hash_block_avx2(prep: &Prepared, xs: &[f64], out: &mut [u64]) {
    hash_block::<2>(prep, xs, out, |xt, panel| {
        // The closure inherits avx2+fma from this function (verified by `detect`).
        simd::tile_avx2(xt, panel)
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma")]
fn hash_block_avx512(prep: &Prepared, xs: &[f64], out: &mut [u64]) {
    hash_block::<8>(prep, xs, out, |xt, panel| {
        // The closure inherits avx512f+fma from this function (verified by `detect`).
        simd::tile_avx512(xt, panel)
    })
}

fn hash_block_portable(prep: &Prepared, xs: &[f64], out: &mut [u64]) {
    hash_block::<2>(prep, xs, out, tile_portable::<2>)
}

/// Hashes up to ROWS_PER_TASK rows `xs` into their packed codes `out`.
///
/// Panel by panel of `Aᵀ` (kept in L1), R rows at a time, projections plus
/// dither go to a scratch buffer; then each row is quantized and packed.
/// `tile` computes the R × C dot products of an L × R slab of transposed rows
/// with an L × C panel.
#[inline(always)]
fn hash_block<const R: usize>(
    prep: &Prepared,
    xs: &[f64],
    out: &mut [u64],
    tile: impl Fn(&[f64], &[f64]) -> [[f64; C]; R],
) {
    let l = prep.l;
    let stride = prep.words * prep.planes;
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
    let mut vals = vec![0.0f64; blocks * R * prep.mp];
    for (pb, panel) in prep.panels.chunks_exact(l * C).enumerate() {
        let w = &prep.w[pb * C..(pb + 1) * C];
        for (b, xblk) in xt.chunks_exact(l * R).enumerate() {
            let acc = tile(xblk, panel);
            for (r, acc_r) in acc.iter().enumerate() {
                let dst = &mut vals[(b * R + r) * prep.mp + pb * C..][..C];
                for c in 0..C {
                    dst[c] = acc_r[c] + w[c];
                }
            }
        }
    }
    for (v, code) in vals.chunks_exact(prep.mp).zip(out.chunks_exact_mut(stride)) {
        quantize_pack(&v[..prep.m], code, prep);
    }
}

/// The f32 fast path: `t = [A/Δ | w/Δ]·[x; 1]` in f32 (twice the SIMD width
/// of f64), quantized and packed straight from registers (floor, mod k and
/// bit-plane masks in AVX-512), so no projection is ever stored. Every `t`
/// whose distance to a cell boundary is within a rigorous bound of the f32
/// rounding error is recomputed in f64 and its symbol patched, so the codes
/// are those of the f64 computation; ~0.1 % of symbols need it.
///
/// Bound: with unit roundoff u = 2⁻²⁴, rounding the inputs to f32 and an
/// (L+1)-term FMA dot product err by at most γ_{L+4}·(Σ|a_l x_l| + w)/Δ ≤
/// γ_{L+4}·(‖a‖₂‖x‖₂ + w)/Δ (Cauchy–Schwarz), γ_n = nu/(1 − nu); we use
/// twice that plus a small absolute slack.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma")]
fn hash_block_avx512_f32(prep: &Prepared, xs: &[f64], out: &mut [u64]) {
    use std::arch::x86_64::*;
    const R: usize = 16;
    let l = prep.l;
    let l1 = l + 1;
    let stride = prep.words * prep.planes;
    let rows = xs.len() / l;
    let blocks = rows.div_ceil(R);
    // Transposed rows with the constant 1 that multiplies w/Δ; padding rows stay 0.
    let mut xt = vec![0.0f32; blocks * l1 * R];
    let mut x_norm = vec![0.0f32; blocks * R];
    for (i, row) in xs.chunks_exact(l).enumerate() {
        let (b, r) = (i / R, i % R);
        for (li, &v) in row.iter().enumerate() {
            xt[b * l1 * R + li * R + r] = v as f32;
        }
        xt[b * l1 * R + l * R + r] = 1.0;
        x_norm[i] = (row.iter().map(|v| v * v).sum::<f64>().sqrt() * (1.0 + 1e-6)) as f32;
    }
    let u = (2.0f64).powi(-24);
    let n = (l + 4) as f64;
    let gamma = (2.0 * n * u / (1.0 - n * u)) as f32;
    let (k, inv_k) = (prep.k as f32, (1.0 / prep.k) as f32);
    let kv = _mm512_set1_ps(k);
    let inv_kv = _mm512_set1_ps(inv_k);
    let one = _mm512_set1_ps(1.0);
    let rel_slack = _mm512_set1_ps((2.0f32).powi(-20));
    let abs_slack = _mm512_set1_ps(1e-6);
    let mut fixes: Vec<(usize, usize, u16)> = Vec::new();
    for (pb, panel) in prep.panels32.chunks_exact(l1 * C).enumerate() {
        assert!(panel.len() == l1 * C, "panels are whole");
        // SAFETY: a_norms and w_scaled hold mp = panels · C values.
        let (an, wn) = unsafe {
            (
                _mm512_loadu_ps(prep.a_norms.as_ptr().add(pb * C)),
                _mm512_loadu_ps(prep.w_scaled.as_ptr().add(pb * C)),
            )
        };
        let gv = _mm512_set1_ps(gamma);
        let (an, wn) = (_mm512_mul_ps(an, gv), _mm512_mul_ps(wn, gv));
        let (word, shift) = (pb * C / 64, (pb * C) % 64);
        for (b, xblk) in xt.chunks_exact(l1 * R).enumerate() {
            let mut acc = [_mm512_setzero_ps(); R];
            for li in 0..l1 {
                // SAFETY: li * C + 16 <= panel.len() = l1 * C and li * R + R <= xblk.len() = l1 * R.
                unsafe {
                    let a = _mm512_loadu_ps(panel.as_ptr().add(li * C));
                    let x = xblk.as_ptr().add(li * R);
                    for (r, acc_r) in acc.iter_mut().enumerate() {
                        *acc_r = _mm512_fmadd_ps(_mm512_set1_ps(*x.add(r)), a, *acc_r);
                    }
                }
            }
            for (r, &t) in acc.iter().enumerate() {
                let row = b * R + r;
                if row >= rows {
                    break;
                }
                let q = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(t);
                let frac = _mm512_sub_ps(t, q);
                let eps = _mm512_fmadd_ps(an, _mm512_set1_ps(x_norm[row]), wn);
                let eps =
                    _mm512_add_ps(eps, _mm512_fmadd_ps(_mm512_abs_ps(t), rel_slack, abs_slack));
                let near = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(frac, eps)
                    | _mm512_cmp_ps_mask::<_CMP_GT_OQ>(frac, _mm512_sub_ps(one, eps));
                // q mod k: exact integer arithmetic in f32 for |q| < 2^22.
                let qk = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(
                    _mm512_mul_ps(q, inv_kv),
                );
                let mut rem = _mm512_fnmadd_ps(qk, kv, q);
                rem = _mm512_mask_add_ps(
                    rem,
                    _mm512_cmp_ps_mask::<_CMP_LT_OQ>(rem, _mm512_setzero_ps()),
                    rem,
                    kv,
                );
                rem = _mm512_mask_sub_ps(rem, _mm512_cmp_ps_mask::<_CMP_GE_OQ>(rem, kv), rem, kv);
                let sym = _mm512_cvttps_epi32(rem);
                let code = &mut out[row * stride..(row + 1) * stride];
                for p in 0..prep.planes {
                    let bits = _mm512_test_epi32_mask(sym, _mm512_set1_epi32(1 << p)) as u64;
                    code[p * prep.words + word] |= bits << shift;
                }
                if near != 0 {
                    fixes.push((row, pb, near));
                }
            }
        }
    }
    let inv_delta = 1.0 / prep.delta;
    for (row, pb, mask) in fixes {
        let x = &xs[row * l..(row + 1) * l];
        let code = &mut out[row * stride..(row + 1) * stride];
        for lane in 0..C {
            let m = pb * C + lane;
            if mask & (1 << lane) == 0 || m >= prep.m {
                continue;
            }
            let a = &prep.a[m * l..(m + 1) * l];
            let v = a.iter().zip(x).map(|(a, x)| a * x).sum::<f64>() + prep.w[m];
            let sym = (v * inv_delta).floor().rem_euclid(prep.k) as u32;
            let (w, bit) = (m / 64, m % 64);
            for p in 0..prep.planes {
                let word = &mut code[p * prep.words + w];
                *word = (*word & !(1u64 << bit)) | ((((sym >> p) & 1) as u64) << bit);
            }
        }
    }
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
fn quantize_pack(vals: &[f64], code: &mut [u64], prep: &Prepared) {
    let (delta, k) = (prep.delta, prep.k);
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
        for p in 0..prep.planes {
            code[p * prep.words + wi] = pack_plane(&syms, p);
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
