//! The paper's Table 4: which networks and cells it has, and its
//! published values. The plaintext and encrypted reproductions (the
//! `table4` and `table4-encrypted` phases of `privox-repro`, behind
//! `privox repro`) build their cells here and run them with
//! [`super::evaluate_cells`] (or `privox-cryptonet`'s encrypted runner).

use super::cells::NetworkCells;
use crate::layers::Activation;
use crate::network::NetworkSpec;
use crate::poly::PolyActivation;

/// Which rows of Table 4 to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table4Cells {
    /// The paper's rows (ReLU with and without BN, each also evaluated with
    /// p2, p4, p6 swapped in) and the HE-aware p2, p4, p6 networks.
    All,
    /// The ReLU baseline and the HE-aware p2 network.
    Baseline,
    /// The ReLU baseline and the HE-aware p2, p4, p6 networks.
    HeAware,
}

impl Table4Cells {
    /// `all`, `baseline` or `he-aware`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "all" => Some(Table4Cells::All),
            "baseline" => Some(Table4Cells::Baseline),
            "he-aware" => Some(Table4Cells::HeAware),
            _ => None,
        }
    }

    /// The networks to train and the cells each is evaluated in.
    pub fn networks(self) -> Vec<NetworkCells> {
        let all = self == Table4Cells::All;
        let paper_cells = |bn: bool| {
            let tag = if bn { "BN" } else { "no BN" };
            let relu = if bn { "ReLU + BN" } else { "ReLU (no BN)" };
            let mut e = vec![(relu.to_string(), None)];
            if all {
                for p in ["p2", "p4", "p6"] {
                    e.push((format!("{p}, {tag}"), Some(preset(p))));
                }
            }
            e
        };
        let mut nets = vec![NetworkCells {
            name: "relu".into(),
            spec: NetworkSpec::paper(false, Activation::Relu),
            evaluations: paper_cells(false),
        }];
        if all {
            nets.push(NetworkCells {
                name: "relu-bn".into(),
                spec: NetworkSpec::paper(true, Activation::Relu),
                evaluations: paper_cells(true),
            });
        }
        for p in ["p2", "p4", "p6"] {
            if self != Table4Cells::Baseline || p == "p2" {
                nets.push(NetworkCells::plain(
                    &format!("HE-aware {p} + BN"),
                    NetworkSpec::he_aware(preset(p)),
                ));
            }
        }
        nets
    }
}

/// The cells CKKS can evaluate: every evaluation whose inference network
/// has a ReLU is dropped, then every network left without a cell.
pub fn encryptable(networks: Vec<NetworkCells>) -> Vec<NetworkCells> {
    networks
        .into_iter()
        .filter_map(|mut n| {
            let training = n.spec.activation.clone();
            n.evaluations
                .retain(|(_, act)| !matches!(act.as_ref().unwrap_or(&training), Activation::Relu));
            (!n.evaluations.is_empty()).then_some(n)
        })
        .collect()
}

fn preset(name: &str) -> Activation {
    // Invariant: only the paper's preset names p2, p4, p6 are passed.
    Activation::Poly(PolyActivation::preset(name).expect("a Table 3 preset"))
}

/// The paper's Table 4 value for a cell name of the Table 4 reproductions
/// (`"p2, BN"`, …): its encrypted test accuracy (%) on its own corpus, or
/// its plaintext MLP baseline for `"ReLU (no BN)"`; `"–"` for cells the paper
/// does not have (the HE-aware networks).
pub fn paper_table4_value(cell: &str) -> &'static str {
    match cell {
        "ReLU (no BN)" => "82.62 (plain MLP)",
        "p2, no BN" => "59.72",
        "p4, no BN" => "81.58",
        "p6, no BN" => "81.41",
        "p2, BN" => "79.17",
        "p4, BN" => "80.55",
        "p6, BN" => "80.21",
        _ => "–",
    }
}
