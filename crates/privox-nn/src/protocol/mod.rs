//! The MLP's evaluation protocol, on the shared one of
//! [`privox_data::protocol`]: speaker-independent folds, scaling fitted on
//! training rows only, the number of training epochs chosen on the
//! training speakers alone, several seeds.
//!
//! * [`MlpLearner`] implements [`Fit`](privox_data::protocol::Fit) over a
//!   [`Dataset`](privox_data::Dataset), and its [`FittedMlp`] implements
//!   [`Predict`](privox_data::protocol::Predict), so
//!   [`privox_data::protocol::evaluate`] runs an MLP like any other model.
//!   Per training part:
//!   1. the min-max scaler is fitted on the training rows;
//!   2. the number of epochs is chosen on the training speakers only
//!      ([`EpochSelection`]): the paper holds out `1/val_folds` of them
//!      ([`speaker_holdout`], the shared
//!      [`InnerSplit`](privox_data::protocol::InnerSplit)) for early stopping
//!      and keeps the best epoch's weights; the robust recipe runs an inner
//!      speaker-grouped cross-validation whose validation folds contain
//!      every class ([`ClassAwareInnerSplit`]), picks the epoch (and BN `γ₀`)
//!      with the best mean validation curve, then refits on *all* training
//!      speakers for that many epochs (never a random row split: the same
//!      speaker on both sides would flatter the validation loss);
//!   3. the network predicts held-out rows with its inference activation
//!      ([`MlpLearner::inference`]: e.g. a polynomial replacing ReLU);
//!      [`Predict::chosen`](privox_data::protocol::Predict::chosen) reports
//!      the kept epoch count and BN `γ₀`.
//! * [`evaluate_cells`] runs a whole table: several networks
//!   ([`NetworkCells`]), each evaluated with several inference activations,
//!   over the same folds and several seeds, every training in parallel.
//!   [`Table4Cells`] builds the paper's Table 4.
//!
//! [`Recipe::paper`] and [`Recipe::robust`] are the two named recipes;
//! `docs/studies/cryptonet.md` has the measurements behind the robust one.
//!
//! # Example: LOSO evaluation of the HE-aware MLP
//!
//! ```
//! # use privox_data::{ClassSet, Dataset, Matrix};
//! # // 4 speakers × 8 rows, 2 features; class 1 sits higher on feature 0.
//! # let rows: Vec<Vec<f64>> = (0..32).map(|i| vec![(i % 2) as f64 + 0.1 * (i % 5) as f64, (i / 8) as f64]).collect();
//! # let data = Dataset { x: Matrix::from_rows(&rows)?, y: (0..32).map(|i| i % 2).collect(),
//! #     groups: (0..32).map(|i| i / 8).collect(), group_names: (0..4).map(|s| format!("s{s}")).collect(),
//! #     files: (0..32).map(|i| format!("{i}.wav")).collect(), classes: ClassSet::neutral_angry(),
//! #     feature_names: vec!["f0".into(), "f1".into()] };
//! # let mut recipe = privox_nn::protocol::Recipe::robust();
//! # recipe.train.max_epochs = 15; // a doctest: few epochs, one small hidden layer
//! use privox_data::protocol::{evaluate, OuterSplit};
//! use privox_nn::{protocol::MlpLearner, Activation, NetworkSpec};
//! let he_aware = NetworkSpec { hidden: vec![8], ..NetworkSpec::he_aware(Activation::from_name("p2", 2.0)?) };
//! let learner = MlpLearner::new(he_aware, &recipe); // scaler, epoch count and BN γ₀ chosen per training part
//! let eval = evaluate(&learner, &data, &OuterSplit::LeaveOneSpeakerOut.folds(&data)?, &|| {})?;
//! println!("pooled UAR {:.1} %, fold 1 kept {:?}", 100.0 * eval.pooled.uar(), eval.folds[0].chosen);
//! # assert_eq!(eval.folds.len(), 4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cells;
pub mod demo;
mod learner;
mod recipe;
mod split;
mod table4;

#[cfg(test)]
mod tests;

pub use cells::{
    CellResult, CellRun, NetworkCells, ProtocolConfig, SeedSummary, evaluate_cells, is_collapsed,
};
pub use learner::{FittedMlp, MlpLearner, clamp, train_model, train_model_with};
pub use recipe::{
    EpochSelection, OptimizerChoice, RECIPE_NAMES, ROBUST_BN_GAMMA_GRID, Recipe, RecipeOverrides,
    SelectionChoice, network_spec,
};
pub use split::{ClassAwareInnerSplit, class_aware_group_k_fold, speaker_holdout};
pub use table4::{Table4Cells, encryptable, paper_table4_value};
