//! Full-RNS CKKS homomorphic encryption (Cheon–Han–Kim–Kim–Song 2018) in
//! pure Rust, on the `tfhe-ntt` NTT (AVX-512/IFMA kernels), with hybrid key
//! switching, hoisted rotations and seeded (half-size) serialization.
//!
//! # Example: encrypt → multiply → rotate → decrypt
//!
//! ```
//! use privox_ckks::*;
//!
//! // N = 2^13, Q = [60, 40, 40] bits, one 60-bit special prime: log QP = 200 <= 218.
//! let params = CkksParams::new(ParamSpec::standard(13, 2, 3))?;
//! let mut keygen = KeyGenerator::new(&params); // OS entropy
//! let sk = keygen.secret_key();
//! let pk = keygen.public_key(&sk)?;
//! let keys = keygen.evaluation_keys(&sk, &[1], false)?; // relin + rotation by 1
//!
//! let encoder = Encoder::new(&params);
//! let x = [0.5, -1.0, 0.25, 2.0];
//! let pt = encoder.encode_real(&x, params.max_level(), params.default_scale())?;
//! let ct = Encryptor::new(&params).encrypt(&pt, &pk)?;
//!
//! let ev = Evaluator::new(&params);
//! let sq = ev.rescale(&ev.mul(&ct, &ct, &keys.relin)?)?; // x², one level used
//! let rot = ev.rotate(&sq, 1, &keys.galois)?;            // slots shift left by 1
//!
//! let out = encoder.decode_real(&Decryptor::new(&params).decrypt(&rot, &sk)?)?;
//! for i in 0..4 {
//!     assert!((out[i] - x[(i + 1) % 4].powi(2)).abs() < 1e-6);
//! }
//! # Ok::<(), CkksError>(())
//! ```
//!
//! # Design
//!
//! * **Parameters** ([`ParamSpec`], [`CkksParams`]): N = 2^12…2^15, a chain
//!   of prime bit sizes (e.g. `[60, 40×L]`), special primes of `p_bits` each,
//!   and `dnum` key-switching digits (`alpha = ceil((L+1)/dnum)` primes per
//!   digit, also the number of special primes). Primes `p ≡ 1 (mod 2N)` are
//!   searched downwards from `2^bits` with deterministic Miller–Rabin, so a
//!   spec always yields the same primes; the fingerprint hashes them. The
//!   special modulus P must have at least as many bits as every digit's
//!   product of primes (key-switching error ∝ max_j Q_j / P), otherwise
//!   [`CkksError::SpecialModulusTooSmall`].
//! * **Representation**: ciphertexts and plaintexts stay in evaluation (NTT)
//!   form; products are pointwise (tfhe-ntt's SIMD multiply-accumulate),
//!   rotations are index permutations. Rescaling and ModDown round exactly.
//! * **Key switching** (hybrid, GHS with digits): ModUp of each digit with
//!   centred representatives, inner product with the key, ModDown by P.
//!   Many rotations of one ciphertext share one decomposition
//!   ([`Evaluator::rotate_hoisted`]); [`Evaluator::matvec_bsgs`] combines
//!   hoisted baby steps, lazy (unrescaled) ct–pt accumulation and giant-step
//!   rotations for diagonal matrix–vector products.
//! * **Type-level separation**: evaluation takes [`RelinKey`], [`GaloisKeys`]
//!   and [`PublicKey`] only; the [`SecretKey`] has its own file format and is
//!   never accepted where evaluation keys are expected (see the
//!   `compile_fail` examples on [`Evaluator`] and [`EvaluationKeys::to_bytes`]).
//!
//! # Security
//!
//! Every parameter set is checked against the HomomorphicEncryption.org
//! standard (2018), Table 1, 128-bit classical security, uniform ternary
//! secret. `log QP` is the sum of the bit lengths of all primes, special
//! primes included:
//!
//! | N | max log QP |
//! |---:|---:|
//! | 4096 | 109 |
//! | 8192 | 218 |
//! | 16384 | 438 |
//! | 32768 | 881 |
//!
//! Anything else is refused with [`CkksError::Insecure`] unless the
//! `insecure-testing-params` cargo feature is enabled (tests and experiments
//! only; the security byte is part of the fingerprint and of the serialized
//! parameters, so such objects are refused by normal builds).
//!
//! **Error distribution.** A discrete Gaussian with σ = 3.2, truncated at 6σ
//! (|e| ≤ 19), sampled by a full-table scan of a cumulative table (no
//! secret-dependent branch or early exit). This is the distribution the
//! standard's table assumes, so the estimate applies as is; a centred binomial
//! cannot match σ² = 10.24 exactly (η = 20.48 is not an integer), which is why
//! we did not use one. The secret is uniform ternary. Key material comes from
//! `ChaCha20Rng::from_os_rng()`; seeded generators exist only as explicit
//! `from_insecure_seed` constructors taking an [`InsecureSeed`], for tests and
//! reproducible experiments (never production keys). Secret keys and
//! ephemeral secrets are zeroized on drop.
//!
//! # Noise and precision model
//!
//! A ciphertext at scale Δ decrypts to `Δ·m + e`; a slot's error is the
//! canonical embedding of `e` divided by Δ. A coefficient error with
//! independent coefficients of variance `σ_e²` gives each slot a complex
//! Gaussian error with `E|·|² = N·σ_e²`; the maximum over the M = N/2 slots
//! is typically `σ_e·√(N·(ln M + γ))` (≈ 396·σ_e at N = 2^14). Sources, in
//! coefficient units (h ≈ 2N/3 is the Hamming weight of the ternary secret):
//!
//! * encoding rounding: uniform in [-½, ½] (variance 1/12);
//! * fresh secret-key encryption: `e`, σ = 3.2;
//! * fresh public-key encryption, as in SEAL: the public key lives over Q·P;
//!   `(u·pk0 + e0, u·pk1 + e1)` is computed over Q·P and divided by P with
//!   rounding (ModDown), then the plaintext is added. The encryption noise
//!   `u·e + e0 + e1·s` (σ ≈ 3.2·√(2h) ≈ 470 at N = 2^14, what encrypting
//!   over Q alone leaves) is divided by P and vanishes; the rounding
//!   `r0 + r1·s`, `|r_i| ≤ ½`, remains: σ = √((1 + h)/12) ≈ 0.29·√(2N/3)
//!   (≈ 30 at N = 2^14). That term is inherent to rounding (r1 is known only
//!   to the encryptor, s only to the key owner). In slot j it is
//!   `r0(ζ_j) + r1(ζ_j)·s(ζ_j)`, a product whose variance
//!   `N/12·(1 + |s(ζ_j)|²)` follows the key's canonical embedding, so its
//!   tail is heavier than a Gaussian's: public-key encryption stays about
//!   4 bits behind secret-key encryption (3.2 bits of variance, 0.8 of tail);
//! * rescale by q: the same rounding term; the message error is divided by q;
//! * key switching: `Σ_j d̃_j·e_j / P + r0 + r1·s`, where `d̃_j` is the centred
//!   lift of digit j. Worst case (documented bound, checked by the tests):
//!   `‖e_ks‖∞ ≤ dnum · N · alpha · 19 · max_j Q_j / P + (N + 1)/2`;
//!   typical values are √N-scaled, far below it.
//!
//! Scales are tracked exactly in `f64` (Δ² / q after a rescale), so decoding
//! divides by the true scale. Nothing wraps around silently: a value must
//! satisfy `|value·scale| < Q_level/4` when it is encoded (or used as a
//! constant), else [`CkksError::ValueTooLarge`], and an operation whose
//! result scale is not below the modulus `Q_level` left at its level (a
//! product at level 0, say) returns [`CkksError::ScaleTooLarge`], as do
//! decoding and deserialization of such objects.
//!
//! **Fresh-encryption precision** at N = 2^14, as -log2 of the maximum
//! absolute error over all 8192 complex slots (inputs in the unit square),
//! four encryptions each, next to the model above for the test's key
//! (`cargo test -p privox-ckks fresh_encryption_precision_n16384 -- --nocapture`):
//!
//! | scale Δ | secret key | model | public key | model |
//! |---|---:|---:|---:|---:|
//! | 2^40 | 29.67–29.73 | 29.69 | 25.60–25.80 | 25.63 |
//! | 2^45 | 34.65–34.80 | 34.69 | 30.60–30.80 | 30.63 |
//! | 2^50 | 39.62–39.76 | 39.69 | 35.60–35.80 | 35.63 |
//!
//! SEAL (through TenSEAL 0.3.16, same N, chain and scale, real slots)
//! measures pk 25.58–26.02 / sk 29.70–29.93 bits at 2^40 and pk 35.65–36.02 /
//! sk 39.44–39.84 at 2^50; privox's real parts give pk 25.82–25.98 /
//! sk 29.67–29.92 at 2^40. So at least 30 bits of fresh precision in the
//! worst slot needs Δ ≥ 2^41 with the secret key and Δ ≥ 2^45 with the
//! public key (the test asserts ≥ 30 bits for both at 2^45 and 2^50); at
//! 2^40 the secret-key figure is bounded near 29.7 bits by σ = 3.2 itself. A depth-6 chain of ct–ct products with a rotation after
//! each at N = 2^14, Δ = 2^40 keeps ≈ 22.8 bits (max slot error ≈ 2^-22.8
//! for inputs in the unit square).
//!
//! # Performance
//!
//! Hot paths: tfhe-ntt's AVX-512/IFMA NTT and multiply-accumulate, branch-free
//! (conditional-move) reductions, an AVX-512 centred lift for ModUp/rescale
//! (runtime-dispatched through `pulp`), Galois keys stored pre-permuted so a
//! rotation permutes two polynomials instead of every digit, and
//! public-key-encryption errors folded into ModDown. Limbs run in parallel
//! with rayon when more than one thread is available.
//!
//! Key switching runs one target limb at a time: each digit is lifted into a
//! one-limb scratch buffer (a digit's own limb is reused as is, it is already
//! in evaluation form), so a single key switch never materialises the lifted
//! digits; only hoisting keeps them, ordered by target limb. On primes below
//! 2^50 the digit × key inner product accumulates unreduced 52-bit IFMA
//! products and reduces once per word (scalar fallback without IFMA). ModDown
//! works in place and adds the ciphertext's own d0/d1 in its last pass, so the
//! fused `Evaluator::mul` keeps only d2 of the tensor product (no 3-polynomial
//! temporary, which page-faulted on every call). Single-threaded at N = 2^14,
//! 7 limbs, dnum 7, this is about 0.3× SEAL's time for relinearize, mul +
//! relinearize and rotate (`bench/ckks/RESULTS.md`).
//!
//! * `RAYON_NUM_THREADS=1 cargo bench -p privox-ckks --bench ops` — criterion,
//!   N = 2^14, `CKKS_BENCH_DEPTH` / `CKKS_BENCH_DNUM` / `CKKS_BENCH_LOGN`;
//! * `bench/ckks/privox-sizes` `cpu-time [op,op,...]` — CPU time per call
//!   (robust on a shared machine; see `bench/ckks/README.md`);
//! * `cargo run --release -p privox-ckks --example sizes` — serialized sizes;
//! * `bench/ckks/run.sh` — side by side with SEAL and OpenFHE.
//!
//! # Sharing decrypted values
//!
//! A decrypted CKKS value carries the decryption error in its low bits, and
//! that error together with the ciphertext reveals the secret key
//! (Li–Micciancio, EUROCRYPT 2021). Values that leave the client must first
//! go through [`round_for_sharing`] (e.g. scores to 4 decimals) or
//! [`flood_for_sharing`]; see the [`sharing`] module.
//!
//! # CPU dispatch
//!
//! On x86_64 the hot loops use AVX-512 (IFMA for 52-bit inner products) when
//! the CPU has it, else portable code. `PRIVOX_CKKS_NO_AVX512=1`
//! ([`NO_AVX512_VAR`]) forces the portable paths of this crate's own kernels,
//! so both are tested on an AVX-512 machine; tfhe-ntt's NTTs keep their own
//! dispatch.
//!
//! # Serialization
//!
//! Every object is a `privox-format` envelope (magic, version, parameter
//! fingerprint, checksum). Keys hold their parameters, and ciphertexts and
//! plaintexts the fingerprint of the parameters that made them: they are
//! written with that fingerprint (never one handed in by the caller), read
//! back only under the same parameters, and refused by the encoder,
//! encryptor, decryptor and evaluator of any other set
//! ([`CkksError::WrongParameters`]). Limbs are bit-packed at each prime's width; every
//! residue is range-checked and every length checked before allocation. Seeded
//! forms replace uniform halves by a 32-byte seed: fresh secret-key
//! ciphertexts, relinearization/Galois keys and the public key travel at about
//! half size.

