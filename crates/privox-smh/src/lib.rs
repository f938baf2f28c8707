//! Secure Modular Hashing (SMH) for privacy-preserving classification.
//!
//! A client hashes scaled feature vectors with a secret key:
//! `h(x) = floor((A x + w) / Δ) mod k`, `A` M×L with i.i.d. N(0,1) entries and
//! `w` i.i.d. U[0, kΔ). A server sees only the k-ary codes and compares them
//! with the normalized Hamming distance d_H, e.g. in an SVM with the
//! RBF-Hamming kernel `exp(-γ d_H²)`. Nearby inputs get nearby codes; beyond a
//! distance set by Δ the codes carry no information about the distance.
//!
//! * [`SmhParams`]: public parameters (k, Δ, mpc, L) with a fingerprint;
//! * [`SmhKey`]: the secret key, its file format, zeroized on drop;
//! * [`SmhKey::hash`]: batch hashing as one blocked matrix product;
//! * [`Codes`]: bit-plane packed codes, [`CodeTable`] their file format;
//! * [`hamming_counts`] and friends: parallel Hamming and Gram matrices;
//! * [`leakage`]: the share of code pairs closer than a privacy threshold;
//! * [`theory`]: expected distance, Monte Carlo check, SVG plot;
//! * [`tune`]: choose Δ for a target leakage on given training features;
//! * [`hash_table`], [`tune_held_out`]: the same over a feature table.
//!
//! ```
//! use privox_smh::{rbf_hamming_gram_symmetric, SmhKey, SmhParams};
//! let params = SmhParams::new(3, 2.0, 32, 4).unwrap();
//! let key = SmhKey::generate_with_seed(params, 42); // explicit seed: experiments only
//! let x = [0.1, 0.2, -0.3, 0.9, /* second row */ 0.1, 0.25, -0.3, 0.9];
//! let codes = key.hash_rows(&x).unwrap();
//! let gram = rbf_hamming_gram_symmetric(&codes, 1.0).unwrap();
//! assert_eq!(gram[0], 1.0);
//! assert!(gram[1] > 0.9);
//! ```

mod codes;
mod distance;
mod error;
mod hash;
mod key;
pub mod leakage;
mod params;
mod table;
pub mod theory;
pub mod tune;

pub use codes::{CODES_MAGIC, CODES_VERSION, CodeSpace, CodeTable, Codes};
pub use distance::{
    HammingMatrix, hamming_counts, hamming_counts_symmetric, hamming_matrix,
    hamming_matrix_symmetric, rbf_hamming_gram, rbf_hamming_gram_symmetric, rbf_table,
};
pub use error::SmhError;
pub use key::{KEY_MAGIC, KEY_VERSION, SmhKey};
pub use params::{MAX_K, MAX_SYMBOLS, SmhParams};
pub use table::{FoldTuning, HeldOut, HeldOutTuning, hash_table, tune_held_out};
