//! Batch hashing `h(x) = floor((A x + w) / Δ) mod k` as one blocked matrix product.
//!
//! The product `X · Aᵀ` is computed tile by tile (R rows × C symbols held in
//! registers, `Aᵀ` column block kept in L1), and each finished tile is
//! quantized and packed into bit-planes straight away, so the n × M matrix of
//! projections is never materialized. Row blocks run in parallel with rayon.
//! The micro-kernel is compiled for AVX-512/FMA and AVX2/FMA and chosen at run
//! time, with a portable fallback. FMA changes the last bit of `A x`, so a
//! projection that lands within ~1e-15 of a cell boundary may quantize
//! differently across CPUs; this is far below the noise the scheme tolerates.

use crate::{CodeSpace, Codes, SmhError, SmhKey};
use rayon::prelude::*;
use zeroize::Zeroizing;

/// Rows per micro-tile.
const R: usize = 4;
/// Symbols per micro-tile is C (8 or 16); `Aᵀ` is padded to a multiple of this.
const C_MAX: usize = 16;
/// Rows per parallel task (a multiple of R).
const ROWS_PER_TASK: usize = 32;
/// Beyond this magnitude of floor(v/Δ) the fast exact modulo path is not exact.
const FAST_MOD_LIMIT: f64 = (1u64 << 40) as f64;

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
        if x.len() % l != 0 {
            return Err(SmhError::RaggedInput {
                len: x.len(),
                dim: l,
            });
        }
        if let Some(pos) = x.iter().position(|v| !v.is_finite()) {
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
        let level = detect();
        codes
            .rows_mut()
            .par_chunks_mut(ROWS_PER_TASK * stride)
            .zip(x.par_chunks(ROWS_PER_TASK * l))
            .for_each(|(out, xs)| match level {
                Level::Portable => hash_block::<8, false>(&prep, xs, out),
                // SAFETY: the enabled CPU features were detected at run time in `detect`.
                #[cfg(target_arch = "x86_64")]
                Level::Avx2 => unsafe { hash_block_avx2(&prep, xs, out) },
                #[cfg(target_arch = "x86_64")]
                Level::Avx512 => unsafe { hash_block_avx512(&prep, xs, out) },
            });
        Ok(codes)
    }
}

/// Key material rearranged for the kernel: `Aᵀ` (L × Mp, zero-padded columns)
/// and `w` padded to Mp. Both are secret copies, zeroized on drop.
struct Prepared {
    at: Zeroizing<Vec<f64>>,
    w: Zeroizing<Vec<f64>>,
    l: usize,
    m: usize,
    mp: usize,
    words: usize,
    planes: usize,
    k: f64,
    delta: f64,
}

