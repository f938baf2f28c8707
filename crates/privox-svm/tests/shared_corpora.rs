//! On the reference corpora in ../shared (skipped when absent): a speaker-
//! independent split of EmoDB neutral/angry, RBF on openSMILE features and
//! RBF-Hamming on SMH codes, both well above chance.

use privox_data::{ClassSet, FeatureTable, leave_one_group_out, shared_file, skip_without_shared};
use privox_smh::{SmhKey, SmhParams};
use privox_svm::{SvcParams, SvmModel};

#[test]
fn emodb_neutral_angry_is_learned_on_features_and_codes() {
    let Some(csv) = shared_file("data/emodb/egemaps_v02_opensmile.csv") else {
        skip_without_shared("../shared/data/emodb/egemaps_v02_opensmile.csv not found");
        return;
    };
    let table = FeatureTable::read_csv(&csv).unwrap();
    let ds = table.to_dataset(&ClassSet::neutral_angry()).unwrap();
    // Hold out the first speaker.
    let fold = &leave_one_group_out(&ds.groups, &ds.group_names)[0];
    let (tr, te) = (ds.subset(&fold.train), ds.subset(&fold.test));
    let names = ds.classes.names().to_vec();
    let p = SvcParams {
        c: 4.0,
        ..SvcParams::default()
    };
    let m =
        SvmModel::train_features(&tr.x, &tr.y, &names, &ds.feature_names, 1.0 / 64.0, &p).unwrap();
    let pred = m.predict_features(&te.x).unwrap();
    let acc = pred
        .iter()
        .zip(&te.y)
        .filter(|(a, b)| a.class == **b)
        .count() as f64
        / te.y.len() as f64;
    assert!(acc >= 0.8, "held-out accuracy on features {acc}");

    let scaler = m.scaler.clone().unwrap();
    let key = SmhKey::generate_with_seed(SmhParams::new(3, 8.0, 32, ds.x.cols()).unwrap(), 1);
    let ctr = key
        .hash(scaler.transform(&tr.x).unwrap().as_slice(), ds.x.cols())
        .unwrap();
    let cte = key
        .hash(scaler.transform(&te.x).unwrap().as_slice(), ds.x.cols())
        .unwrap();
    let hm = SvmModel::train_codes(&ctr, &tr.y, &names, 16.0, &p, Some(scaler)).unwrap();
    let pred = hm.predict_codes(&cte).unwrap();
    let acc = pred
        .iter()
        .zip(&te.y)
        .filter(|(a, b)| a.class == **b)
        .count() as f64
        / te.y.len() as f64;
    assert!(acc >= 0.7, "held-out accuracy on codes {acc}");
}
