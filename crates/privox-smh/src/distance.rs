//! Normalized Hamming distances between packed codes, and RBF-Hamming Gram matrices.
//!
//! All builders first compute integer counts of differing symbols (a
//! [`HammingMatrix`]); d_H = count / M. Since d_H takes only M + 1 values,
//! `exp(-γ d_H²)` is read from a lookup table instead of calling `exp` per
//! pair, so a grid search over γ costs one pass over the counts per γ.
//!
//! Work is split over rows with rayon. The inner kernel is specialised for
//! the number of bit-planes and compiled for AVX-512 `vpopcntq` and for the
//! `popcnt` instruction, chosen at run time, with a portable fallback.

use crate::{Codes, SmhError};
use rayon::prelude::*;

/// Rows of the second operand processed per cache block.
const COL_BLOCK: usize = 256;

/// Counts of differing symbols between every code of `a` (rows) and every
/// code of `b` (columns), row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct HammingMatrix {
    rows: usize,
    cols: usize,
    symbols: usize,
    counts: Vec<u32>,
}

impl HammingMatrix {
    /// Number of rows (codes of the first operand).
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Number of columns (codes of the second operand).
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Code length M.
    pub fn symbols(&self) -> usize {
        self.symbols
    }
    /// Row-major counts of differing symbols.
    pub fn counts(&self) -> &[u32] {
        &self.counts
    }
    /// Normalized distance d_H of entry (i, j); `None` when out of range.
    pub fn distance(&self, i: usize, j: usize) -> Option<f64> {
        if i < self.rows && j < self.cols {
            Some(self.counts[i * self.cols + j] as f64 / self.symbols as f64)
        } else {
            None
        }
    }
    /// All normalized distances d_H, row-major.
    pub fn distances(&self) -> Vec<f64> {
        let inv = 1.0 / self.symbols as f64;
        self.counts.par_iter().map(|&c| c as f64 * inv).collect()
    }
    /// RBF-Hamming Gram matrix `exp(-γ·d_H²)`, row-major.
    pub fn rbf(&self, gamma: f64) -> Result<Vec<f64>, SmhError> {
        let lut = rbf_table(self.symbols, gamma)?;
        // Invariant: every count is <= symbols, the table has symbols + 1 entries.
        Ok(self.counts.par_iter().map(|&c| lut[c as usize]).collect())
    }
    /// The sub-matrix of the given rows and columns (e.g. a CV fold's train×train block).
    pub fn select(&self, rows: &[usize], cols: &[usize]) -> Result<HammingMatrix, SmhError> {
        for (&i, len) in rows
            .iter()
            .map(|i| (i, self.rows))
            .chain(cols.iter().map(|j| (j, self.cols)))
        {
            if i >= len {
                return Err(SmhError::IndexOutOfRange { index: i, len });
            }
        }
        let mut counts = Vec::with_capacity(rows.len() * cols.len());
        for &i in rows {
            let row = &self.counts[i * self.cols..(i + 1) * self.cols];
            counts.extend(cols.iter().map(|&j| row[j]));
        }
        Ok(HammingMatrix {
            rows: rows.len(),
            cols: cols.len(),
            symbols: self.symbols,
            counts,
        })
    }
}

/// `exp(-γ (c/M)²)` for c = 0..=M.
pub fn rbf_table(symbols: usize, gamma: f64) -> Result<Vec<f64>, SmhError> {
    if !(gamma.is_finite() && gamma >= 0.0) {
        return Err(SmhError::BadGamma(gamma));
    }
    let inv = 1.0 / symbols as f64;
    Ok((0..=symbols)
        .map(|c| {
            let d = c as f64 * inv;
            (-gamma * d * d).exp()
        })
        .collect())
}

/// Counts of differing symbols between all codes of `a` and all codes of `b`.
pub fn hamming_counts(a: &Codes, b: &Codes) -> Result<HammingMatrix, SmhError> {
    a.check_compatible(b)?;
    let (n, m) = (a.len(), b.len());
    let mut counts = vec![0u32; n * m];
    if n > 0 && m > 0 {
        let kernel = RowKernel::new(a.words_per_plane(), a.planes());
        let stride = a.stride();
        counts.par_chunks_mut(m).enumerate().for_each(|(i, out)| {
            let row = &a.raw()[i * stride..(i + 1) * stride];
            for (blk, out_blk) in b
                .raw()
                .chunks(COL_BLOCK * stride)
                .zip(out.chunks_mut(COL_BLOCK))
            {
                kernel.run(row, blk, out_blk);
            }
        });
    }
    Ok(HammingMatrix {
        rows: n,
        cols: m,
        symbols: a.symbols(),
        counts,
    })
}