mod arith;
mod ciphertext;
mod encoder;
mod error;
mod evaluator;
mod keys;
mod keyswitch;
mod lincomb;
mod params;
mod rns;
mod sampling;
mod serialize;
pub mod sharing;

pub use arith::NO_AVX512_VAR;
pub use ciphertext::{Ciphertext, Ciphertext3, Decryptor, Encryptor, Plaintext};
pub use encoder::{Complex, Encoder};
pub use error::{CkksError, GaloisOp, Result};
pub use evaluator::{Evaluator, HoistedCiphertext, SCALE_TOLERANCE};
pub use keys::{
    EvaluationKeys, GaloisKeys, InsecureSeed, KeyGenerator, PublicKey, RelinKey, SecretKey,
};
pub use params::{
    CkksParams, ERROR_STD_DEV, HE_STANDARD_128, ParamSpec, SecurityPolicy, VALUE_MARGIN_BITS,
    check_security,
};
pub use sharing::{MAX_SHARING_DECIMALS, flood_for_sharing, round_for_sharing};

#[cfg(test)]
mod tests;

/// Hooks for the criterion benches (not a stable API).
#[doc(hidden)]
pub mod bench_support {
    use crate::CkksParams;
    use std::cell::RefCell;

    /// Times one forward/inverse NTT of a single limb.
    pub struct NttBench {
        params: CkksParams,
        buf: RefCell<Vec<u64>>,
    }

    impl NttBench {
        pub fn new(params: &CkksParams) -> Self {
            let n = params.n();
            let q = params.q_primes()[0];
            NttBench {
                params: params.clone(),
                buf: RefCell::new((0..n as u64).map(|i| i * 7919 % q).collect()),
            }
        }
        pub fn forward_limb(&self, modulus: usize) {
            let mut b = self.buf.borrow_mut();
            self.params.ctx.ntt_limb(&mut b, modulus);
        }
        pub fn inverse_limb(&self, modulus: usize) {
            let mut b = self.buf.borrow_mut();
            self.params.ctx.intt_limb(&mut b, modulus);
        }
    }
}
