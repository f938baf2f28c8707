//! API tokens and names.
//!
//! A token is 32 bytes from the OS generator, shown once as
//! `pvx_<64 hex digits>`; the database keeps only its SHA-256 (hex), so a
//! copy of the database does not let anyone call the API.

use rand_core::{OsRng, TryRngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Result, ServiceError};

/// Prefix of every token (lets secret scanners find leaked ones).
pub const TOKEN_PREFIX: &str = "pvx_";

/// A fresh token (to show once) and its hash (to store).
pub fn new_token() -> Result<(Zeroizing<String>, String)> {
    let mut raw = Zeroizing::new([0u8; 32]);
    OsRng
        .try_fill_bytes(raw.as_mut())
        .map_err(|e| ServiceError::internal("OS random generator", e))?;
    let token = Zeroizing::new(format!("{TOKEN_PREFIX}{}", hex(raw.as_ref())));
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// SHA-256 of a token, hex: what the database stores and looks up.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            // Writing to a String cannot fail.
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Longest accepted name.
pub const MAX_NAME: usize = 64;

/// Tenant, federation and model names: 1–64 characters of `a-z A-Z 0-9 . _ -`,
/// starting with a letter or digit. Anything else (path separators, quotes,
/// SQL metacharacters, control characters, 10 kB strings) is refused before
/// it reaches storage or a log line.
pub fn check_name(what: &'static str, name: &str) -> Result<()> {
    let bad = |reason: String| Err(ServiceError::InvalidName { what, reason });
    if name.is_empty() {
        return bad("empty".into());
    }
    if name.len() > MAX_NAME {
        return bad(format!("{} bytes, at most {MAX_NAME}", name.len()));
    }
    if !name.as_bytes()[0].is_ascii_alphanumeric() {
        return bad("must start with a letter or digit".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return bad(format!(
            "character {c:?} not allowed (use a-z, 0-9, '.', '_', '-')"
        ));
    }
    Ok(())
}

/// Idempotency ids: 1–128 characters of the same alphabet (UUIDs fit).
pub fn check_idempotency_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
    {
        return Err(ServiceError::InvalidName {
            what: "idempotency id",
            reason: "1-128 characters of a-z, 0-9, '.', '_', '-', ':'".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_differ_from_tokens() {
        let (a, ha) = new_token().unwrap();
        let (b, hb) = new_token().unwrap();
        assert_ne!(*a, *b);
        assert_ne!(ha, hb);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == 68);
        assert_eq!(token_hash(&a), ha);
        assert!(!ha.contains(&a[4..]));
    }

    #[test]
    fn hostile_names_are_refused() {
        for n in [
            "",
            "../etc",
            "a/b",
            "x'; DROP TABLE tenants;--",
            "é",
            ".hidden",
            "a b",
            "a\0",
        ] {
            assert!(check_name("tenant", n).is_err(), "{n:?}");
        }
        assert!(check_name("tenant", &"a".repeat(10_000)).is_err());
        for n in ["acme", "call-centre_2", "a.b"] {
            check_name("tenant", n).unwrap();
        }
    }
}
