//! Gradient checks: every analytic gradient against central finite
//! differences, for each layer type in isolation (batch-norm in training
//! mode included) and for whole networks with the loss, class weights and
//! range penalty. Agreement required: 1e-4 relative.

#![allow(clippy::needless_range_loop)] // index loops mirror the math of each check
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::layers::{Activation, BatchNorm, Dense, Layer};
use crate::linalg::{self, Matrix};
use crate::loss::softmax_cross_entropy;
use crate::network::{Mlp, NetworkSpec, RangePenalty};
use crate::poly::{PolyActivation, Polynomial};

const H: f64 = 1e-6;
const TOL: f64 = 1e-4;

fn assert_close(analytic: f64, numeric: f64, what: &str) {
    let scale = analytic.abs().max(numeric.abs());
    // Below 1e-6 the finite difference is dominated by the rounding of the
    // loss itself (~1e-16 / 2h), so compare absolutely there.
    let ok = if scale < 1e-6 {
        (analytic - numeric).abs() < 1e-8
    } else {
        (analytic - numeric).abs() / scale < TOL
    };
    assert!(ok, "{what}: analytic {analytic:e} vs numeric {numeric:e}");
}

fn random(rows: usize, cols: usize, rng: &mut ChaCha20Rng, spread: f64) -> Matrix {
    Matrix::new(
        rows,
        cols,
        (0..rows * cols)
            .map(|_| rng.random_range(-spread..spread))
            .collect(),
    )
    .unwrap()
}

/// `Σ r ⊙ f(x)`: a scalar whose gradient w.r.t. `f(x)` is `r`.
fn weighted_sum(y: &Matrix, r: &Matrix) -> f64 {
    linalg::dot(y.as_slice(), r.as_slice())
}

/// Central difference of `f` w.r.t. `v[i]`.
fn numeric(v: &mut [f64], i: usize, f: &mut dyn FnMut(&[f64]) -> f64) -> f64 {
    let orig = v[i];
    v[i] = orig + H;
    let up = f(v);
    v[i] = orig - H;
    let down = f(v);
    v[i] = orig;
    (up - down) / (2.0 * H)
}

#[test]
fn dense_layer_gradients() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (n, i, o) = (5, 4, 3);
    let x = random(n, i, &mut rng, 1.0);
    let r = random(n, o, &mut rng, 1.0);
    let d = Dense {
        inputs: i,
        outputs: o,
        weights: random(i, o, &mut rng, 1.0).into_vec(),
        bias: random(1, o, &mut rng, 1.0).into_vec(),
    };
    let (mut dw, mut db, mut dx) = (vec![0.0; i * o], vec![0.0; o], Matrix::zeros(n, i));
    linalg::affine_backward(&x, &r, &d.weights, &mut dw, &mut db, Some(&mut dx));

    let mut xs = x.as_slice().to_vec();
    for k in 0..xs.len() {
        let num = numeric(&mut xs, k, &mut |v| {
            weighted_sum(&d.forward(&Matrix::new(n, i, v.to_vec()).unwrap()), &r)
        });
        assert_close(dx.as_slice()[k], num, &format!("dense dx[{k}]"));
    }
    let mut ws = d.weights.clone();
    for k in 0..ws.len() {
        let num = numeric(&mut ws, k, &mut |v| {
            let dd = Dense {
                weights: v.to_vec(),
                ..d.clone()
            };
            weighted_sum(&dd.forward(&x), &r)
        });
        assert_close(dw[k], num, &format!("dense dW[{k}]"));
    }
    let mut bs = d.bias.clone();
    for k in 0..bs.len() {
        let num = numeric(&mut bs, k, &mut |v| {
            let dd = Dense {
                bias: v.to_vec(),
                ..d.clone()
            };
            weighted_sum(&dd.forward(&x), &r)
        });
        assert_close(db[k], num, &format!("dense db[{k}]"));
    }
}

#[test]
fn batch_norm_training_mode_gradients() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let (n, w) = (6, 3);
    let x = random(n, w, &mut rng, 2.0);
    let r = random(n, w, &mut rng, 1.0);
    let mut bn = BatchNorm::new(w, 0.1, 1.0);
    bn.gamma = vec![0.7, 1.3, -0.4];
    bn.beta = vec![0.1, -0.2, 0.3];
    let (_, xhat, inv_std) = bn.clone().forward_train(&x, false);
    let (mut dg, mut dbeta) = (vec![0.0; w], vec![0.0; w]);
    let dx = bn.backward(&r, &xhat, &inv_std, &mut dg, &mut dbeta);

    let out = |b: &BatchNorm, x: &Matrix| b.clone().forward_train(x, false).0;
    let mut xs = x.as_slice().to_vec();
    for k in 0..xs.len() {
        let num = numeric(&mut xs, k, &mut |v| {
            weighted_sum(&out(&bn, &Matrix::new(n, w, v.to_vec()).unwrap()), &r)
        });
        assert_close(dx.as_slice()[k], num, &format!("bn dx[{k}]"));
    }
    let mut gs = bn.gamma.clone();
    for k in 0..w {
        let num = numeric(&mut gs, k, &mut |v| {
            let b = BatchNorm {
                gamma: v.to_vec(),
                ..bn.clone()
            };
            weighted_sum(&out(&b, &x), &r)
        });
        assert_close(dg[k], num, &format!("bn dγ[{k}]"));
    }
    let mut bs = bn.beta.clone();
    for k in 0..w {
        let num = numeric(&mut bs, k, &mut |v| {
            let b = BatchNorm {
                beta: v.to_vec(),
                ..bn.clone()
            };
            weighted_sum(&out(&b, &x), &r)
        });
        assert_close(dbeta[k], num, &format!("bn dβ[{k}]"));
    }
}

