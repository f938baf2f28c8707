//! The secret SMH key `(A, w)`: generation, identity, file format, zeroization.

use crate::{SmhError, SmhParams};
use privox_format::{Fingerprint, FormatError, Magic, Reader, Writer};
use rand::Rng;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rand_distr::{Distribution, StandardNormal, Uniform};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;
use zeroize::{Zeroize, Zeroizing};

/// Magic of SMH key files.
pub const KEY_MAGIC: Magic = Magic(*b"PVXSMHK1");
/// Key file format version written by this build.
pub const KEY_VERSION: u16 = 1;

/// A secret SMH key: `A` (M×L, i.i.d. N(0,1)) and `w` (M, i.i.d. U[0, kΔ)).
///
/// Secret material is zeroized when the key is dropped and never shown by
/// `Debug`, which prints only the public parameters and the key id.
///
/// ```
/// use privox_smh::{SmhKey, SmhParams};
/// let params = SmhParams::new(3, 2.0, 4, 5).unwrap();
/// let key = SmhKey::generate(params); // OS entropy: the production path
/// let codes = key.hash_rows(&[0.1, -0.2, 0.3, 0.0, 1.0]).unwrap();
/// assert_eq!(codes.len(), 1);
/// assert!(!format!("{key:?}").contains("0."), "Debug never shows key values");
/// ```
pub struct SmhKey {
    params: SmhParams,
    /// Row-major M×L projection matrix.
    a: Vec<f64>,
    /// Dither, one per row of `A`.
    w: Vec<f64>,
    id: Fingerprint,
    /// Kernel layouts of `(A, w)`, built on first use and kept for the key's
    /// lifetime (a service hashes many batches with one key). Zeroized on drop.
    cache: crate::hash::KernelCache,
}

impl Drop for SmhKey {
    fn drop(&mut self) {
        self.a.zeroize();
        self.w.zeroize();
    }
}

impl fmt::Debug for SmhKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmhKey")
            .field("params", &self.params)
            .field("key_id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SmhKey {
    /// Generates a key from OS entropy (ChaCha20 seeded by the OS). Use this
    /// for anything that protects real data.
    pub fn generate(params: SmhParams) -> Self {
        Self::generate_with_rng(params, &mut ChaCha20Rng::from_os_rng())
    }

    /// Generates a reproducible key from an explicit seed, for experiments
    /// and tests only: anyone who knows the seed knows the key.
    pub fn generate_with_seed(params: SmhParams, seed: u64) -> Self {
        Self::generate_with_rng(params, &mut ChaCha20Rng::seed_from_u64(seed))
    }

    fn generate_with_rng<R: Rng>(params: SmhParams, rng: &mut R) -> Self {
        let m = params.symbols();
        let l = params.dim();
        let a: Vec<f64> = (0..m * l).map(|_| StandardNormal.sample(rng)).collect();
        let range = params.k() as f64 * params.delta();
        // Invariant: range > 0 and finite (validated in SmhParams), so Uniform::new succeeds.
        let uniform = Uniform::new(0.0, range).expect("k*delta is finite and > 0");
        let w: Vec<f64> = (0..m).map(|_| uniform.sample(rng)).collect();
        Self::from_parts(params, a, w)
    }

    fn from_parts(params: SmhParams, a: Vec<f64>, w: Vec<f64>) -> Self {
        let id = key_id(&params, &a, &w);
        SmhKey {
            params,
            a,
            w,
            id,
            cache: Default::default(),
        }
    }

    /// The public parameters this key was made for.
    pub fn params(&self) -> &SmhParams {
        &self.params
    }

    /// A public identifier of this key (truncated SHA-256 of parameters and
    /// key material). Codes and models carry it so that codes made with
    /// another key are refused; it reveals nothing usable about `A` or `w`.
    pub fn key_id(&self) -> Fingerprint {
        self.id
    }

    /// The projection matrix, row-major M×L (secret).
    pub(crate) fn projection(&self) -> &[f64] {
        &self.a
    }

    /// The dither vector of length M (secret).
    pub(crate) fn dither(&self) -> &[f64] {
        &self.w
    }

    /// The kernel layouts cached with this key.
    pub(crate) fn kernel_cache(&self) -> &crate::hash::KernelCache {
        &self.cache
    }

    /// Serializes the key into an envelope. The returned buffer holds secret
    /// material and is zeroized when dropped.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new(KEY_MAGIC, KEY_VERSION, self.params.fingerprint());
        self.params.write_to(&mut w);
        w.put_bytes(&self.id.0);
        w.put_f64s(&self.a);
        w.put_f64s(&self.w);
        // Note: Writer grows its buffer by reallocation; for key sizes used
        // here the large allocations are mmap-backed and moved with mremap,
        // so no stale copy of the secret stays in the heap.
        Zeroizing::new(w.finish())
    }

    /// Parses a key file's bytes; truncation and corruption give typed errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SmhError> {
        let fmt = SmhError::format;
        let mut r = Reader::open(bytes, KEY_MAGIC, &[KEY_VERSION]).map_err(fmt("SMH key file"))?;
        let params = SmhParams::read_from(&mut r).map_err(fmt("SMH key file"))?;
        if r.header().fingerprint != params.fingerprint() {
            return Err(SmhError::Format {
                what: "SMH key file",
                source: FormatError::FingerprintMismatch {
                    expected: params.fingerprint(),
                    found: r.header().fingerprint,
                },
            });
        }
        let id_bytes = r.get_bytes(16).map_err(fmt("SMH key file"))?;
        let m = params.symbols();
        let a = r.get_f64s(m * params.dim()).map_err(fmt("SMH key file"))?;
        let w = r.get_f64s(m).map_err(fmt("SMH key file"))?;
        r.finish().map_err(fmt("SMH key file"))?;
        let invalid = |source: FormatError| SmhError::Format {
            what: "SMH key file",
            source,
        };
        for (what, expected, found) in [
            ("projection values (M x dim)", m * params.dim(), a.len()),
            ("offsets (M)", m, w.len()),
        ] {
            if found != expected {
                return Err(invalid(FormatError::LengthMismatch {
                    what,
                    expected: expected as u64,
                    found: found as u64,
                }));
            }
        }
        let range = params.k() as f64 * params.delta();
        if a.iter().any(|v| !v.is_finite()) || w.iter().any(|v| !(0.0..range).contains(v)) {
            return Err(invalid(FormatError::Inconsistent {
                what: "key values (non-finite projections, or offsets outside [0, kΔ))",
            }));
        }
        let key = Self::from_parts(params, a, w);
        if key.id.0[..] != id_bytes[..] {
            return Err(invalid(FormatError::IdMismatch {
                what: "key id",
                expected: key.id.to_hex(),
                found: id_bytes.iter().map(|b| format!("{b:02x}")).collect(),
            }));
        }
        Ok(key)
    }

    /// Writes the key file atomically with permissions 0600.
    pub fn write(&self, path: &Path) -> Result<(), SmhError> {
        privox_format::write_secret_atomic(path, &self.to_bytes())?;
        Ok(())
    }

    /// Reads a key file.
    pub fn read(path: &Path) -> Result<Self, SmhError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| SmhError::Read {
            path: path.to_path_buf(),
            source,
        })?);
        Self::from_bytes(&bytes)
    }

    /// Reads a key file and requires it to match `expected` parameters
    /// (for example those stored in a model).
    pub fn read_expecting(path: &Path, expected: &SmhParams) -> Result<Self, SmhError> {
        let key = Self::read(path)?;
        if key.params != *expected {
            return Err(SmhError::KeyMismatch {
                expected: expected.to_string(),
                found: key.params.to_string(),
            });
        }
        Ok(key)
    }
}

