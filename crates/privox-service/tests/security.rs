//! Acceptance 3 (security), the request-body audit of a full session, the
//! OpenAPI drift check, and acceptance 6 (two servers, one PostgreSQL).

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use common::*;
use privox_cryptonet::wire::eval_keys_to_bytes;
use privox_cryptonet::{Client as HeClient, Packing};
use privox_data::{FeatureTable, MinMaxScaler};
use privox_service::ServiceError;
use privox_service::admin;
use privox_service::client::{ApiClient, ClientConfig, HeSession, hash_rows};
use privox_service::server::{Limits, ServerConfig, Transport};
use privox_service::storage::Storage;
use privox_smh::{SmhKey, SmhParams};
use zeroize::Zeroizing;

struct Fixture {
    _dir: tempfile::TempDir,
    dir: std::path::PathBuf,
    cert: std::path::PathBuf,
    server: privox_service::server::Running,
    storage: Storage,
    tokens: Vec<Zeroizing<String>>,
    smh_key: SmhKey,
    scaler: MinMaxScaler,
    he_model: privox_nn::NnModel,
    train: FeatureTable,
    held: FeatureTable,
}

/// A TLS server with small body limits, tenants a (member) and b (not a
/// member of `calls`), the demo HE model `emotion`.
async fn fixture(database: Option<String>) -> Fixture {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_path_buf();
    let (cert, key) = test_cert(&dir);
    let mut cfg = ServerConfig::new(
        dir.clone(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Transport::Tls {
            cert: cert.clone(),
            key,
        },
    );
    cfg.database_url = database.clone();
    cfg.limits = Limits {
        small: 16 << 10,
        he_query: 4 << 20,
        he_batch: 8 << 20,
        eval_keys: 64 << 20,
        codes: 256 << 10,
    };
    let server = privox_service::server::start(cfg).await.unwrap();
    let storage = Storage::open(&dir, database.as_deref()).await.unwrap();
    let tokens = tenants_with_tokens(&storage, &["a", "b"], "").await;
    let (train, held) = demo_split();
    let he_model = publish_demo_model(&storage, &train).await;
    let (smh_key, _) = create_demo_federation(&storage, "calls", 5, &["a"]).await;
    let scaler = MinMaxScaler::fit(&train.x).unwrap();
    Fixture {
        _dir: d,
        dir,
        cert,
        server,
        storage,
        tokens,
        smh_key,
        scaler,
        he_model,
        train,
        held,
    }
}

fn code_of(e: &ServiceError) -> (u16, String) {
    match e {
        ServiceError::Remote { status, code, .. } => (*status, code.clone()),
        other => panic!("expected a problem response, got {other}"),
    }
}

async fn raw_status(
    addr: SocketAddr,
    cert: &std::path::Path,
    method: reqwest::Method,
    path: &str,
    auth: Option<&str>,
    body: Vec<u8>,
) -> (u16, String, String) {
    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(cert).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let mut rb = http
        .request(method, format!("https://127.0.0.1:{}{path}", addr.port()))
        .body(body);
    if let Some(a) = auth {
        rb = rb.header("authorization", a);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap_or_default())
}

async fn security_suite(database: Option<String>) {
    let fx = fixture(database).await;
    let a = client(fx.server.addr, &fx.cert, &fx.tokens[0]);
    let b = client(fx.server.addr, &fx.cert, &fx.tokens[1]);
    let addr = fx.server.addr;

    // No token, a wrong token, a malformed header → 401 problem+json.
    for auth in [
        None,
        Some("Bearer pvx_0000000000000000000000000000000000000000000000000000000000000000"),
        Some("Basic YTpi"),
    ] {
        let (s, ct, body) = raw_status(
            addr,
            &fx.cert,
            reqwest::Method::GET,
            "/v1/models",
            auth,
            vec![],
        )
        .await;
        assert_eq!(s, 401, "{auth:?}");
        assert_eq!(ct, "application/problem+json");
        assert!(body.contains("\"code\":\"unauthorized\""), "{body}");
    }

    // Contributions and a model for a.
    let codes = hash_rows(
        &fx.smh_key,
        &fx.scaler,
        &fx.train.x,
        Some(fx.train.labels.clone()),
    )
    .unwrap();
    a.contribute("calls", "first", &codes).await.unwrap();
    a.train("calls").await.unwrap();

    // Another tenant's federation → 404 (existence not disclosed), for every verb.
    for e in [
        b.stats("calls").await.unwrap_err(),
        b.train("calls").await.unwrap_err(),
        b.contribute("calls", "x", &codes).await.unwrap_err(),
        b.classify_codes("calls", &codes).await.unwrap_err(),
        b.versions("calls").await.unwrap_err(),
    ] {
        assert_eq!(code_of(&e), (404, "not-found".into()));
    }
    // Another tenant's evaluation keys → 404.
    let session = HeSession::create(&a, "emotion", None).await.unwrap();
    let raw: Vec<Vec<f64>> = vec![fx.held.x.row(0).to_vec()];
    let scaled = session.client.scale(&raw).unwrap();
    let q = session.client.encrypt(&session.secret, &scaled).unwrap();
    let q_bytes = q.to_bytes(session.client.plan()).unwrap();
    let e = b
        .infer("emotion", &session.keys_fingerprint, q_bytes.clone())
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (404, "not-found".into()));
    // Unknown model → 404.
    let e = a.model("nope").await.unwrap_err();
    assert_eq!(code_of(&e), (404, "not-found".into()));

    // Oversized bodies → 413 (codes limit 256 KiB here, query 4 MiB).
    let e = a
        .contribute_raw("calls", "big", vec![0u8; 1 << 20])
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (413, "body-too-large".into()));
    let e = a
        .infer("emotion", &session.keys_fingerprint, vec![0u8; 5 << 20])
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (413, "body-too-large".into()));

    // Malformed or bit-flipped ciphertexts, keys and codes → 400, typed.
    let mut flipped = q_bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x10;
    let mut bad_magic = q_bytes.clone();
    bad_magic[0] ^= 1;
    for body in [
        flipped,
        bad_magic,
        q_bytes[..q_bytes.len() / 3].to_vec(),
        vec![],
        b"not an envelope".to_vec(),
    ] {
        let e = a
            .infer("emotion", &session.keys_fingerprint, body)
            .await
            .unwrap_err();
        assert_eq!(code_of(&e), (400, "malformed-body".into()), "{e}");
    }
    let good = codes.to_bytes();
    let mut flipped_codes = good.clone();
    let m = flipped_codes.len() / 2;
    flipped_codes[m] ^= 0x01;
    for body in [
        flipped_codes,
        good[..good.len() - 9].to_vec(),
        vec![0xff; 64],
    ] {
        let e = a
            .contribute_raw("calls", "bad", body.clone())
            .await
            .unwrap_err();
        assert_eq!(code_of(&e), (400, "malformed-body".into()), "{e}");
        let e = a.classify_raw("calls", body).await.unwrap_err();
        assert_eq!(code_of(&e), (400, "malformed-body".into()), "{e}");
    }
    // Keys: bit-flipped, and keys of another plan (the same model, batch packing).
    let other = HeClient::new(fx.he_model.clone(), Packing::Batch).unwrap();
    let (_sk, evk) = other.keygen().unwrap();
    let other_bytes = eval_keys_to_bytes(other.plan(), &evk).unwrap();
    let e = a
        .upload_keys("emotion", other_bytes.clone(), None)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (400, "wrong-plan".into()), "{e}");
    // The refusal names the model's plan and the plan the keys were made for.
    let expected = HeClient::new(fx.he_model.clone(), Packing::Single)
        .unwrap()
        .plan()
        .fingerprint()
        .to_hex();
    let found = other.plan().fingerprint().to_hex();
    assert!(
        e.to_string().contains(&expected) && e.to_string().contains(&found),
        "{e}"
    );
    let mut fk = other_bytes;
    let l = fk.len();
    fk[l / 2] ^= 0x40;
    let e = a.upload_keys("emotion", fk, None).await.unwrap_err();
    let (s, c) = code_of(&e);
    assert_eq!(s, 400);
    assert!(c == "malformed-body" || c == "wrong-plan", "{c}");

    // Codes of another SMH key, or other parameters → wrong-code-space,
    // naming the federation's code space and the one the codes were made in.
    let expected = codes.codes.space().fingerprint().to_hex();
    for (idem, params, seed) in [
        ("foreign", SmhParams::new(3, 2.0, 32, 88).unwrap(), 6),
        ("foreign2", SmhParams::new(2, 2.0, 16, 88).unwrap(), 5),
    ] {
        let other_key = SmhKey::generate_with_seed(params, seed);
        let foreign = hash_rows(
            &other_key,
            &fx.scaler,
            &fx.train.x,
            Some(fx.train.labels.clone()),
        )
        .unwrap();
        let found = foreign.codes.space().fingerprint().to_hex();
        let e = a.contribute("calls", idem, &foreign).await.unwrap_err();
        assert_eq!(code_of(&e), (400, "wrong-code-space".into()));
        assert!(
            e.to_string().contains(&expected) && e.to_string().contains(&found),
            "{e}"
        );
        let e = a.classify_codes("calls", &foreign).await.unwrap_err();
        assert_eq!(code_of(&e), (400, "wrong-code-space".into()));
    }
    // Unknown labels and reused idempotency ids.
    let mut wrong_labels = codes.clone();
    wrong_labels.labels[0] = "'; DROP TABLE contributions;--".into();
    let e = a
        .contribute("calls", "labels", &wrong_labels)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (400, "bad-request".into()));
    let mut other_body = codes.clone();
    let j = (1..codes.labels.len())
        .find(|&j| codes.labels[j] != codes.labels[0])
        .expect("both classes present");
    other_body.labels.swap(0, j);
    let e = a
        .contribute("calls", "first", &other_body)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (409, "conflict".into()));

    // Hostile names in paths and headers.
    let long = "a".repeat(10_000);
    for name in [
        "..%2F..%2Fetc%2Fpasswd",
        "x%27%3B%20DROP%20TABLE%20tenants%3B--",
        long.as_str(),
        "%00",
        "calls%20OR%201%3D1",
    ] {
        let (s, ct, body) = raw_status(
            addr,
            &fx.cert,
            reqwest::Method::GET,
            &format!("/v1/federations/{name}/stats"),
            Some(&format!("Bearer {}", fx.tokens[0].as_str())),
            vec![],
        )
        .await;
        assert!(s == 400 || s == 404, "{name}: {s} {body}");
        assert_eq!(ct, "application/problem+json", "{name}");
    }
    for id in [
        "../../x",
        "a b",
        long.as_str(),
        "'; DROP TABLE contributions;--",
    ] {
        let e = a.contribute("calls", id, &codes).await.unwrap_err();
        assert_eq!(code_of(&e).0, 400, "{id}");
    }
    assert!(
        admin::create_tenant(&fx.storage, "x'; DROP TABLE tenants;--")
            .await
            .is_err()
    );
    assert!(admin::create_tenant(&fx.storage, &long).await.is_err());
    assert!(
        admin::create_tenant(&fx.storage, "../../etc")
            .await
            .is_err()
    );
    assert_eq!(
        fx.storage.tenants().await.unwrap().len(),
        2,
        "tables intact"
    );

    // The server stayed healthy, and a's data is intact.
    assert_eq!(a.health().await.unwrap().status, "ok");
    assert_eq!(a.stats("calls").await.unwrap().parties.len(), 1);
    let ok = session.classify(&a, &raw, false, None).await.unwrap();
    assert_eq!(
        ok.decisions(),
        fx.he_model
            .predict_raw(&privox_data::Matrix::new(1, 88, raw.concat()).unwrap())
            .unwrap()
    );

    // Metrics are public (no token) and answer.
    let (s, _, _) = raw_status(
        addr,
        &fx.cert,
        reqwest::Method::GET,
        "/metrics",
        None,
        vec![],
    )
    .await;
    assert_eq!(s, 200);

    if fx.storage.backend() == "sqlite" {
        // Tokens are stored only as hashes: neither the table nor the
        // database files contain any token.
        let conn = rusqlite::Connection::open(fx.dir.join("privox.sqlite3")).unwrap();
        let hashes: Vec<String> = conn
            .prepare("SELECT hash FROM tokens")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(hashes.len(), 2);
        for t in &fx.tokens {
            assert!(hashes.contains(&privox_service::auth::token_hash(t)));
            for f in ["privox.sqlite3", "privox.sqlite3-wal"] {
                if let Ok(bytes) = std::fs::read(fx.dir.join(f)) {
                    assert!(
                        !bytes.windows(t.len()).any(|w| w == t.as_bytes()),
                        "token found in {f}"
                    );
                    assert!(!bytes.windows(32).any(|w| w == &t.as_bytes()[4..36]));
                }
            }
        }
    }
    fx.server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_on_sqlite() {
    security_suite(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_on_postgres() {
    let Some(base) = postgres_url("security_on_postgres") else {
        return;
    };
    let url = fresh_database(&base).await;
    security_suite(Some(url.clone())).await;
    // Tokens are stored only as hashes in PostgreSQL too.
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let rows = c
        .query("SELECT hash, label FROM tokens", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        let h: String = r.get(0);
        assert_eq!(h.len(), 64);
        assert!(!h.starts_with("pvx_"));
    }
}

/// A loopback TCP relay that records every byte the client sends.
async fn recording_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<u8>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let log = log2.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut out = tokio::net::TcpStream::connect(upstream).await.unwrap();
                let (mut ri, mut wi) = inbound.split();
                let (mut ro, mut wo) = out.split();
                let up = async {
                    let mut buf = vec![0u8; 1 << 16];
                    loop {
                        let n = ri.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            let _ = wo.shutdown().await;
                            break;
                        }
                        log.lock().unwrap().extend_from_slice(&buf[..n]);
                        if wo.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                let down = async {
                    let _ = tokio::io::copy(&mut ro, &mut wi).await;
                };
                tokio::join!(up, down);
            });
        }
    });
    (addr, log)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// A full session (key upload, HE single and batch, contributions, training,
