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
    let bad = || ServiceError::BadFingerprint {
        what: "key id",
        expected: "32 hex digits",
        found: hex.chars().take(80).collect(),
    };
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
        .map_err(|e| ServiceError::SmhParams(Box::new(e)))?;
    Ok(CodeSpace {
        params,
        key_id: parse_fingerprint(&f.key_id)?,
    })
}

/// Refuses codes of another code space than the federation's, naming both
/// fingerprints.
fn check_space(f: &Federation, codes: &Codes) -> Result<()> {
    let space = code_space(f)?;
    if codes.space() != space {
        return Err(ServiceError::WrongCodeSpace {
            federation: f.name.clone(),
            expected: space.fingerprint().to_hex(),
            found: codes.space().fingerprint().to_hex(),
        });
    }
    Ok(())
}

fn read_codes(f: &Federation, bytes: &[u8]) -> Result<CodeTable> {
    let table =
        CodeTable::from_bytes(bytes).map_err(|e| ServiceError::malformed("SMH code file", e))?;
    check_space(f, &table.codes)?;
    if table.codes.is_empty() || table.codes.len() > MAX_CODES_PER_REQUEST {
        return Err(ServiceError::CodeCount {
            found: table.codes.len(),
            max: MAX_CODES_PER_REQUEST,
        });
    }
    if !table.files.is_empty() || !table.speakers.is_empty() {
        return Err(ServiceError::CodesWithMetadata);
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
        return Err(ServiceError::LabelCount {
            codes: table.codes.len(),
            labels: table.labels.len(),
        });
    }
    let mut counts = BTreeMap::new();
    for l in &table.labels {
        if !f.classes.contains(l) {
            return Err(unknown_label(f, l));
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
    .map_err(|e| ServiceError::internal("stripping a code table", e))
}

/// The refusal of a label outside the federation's classes.
fn unknown_label(f: &Federation, label: &str) -> ServiceError {
    ServiceError::UnknownLabel {
        label: label.chars().take(64).collect(),
        classes: f.classes.clone(),
    }
}

/// Trains the joint model on contributions in the given (canonical) order:
/// codes concatenated, labels indexed by the federation's class list, the
/// federation's C and γ, default solver settings.
pub fn train(f: &Federation, contributions: &[CodeTable]) -> Result<SvmModel> {
    if contributions.is_empty() {
        return Err(ServiceError::NoContributions {
            federation: f.name.clone(),
        });
    }
    for t in contributions {
        check_space(f, &t.codes)?;
    }
    let parts: Vec<&Codes> = contributions.iter().map(|t| &t.codes).collect();
    let codes =
        Codes::concat(&parts).map_err(|e| ServiceError::internal("joining contributions", e))?;
    let mut y = Vec::with_capacity(codes.len());
    for t in contributions {
        for l in &t.labels {
            y.push(
                f.classes
                    .iter()
                    .position(|c| c == l)
                    .ok_or_else(|| unknown_label(f, l))?,
            );
        }
    }
    let params = SvcParams {
        c: f.c,
        ..SvcParams::default()
    };
    SvmModel::train_codes(&codes, &y, &f.classes, f.gamma, &params, None).map_err(|e| match e {
        privox_svm::SvmError::SingleClass { .. } | privox_svm::SvmError::EmptyTrainingSet => {
            ServiceError::CannotTrain {
                federation: f.name.clone(),
                source: Box::new(e),
            }
        }
        other => ServiceError::internal("training the joint SVM", other),
    })
}
