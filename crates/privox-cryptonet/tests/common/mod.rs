//! Random small networks and models for the tests.

#![allow(dead_code)]

use privox_data::MinMaxScaler;
use privox_nn::{
    Activation, Affine, FoldedLayer, FoldedMlp, Matrix, NnModel, PolyActivation, Polynomial,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// A random folded network `inputs → hidden… → classes` with polynomial
/// activations of degree 2..=max_degree, a scaler and the observed ranges.
pub fn random_model(
    seed: u64,
    inputs: usize,
    hidden: &[usize],
    classes: usize,
    max_degree: usize,
) -> (NnModel, Matrix) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut layers = Vec::new();
    let mut width = inputs;
    let widths: Vec<usize> = hidden.iter().copied().chain([classes]).collect();
    for (k, &out) in widths.iter().enumerate() {
        let scale = 1.0 / (width as f64).sqrt();
        layers.push(FoldedLayer::Affine(Affine {
            inputs: width,
            outputs: out,
            weights: (0..width * out)
                .map(|_| rng.random_range(-1.5..1.5) * scale)
                .collect(),
            bias: (0..out).map(|_| rng.random_range(-0.3..0.3)).collect(),
        }));
        if k + 1 < widths.len() {
            let degree = rng.random_range(2..=max_degree);
            let mut c: Vec<f64> = (0..=degree).map(|_| rng.random_range(-0.5..0.5)).collect();
            c[degree] = if rng.random_bool(0.5) { 0.3 } else { -0.2 };
            let poly = Polynomial::new(c).expect("finite coefficients");
            layers.push(FoldedLayer::Activation(Activation::Poly(
                PolyActivation::new(poly, 2.0).expect("positive interval"),
            )));
        }
        width = out;
    }
    let network = FoldedMlp::from_layers(layers, inputs, classes).expect("consistent shapes");
    // Raw features on arbitrary ranges; the scaler maps the training rows to [-1, 1].
    let rows = 24;
    let raw: Vec<f64> = (0..rows * inputs)
        .map(|i| rng.random_range(-3.0..5.0) * (1.0 + (i % inputs) as f64))
        .collect();
    let raw = Matrix::new(rows, inputs, raw).expect("shape");
    let scaler = MinMaxScaler::fit(&raw).expect("non-empty");
    let scaled = scaler.transform(&raw).expect("same width");
    let model = NnModel {
        activation_max: network.preactivation_max(&scaled).expect("shape"),
        network,
        scaler,
        feature_names: (0..inputs).map(|j| format!("f{j}")).collect(),
        class_names: (0..classes).map(|c| format!("class{c}")).collect(),
        input_range: 1.0,
        description: format!("random test network, seed {seed}"),
        calibration: Default::default(),
    };
    (model, raw)
}

/// Rows of a raw matrix as vectors.
pub fn rows(m: &Matrix) -> Vec<Vec<f64>> {
    m.iter_rows().map(|r| r.to_vec()).collect()
}
