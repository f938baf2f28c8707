//! Fig. 1: the expected normalized Hamming distance E\[d_H\](d) of SMH codes,
//! theory against Monte Carlo, as an SVG and a Markdown table.
//!
//! The numbers come from `privox_smh::theory` (the analytic curve and the
//! Monte Carlo check); this module runs them over several k, draws the
//! figure and writes the table. `privox smh curve` and the umbrella
//! `privox repro` both go through [`compute`] and [`plot_svg`].

use plotters::prelude::*;
use privox_smh::SmhParams;
use privox_smh::theory::{self, CurvePoint, MonteCarlo, expected_distance};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::plot::{Axes, PALETTE, chart, legend, line_key, write_svg};
use crate::report::{put_block, read_or, write_text};
use crate::{Corpus, Phase, PhaseOutput, ReproError, Result, RunOptions};

/// Settings of Fig. 1 (`privox smh curve`'s flags).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CurveConfig {
    /// Alphabet sizes, one curve each.
    pub k: Vec<u32>,
    /// Quantization step Δ.
    pub delta: f64,
    /// Measurements per coefficient.
    pub mpc: usize,
    /// Input dimension L (the theory does not depend on it).
    pub dim: usize,
    /// Keys drawn per k.
    pub keys: usize,
    /// Random pairs per distance and key.
    pub pairs: usize,
    /// Distances on the grid, from 0 to `max_distance`.
    pub points: usize,
    /// Largest Euclidean distance (`None`: 4Δ).
    pub max_distance: Option<f64>,
    /// Seed of keys and pairs; curve i uses `seed + i`.
    pub seed: u64,
}

impl Default for CurveConfig {
    /// The paper's figure: k = 2, 3, 5, 10, Δ = 3, mpc = 64, L = 88, 20 keys
    /// × 10 pairs at 31 distances up to 4Δ, seed 1.
    fn default() -> Self {
        CurveConfig {
            k: vec![2, 3, 5, 10],
            delta: 3.0,
            mpc: 64,
            dim: 88,
            keys: 20,
            pairs: 10,
            points: 31,
            max_distance: None,
            seed: 1,
        }
    }
}

impl CurveConfig {
    /// `--quick`: the same curves with 4 keys × 4 pairs at 13 distances.
    pub fn quick() -> Self {
        CurveConfig {
            keys: 4,
            pairs: 4,
            points: 13,
            ..CurveConfig::default()
        }
    }

    /// The distance grid 0 … max_distance (at least 2 points).
    pub fn distances(&self) -> Result<Vec<f64>> {
        if self.points < 2 {
            return Err(ReproError::TooFewPoints {
                found: self.points,
                needed: 2,
            });
        }
        let max_d = self.max_distance.unwrap_or(4.0 * self.delta);
        Ok((0..self.points)
            .map(|i| max_d * i as f64 / (self.points - 1) as f64)
            .collect())
    }
}

/// One curve of the figure.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Curve {
    /// Alphabet size.
    pub k: u32,
    /// (distance, analytic, Monte Carlo mean, its standard error) per grid point.
    pub points: Vec<(f64, f64, f64, f64)>,
}

impl Curve {
    fn from_points(k: u32, pts: &[CurvePoint]) -> Self {
        Curve {
            k,
            points: pts
                .iter()
                .map(|p| (p.distance, p.analytic, p.monte_carlo, p.std_error))
                .collect(),
        }
    }

    /// Largest |analytic − Monte Carlo| and the distance where it occurs.
    pub fn worst(&self) -> (f64, f64) {
        self.points
            .iter()
            .map(|p| ((p.1 - p.2).abs(), p.0))
            .fold((0.0, 0.0), |acc, v| if v.0 > acc.0 { v } else { acc })
    }

    /// Largest standard error of the Monte Carlo means.
    pub fn max_std_error(&self) -> f64 {
        self.points.iter().map(|p| p.3).fold(0.0, f64::max)
    }
}

/// The analytic and Monte Carlo curves of every k in `cfg`; `progress` is
/// called once per finished key.
pub fn compute(cfg: &CurveConfig, progress: impl Fn()) -> Result<Vec<Curve>> {
    let distances = cfg.distances()?;
    cfg.k
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let what = || format!("Fig. 1 curve k = {k}, Δ = {}, mpc = {}", cfg.delta, cfg.mpc);
            let params =
                SmhParams::new(k, cfg.delta, cfg.mpc, cfg.dim).map_err(ReproError::smh(what()))?;
            let mc = MonteCarlo {
                keys: cfg.keys,
                pairs: cfg.pairs,
                seed: cfg.seed.wrapping_add(i as u64),
            };
            let pts = theory::curve(&params, &distances, mc, &progress)
                .map_err(ReproError::smh(what()))?;
            Ok(Curve::from_points(k, &pts))
        })
        .collect()
}

/// The figure's default title.
pub fn title(cfg: &CurveConfig) -> String {
    format!(
        "SMH expected distance, Δ = {}, mpc = {} (lines: theory, dots: Monte Carlo)",
        cfg.delta, cfg.mpc
    )
}

