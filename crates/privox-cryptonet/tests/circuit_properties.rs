//! The compiled circuit computes what the plaintext network computes: in
//! `f64` exactly (up to rounding), and under encryption up to the CKKS
//! noise, for random small networks, activations and inputs, in both packings.

mod common;

use privox_cryptonet::{Circuit, Packing, RoundTripOptions, round_trip};
use privox_nn::Matrix;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Normalisation (range folding, monic polynomials, output scaling)
    /// changes nothing but rounding.
    #[test]
    fn compiled_circuit_equals_the_network_in_the_clear(
        seed in any::<u64>(),
        inputs in 2usize..20,
        hidden in proptest::collection::vec(2usize..24, 1..4),
        classes in 2usize..5,
    ) {
        let (model, raw) = common::random_model(seed, inputs, &hidden, classes, 6);
        let circuit = Circuit::from_model(&model).unwrap();
        let scaled = model.scale(&raw).unwrap();
        let logits = model.network.logits(&scaled).unwrap();
        for r in 0..scaled.rows() {
            let out = circuit.eval_plain(scaled.row(r));
            for (c, &v) in out.iter().enumerate() {
                let want = logits.row(r)[c];
                let got = v * circuit.output_scale;
                prop_assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "row {r} class {c}: {got} vs {want}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    /// Encrypted evaluation equals the plaintext network, in both packings.
    #[test]
    fn encrypted_circuit_equals_the_network(
        seed in any::<u64>(),
        inputs in 2usize..12,
        hidden in proptest::collection::vec(2usize..16, 1..3),
        classes in 2usize..4,
    ) {
        let (model, raw) = common::random_model(seed, inputs, &hidden, classes, 4);
        let scaled = model.scale(&raw).unwrap();
        let rows: Vec<Vec<f64>> = common::rows(&scaled).into_iter().take(3).collect();
        for packing in [Packing::Single, Packing::Batch] {
            let opts = RoundTripOptions { packing, insecure_seed: Some(seed), ..Default::default() };
            let r = round_trip(&model, &rows, &opts, &mut |_, _| {}).unwrap();
            let plain = model.network.logits(&Matrix::new(rows.len(), inputs, rows.concat()).unwrap()).unwrap();
            let scale = plain.as_slice().iter().fold(1.0f64, |m, v| m.max(v.abs()));
            prop_assert!(r.max_abs_error <= 1e-2 * scale, "{packing:?}: error {} for logits up to {scale} ({})", r.max_abs_error, r.plan);
            prop_assert!(r.all_disagreements_explained(), "{packing:?}: {:?}", r.disagreements);
        }
    }
}

/// Seven classes (EmoDB's emotions): the last layer needs several windows
/// and blocks in the single-query layout.
#[test]
fn seven_class_networks_round_trip() {
    let (model, raw) = common::random_model(77, 10, &[12, 9], 7, 2);
    let scaled = model.scale(&raw).unwrap();
    let rows: Vec<Vec<f64>> = common::rows(&scaled).into_iter().take(4).collect();
    for packing in [Packing::Single, Packing::Batch] {
        let opts = RoundTripOptions {
            packing,
            insecure_seed: Some(3),
            ..Default::default()
        };
        let r = round_trip(&model, &rows, &opts, &mut |_, _| {}).unwrap();
        assert_eq!(r.logits[0].len(), 7);
        assert!(
            r.max_abs_error < 1e-2,
            "{packing:?}: {} ({})",
            r.max_abs_error,
            r.plan
        );
        assert!(
            r.all_disagreements_explained(),
            "{packing:?}: {:?}",
            r.disagreements
        );
    }
}
