//! Packed k-ary codes: bit-planes of u64 words, and the code file format.
//!
//! Each code holds M symbols in `[0, k)`. Symbol bit `p` of symbol `m` is bit
//! `m % 64` of word `m / 64` of plane `p`. A code's planes are stored one
//! after the other (plane-major), codes one after the other. Two symbols
//! differ iff any plane differs, so the number of differing symbols is
//! `popcount(OR_p (a_p XOR b_p))`, which vectorizes. Unused bits of the last
//! word are always zero, so they never count.

use crate::{SmhError, SmhParams};
use privox_format::{Fingerprint, FormatError, Magic, Reader, Writer};
use std::path::Path;

/// Magic of SMH code files.
pub const CODES_MAGIC: Magic = Magic(*b"PVXSMHC1");
/// Code file format version written by this build.
pub const CODES_VERSION: u16 = 1;
/// Upper bound on items in one code file (bounds allocation on bad input).
const MAX_ITEMS: usize = 1 << 28;

/// The space a code lives in: public parameters plus the id of the key.
///
/// Codes are comparable only within one space. An SVM model trained on codes
/// stores its `CodeSpace` and refuses codes from another (see
/// [`Codes::check_space`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CodeSpace {
    /// The SMH parameters of the key.
    pub params: SmhParams,
    /// The key's fingerprint.
    pub key_id: Fingerprint,
}

impl CodeSpace {
    /// Fingerprint of parameters and key id together.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut b = self.params.canonical_bytes();
        b.extend_from_slice(&self.key_id.0);
        Fingerprint::of(&b)
    }
    /// Serializes into an envelope (for model files).
    pub fn write_to(&self, w: &mut Writer) {
        self.params.write_to(w);
        w.put_bytes(&self.key_id.0);
    }
    /// Reads what [`CodeSpace::write_to`] wrote.
    pub fn read_from(r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let params = SmhParams::read_from(r)?;
        let id = r.get_bytes(16)?;
        let key_id = Fingerprint(id.try_into().map_err(|_| FormatError::LengthMismatch {
            what: "key id bytes",
            expected: 16,
            found: id.len() as u64,
        })?);
        Ok(CodeSpace { params, key_id })
    }
}

/// A batch of packed SMH codes (one per hashed feature vector).
#[derive(Clone, Debug, PartialEq)]
pub struct Codes {
    space: CodeSpace,
    n: usize,
    words: usize,
    planes: usize,
    bits: Vec<u64>,
}

impl Codes {
    /// An all-zero batch of `n` codes (used by the hasher before filling).
    pub(crate) fn zeros(space: CodeSpace, n: usize) -> Self {
        let words = space.params.words_per_plane();
        let planes = space.params.planes();
        Codes {
            space,
            n,
            words,
            planes,
            bits: vec![0; n * words * planes],
        }
    }

    /// Packs unpacked symbols (row-major `n × M`, each `< k`).
    pub fn from_symbols(space: CodeSpace, symbols: &[u32]) -> Result<Self, SmhError> {
        let m = space.params.symbols();
        if !symbols.len().is_multiple_of(m) {
            return Err(SmhError::RaggedInput {
                what: "symbol matrix",
                len: symbols.len(),
                dim: m,
            });
        }
        let k = space.params.k();
        if let Some(index) = symbols.iter().position(|&s| s >= k) {
            return Err(SmhError::SymbolOutOfRange {
                index,
                symbol: symbols[index],
                k,
            });
        }
        let mut codes = Codes::zeros(space, symbols.len() / m);
        let stride = codes.stride();
        for (row, syms) in codes.bits.chunks_mut(stride).zip(symbols.chunks(m)) {
            for (j, &s) in syms.iter().enumerate() {
                set_symbol(row, codes.words, j, s);
            }
        }
        Ok(codes)
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        self.n
    }
    /// True when the batch holds no code.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    /// The public parameters the codes were made with.
    pub fn params(&self) -> &SmhParams {
        &self.space.params
    }
    /// Parameters plus key id.
    pub fn space(&self) -> CodeSpace {
        self.space
    }
    /// Number of symbols per code (M).
    pub fn symbols(&self) -> usize {
        self.space.params.symbols()
    }
    /// u64 words per bit-plane.
    pub fn words_per_plane(&self) -> usize {
        self.words
    }
    /// Number of bit-planes (ceil(log2 k)).
    pub fn planes(&self) -> usize {
        self.planes
    }
    /// u64 words per code (planes × words per plane).
    pub fn stride(&self) -> usize {
        self.words * self.planes
    }

