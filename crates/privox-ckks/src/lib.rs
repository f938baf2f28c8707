//! Full-RNS CKKS homomorphic encryption (Cheon–Han–Kim–Kim–Song 2018) on
//! `tfhe-ntt`, with hybrid key switching and hoisted rotations.
//!
//! (Full documentation of the noise model and the security table below.)

mod arith;
mod ciphertext;
mod encoder;
mod error;
mod evaluator;
mod keys;
mod keyswitch;
mod params;
mod rns;
mod sampling;
mod serialize;

pub use ciphertext::{Ciphertext, Ciphertext3, Decryptor, Encryptor, Plaintext};
pub use encoder::{Complex, Encoder};
pub use error::{CkksError, Result};
pub use evaluator::{Evaluator, HoistedCiphertext, SCALE_TOLERANCE};
pub use keys::{EvaluationKeys, GaloisKeys, KeyGenerator, PublicKey, RelinKey, SecretKey};
pub use params::{check_security, CkksParams, ParamSpec, SecurityPolicy, ERROR_STD_DEV, HE_STANDARD_128};

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
            NttBench { params: params.clone(), buf: RefCell::new((0..n as u64).map(|i| i * 7919 % q).collect()) }
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