/// Writes an SVG with the analytic curves (lines) and Monte Carlo means (dots).
pub fn plot_svg(path: &Path, title: &str, delta: f64, curves: &[Curve]) -> Result<()> {
    let x_max = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.0))
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let x_desc = format!("Euclidean distance d between inputs (Δ = {delta})");
    let axes = Axes {
        caption: title,
        caption_size: 20,
        x: 0.0..x_max,
        y: 0.0..1.0,
        x_desc: &x_desc,
        y_desc: "normalized Hamming distance d_H",
    };
    write_svg(path, (800, 560), |root| {
        let mut chart = chart(root, &axes)?;
        for (i, c) in curves.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            // Dense analytic line, independent of the Monte Carlo grid.
            let line: Vec<(f64, f64)> = (0..=400)
                .map(|j| {
                    let d = x_max * j as f64 / 400.0;
                    (d, expected_distance(d / delta, c.k).0)
                })
                .collect();
            chart
                .draw_series(LineSeries::new(line, colour.stroke_width(2)))?
                .label(format!("k = {} analytic", c.k))
                .legend(line_key(colour.stroke_width(2)));
            chart
                .draw_series(
                    c.points
                        .iter()
                        .map(|p| Circle::new((p.0, p.2), 3, colour.filled())),
                )?
                .label(format!("k = {} Monte Carlo", c.k))
                .legend(move |(x, y)| Circle::new((x + 10, y), 3, colour.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    })
}

/// Markdown: per k the largest |theory − Monte Carlo| and standard error,
/// then E\[d_H\] at every grid distance (theory / Monte Carlo).
pub fn table_markdown(cfg: &CurveConfig, curves: &[Curve]) -> String {
    let mut s = format!(
        "Δ = {}, mpc = {}, L = {}, {} keys × {} pairs per distance, seed {}.\n\n\
         | k | max \\|theory − Monte Carlo\\| | at d | max std. error |\n|---|---|---|---|\n",
        cfg.delta, cfg.mpc, cfg.dim, cfg.keys, cfg.pairs, cfg.seed
    );
    for c in curves {
        let (diff, at) = c.worst();
        let _ = writeln!(
            s,
            "| {} | {diff:.4} | {at:.2} | {:.4} |",
            c.k,
            c.max_std_error()
        );
    }
    s.push_str("\n| d |");
    for c in curves {
        let _ = write!(s, " k = {} theory / MC |", c.k);
    }
    s.push_str("\n|---|");
    for _ in curves {
        s.push_str("---|");
    }
    s.push('\n');
    let rows = curves.first().map_or(0, |c| c.points.len());
    for r in 0..rows {
        let _ = write!(s, "| {:.2} |", curves[0].points[r].0);
        for c in curves {
            let p = c.points[r];
            let _ = write!(s, " {:.3} / {:.3} |", p.1, p.2);
        }
        s.push('\n');
    }
    s
}

const SKELETON: &str = "# Fig. 1: expected Hamming distance of SMH codes\n\n\
Generated by `privox repro`; text outside the generated blocks is hand-written.\n\n\
![E[d_H](d), theory and Monte Carlo](smh-expected-distance.svg)\n";

/// Writes `OUT/smh-expected-distance.svg`, `OUT/smh-expected-distance.md`
/// (its table) and `OUT/smh-curve-data/curves.json`; returns the paths.
pub fn write_outputs(out: &Path, cfg: &CurveConfig, curves: &[Curve]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(ReproError::io(out))?;
    let svg = out.join("smh-expected-distance.svg");
    plot_svg(&svg, &title(cfg), cfg.delta, curves)?;
    let md = out.join("smh-expected-distance.md");
    let mut doc = read_or(&md, SKELETON)?;
    put_block(&mut doc, "smh-curve", &table_markdown(cfg, curves));
    write_text(&md, &doc)?;
    let data = out.join("smh-curve-data").join("curves.json");
    crate::record::write_record(&data, &(cfg, curves))?;
    Ok(vec![svg, md, data])
}

/// Fig. 1 in the umbrella run (needs no corpus).
pub const PHASE: Phase = Phase {
    name: "smh-curve",
    describe: "Fig. 1 (expected Hamming distance, theory and Monte Carlo)",
    run: run_phase,
};

fn run_phase(_corpora: &[Corpus], opts: &RunOptions) -> Result<PhaseOutput> {
    let cfg = opts.pick(CurveConfig::quick, CurveConfig::default);
    let bar = opts.bar(cfg.keys * cfg.k.len(), "Fig. 1 Monte Carlo keys");
    let curves = compute(&cfg, || bar.inc(1))?;
    bar.finish();
    let mut notes = Vec::new();
    for c in &curves {
        let (diff, at) = c.worst();
        notes.push(format!(
            "k = {}: max |theory − Monte Carlo| {diff:.4} at d = {at:.2} (max std. error {:.4})",
            c.k,
            c.max_std_error()
        ));
    }
    let files = write_outputs(&opts.out, &cfg, &curves)?;
    PhaseOutput::new("the Fig. 1 parameters", &cfg, files, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_match_theory_and_plot() {
        let cfg = CurveConfig {
            k: vec![3],
            mpc: 8,
            dim: 4,
            keys: 4,
            pairs: 8,
            points: 5,
            ..CurveConfig::default()
        };
        let curves = compute(&cfg, || {}).unwrap();
        assert_eq!(curves.len(), 1);
        assert_eq!(curves[0].points.len(), 5);
        // d = 0: identical inputs hash identically.
        assert_eq!(curves[0].points[0].2, 0.0);
        assert!(curves[0].worst().0 < 0.1, "{:?}", curves[0].worst());
        let dir = tempfile::tempdir().unwrap();
        let files = write_outputs(dir.path(), &cfg, &curves).unwrap();
        assert!(
            std::fs::read_to_string(&files[0])
                .unwrap()
                .starts_with("<svg")
        );
        let md = std::fs::read_to_string(&files[1]).unwrap();
        assert!(md.contains("BEGIN GENERATED: smh-curve") && md.contains("| 3 |"));
    }

    #[test]
    fn one_point_grid_is_a_typed_error() {
        let cfg = CurveConfig {
            points: 1,
            ..CurveConfig::default()
        };
        assert!(matches!(
            compute(&cfg, || {}),
            Err(ReproError::TooFewPoints { found: 1, .. })
        ));
    }
}