/// SMH classification, status) through a recording relay on plain loopback
/// HTTP: the request bytes contain no audio, no feature value, no SMH key
/// and no CKKS secret key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies_of_a_full_session_hold_no_secrets() {
    let d = tempfile::tempdir().unwrap();
    let cfg = ServerConfig::new(
        d.path().to_path_buf(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Transport::InsecureLoopbackHttp,
    );
    let server = privox_service::server::start(cfg).await.unwrap();
    let (proxy, log) = recording_proxy(server.addr).await;
    let storage = Storage::open(d.path(), None).await.unwrap();
    let token = tenants_with_tokens(&storage, &["a"], "").await.remove(0);
    let (train, held) = demo_split();
    publish_demo_model(&storage, &train).await;
    let (smh_key, _) = create_demo_federation(&storage, "calls", 9, &["a"]).await;
    let api = ApiClient::new(&ClientConfig {
        server: format!("http://127.0.0.1:{}", proxy.port()),
        token: token.clone(),
        ca_pem: None,
    })
    .unwrap();
    let scaler = MinMaxScaler::fit(&train.x).unwrap();
    let codes = hash_rows(&smh_key, &scaler, &train.x, Some(train.labels.clone())).unwrap();
    api.contribute("calls", "c1", &codes).await.unwrap();
    api.train("calls").await.unwrap();
    let held_codes = hash_rows(&smh_key, &scaler, &held.x, None).unwrap();
    api.classify_codes("calls", &held_codes).await.unwrap();
    api.stats("calls").await.unwrap();
    let session = HeSession::create(&api, "emotion", None).await.unwrap();
    let raw: Vec<Vec<f64>> = (0..2).map(|i| held.x.row(i).to_vec()).collect();
    session.classify(&api, &raw, false, None).await.unwrap();
    session.classify(&api, &raw, true, None).await.unwrap();
    let sent = log.lock().unwrap().clone();
    assert!(
        sent.len() > 1 << 20,
        "the session was recorded ({} bytes)",
        sent.len()
    );

    // Audio: windows of every held-out and training recording's samples.
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/demo");
    let mut checked = 0;
    for f in held.files.iter().chain(train.files.iter().take(10)) {
        let wav = std::fs::read(root.join(f)).unwrap();
        for start in [wav.len() / 4, wav.len() / 2, 3 * wav.len() / 4] {
            assert!(!contains(&sent, &wav[start..start + 24]), "audio of {f}");
            checked += 1;
        }
    }
    // Features, raw and scaled, as f64/f32 bytes and as decimal text.
    let scaled = scaler.transform(&held.x).unwrap();
    for m in [&held.x, &scaled, &train.x] {
        for i in 0..m.rows().min(8) {
            let row = m.row(i);
            for j in (0..row.len() - 1).step_by(11) {
                let mut b = row[j].to_le_bytes().to_vec();
                b.extend_from_slice(&row[j + 1].to_le_bytes());
                assert!(!contains(&sent, &b), "feature bytes");
                let fb: Vec<u8> = [row[j] as f32, row[j + 1] as f32]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect();
                assert!(!contains(&sent, &fb), "feature f32 bytes");
                let text = format!("{}", row[j]);
                if text.len() >= 8 {
                    assert!(!contains(&sent, text.as_bytes()), "feature text {text}");
                }
                checked += 3;
            }
        }
    }
    // The SMH key and the CKKS secret key: high-entropy windows of their
    // serializations (their headers describe public parameters, which
    // ciphertexts and code files carry too, so they are skipped).
    let smh_bytes = smh_key.to_bytes();
    let sk_bytes = Zeroizing::new(session.secret.to_bytes());
    let mut secret_probes = 0;
    for (what, secret) in [
        ("SMH key", &smh_bytes[..]),
        ("CKKS secret key", &sk_bytes[..]),
    ] {
        let step = (secret.len() / 64).max(1);
        for start in (secret.len() / 8..secret.len().saturating_sub(32)).step_by(step) {
            let w = &secret[start..start + 32];
            let mut distinct: Vec<u8> = w.to_vec();
            distinct.sort_unstable();
            distinct.dedup();
            if distinct.len() < 16 {
                continue;
            }
            assert!(!contains(&sent, w), "{what} bytes at {start}: {w:02x?}");
            secret_probes += 1;
        }
    }
    assert!(secret_probes >= 40, "{secret_probes} key probes");
    checked += secret_probes;
    eprintln!(
        "audited {} request bytes of a full session: {checked} audio/feature/key probes, none found",
        sent.len()
    );
    server.shutdown().await.unwrap();
}

