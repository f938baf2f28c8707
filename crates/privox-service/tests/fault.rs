//! Acceptance 4 (fault test): four retrying clients make 1,000 SJL
//! contributions while the server process is killed with SIGKILL at random
//! moments and restarted (at least 5 times). Afterwards every acknowledged
//! contribution is stored exactly once, and the model trained afterwards
//! equals the one trained from the clients' own logs.
//!
//! Bounded (loopback only, stops by itself, hard limit 10 minutes; about
//! 10 s on SQLite and on PostgreSQL):
//!   cargo test -p privox-service --test fault -- --nocapture
//! (PostgreSQL too when PRIVOX_TEST_POSTGRES_URL is set, see .ci/postgres.sh).
//!
//! The server runs in a child process: this test binary re-executes itself
//! with PRIVOX_FAULT_CHILD set, so `kill -9` hits a real process.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use privox_data::MinMaxScaler;
use privox_service::joint;
use privox_service::storage::Storage;
use privox_smh::CodeTable;
use rand::{Rng, SeedableRng};

const CLIENTS: usize = 4;
const CONTRIBUTIONS: usize = 1000;
const MIN_KILLS: usize = 5;

/// The child: serves until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper process of fault_test_*; does nothing unless PRIVOX_FAULT_CHILD is set"]
async fn fault_child_server() {
    let Ok(dir) = std::env::var("PRIVOX_FAULT_CHILD") else {
        return;
    };
    let addr: SocketAddr = std::env::var("PRIVOX_FAULT_ADDR").unwrap().parse().unwrap();
    let db = std::env::var("PRIVOX_FAULT_DB")
        .ok()
        .filter(|s| !s.is_empty());
    let dir = Path::new(&dir);
    // Exit when the parent goes away (its end of our stdin closes), so a
    // failed parent never leaves a server behind.
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        std::process::exit(0);
    });
    let mut cfg = privox_service::server::ServerConfig::new(
        dir.to_path_buf(),
        addr,
        privox_service::server::Transport::Tls {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        },
    );
    cfg.database_url = db;
    let running = privox_service::server::start(cfg).await.unwrap();
    eprintln!("child server on {}", running.addr);
    running.wait().await.unwrap();
}

