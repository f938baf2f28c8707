//! Study of the (C, γ) search behind the hashed SVM's nEMO gap (issue 14, item 6).
//!
//! Leave-one-speaker-out with an inner speaker-grouped (C, γ) search, on the
//! min-max scaled features (RBF) and on SMH codes (RBF-Hamming, mpc = 32), with
//! switchable search variants:
//!
//! * grids: the *relative* grid of `privox repro hashing` (γ = 2^j / s, s the
//!   std of d² over training pairs, j ∈ −4..3; C = 2^c / σ_K(γ), c ∈ −1..7
//!   step 2), with or without its rule that skips γ with γ·median(d²) > 16;
//!   and *absolute* grids (log2 γ, log2 C subsets of a wide grid, step 1 or 2);
//! * tie rules among equal inner scores;
//! * 3, 4 or 5 inner speaker-grouped folds (`--folds`);
//! * scaling and hashing once per outer fold, or refitted per inner split
//!   (`--hash inner`: the scaler is fitted on each inner training part and
//!   the outer training rows are re-scaled and re-hashed with it).
//!
//! For one outer fold every (C, γ) point of the union of all grid variants is
//! scored once by its pooled inner UAR; each variant then picks its best point
//! among its own points and gets one outer fit. The cost of a variant is the
//! sum of the measured fit times of its own points (`fit-s`, thread time of
//! the training + prediction calls, close to CPU seconds on an idle machine).
//!
//! ```sh
//! nice -n 10 cargo run --release -p privox-svm --example hashing_grid_study -- \
//!     --corpus /work/shared/data/nemo --seeds 1 --folds 4 --hash outer
//! ```
//!
//! Options (all optional besides `--corpus`, which may be repeated):
//! `--cells base,3:3,5:3.5,10:2,10:2.5,10:3,10:3.5` · `--seeds 1,2,3` ·
//! `--folds 4` (comma list: each value is a separate pass) · `--hash outer|inner` ·
//! `--abs-gamma -7:5:1` · `--abs-c -5:15:1` (the absolute union grid; variants use
//! subsets) · `--base-gamma -15:5:1` (absolute γ axis of the feature baseline) ·
//! `--no-relative` · `--rel-gamma -4:3:1` · `--rel-c -1:7:2` (the relative axes, as
//! exponents j of γ = 2^j / s and c of C = 2^c / σ_K) · `--out FILE` (TSV of every result, appended).

use cpu_time::ProcessTime;
use privox_data::{
    ClassSet, ConfusionMatrix, Dataset, FeatureTable, Matrix, MinMaxScaler, group_k_fold,
    leave_one_group_out, mean_std,
};
use privox_smh::{SmhKey, SmhParams, hamming_counts_symmetric};
use privox_svm::{Grid, Kernel, SvcParams};
use rayon::prelude::*;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Same constant as the repro protocol: γ·median(d²) above it is skipped.
const MAX_GAMMA_TIMES_MEDIAN: f64 = 16.0;
/// Most training pairs sampled to scale the relative grid (as the repro does).
const MAX_SCALE_PAIRS: usize = 200_000;
const MPC: usize = 32;
const INNER_SEED: u64 = 0;

/// Where the squared distances come from.
enum Src {
    /// Symbol mismatch counts of SMH codes, `symbols` per code.
    Counts { counts: Vec<u32>, symbols: usize },
    /// Squared Euclidean distances of scaled features.
    D2(Vec<f64>),
}

/// An n × n matrix of squared distances over a set of rows.
struct Dist {
    n: usize,
    src: Src,
}

impl Dist {
    fn d2(&self, p: usize) -> f64 {
        match &self.src {
            Src::Counts { counts, symbols } => {
                let d = counts[p] as f64 / *symbols as f64;
                d * d
            }
            Src::D2(v) => v[p],
        }
    }
    fn kernel(&self, gamma: f64) -> Kern<'_> {
        let lut = match &self.src {
            Src::Counts { symbols, .. } => (0..=*symbols)
                .map(|c| {
                    let d = c as f64 / *symbols as f64;
                    (-gamma * d * d).exp()
                })
                .collect(),
            Src::D2(_) => Vec::new(),
        };
        Kern {
            d: self,
            gamma,
            lut,
        }
    }
}

