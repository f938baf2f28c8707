//! Development/benchmark tool: extracts eGeMAPS v02 from WAV files and, given
//! an openSMILE oracle CSV, prints per-feature Pearson r and median absolute
//! relative error.
//!
//! ```text
//! cargo run --release -p privox-egemaps --example compare -- \
//!     --dir ../shared/data/emodb/wav --oracle ../shared/data/emodb/egemaps_v02_opensmile.csv \
//!     [--out ours.csv] [--threads 1] [--limit N] [--table table.md] [--stats stats.tsv]
//! ```
//! `--time-only` skips the comparison and prints timing (functionals only).

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use privox_egemaps::{FEATURE_NAMES, NUM_FEATURES};
use rayon::prelude::*;

/// Decodes any format privox-audio supports (WAV, FLAC, ...) to mono f32.
fn read_audio(path: &Path) -> Result<(Vec<f32>, u32), String> {
    privox_audio::decode_file(path)
        .map(|a| (a.samples, a.sample_rate))
        .map_err(|e| e.to_string())
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 && sbb == 0.0 {
        return 1.0;
    }
    sab / (saa * sbb).sqrt()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn stem(p: &str) -> String {
    Path::new(p)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let dir = PathBuf::from(get("--dir").expect("--dir DIR required"));
    let oracle = get("--oracle");
    let threads: usize = get("--threads").map_or(0, |t| t.parse().expect("--threads N"));
    let limit: usize = get("--limit").map_or(usize::MAX, |t| t.parse().expect("--limit N"));
    let time_only = args.iter().any(|a| a == "--time-only");
    let label = get("--label").unwrap_or_else(|| dir.display().to_string());

    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("read --dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                ["wav", "flac", "ogg", "mp3"].contains(&x.to_ascii_lowercase().as_str())
            })
        })
        .collect();
    files.sort();
    files.truncate(limit);

    // Decode first so that timing covers extraction only.
    let audio: Vec<(String, Vec<f32>, u32)> = files
        .iter()
        .map(|p| {
            let (x, sr) = read_audio(p).unwrap_or_else(|e| panic!("{e}"));
            (stem(&p.to_string_lossy()), x, sr)
        })
        .collect();
    let total_s: f64 = audio
        .iter()
        .map(|(_, x, sr)| x.len() as f64 / f64::from(*sr))
        .sum();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let t0 = Instant::now();
    let cpu0 = cpu_time::ProcessTime::now();
    let ours: Vec<(String, Option<[f64; NUM_FEATURES]>)> = pool.install(|| {
        audio
            .par_iter()
            .map(|(s, x, sr)| {
                (
                    s.clone(),
                    privox_egemaps::extract(x, *sr).ok().map(|f| *f.values()),
                )
            })
            .collect()
    });
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu0.elapsed().as_secs_f64();
    eprintln!(
        "{label}: files={} audio={total_s:.1}s wall={wall:.3}s cpu={cpu:.3}s wall_s_per_audio_min={:.4} cpu_s_per_audio_min={:.4} threads={}",
        audio.len(),
        wall / (total_s / 60.0),
        cpu / (total_s / 60.0),
        pool.current_num_threads()
    );
    if let Some(out) = get("--out") {
        let mut w = std::io::BufWriter::new(fs::File::create(out).expect("create --out"));
        write!(w, "file").unwrap();
        for n in FEATURE_NAMES {
            write!(w, ",{n}").unwrap();
        }
        writeln!(w).unwrap();
        for (s, v) in &ours {
            write!(w, "{s}").unwrap();
            if let Some(v) = v {
                for x in v {
                    write!(w, ",{x}").unwrap();
                }
            }
            writeln!(w).unwrap();
        }
    }
    if time_only {
        return;
    }
    let Some(oracle) = oracle else { return };
    let text = fs::read_to_string(&oracle).expect("read --oracle");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col: Vec<usize> = FEATURE_NAMES
        .iter()
        .map(|n| {
            header
                .iter()
                .position(|h| h == n)
                .unwrap_or_else(|| panic!("oracle lacks {n}"))
        })
        .collect();
    let mut refs: HashMap<String, Vec<f64>> = HashMap::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let v: Vec<f64> = col
            .iter()
            .map(|&c| f[c].parse().unwrap_or(f64::NAN))
            .collect();
        refs.insert(stem(f[0]), v);
    }
    let pairs: Vec<(&[f64; NUM_FEATURES], &Vec<f64>)> = ours
        .iter()
        .filter_map(|(s, v)| Some((v.as_ref()?, refs.get(s)?)))
        .filter(|(_, r)| r.iter().all(|x| x.is_finite()))
        .collect();
    let mut table = String::new();
    table.push_str("| # | feature | Pearson r | median abs rel err |\n|---|---|---|---|\n");
    let (mut n999, mut n98, mut nrel, mut minr) = (0, 0, 0, f64::INFINITY);
    let mut rows = Vec::new();
    for k in 0..NUM_FEATURES {
        let a: Vec<f64> = pairs.iter().map(|(o, _)| o[k]).collect();
        let b: Vec<f64> = pairs.iter().map(|(_, r)| r[k]).collect();
        let r = pearson(&a, &b);
        let rel = median(
            a.iter()
                .zip(&b)
                .map(|(x, y)| {
                    if x == y {
                        0.0
                    } else {
                        (x - y).abs() / y.abs().max(1e-12)
                    }
                })
                .collect(),
        );
        if r >= 0.999 {
            n999 += 1;
        }
        if r >= 0.98 {
            n98 += 1;
        }
        if rel <= 0.005 {
            nrel += 1;
        }
        minr = minr.min(r);
        rows.push((k, r, rel));
        table.push_str(&format!(
            "| {} | {} | {:.6} | {:.4}% |\n",
            k + 1,
            FEATURE_NAMES[k],
            r,
            rel * 100.0
        ));
    }
    let summary = format!(
        "{label}: matched files={} | r>=0.999: {n999}/88 | r>=0.98: {n98}/88 | median rel err<=0.5%: {nrel}/88 | min r {minr:.6}",
        pairs.len()
    );
    if let Some(t) = get("--stats") {
        let mut tsv = String::from("feature\tr\tmedian_rel\n");
        for &(k, r, rel) in &rows {
            tsv.push_str(&format!("{}\t{r:.6}\t{rel:.6e}\n", FEATURE_NAMES[k]));
        }
        fs::write(t, tsv).expect("write --stats");
    }
    if let Some(t) = get("--table") {
        fs::write(t, format!("{summary}\n\n{table}")).expect("write --table");
    }
    if !args.iter().any(|a| a == "--quiet") {
        for &(k, r, rel) in &rows {
            let flag = if r < 0.999 || rel > 0.005 {
                "  <--"
            } else {
                ""
            };
            println!(
                "{:2} {:45} r={:.6} rel={:.4}%{flag}",
                k + 1,
                FEATURE_NAMES[k],
                r,
                rel * 100.0
            );
        }
    }
    println!("{summary}");
}
