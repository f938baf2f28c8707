//! What travels between client and server: evaluation keys, queries and
//! responses. Each is a `privox-format` envelope (magic, version, the plan's
//! fingerprint, checksum) around `privox-ckks` objects, which carry the CKKS
//! parameter fingerprint themselves. Every count is checked against the plan
//! before anything is allocated.

use privox_ckks::{Ciphertext, CkksParams, EvaluationKeys};
use privox_format::{FormatError, Magic, Reader, Writer};

use crate::error::{CryptonetError, Result};
use crate::plan::Plan;

/// Envelope magic of an evaluation-key bundle.
pub const EVAL_KEYS_MAGIC: Magic = Magic(*b"PVXCNEVK");
/// Envelope magic of a query.
pub const QUERY_MAGIC: Magic = Magic(*b"PVXCNQRY");
/// Envelope magic of a response.
pub const RESPONSE_MAGIC: Magic = Magic(*b"PVXCNRSP");
/// Envelope magic of a file of several queries.
pub const QUERY_BUNDLE_MAGIC: Magic = Magic(*b"PVXCNQBD");
/// Envelope magic of a file of several responses.
pub const RESPONSE_BUNDLE_MAGIC: Magic = Magic(*b"PVXCNRBD");
/// At most this many queries in one bundle file.
pub const MAX_BUNDLE: usize = 1 << 20;
/// Format version of all of them.
pub const WIRE_VERSION: u16 = 1;

/// Upper bound on one serialized CKKS object (a Galois key set at N = 2^15
/// with a long chain stays far below it).
const MAX_OBJECT: usize = 1 << 31;

fn format(what: &'static str) -> impl Fn(FormatError) -> CryptonetError {
    move |source| CryptonetError::Format { what, source }
}

/// Opens an envelope and checks that it belongs to `plan`.
fn open<'a>(bytes: &'a [u8], magic: Magic, what: &'static str, plan: &Plan) -> Result<Reader<'a>> {
    let r = Reader::open(bytes, magic, &[WIRE_VERSION]).map_err(format(what))?;
    let found = r.header().fingerprint;
    let expected = plan.fingerprint();
    if found != expected {
        return Err(CryptonetError::WrongPlan {
            what,
            expected: expected.to_hex(),
            found: found.to_hex(),
        });
    }
    Ok(r)
}

fn writer(magic: Magic, plan: &Plan) -> Writer {
    Writer::new(magic, WIRE_VERSION, plan.fingerprint())
}

/// Evaluation keys (relinearization + the plan's rotations) as uploaded by a
/// client: seeded form, about half the size of the expanded keys.
pub fn eval_keys_to_bytes(plan: &Plan, keys: &EvaluationKeys) -> Result<Vec<u8>> {
    let mut w = writer(EVAL_KEYS_MAGIC, plan);
    w.put_bytes(&keys.to_bytes_seeded()?);
    Ok(w.finish())
}

/// Reads evaluation keys and checks they hold every rotation of the plan.
pub fn eval_keys_from_bytes(plan: &Plan, bytes: &[u8]) -> Result<EvaluationKeys> {
    let mut r = open(bytes, EVAL_KEYS_MAGIC, "evaluation keys", plan)?;
    let inner = r.get_bytes(MAX_OBJECT).map_err(format("evaluation keys"))?;
    r.finish().map_err(format("evaluation keys"))?;
    let keys = EvaluationKeys::from_bytes(&plan.params, inner)?;
    for (&step, &level) in plan.rotations.iter().zip(&plan.rotation_levels) {
        match keys.galois.step_max_level(step) {
            None => return Err(CryptonetError::MissingRotation { step }),
            Some(l) if l < level => {
                return Err(CryptonetError::Ckks(
                    privox_ckks::CkksError::KeyLevelTooLow {
                        op: privox_ckks::GaloisOp::Rotation { step },
                        level,
                        max_level: l,
                    },
                ));
            }
            Some(_) => {}
        }
    }
    Ok(keys)
}

/// Encrypted recordings: the input ciphertexts of one query.
#[derive(Clone, Debug)]
pub struct Query {
    /// Recordings in this query (1 for single-query packing).
    pub rows: usize,
    /// The ciphertexts, in the plan's order.
    pub cts: Vec<Ciphertext>,
}

/// The server's answer: the encrypted scores.
#[derive(Clone, Debug)]
pub struct Response {
    /// Recordings answered.
    pub rows: usize,
    /// The encrypted scores.
    pub cts: Vec<Ciphertext>,
}