    /// The packed words of code `i` (plane-major).
    pub fn row(&self, i: usize) -> Result<&[u64], SmhError> {
        if i >= self.n {
            return Err(SmhError::IndexOutOfRange {
                index: i,
                len: self.n,
            });
        }
        let s = self.stride();
        Ok(&self.bits[i * s..(i + 1) * s])
    }

    pub(crate) fn rows_mut(&mut self) -> &mut [u64] {
        &mut self.bits
    }

    pub(crate) fn raw(&self) -> &[u64] {
        &self.bits
    }

    /// Unpacks code `i` into its M symbols.
    pub fn unpack(&self, i: usize) -> Result<Vec<u32>, SmhError> {
        let row = self.row(i)?;
        Ok((0..self.symbols())
            .map(|j| get_symbol(row, self.words, self.planes, j))
            .collect())
    }

    /// Fails unless `other` lives in the same code space (parameters and key).
    /// `self`'s space is the expected one, `other`'s the one found.
    pub fn check_compatible(&self, other: &Codes) -> Result<(), SmhError> {
        other.check_space(&self.space)
    }

    /// Fails unless these codes live in `space` (e.g. the one stored in a model).
    pub fn check_space(&self, space: &CodeSpace) -> Result<(), SmhError> {
        if self.space != *space {
            return Err(SmhError::IncompatibleCodes {
                expected: format!("{} key {}", space.params, space.key_id),
                found: format!("{} key {}", self.space.params, self.space.key_id),
            });
        }
        Ok(())
    }

    /// Number of symbols that differ between code `i` here and code `j` of `other`.
    pub fn differing(&self, i: usize, other: &Codes, j: usize) -> Result<u32, SmhError> {
        self.check_compatible(other)?;
        Ok(crate::distance::count_pair(
            self.row(i)?,
            other.row(j)?,
            self.words,
            self.planes,
        ))
    }

    /// Normalized Hamming distance d_H between code `i` here and code `j` of `other`.
    pub fn distance(&self, i: usize, other: &Codes, j: usize) -> Result<f64, SmhError> {
        Ok(self.differing(i, other, j)? as f64 / self.symbols() as f64)
    }

    /// The codes at the given indices, in that order.
    pub fn select(&self, idx: &[usize]) -> Result<Codes, SmhError> {
        let mut bits = Vec::with_capacity(idx.len() * self.stride());
        for &i in idx {
            bits.extend_from_slice(self.row(i)?);
        }
        Ok(Codes {
            bits,
            n: idx.len(),
            ..*self
        })
    }

    /// Concatenates batches from the same code space.
    pub fn concat(parts: &[&Codes]) -> Result<Codes, SmhError> {
        let first = parts.first().ok_or(SmhError::TooFew {
            what: "concatenating code batches",
            needed: 1,
            found: 0,
        })?;
        let mut out = Codes::zeros(first.space, 0);
        for p in parts {
            first.check_compatible(p)?;
            out.bits.extend_from_slice(&p.bits);
            out.n += p.n;
        }
        Ok(out)
    }

    /// Serializes the codes (no item metadata) into an envelope writer.
    pub fn write_to(&self, w: &mut Writer) {
        self.space.write_to(w);
        w.put_u64(self.n as u64);
        w.put_u64s(&self.bits);
    }

