//! Every malformed or mismatched input is a typed error, never a panic.

mod common;

use privox_ckks::{Evaluator, InsecureSeed, KeyGenerator};
use privox_cryptonet::wire::{eval_keys_from_bytes, eval_keys_to_bytes};
use privox_cryptonet::{Client, CryptonetError, Packing, Query, Server};
use privox_nn::{Activation, FoldedLayer, FoldedMlp};

fn setup(seed: u64) -> (privox_nn::NnModel, Vec<Vec<f64>>) {
    let (model, raw) = common::random_model(seed, 6, &[8], 2, 2);
    (model, common::rows(&raw))
}

fn keygen(client: &Client, seed: u64) -> (privox_ckks::SecretKey, privox_ckks::EvaluationKeys) {
    let kg = KeyGenerator::from_insecure_seed(&client.plan().params, InsecureSeed::from_u64(seed));
    client.keygen_with(kg).unwrap()
}

#[test]
fn evaluation_keys_of_another_plan_or_missing_a_rotation_are_refused() {
    let (model, _) = setup(1);
    let client = Client::new(model.clone(), Packing::Single).unwrap();
    let (_, keys) = keygen(&client, 1);
    let good = eval_keys_to_bytes(client.plan(), &keys).unwrap();
    assert!(Server::new(&model, Packing::Single, &good).is_ok());

    // Another architecture (another plan fingerprint).
    let (other, _) = common::random_model(2, 6, &[8, 4], 2, 2);
    assert!(matches!(
        Server::new(&other, Packing::Single, &good),
        Err(CryptonetError::WrongPlan { .. })
    ));
    // The same plan, but keys missing a rotation (re-wrapped under the
    // right plan fingerprint, so only the rotation check can catch it).
    let plan = client.plan();
    let mut kg = KeyGenerator::from_insecure_seed(&plan.params, InsecureSeed::from_u64(3));
    let sk = kg.secret_key();
    let partial = kg
        .evaluation_keys(&sk, &plan.rotations[1..], false)
        .unwrap();
    let bytes = eval_keys_to_bytes(plan, &partial).unwrap();
    assert!(matches!(
        eval_keys_from_bytes(plan, &bytes),
        Err(CryptonetError::MissingRotation { .. })
    ));
    // Keys truncated below the level a rotation runs at.
    let mut kg = KeyGenerator::from_insecure_seed(&plan.params, InsecureSeed::from_u64(6));
    let sk = kg.secret_key();
    let mut low = kg.evaluation_keys(&sk, &plan.rotations, false).unwrap();
    let (&step, &level) = plan
        .rotations
        .iter()
        .zip(&plan.rotation_levels)
        .find(|(_, l)| **l > 0)
        .unwrap();
    low.galois.truncate_step(step, level - 1).unwrap();
    let bytes = eval_keys_to_bytes(plan, &low).unwrap();
    assert!(matches!(
        eval_keys_from_bytes(plan, &bytes),
        Err(CryptonetError::Ckks(
            privox_ckks::CkksError::KeyLevelTooLow { .. }
        ))
    ));
    // Batch-packing keys are another plan.
    let batch = Client::new(model.clone(), Packing::Batch).unwrap();
    let (_, bkeys) = keygen(&batch, 4);
    let bbytes = eval_keys_to_bytes(batch.plan(), &bkeys).unwrap();
    assert!(matches!(
        Server::new(&model, Packing::Single, &bbytes),
        Err(CryptonetError::WrongPlan { .. })
    ));
    // Truncated and bit-flipped key files.
    for bad in [&good[..good.len() / 2], &good[..10]] {
        assert!(Server::new(&model, Packing::Single, bad).is_err());
    }
    let mut flipped = good.clone();
    let mid = flipped.len() / 3;
    flipped[mid] ^= 0x10;
    assert!(Server::new(&model, Packing::Single, &flipped).is_err());
}

