//! The protocol end to end on recordings bundled with the repository: the
//! demo corpus' audio → privox's eGeMAPS → an HE-aware p2 network → the
//! encrypted round trip, whose decisions must equal the plaintext network's.

use std::path::PathBuf;

use privox_cryptonet::{Client, Packing, RoundTripOptions, round_trip};
use privox_data::{ClassSet, FeatureTable};
use privox_nn::protocol::{EpochSelection, train_model_with};
use privox_nn::{Activation, NetworkSpec, PolyActivation, TrainConfig};

fn demo_features(per_class: usize) -> FeatureTable {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/demo");
    let manifest =
        std::fs::read_to_string(root.join("labels.csv")).expect("data/demo/labels.csv is bundled");
    let mut table = FeatureTable::new(
        privox_egemaps::FEATURE_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    let (mut neutral, mut angry) = (0, 0);
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (file, speaker, label) = (f[0], f[1], f[2]);
        let count = if label == "neutral" {
            &mut neutral
        } else {
            &mut angry
        };
        if *count >= per_class {
            continue;
        }
        *count += 1;
        let audio = privox_audio::decode_file(root.join(file)).expect("bundled WAV decodes");
        let feats =
            privox_egemaps::extract(&audio.samples, audio.sample_rate).expect("long enough");
        table
            .push(file.into(), speaker.into(), label.into(), feats.values())
            .expect("88 features");
    }
    table
}

#[test]
fn demo_recordings_round_trip_with_the_plaintext_decisions() {
    let table = demo_features(8);
    let data = table.to_dataset(&ClassSet::neutral_angry()).unwrap();
    let p2 = Activation::Poly(PolyActivation::preset("p2").unwrap());
    let cfg = TrainConfig {
        max_epochs: 40,
        patience: 0,
        batch_size: 8,
        ..TrainConfig::default()
    };
    let model = train_model_with(
        &data,
        &NetworkSpec::he_aware(p2),
        &cfg,
        &EpochSelection::Holdout {
            val_folds: 4,
            class_aware: false,
        },
        "demo test".into(),
    )
    .unwrap();
    let raw: Vec<Vec<f64>> = data.x.iter_rows().map(|r| r.to_vec()).collect();
    for packing in [Packing::Single, Packing::Batch] {
        let client = Client::new(model.clone(), packing).unwrap();
        let scaled = client.scale(&raw).unwrap();
        let rows = if packing == Packing::Single {
            &scaled[..4]
        } else {
            &scaled[..]
        };
        let opts = RoundTripOptions {
            packing,
            insecure_seed: Some(5),
            ..Default::default()
        };
        let r = round_trip(&model, rows, &opts, &mut |_, _| {}).unwrap();
        assert_eq!(
            r.agree,
            rows.len(),
            "{packing:?}: {:?} ({})",
            r.disagreements,
            r.plan
        );
        assert!(
            r.max_abs_error < 1e-2,
            "{packing:?}: error {}",
            r.max_abs_error
        );
        assert_eq!(r.decisions, r.plain_decisions);
    }
}
