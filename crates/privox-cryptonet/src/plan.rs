//! The level plan: which CKKS parameters hold a [`Circuit`], at which level
//! and scale every stage runs, and which rotation keys the packing needs.
//!
//! Every multiplicative step consumes one prime of the chain, sized for it:
//! an affine layer multiplies by weights encoded at exactly that prime (so the
//! rescale returns the value scale unchanged), a polynomial level squares or
//! multiplies values (the prime is about the value scale). Scales are
//! *canonical*: every ciphertext at level `ℓ` has scale `Δ_ℓ`, where
//! `Δ_{ℓ-1} = Δ_ℓ` below a weight level and `Δ_{ℓ-1} = Δ_ℓ²/q_ℓ` below a value
//! level. Constants are encoded at whatever scale lands a product exactly on
//! its target's canonical scale, so terms of a polynomial always add up
//! without any scale correction.
//!
//! Parameters: the smallest ring dimension (2^13, 2^14, 2^15) whose
//! 128-bit bound (HE standard) holds the chain at the most precise prime sizes
//! that fit; one special prime per digit (`dnum = L+1`) one bit above the
//! largest ciphertext prime, so `P` exceeds every digit.

use privox_ckks::{CkksParams, HE_STANDARD_128, ParamSpec};
use privox_format::{Fingerprint, Magic, Writer};
use privox_nn::NnModel;

use crate::circuit::{Circuit, Stage};
use crate::error::{CryptonetError, Result};
use crate::polyeval::depth;

/// How recordings map to ciphertext slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Packing {
    /// One recording per query, lowest latency: the features in the slots of
    /// a few ciphertexts, matrix–vector products by rotations.
    Single,
    /// Up to N/2 recordings per query, one ciphertext per feature (slot j =
    /// recording j); affine layers are scalar linear combinations, no rotations.
    Batch,
}

impl Packing {
    /// `single` or `batch`.
    pub fn name(self) -> &'static str {
        match self {
            Packing::Single => "single",
            Packing::Batch => "batch",
        }
    }

    /// Parses `single` or `batch`.
    pub fn parse(s: &str) -> Option<Packing> {
        match s {
            "single" => Some(Packing::Single),
            "batch" => Some(Packing::Batch),
            _ => None,
        }
    }

    fn code(self) -> u8 {
        match self {
            Packing::Single => 1,
            Packing::Batch => 2,
        }
    }
}

/// What a multiplicative level is spent on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LevelKind {
    /// ct × weights encoded at exactly this prime.
    Weight,
    /// ct × ct (or ct × constant inside a polynomial).
    Value,
}

/// Prime sizes `(q_0, weight primes, value primes)`, most precise first.
const PRIME_BITS: [(u32, u32, u32); 5] = [
    (50, 30, 35),
    (45, 28, 32),
    (40, 25, 30),
    (38, 24, 29),
    (36, 22, 28),
];

/// How one stage of the single-query packing is computed (see [`crate::single`]).
#[derive(Clone, Debug, PartialEq)]
pub enum SingleStage {
    /// First affine layer: client-side diagonals, one product per input
    /// ciphertext, block sum. Output replicated in every block.
    First,
    /// Baby-step giant-step on a replicated input; replicated output.
    Bsgs {
        /// Baby steps (rotations of the input).
        baby: usize,
    },
    /// Baby steps on a replicated input, giant steps summed across blocks by
    /// a rotation tree; the output is correct in blocks `0, 2G, 4G, …` only.
    Tree {
        /// Baby steps (rotations of the input).
        baby: usize,
        /// Giant steps, summed across blocks.
        giants: usize,
    },
    /// Last affine layer: each output's weights in a window of `window`
    /// slots of a correct block, window sums; output `c` ends in `slots[c]`.
    Dot {
        /// Slots per output's weight window.
        window: usize,
        /// Input block `c` reads from and its offset inside the block.
        places: Vec<(usize, usize)>,
    },
    /// Slotwise polynomial.
    Poly,
}

/// The single-query layout.
#[derive(Clone, Debug, PartialEq)]
pub struct SingleLayout {
    /// Period of a replicated vector: the widest layer, to a power of two.
    pub period: usize,
    /// Copies of the period in N/2 slots.
    pub blocks: usize,
    /// Ciphertexts of the first layer's input (client-side diagonals).
    pub input_cts: usize,
    /// Distinct diagonal groups per input ciphertext: blocks repeat with
    /// this period, so the first layer's block sum takes log2 of it rotations.
    pub input_period: usize,
    /// One entry per circuit stage.
    pub stages: Vec<SingleStage>,
}

