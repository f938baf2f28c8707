//! Public SMH parameters (k, Δ, mpc, L) and their fingerprint.

use crate::SmhError;
use privox_format::{Fingerprint, FormatError, Reader, Writer};
use std::fmt;

/// Largest alphabet supported: symbols are stored in at most 8 bit-planes.
pub const MAX_K: u32 = 256;
/// Largest code length M = mpc·L accepted (bounds memory for any input).
pub const MAX_SYMBOLS: usize = 1 << 22;

/// The public parameters of Secure Modular Hashing.
///
/// `h(x) = floor((A x + w) / Δ) mod k` with `A` of shape `M × L`, `M = mpc · L`.
/// These values are not secret; the key `(A, w)` is (see [`crate::SmhKey`]).
///
/// ```
/// use privox_smh::SmhParams;
/// let p = SmhParams::new(3, 2.0, 32, 88).unwrap();
/// assert_eq!(p.symbols(), 32 * 88);
/// assert_eq!(p.planes(), 2);
/// assert!(SmhParams::new(1, 2.0, 32, 88).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmhParams {
    k: u32,
    delta: f64,
    mpc: usize,
    dim: usize,
}

impl SmhParams {
    /// Validates and builds a parameter set.
    ///
    /// Refuses k < 2 (or k > [`MAX_K`]), Δ ≤ 0 or non-finite, mpc = 0, dim = 0 and
    /// codes longer than [`MAX_SYMBOLS`].
    pub fn new(k: u32, delta: f64, mpc: usize, dim: usize) -> Result<Self, SmhError> {
        if !(2..=MAX_K).contains(&k) {
            return Err(SmhError::BadK(k));
        }
        // k·Δ is the dither range (key generation samples w in [0, k·Δ)) and
        // 1/Δ scales every projection: both must be finite too, or keygen panics
        // (Uniform refuses an infinite range) and hashing produces garbage.
        if !(delta.is_finite()
            && delta > 0.0
            && (f64::from(k) * delta).is_finite()
            && (1.0 / delta).is_finite())
        {
            return Err(SmhError::BadDelta(delta));
        }
        if mpc == 0 {
            return Err(SmhError::ZeroMpc);
        }
        if dim == 0 {
            return Err(SmhError::ZeroDim);
        }
        match mpc.checked_mul(dim) {
            Some(m) if m <= MAX_SYMBOLS => {}
            _ => {
                return Err(SmhError::TooManySymbols {
                    mpc,
                    dim,
                    max: MAX_SYMBOLS,
                });
            }
        }
        Ok(SmhParams { k, delta, mpc, dim })
    }

    /// Alphabet size k.
    pub fn k(&self) -> u32 {
        self.k
    }
    /// Quantization step Δ.
    pub fn delta(&self) -> f64 {
        self.delta
    }
    /// Measurements per coefficient.
    pub fn mpc(&self) -> usize {
        self.mpc
    }
    /// Feature dimension L.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Code length M = mpc · L (number of k-ary symbols per code).
    pub fn symbols(&self) -> usize {
        self.mpc * self.dim
    }
    /// Number of bit-planes used to store one symbol: ceil(log2 k).
    pub fn planes(&self) -> usize {
        (u32::BITS - (self.k - 1).leading_zeros()) as usize
    }
    /// Number of u64 words per bit-plane: ceil(M / 64).
    pub fn words_per_plane(&self) -> usize {
        self.symbols().div_ceil(64)
    }

    /// The same parameters with another Δ (used by Δ tuning).
    pub fn with_delta(&self, delta: f64) -> Result<Self, SmhError> {
        SmhParams::new(self.k, delta, self.mpc, self.dim)
    }

