//! The binary envelope shared by every privox file and wire object.
//!
//! Keys, models, ciphertexts and codes all travel in the same envelope:
//!
//! ```text
//! magic (8 bytes) | version (u16 LE) | fingerprint (16 bytes) | payload length (u64 LE)
//! | payload | checksum (first 8 bytes of SHA-256 over everything before it)
//! ```
//!
//! * the **magic** says what the object is, so a model is never read as a key;
//! * the **version** lets readers refuse formats they do not understand;
//! * the **fingerprint** binds the object to its parameter set (for example a
//!   CKKS parameter set or SMH public parameters), so mismatches are caught
//!   before any computation;
//! * the **checksum** turns silent corruption into a clear error.
//!
//! [`Reader`] checks every length against the bytes actually present *before*
//! allocating, so no byte string can make it panic or allocate unboundedly.
//!
//! ```
//! use privox_format::{Fingerprint, Magic, Reader, Writer};
//!
//! const MAGIC: Magic = Magic(*b"PVXDEMO1");
//! let fp = Fingerprint::of(b"parameters");
//! let mut w = Writer::new(MAGIC, 1, fp);
//! w.put_u32(7);
//! w.put_f64s(&[1.0, 2.5]);
//! let bytes = w.finish();
//!
//! let mut r = Reader::open(&bytes, MAGIC, &[1]).unwrap();
//! assert_eq!(r.header().fingerprint, fp);
//! assert_eq!(r.get_u32().unwrap(), 7);
//! assert_eq!(r.get_f64s(16).unwrap(), vec![1.0, 2.5]);
//! r.finish().unwrap();
//! ```

mod file;
mod report;

pub use file::{FileError, write_atomic, write_secret_atomic};
pub use report::Report;

use sha2::{Digest, Sha256};
use std::fmt;

/// Size of the fixed header in bytes.
pub const HEADER_LEN: usize = 8 + 2 + 16 + 8;
/// Size of the trailing checksum in bytes.
pub const CHECKSUM_LEN: usize = 8;

/// An 8-byte tag naming the kind of object, e.g. `*b"PVXSMHK1"`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Magic(pub [u8; 8]);

impl fmt::Debug for Magic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Display for Magic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", String::from_utf8_lossy(&self.0).escape_default())
    }
}

/// A 128-bit digest of a parameter set's canonical bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Fingerprint(pub [u8; 16]);

impl Fingerprint {
    /// Fingerprint of canonical parameter bytes (truncated SHA-256).
    pub fn of(canonical: &[u8]) -> Self {
        let digest = Sha256::digest(canonical);
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        Fingerprint(out)
    }

    /// Lower-case hex, for messages and JSON sidecars.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The decoded fixed header of an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// What the object is.
    pub magic: Magic,
    /// Format version of the payload.
    pub version: u16,
    /// The parameter set the object belongs to.
    pub fingerprint: Fingerprint,
}