impl SingleLayout {
    /// Slots holding the scores of `classes` classes, class by class.
    pub fn output_slots(&self, classes: usize) -> Vec<usize> {
        match self.stages.last() {
            Some(SingleStage::Dot { places, .. }) => {
                places.iter().map(|&(b, o)| b * self.period + o).collect()
            }
            // A replicated output: the first copy.
            _ => (0..classes).collect(),
        }
    }
}

/// Everything both halves derive from the model and the packing.
#[derive(Clone, Debug)]
pub struct Plan {
    /// How recordings are packed into ciphertexts.
    pub packing: Packing,
    /// The compiled network.
    pub circuit: Circuit,
    /// The 128-bit CKKS parameters.
    pub params: CkksParams,
    /// Level of the ciphertexts entering each stage.
    pub stage_levels: Vec<usize>,
    /// Canonical scale Δ_ℓ of each level ℓ (index = level).
    pub scales: Vec<f64>,
    /// Rotation steps the server needs Galois keys for (sorted).
    pub rotations: Vec<i64>,
    /// Highest ciphertext level each rotation of [`Plan::rotations`] runs
    /// at: the client truncates each key there (less upload, less server
    /// memory).
    pub rotation_levels: Vec<usize>,
    /// Present for [`Packing::Single`].
    pub single: Option<SingleLayout>,
    /// Model architecture fingerprint (see [`NnModel::fingerprint`]).
    pub model_fingerprint: Fingerprint,
}

impl Plan {
    /// Compiles `model` and plans it for `packing`.
    pub fn new(model: &NnModel, packing: Packing) -> Result<Plan> {
        let circuit = Circuit::from_model(model)?;
        Self::for_circuit(circuit, packing, model.fingerprint())
    }

    /// Plans an already compiled circuit.
    pub fn for_circuit(
        circuit: Circuit,
        packing: Packing,
        model_fingerprint: Fingerprint,
    ) -> Result<Plan> {
        let mut ops: Vec<LevelKind> = Vec::new();
        for s in &circuit.stages {
            match s {
                Stage::Affine(_) => ops.push(LevelKind::Weight),
                Stage::Poly(p) => {
                    ops.extend(std::iter::repeat_n(LevelKind::Value, depth(&p.coeffs)))
                }
            }
        }
        let (params, bits) = choose_params(&ops)?;
        let top = params.max_level();
        let q = params.q_primes();
        // Canonical scales, top down.
        let mut scales = vec![0.0; top + 1];
        scales[top] = 2f64.powi(bits.2 as i32);
        for (k, op) in ops.iter().enumerate() {
            let l = top - k;
            scales[l - 1] = match op {
                LevelKind::Weight => scales[l],
                LevelKind::Value => scales[l] * scales[l] / q[l] as f64,
            };
        }
        let mut stage_levels = Vec::with_capacity(circuit.stages.len());
        let mut level = top;
        for s in &circuit.stages {
            stage_levels.push(level);
            level -= match s {
                Stage::Affine(_) => 1,
                Stage::Poly(p) => depth(&p.coeffs),
            };
        }
        let slots = params.max_slots();
        let (single, rotations) = match packing {
            Packing::Batch => (None, Vec::new()),
            Packing::Single => {
                let period = circuit.max_width().next_power_of_two();
                if period > slots {
                    return Err(CryptonetError::TooWide {
                        width: circuit.max_width(),
                        slots,
                    });
                }
                let layout = crate::single::layout(&circuit, period, slots / period)?;
                let rotations = crate::single::rotation_levels(&layout, slots, &stage_levels);
                (Some(layout), rotations)
            }
        };
        if packing == Packing::Batch && circuit.max_width() > 4096 {
            return Err(CryptonetError::TooWide {
                width: circuit.max_width(),
                slots: 4096,
            });
        }
        Ok(Plan {
            packing,
            circuit,
            params,
            stage_levels,
            scales,
            rotations: rotations.iter().map(|r| r.0).collect(),
            rotation_levels: rotations.iter().map(|r| r.1).collect(),
            single,
            model_fingerprint,
        })
    }