impl Prepared {
    fn new(key: &SmhKey) -> Self {
        let p = key.params();
        let (m, l) = (p.symbols(), p.dim());
        let mp = m.div_ceil(C_MAX) * C_MAX;
        let a = key.projection();
        let mut at = Zeroizing::new(vec![0.0; l * mp]);
        for (mi, row) in a.chunks_exact(l).enumerate() {
            for (li, &v) in row.iter().enumerate() {
                at[li * mp + mi] = v;
            }
        }
        let mut w = Zeroizing::new(vec![0.0; mp]);
        w[..m].copy_from_slice(key.dither());
        Prepared {
            at,
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
}

fn detect() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("fma")
        {
            return Level::Avx512;
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
    hash_block::<8, true>(prep, xs, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn hash_block_avx512(prep: &Prepared, xs: &[f64], out: &mut [u64]) {
    hash_block::<16, true>(prep, xs, out)
}

/// Hashes up to ROWS_PER_TASK rows `xs` into their packed codes `out`.
#[inline(always)]
fn hash_block<const C: usize, const FMA: bool>(prep: &Prepared, xs: &[f64], out: &mut [u64]) {
    let l = prep.l;
    let stride = prep.words * prep.planes;
    let rows = xs.len() / l;
    // Rows padded to a multiple of R with zeros; padded outputs are discarded.
    let mut xbuf = [0.0f64; 0].to_vec();
    let xs = if rows % R == 0 {
        xs
    } else {
        xbuf.resize(rows.div_ceil(R) * R * l, 0.0);
        xbuf[..xs.len()].copy_from_slice(xs);
        &xbuf[..]
    };
    for m0 in (0..prep.mp).step_by(C) {
        let valid = (prep.m.saturating_sub(m0)).min(C);
        if valid == 0 {
            break;
        }
        let mask: u64 = if valid == 64 { !0 } else { (1u64 << valid) - 1 };
        let (word, shift) = (m0 / 64, m0 % 64);
        for r0 in (0..rows).step_by(R) {
            let x: [&[f64]; R] = std::array::from_fn(|r| &xs[(r0 + r) * l..(r0 + r + 1) * l]);
            let acc = tile::<C, FMA>(&x, &prep.at, prep.mp, m0, l);
            for (r, acc_r) in acc.iter().enumerate() {
                if r0 + r >= rows {
                    break;
                }
                let syms = quantize::<C>(acc_r, &prep.w[m0..m0 + C], prep.delta, prep.k);
                let code = &mut out[(r0 + r) * stride..(r0 + r + 1) * stride];
                for p in 0..prep.planes {
                    let bits = syms
                        .iter()
                        .enumerate()
                        .fold(0u64, |b, (c, &s)| b | ((((s >> p) & 1) as u64) << c))
                        & mask;
                    code[p * prep.words + word] |= bits << shift;
                }
            }
        }
    }
}

/// R × C dot products `x_r · A_m` for m in m0..m0+C.
#[inline(always)]
fn tile<const C: usize, const FMA: bool>(
    x: &[&[f64]; R],
    at: &[f64],
    mp: usize,
    m0: usize,
    l: usize,
) -> [[f64; C]; R] {
    let mut acc = [[0.0f64; C]; R];
    for li in 0..l {
        let a = &at[li * mp + m0..li * mp + m0 + C];
        for r in 0..R {
            let xv = x[r][li];
            for c in 0..C {
                acc[r][c] = if FMA {
                    xv.mul_add(a[c], acc[r][c])
                } else {
                    xv * a[c] + acc[r][c]
                };
            }
        }
    }
    acc
}

/// `floor((v + w) / Δ) mod k` for one tile row, exactly (see FAST_MOD_LIMIT).
#[inline(always)]
fn quantize<const C: usize>(acc: &[f64; C], w: &[f64], delta: f64, k: f64) -> [u32; C] {
    let mut q = [0.0f64; C];
    let mut big = false;
    for c in 0..C {
        q[c] = ((acc[c] + w[c]) / delta).floor();
        big |= q[c].abs() >= FAST_MOD_LIMIT;
    }
    let mut s = [0u32; C];
    if big {
        for c in 0..C {
            s[c] = q[c].rem_euclid(k) as u32;
        }
    } else {
        // Exact: |q| < 2^40 so q / k is correctly rounded below the next integer.
        for c in 0..C {
            let r = q[c] - k * (q[c] / k).floor();
            s[c] = r as u32;
        }
    }
    s
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
                out.push((v / p.delta()).floor().rem_euclid(p.k() as f64) as u32);
            }
        }
        out
    }

    #[test]
    fn kernel_matches_definition() {
        for (k, mpc, l, n) in [
            (2, 3, 5, 1),
            (3, 4, 11, 37),
            (5, 1, 64, 9),
            (10, 2, 88, 6),
            (7, 5, 3, 70),
        ] {
            let p = SmhParams::new(k, 0.7, mpc, l).unwrap();
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
        let x = [1e200, -1e200, 3e15, -7.0];
        let codes = key.hash_rows(&x).unwrap();
        // With 1e200 inputs A·x is dominated by rounding (summation order
        // matters), so only validity is meaningful here.
        assert!(codes.unpack(0).unwrap().iter().all(|&s| s < 3));
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
