//! Load bench of `privox serve` (bench/service/run.sh runs it):
//! a server child process on a loopback TLS port, then
//! 1. the HE single-query round trip, sequentially, against its compute
//!    parts (client encrypt, server evaluation measured in-process on the
//!    same query and keys, client decrypt);
//! 2. CLIENTS concurrent clients for SECONDS seconds of mixed requests
//!    (SMH classify, HE single query, catalogue): p50/p99 per endpoint,
//!    throughput, status counts (5xx other than the documented 503), and
//!    the server's peak RSS (VmHWM).
//!
//!   cargo run --release -p privox-service --example load -- [CLIENTS] [SECONDS] [TOTAL_RATE]
//!
//! Bounded: loopback only, stops by itself.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use privox_cryptonet::Packing;
use privox_data::MinMaxScaler;
use privox_service::client::{ApiClient, ClientConfig, HeSession, hash_rows};
use privox_service::storage::Storage;
use rand::{Rng, SeedableRng};
use zeroize::Zeroizing;

#[path = "../tests/common/mod.rs"]
mod common;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn serve_child(dir: &Path, addr: SocketAddr) -> Res<()> {
    // Exit when the parent goes away.
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        std::process::exit(0);
    });
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let cfg = privox_service::server::ServerConfig::new(
            dir.to_path_buf(),
            addr,
            privox_service::server::Transport::Tls {
                cert: dir.join("cert.pem"),
                key: dir.join("key.pem"),
            },
        );
        let running = privox_service::server::start(cfg).await?;
        running.wait().await?;
        Ok(())
    })
}