#[test]
fn activation_gradients() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let wild = Polynomial::new(vec![0.3, -1.2, 0.5, 0.25, -0.05, 0.01]).unwrap();
    let acts = [
        Activation::Relu,
        Activation::Poly(PolyActivation::preset("p2").unwrap()),
        Activation::Poly(PolyActivation::preset("p4").unwrap()),
        Activation::Poly(PolyActivation::preset("p6").unwrap()),
        Activation::Poly(PolyActivation::new(wild, 3.0).unwrap()),
    ];
    for act in acts {
        for _ in 0..200 {
            let mut z: f64 = rng.random_range(-3.0..3.0);
            if z.abs() < 1e-3 {
                z = 0.5; // keep away from ReLU's kink
            }
            let mut v = [z];
            let num = numeric(&mut v, 0, &mut |v| act.apply(v[0]));
            assert_close(act.derivative(z), num, &act.describe());
        }
    }
}

/// Whole-network check: every parameter of every layer, through the loss,
/// class weights and (optionally) the range penalty, batch-norm in training mode.
fn check_network(spec: &NetworkSpec, penalty: Option<RangePenalty>, seed: u64) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (n, d, k) = (8, 4, 3);
    let x = random(n, d, &mut rng, 1.5);
    let y: Vec<usize> = (0..n).map(|i| i % k).collect();
    let cw = [1.0, 2.5, 0.5];
    let mut net = Mlp::new(spec, d, k, seed).unwrap();
    // Non-trivial batch-norm parameters.
    for l in &mut net.layers {
        if let Layer::BatchNorm(b) = l {
            b.gamma
                .iter_mut()
                .for_each(|g| *g = rng.random_range(0.5..1.5));
            b.beta
                .iter_mut()
                .for_each(|g| *g = rng.random_range(-0.5..0.5));
        }
    }
    let loss = |net: &Mlp| {
        let tape = net.clone().forward_train(&x, false, penalty);
        softmax_cross_entropy(&tape.logits, &y, &cw).0 + tape.penalty
    };
    let tape = net.clone().forward_train(&x, false, penalty);
    let (_, dlogits) = softmax_cross_entropy(&tape.logits, &y, &cw);
    let grads = net.backward(&tape, dlogits, penalty);

    let n_tensors = net.params_mut().len();
    assert_eq!(n_tensors, grads.tensors.len());
    for t in 0..n_tensors {
        let len = grads.tensors[t].len();
        for i in 0..len {
            let orig = net.params_mut()[t].0[i];
            net.params_mut()[t].0[i] = orig + H;
            let up = loss(&net);
            net.params_mut()[t].0[i] = orig - H;
            let down = loss(&net);
            net.params_mut()[t].0[i] = orig;
            assert_close(
                grads.tensors[t][i],
                (up - down) / (2.0 * H),
                &format!("{spec:?}: tensor {t}[{i}]"),
            );
        }
    }
}

fn spec(activation: Activation, batch_norm: bool) -> NetworkSpec {
    NetworkSpec {
        hidden: vec![5, 4],
        batch_norm,
        activation,
        bn_momentum: 0.1,
        bn_gamma_init: 1.0,
    }
}

#[test]
fn network_gradients_relu_with_and_without_batch_norm() {
    check_network(&spec(Activation::Relu, false), None, 11);
    check_network(&spec(Activation::Relu, true), None, 12);
}

#[test]
fn network_gradients_polynomials_with_batch_norm_and_range_penalty() {
    for (i, name) in ["p2", "p4", "p6"].into_iter().enumerate() {
        let act = Activation::Poly(PolyActivation::preset(name).unwrap());
        check_network(&spec(act.clone(), true), None, 20 + i as u64);
        check_network(&spec(act.clone(), false), None, 30 + i as u64);
        // A small interval so the penalty is active on many units.
        let pen = RangePenalty {
            weight: 0.7,
            interval: 0.3,
        };
        check_network(&spec(act, true), Some(pen), 40 + i as u64);
    }
}
