//! Shared helpers of the service's integration tests: demo features, a
//! small HE model, TLS files generated at test time, a TLS server on a
//! loopback port, and fresh PostgreSQL databases when one is available.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use privox_cryptonet::Packing;
use privox_data::{ClassSet, FeatureTable};
use privox_nn::NnModel;
use privox_nn::protocol::{EpochSelection, train_model_with};
use privox_nn::{Activation, NetworkSpec, PolyActivation, TrainConfig};
use privox_service::admin;
use privox_service::client::{ApiClient, ClientConfig};
use privox_service::server::{Running, ServerConfig, Transport};
use privox_service::storage::{Federation, Storage};
use privox_smh::{SmhKey, SmhParams};
use zeroize::Zeroizing;

/// Recordings per (speaker, class) taken from the demo corpus.
pub const PER_SPEAKER_CLASS: usize = 3;
/// Speakers held out of the federation (classified at the end).
pub const HELD_OUT: [&str; 1] = ["16"];

/// Demo features: up to PER_SPEAKER_CLASS recordings per speaker and class,
/// extracted once per test binary.
pub fn demo_features() -> &'static FeatureTable {
    static T: OnceLock<FeatureTable> = OnceLock::new();
    T.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/demo");
        let manifest = std::fs::read_to_string(root.join("labels.csv"))
            .expect("data/demo/labels.csv is bundled");
        let mut table = FeatureTable::new(
            privox_egemaps::FEATURE_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        );
        let mut taken: BTreeMap<(String, String), usize> = BTreeMap::new();
        for line in manifest.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (file, speaker, label) = (f[0], f[1], f[2]);
            let n = taken.entry((speaker.into(), label.into())).or_default();
            if *n >= PER_SPEAKER_CLASS {
                continue;
            }
            *n += 1;
            let audio = privox_audio::decode_file(root.join(file)).expect("bundled WAV decodes");
            let feats = privox_egemaps::extract(&audio.samples, audio.sample_rate)
                .expect("bundled recordings are long enough");
            table
                .push(file.into(), speaker.into(), label.into(), feats.values())
                .expect("88 features");
        }
        table
    })
}

/// Rows of the table whose speaker satisfies `keep`.
pub fn select(table: &FeatureTable, keep: impl Fn(&str) -> bool) -> FeatureTable {
    let mut out = FeatureTable::new(table.feature_names.clone());
    for i in 0..table.len() {
        if keep(&table.speakers[i]) {
            out.push(
                table.files[i].clone(),
                table.speakers[i].clone(),
                table.labels[i].clone(),
                table.x.row(i),
            )
            .expect("same columns");
        }
    }
    out
}

/// The demo features of the training speakers and of the held-out ones.
pub fn demo_split() -> (FeatureTable, FeatureTable) {
    let all = demo_features();
    (
        select(all, |s| !HELD_OUT.contains(&s)),
        select(all, |s| HELD_OUT.contains(&s)),
    )
}

/// Creates the tenants and one token each (labelled `label`); the tokens
/// in the order of `names`.
pub async fn tenants_with_tokens(
    storage: &Storage,
    names: &[&str],
    label: &str,
) -> Vec<Zeroizing<String>> {
    let mut tokens = Vec::with_capacity(names.len());
    for t in names {
        admin::create_tenant(storage, t).await.unwrap();
        tokens.push(admin::create_token(storage, t, label).await.unwrap());
    }
    tokens
}

/// Trains [`small_he_model`] on `train` and publishes it as `emotion`
/// (single packing).
pub async fn publish_demo_model(storage: &Storage, train: &FeatureTable) -> NnModel {
    let model = small_he_model(train);
    admin::publish_model(
        storage,
        "emotion",
        &model.to_bytes().unwrap(),
        Packing::Single,
    )
    .await
    .unwrap();
    model
}

