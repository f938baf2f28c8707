//! Back-pressure (503 + Retry-After when the HE pool is full) and graceful
//! shutdown (in-flight requests finish) over loopback TLS.

mod common;

use std::net::SocketAddr;

use common::*;
use privox_service::client::HeSession;
use privox_service::server::{ServerConfig, Transport};
use privox_service::storage::Storage;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn full_he_pool_answers_503_and_shutdown_finishes_in_flight_requests() {
    let d = tempfile::tempdir().unwrap();
    let (cert, key) = test_cert(d.path());
    let mut cfg = ServerConfig::new(
        d.path().to_path_buf(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Transport::Tls {
            cert: cert.clone(),
            key,
        },
    );
    cfg.he_concurrency = 1;
    let server = privox_service::server::start(cfg).await.unwrap();
    let storage = Storage::open(d.path(), None).await.unwrap();
    let token = tenants_with_tokens(&storage, &["a"], "").await.remove(0);
    let (train, _) = demo_split();
    publish_demo_model(&storage, &train).await;
    let api = client(server.addr, &cert, &token);
    let session = HeSession::create(&api, "emotion", None).await.unwrap();
    let scaled = session.client.scale(&[train.x.row(0).to_vec()]).unwrap();
    let q = session
        .client
        .encrypt(&session.secret, &scaled)
        .unwrap()
        .to_bytes(session.client.plan())
        .unwrap();

    // Concurrent queries against a pool of 1: some are refused with 503.
    let (mut ok, mut busy) = (0, 0);
    for _round in 0..5 {
        let mut hs = Vec::new();
        for _ in 0..8 {
            let (api, q, fp) = (api.clone(), q.clone(), session.keys_fingerprint.clone());
            hs.push(tokio::spawn(
                async move { api.infer("emotion", &fp, q).await },
            ));
        }
        for h in hs {
            match h.await.unwrap() {
                Ok(_) => ok += 1,
                Err(privox_service::ServiceError::Remote {
                    status: 503, code, ..
                }) => {
                    assert_eq!(code, "busy");
                    busy += 1;
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        if busy > 0 {
            break;
        }
    }
    assert!(ok > 0 && busy > 0, "ok {ok}, busy {busy}");
    // The 503 carries Retry-After (raw request).
    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let mut saw_retry_after = false;
    for _ in 0..5 {
        let url = format!(
            "https://127.0.0.1:{}/v1/models/emotion/infer?keys={}",
            server.addr.port(),
            session.keys_fingerprint
        );
        let reqs: Vec<_> = (0..8)
            .map(|_| {
                http.post(&url)
                    .bearer_auth(token.as_str())
                    .body(q.clone())
                    .send()
            })
            .collect();
        for r in futures_util::future::join_all(reqs).await {
            let r = r.unwrap();
            if r.status() == 503 {
                assert_eq!(r.headers()["retry-after"], "1");
                assert_eq!(r.headers()["content-type"], "application/problem+json");
                saw_retry_after = true;
            }
        }
        if saw_retry_after {
            break;
        }
    }
    assert!(saw_retry_after);
    let metrics = api.metrics().await.unwrap();
    assert!(metrics.contains("privox_he_rejected_total"));

    // Graceful shutdown: a batch in flight when shutdown begins completes.
    let raw: Vec<Vec<f64>> = (0..24)
        .map(|i| train.x.row(i % train.len()).to_vec())
        .collect();
    let scaled = session.client.scale(&raw).unwrap();
    let plan = session.client.plan().clone();
    let queries = session
        .client
        .encrypt_all(&session.secret, &scaled)
        .unwrap();
    let bundle = privox_cryptonet::wire::queries_to_bytes(&plan, &queries).unwrap();
    let in_flight = {
        let (api, fp) = (api.clone(), session.keys_fingerprint.clone());
        tokio::spawn(async move { api.infer_batch("emotion", &fp, bundle).await })
    };
    let mut started = false;
    for _ in 0..400 {
        if api
            .metrics()
            .await
            .unwrap()
            .contains("privox_he_jobs_in_flight 1")
        {
            started = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(started, "the batch reached the HE pool");
    server.shutdown().await.unwrap();
    let out = in_flight
        .await
        .unwrap()
        .expect("in-flight request finished");
    let responses = privox_cryptonet::wire::responses_from_bytes(&plan, &out).unwrap();
    let scores = session
        .client
        .decrypt_all(&session.secret, &responses)
        .unwrap();
    assert_eq!(scores.logits.len(), 24);
    // And the server is gone afterwards.
    assert!(api.health().await.is_err());
}
