//! Prometheus text exposition (`GET /metrics`): request counts by route and
//! status, latency histograms by route, HE jobs in flight.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Latency histogram bucket bounds in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    n: u64,
}

/// The server's counters.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    /// HE evaluations running now.
    pub he_in_flight: AtomicI64,
    /// HE requests refused with 503 (pool full).
    pub he_rejected: AtomicU64,
}

impl Metrics {
    /// Records one finished request.
    pub fn record(&self, route: &str, method: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route.to_string(), method.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut m) = self.latency.lock() {
            let h = m.entry(route.to_string()).or_insert_with(|| Histogram {
                counts: vec![0; BUCKETS.len()],
                ..Default::default()
            });
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += seconds;
            h.n += 1;
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let esc = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
        s.push_str(
            "# HELP privox_http_requests_total HTTP requests by route, method and status.\n",
        );
        s.push_str("# TYPE privox_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((route, method, status), n) in m.iter() {
                let _ = writeln!(
                    s,
                    "privox_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                    esc(route),
                    esc(method)
                );
            }
        }
        s.push_str("# HELP privox_http_request_duration_seconds Request latency by route.\n");
        s.push_str("# TYPE privox_http_request_duration_seconds histogram\n");
        if let Ok(m) = self.latency.lock() {
            for (route, h) in m.iter() {
                let r = esc(route);
                for (b, c) in BUCKETS.iter().zip(&h.counts) {
                    let _ = writeln!(
                        s,
                        "privox_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{b}\"}} {c}"
                    );
                }
                let _ = writeln!(
                    s,
                    "privox_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}",
                    h.n
                );
                let _ = writeln!(
                    s,
                    "privox_http_request_duration_seconds_sum{{route=\"{r}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    s,
                    "privox_http_request_duration_seconds_count{{route=\"{r}\"}} {}",
                    h.n
                );
            }
        }
        s.push_str("# HELP privox_he_jobs_in_flight Homomorphic evaluations running now.\n");
        s.push_str("# TYPE privox_he_jobs_in_flight gauge\n");
        let _ = writeln!(
            s,
            "privox_he_jobs_in_flight {}",
            self.he_in_flight.load(Ordering::Relaxed)
        );
        s.push_str(
            "# HELP privox_he_rejected_total HE requests answered 503 because the pool was full.\n",
        );
        s.push_str("# TYPE privox_he_rejected_total counter\n");
        let _ = writeln!(
            s,
            "privox_he_rejected_total {}",
            self.he_rejected.load(Ordering::Relaxed)
        );
        s
    }
}
