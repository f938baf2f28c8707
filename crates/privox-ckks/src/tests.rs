//! End-to-end tests against plaintext complex arithmetic.

use crate::params::test_params;
use crate::*;
use proptest::prelude::*;

pub(crate) struct Setup {
    pub params: CkksParams,
    pub sk: SecretKey,
    pub pk: PublicKey,
    pub keys: EvaluationKeys,
    pub enc: Encoder,
    pub ev: Evaluator,
}

pub(crate) fn setup(log_n: u32, q: &[u32], p: u32, dnum: usize, log_scale: i32, steps: &[i64]) -> Setup {
    let params = test_params(log_n, q, p, dnum, log_scale);
    let mut kg = KeyGenerator::from_seed(&params, 7);
    let sk = kg.secret_key();
    let pk = kg.public_key(&sk).unwrap();
    let keys = kg.evaluation_keys(&sk, steps, true).unwrap();
    Setup {
        enc: Encoder::new(&params),
        ev: Evaluator::new(&params),
        params,
        sk,
        pk,
        keys,
    }
}

impl Setup {
    pub fn encrypt(&self, v: &[Complex], seed: u64) -> Ciphertext {
        let pt = self.enc.encode(v, self.params.max_level(), self.params.default_scale()).unwrap();
        Encryptor::from_seed(&self.params, seed).encrypt(&pt, &self.pk).unwrap()
    }
    pub fn decrypt(&self, ct: &Ciphertext) -> Vec<Complex> {
        let pt = Decryptor::new(&self.params).decrypt(ct, &self.sk).unwrap();
        self.enc.decode(&pt).unwrap()
    }
}

pub(crate) fn max_err(a: &[Complex], b: &[Complex]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (*x - *y).abs()).fold(0.0, f64::max)
}

fn vals(n: usize, seed: u64) -> Vec<Complex> {
    // Deterministic pseudo-random values in the unit square.
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            let mut next = || {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            };
            Complex::new(next(), next())
        })
        .collect()
}

fn small() -> Setup {
    setup(12, &[60, 40, 40, 40], 60, 2, 40, &[1, 2, 3, 4, 5, -1, 7, 8, 16, 64, 256, 512, 1024])
}

#[test]
fn encode_decode_round_trip() {
    let s = small();
    for slots in [1usize, 4, 2048] {
        let v = vals(slots, slots as u64);
        let pt = s.enc.encode(&v, 2, 2f64.powi(40)).unwrap();
        let back = s.enc.decode(&pt).unwrap();
        assert!(max_err(&v, &back) < 1e-9, "{slots}: {}", max_err(&v, &back));
    }
}

#[test]
fn fresh_encryption_precision() {
    let s = small();
    let v = vals(2048, 1);
    let ct = s.encrypt(&v, 3);
    let e = max_err(&v, &s.decrypt(&ct));
    eprintln!("pk fresh: {:.1} bits", -e.log2());
    assert!(e < 2f64.powi(-25), "{e}");
    let pt = s.enc.encode(&v, 3, 2f64.powi(40)).unwrap();
    let ct = Encryptor::from_seed(&s.params, 4).encrypt_symmetric(&pt, &s.sk).unwrap();
    let e = max_err(&v, &s.decrypt(&ct));
    eprintln!("sk fresh: {:.1} bits", -e.log2());
    assert!(e < 2f64.powi(-25), "{e}");
}

#[test]
fn multiply_relinearize_rescale() {
    let s = small();
    let a = vals(2048, 1);
    let b = vals(2048, 2);
    let ca = s.encrypt(&a, 3);
    let cb = s.encrypt(&b, 4);
    let prod = s.ev.rescale(&s.ev.mul(&ca, &cb, &s.keys.relin).unwrap()).unwrap();
    let expect: Vec<Complex> = a.iter().zip(&b).map(|(x, y)| *x * *y).collect();
    let e = max_err(&expect, &s.decrypt(&prod));
    eprintln!("mul: {:.1} bits", -e.log2());
    assert!(e < 2f64.powi(-20), "{e}");
}

#[test]
fn rotations_are_permutations() {
    let s = small();
    let v = vals(2048, 5);
    let ct = s.encrypt(&v, 6);
    let steps = [1i64, 2, 3, 5, -1, 7, 8, 16, 64, 256, 512, 1024];
    let rots = s.ev.rotate_hoisted(&ct, &steps, &s.keys.galois).unwrap();
    for (&k, r) in steps.iter().zip(&rots) {
        let got = s.decrypt(r);
        let expect: Vec<Complex> = (0..2048).map(|i| v[(i as i64 + k).rem_euclid(2048) as usize]).collect();
        let e = max_err(&expect, &got);
        assert!(e < 2f64.powi(-20), "step {k}: {e}");
    }
    let single = s.ev.rotate(&ct, 3, &s.keys.galois).unwrap();
    assert!(max_err(&s.decrypt(&single), &s.decrypt(&rots[2])) < 2f64.powi(-20));
    let conj = s.ev.conjugate(&ct, &s.keys.galois).unwrap();
    let expect: Vec<Complex> = v.iter().map(|c| c.conj()).collect();
    assert!(max_err(&expect, &s.decrypt(&conj)) < 2f64.powi(-20));
}