/// Counts of differing symbols between all pairs of `a`; computes each
/// unordered pair once and mirrors it.
pub fn hamming_counts_symmetric(a: &Codes) -> HammingMatrix {
    let n = a.len();
    HammingMatrix {
        rows: n,
        cols: n,
        symbols: a.symbols(),
        counts: symmetric(a, &(0..=a.symbols() as u32).collect::<Vec<_>>()),
    }
}

/// Codes per side of a tile of the symmetric builder: a tile's 2 × 32 codes
/// (2 × 22.5 KB at M = 2816, k = 3) stay in L1 while its counts are made.
const TILE: usize = 32;

/// The full n × n matrix `table[count]` of all pairs of `a`, row-major;
/// `table` has M + 1 entries (counts are at most M).
///
/// Only tiles on and below the diagonal are counted; each writes its values
/// to its own place and, transposed, to the mirror tile above the diagonal,
/// so nothing is counted twice (bar the diagonal tiles), no triangle is
/// stored, and every element is written straight into the uninitialized
/// output (no zeroing pass over n² values).
fn symmetric<T: Copy + Send + Sync>(a: &Codes, table: &[T]) -> Vec<T> {
    let n = a.len();
    assert!(table.len() > a.symbols(), "one table entry per count 0..=M");
    let stride = a.stride();
    let kernel = RowKernel::new(a.words_per_plane(), a.planes());
    let blocks = n.div_ceil(TILE);
    let tiles: Vec<(usize, usize)> = (0..blocks)
        .flat_map(|bi| (0..=bi).map(move |bj| (bi, bj)))
        .collect();
    let mut full: Vec<T> = Vec::with_capacity(n * n);
    let out = SharedOut(full.spare_capacity_mut().as_mut_ptr());
    tiles.into_par_iter().for_each_init(
        || vec![0u32; TILE * TILE],
        |counts, (bi, bj)| {
            // A local copy of the slice: the compiler keeps it in registers
            // instead of reloading it from the closure after every store.
            let table: &[T] = table;
            let (i0, i1) = (bi * TILE, ((bi + 1) * TILE).min(n));
            let (j0, j1) = (bj * TILE, ((bj + 1) * TILE).min(n));
            let width = j1 - j0;
            let block = &a.raw()[j0 * stride..j1 * stride];
            for i in i0..i1 {
                let row = &a.raw()[i * stride..(i + 1) * stride];
                kernel.run(row, block, &mut counts[(i - i0) * TILE..][..width]);
            }
            // Row segments (i, j0..j1), then for an off-diagonal tile the mirror
            // segments (j, i0..i1): contiguous writes, the transpose is read from L1.
            for i in i0..i1 {
                // SAFETY: the segment lies inside row i < n of the n² capacity and is
                // written only by this tile (see below).
                let dst = unsafe { out.segment(i * n + j0, width) };
                for (d, &c) in dst.iter_mut().zip(&counts[(i - i0) * TILE..][..width]) {
                    // Invariant: counts are <= M < table.len().
                    d.write(table[c as usize]);
                }
            }
            if bi != bj {
                for j in j0..j1 {
                    // SAFETY: as above, for row j < n.
                    let dst = unsafe { out.segment(j * n + i0, i1 - i0) };
                    for (d, i) in dst.iter_mut().zip(i0..i1) {
                        d.write(table[counts[(i - i0) * TILE + (j - j0)] as usize]);
                    }
                }
            }
        },
    );
    // SAFETY: the tiles (bi, bj), bj <= bi, and their mirrors cover every
    // (i, j) in n × n, and each was written above.
    unsafe { full.set_len(n * n) };
    full
}

/// The output buffer of [`symmetric`], shared by tasks that write disjoint elements.
struct SharedOut<T>(*mut std::mem::MaybeUninit<T>);

// SAFETY: tasks write disjoint elements (see `symmetric`); T is Send.
unsafe impl<T: Send> Send for SharedOut<T> {}
// SAFETY: as above; the pointer is only used for disjoint writes.
unsafe impl<T: Send> Sync for SharedOut<T> {}