/// Everything that can be wrong with an envelope's bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    /// The magic is not the one the reader expects.
    #[error("not a {expected} object: found magic {found} (wrong file type, or not a privox file)")]
    BadMagic {
        /// The reader's magic.
        expected: Magic,
        /// The magic in the data.
        found: Magic,
    },
    #[error(
        "{magic} format version {found} is not supported (this build reads {supported:?}); upgrade privox or regenerate the file"
    )]
    /// The version is not one this build reads.
    UnsupportedVersion {
        /// The object's magic.
        magic: Magic,
        /// The version in the data.
        found: u16,
        /// The versions this build reads.
        supported: Vec<u16>,
    },
    #[error("truncated data: needed {needed} more bytes, only {available} present")]
    /// The data ends before a field or the declared payload.
    Truncated {
        /// Bytes the field needs.
        needed: u64,
        /// Bytes left.
        available: u64,
    },
    #[error("declared length {len} exceeds the limit of {max} for {what}")]
    /// A declared length is above its limit (checked before allocating).
    LengthTooLarge {
        /// What the length counts.
        what: &'static str,
        /// The declared length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The checksum does not match the bytes before it.
    #[error("checksum mismatch: the data is corrupted")]
    ChecksumMismatch,
    /// Bytes follow the checksum, or payload bytes were left unread.
    #[error("{0} unexpected trailing bytes after the payload")]
    TrailingBytes(u64),
    #[error("parameter fingerprint mismatch: object was made for {found}, expected {expected}")]
    /// The object was made for another parameter set.
    FingerprintMismatch {
        /// The reader's parameter set.
        expected: Fingerprint,
        /// The object's parameter set.
        found: Fingerprint,
    },
    /// A string field is not valid UTF-8.
    #[error("a string field is not valid UTF-8")]
    NotUtf8(#[source] std::string::FromUtf8Error),
    /// An enumeration or flag field holds a value this build does not know.
    #[error("{what}: unknown value {found}")]
    UnknownTag {
        /// What the field selects.
        what: &'static str,
        /// The value in the data.
        found: u64,
    },
    /// An integer field is outside the range its type allows.
    #[error("{what} is {found}, outside {min}..={max}")]
    OutOfRange {
        /// What the field counts or indexes.
        what: &'static str,
        /// The value in the data.
        found: u64,
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// An integer field that must be a power of two up to a limit is not.
    #[error("{what} is {found}, not a power of two in 1..={max}")]
    NotPowerOfTwo {
        /// What the field counts.
        what: &'static str,
        /// The value in the data.
        found: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// A length or count disagrees with the one other fields imply.
    #[error("{what}: found {found}, expected {expected}")]
    LengthMismatch {
        /// What was counted.
        what: &'static str,
        /// The count other fields imply.
        expected: u64,
        /// The count in the data.
        found: u64,
    },
    /// A floating-point field that must be positive and finite is not.
    #[error("{what} is not a positive finite number")]
    NotPositiveFinite {
        /// The field.
        what: &'static str,
    },
    /// A value that must be unique within a list appears twice.
    #[error("{what} {value} appears twice")]
    Duplicate {
        /// What the list holds.
        what: &'static str,
        /// The repeated value.
        value: u64,
    },
    /// Fields that are each well-formed but contradict one another
    /// (lengths, counts, ordering or finiteness across fields).
    #[error("the {what} are inconsistent")]
    Inconsistent {
        /// The group of fields.
        what: &'static str,
    },
    /// A stored identifier or digest does not match the content it names.
    #[error("stored {what} {found} does not match the content, which gives {expected}")]
    IdMismatch {
        /// The identifier.
        what: &'static str,
        /// The identifier computed from the content (hex).
        expected: String,
        /// The identifier stored in the data (hex).
        found: String,
    },
}

/// Builds an envelope. Multi-byte values are little-endian.
#[derive(Debug)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// Starts an envelope with the given header.
    pub fn new(magic: Magic, version: u16, fingerprint: Fingerprint) -> Self {
        Self::with_capacity(magic, version, fingerprint, 64)
    }

    /// Starts an envelope whose buffer already holds `payload` bytes of
    /// payload plus header and checksum. A payload that fits is never
    /// reallocated, so no partial copy is left behind in freed memory:
    /// use it for secrets (and wrap the result of [`Writer::finish`] in
    /// `zeroize::Zeroizing`).
    pub fn with_capacity(
        magic: Magic,
        version: u16,
        fingerprint: Fingerprint,
        payload: usize,
    ) -> Self {
        let mut buf = Vec::with_capacity(HEADER_LEN + payload + CHECKSUM_LEN);
        buf.extend_from_slice(&magic.0);
        buf.extend_from_slice(&version.to_le_bytes());
        buf.extend_from_slice(&fingerprint.0);
        buf.extend_from_slice(&0u64.to_le_bytes()); // payload length, patched in finish()
        Writer { buf }
    }

    /// Appends a `u8` (little-endian).
    pub fn put_u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    /// Appends a `u16` (little-endian).
    pub fn put_u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a `u32` (little-endian).
    pub fn put_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a `u64` (little-endian).
    pub fn put_u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a `f32` (little-endian).
    pub fn put_f32(&mut self, v: f32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a `f64` (little-endian).
    pub fn put_f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Length-prefixed raw bytes.
    pub fn put_bytes(&mut self, v: &[u8]) {
        self.put_u64(v.len() as u64);
        self.buf.extend_from_slice(v);
    }
    /// Length-prefixed UTF-8 string.
    pub fn put_str(&mut self, v: &str) {
        self.put_bytes(v.as_bytes());
    }
    /// Length-prefixed `f64` slice.
    pub fn put_f64s(&mut self, v: &[f64]) {
        self.put_u64(v.len() as u64);
        self.buf.reserve(v.len() * 8);
        for x in v {
            self.put_f64(*x);
        }
    }
    /// Length-prefixed `f32` slice.
    pub fn put_f32s(&mut self, v: &[f32]) {
        self.put_u64(v.len() as u64);
        self.buf.reserve(v.len() * 4);
        for x in v {
            self.put_f32(*x);
        }
    }
    /// Length-prefixed `u64` slice.
    pub fn put_u64s(&mut self, v: &[u64]) {
        self.put_u64(v.len() as u64);
        self.buf.reserve(v.len() * 8);
        for x in v {
            self.put_u64(*x);
        }
    }

    /// Closes the envelope: patches the payload length and appends the checksum.
    pub fn finish(mut self) -> Vec<u8> {
        let payload_len = (self.buf.len() - HEADER_LEN) as u64;
        self.buf[HEADER_LEN - 8..HEADER_LEN].copy_from_slice(&payload_len.to_le_bytes());
        let sum = checksum(&self.buf);
        self.buf.extend_from_slice(&sum);
        self.buf
    }
}

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_LEN] {
    let digest = Sha256::digest(bytes);
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&digest[..CHECKSUM_LEN]);
    out
}

/// Reads only the header of an envelope, without checking the payload.
///
/// Useful to dispatch on the magic or to report a fingerprint.
pub fn peek_header(bytes: &[u8]) -> Result<Header, FormatError> {
    if bytes.len() < HEADER_LEN {
        return Err(FormatError::Truncated {
            needed: HEADER_LEN as u64,
            available: bytes.len() as u64,
        });
    }
    let mut magic = [0u8; 8];
    magic.copy_from_slice(&bytes[..8]);
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    let mut fp = [0u8; 16];
    fp.copy_from_slice(&bytes[10..26]);
    Ok(Header {
        magic: Magic(magic),
        version,
        fingerprint: Fingerprint(fp),
    })
}

/// Reads an envelope. Every read is bounds-checked; no input can panic it.
#[derive(Debug)]
pub struct Reader<'a> {
    header: Header,
    payload: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Opens an envelope, checking magic, version, length and checksum.
    pub fn open(bytes: &'a [u8], magic: Magic, supported: &[u16]) -> Result<Self, FormatError> {
        let header = peek_header(bytes)?;
        if header.magic != magic {
            return Err(FormatError::BadMagic {
                expected: magic,
                found: header.magic,
            });
        }
        if !supported.contains(&header.version) {
            return Err(FormatError::UnsupportedVersion {
                magic,
                found: header.version,
                supported: supported.to_vec(),
            });
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[HEADER_LEN - 8..HEADER_LEN]);
        let payload_len = u64::from_le_bytes(len);
        let available = (bytes.len() - HEADER_LEN) as u64;
        let needed = payload_len.saturating_add(CHECKSUM_LEN as u64);
        if needed > available {
            return Err(FormatError::Truncated { needed, available });
        }
        if needed < available {
            return Err(FormatError::TrailingBytes(available - needed));
        }
        // Safe: payload_len + 8 == bytes.len() - HEADER_LEN, checked just above.
        let end = HEADER_LEN + payload_len as usize;
        if checksum(&bytes[..end]) != bytes[end..] {
            return Err(FormatError::ChecksumMismatch);
        }
        Ok(Reader {
            header,
            payload: &bytes[HEADER_LEN..end],
            pos: 0,
        })
    }

    /// Like [`Reader::open`], and also requires the given fingerprint.
    pub fn open_expecting(
        bytes: &'a [u8],
        magic: Magic,
        supported: &[u16],
        fingerprint: Fingerprint,
    ) -> Result<Self, FormatError> {
        let r = Self::open(bytes, magic, supported)?;
        if r.header.fingerprint != fingerprint {
            return Err(FormatError::FingerprintMismatch {
                expected: fingerprint,
                found: r.header.fingerprint,
            });
        }
        Ok(r)
    }

    /// The envelope's header.
    pub fn header(&self) -> Header {
        self.header
    }

    /// Bytes left in the payload.
    pub fn remaining(&self) -> usize {
        self.payload.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        if n > self.remaining() {
            return Err(FormatError::Truncated {
                needed: n as u64,
                available: self.remaining() as u64,
            });
        }
        let s = &self.payload[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FormatError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads a `u8` (little-endian).
    pub fn get_u8(&mut self) -> Result<u8, FormatError> {
        Ok(self.array::<1>()?[0])
    }
    /// Reads a `u16` (little-endian).
    pub fn get_u16(&mut self) -> Result<u16, FormatError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    /// Reads a `u32` (little-endian).
    pub fn get_u32(&mut self) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    /// Reads a `u64` (little-endian).
    pub fn get_u64(&mut self) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// Reads a `f32` (little-endian).
    pub fn get_f32(&mut self) -> Result<f32, FormatError> {
        Ok(f32::from_le_bytes(self.array()?))
    }
    /// Reads a `f64` (little-endian).
    pub fn get_f64(&mut self) -> Result<f64, FormatError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// Reads a `u64` that must be a count of items of `item_size` bytes, at
    /// most `max` of them, and all present in the remaining payload.
    pub fn get_len(
        &mut self,
        what: &'static str,
        item_size: usize,
        max: usize,
    ) -> Result<usize, FormatError> {
        let len = self.get_u64()?;
        if len > max as u64 {
            return Err(FormatError::LengthTooLarge {
                what,
                len,
                max: max as u64,
            });
        }
        let bytes = len.saturating_mul(item_size as u64);
        if bytes > self.remaining() as u64 {
            return Err(FormatError::Truncated {
                needed: bytes,
                available: self.remaining() as u64,
            });
        }
        Ok(len as usize)
    }

    /// Length-prefixed raw bytes, at most `max` of them.
    pub fn get_bytes(&mut self, max: usize) -> Result<&'a [u8], FormatError> {
        let n = self.get_len("byte string", 1, max)?;
        self.take(n)
    }

    /// Length-prefixed UTF-8 string, at most `max` bytes.
    pub fn get_str(&mut self, max: usize) -> Result<String, FormatError> {
        let b = self.get_bytes(max)?;
        String::from_utf8(b.to_vec()).map_err(FormatError::NotUtf8)
    }

    /// Length-prefixed `f64` slice, at most `max` values.
    pub fn get_f64s(&mut self, max: usize) -> Result<Vec<f64>, FormatError> {
        let n = self.get_len("f64 array", 8, max)?;
        (0..n).map(|_| self.get_f64()).collect()
    }

    /// Length-prefixed `f32` slice, at most `max` values.
    pub fn get_f32s(&mut self, max: usize) -> Result<Vec<f32>, FormatError> {
        let n = self.get_len("f32 array", 4, max)?;
        (0..n).map(|_| self.get_f32()).collect()
    }

    /// Length-prefixed `u64` slice, at most `max` values.
    pub fn get_u64s(&mut self, max: usize) -> Result<Vec<u64>, FormatError> {
        let n = self.get_len("u64 array", 8, max)?;
        (0..n).map(|_| self.get_u64()).collect()
    }

    /// Ends reading: the whole payload must have been consumed.
    pub fn finish(self) -> Result<(), FormatError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(FormatError::TrailingBytes(n as u64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const M: Magic = Magic(*b"PVXTEST1");

    /// Secret payloads (e.g. a CKKS secret key) must not leave copies in
    /// memory freed by a reallocation: a pre-sized writer keeps one buffer
    /// from the header to the checksum.
    #[test]
    fn a_presized_writer_never_reallocates() {
        let secret = vec![0xa5u8; 16384];
        let mut w = Writer::with_capacity(M, 1, Fingerprint::default(), 8 + secret.len());
        let start = w.buf.as_ptr();
        w.put_bytes(&secret);
        assert_eq!(w.buf.as_ptr(), start);
        let out = w.finish();
        assert_eq!(out.as_ptr(), start, "finish reallocated");
        assert_eq!(out.len(), out.capacity());
        let mut r = Reader::open(&out, M, &[1]).unwrap();
        assert_eq!(r.get_bytes(1 << 20).unwrap(), &secret[..]);
    }

    fn sample() -> Vec<u8> {
        let mut w = Writer::new(M, 3, Fingerprint::of(b"p"));
        w.put_u16(9);
        w.put_str("hello");
        w.put_f64s(&[1.0, -2.0, f64::MAX]);
        w.put_u64s(&[u64::MAX, 0]);
        w.put_f32s(&[0.5]);
        w.finish()
    }

    #[test]
    fn round_trip() {
        let b = sample();
        let mut r = Reader::open_expecting(&b, M, &[3], Fingerprint::of(b"p")).unwrap();
        assert_eq!(r.get_u16().unwrap(), 9);
        assert_eq!(r.get_str(100).unwrap(), "hello");
        assert_eq!(r.get_f64s(10).unwrap(), vec![1.0, -2.0, f64::MAX]);
        assert_eq!(r.get_u64s(10).unwrap(), vec![u64::MAX, 0]);
        assert_eq!(r.get_f32s(10).unwrap(), vec![0.5]);
        r.finish().unwrap();
    }

    #[test]
    fn refuses_wrong_magic_version_fingerprint() {
        let b = sample();
        assert!(matches!(
            Reader::open(&b, Magic(*b"PVXOTHER"), &[3]),
            Err(FormatError::BadMagic { .. })
        ));
        assert!(matches!(
            Reader::open(&b, M, &[1, 2]),
            Err(FormatError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            Reader::open_expecting(&b, M, &[3], Fingerprint::of(b"q")),
            Err(FormatError::FingerprintMismatch { .. })
        ));
    }

    #[test]
    fn huge_declared_length_is_refused_before_allocation() {
        let mut w = Writer::new(M, 1, Fingerprint::default());
        w.put_u64(u64::MAX); // a lying length prefix
        let b = w.finish();
        let mut r = Reader::open(&b, M, &[1]).unwrap();
        assert!(matches!(
            r.get_f64s(usize::MAX),
            Err(FormatError::Truncated { .. })
        ));
    }

    #[test]
    fn limit_is_enforced() {
        let b = sample();
        let mut r = Reader::open(&b, M, &[3]).unwrap();
        r.get_u16().unwrap();
        assert!(matches!(
            r.get_str(2),
            Err(FormatError::LengthTooLarge { .. })
        ));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(mut r) = Reader::open(&bytes, M, &[3]) {
                let _ = r.get_f64s(1 << 20);
            }
        }

        #[test]
        fn any_bit_flip_or_truncation_is_detected(pos in 0usize..1000, bit in 0u8..8, cut in 0usize..1000) {
            let b = sample();
            let mut flipped = b.clone();
            let p = pos % b.len();
            flipped[p] ^= 1 << bit;
            prop_assert!(Reader::open_expecting(&flipped, M, &[3], Fingerprint::of(b"p")).is_err());
            let c = cut % b.len();
            prop_assert!(Reader::open(&b[..c], M, &[3]).is_err());
        }
    }
}