/// `exp(−γ d²)` over a [`Dist`], by lookup table for codes.
struct Kern<'a> {
    d: &'a Dist,
    gamma: f64,
    lut: Vec<f64>,
}

impl Kernel for Kern<'_> {
    fn size(&self) -> usize {
        self.d.n
    }
    fn eval(&self, i: usize, j: usize) -> f64 {
        let p = i * self.d.n + j;
        match &self.d.src {
            // Invariant: every count <= symbols and the table has symbols + 1 entries.
            Src::Counts { counts, .. } => self.lut[counts[p] as usize],
            Src::D2(v) => (-self.gamma * v[p]).exp(),
        }
    }
}

/// Builds the distance matrix of `rows` (all of `x` scaled by a scaler fit on `fit_rows`).
fn distances(
    x: &Matrix,
    fit_rows: &[usize],
    rows: &[usize],
    hashing: Option<(u32, f64, u64)>,
) -> Res<Dist> {
    let scaler = MinMaxScaler::fit(&x.select_rows(fit_rows))?;
    let scaled = scaler.transform(&x.select_rows(rows))?;
    let n = rows.len();
    let cols = scaled.cols();
    let src = match hashing {
        Some((k, delta, seed)) => {
            let params = SmhParams::new(k, delta, MPC, cols)?;
            let key = SmhKey::generate_with_seed(params, seed);
            let codes = key.hash(scaled.as_slice(), cols)?;
            let hm = hamming_counts_symmetric(&codes);
            Src::Counts {
                counts: hm.counts().to_vec(),
                symbols: hm.symbols(),
            }
        }
        None => {
            let r = scaled.as_slice();
            let mut d2 = vec![0.0; n * n];
            d2.par_chunks_mut(n.max(1))
                .enumerate()
                .for_each(|(i, out)| {
                    let a = &r[i * cols..(i + 1) * cols];
                    for (j, o) in out.iter_mut().enumerate() {
                        let b = &r[j * cols..(j + 1) * cols];
                        *o = a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum();
                    }
                });
            Src::D2(d2)
        }
    };
    Ok(Dist { n, src })
}

/// Median and std of d² over (sampled) training pairs, as the repro's `PairScale`.
struct PairScale {
    d2: Vec<f64>,
    median: f64,
    spread: f64,
}

impl PairScale {
    fn new(d: &Dist, train: &[usize]) -> Self {
        let total = train.len() * train.len().saturating_sub(1) / 2;
        let step = total.div_ceil(MAX_SCALE_PAIRS).max(1);
        let mut v = Vec::with_capacity(total / step + 1);
        let mut p = 0usize;
        for (a, &i) in train.iter().enumerate() {
            for &j in &train[..a] {
                if p.is_multiple_of(step) {
                    v.push(d.d2(i * d.n + j));
                }
                p += 1;
            }
        }
        let mut sorted = v.clone();
        let mid = sorted.len() / 2;
        let median = if sorted.is_empty() {
            1.0
        } else {
            *sorted.select_nth_unstable_by(mid, f64::total_cmp).1
        };
        let sd = mean_std(&v).1;
        let pos = |x: f64, f: f64| if x.is_finite() && x > 0.0 { x } else { f };
        let median = pos(median, 1.0);
        PairScale {
            d2: v,
            median,
            spread: pos(sd, median),
        }
    }
    fn kernel_spread(&self, gamma: f64) -> f64 {
        let k: Vec<f64> = self.d2.iter().map(|&v| (-gamma * v).exp()).collect();
        mean_std(&k).1
    }
}

