//! Reads the reference corpora's feature tables when `../shared` is present.

use privox_data::{ClassSet, FeatureTable, leave_one_group_out, shared_file, skip_without_shared};

#[test]
fn oracle_tables_load_as_binary_datasets() {
    for (corpus, rows, speakers) in [("emodb", 206, 10), ("nemo", 1558, 9)] {
        let relative = format!("data/{corpus}/egemaps_v02_opensmile.csv");
        let Some(path) = shared_file(&relative) else {
            skip_without_shared(format!(
                "../shared/{relative} not found (set PRIVOX_SHARED to run this test)"
            ));
            continue;
        };
        let table = FeatureTable::read_csv(&path).unwrap();
        assert_eq!(table.feature_names.len(), 88);
        let data = table.to_dataset(&ClassSet::neutral_angry()).unwrap();
        assert_eq!(data.len(), rows, "{corpus}");
        assert_eq!(
            leave_one_group_out(&data.groups, &data.group_names).len(),
            speakers
        );
    }
}
