//! Encrypted inference of `privox-nn` networks under CKKS (`privox-ckks`):
//! the server classifies a voice it never hears.
//!
//! * [`Circuit`] compiles a folded model: batch-norm is already folded, the
//!   activation polynomials are made monic and their coefficients and ranges
//!   folded into the neighbouring affine layers, so every ciphertext value
//!   stays near `[-1, 1]` and no level is spent on a constant.
//! * [`Plan`] picks the smallest 128-bit parameter set that holds the
//!   circuit's depth, plans every stage's level and canonical scale
//!   ([`plan`]), and names exactly the rotation keys the packing needs.
//! * Two packings ([`Packing`]): **single query** (one recording, diagonal
//!   and baby-step giant-step matrix–vector products on replicated vectors,
//!   see [`single`]) and **batch** (SIMD over up to N/2 recordings, scalar
//!   linear combinations with lazy reduction, no rotations, see [`batch`]).
//! * [`Client`] (keys, scaling, encryption, decryption, decision) and
//!   [`Server`] (model + evaluation keys + ciphertexts; no secret-key type in
//!   any signature) exchange [`wire`] envelopes tied to the plan.
//!
//! # Example: the whole round trip
//!
//! ```
//! use privox_cryptonet::{Client, Packing, Server, Query, Response};
//! # use privox_nn::*;
//! # use privox_data::MinMaxScaler;
//! # let x = Matrix::new(4, 3, vec![0.0, 1.0, 2.0, 1.0, 0.0, 1.0, 2.0, 2.0, 0.0, 1.0, 1.0, 1.0])?;
//! # let p2 = Activation::Poly(PolyActivation::preset("p2").unwrap());
//! # let spec = NetworkSpec { hidden: vec![4], batch_norm: false, activation: p2, bn_momentum: 0.1, bn_gamma_init: 1.0 };
//! # let net = Mlp::new(&spec, 3, 2, 1)?.fold()?;
//! # let model = NnModel { activation_max: net.preactivation_max(&x)?, network: net,
//! #     scaler: MinMaxScaler::fit(&x).unwrap(), feature_names: vec!["a".into(), "b".into(), "c".into()],
//! #     class_names: vec!["neutral".into(), "angry".into()], input_range: 1.0, description: String::new(),
//! #     calibration: Default::default() };
//! // Client: keys for exactly this model's plan, then an encrypted query.
//! let client = Client::new(model.clone(), Packing::Single)?;
//! let (secret, eval_keys) = client.keygen()?;
//! let upload = privox_cryptonet::wire::eval_keys_to_bytes(client.plan(), &eval_keys)?;
//! let rows = client.scale(&[vec![0.5, 1.5, 0.25]])?;
//! let query = client.encrypt(&secret, &rows)?.to_bytes(client.plan())?;
//!
//! // Server: the model and the public evaluation keys only.
//! let server = Server::new(&model, Packing::Single, &upload)?;
//! let answer = server.infer_bytes(&query)?;
//!
//! // Client: decrypt and decide; the decision equals the plaintext model's.
//! let scores = client.decrypt(&secret, &Response::from_bytes(client.plan(), &answer)?)?;
//! let plain = model.network.predict(&Matrix::new(1, 3, rows[0].clone())?)?;
//! assert_eq!(scores.decisions(), plain);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod batch;
pub mod circuit;
mod client;
mod error;
pub mod plan;
pub mod polyeval;
mod server;
pub mod single;
pub mod wire;

pub use circuit::{Circuit, Stage};
pub use client::{Client, MAX_SCALED_FEATURE, SHAREABLE_DECIMALS, Scores};
pub use error::{CryptonetError, Result};
pub use plan::{Packing, Plan};
pub use server::Server;
pub use wire::{Query, Response};
pub mod roundtrip;
pub use roundtrip::{RoundTripOptions, RoundTripReport, round_trip};
pub mod crossval;
