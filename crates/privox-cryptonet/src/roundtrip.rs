//! The whole protocol run locally, measured: key generation, encryption,
//! serialization, server evaluation, decryption, and agreement with the
//! plaintext network. `privox he eval`, the benches and the reproduction of
//! Table 4 encrypted all use it.

use std::time::Instant;

use privox_ckks::{Encryptor, InsecureSeed, KeyGenerator};
use privox_nn::{Matrix, NnModel};

use crate::client::Client;
use crate::error::Result;
use crate::plan::Packing;
use crate::server::Server;
use crate::wire::{Query, Response, eval_keys_to_bytes};

/// What to run.
#[derive(Clone, Debug)]
pub struct RoundTripOptions {
    /// Single-query or batch packing.
    pub packing: Packing,
    /// Batch packing: pad every query to a full batch (N/2 recordings) by
    /// repeating rows, so per-recording times are those of a full batch.
    pub fill_batch: bool,
    /// Server evaluations per query (the median is reported).
    pub repeats: usize,
    /// Deterministic keys and encryption randomness: tests and reproducible
    /// experiments only (`--seed`); `None` uses OS entropy.
    pub insecure_seed: Option<u64>,
}

impl Default for RoundTripOptions {
    fn default() -> Self {
        RoundTripOptions {
            packing: Packing::Single,
            fill_batch: false,
            repeats: 1,
            insecure_seed: None,
        }
    }
}

/// A recording whose encrypted decision differs from the plaintext one.
#[derive(Clone, Debug, PartialEq)]
pub struct Disagreement {
    /// Index of the recording in the input rows.
    pub row: usize,
    /// Plaintext difference between its two highest logits.
    pub margin: f64,
    /// Largest |encrypted − plaintext| logit difference of that row.
    pub error: f64,
}

/// Median, in milliseconds, of a stage's timings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timing {
    /// Median over the samples, in milliseconds.
    pub median_ms: f64,
    /// Number of timings.
    pub samples: usize,
}

impl Timing {
    fn of(mut v: Vec<f64>) -> Timing {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median_ms = match n {
            0 => 0.0,
            _ if n % 2 == 1 => v[n / 2],
            _ => 0.5 * (v[n / 2 - 1] + v[n / 2]),
        };
        Timing {
            median_ms,
            samples: n,
        }
    }
}

/// Everything measured in one round trip over a set of recordings.
#[derive(Clone, Debug)]
pub struct RoundTripReport {
    /// Human description of the plan.
    pub plan: String,
    /// Packing used.
    pub packing: Packing,
    /// Recordings evaluated.
    pub rows: usize,
    /// Recordings per query (1, or N/2 for a full batch).
    pub rows_per_query: usize,
    /// Recordings whose encrypted decision equals the plaintext one.
    pub agree: usize,
    /// The recordings that differ.
    pub disagreements: Vec<Disagreement>,
    /// Largest |encrypted − plaintext| logit over all rows and classes.
    pub max_abs_error: f64,
    /// Smallest plaintext margin over all rows.
    pub min_margin: f64,
    /// Client: key generation (secret, relinearization and Galois keys).
    pub keygen: Timing,
    /// Client: scale + encode + encrypt, per query.
    pub encrypt: Timing,
    /// Server: evaluation of one query (serialization excluded).
    pub server: Timing,
    /// Client: decrypt + decode + decide, per query.
    pub decrypt: Timing,
    /// Evaluation keys as uploaded.
    pub eval_key_bytes: usize,
    /// Secret key as stored by the client.
    pub secret_key_bytes: usize,
    /// Query bytes as uploaded (seeded ciphertexts).
    pub query_bytes: usize,
    /// Encrypted scores as downloaded.
    pub response_bytes: usize,
    /// Decrypted logits and decisions, per row.
    pub logits: Vec<Vec<f64>>,
    /// Decisions from the decrypted logits.
    pub decisions: Vec<usize>,
    /// Decisions of the plaintext network.
    pub plain_decisions: Vec<usize>,
}

impl RoundTripReport {
    /// Bits of precision: -log2 of the largest logit error.
    pub fn precision_bits(&self) -> f64 {
        -self.max_abs_error.max(f64::MIN_POSITIVE).log2()
    }

    /// Whether every disagreement is explained by a margin below the
    /// measured error.
    pub fn all_disagreements_explained(&self) -> bool {
        self.disagreements.iter().all(|d| d.margin <= 2.0 * d.error)
    }

