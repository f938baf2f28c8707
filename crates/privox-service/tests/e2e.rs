//! Acceptance 1: the whole service over real loopback TCP with TLS, on
//! SQLite and (when `.ci/postgres.sh` provides one) PostgreSQL.
//!
//! The operator publishes a demo HE model and creates a federation of 3
//! tenants; each tenant hashes a disjoint third of the demo speakers with
//! the shared SMH key and contributes; the joint model is trained; held-out
//! speakers are classified through SMH and HE. Decisions must equal the
//! local ones: `privox svm predict` (the same joint model trained locally
//! from the contributions, in the canonical order) and `privox he eval`
//! (the plaintext network and the local encrypted round trip).

mod common;

use common::*;
use privox_cryptonet::{Packing, RoundTripOptions, round_trip};
use privox_data::MinMaxScaler;
use privox_service::client::{HeSession, hash_rows};
use privox_service::joint;
use privox_service::storage::Storage;

async fn end_to_end(database: Option<String>) {
    let t0 = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = test_cert(dir.path());
    let (train_rows, held_out) = demo_split();
    assert!(held_out.len() >= 4, "held-out speakers have recordings");

    let server = start_tls(dir.path(), database.clone(), &cert, &key).await;
    let storage = Storage::open(dir.path(), database.as_deref())
        .await
        .unwrap();

    // Operator: tenants, tokens, the HE model, the federation.
    let tenants = ["north", "south", "west"];
    let tokens = tenants_with_tokens(&storage, &tenants, "e2e").await;
    let he_model = publish_demo_model(&storage, &train_rows).await;
    // The members' shared SMH key (seeded: a test helper; real keys use OS entropy).
    let (smh_key, fed) = create_demo_federation(&storage, "calls", 11, &tenants).await;
    let clients: Vec<_> = tokens
        .iter()
        .map(|t| client(server.addr, &cert, t))
        .collect();
    assert_eq!(clients[0].health().await.unwrap().status, "ok");
    assert_eq!(clients[0].ready().await.unwrap().status, "ok");

    // The members' agreed scaling (shared with the key, never sent).
    let scaler = MinMaxScaler::fit(&train_rows.x).unwrap();

    // Each tenant hashes a disjoint third of the training speakers.
    let mut speakers: Vec<String> = train_rows.speakers.clone();
    speakers.sort();
    speakers.dedup();
    assert!(speakers.len() >= 3);
    let mut local_log = Vec::new(); // (tenant, idempotency id, codes)
    for (i, api) in clients.iter().enumerate() {
        let mine: Vec<String> = speakers.iter().skip(i).step_by(3).cloned().collect();
        let rows = select(&train_rows, |s| mine.iter().any(|m| m == s));
        let codes = hash_rows(&smh_key, &scaler, &rows.x, Some(rows.labels.clone())).unwrap();
        let id = format!("{}-batch-1", tenants[i]);
        let ack = api.contribute("calls", &id, &codes).await.unwrap();
        assert!(ack.created);
        assert_eq!(ack.codes as usize, rows.len());
        // A retry with the same id is stored once.
        let again = api.contribute("calls", &id, &codes).await.unwrap();
        assert!(!again.created);
        assert_eq!(again.id, ack.id);
        local_log.push((tenants[i].to_string(), id, codes));
    }
    let stats = clients[1].stats("calls").await.unwrap();
    assert_eq!(stats.parties.len(), 3);
    assert_eq!(stats.codes as usize, train_rows.len());

    // Joint training on request.
    let v = clients[2].train("calls").await.unwrap();
    assert_eq!(v.version, 1);
    assert_eq!(v.contribution_ids.len(), 3);
    assert_eq!(v.codes as usize, train_rows.len());

    // The same model trained locally from the contributions' own logs.
    local_log.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let tables: Vec<_> = local_log.iter().map(|(_, _, c)| c.clone()).collect();
    let local = joint::train(&fed, &tables).unwrap();
    assert_eq!(
        local.fingerprint().to_hex(),
        v.fingerprint,
        "server model = local model"
    );

    // Held-out speakers through SMH: server decisions = local `svm predict`.
    let held_codes = hash_rows(&smh_key, &scaler, &held_out.x, None).unwrap();
    let remote = clients[0]
        .classify_codes("calls", &held_codes)
        .await
        .unwrap();
    let local_preds = local.predict_codes(&held_codes.codes).unwrap();
    assert_eq!(remote.version, 1);
    assert_eq!(remote.predictions.len(), held_out.len());
    for (r, l) in remote.predictions.iter().zip(&local_preds) {
        assert_eq!(r.class as usize, l.class);
        assert_eq!(r.label, fed.classes[l.class]);
        for (a, b) in r.decision.iter().zip(&l.decision) {
            assert!((a - b).abs() < 1e-9, "decision values {a} vs {b}");
        }
    }

    // Held-out speakers through HE (a few queries keep the test fast).
    let n_he = 3.min(held_out.len());
    let raw: Vec<Vec<f64>> = (0..n_he).map(|i| held_out.x.row(i).to_vec()).collect();
    let session = HeSession::create(&clients[1], "emotion", None)
        .await
        .unwrap();
    // Uploading the same keys again is idempotent.
    let scores = session
        .classify(&clients[1], &raw, false, None)
        .await
        .unwrap();
    let batch_scores = session
        .classify(&clients[1], &raw, true, None)
        .await
        .unwrap();
    let plain = he_model
        .predict_raw(&privox_data::Matrix::new(n_he, 88, raw.concat()).unwrap())
        .unwrap();
    assert_eq!(scores.decisions(), plain, "HE single = plaintext network");
    assert_eq!(
        batch_scores.decisions(),
        plain,
        "HE batch request = plaintext network"
    );
    // `privox he eval`'s local round trip gives the same decisions.
    let scaled = session.client.scale(&raw).unwrap();
    let rt = round_trip(
        &he_model,
        &scaled,
        &RoundTripOptions {
            packing: Packing::Single,
            insecure_seed: Some(3),
            ..Default::default()
        },
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(rt.decisions, scores.decisions(), "server = local he eval");

    // The catalogue shows the plan and the federation's code space.
    let cat = clients[0].catalogue().await.unwrap();
    assert_eq!(cat.models.len(), 1);
    assert_eq!(cat.models[0].rotations, session.client.plan().rotations);
    assert_eq!(
        cat.federations[0].smh.code_space_fingerprint,
        joint::code_space(&fed).unwrap().fingerprint().to_hex()
    );
    let metrics = clients[0].metrics().await.unwrap();
    assert!(metrics.contains("privox_http_requests_total"));
    assert!(metrics.contains("privox_he_jobs_in_flight"));

    server.shutdown().await.unwrap();
    eprintln!(
        "end to end on {}: {} training codes from 3 tenants, {} held-out SMH decisions and {n_he} HE decisions equal, {:.1} s",
        storage.backend(),
        train_rows.len(),
        held_out.len(),
        t0.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_over_tls_on_sqlite() {
    end_to_end(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_over_tls_on_postgres() {
    let Some(base) = postgres_url("end_to_end_over_tls_on_postgres") else {
        return;
    };
    let url = fresh_database(&base).await;
    end_to_end(Some(url)).await;
}