fn vm(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[derive(Default)]
struct Stats {
    lat: BTreeMap<&'static str, Vec<f64>>,
    status: BTreeMap<(&'static str, u16), u64>,
    errors: u64,
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        return serve_child(Path::new(&args[2]), args[3].parse()?);
    }
    let clients: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(64);
    let seconds: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(60);
    // Optional total offered rate (requests/s over all clients): each client
    // then sends on a fixed schedule instead of back to back (closed loop).
    let rate: Option<f64> = args.get(3).map(|s| s.parse()).transpose()?;

    let dir = tempfile::tempdir()?;
    let (cert, key) = privox_service::tls::self_signed_pem(&["localhost", "127.0.0.1"])?;
    std::fs::write(dir.path().join("cert.pem"), cert)?;
    std::fs::write(dir.path().join("key.pem"), key.as_bytes())?;
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Setup (operator + one tenant), before the server starts.
    eprintln!("setup: demo features, HE model, federation");
    // The service tests' demo setup (3 recordings per speaker and class, the
    // small p2 HE model, the k = 3, Δ = 2 federation), seeded 1.
    let table = common::demo_features();
    let (token, he_model, smh_key, scaler) = rt.block_on(async {
        let storage = Storage::open(dir.path(), None).await?;
        let token = common::tenants_with_tokens(&storage, &["bench"], "load")
            .await
            .remove(0);
        let model = common::publish_demo_model(&storage, table).await;
        let (smh_key, _) = common::create_demo_federation(&storage, "calls", 1, &["bench"]).await;
        let scaler = MinMaxScaler::fit(&table.x)?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((token, model, smh_key, scaler))
    })?;

    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "--serve",
            &dir.path().display().to_string(),
            &addr.to_string(),
        ])
        .stdin(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let api = ApiClient::new(&ClientConfig {
        server: format!("https://127.0.0.1:{}", addr.port()),
        token: Zeroizing::new(token.to_string()),
        ca_pem: Some(std::fs::read(dir.path().join("cert.pem"))?),
    })?;
    let report = rt.block_on(async {
        for _ in 0..200 {
            if api.health().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let codes = hash_rows(&smh_key, &scaler, &table.x, Some(table.labels.clone()))?;
        api.contribute("calls", "all", &codes).await?;
        api.train("calls").await?;
        let session = HeSession::create(&api, "emotion", None).await?;
        let plan = session.client.plan().clone();

        // 1. HE round trip vs its compute parts (sequential, no other load).
        // The server's compute part is timed in-process on the same query
        // bytes with a second key pair of the same plan: evaluation cost
        // does not depend on the key values (the result is not decrypted).
        let (_sk2, evk2) = session.client.keygen()?;
        let evk2 = privox_cryptonet::wire::eval_keys_to_bytes(&plan, &evk2)?;
        let local = privox_cryptonet::Server::new(&he_model, Packing::Single, &evk2)?;
        let n_rt = 20.min(table.len());
        let (mut t_enc, mut t_req, mut t_dec, mut t_eval) = (vec![], vec![], vec![], vec![]);
        let raw: Vec<Vec<f64>> = (0..n_rt).map(|i| table.x.row(i).to_vec()).collect();
        let scaled = session.client.scale(&raw)?;
        for row in &scaled {
            let t = Instant::now();
            let q = session.client.encrypt(&session.secret, std::slice::from_ref(row))?;
            let qb = q.to_bytes(&plan)?;
            t_enc.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let rb = api.infer("emotion", &session.keys_fingerprint, qb.clone()).await?;
            t_req.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let r = privox_cryptonet::Response::from_bytes(&plan, &rb)?;
            let _ = session.client.decrypt(&session.secret, &r)?;
            t_dec.push(t.elapsed().as_secs_f64() * 1e3);
            // Server compute part: parse + evaluate + serialize, in-process.
            let t = Instant::now();
            let _ = local.infer_bytes(&qb)?;
            t_eval.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let med = |v: &mut Vec<f64>| pct(v, 0.5);
        let (enc, req, dec, eval) = (med(&mut t_enc), med(&mut t_req), med(&mut t_dec), med(&mut t_eval));
        let round_trip = enc + req + dec;
        let compute = enc + eval + dec;

        // 2. Mixed load.
        let held_codes = hash_rows(&smh_key, &scaler, &table.x, None)?;
        let singles: Vec<privox_smh::CodeTable> = (0..held_codes.codes.len())
            .map(|i| {
                privox_smh::CodeTable::new(held_codes.codes.select(&[i]).unwrap(), vec![], vec![], vec![]).unwrap()
            })
            .collect();
        let queries: Vec<Vec<u8>> = scaled
            .iter()
            .take(8)
            .map(|row| {
                session
                    .client
                    .encrypt(&session.secret, std::slice::from_ref(row))
                    .and_then(|q| q.to_bytes(&plan))
            })
            .collect::<Result<_, _>>()?;
        let stats = Arc::new(Mutex::new(Stats::default()));
        let peak_rss = Arc::new(Mutex::new(0u64));
        let stop = Instant::now() + Duration::from_secs(seconds);
        let sampler = {
            let peak = peak_rss.clone();
            tokio::spawn(async move {
                while Instant::now() < stop {
                    if let Some(r) = vm(pid, "VmRSS:") {
                        let mut p = peak.lock().unwrap();
                        *p = (*p).max(r);
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        };
        let t_load = Instant::now();
        let mut handles = Vec::new();
        for c in 0..clients {
            let api = api.clone();
            let stats = stats.clone();
            let singles = singles.clone();
            let queries = queries.clone();
            let fp = session.keys_fingerprint.clone();
            handles.push(tokio::spawn(async move {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(c as u64);
                let mut local = Stats::default();
                let period = rate.map(|r| Duration::from_secs_f64(clients as f64 / r));
                let mut next = Instant::now()
                    + period
                        .map(|p| p.mul_f64(c as f64 / clients as f64))
                        .unwrap_or_default();
                while Instant::now() < stop {
                    if let Some(p) = period {
                        tokio::time::sleep_until(next.into()).await;
                        next += p;
                    }
                    let roll: f64 = rng.random();
                    let t = Instant::now();
                    let (name, res): (&'static str, Result<(), privox_service::ServiceError>) = if roll < 0.80 {
                        let s = &singles[rng.random_range(0..singles.len())];
                        ("smh_classify", api.classify_codes("calls", s).await.map(|_| ()))
                    } else if roll < 0.85 {
                        let q = queries[rng.random_range(0..queries.len())].clone();
                        ("he_single", api.infer("emotion", &fp, q).await.map(|_| ()))
                    } else {
                        ("catalogue", api.catalogue().await.map(|_| ()))
                    };
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    match res {
                        Ok(()) => {
                            local.lat.entry(name).or_default().push(ms);
                            *local.status.entry((name, 200)).or_default() += 1;
                        }
                        Err(privox_service::ServiceError::Remote { status, .. }) => {
                            *local.status.entry((name, status)).or_default() += 1;
                            if status == 503 {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                        }
                        Err(_) => local.errors += 1,
                    }
                }
                let mut s = stats.lock().unwrap();
                for (k, v) in local.lat {
                    s.lat.entry(k).or_default().extend(v);
                }
                for (k, v) in local.status {
                    *s.status.entry(k).or_default() += v;
                }
                s.errors += local.errors;
            }));
        }
        for h in handles {
            h.await?;
        }
        let elapsed = t_load.elapsed().as_secs_f64();
        sampler.await?;
        let hwm = vm(pid, "VmHWM:").unwrap_or(0);
        let mut s = Arc::try_unwrap(stats).map_err(|_| "stats still shared")?.into_inner()?;
        let mut out = String::new();
        out.push_str(&format!(
            "HE single-query round trip (median of {n_rt}, sequential): client encrypt {enc:.2} ms + request (upload + server + download) {req:.2} ms + decrypt {dec:.2} ms = {round_trip:.2} ms; compute parts: encrypt {enc:.2} + server evaluation {eval:.2} + decrypt {dec:.2} = {compute:.2} ms; ratio {:.3} (goal <= 1.3)\n",
            round_trip / compute
        ));
        out.push_str(&format!(
            "mixed load: {clients} clients, {elapsed:.1} s (80 % SMH classify of 1 code, 5 % HE single query, 15 % catalogue), {}\n",
            match rate {
                Some(r) => format!("offered {r} requests/s in total (fixed schedule)"),
                None => "closed loop (each client sends its next request when the previous one answers)".to_string(),
            }
        ));
        let mut total_ok = 0u64;
        for (name, v) in s.lat.iter_mut() {
            let n = v.len() as u64;
            total_ok += n;
            out.push_str(&format!(
                "  {name:<13} {n:>8} ok  {:>9.1} req/s  p50 {:>8.2} ms  p99 {:>8.2} ms\n",
                n as f64 / elapsed,
                pct(v, 0.5),
                pct(v, 0.99)
            ));
        }
        out.push_str(&format!("  total ok {total_ok} ({:.1} req/s)\n", total_ok as f64 / elapsed));
        let mut fivexx_other = 0;
        for ((name, status), n) in &s.status {
            out.push_str(&format!("  status {status} {name}: {n}\n"));
            if *status >= 500 && *status != 503 {
                fivexx_other += n;
            }
        }
        out.push_str(&format!(
            "  5xx other than 503: {fivexx_other}; transport errors: {}\n",
            s.errors
        ));
        out.push_str(&format!(
            "server RSS: peak sampled {:.1} MiB, VmHWM {:.1} MiB\n",
            *peak_rss.lock().unwrap() as f64 / 1024.0,
            hwm as f64 / 1024.0
        ));
        Ok::<String, Box<dyn std::error::Error + Send + Sync>>(out)
    });
    let _ = child.kill();
    let _ = child.wait();
    let report = report?;
    print!("{report}");
    Ok(())
}