    /// Server time per recording (ms).
    pub fn server_ms_per_recording(&self) -> f64 {
        self.server.median_ms / self.rows_per_query as f64
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Runs the protocol on already scaled (and clamped) rows of `model`'s
/// features; `progress(done, total)` is called after each query.
pub fn round_trip(
    model: &NnModel,
    scaled: &[Vec<f64>],
    opts: &RoundTripOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<RoundTripReport> {
    let client = Client::new(model.clone(), opts.packing)?;
    let plan = client.plan().clone();
    let t = Instant::now();
    let kg = match opts.insecure_seed {
        Some(s) => KeyGenerator::from_insecure_seed(&plan.params, InsecureSeed::from_u64(s)),
        None => KeyGenerator::new(&plan.params),
    };
    let (sk, keys) = client.keygen_with(kg)?;
    let keygen = ms(t);
    let upload = eval_keys_to_bytes(&plan, &keys)?;
    drop(keys);
    let server = Server::new(model, opts.packing, &upload)?;
    let mut encryptor = match opts.insecure_seed {
        Some(s) => {
            Encryptor::from_insecure_seed(&plan.params, InsecureSeed::from_u64(s.wrapping_add(1)))
        }
        None => Encryptor::new(&plan.params),
    };

    let per_query = plan.max_rows();
    let chunks: Vec<&[Vec<f64>]> = scaled.chunks(per_query).collect();
    let (mut enc_t, mut srv_t, mut dec_t) = (vec![], vec![], vec![]);
    let (mut query_bytes, mut response_bytes) = (0, 0);
    let mut logits: Vec<Vec<f64>> = Vec::with_capacity(scaled.len());
    for (i, chunk) in chunks.iter().enumerate() {
        let mut rows: Vec<Vec<f64>> = chunk.to_vec();
        if opts.fill_batch && opts.packing == Packing::Batch {
            let real = rows.len();
            while rows.len() < per_query {
                rows.push(rows[rows.len() % real].clone());
            }
        }
        let t = Instant::now();
        let query = client.encrypt_with(&mut encryptor, &sk, &rows)?;
        enc_t.push(ms(t));
        let qb = query.to_bytes(&plan)?;
        query_bytes = qb.len();
        let query = Query::from_bytes(&plan, &qb)?;
        let mut response = None;
        for _ in 0..opts.repeats.max(1) {
            let t = Instant::now();
            response = Some(server.infer(&query)?);
            srv_t.push(ms(t));
        }
        let rb = response.expect("at least one repeat ran").to_bytes(&plan)?;
        response_bytes = rb.len();
        let response = Response::from_bytes(&plan, &rb)?;
        let t = Instant::now();
        let scores = client.decrypt(&sk, &response)?;
        dec_t.push(ms(t));
        logits.extend(scores.logits.into_iter().take(chunk.len()));
        progress(i + 1, chunks.len());
    }

    // The plaintext reference: the same scaled rows through the folded model.
    let d = plan.circuit.n_inputs;
    let x = Matrix::new(scaled.len(), d, scaled.concat()).map_err(|source| {
        crate::CryptonetError::Data {
            what: "feature rows",
            source,
        }
    })?;
    let plain = model.network.logits(&x)?;
    let argmax = |l: &[f64]| {
        l.iter()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
                if v > bv { (i, v) } else { (bi, bv) }
            })
            .0
    };
    let mut report_dis = Vec::new();
    let mut max_err: f64 = 0.0;
    let mut min_margin = f64::INFINITY;
    let mut decisions = Vec::with_capacity(scaled.len());
    let mut plain_decisions = Vec::with_capacity(scaled.len());
    for (r, enc) in logits.iter().enumerate() {
        let p = plain.row(r);
        let err = enc
            .iter()
            .zip(p)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        max_err = max_err.max(err);
        let mut sorted = p.to_vec();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let margin = sorted[0] - sorted.get(1).copied().unwrap_or(f64::NEG_INFINITY);
        min_margin = min_margin.min(margin);
        let (de, dp) = (argmax(enc), argmax(p));
        decisions.push(de);
        plain_decisions.push(dp);
        if de != dp {
            report_dis.push(Disagreement {
                row: r,
                margin,
                error: err,
            });
        }
    }
    Ok(RoundTripReport {
        plan: plan.describe(),
        packing: opts.packing,
        rows: scaled.len(),
        rows_per_query: if opts.fill_batch {
            per_query
        } else {
            per_query.min(scaled.len())
        },
        agree: scaled.len() - report_dis.len(),
        disagreements: report_dis,
        max_abs_error: max_err,
        min_margin,
        keygen: Timing::of(vec![keygen]),
        encrypt: Timing::of(enc_t),
        server: Timing::of(srv_t),
        decrypt: Timing::of(dec_t),
        eval_key_bytes: upload.len(),
        secret_key_bytes: sk.to_bytes().len(),
        query_bytes,
        response_bytes,
        logits,
        decisions,
        plain_decisions,
    })
}
