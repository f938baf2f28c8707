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