/// One (C, γ) point of the union grid.
#[derive(Clone, Debug)]
struct Point {
    gamma: f64,
    c: f64,
    /// Absolute grid: (log2 γ, log2 C). Relative grid: (j, c) and whether skipped.
    kind: PointKind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum PointKind {
    Abs { lg: i32, lc: i32 },
    Rel { j: i32, c: i32, skipped: bool },
}

/// Inner score and cost of one point.
#[derive(Clone, Debug, Default)]
struct Score {
    cm: [u64; 4],
    fit_s: f64,
}

impl Score {
    fn uar(&self) -> f64 {
        let r0 = self.cm[0] as f64 / (self.cm[0] + self.cm[1]).max(1) as f64;
        let r1 = self.cm[3] as f64 / (self.cm[2] + self.cm[3]).max(1) as f64;
        (r0 + r1) / 2.0
    }
}

/// A search variant: which points it may pick, and how ties are broken.
struct Variant {
    name: String,
    accept: Box<dyn Fn(&PointKind) -> bool + Sync>,
    tie: Tie,
}

#[derive(Clone, Copy)]
enum Tie {
    /// Scan γ ascending then C ascending, keep the first best (the repro's rule).
    FirstGammaThenC,
    /// Smaller C first, then smaller γ (privox-svm `grid_search`'s rule).
    SmallCThenGamma,
}

fn variants(rel: bool) -> Vec<Variant> {
    let mut v: Vec<Variant> = Vec::new();
    if rel {
        v.push(Variant {
            name: "rel+skip".into(),
            accept: Box::new(|k| matches!(k, PointKind::Rel { skipped: false, .. })),
            tie: Tie::FirstGammaThenC,
        });
        v.push(Variant {
            name: "rel-noskip".into(),
            accept: Box::new(|k| matches!(k, PointKind::Rel { .. })),
            tie: Tie::FirstGammaThenC,
        });
    }
    if rel {
        // The absolute step-2 grid and the relative grid together.
        v.push(Variant {
            name: "abs g-7:5:2 c-5:15:2 ∪ rel+skip".into(),
            accept: Box::new(|k| match *k {
                PointKind::Abs { lg, lc } => {
                    (-7..=5).contains(&lg)
                        && (lg + 7) % 2 == 0
                        && (-5..=15).contains(&lc)
                        && (lc + 5) % 2 == 0
                }
                PointKind::Rel { skipped, .. } => !skipped,
            }),
            tie: Tie::SmallCThenGamma,
        });
    }
    // (name, γ lo, γ hi, γ step, C lo, C hi, C step)
    let abs: [(&str, i32, i32, i32, i32, i32, i32); 7] = [
        ("abs g-7:5:1 c-5:15:1", -7, 5, 1, -5, 15, 1),
        ("abs g-7:5:2 c-5:15:2", -7, 5, 2, -5, 15, 2),
        ("abs g-7:5:1 c-5:15:2", -7, 5, 1, -5, 15, 2),
        ("abs g-7:5:2 c-5:15:1", -7, 5, 2, -5, 15, 1),
        ("abs g-3:5:1 c-1:11:2", -3, 5, 1, -1, 11, 2),
        ("abs g-1:5:2 c-1:13:2", -1, 5, 2, -1, 13, 2),
        ("abs g-15:5:1 c-5:15:1", -15, 5, 1, -5, 15, 1),
    ];
    for (name, g0, g1, gs, c0, c1, cs) in abs {
        for tie in [Tie::FirstGammaThenC, Tie::SmallCThenGamma] {
            let suffix = match tie {
                Tie::FirstGammaThenC => " tie=γ,C",
                Tie::SmallCThenGamma => " tie=C,γ",
            };
            v.push(Variant {
                name: format!("{name}{suffix}"),
                accept: Box::new(move |k| match *k {
                    PointKind::Abs { lg, lc } => {
                        (g0..=g1).contains(&lg)
                            && (lg - g0) % gs == 0
                            && (c0..=c1).contains(&lc)
                            && (lc - c0) % cs == 0
                    }
                    _ => false,
                }),
                tie,
            });
        }
    }
    v
}

/// Picks the best accepted point; `None` if the variant has no point here.
fn select(points: &[Point], scores: &[Score], var: &Variant) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, p) in points.iter().enumerate() {
        if !(var.accept)(&p.kind) {
            continue;
        }
        best = match best {
            None => Some(i),
            Some(b) => {
                let (s, sb) = (scores[i].uar(), scores[b].uar());
                let better = match var.tie {
                    Tie::FirstGammaThenC => {
                        s > sb || (s == sb && (p.gamma, p.c) < (points[b].gamma, points[b].c))
                    }
                    Tie::SmallCThenGamma => {
                        s > sb || (s == sb && (p.c, p.gamma) < (points[b].c, points[b].gamma))
                    }
                };
                if better { Some(i) } else { Some(b) }
            }
        };
    }
    best
}