/// A neutral/angry federation over SMH k = 3, Δ = 2, 32 measurements per
/// coordinate, 88 features, with the key seeded by `seed` (a test helper:
/// real keys use OS entropy).
pub fn demo_federation(name: &str, seed: u64) -> (SmhKey, Federation) {
    let key = SmhKey::generate_with_seed(SmhParams::new(3, 2.0, 32, 88).unwrap(), seed);
    let fed = Federation {
        name: name.into(),
        k: 3,
        delta: 2.0,
        mpc: 32,
        dim: 88,
        key_id: key.key_id().to_hex(),
        classes: vec!["neutral".into(), "angry".into()],
        c: 4.0,
        gamma: 2.0,
    };
    (key, fed)
}

/// Creates [`demo_federation`] with these members.
pub async fn create_demo_federation(
    storage: &Storage,
    name: &str,
    seed: u64,
    members: &[&str],
) -> (SmhKey, Federation) {
    let (key, fed) = demo_federation(name, seed);
    let members: Vec<String> = members.iter().map(|m| m.to_string()).collect();
    admin::create_federation(storage, &fed, &members)
        .await
        .unwrap();
    (key, fed)
}

/// A small HE-aware p2 network trained on `table` (as the cryptonet demo test does).
pub fn small_he_model(table: &FeatureTable) -> NnModel {
    let data = table.to_dataset(&ClassSet::neutral_angry()).unwrap();
    let p2 = Activation::Poly(PolyActivation::preset("p2").unwrap());
    let cfg = TrainConfig {
        max_epochs: 30,
        patience: 0,
        batch_size: 8,
        ..TrainConfig::default()
    };
    train_model_with(
        &data,
        &NetworkSpec::he_aware(p2),
        &cfg,
        &EpochSelection::Holdout {
            val_folds: 4,
            class_aware: false,
        },
        "service test".into(),
    )
    .unwrap()
}

/// Writes a self-signed certificate for localhost/127.0.0.1 into `dir`
/// (generated now: no private key is committed). Returns (cert, key).
pub fn test_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = privox_service::tls::self_signed_pem(&["localhost", "127.0.0.1"]).unwrap();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert).unwrap();
    std::fs::write(&k, key.as_bytes()).unwrap();
    (c, k)
}

/// Starts a TLS server on a free loopback port.
pub async fn start_tls(
    data_dir: &Path,
    database: Option<String>,
    cert: &Path,
    key: &Path,
) -> Running {
    let mut cfg = ServerConfig::new(
        data_dir.to_path_buf(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Transport::Tls {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        },
    );
    cfg.database_url = database;
    privox_service::server::start(cfg).await.unwrap()
}

/// A client of `addr` trusting `cert`.
pub fn client(addr: SocketAddr, cert: &Path, token: &str) -> ApiClient {
    ApiClient::new(&ClientConfig {
        server: format!("https://127.0.0.1:{}", addr.port()),
        token: Zeroizing::new(token.to_string()),
        ca_pem: Some(std::fs::read(cert).unwrap()),
    })
    .unwrap()
}

/// The PostgreSQL server of `.ci/postgres.sh`, if any. Prints why a suite
/// is skipped; panics instead when PRIVOX_REQUIRE_POSTGRES=1.
pub fn postgres_url(suite: &str) -> Option<String> {
    match std::env::var("PRIVOX_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("PRIVOX_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!(
                    "{suite}: PRIVOX_REQUIRE_POSTGRES=1 but PRIVOX_TEST_POSTGRES_URL is not set"
                );
            }
            eprintln!(
                "SKIP {suite}: PRIVOX_TEST_POSTGRES_URL is not set (source .ci/postgres.sh and run pg_start to test on PostgreSQL)"
            );
            None
        }
    }
}

/// A fresh, empty database on that server; returns its URL.
pub async fn fresh_database(base: &str) -> String {
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .expect("PRIVOX_TEST_POSTGRES_URL must be reachable");
    tokio::spawn(conn);
    let name = format!(
        "privox_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    with_dbname(base, &name)
}

/// Replaces the database name of a `postgres://…/db?…` URL.
pub fn with_dbname(url: &str, db: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let after_scheme = head.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match head[after_scheme..].find('/') {
        Some(i) => &head[..after_scheme + i],
        None => head,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}