    /// Canonical bytes: what the fingerprint is computed over.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut b = b"privox-smh params v1".to_vec();
        b.extend_from_slice(&self.k.to_le_bytes());
        b.extend_from_slice(&self.delta.to_bits().to_le_bytes());
        b.extend_from_slice(&(self.mpc as u64).to_le_bytes());
        b.extend_from_slice(&(self.dim as u64).to_le_bytes());
        b
    }

    /// Fingerprint of the public parameters; every key and code file carries it.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.canonical_bytes())
    }

    /// Serializes into an envelope (used by key, code and model files).
    pub fn write_to(&self, w: &mut Writer) {
        w.put_u32(self.k);
        w.put_f64(self.delta);
        w.put_u64(self.mpc as u64);
        w.put_u64(self.dim as u64);
    }

    /// Reads what [`SmhParams::write_to`] wrote, validating the values.
    pub fn read_from(r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let k = r.get_u32()?;
        let delta = r.get_f64()?;
        let mpc = r.get_u64()?;
        let dim = r.get_u64()?;
        let symbols = |found: u64| FormatError::OutOfRange {
            what: "SMH code length (mpc · dim)",
            found,
            min: 1,
            max: MAX_SYMBOLS as u64,
        };
        let (mpc, dim) = match (usize::try_from(mpc), usize::try_from(dim)) {
            (Ok(mpc), Ok(dim)) => (mpc, dim),
            _ => return Err(symbols(mpc.saturating_mul(dim))),
        };
        SmhParams::new(k, delta, mpc, dim).map_err(|e| match e {
            SmhError::BadK(k) => FormatError::OutOfRange {
                what: "SMH alphabet size k",
                found: u64::from(k),
                min: 2,
                max: u64::from(MAX_K),
            },
            SmhError::BadDelta(_) => FormatError::NotPositiveFinite {
                what: "SMH quantization step Δ (with k·Δ and 1/Δ)",
            },
            SmhError::ZeroMpc => FormatError::OutOfRange {
                what: "SMH measurements per coefficient (mpc)",
                found: 0,
                min: 1,
                max: MAX_SYMBOLS as u64,
            },
            SmhError::ZeroDim => FormatError::OutOfRange {
                what: "SMH feature dimension",
                found: 0,
                min: 1,
                max: MAX_SYMBOLS as u64,
            },
            // `new` refuses nothing else: only too many symbols are left.
            _ => symbols((mpc as u64).saturating_mul(dim as u64)),
        })
    }
}

impl fmt::Display for SmhParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "k={} delta={} mpc={} dim={} (M={})",
            self.k,
            self.delta,
            self.mpc,
            self.dim,
            self.symbols()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_parameters_with_typed_errors() {
        assert!(matches!(
            SmhParams::new(1, 2.0, 32, 88),
            Err(SmhError::BadK(1))
        ));
        assert!(matches!(
            SmhParams::new(0, 2.0, 32, 88),
            Err(SmhError::BadK(0))
        ));
        assert!(matches!(
            SmhParams::new(3, 0.0, 32, 88),
            Err(SmhError::BadDelta(_))
        ));
        assert!(matches!(
            SmhParams::new(3, -1.0, 32, 88),
            Err(SmhError::BadDelta(_))
        ));
        assert!(matches!(
            SmhParams::new(3, f64::NAN, 32, 88),
            Err(SmhError::BadDelta(_))
        ));
        assert!(matches!(
            SmhParams::new(3, f64::INFINITY, 32, 88),
            Err(SmhError::BadDelta(_))
        ));
        // Finite Δ whose k·Δ overflows (keygen's dither range) or whose 1/Δ does.
        assert!(matches!(
            SmhParams::new(3, f64::MAX / 2.0, 32, 88),
            Err(SmhError::BadDelta(_))
        ));
        assert!(matches!(
            SmhParams::new(3, 1e-310, 32, 88),
            Err(SmhError::BadDelta(_))
        ));
        assert!(matches!(
            SmhParams::new(3, 2.0, 0, 88),
            Err(SmhError::ZeroMpc)
        ));
        assert!(matches!(
            SmhParams::new(3, 2.0, 32, 0),
            Err(SmhError::ZeroDim)
        ));
        assert!(matches!(
            SmhParams::new(3, 2.0, usize::MAX, 88),
            Err(SmhError::TooManySymbols { .. })
        ));
    }

    #[test]
    fn planes_and_fingerprint() {
        for (k, p) in [(2, 1), (3, 2), (4, 2), (5, 3), (8, 3), (10, 4), (256, 8)] {
            assert_eq!(SmhParams::new(k, 1.0, 1, 1).unwrap().planes(), p, "k={k}");
        }
        let a = SmhParams::new(3, 2.0, 32, 88).unwrap();
        let b = SmhParams::new(3, 2.5, 32, 88).unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(
            a.fingerprint(),
            SmhParams::new(3, 2.0, 32, 88).unwrap().fingerprint()
        );
    }
}
