//! Property tests against plaintext complex arithmetic for every operation
//! at N = 2^12, 2^13 and 2^14.
//!
//! Every operation of the evaluator is checked on random complex inputs, at a
//! random starting level, with random slot counts (full and sparse packing),
//! random constants, random rotation steps and a random BSGS matrix–vector
//! product. One key set per N is built once
//! per test binary and shared by all cases, so the cost is a few encryptions
//! and key switches per case (16 cases at 2^12, 12 at 2^13, 6 at 2^14).
//! N = 2^13 and 2^14 use 128-bit-secure parameter sets; N = 2^12 uses the
//! test chain of the other unit tests (too long for 128 bits at that N).

use super::{Setup, max_err};
use crate::params::test_params;
use crate::*;
use proptest::prelude::*;
use std::sync::OnceLock;

/// `crate::Result` is in scope (glob import); test steps fail with proptest errors.
type TestResult<T = ()> = std::result::Result<T, TestCaseError>;

/// Extra rotation steps besides the powers of two (negative = right); 3 and
/// 12 complete the steps of the 16×16 BSGS product with 4 baby steps.
const EXTRA_STEPS: [i64; 6] = [-1, 3, -5, 7, 12, 100];

/// Dimension and baby steps of the BSGS matrix–vector product case.
const MATVEC_DIM: usize = 16;
const MATVEC_BABY: usize = 4;

/// Keys for one parameter set, built once per test binary: Galois keys for
/// the powers of two (for `inner_sum`) plus `EXTRA_STEPS`.
fn fixture(params: CkksParams) -> Setup {
    let mut steps = KeyGenerator::power_of_two_steps(params.max_slots());
    steps.extend(EXTRA_STEPS);
    Setup::new(params, 0x5eed, steps)
}

/// N = 2^12: Q = [60, 40, 40, 40], dnum 4 (one 60-bit special prime);
/// insecure at this N (log QP = 240), as the other N = 2^12 unit tests.
fn n4096() -> &'static Setup {
    static F: OnceLock<Setup> = OnceLock::new();
    F.get_or_init(|| fixture(test_params(12, &[60, 40, 40, 40], 60, 4, 40)))
}

/// A 128-bit-secure parameter set (checked by `CkksParams::new`).
fn secure(log_n: u32, q_bits: &[u32], dnum: usize) -> CkksParams {
    CkksParams::new(ParamSpec::new(
        log_n,
        q_bits.to_vec(),
        60,
        dnum,
        2f64.powi(40),
    ))
    .expect("the test parameter sets are 128-bit valid")
}

/// N = 2^13: Q = [60, 40, 40], one 60-bit special prime (dnum 3): log QP = 200 ≤ 218.
fn n8192() -> &'static Setup {
    static F: OnceLock<Setup> = OnceLock::new();
    F.get_or_init(|| fixture(secure(13, &[60, 40, 40], 3)))
}

/// N = 2^14: Q = [60, 40, 40, 40], dnum 2, so two primes per digit and two
/// 60-bit special primes (the multi-prime ModUp/ModDown paths): log QP = 300 ≤ 438.
fn n16384() -> &'static Setup {
    static F: OnceLock<Setup> = OnceLock::new();
    F.get_or_init(|| fixture(secure(14, &[60, 40, 40, 40], 2)))
}

/// One random case: inputs, packing, levels, constants and rotations.
#[derive(Clone)]
struct Case {
    /// log2 of the slot count (full packing most of the time).
    log_slots: u32,
    a: Vec<Complex>,
    b: Vec<Complex>,
    /// Starting level of `a` (≥ 1 so that a rescale is possible).
    level: usize,
    /// Level of `b` for the mixed-level addition (≤ level).
    level_b: usize,
    /// Level of the plaintext operand (≥ level: plaintexts may sit higher).
    level_pt: usize,
    c: f64,
    cc: Complex,
    k: i64,
    step: i64,
    hoisted: Vec<i64>,
    /// A MATVEC_DIM × MATVEC_DIM matrix (row-major) and a vector for the BSGS product.
    matrix: Vec<f64>,
    x: Vec<Complex>,
    seed: u64,
}