impl<T> SharedOut<T> {
    /// The `len` elements from `start`.
    ///
    /// # Safety
    /// `start + len` is within the allocation and no other live segment
    /// overlaps this one. Elements (i, j) and (j, i) with i in block bi and j
    /// in block bj are written only by tile (bi, bj), bj <= bi, so the
    /// segments of different tiles never overlap.
    #[allow(clippy::mut_from_ref)]
    unsafe fn segment(&self, start: usize, len: usize) -> &mut [std::mem::MaybeUninit<T>] {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

/// Normalized Hamming distances d_H between all codes of `a` and `b`, row-major `a.len() × b.len()`.
///
/// ```
/// use privox_smh::{hamming_matrix, SmhKey, SmhParams};
/// let key = SmhKey::generate_with_seed(SmhParams::new(3, 2.0, 8, 2).unwrap(), 1);
/// let a = key.hash_rows(&[0.0, 0.0, 0.5, 0.5]).unwrap();
/// let d = hamming_matrix(&a, &a).unwrap();
/// assert_eq!(d[0], 0.0);
/// assert_eq!(d[1], d[2]);
/// ```
pub fn hamming_matrix(a: &Codes, b: &Codes) -> Result<Vec<f64>, SmhError> {
    Ok(hamming_counts(a, b)?.distances())
}

/// Normalized Hamming distances between all pairs of `a` (symmetric, n × n).
pub fn hamming_matrix_symmetric(a: &Codes) -> Vec<f64> {
    hamming_counts_symmetric(a).distances()
}

/// RBF-Hamming Gram matrix `K[i][j] = exp(-γ·d_H(a_i, b_j)²)`, row-major
/// `a.len() × b.len()` (e.g. test × train).
pub fn rbf_hamming_gram(a: &Codes, b: &Codes, gamma: f64) -> Result<Vec<f64>, SmhError> {
    rbf_table(a.symbols(), gamma)?;
    hamming_counts(a, b)?.rbf(gamma)
}

/// RBF-Hamming Gram matrix of `a` with itself (train × train, symmetric, n × n).
pub fn rbf_hamming_gram_symmetric(a: &Codes, gamma: f64) -> Result<Vec<f64>, SmhError> {
    let lut = rbf_table(a.symbols(), gamma)?;
    // Invariant: counts are <= M and the table has M + 1 entries.
    Ok(symmetric(a, &lut))
}

/// Number of pairs with fewer than `limit` differing symbols: unordered
/// pairs i < j of `a` when `b` is `None`, else all pairs (i in a, j in b).
/// Streams row by row, so memory stays O(len) whatever the size.
pub(crate) fn count_pairs_below(a: &Codes, b: Option<&Codes>, limit: u32) -> Result<u64, SmhError> {
    if let Some(b) = b {
        a.check_compatible(b)?;
    }
    let kernel = RowKernel::new(a.words_per_plane(), a.planes());
    let stride = a.stride();
    let count = (0..a.len())
        .into_par_iter()
        .map_init(Vec::new, |buf: &mut Vec<u32>, i| {
            let row = &a.raw()[i * stride..(i + 1) * stride];
            let others = match b {
                Some(b) => b.raw(),
                None => &a.raw()[..i * stride],
            };
            buf.clear();
            buf.resize(others.len() / stride.max(1), 0);
            for (blk, out) in others
                .chunks(COL_BLOCK * stride)
                .zip(buf.chunks_mut(COL_BLOCK))
            {
                kernel.run(row, blk, out);
            }
            buf.iter().filter(|&&c| c < limit).count() as u64
        })
        .sum();
    Ok(count)
}

/// Differing symbols of one pair of packed rows (portable).
pub(crate) fn count_pair(a: &[u64], b: &[u64], words: usize, planes: usize) -> u32 {
    let mut out = [0u32];
    RowKernel::new(words, planes).run(a, b, &mut out);
    out[0]
}

/// The count kernel: one code against a contiguous block of codes.
struct RowKernel {
    words: usize,
    planes: usize,
    level: Level,
}

#[derive(Clone, Copy)]
enum Level {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Popcnt,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl RowKernel {
    fn new(words: usize, planes: usize) -> Self {
        RowKernel {
            words,
            planes,
            level: detect(),
        }
    }

    /// `out[j]` = differing symbols between `row` and the j-th code in `block`.
    fn run(&self, row: &[u64], block: &[u64], out: &mut [u32]) {
        macro_rules! planes {
            ($f:ident) => {
                match self.planes {
                    1 => $f::<1>(row, block, self.words, out),
                    2 => $f::<2>(row, block, self.words, out),
                    3 => $f::<3>(row, block, self.words, out),
                    4 => $f::<4>(row, block, self.words, out),
                    _ => rows_dyn(row, block, self.words, self.planes, out),
                }
            };
        }
        match self.level {
            Level::Portable => planes!(rows_fixed),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU features these functions enable were detected at run time in `detect`.
            Level::Popcnt => unsafe { planes!(rows_popcnt) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Level::Avx512 => unsafe { planes!(rows_avx512) },
        }
    }
}

fn detect() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            return Level::Avx512;
        }
        if std::arch::is_x86_feature_detected!("popcnt") {
            return Level::Popcnt;
        }
    }
    Level::Portable
}

#[inline(always)]
fn rows_fixed<const P: usize>(row: &[u64], block: &[u64], words: usize, out: &mut [u32]) {
    let stride = P * words;
    let a: [&[u64]; P] = std::array::from_fn(|p| &row[p * words..(p + 1) * words]);
    for (o, other) in out.iter_mut().zip(block.chunks_exact(stride)) {
        let b: [&[u64]; P] = std::array::from_fn(|p| &other[p * words..(p + 1) * words]);
        let mut total = 0u32;
        for j in 0..words {
            let mut d = 0u64;
            for p in 0..P {
                d |= a[p][j] ^ b[p][j];
            }
            total += d.count_ones();
        }
        *o = total;
    }
}

fn rows_dyn(row: &[u64], block: &[u64], words: usize, planes: usize, out: &mut [u32]) {
    for (o, other) in out.iter_mut().zip(block.chunks_exact(planes * words)) {
        *o = (0..words)
            .map(|j| {
                (0..planes)
                    .fold(0u64, |d, p| d | (row[p * words + j] ^ other[p * words + j]))
                    .count_ones()
            })
            .sum();
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn rows_popcnt<const P: usize>(row: &[u64], block: &[u64], words: usize, out: &mut [u32]) {
    rows_fixed::<P>(row, block, words, out)
}

/// AVX-512: 8 words per step, the last step masked, `vpternlogq` for
/// `d | (a_p ^ b_p)` and `vpopcntq`; one horizontal sum per pair.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vpopcntdq,avx512bw,avx512vl,popcnt")]
fn rows_avx512<const P: usize>(row: &[u64], block: &[u64], words: usize, out: &mut [u32]) {
    use std::arch::x86_64::*;
    let stride = P * words;
    assert!(row.len() >= stride, "row holds P planes of `words` words");
    // Whole 8-word steps use plain loads (no mask register to refill each
    // step, and loads can fold into `vpternlogq`); a last partial step is masked.
    let full = words / 8;
    let tail = words % 8;
    let tail_mask: __mmask8 = ((1u16 << tail) - 1) as u8;
    // Lane sums of one pair's popcounts.
    let pair = |other: &[u64]| {
        let mut acc = _mm512_setzero_si512();
        for step in 0..full {
            let mut d = _mm512_setzero_si512();
            for p in 0..P {
                let at = p * words + 8 * step;
                // SAFETY: at + 8 <= p * words + words <= stride, within both
                // `row` (asserted) and `other` (a whole code of `block`).
                let (x, y) = unsafe {
                    (
                        _mm512_loadu_si512(row.as_ptr().add(at).cast()),
                        _mm512_loadu_si512(other.as_ptr().add(at).cast()),
                    )
                };
                // 0xF6 = A | (B ^ C).
                d = _mm512_ternarylogic_epi64::<0xF6>(d, x, y);
            }
            acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(d));
        }
        if tail != 0 {
            let mut d = _mm512_setzero_si512();
            for p in 0..P {
                let at = p * words + 8 * full;
                // SAFETY: the mask enables only words at..at + tail < (p + 1) * words
                // <= stride (masked-off lanes are not read).
                let (x, y) = unsafe {
                    (
                        _mm512_maskz_loadu_epi64(tail_mask, row.as_ptr().add(at).cast()),
                        _mm512_maskz_loadu_epi64(tail_mask, other.as_ptr().add(at).cast()),
                    )
                };
                d = _mm512_ternarylogic_epi64::<0xF6>(d, x, y);
            }
            acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(d));
        }
        acc
    };
    let mut done = 0;
    // When a pair's count fits 16 bits (M < 2^16), four pairs share one
    // horizontal sum: their lane sums go to the four 16-bit fields of each
    // lane, and no field can carry into the next.
    if words * 64 < 1 << 16 {
        for (o, others) in out.chunks_exact_mut(4).zip(block.chunks_exact(4 * stride)) {
            let acc: [__m512i; 4] = std::array::from_fn(|q| pair(&others[q * stride..]));
            let packed = _mm512_or_si512(
                _mm512_or_si512(acc[0], _mm512_slli_epi64::<16>(acc[1])),
                _mm512_or_si512(
                    _mm512_slli_epi64::<32>(acc[2]),
                    _mm512_slli_epi64::<48>(acc[3]),
                ),
            );
            let sums = _mm512_reduce_add_epi64(packed) as u64;
            for (q, o) in o.iter_mut().enumerate() {
                *o = ((sums >> (16 * q)) & 0xffff) as u32;
            }
            done += 4;
        }
    }
    for (o, other) in out[done..]
        .iter_mut()
        .zip(block[done * stride..].chunks_exact(stride))
    {
        *o = _mm512_reduce_add_epi64(pair(other)) as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CodeSpace, SmhParams};
    use privox_format::Fingerprint;

    fn codes(k: u32, n: usize, seed: u32) -> Codes {
        codes_shaped(k, 3, 47, n, seed)
    }

    fn codes_shaped(k: u32, mpc: usize, dim: usize, n: usize, seed: u32) -> Codes {
        let params = SmhParams::new(k, 1.0, mpc, dim).unwrap();
        let m = params.symbols();
        let mut x = seed.wrapping_mul(2654435761).max(1);
        let syms: Vec<u32> = (0..n * m)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x % k
            })
            .collect();
        let space = CodeSpace {
            params,
            key_id: Fingerprint::default(),
        };
        Codes::from_symbols(space, &syms).unwrap()
    }

    fn naive(a: &Codes, i: usize, b: &Codes, j: usize) -> u32 {
        let (x, y) = (a.unpack(i).unwrap(), b.unpack(j).unwrap());
        x.iter().zip(&y).filter(|(p, q)| p != q).count() as u32
    }

    #[test]
    fn all_kernels_match_unpacked_comparison() {
        for k in [2, 3, 5, 10, 17, 200] {
            let a = codes(k, 7, 1);
            let b = codes(k, 300, 2);
            let h = hamming_counts(&a, &b).unwrap();
            let s = hamming_counts_symmetric(&b);
            for i in 0..a.len() {
                for j in (0..b.len()).step_by(13) {
                    assert_eq!(h.counts()[i * b.len() + j], naive(&a, i, &b, j), "k={k}");
                    assert_eq!(s.counts()[j * b.len() + i], naive(&b, j, &b, i), "k={k}");
                }
            }
            let (words, planes) = (a.words_per_plane(), a.planes());
            let (r, blk) = (a.row(0).unwrap(), b.row(5).unwrap());
            let mut out = [0u32];
            rows_dyn(r, blk, words, planes, &mut out);
            assert_eq!(out[0], naive(&a, 0, &b, 5));
        }
    }

    /// The tiled symmetric builder and the 4-pairs-per-sum kernel on shapes
    /// that leave partial tiles and a remainder of 1..3 pairs, and on codes
    /// too long (M ≥ 2^16) for the 16-bit packed sums.
    #[test]
    fn tiles_remainders_and_long_codes_match_unpacked_comparison() {
        for (k, mpc, dim, n) in [
            (3, 32, 88, 37),
            (3, 1024, 64, 6),
            (2, 1, 5, 67),
            (5, 3, 21, 33),
        ] {
            let a = codes_shaped(k, mpc, dim, n, 3);
            let s = hamming_counts_symmetric(&a);
            let full = hamming_counts(&a, &a).unwrap();
            assert_eq!(s.counts(), full.counts(), "k={k} M={}", mpc * dim);
            for i in 0..n {
                for j in 0..n {
                    assert_eq!(
                        s.counts()[i * n + j],
                        naive(&a, i, &a, j),
                        "k={k} ({i}, {j})"
                    );
                }
            }
            let g = rbf_hamming_gram_symmetric(&a, 1.5).unwrap();
            let lut = rbf_table(a.symbols(), 1.5).unwrap();
            assert!(
                g.iter()
                    .zip(s.counts())
                    .all(|(&v, &c)| v == lut[c as usize])
            );
        }
    }

    #[test]
    fn gram_is_symmetric_with_unit_diagonal() {
        let a = codes(3, 40, 9);
        let g = rbf_hamming_gram_symmetric(&a, 2.0).unwrap();
        let g2 = rbf_hamming_gram(&a, &a, 2.0).unwrap();
        assert_eq!(g, g2);
        for i in 0..40 {
            assert_eq!(g[i * 40 + i], 1.0);
            for j in 0..40 {
                assert_eq!(g[i * 40 + j], g[j * 40 + i]);
                let d = a.distance(i, &a, j).unwrap();
                assert!((g[i * 40 + j] - (-2.0 * d * d).exp()).abs() < 1e-15);
            }
        }
        assert!(rbf_hamming_gram_symmetric(&a, f64::NAN).is_err());
        let sub = hamming_counts_symmetric(&a)
            .select(&[3, 1], &[0, 2, 4])
            .unwrap();
        assert_eq!(sub.distance(1, 2), a.distance(1, &a, 4).ok());
    }
}