fn write_cts(w: &mut Writer, params: &CkksParams, rows: usize, cts: &[Ciphertext]) -> Result<()> {
    w.put_u32(rows as u32);
    w.put_u32(cts.len() as u32);
    for ct in cts {
        // Fresh secret-key encryptions travel seeded (half size).
        let b = if ct.is_seeded() {
            ct.to_bytes_seeded(params)?
        } else {
            ct.to_bytes(params)?
        };
        w.put_bytes(&b);
    }
    Ok(())
}

fn read_cts(
    mut r: Reader<'_>,
    plan: &Plan,
    what: &'static str,
    expected: usize,
) -> Result<(usize, Vec<Ciphertext>)> {
    let rows = r.get_u32().map_err(format(what))? as usize;
    if rows == 0 || rows > plan.max_rows() {
        return Err(CryptonetError::BatchSize {
            rows,
            max: plan.max_rows(),
        });
    }
    let count = r.get_u32().map_err(format(what))? as usize;
    if count != expected {
        return Err(CryptonetError::CiphertextCount {
            what,
            expected,
            found: count,
        });
    }
    let mut cts = Vec::with_capacity(count);
    for _ in 0..count {
        let b = r.get_bytes(MAX_OBJECT).map_err(format(what))?;
        cts.push(Ciphertext::from_bytes(&plan.params, b)?);
    }
    r.finish().map_err(format(what))?;
    Ok((rows, cts))
}

impl Query {
    /// Serializes for the server.
    pub fn to_bytes(&self, plan: &Plan) -> Result<Vec<u8>> {
        let mut w = writer(QUERY_MAGIC, plan);
        write_cts(&mut w, &plan.params, self.rows, &self.cts)?;
        Ok(w.finish())
    }

    /// Parses and checks a query: plan, count and level of every ciphertext.
    pub fn from_bytes(plan: &Plan, bytes: &[u8]) -> Result<Self> {
        let r = open(bytes, QUERY_MAGIC, "query", plan)?;
        let (rows, cts) = read_cts(r, plan, "query", input_count(plan))?;
        let q = Query { rows, cts };
        q.check(plan)?;
        Ok(q)
    }

    /// Count, level and scale of the ciphertexts against the plan.
    pub fn check(&self, plan: &Plan) -> Result<()> {
        let expected = input_count(plan);
        if self.cts.len() != expected {
            return Err(CryptonetError::CiphertextCount {
                what: "query",
                expected,
                found: self.cts.len(),
            });
        }
        if self.rows == 0 || self.rows > plan.max_rows() {
            return Err(CryptonetError::BatchSize {
                rows: self.rows,
                max: plan.max_rows(),
            });
        }
        let level = plan.input_level();
        let scale = plan.scales[level];
        check_slots(plan, "query", &self.cts)?;
        for (i, ct) in self.cts.iter().enumerate() {
            if ct.level() != level || (ct.scale() / scale - 1.0).abs() > 1e-9 {
                return Err(CryptonetError::WrongLevel {
                    what: "query",
                    index: i,
                    expected: level,
                    found: ct.level(),
                    scale_log2: ct.scale().log2(),
                });
            }
        }
        Ok(())
    }
}

/// Every ciphertext packs the plan's N/2 slots (what both halves read and
/// write); a smaller count would leave the decoder short of the slots the
/// plan reads.
pub(crate) fn check_slots(plan: &Plan, what: &'static str, cts: &[Ciphertext]) -> Result<()> {
    let expected = plan.params.max_slots();
    match cts.iter().position(|ct| ct.slots() != expected) {
        Some(index) => Err(CryptonetError::WrongSlots {
            what,
            index,
            expected,
            found: cts[index].slots(),
        }),
        None => Ok(()),
    }
}

impl Response {
    /// Serializes for the client.
    pub fn to_bytes(&self, plan: &Plan) -> Result<Vec<u8>> {
        let mut w = writer(RESPONSE_MAGIC, plan);
        write_cts(&mut w, &plan.params, self.rows, &self.cts)?;
        Ok(w.finish())
    }

    /// Parses a response to a query of `plan`.
    pub fn from_bytes(plan: &Plan, bytes: &[u8]) -> Result<Self> {
        let r = open(bytes, RESPONSE_MAGIC, "response", plan)?;
        let (rows, cts) = read_cts(r, plan, "response", output_count(plan))?;
        Ok(Response { rows, cts })
    }
}