fn key_id(params: &SmhParams, a: &[f64], w: &[f64]) -> Fingerprint {
    let mut h = Sha256::new();
    h.update(b"privox-smh key id v1");
    h.update(params.canonical_bytes());
    for v in a.iter().chain(w) {
        h.update(v.to_le_bytes());
    }
    let digest = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    Fingerprint(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> SmhParams {
        SmhParams::new(3, 2.0, 4, 6).unwrap()
    }

    #[test]
    fn a_missing_key_file_names_its_cause_once() {
        let err = SmhKey::read(Path::new("/nonexistent/privox.key")).unwrap_err();
        assert!(matches!(err, SmhError::Read { .. }));
        // The message names the file; the I/O cause is the source, not repeated.
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/privox.key"), "{msg}");
        let cause = std::error::Error::source(&err).expect("the I/O error is chained");
        assert!(!msg.contains(&cause.to_string()), "{msg}");
        let report = privox_format::Report(&err).to_string();
        assert_eq!(report.matches(&cause.to_string()).count(), 1, "{report}");
    }

    #[test]
    fn seeded_keys_are_reproducible_and_distinct() {
        let a = SmhKey::generate_with_seed(params(), 1);
        let b = SmhKey::generate_with_seed(params(), 1);
        let c = SmhKey::generate_with_seed(params(), 2);
        assert_eq!(a.key_id(), b.key_id());
        assert_ne!(a.key_id(), c.key_id());
        assert_ne!(
            SmhKey::generate(params()).key_id(),
            SmhKey::generate(params()).key_id()
        );
        let range = 3.0 * 2.0;
        assert!(a.dither().iter().all(|v| (0.0..range).contains(v)));
    }

    #[test]
    fn key_file_round_trip_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.smhkey");
        let key = SmhKey::generate_with_seed(params(), 7);
        key.write(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let back = SmhKey::read(&path).unwrap();
        assert_eq!(back.key_id(), key.key_id());
        assert_eq!(back.projection(), key.projection());
        assert_eq!(back.dither(), key.dither());
        let other = SmhParams::new(3, 2.5, 4, 6).unwrap();
        assert!(matches!(
            SmhKey::read_expecting(&path, &other),
            Err(SmhError::KeyMismatch { .. })
        ));
    }

    #[test]
    fn truncated_or_corrupted_key_files_are_typed_errors() {
        let bytes = SmhKey::generate_with_seed(params(), 7).to_bytes();
        for cut in [0, 5, 40, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                matches!(
                    SmhKey::from_bytes(&bytes[..cut]),
                    Err(SmhError::Format { .. })
                ),
                "cut {cut}"
            );
        }
        let mut bad = bytes.to_vec();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x10;
        assert!(matches!(
            SmhKey::from_bytes(&bad),
            Err(SmhError::Format { .. })
        ));
    }

    #[test]
    fn debug_hides_secret_material() {
        let key = SmhKey::generate_with_seed(params(), 3);
        let dbg = format!("{key:?}");
        let first = format!("{}", key.projection()[0]);
        assert!(!dbg.contains(&first));
        assert!(dbg.contains("key_id"));
    }
}