    /// Reads what [`Codes::write_to`] wrote; checks sizes and padding bits.
    pub fn read_from(r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let space = CodeSpace::read_from(r)?;
        let n = r.get_u64()?;
        if n > MAX_ITEMS as u64 {
            return Err(FormatError::LengthTooLarge {
                what: "code count",
                len: n,
                max: MAX_ITEMS as u64,
            });
        }
        let mut codes = Codes::zeros(space, 0);
        let expected = (n as usize).saturating_mul(codes.stride());
        codes.bits = r.get_u64s(expected)?;
        if codes.bits.len() != expected {
            return Err(FormatError::LengthMismatch {
                what: "code words",
                expected: expected as u64,
                found: codes.bits.len() as u64,
            });
        }
        codes.n = n as usize;
        codes.validate()?;
        Ok(codes)
    }

    /// Checks that padding bits are zero and every symbol is below k.
    fn validate(&self) -> Result<(), FormatError> {
        let m = self.symbols();
        let tail = m % 64;
        let pad_mask = if tail == 0 { 0 } else { !0u64 << tail };
        let k = self.space.params.k();
        for row in self.bits.chunks(self.stride().max(1)) {
            for p in 0..self.planes {
                if row[p * self.words + self.words - 1] & pad_mask != 0 {
                    return Err(FormatError::Inconsistent {
                        what: "code padding bits (set beyond the last symbol)",
                    });
                }
            }
            if !k.is_power_of_two() {
                for j in 0..m {
                    if get_symbol(row, self.words, self.planes, j) >= k {
                        return Err(FormatError::OutOfRange {
                            what: "code symbol",
                            found: u64::from(get_symbol(row, self.words, self.planes, j)),
                            min: 0,
                            max: u64::from(k - 1),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Sets symbol `j` (assumed zero before) of a packed row.
#[inline]
pub(crate) fn set_symbol(row: &mut [u64], words: usize, j: usize, s: u32) {
    let (w, b) = (j / 64, j % 64);
    let mut s = s;
    let mut p = 0;
    while s != 0 {
        row[p * words + w] |= ((s & 1) as u64) << b;
        s >>= 1;
        p += 1;
    }
}

#[inline]
fn get_symbol(row: &[u64], words: usize, planes: usize, j: usize) -> u32 {
    let (w, b) = (j / 64, j % 64);
    (0..planes).fold(0, |acc, p| {
        acc | (((row[p * words + w] >> b) & 1) as u32) << p
    })
}

/// Codes with per-item metadata, as stored in a code file.
///
/// `files`, `speakers` and `labels` are either empty or one per code; they
/// let `privox svm` train and evaluate on codes without the features.
#[derive(Clone, Debug, PartialEq)]
pub struct CodeTable {
    /// The codes.
    pub codes: Codes,
    /// Recording of each code (or empty).
    pub files: Vec<String>,
    /// Speaker of each code (or empty).
    pub speakers: Vec<String>,
    /// Label of each code (or empty).
    pub labels: Vec<String>,
}

impl CodeTable {
    /// Checks that every metadata column is empty or has one entry per code.
    pub fn new(
        codes: Codes,
        files: Vec<String>,
        speakers: Vec<String>,
        labels: Vec<String>,
    ) -> Result<Self, SmhError> {
        for (name, col) in [
            ("file column entries (one per code)", &files),
            ("speaker column entries (one per code)", &speakers),
            ("label column entries (one per code)", &labels),
        ] {
            if !col.is_empty() && col.len() != codes.len() {
                return Err(SmhError::LengthMismatch {
                    what: name,
                    expected: codes.len(),
                    found: col.len(),
                });
            }
        }
        Ok(CodeTable {
            codes,
            files,
            speakers,
            labels,
        })
    }

    /// Serializes into a code file envelope (header fingerprint: the public parameters).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(
            CODES_MAGIC,
            CODES_VERSION,
            self.codes.params().fingerprint(),
        );
        self.codes.write_to(&mut w);
        for col in [&self.files, &self.speakers, &self.labels] {
            w.put_u64(col.len() as u64);
            for s in col {
                w.put_str(s);
            }
        }
        w.finish()
    }

    /// Parses a code file; truncation, corruption and inconsistent sizes are typed errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SmhError> {
        let fmt = SmhError::format;
        let mut r =
            Reader::open(bytes, CODES_MAGIC, &[CODES_VERSION]).map_err(fmt("SMH code file"))?;
        let codes = Codes::read_from(&mut r).map_err(fmt("SMH code file"))?;
        if r.header().fingerprint != codes.params().fingerprint() {
            return Err(SmhError::Format {
                what: "SMH code file",
                source: FormatError::FingerprintMismatch {
                    expected: codes.params().fingerprint(),
                    found: r.header().fingerprint,
                },
            });
        }
        let mut cols: [Vec<String>; 3] = Default::default();
        for col in &mut cols {
            // Each string takes at least its 8-byte length prefix.
            let n = r
                .get_len("metadata column", 8, MAX_ITEMS)
                .map_err(fmt("SMH code file"))?;
            for _ in 0..n {
                col.push(r.get_str(1 << 16).map_err(fmt("SMH code file"))?);
            }
        }
        r.finish().map_err(fmt("SMH code file"))?;
        let [files, speakers, labels] = cols;
        CodeTable::new(codes, files, speakers, labels)
    }

    /// Writes the code file atomically.
    pub fn write(&self, path: &Path) -> Result<(), SmhError> {
        privox_format::write_atomic(path, &self.to_bytes())?;
        Ok(())
    }

    /// Reads a code file.
    pub fn read(path: &Path) -> Result<Self, SmhError> {
        let bytes = std::fs::read(path).map_err(|source| SmhError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(k: u32) -> CodeSpace {
        CodeSpace {
            params: SmhParams::new(k, 1.0, 3, 25).unwrap(),
            key_id: Fingerprint::of(b"test key"),
        }
    }

    #[test]
    fn pack_unpack_round_trip() {
        let sp = space(5);
        let m = sp.params.symbols();
        let syms: Vec<u32> = (0..2 * m).map(|i| (i * 7 % 5) as u32).collect();
        let codes = Codes::from_symbols(sp, &syms).unwrap();
        assert_eq!(codes.len(), 2);
        assert_eq!(codes.unpack(1).unwrap(), &syms[m..]);
        assert!(Codes::from_symbols(sp, &[5; 75]).is_err());
        assert!(codes.unpack(2).is_err());
    }

    #[test]
    fn code_file_round_trip_and_corruption() {
        let sp = space(3);
        let m = sp.params.symbols();
        let syms: Vec<u32> = (0..3 * m).map(|i| (i % 3) as u32).collect();
        let codes = Codes::from_symbols(sp, &syms).unwrap();
        let table = CodeTable::new(
            codes,
            vec!["a".into(), "b".into(), "c".into()],
            vec![],
            vec![],
        )
        .unwrap();
        let bytes = table.to_bytes();
        assert_eq!(CodeTable::from_bytes(&bytes).unwrap(), table);
        for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
            assert!(matches!(
                CodeTable::from_bytes(&bytes[..cut]),
                Err(SmhError::Format { .. })
            ));
        }
        let mut bad = bytes.clone();
        bad[60] ^= 1;
        assert!(matches!(
            CodeTable::from_bytes(&bad),
            Err(SmhError::Format { .. })
        ));
        assert!(CodeTable::new(table.codes.clone(), vec!["x".into()], vec![], vec![]).is_err());
    }

    #[test]
    fn incompatible_spaces_are_refused() {
        let a = Codes::from_symbols(space(3), &[0; 75]).unwrap();
        let mut other = space(3);
        other.key_id = Fingerprint::of(b"other key");
        let b = Codes::from_symbols(other, &[0; 75]).unwrap();
        assert!(matches!(
            a.distance(0, &b, 0),
            Err(SmhError::IncompatibleCodes { .. })
        ));
        assert!(Codes::concat(&[&a, &b]).is_err());
        assert_eq!(Codes::concat(&[&a, &a]).unwrap().len(), 2);
    }
}
