//! TLS with rustls (ring provider): loading PEM files, and a self-signed
//! certificate for first use on one machine.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Cause, Result, ServiceError};

/// A TLS refusal: `what` went wrong, because of `source` when given.
fn tls_err(what: String, source: Option<Cause>) -> ServiceError {
    ServiceError::Tls { what, source }
}

/// A rustls server configuration from a PEM certificate chain and key.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>> {
    let certs = load_certs(cert)?;
    let key_pem = std::fs::read(key).map_err(|e| ServiceError::file("read", key, e))?;
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| {
            tls_err(
                format!("{} is not a PEM key", key.display()),
                Some(e.into()),
            )
        })?
        .ok_or_else(|| tls_err(format!("{} holds no private key", key.display()), None))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls_err("protocol versions".into(), Some(e.into())))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| {
        tls_err(
            "certificate and key do not match or are invalid".into(),
            Some(e.into()),
        )
    })?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Reads every certificate of a PEM file.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path).map_err(|e| ServiceError::file("read", path, e))?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| tls_err(format!("{} is not PEM", path.display()), Some(e.into())))?;
    if certs.is_empty() {
        return Err(tls_err(
            format!("{} holds no certificate", path.display()),
            None,
        ));
    }
    Ok(certs)
}

/// Paths of a generated self-signed pair.
#[derive(Clone, Debug)]
pub struct SelfSigned {
    /// Certificate (give it to clients as their CA file).
    pub cert: PathBuf,
    /// Private key (mode 0600).
    pub key: PathBuf,
    /// True when this call created them.
    pub created: bool,
}

/// Creates (once) a self-signed certificate for `localhost`, `127.0.0.1`
/// and `::1` in `dir` (`tls/cert.pem`, `tls/key.pem`, key mode 0600).
pub fn ensure_self_signed(dir: &Path) -> Result<SelfSigned> {
    let tls = dir.join("tls");
    let (cert, key) = (tls.join("cert.pem"), tls.join("key.pem"));
    if cert.exists() && key.exists() {
        return Ok(SelfSigned {
            cert,
            key,
            created: false,
        });
    }
    std::fs::create_dir_all(&tls).map_err(|e| ServiceError::file("create", &tls, e))?;
    let (cert_pem, key_pem) = self_signed_pem(&["localhost", "127.0.0.1", "::1"])?;
    privox_format::write_secret_atomic(&key, key_pem.as_bytes())
        .map_err(|e| tls_err("writing the key".into(), Some(e.into())))?;
    privox_format::write_atomic(&cert, cert_pem.as_bytes())
        .map_err(|e| tls_err("writing the certificate".into(), Some(e.into())))?;
    Ok(SelfSigned {
        cert,
        key,
        created: true,
    })
}

/// A self-signed certificate and its key (PEM) for the given names
/// (DNS names or IP addresses). Keys come from the OS generator.
pub fn self_signed_pem(names: &[&str]) -> Result<(String, zeroize::Zeroizing<String>)> {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let ck = rcgen::generate_simple_self_signed(names)
        .map_err(|e| tls_err("generating a certificate".into(), Some(e.into())))?;
    Ok((
        ck.cert.pem(),
        zeroize::Zeroizing::new(ck.key_pair.serialize_pem()),
    ))
}

/// A rustls client configuration trusting exactly the given CA certificates.
pub fn client_roots(ca_pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certs = rustls_pemfile::certs(&mut &ca_pem[..])
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| tls_err("the CA file is not PEM".into(), Some(e.into())))?;
    if certs.is_empty() {
        return Err(tls_err("the CA file holds no certificate".into(), None));
    }
    Ok(certs)
}
