//! On the reference EmoDB features (../shared, read at run time): the ReLU
//! baseline and the HE-aware p2 network both learn neutral vs angry across
//! speakers, and the exported model file reproduces the network's decisions.
//! Skips when ../shared is absent (clean clones, CI without the corpora).

use privox_data::{ClassSet, FeatureTable, leave_one_group_out, shared_file, skip_without_shared};
use privox_nn::protocol::{
    EpochSelection, NetworkCells, ProtocolConfig, evaluate_cells, train_model,
};
use privox_nn::{Activation, NetworkSpec, NnModel, PolyActivation, TrainConfig};

#[test]
fn emodb_one_speaker_out_relu_and_he_aware_p2_learn_and_export() {
    let Some(csv) = shared_file("data/emodb/egemaps_v02_opensmile.csv") else {
        skip_without_shared("../shared/data/emodb/egemaps_v02_opensmile.csv not found");
        return;
    };
    let data = FeatureTable::read_csv(&csv)
        .unwrap()
        .to_dataset(&ClassSet::neutral_angry())
        .unwrap();
    // One of the ten LOSO folds and at most 100 epochs keep the test fast.
    let folds: Vec<_> = leave_one_group_out(&data.groups, &data.group_names)
        .into_iter()
        .take(1)
        .collect();
    let p2 = Activation::Poly(PolyActivation::preset("p2").unwrap());
    let jobs = [
        NetworkCells::plain("relu", NetworkSpec::paper(false, Activation::Relu)),
        NetworkCells::plain("he-p2", NetworkSpec::he_aware(p2.clone())),
    ];
    let proto = ProtocolConfig {
        train: TrainConfig {
            seed: 1,
            max_epochs: 100,
            ..TrainConfig::default()
        },
        selection: EpochSelection::Holdout {
            val_folds: 4,
            class_aware: false,
        },
        seeds: vec![1],
        clip_inputs: Some(1.0),
    };
    let cells = evaluate_cells(&data, &folds, &jobs, &proto, &|| {}).unwrap();
    for c in &cells {
        let uar = c.runs[0].pooled().uar();
        assert!(uar > 0.85, "{}: pooled UAR {uar}", c.name);
    }

    let model = train_model(
        &data,
        &NetworkSpec::he_aware(p2),
        &proto.train,
        4,
        "test".into(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("he.pvxnn");
    model.save(&path).unwrap();
    let back = NnModel::load(&path).unwrap();
    assert_eq!(
        back.predict_raw(&data.x).unwrap(),
        model.predict_raw(&data.x).unwrap()
    );
    assert_eq!(back.activation_max.len(), 2);
}