#[test]
fn malformed_queries_are_typed_errors_and_the_server_keeps_working() {
    let (model, raw) = setup(5);
    let client = Client::new(model.clone(), Packing::Single).unwrap();
    let (sk, keys) = keygen(&client, 5);
    let server = Server::new(
        &model,
        Packing::Single,
        &eval_keys_to_bytes(client.plan(), &keys).unwrap(),
    )
    .unwrap();
    let scaled = client.scale(&raw[..1]).unwrap();
    let query = client.encrypt(&sk, &scaled).unwrap();
    let bytes = query.to_bytes(client.plan()).unwrap();

    // Truncated anywhere, or one bit flipped anywhere: refused.
    for cut in [0, 8, 40, bytes.len() / 2, bytes.len() - 1] {
        assert!(server.infer_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    for pos in [0, 20, 45, bytes.len() / 3, bytes.len() - 3] {
        let mut b = bytes.clone();
        b[pos] ^= 1;
        assert!(server.infer_bytes(&b).is_err(), "flip at {pos}");
    }
    // A ciphertext at the wrong level.
    let ev = Evaluator::new(&client.plan().params);
    let mut low = query.clone();
    low.cts[0] = ev.drop_to_level(&low.cts[0], 1).unwrap();
    assert!(matches!(
        server.infer(&low),
        Err(CryptonetError::WrongLevel { .. })
    ));
    // Too few ciphertexts.
    let short = Query {
        rows: 1,
        cts: query.cts[..0].to_vec(),
    };
    assert!(matches!(
        server.infer(&short),
        Err(CryptonetError::CiphertextCount { .. })
    ));
    // A query whose ciphertexts pack fewer slots than the plan's.
    let enc = privox_ckks::Encoder::new(&client.plan().params);
    let level = client.plan().input_level();
    let pt = enc
        .encode_real(&[0.5; 8], level, client.plan().scales[level])
        .unwrap();
    let small = privox_ckks::Encryptor::from_insecure_seed(
        &client.plan().params,
        InsecureSeed::from_u64(9),
    )
    .encrypt_symmetric(&pt, &sk)
    .unwrap();
    let mut sparse = query.clone();
    sparse.cts[0] = small.clone();
    assert!(matches!(
        server.infer(&sparse),
        Err(CryptonetError::WrongSlots { .. })
    ));
    // The client refuses such a response instead of indexing past its slots.
    let bad_response = privox_cryptonet::Response {
        rows: 1,
        cts: vec![small],
    };
    assert!(matches!(
        client.decrypt(&sk, &bad_response),
        Err(CryptonetError::WrongSlots { .. })
    ));
    // And the server still answers a good query.
    assert!(server.infer_bytes(&bytes).is_ok());
}

#[test]
fn bad_features_are_refused_before_encryption() {
    let (model, raw) = setup(7);
    let client = Client::new(model, Packing::Batch).unwrap();
    let mut nan = raw[0].clone();
    nan[2] = f64::NAN;
    assert!(matches!(
        client.scale(&[nan]),
        Err(CryptonetError::NonFiniteFeature { feature: 2, .. })
    ));
    assert!(matches!(
        client.scale(&[raw[0][..5].to_vec()]),
        Err(CryptonetError::FeatureCount { .. })
    ));
    let mut huge = raw[0].clone();
    huge[1] = 1e12;
    assert!(matches!(
        client.scale(&[huge]),
        Err(CryptonetError::FeatureOutOfRange { feature: 1, .. })
    ));
    // Already-scaled rows outside the model's input range.
    let (sk, _) = keygen(&client, 7);
    let mut scaled = client.scale(&raw[..1]).unwrap();
    scaled[0][0] = 3.0;
    assert!(matches!(
        client.encrypt(&sk, &scaled),
        Err(CryptonetError::FeatureOutOfRange { .. })
    ));
    assert!(matches!(
        client.encrypt(&sk, &[]),
        Err(CryptonetError::BatchSize { .. })
    ));
}

#[test]
fn models_the_planner_cannot_fit_are_refused() {
    // ReLU cannot be evaluated.
    let (model, _) = setup(9);
    let mut layers = model.network.layers().to_vec();
    layers[1] = FoldedLayer::Activation(Activation::Relu);
    let relu = privox_nn::NnModel {
        network: FoldedMlp::from_layers(layers, 6, 2).unwrap(),
        ..model.clone()
    };
    assert!(matches!(
        Client::new(relu, Packing::Single),
        Err(CryptonetError::NotPolynomial { layer: 0 })
    ));
    // Twelve degree-6 activations need far more levels than N = 2^15 holds.
    let (deep, _) = common::random_model(10, 4, &[4; 12], 2, 6);
    let deep_degrees: Vec<usize> = deep
        .network
        .activations()
        .map(|a| match a {
            Activation::Poly(p) => p.poly.degree(),
            Activation::Relu => 0,
        })
        .collect();
    assert!(deep_degrees.iter().all(|&d| d >= 2));
    assert!(matches!(
        Client::new(deep, Packing::Batch),
        Err(CryptonetError::TooDeep { .. })
    ));
}

#[test]
fn client_refuses_features_prepared_with_another_calibration() {
    use privox_data::Calibration;
    let (mut model, raw) = setup(21);
    let plain = Client::new(model.clone(), Packing::Batch).unwrap();
    assert!(plain.scale(&raw).is_ok());
    assert!(matches!(
        plain.scale_calibrated(&raw, Calibration::Speaker),
        Err(CryptonetError::Nn(privox_nn::NnError::Calibration(_)))
    ));
    model.calibration = Calibration::Speaker;
    let calibrated = Client::new(model, Packing::Batch).unwrap();
    assert!(matches!(
        calibrated.scale(&raw),
        Err(CryptonetError::Nn(privox_nn::NnError::Calibration(e)))
            if e.expected == Calibration::Speaker && e.given == Calibration::None
    ));
    // Calibration changes nothing the client sends: the same scaled rows as
    // the uncalibrated client gives for the same (already calibrated) rows.
    assert_eq!(
        calibrated
            .scale_calibrated(&raw, Calibration::Speaker)
            .unwrap(),
        plain.scale(&raw).unwrap()
    );
}
