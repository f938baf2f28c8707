//! Secure Joint Learning: what a contribution must look like, and how the
//! joint RBF-Hamming SVM is trained from a set of contributions.
//!
//! The same functions run on the server and in tests/clients that rebuild
//! the model from their own logs, so "the server's model" and "the model of
//! these contributions" are one definition.

use std::collections::BTreeMap;

use privox_format::Fingerprint;
use privox_smh::{CodeSpace, CodeTable, Codes, SmhParams};
use privox_svm::{SvcParams, SvmModel};

use crate::error::{Result, ServiceError};
use crate::storage::Federation;

/// Most codes in one contribution or classification request.
pub const MAX_CODES_PER_REQUEST: usize = 100_000;

/// Parses a 32-digit hex fingerprint.
pub fn parse_fingerprint(hex: &str) -> Result<Fingerprint> {
    let bad = || ServiceError::BadRequest(format!("{hex:?} is not a 32-digit hex fingerprint"));
    if hex.len() != 32 {
        return Err(bad());
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
            .map_err(|_| bad())?;
    }
    Ok(Fingerprint(out))
}

/// The federation's code space (public SMH parameters + key id).
pub fn code_space(f: &Federation) -> Result<CodeSpace> {
    let params = SmhParams::new(f.k, f.delta, f.mpc as usize, f.dim as usize)
        .map_err(|e| ServiceError::BadRequest(format!("SMH parameters: {e}")))?;
    Ok(CodeSpace {
        params,
        key_id: parse_fingerprint(&f.key_id)?,
    })
}

fn read_codes(f: &Federation, bytes: &[u8]) -> Result<CodeTable> {
    let table = CodeTable::from_bytes(bytes).map_err(|e| ServiceError::Malformed {
        what: "SMH code file",
        detail: e.to_string(),
    })?;
    let space = code_space(f)?;
    table.codes.check_space(&space).map_err(|e| {
        ServiceError::WrongCodeSpace(format!(
            "federation {:?} takes codes of code space {}: {e}",
            f.name,
            space.fingerprint()
        ))
    })?;
    if table.codes.is_empty() || table.codes.len() > MAX_CODES_PER_REQUEST {
        return Err(ServiceError::BadRequest(format!(
            "{} codes; send 1 to {MAX_CODES_PER_REQUEST}",
            table.codes.len()
        )));
    }
    if !table.files.is_empty() || !table.speakers.is_empty() {
        return Err(ServiceError::BadRequest(
            "send codes and labels only: file names and speakers stay with the client (see privox_service::joint::strip)"
                .into(),
        ));
    }
    Ok(table)
}

/// Checks a contribution (code-table envelope) against the federation:
/// its code space, one known label per code, no file or speaker names.
/// Returns the table and its label counts.
pub fn check_contribution(
    f: &Federation,
    bytes: &[u8],
) -> Result<(CodeTable, BTreeMap<String, u64>)> {
    let table = read_codes(f, bytes)?;
    if table.labels.len() != table.codes.len() {
        return Err(ServiceError::BadRequest(
            "a contribution needs one label per code".into(),
        ));
    }
    let mut counts = BTreeMap::new();
    for l in &table.labels {
        if !f.classes.contains(l) {
            return Err(ServiceError::BadRequest(format!(
                "label {:?} is not one of the federation's classes {:?}",
                l.chars().take(64).collect::<String>(),
                f.classes
            )));
        }
        *counts.entry(l.clone()).or_insert(0) += 1;
    }
    Ok((table, counts))
}

/// Checks codes to classify (labels, if any, are ignored).
pub fn check_query(f: &Federation, bytes: &[u8]) -> Result<Codes> {
    Ok(read_codes(f, bytes)?.codes)
}

/// Keeps only what may leave the client: the codes and, for contributions,
/// the labels. File names and speakers are dropped.
pub fn strip(table: &CodeTable, keep_labels: bool) -> Result<CodeTable> {
    CodeTable::new(
        table.codes.clone(),
        Vec::new(),
        Vec::new(),
        if keep_labels {
            table.labels.clone()
        } else {
            Vec::new()
        },
    )
    .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Trains the joint model on contributions in the given (canonical) order:
/// codes concatenated, labels indexed by the federation's class list, the
/// federation's C and γ, default solver settings.
pub fn train(f: &Federation, contributions: &[CodeTable]) -> Result<SvmModel> {
    if contributions.is_empty() {
        return Err(ServiceError::NotReady(
            "no contributions yet: nothing to train on".into(),
        ));
    }
    let parts: Vec<&Codes> = contributions.iter().map(|t| &t.codes).collect();
    let codes = Codes::concat(&parts).map_err(|e| ServiceError::WrongCodeSpace(e.to_string()))?;
    let mut y = Vec::with_capacity(codes.len());
    for t in contributions {
        for l in &t.labels {
            y.push(f.classes.iter().position(|c| c == l).ok_or_else(|| {
                ServiceError::BadRequest(format!("label {l:?} is not a federation class"))
            })?);
        }
    }
    let params = SvcParams {
        c: f.c,
        ..SvcParams::default()
    };
    SvmModel::train_codes(&codes, &y, &f.classes, f.gamma, &params, None).map_err(|e| match e {
        privox_svm::SvmError::SingleClass { .. } | privox_svm::SvmError::EmptyTrainingSet => {
            ServiceError::NotReady(format!("cannot train yet: {e}"))
        }
        other => ServiceError::Internal(other.to_string()),
    })
}