/// A failing case prints its shape and the first few inputs, not 2·8192 numbers
/// (proptest's regression file keeps the exact seed to replay it).
impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("slots", &(1usize << self.log_slots))
            .field("a[..2]", &&self.a[..self.a.len().min(2)])
            .field("b[..2]", &&self.b[..self.b.len().min(2)])
            .field("level", &self.level)
            .field("level_b", &self.level_b)
            .field("level_pt", &self.level_pt)
            .field("c", &self.c)
            .field("cc", &self.cc)
            .field("k", &self.k)
            .field("step", &self.step)
            .field("hoisted", &self.hoisted)
            .field("matrix[..2]", &&self.matrix[..2])
            .field("x[..2]", &&self.x[..2])
            .field("seed", &self.seed)
            .finish()
    }
}

fn complex_vec(len: usize, amp: f64) -> impl Strategy<Value = Vec<Complex>> {
    prop::collection::vec((-amp..amp, -amp..amp), len)
        .prop_map(|v| v.into_iter().map(|(re, im)| Complex::new(re, im)).collect())
}

fn case(fx: &'static Setup) -> impl Strategy<Value = Case> {
    let full_log = fx.params.max_slots().trailing_zeros();
    let max_level = fx.params.max_level();
    let log_slots = prop_oneof![3 => Just(full_log), 1 => 1..full_log];
    let steps = fx.steps.clone();
    (
        log_slots,
        0.25f64..2.0,
        1..=max_level,
        any::<u64>(),
        -4.0f64..4.0,
        (-2.0f64..2.0, -2.0f64..2.0),
        -5i64..=5,
        prop::sample::select(steps.clone()),
        prop::sample::subsequence(steps, 1..=4),
    )
        .prop_flat_map(
            move |(log_slots, amp, level, seed, c, (re, im), k, step, hoisted)| {
                let slots = 1usize << log_slots;
                (
                    complex_vec(slots, amp),
                    complex_vec(slots, amp),
                    0..=level,
                    level..=max_level,
                    prop::collection::vec(-1.0f64..1.0, MATVEC_DIM * MATVEC_DIM),
                    complex_vec(MATVEC_DIM, amp),
                )
                    .prop_map(move |(a, b, level_b, level_pt, matrix, x)| Case {
                        log_slots,
                        a,
                        b,
                        level,
                        level_b,
                        level_pt,
                        c,
                        cc: Complex::new(re, im),
                        k,
                        step,
                        hoisted: hoisted.clone(),
                        matrix,
                        x,
                        seed,
                    })
            },
        )
}

fn rotated(v: &[Complex], step: i64) -> Vec<Complex> {
    let n = v.len() as i64;
    (0..n)
        .map(|i| v[(i + step).rem_euclid(n) as usize])
        .collect()
}

/// Checks `got` against `expect` within `tol` (absolute, on every slot).
fn check(what: &str, expect: &[Complex], got: &[Complex], tol: f64) -> TestResult {
    prop_assert_eq!(expect.len(), got.len(), "{}: slot counts differ", what);
    let e = max_err(expect, got);
    prop_assert!(
        e <= tol,
        "{what}: max slot error {e:e} (2^{:.1}) > tolerance 2^{:.1}",
        e.log2(),
        tol.log2()
    );
    Ok(())
}

