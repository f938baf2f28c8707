//! The server half: a model, the client's evaluation keys, and ciphertexts.
//! Nothing here takes or returns secret-key material: the types do not exist
//! in this module's signatures, so a server built on it cannot decrypt.

use privox_ckks::{EvaluationKeys, Evaluator};
use privox_nn::NnModel;

use crate::batch;
use crate::error::Result;
use crate::plan::{Packing, Plan};
use crate::polyeval::PolyEvaluator;
use crate::single::SingleEvaluator;
use crate::wire::{Query, Response, eval_keys_from_bytes};

/// Evaluates one model on encrypted queries with one client's public
/// evaluation keys.
pub struct Server {
    plan: Plan,
    keys: EvaluationKeys,
    ev: Evaluator,
    single: Option<SingleEvaluator>,
}

impl Server {
    /// Plans `model` for `packing` and loads the client's serialized
    /// evaluation keys (refused if made for another plan or missing a
    /// rotation). Precomputes every plaintext of the model.
    pub fn new(model: &NnModel, packing: Packing, eval_keys: &[u8]) -> Result<Self> {
        let plan = Plan::new(model, packing)?;
        let keys = eval_keys_from_bytes(&plan, eval_keys)?;
        Self::with_keys(plan, keys)
    }

    /// A server for an existing plan and parsed keys.
    pub fn with_keys(plan: Plan, keys: EvaluationKeys) -> Result<Self> {
        let single = match &plan.single {
            Some(layout) => Some(SingleEvaluator::new(&plan, layout)?),
            None => None,
        };
        Ok(Server {
            ev: Evaluator::new(&plan.params),
            plan,
            keys,
            single,
        })
    }

    /// The plan this server evaluates.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Evaluates a checked query.
    pub fn infer(&self, query: &Query) -> Result<Response> {
        query.check(&self.plan)?;
        let poly = PolyEvaluator {
            ev: &self.ev,
            rk: &self.keys.relin,
            scales: &self.plan.scales,
            q: self
                .plan
                .params
                .q_primes()
                .iter()
                .map(|&q| q as f64)
                .collect(),
        };
        let cts = match &self.single {
            Some(s) => vec![s.eval(&self.ev, &poly, &self.keys.galois, &query.cts)?],
            None => batch::eval(&self.plan, &self.ev, &poly, query.cts.clone())?,
        };
        Ok(Response {
            rows: query.rows,
            cts,
        })
    }

    /// A query file (several queries) to a response file.
    pub fn infer_all_bytes(&self, queries: &[u8]) -> Result<Vec<u8>> {
        let qs = crate::wire::queries_from_bytes(&self.plan, queries)?;
        let rs = qs
            .iter()
            .map(|q| self.infer(q))
            .collect::<Result<Vec<_>>>()?;
        crate::wire::responses_to_bytes(&self.plan, &rs)
    }

    /// Parses, evaluates and serializes: the whole server step on bytes.
    pub fn infer_bytes(&self, query: &[u8]) -> Result<Vec<u8>> {
        let q = Query::from_bytes(&self.plan, query)?;
        self.infer(&q)?.to_bytes(&self.plan)
    }
}