#[test]
fn sparse_slots_rotate_and_sum() {
    let s = small();
    let v = vals(8, 9);
    let ct = s.encrypt(&v, 10);
    let r = s.ev.rotate(&ct, 3, &s.keys.galois).unwrap();
    let expect: Vec<Complex> = (0..8).map(|i| v[(i + 3) % 8]).collect();
    assert!(max_err(&expect, &s.decrypt(&r)) < 2f64.powi(-20));
    let sum = s.ev.inner_sum(&ct, &s.keys.galois).unwrap();
    let total = v.iter().fold(Complex::default(), |a, b| a + *b);
    assert!(max_err(&vec![total; 8], &s.decrypt(&sum)) < 2f64.powi(-20));
}

#[test]
fn bsgs_matrix_vector_product() {
    let s = setup(12, &[60, 40, 40], 60, 3, 40, &[1, 2, 3, 4, 8, 12]);
    let n = 16;
    let m: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| ((i * 7 + j * 3) % 11) as f64 / 11.0 - 0.5).collect()).collect();
    let x: Vec<f64> = (0..n).map(|i| (i as f64 / n as f64) - 0.3).collect();
    let ct = s.encrypt(&x.iter().map(|&v| Complex::from(v)).collect::<Vec<_>>(), 1);
    let diags = s.enc.encode_bsgs_diagonals(&m, 4, ct.level(), 2f64.powi(40)).unwrap();
    let y = s.ev.rescale(&s.ev.matvec_bsgs(&ct, &diags, 4, &s.keys.galois).unwrap()).unwrap();
    let got = s.decrypt(&y);
    for i in 0..n {
        let expect: f64 = (0..n).map(|j| m[i][j] * x[j]).sum();
        assert!((got[i].re - expect).abs() < 1e-6, "{i}: {} vs {expect}", got[i].re);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, .. ProptestConfig::default() })]
    #[test]
    fn every_op_matches_plaintext_arithmetic(seed in 0u64..1000, c in -4.0f64..4.0, k in -5i64..5) {
        let s = SMALL.with(|s| s.clone());
        let (s, ev) = (&*s, &s.ev);
        let a = vals(2048, seed);
        let b = vals(2048, seed + 1);
        let (ca, cb) = (s.encrypt(&a, seed), s.encrypt(&b, seed + 7));
        let pb = s.enc.encode(&b, s.params.max_level(), s.params.default_scale()).unwrap();
        let tol = 2f64.powi(-18);
        let zip = |f: &dyn Fn(Complex, Complex) -> Complex| a.iter().zip(&b).map(|(x, y)| f(*x, *y)).collect::<Vec<_>>();
        prop_assert!(max_err(&zip(&|x, y| x + y), &s.decrypt(&ev.add(&ca, &cb).unwrap())) < tol);
        prop_assert!(max_err(&zip(&|x, y| x - y), &s.decrypt(&ev.sub(&ca, &cb).unwrap())) < tol);
        prop_assert!(max_err(&zip(&|x, _| Complex::default() - x), &s.decrypt(&ev.negate(&ca))) < tol);
        prop_assert!(max_err(&zip(&|x, y| x + y), &s.decrypt(&ev.add_plain(&ca, &pb).unwrap())) < tol);
        prop_assert!(max_err(&zip(&|x, y| x - y), &s.decrypt(&ev.sub_plain(&ca, &pb).unwrap())) < tol);
        let mp = ev.rescale(&ev.mul_plain(&ca, &pb).unwrap()).unwrap();
        prop_assert!(max_err(&zip(&|x, y| x * y), &s.decrypt(&mp)) < tol);
        let mc = ev.rescale(&ev.mul_const(&ca, c, 2f64.powi(40)).unwrap()).unwrap();
        prop_assert!(max_err(&zip(&|x, _| x * Complex::from(c)), &s.decrypt(&mc)) < tol * 4.0);
        let cc = Complex::new(c, -c / 2.0);
        prop_assert!(max_err(&zip(&|x, _| x + cc), &s.decrypt(&ev.add_const(&ca, cc).unwrap())) < tol);
        prop_assert!(max_err(&zip(&|x, _| x * Complex::from(k as f64)), &s.decrypt(&ev.mul_integer(&ca, k))) < tol * 8.0);
        let m = ev.rescale(&ev.mul(&ca, &cb, &s.keys.relin).unwrap()).unwrap();
        prop_assert!(max_err(&zip(&|x, y| x * y), &s.decrypt(&m)) < tol);
        // Adding operands at different levels aligns them.
        let mixed = ev.add(&m, &ev.rescale(&ev.mul_plain(&cb, &pb).unwrap()).unwrap()).unwrap();
        prop_assert!(max_err(&zip(&|x, y| x * y + y * y), &s.decrypt(&mixed)) < tol * 2.0);
    }
}

thread_local! {
    static SMALL: std::rc::Rc<Setup> = std::rc::Rc::new(small());
}

