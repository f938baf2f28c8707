//! The experiment behind `privox demo`'s neural stage: the paper's ReLU
//! MLP and the HE-aware p2 + batch-norm MLP under leave-one-speaker-out
//! (robust recipe, seed 1), then the HE-aware model trained on every row.

use super::{CellResult, NetworkCells, ProtocolConfig, Recipe, evaluate_cells, train_model_with};
use crate::{Activation, NetworkSpec, NnError, NnModel, PolyActivation, TrainConfig};
use privox_data::Dataset;
use privox_data::protocol::OuterSplit;

/// What the demo's neural stage measured and trained.
#[derive(Debug)]
pub struct DemoReport {
    /// The two cells (ReLU baseline, HE-aware p2 + BN), LOSO, seed 1.
    pub cells: Vec<CellResult>,
    /// Number of outer folds (speakers).
    pub folds: usize,
    /// The HE-aware model trained on every row, batch-norm folded.
    pub model: NnModel,
}

/// Runs the demo's neural stage on a neutral/angry data set.
pub fn run(data: &Dataset) -> Result<DemoReport, NnError> {
    data.require_two_classes()?;
    let folds = OuterSplit::LeaveOneSpeakerOut.folds(data)?;
    // Invariant: "p2" is one of the presets `PolyActivation::preset` knows.
    let p2 = Activation::Poly(PolyActivation::preset("p2").expect("p2 is a preset"));
    let jobs = [
        NetworkCells::plain(
            "MLP baseline (ReLU, 100-50)",
            NetworkSpec::paper(false, Activation::Relu),
        ),
        NetworkCells::plain(
            "HE-aware MLP (p2 + batch-norm)",
            NetworkSpec::he_aware(p2.clone()),
        ),
    ];
    let recipe = Recipe::robust();
    let proto = ProtocolConfig {
        train: TrainConfig {
            seed: 1,
            ..recipe.train.clone()
        },
        selection: recipe.selection.clone(),
        seeds: vec![1],
        clip_inputs: Some(1.0),
    };
    let cells = evaluate_cells(data, &folds, &jobs, &proto, &|| {})?;
    let model = train_model_with(
        data,
        &NetworkSpec::he_aware(p2),
        &proto.train,
        &recipe.selection,
        "privox demo: HE-aware p2 + BN, robust recipe, seed 1".into(),
    )?;
    Ok(DemoReport {
        cells,
        folds: folds.len(),
        model,
    })
}