fn spawn_child(dir: &Path, addr: SocketAddr, db: Option<&str>) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["fault_child_server", "--exact", "--ignored", "--nocapture"])
        .env("PRIVOX_FAULT_CHILD", dir)
        .env("PRIVOX_FAULT_ADDR", addr.to_string())
        .env("PRIVOX_FAULT_DB", db.unwrap_or(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn free_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

async fn fault_run(database: Option<String>) {
    let t0 = Instant::now();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let (cert, _key) = test_cert(dir);
    let storage = Storage::open(dir, database.as_deref()).await.unwrap();
    let owned: Vec<String> = (0..CLIENTS).map(|i| format!("party{i}")).collect();
    let names: Vec<&str> = owned.iter().map(String::as_str).collect();
    let tokens = tenants_with_tokens(&storage, &names, "fault").await;
    let (smh_key, fed) = create_demo_federation(&storage, "faulty", 77, &names).await;
    drop(storage);

    let train = select(demo_features(), |s| !HELD_OUT.contains(&s));
    let scaler = MinMaxScaler::fit(&train.x).unwrap();
    let all =
        privox_service::client::hash_rows(&smh_key, &scaler, &train.x, Some(train.labels.clone()))
            .unwrap();
    let n_rows = all.codes.len();
    // Contribution i: rows i and i+1 (mod n).
    let body = |i: usize| -> CodeTable {
        let idx = [i % n_rows, (i + 1) % n_rows];
        CodeTable::new(
            all.codes.select(&idx).unwrap(),
            vec![],
            vec![],
            idx.iter().map(|&j| all.labels[j].clone()).collect(),
        )
        .unwrap()
    };

    let addr = free_port();
    let child = Arc::new(std::sync::Mutex::new(spawn_child(
        dir,
        addr,
        database.as_deref(),
    )));
    let done = Arc::new(AtomicBool::new(false));
    let retries = Arc::new(AtomicUsize::new(0));
    let acked_so_far = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(600);

    // Clients: each owns a quarter of the contributions and retries each
    // until acknowledged; the acknowledged ones form its log.
    let mut handles = Vec::new();
    for (c, token) in tokens.iter().enumerate() {
        let api = client(addr, &cert, token);
        let retries = retries.clone();
        let acked_so_far = acked_so_far.clone();
        let bodies: Vec<(String, CodeTable)> = (0..CONTRIBUTIONS)
            .filter(|i| i % CLIENTS == c)
            .map(|i| (format!("c{c}-{i:04}"), body(i)))
            .collect();
        handles.push(tokio::spawn(async move {
            let mut log = Vec::new();
            for (id, table) in bodies {
                loop {
                    assert!(
                        Instant::now() < deadline,
                        "fault test exceeded its time limit"
                    );
                    match api.contribute("faulty", &id, &table).await {
                        Ok(ack) => {
                            log.push((id.clone(), ack.id, table.clone()));
                            acked_so_far.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Err(privox_service::ServiceError::Remote { status, code, .. })
                            if status < 500 =>
                        {
                            panic!("contribution {id} refused: {status} {code}");
                        }
                        Err(_) => {
                            retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }
            log
        }));
    }

    // The killer: SIGKILL at random moments (after a random 40-120 further
    // acknowledgements, plus a random delay, so at least 6 kills happen
    // whatever the machine's speed), restart, until the clients finish.
    let killer = {
        let child = child.clone();
        let done = done.clone();
        let acked_so_far = acked_so_far.clone();
        let dir = dir.to_path_buf();
        let db = database.clone();
        tokio::spawn(async move {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
            let mut kills = 0usize;
            let mut next = rng.random_range(40..120);
            while !done.load(Ordering::Relaxed) {
                if acked_so_far.load(Ordering::Relaxed) < next {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    continue;
                }
                tokio::time::sleep(Duration::from_millis(rng.random_range(0..40))).await;
                {
                    let mut ch = child.lock().unwrap();
                    ch.kill().unwrap(); // SIGKILL on Unix
                    ch.wait().unwrap();
                    kills += 1;
                }
                tokio::time::sleep(Duration::from_millis(rng.random_range(10..150))).await;
                *child.lock().unwrap() = spawn_child(&dir, addr, db.as_deref());
                next = acked_so_far.load(Ordering::Relaxed) + rng.random_range(40..120);
            }
            kills
        })
    };
    let mut logs = Vec::new();
    for h in handles {
        logs.push(h.await.unwrap());
    }
    done.store(true, Ordering::Relaxed);
    let kills = killer.await.unwrap();
    let t_clients = t0.elapsed();

    // Wait for the final child to be up, then train through it.
    let api = client(addr, &cert, &tokens[0]);
    let mut up = false;
    for _ in 0..200 {
        if api.health().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "server restarts");
    let version = api.train("faulty").await.unwrap();
    {
        let mut ch = child.lock().unwrap();
        let _ = ch.kill();
        let _ = ch.wait();
    }

    // Every acknowledged contribution is stored exactly once.
    let storage = Storage::open(dir, database.as_deref()).await.unwrap();
    let stored = storage.contributions("faulty").await.unwrap();
    let acked: usize = logs.iter().map(|l| l.len()).sum();
    assert_eq!(acked, CONTRIBUTIONS);
    assert_eq!(stored.len(), CONTRIBUTIONS, "stored exactly once");
    let mut ids: Vec<i64> = stored.iter().map(|s| s.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), CONTRIBUTIONS);
    for (c, log) in logs.iter().enumerate() {
        for (idem, id, table) in log {
            let s: Vec<_> = stored
                .iter()
                .filter(|s| s.tenant == names[c] && &s.idem_key == idem)
                .collect();
            assert_eq!(s.len(), 1, "{idem} present once");
            assert_eq!(s[0].id, *id, "{idem}: acknowledged id");
            assert_eq!(s[0].bytes, table.to_bytes(), "{idem}: same body");
        }
    }
    assert_eq!(version.contribution_ids.len(), CONTRIBUTIONS);

    // The model trained afterwards = the model of the clients' own logs.
    let mut entries: Vec<(String, String, CodeTable)> = logs
        .iter()
        .enumerate()
        .flat_map(|(c, l)| {
            let name = names[c].to_string();
            l.iter()
                .map(move |(idem, _, t)| (name.clone(), idem.clone(), t.clone()))
        })
        .collect();
    entries.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let tables: Vec<CodeTable> = entries.into_iter().map(|e| e.2).collect();
    let local = joint::train(&fed, &tables).unwrap();
    assert_eq!(local.fingerprint().to_hex(), version.fingerprint);
    assert!(
        kills >= MIN_KILLS,
        "only {kills} kills: the clients finished too fast"
    );
    eprintln!(
        "fault test on {}: {CONTRIBUTIONS} contributions by {CLIENTS} clients in {:.1} s, {kills} kill -9 + restarts, {} retried requests; all {acked} acknowledged contributions stored exactly once; model after = model of the clients' logs ({})",
        storage.backend(),
        t_clients.as_secs_f64(),
        retries.load(Ordering::Relaxed),
        version.fingerprint
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fault_test_sqlite() {
    fault_run(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fault_test_postgres() {
    let Some(base) = postgres_url("fault_test_postgres") else {
        return;
    };
    let url = fresh_database(&base).await;
    fault_run(Some(url)).await;
}