/// The committed OpenAPI document equals the generated one (and the served one).
#[tokio::test]
async fn openapi_document_has_not_drifted() {
    let generated = privox_service::openapi::document_json();
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/api/openapi.json");
    if std::env::var("PRIVOX_UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("{generated}\n")).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        committed.trim_end(),
        generated.trim_end(),
        "docs/api/openapi.json differs from the code: run PRIVOX_UPDATE_OPENAPI=1 cargo test -p privox-service --test security openapi"
    );
    let v: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
    for p in [
        "/v1/health",
        "/v1/models",
        "/v1/models/{model}/keys",
        "/v1/models/{model}/infer",
        "/v1/models/{model}/infer-batch",
        "/v1/federations/{federation}/contributions",
        "/v1/federations/{federation}/train",
        "/v1/federations/{federation}/classify",
        "/v1/federations/{federation}/stats",
    ] {
        assert!(v["paths"][p].is_object(), "{p} documented");
    }
}

/// Acceptance 6: two servers share one PostgreSQL database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_postgres() {
    let Some(base) = postgres_url("two_servers_share_one_postgres") else {
        return;
    };
    let url = fresh_database(&base).await;
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let (cert, key) = test_cert(d1.path());
    let s1 = start_tls(d1.path(), Some(url.clone()), &cert, &key).await;
    let s2 = start_tls(d2.path(), Some(url.clone()), &cert, &key).await;
    let storage = Storage::open(d1.path(), Some(&url)).await.unwrap();
    let tokens = tenants_with_tokens(&storage, &["n1", "n2"], "").await;
    let (smh_key, _) = create_demo_federation(&storage, "shared", 21, &["n1", "n2"]).await;
    let c1 = client(s1.addr, &cert, &tokens[0]);
    let c2 = client(s2.addr, &cert, &tokens[1]);
    let (train, held) = demo_split();
    let scaler = MinMaxScaler::fit(&train.x).unwrap();
    let first = select(&train, |s| s < "12");
    let second = select(&train, |s| s >= "12");
    assert!(!first.is_empty() && !second.is_empty());
    let k1 = hash_rows(&smh_key, &scaler, &first.x, Some(first.labels.clone())).unwrap();
    let k2 = hash_rows(&smh_key, &scaler, &second.x, Some(second.labels.clone())).unwrap();
    // n1 contributes through server 1, n2 through server 2 (and retries through 1).
    c1.contribute("shared", "p1", &k1).await.unwrap();
    c2.contribute("shared", "p2", &k2).await.unwrap();
    let c2_via_1 = client(s1.addr, &cert, &tokens[1]);
    assert!(
        !c2_via_1
            .contribute("shared", "p2", &k2)
            .await
            .unwrap()
            .created
    );
    // Visible through the other server.
    let via2 = client(s2.addr, &cert, &tokens[0])
        .stats("shared")
        .await
        .unwrap();
    assert_eq!(via2.parties.len(), 2);
    assert_eq!(via2.codes as usize, train.len());
    // Training on either gives the same model.
    let v1 = c1.train("shared").await.unwrap();
    let v2 = c2.train("shared").await.unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(
        v1.fingerprint, v2.fingerprint,
        "same model from either server"
    );
    assert_eq!(v1.contribution_ids, v2.contribution_ids);
    // Both serve the newest version.
    let hc = hash_rows(&smh_key, &scaler, &held.x, None).unwrap();
    let r1 = c1.classify_codes("shared", &hc).await.unwrap();
    let r2 = c2.classify_codes("shared", &hc).await.unwrap();
    assert_eq!(r1.predictions, r2.predictions);
    s1.shutdown().await.unwrap();
    s2.shutdown().await.unwrap();
    eprintln!(
        "two servers, one PostgreSQL: {} contributions visible on both, model {} trained on either",
        via2.parties.len(),
        v1.fingerprint
    );
}