/// Every operation against plaintext complex arithmetic (plus the BSGS
/// matrix–vector product built from them). Inputs have modulus
/// at most 2·√2 and Δ = 2^40: a fresh encryption is good to ≈ 2^-25 in the
/// worst slot, so 2^-18 (2^-16 where constants up to 5 multiply the noise)
/// leaves a wide margin without hiding real errors (a wrong result is O(1)).
fn every_op(fx: &Setup, cs: &Case) -> TestResult {
    let (enc, ev) = (&fx.enc, &fx.ev);
    let delta = fx.params.default_scale();
    let slots = 1usize << cs.log_slots;
    let (a, b) = (&cs.a, &cs.b);
    let tol = 2f64.powi(-18);
    let zip = |f: &dyn Fn(Complex, Complex) -> Complex| -> Vec<Complex> {
        a.iter().zip(b).map(|(x, y)| f(*x, *y)).collect()
    };
    let encode = |v: &[Complex], level: usize| enc.encode(v, level, delta).expect("encodable");
    // One slot-wise operation: `f` on the plaintexts against the decryption of `ct`.
    let op = |what: &str, f: &dyn Fn(Complex, Complex) -> Complex, ct: &Ciphertext, tol: f64| {
        check(what, &zip(f), &fx.decrypt(ct), tol)
    };
    let mut encryptor = Encryptor::from_insecure_seed(&fx.params, InsecureSeed::from_u64(cs.seed));

    // Encryption: public key and secret key, at the case's level.
    let pa = encode(a, cs.level);
    let pb = encode(b, cs.level);
    let ca = encryptor.encrypt(&pa, &fx.pk).expect("encrypt");
    let cb = encryptor.encrypt_symmetric(&pb, &fx.sk).expect("encrypt");
    prop_assert_eq!(ca.slots(), slots);
    prop_assert_eq!(ca.level(), cs.level);
    check("fresh pk encryption", a, &fx.decrypt(&ca), 2f64.powi(-22))?;
    check("fresh sk encryption", b, &fx.decrypt(&cb), 2f64.powi(-22))?;

    // ct–ct add / sub / negate.
    op("add", &|x, y| x + y, &ev.add(&ca, &cb).or_fail()?, tol)?;
    op("sub", &|x, y| x - y, &ev.sub(&ca, &cb).or_fail()?, tol)?;
    op(
        "negate",
        &|x, _| Complex::default() - x,
        &ev.negate(&ca).unwrap(),
        tol,
    )?;

    // ct–pt add / sub (the plaintext may sit at a higher level).
    let pb_high = encode(b, cs.level_pt);
    op(
        "add_plain",
        &|x, y| x + y,
        &ev.add_plain(&ca, &pb_high).or_fail()?,
        tol,
    )?;
    op(
        "sub_plain",
        &|x, y| x - y,
        &ev.sub_plain(&ca, &pb_high).or_fail()?,
        tol,
    )?;

    // ct–const add, multiply by a real constant and by an integer.
    op(
        "add_const",
        &|x, _| x + cs.cc,
        &ev.add_const(&ca, cs.cc).or_fail()?,
        tol,
    )?;
    let mc = ev
        .rescale(&ev.mul_const(&ca, cs.c, delta).or_fail()?)
        .or_fail()?;
    prop_assert_eq!(mc.level(), cs.level - 1);
    op(
        "mul_const + rescale",
        &|x, _| x * Complex::from(cs.c),
        &mc,
        tol * 4.0,
    )?;
    op(
        "mul_integer",
        &|x, _| x * Complex::from(cs.k as f64),
        &ev.mul_integer(&ca, cs.k).unwrap(),
        tol * 4.0,
    )?;

    // ct–pt multiply + rescale.
    let mp = ev
        .rescale(&ev.mul_plain(&ca, &pb_high).or_fail()?)
        .or_fail()?;
    op("mul_plain + rescale", &|x, y| x * y, &mp, tol)?;

    // ct–ct multiply + relinearize + rescale, both through `mul` and the
    // explicit tensor/relinearize path, and squaring.
    let m = ev
        .rescale(&ev.mul(&ca, &cb, &fx.keys.relin).or_fail()?)
        .or_fail()?;
    prop_assert_eq!(m.level(), cs.level - 1);
    op("mul + relin + rescale", &|x, y| x * y, &m, tol)?;
    let t = ev.mul_no_relin(&ca, &cb).or_fail()?;
    let m2 = ev
        .rescale(&ev.relinearize(&t, &fx.keys.relin).or_fail()?)
        .or_fail()?;
    op(
        "mul_no_relin + relinearize + rescale",
        &|x, y| x * y,
        &m2,
        tol,
    )?;
    let sq = ev
        .rescale(&ev.square(&ca, &fx.keys.relin).or_fail()?)
        .or_fail()?;
    op("square + rescale", &|x, _| x * x, &sq, tol)?;

    // Level alignment: same scale, different levels (the result takes the lower).
    let cb_low = encryptor
        .encrypt(&encode(b, cs.level_b), &fx.pk)
        .expect("encrypt");
    let mixed = ev.add(&ca, &cb_low).or_fail()?;
    prop_assert_eq!(mixed.level(), cs.level_b);
    op("add at different levels", &|x, y| x + y, &mixed, tol)?;
    // Scale alignment: a fresh ciphertext (scale Δ, level l) brought to the
    // product's level l-1 and scale Δ²/q_l, then added to the product.
    let aligned = ev.align_scale(&ca, m.level(), m.scale()).or_fail()?;
    op(
        "align_scale + add",
        &|x, y| x * y + x,
        &ev.add(&m, &aligned).or_fail()?,
        tol * 2.0,
    )?;

    // Rotation by a random available step, hoisted rotations by a random
    // subset of steps, conjugation, inner sum.
    check(
        &format!("rotate by {}", cs.step),
        &rotated(a, cs.step),
        &fx.decrypt(&ev.rotate(&ca, cs.step, &fx.keys.galois).or_fail()?),
        tol,
    )?;
    let rots = ev
        .rotate_hoisted(&ca, &cs.hoisted, &fx.keys.galois)
        .or_fail()?;
    prop_assert_eq!(rots.len(), cs.hoisted.len());
    for (&step, r) in cs.hoisted.iter().zip(&rots) {
        check(
            &format!("hoisted rotation by {step}"),
            &rotated(a, step),
            &fx.decrypt(r),
            tol,
        )?;
    }
    check(
        "conjugate",
        &a.iter().map(|x| x.conj()).collect::<Vec<_>>(),
        &fx.decrypt(&ev.conjugate(&ca, &fx.keys.galois).or_fail()?),
        tol,
    )?;
    let total = a.iter().fold(Complex::default(), |s, x| s + *x);
    // log2(slots) rotations and additions: the error grows with the slot count.
    check(
        "inner_sum",
        &vec![total; slots],
        &fx.decrypt(&ev.inner_sum(&ca, &fx.keys.galois).or_fail()?),
        tol * slots as f64,
    )?;

    // BSGS diagonal matrix–vector product on a 16-slot ciphertext: hoisted
    // baby steps, lazy ct–pt accumulation, giant-step rotations, one rescale.
    let dim = MATVEC_DIM;
    let rows: Vec<Vec<f64>> = cs.matrix.chunks(dim).map(<[f64]>::to_vec).collect();
    let cx = encryptor
        .encrypt(&encode(&cs.x, cs.level), &fx.pk)
        .expect("encrypt");
    let diagonals = enc
        .encode_bsgs_diagonals(&rows, MATVEC_BABY, cs.level, delta)
        .or_fail()?;
    let y = ev
        .rescale(
            &ev.matvec_bsgs(&cx, &diagonals, MATVEC_BABY, &fx.keys.galois)
                .or_fail()?,
        )
        .or_fail()?;
    let expect: Vec<Complex> = rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&cs.x)
                .fold(Complex::default(), |acc, (&m, &x)| {
                    acc + x * Complex::from(m)
                })
        })
        .collect();
    // Up to 16 terms of modulus ≤ 2√2 each: the error grows with the dimension.
    check(
        "matvec_bsgs + rescale",
        &expect,
        &fx.decrypt(&y),
        tol * dim as f64,
    )?;
    Ok(())
}

/// Turns a library error into a test failure carrying its message.
trait OrFail<T> {
    fn or_fail(self) -> TestResult<T>;
}
impl<T> OrFail<T> for crate::Result<T> {
    fn or_fail(self) -> TestResult<T> {
        self.map_err(|e| TestCaseError::fail(e.to_string()))
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, max_shrink_iters: 32, .. ProptestConfig::default() })]
    /// N = 2^12, 16 random cases.
    #[test]
    fn every_op_matches_plaintext_arithmetic_n4096(cs in case(n4096())) {
        every_op(n4096(), &cs)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 32, .. ProptestConfig::default() })]
    /// N = 2^13, 12 random cases.
    #[test]
    fn every_op_matches_plaintext_arithmetic_n8192(cs in case(n8192())) {
        every_op(n8192(), &cs)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, max_shrink_iters: 16, .. ProptestConfig::default() })]
    /// N = 2^14, 6 random cases.
    #[test]
    fn every_op_matches_plaintext_arithmetic_n16384(cs in case(n16384())) {
        every_op(n16384(), &cs)?;
    }
}