/// Input ciphertexts per query.
pub fn input_count(plan: &Plan) -> usize {
    match &plan.single {
        Some(l) => l.input_cts,
        None => plan.circuit.n_inputs,
    }
}

/// Output ciphertexts per response.
pub fn output_count(plan: &Plan) -> usize {
    match &plan.single {
        Some(_) => 1,
        None => plan.circuit.n_classes,
    }
}

/// An object a bundle holds: its magic and how one entry is read and written.
trait BundleItem: Sized {
    /// The bundle's magic.
    const MAGIC: Magic;
    /// The bundle, as error messages name it.
    const WHAT: &'static str;
    fn item_to_bytes(&self, plan: &Plan) -> Result<Vec<u8>>;
    fn item_from_bytes(plan: &Plan, bytes: &[u8]) -> Result<Self>;
}

impl BundleItem for Query {
    const MAGIC: Magic = QUERY_BUNDLE_MAGIC;
    const WHAT: &'static str = "query file";
    fn item_to_bytes(&self, plan: &Plan) -> Result<Vec<u8>> {
        self.to_bytes(plan)
    }
    fn item_from_bytes(plan: &Plan, bytes: &[u8]) -> Result<Self> {
        Query::from_bytes(plan, bytes)
    }
}

impl BundleItem for Response {
    const MAGIC: Magic = RESPONSE_BUNDLE_MAGIC;
    const WHAT: &'static str = "response file";
    fn item_to_bytes(&self, plan: &Plan) -> Result<Vec<u8>> {
        self.to_bytes(plan)
    }
    fn item_from_bytes(plan: &Plan, bytes: &[u8]) -> Result<Self> {
        Response::from_bytes(plan, bytes)
    }
}

/// Writes a bundle of queries or responses.
fn bundle_of<T: BundleItem>(plan: &Plan, objects: &[T]) -> Result<Vec<u8>> {
    let items = objects
        .iter()
        .map(|o| o.item_to_bytes(plan))
        .collect::<Result<Vec<_>>>()?;
    Ok(bundle_to_bytes(plan, T::MAGIC, &items))
}

/// Reads a bundle of queries or responses; every entry is checked against the plan.
fn unbundle<T: BundleItem>(plan: &Plan, bytes: &[u8]) -> Result<Vec<T>> {
    bundle_items(plan, T::MAGIC, T::WHAT, bytes)?
        .into_iter()
        .map(|b| T::item_from_bytes(plan, b))
        .collect()
}

/// Several queries (one per recording with single-query packing, one per
/// N/2 recordings with batch packing) in one file.
pub fn queries_to_bytes(plan: &Plan, queries: &[Query]) -> Result<Vec<u8>> {
    bundle_of(plan, queries)
}

/// Reads a query bundle; every query is checked against the plan.
pub fn queries_from_bytes(plan: &Plan, bytes: &[u8]) -> Result<Vec<Query>> {
    unbundle(plan, bytes)
}

/// Several responses in one file, in query order.
pub fn responses_to_bytes(plan: &Plan, responses: &[Response]) -> Result<Vec<u8>> {
    bundle_of(plan, responses)
}

/// Reads a response bundle.
pub fn responses_from_bytes(plan: &Plan, bytes: &[u8]) -> Result<Vec<Response>> {
    unbundle(plan, bytes)
}

fn bundle_to_bytes(plan: &Plan, magic: Magic, items: &[Vec<u8>]) -> Vec<u8> {
    let mut w = writer(magic, plan);
    w.put_u32(items.len() as u32);
    for b in items {
        w.put_bytes(b);
    }
    w.finish()
}

/// The entries of a bundle, counted and length-checked before anything is
/// allocated for them.
fn bundle_items<'a>(
    plan: &Plan,
    magic: Magic,
    what: &'static str,
    bytes: &'a [u8],
) -> Result<Vec<&'a [u8]>> {
    let mut r = open(bytes, magic, what, plan)?;
    let n = r.get_u32().map_err(format(what))? as usize;
    // Every entry needs at least its 8-byte length prefix.
    if n == 0 || n > MAX_BUNDLE || n.saturating_mul(8) > r.remaining() {
        return Err(CryptonetError::CiphertextCount {
            what,
            expected: r.remaining() / 8,
            found: n,
        });
    }
    let items = (0..n)
        .map(|_| r.get_bytes(MAX_OBJECT).map_err(format(what)))
        .collect::<Result<Vec<_>>>()?;
    r.finish().map_err(format(what))?;
    Ok(items)
}