    /// The plan's identity: model architecture, packing, parameters and
    /// rotations. Keys, queries and responses carry it.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut w = Writer::new(Magic(*b"PVXCNPLN"), 1, Fingerprint::default());
        w.put_bytes(&self.model_fingerprint.0);
        w.put_u8(self.packing.code());
        w.put_bytes(&self.params.fingerprint().0);
        w.put_u32(self.rotations.len() as u32);
        for (&r, &l) in self.rotations.iter().zip(&self.rotation_levels) {
            w.put_u64(r as u64);
            w.put_u32(l as u32);
        }
        Fingerprint::of(&w.finish())
    }

    /// Recordings one query takes.
    pub fn max_rows(&self) -> usize {
        match self.packing {
            Packing::Single => 1,
            Packing::Batch => self.params.max_slots(),
        }
    }

    /// The level of the fresh input ciphertexts.
    pub fn input_level(&self) -> usize {
        self.params.max_level()
    }

    /// Multiplicative levels the circuit uses.
    pub fn depth(&self) -> usize {
        self.params.max_level()
    }

    /// A one-line human summary.
    pub fn describe(&self) -> String {
        let p = &self.params;
        let q: Vec<u32> = p
            .q_primes()
            .iter()
            .map(|q| 64 - q.leading_zeros())
            .collect();
        format!(
            "{} packing: N = 2^{}, {} levels, q bits {:?}, {} special prime(s) of {} bits, dnum {}, log QP = {} (128-bit bound {}), {} rotation keys",
            self.packing.name(),
            p.n().trailing_zeros(),
            p.max_level(),
            q,
            p.num_special_primes(),
            p.p_primes()
                .first()
                .map(|v| 64 - v.leading_zeros())
                .unwrap_or(0),
            p.dnum(),
            p.log_qp(),
            HE_STANDARD_128
                .iter()
                .find(|(l, _)| 1usize << l == p.n())
                .map(|(_, m)| *m)
                .unwrap_or(0),
            self.rotations.len()
        )
    }
}

/// Smallest N that holds `ops` at 128 bits; at that N, the most precise
/// prime sizes, with the fewest primes per key-switching digit that fit
/// (one prime per digit is the fastest key switching in `privox-ckks`:
/// measured 13.5 ms per rotation at N = 2^14 with 8 primes and dnum 8, against
/// 15.5–22 ms with 2, 4 or 8 primes per digit).
fn choose_params(ops: &[LevelKind]) -> Result<(CkksParams, (u32, u32, u32))> {
    let chain = |b: (u32, u32, u32)| -> Vec<u32> {
        // q_0 first, then the primes in the order the levels are consumed
        // from the bottom: the top level is consumed first.
        let mut q = vec![b.0];
        q.extend(ops.iter().rev().map(|o| match o {
            LevelKind::Weight => b.1,
            LevelKind::Value => b.2,
        }));
        q
    };
    for &(log_n, max_qp) in HE_STANDARD_128.iter().filter(|(l, _)| *l >= 13) {
        for bits in PRIME_BITS {
            let q_bits = chain(bits);
            let log_q: u32 = q_bits.iter().sum();
            let primes = q_bits.len();
            for alpha in 1..=primes {
                let dnum = primes.div_ceil(alpha);
                // P must exceed every digit (alpha consecutive primes).
                let max_digit = q_bits
                    .chunks(alpha)
                    .map(|c| c.iter().sum::<u32>())
                    .max()
                    .unwrap_or(0);
                let p_bits = max_digit.div_ceil(alpha as u32) + 1;
                if p_bits > 60 || log_q + alpha as u32 * p_bits > max_qp {
                    continue;
                }
                let spec = ParamSpec::new(
                    log_n,
                    q_bits.clone(),
                    p_bits,
                    dnum,
                    2f64.powi(bits.2 as i32),
                );
                // Prime search can fail for a ring dimension (too few primes
                // of a size): try the next candidate then.
                if let Ok(params) = CkksParams::new(spec) {
                    return Ok((params, bits));
                }
            }
        }
    }
    let smallest = PRIME_BITS[PRIME_BITS.len() - 1];
    Err(CryptonetError::TooDeep {
        levels: ops.len(),
        log_q: chain(smallest).iter().sum(),
    })
}