fn parse_list<T: std::str::FromStr>(s: &str) -> Res<Vec<T>> {
    s.split(',')
        .map(|p| {
            p.trim()
                .parse::<T>()
                .map_err(|_| format!("cannot parse {p:?}").into())
        })
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Cell {
    Base,
    Hashed { k: u32, delta: f64 },
}

impl Cell {
    fn label(&self) -> String {
        match self {
            Cell::Base => "RBF baseline".into(),
            Cell::Hashed { k, delta } => format!("k={k} Δ={delta}"),
        }
    }
}

struct Opts {
    corpora: Vec<PathBuf>,
    cells: Vec<Cell>,
    seeds: Vec<u64>,
    folds: Vec<usize>,
    hash_inner: bool,
    abs_gamma: Vec<f64>,
    abs_c: Vec<f64>,
    base_gamma: Vec<f64>,
    relative: bool,
    /// Exponents j of the relative γ axis (γ = 2^j / s).
    rel_gamma: Vec<f64>,
    /// Exponents c of the relative C axis (C = 2^c / σ_K).
    rel_c: Vec<f64>,
    out: Option<PathBuf>,
}

fn parse_args() -> Res<Opts> {
    let mut o = Opts {
        corpora: Vec::new(),
        cells: Vec::new(),
        seeds: vec![1, 2, 3],
        folds: vec![4],
        hash_inner: false,
        abs_gamma: Grid::range(-7.0, 5.0, 1.0),
        abs_c: Grid::range(-5.0, 15.0, 1.0),
        base_gamma: Grid::range(-15.0, 5.0, 1.0),
        relative: true,
        rel_gamma: Grid::range(-4.0, 3.0, 1.0),
        rel_c: Grid::range(-1.0, 7.0, 2.0),
        out: None,
    };
    let mut cells = "base,3:3,5:3.5,10:2,10:2.5,10:3,10:3.5".to_string();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--corpus" => o.corpora.push(PathBuf::from(val()?)),
            "--cells" => cells = val()?,
            "--seeds" => o.seeds = parse_list(&val()?)?,
            "--folds" => o.folds = parse_list(&val()?)?,
            "--hash" => {
                o.hash_inner = match val()?.as_str() {
                    "inner" => true,
                    "outer" => false,
                    other => return Err(format!("--hash outer|inner, got {other}").into()),
                }
            }
            "--abs-gamma" => o.abs_gamma = Grid::parse_range(&val()?)?,
            "--abs-c" => o.abs_c = Grid::parse_range(&val()?)?,
            "--base-gamma" => o.base_gamma = Grid::parse_range(&val()?)?,
            "--no-relative" => o.relative = false,
            "--rel-gamma" => o.rel_gamma = Grid::parse_range(&val()?)?,
            "--rel-c" => o.rel_c = Grid::parse_range(&val()?)?,
            "--out" => o.out = Some(PathBuf::from(val()?)),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    if o.corpora.is_empty() {
        return Err("give --corpus DIR (holding egemaps_v02_opensmile.csv)".into());
    }
    for c in cells.split(',') {
        o.cells.push(if c == "base" {
            Cell::Base
        } else {
            let (k, d) = c
                .split_once(':')
                .ok_or_else(|| format!("cell {c:?}: write k:Δ or base"))?;
            Cell::Hashed {
                k: k.parse()?,
                delta: d.parse()?,
            }
        });
    }
    Ok(o)
}

/// One variant's outer fold: y_true, y_pred, the chosen point, inner and outer fit seconds.
type VariantOutcome = (Vec<usize>, Vec<usize>, Point, f64, f64);

/// Results of one outer fold for every variant.
struct FoldResult {
    /// Per variant (None when the variant has no point).
    per_variant: Vec<Option<VariantOutcome>>,
    /// Fit seconds of the outer fits (one per distinct chosen point).
    hash_s: f64,
}

#[allow(clippy::too_many_arguments)]
fn run_fold(
    data: &Dataset,
    train: &[usize],
    test: &[usize],
    cell: Cell,
    seed: u64,
    folds: usize,
    opts: &Opts,
    vars: &[Variant],
) -> Res<FoldResult> {
    let hashing = match cell {
        Cell::Base => None,
        Cell::Hashed { k, delta } => Some((k, delta, seed)),
    };
    // Outer-fold kernel over train ∪ test (local indices: train first, then test).
    let all: Vec<usize> = train.iter().chain(test).copied().collect();
    let t_hash = Instant::now();
    let outer = distances(&data.x, train, &all, hashing)?;
    let mut hash_s = t_hash.elapsed().as_secs_f64();
    let ntr = train.len();
    let tr_local: Vec<usize> = (0..ntr).collect();
    let te_local: Vec<usize> = (ntr..all.len()).collect();
    let y_all: Vec<usize> = all.iter().map(|&i| data.y[i]).collect();

    // Inner speaker-grouped folds over the outer training rows (local indices).
    let train_groups: Vec<usize> = train.iter().map(|&i| data.groups[i]).collect();
    let mut distinct = train_groups.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let inner = group_k_fold(&train_groups, folds.min(distinct.len()), INNER_SEED)?;

    // Kernels the inner folds train on: the outer one, or one per inner split.
    let inner_dists: Vec<Dist> = if opts.hash_inner {
        let t = Instant::now();
        let v = inner
            .iter()
            .map(|f| {
                let fit: Vec<usize> = f.train.iter().map(|&p| train[p]).collect();
                distances(&data.x, &fit, train, hashing)
            })
            .collect::<Res<Vec<_>>>()?;
        hash_s += t.elapsed().as_secs_f64();
        v
    } else {
        Vec::new()
    };

    // Union grid.
    let mut points: Vec<Point> = Vec::new();
    let gammas = if hashing.is_some() {
        &opts.abs_gamma
    } else {
        &opts.base_gamma
    };
    for &lg in gammas {
        for &lc in &opts.abs_c {
            points.push(Point {
                gamma: lg.exp2(),
                c: lc.exp2(),
                kind: PointKind::Abs {
                    lg: lg.round() as i32,
                    lc: lc.round() as i32,
                },
            });
        }
    }
    if opts.relative && !opts.hash_inner {
        let scale = PairScale::new(&outer, &tr_local);
        for &j in &opts.rel_gamma {
            let gamma = j.exp2() / scale.spread;
            let skipped = gamma * scale.median > MAX_GAMMA_TIMES_MEDIAN;
            let sigma = scale.kernel_spread(gamma);
            let unit = if sigma > 1e-12 { 1.0 / sigma } else { 1.0 };
            for &c in &opts.rel_c {
                points.push(Point {
                    gamma,
                    c: c.exp2() * unit,
                    kind: PointKind::Rel {
                        j: j.round() as i32,
                        c: c.round() as i32,
                        skipped,
                    },
                });
            }
        }
    }
    // Only points some variant can pick.
    points.retain(|p| vars.iter().any(|v| (v.accept)(&p.kind)));

    // Score every point on every inner fold, in parallel over (point, fold).
    let tasks: Vec<(usize, usize)> = (0..points.len())
        .flat_map(|p| (0..inner.len()).map(move |f| (p, f)))
        .collect();
    let results: Vec<(usize, [u64; 4], f64)> = tasks
        .par_iter()
        .map(|&(p, f)| -> Res<(usize, [u64; 4], f64)> {
            let t = Instant::now();
            let d = if opts.hash_inner {
                &inner_dists[f]
            } else {
                &outer
            };
            let kern = d.kernel(points[p].gamma);
            let fold = &inner[f];
            let ytr: Vec<usize> = fold.train.iter().map(|&i| y_all[i]).collect();
            let params = SvcParams {
                c: points[p].c,
                ..SvcParams::default()
            };
            let sol = privox_svm::train(&kern, &fold.train, &ytr, 2, &params)?;
            let mut cm = [0u64; 4];
            for &i in &fold.test {
                let pred = sol.predict_with(|s| kern.eval(i, s));
                cm[y_all[i] * 2 + pred] += 1;
            }
            Ok((p, cm, t.elapsed().as_secs_f64()))
        })
        .collect::<Res<Vec<_>>>()?;
    let mut scores = vec![Score::default(); points.len()];
    for (p, cm, s) in results {
        for (a, b) in scores[p].cm.iter_mut().zip(cm) {
            *a += b;
        }
        scores[p].fit_s += s;
    }

    // Selection per variant, then one outer fit per distinct chosen point.
    let chosen: Vec<Option<usize>> = vars.iter().map(|v| select(&points, &scores, v)).collect();
    let mut distinct_pts: Vec<usize> = chosen.iter().flatten().copied().collect();
    distinct_pts.sort_unstable();
    distinct_pts.dedup();
    let y_tr: Vec<usize> = tr_local.iter().map(|&i| y_all[i]).collect();
    let fitted: HashMap<usize, (Vec<usize>, f64)> = distinct_pts
        .par_iter()
        .map(|&p| -> Res<(usize, (Vec<usize>, f64))> {
            let t = Instant::now();
            let kern = outer.kernel(points[p].gamma);
            let params = SvcParams {
                c: points[p].c,
                ..SvcParams::default()
            };
            let sol = privox_svm::train(&kern, &tr_local, &y_tr, 2, &params)?;
            let pred = te_local
                .iter()
                .map(|&i| sol.predict_with(|s| kern.eval(i, s)))
                .collect();
            Ok((p, (pred, t.elapsed().as_secs_f64())))
        })
        .collect::<Res<HashMap<_, _>>>()?;
    let y_te: Vec<usize> = te_local.iter().map(|&i| y_all[i]).collect();
    let per_variant = vars
        .iter()
        .zip(&chosen)
        .map(|(v, c)| {
            c.map(|p| {
                let inner_cost: f64 = points
                    .iter()
                    .zip(&scores)
                    .filter(|(q, _)| (v.accept)(&q.kind))
                    .map(|(_, s)| s.fit_s)
                    .sum();
                let (pred, outer_s) = fitted[&p].clone();
                (y_te.clone(), pred, points[p].clone(), inner_cost, outer_s)
            })
        })
        .collect();
    Ok(FoldResult {
        per_variant,
        hash_s,
    })
}

fn main() -> Res<()> {
    let opts = parse_args()?;
    let vars = variants(opts.relative);
    let mut out = match &opts.out {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)?,
        ),
        None => None,
    };
    let uptime = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "hashing_grid_study: threads {}, loadavg at start {}",
        rayon::current_num_threads(),
        uptime.trim()
    );
    println!(
        "grid axes (log2): codes γ {:?}, C {:?}; baseline γ {:?}; relative {} (j {:?}, c {:?})",
        opts.abs_gamma, opts.abs_c, opts.base_gamma, opts.relative, opts.rel_gamma, opts.rel_c
    );
    for corpus in &opts.corpora {
        let table = FeatureTable::read_csv(&corpus.join("egemaps_v02_opensmile.csv"))?;
        let data = table.to_dataset(&ClassSet::neutral_angry())?;
        let name = corpus
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let outer = leave_one_group_out(&data.groups, &data.group_names);
        println!(
            "\n== {name}: {} rows, {} speakers ==",
            data.len(),
            outer.len()
        );
        for &folds in &opts.folds {
            for &cell in &opts.cells {
                let seeds: Vec<u64> = match cell {
                    Cell::Base => vec![0],
                    _ => opts.seeds.clone(),
                };
                // acc, uar per seed per variant; costs summed.
                let mut acc: Vec<Vec<(f64, f64)>> = vec![Vec::new(); vars.len()];
                let mut inner_cost = vec![0.0; vars.len()];
                let mut outer_cost = vec![0.0; vars.len()];
                let mut chosen_log: Vec<Vec<String>> = vec![Vec::new(); vars.len()];
                let mut n_outer = 0usize;
                let mut hash_total = 0.0;
                let (t0, c0) = (Instant::now(), ProcessTime::now());
                for &seed in &seeds {
                    let mut cms = vec![ConfusionMatrix::new(2); vars.len()];
                    for f in &outer {
                        let r =
                            run_fold(&data, &f.train, &f.test, cell, seed, folds, &opts, &vars)?;
                        n_outer += 1;
                        eprintln!(
                            "  {name} {} seed {seed} fold {}: {:.1} s since start",
                            cell.label(),
                            f.name,
                            t0.elapsed().as_secs_f64()
                        );
                        hash_total += r.hash_s;
                        for (v, res) in r.per_variant.into_iter().enumerate() {
                            if let Some((yt, yp, p, ic, oc)) = res {
                                cms[v].merge(&ConfusionMatrix::from_predictions(2, &yt, &yp)?)?;
                                inner_cost[v] += ic;
                                outer_cost[v] += oc;
                                chosen_log[v].push(format!(
                                    "{}:{:.2}/{:.2}",
                                    f.name,
                                    p.gamma.log2(),
                                    p.c.log2()
                                ));
                            }
                        }
                    }
                    for (v, cm) in cms.iter().enumerate() {
                        if cm.total() > 0 {
                            acc[v].push((100.0 * cm.accuracy(), 100.0 * cm.uar()));
                        }
                    }
                }
                let wall = t0.elapsed().as_secs_f64();
                let cpu = c0.elapsed().as_secs_f64();
                let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
                println!(
                    "\n-- {name} {} | inner folds {folds} | hashing/scaling per {} | {} outer fits | wall {wall:.1} s, CPU {cpu:.1} s, hash+scale {hash_total:.1} s | loadavg {}",
                    cell.label(),
                    if opts.hash_inner {
                        "inner split"
                    } else {
                        "outer fold"
                    },
                    n_outer,
                    load.trim()
                );
                println!(
                    "{:<28} {:>14} {:>14} {:>12} {:>10}",
                    "variant", "acc %", "UAR %", "fit-s/outer", "outer fit-s"
                );
                for (v, var) in vars.iter().enumerate() {
                    if acc[v].is_empty() {
                        continue;
                    }
                    let a: Vec<f64> = acc[v].iter().map(|x| x.0).collect();
                    let u: Vec<f64> = acc[v].iter().map(|x| x.1).collect();
                    let ((am, asd), (um, usd)) = (mean_std(&a), mean_std(&u));
                    let per = (inner_cost[v] + outer_cost[v]) / n_outer as f64;
                    println!(
                        "{:<28} {:>7.2} ± {:<4.2} {:>7.2} ± {:<4.2} {:>12.2} {:>10.3}",
                        var.name,
                        am,
                        asd,
                        um,
                        usd,
                        per,
                        outer_cost[v] / n_outer as f64
                    );
                    if let Some(o) = out.as_mut() {
                        writeln!(
                            o,
                            "{name}\t{}\t{folds}\t{}\t{}\t{am:.3}\t{asd:.3}\t{um:.3}\t{usd:.3}\t{per:.4}\t{}\t{}",
                            cell.label(),
                            if opts.hash_inner { "inner" } else { "outer" },
                            var.name,
                            a.iter()
                                .map(|x| format!("{x:.2}"))
                                .collect::<Vec<_>>()
                                .join(","),
                            chosen_log[v].join(" ")
                        )?;
                    }
                }
            }
        }
    }
    Ok(())
}
