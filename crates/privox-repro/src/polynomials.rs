//! Table 3 and Fig. 2 of the paper: the polynomial approximations of ReLU
//! (degrees 2, 4, 6 on `[-2, 2]`), the paper's coefficients beside fits
//! computed here, their approximation error, and an SVG of the curves and
//! their error.
//!
//! The numbers come from `privox_nn::poly` (the presets the networks use,
//! [`fit_chebyshev`] and [`fit_least_squares`]); nothing is typed in by
//! hand. The phase needs no corpus. It writes
//! `OUT/cryptonet-data/table3.json`, the generated blocks of
//! `OUT/polynomials.md` and `OUT/polynomials-relu.svg`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use privox_nn::poly::PRESET_NAMES;
use privox_nn::{
    FitMethod, PolyActivation, Polynomial, fit_chebyshev, fit_least_squares, max_abs_error,
};
use serde::{Deserialize, Serialize};

use crate::plot::{Axes, PALETTE, chart, legend, line_key, write_svg};
use crate::report::{put_block, read_or, write_text};
use crate::{Corpus, Phase, PhaseOutput, ReproError, Result, RunOptions};

/// Sub-folder of OUT holding the data records of the cryptonet phases
/// (Table 3, Table 4 in the clear and encrypted).
pub const DATA_DIR: &str = "cryptonet-data";
/// The Markdown file of Table 3 / Fig. 2 under OUT.
pub const DOC: &str = "polynomials.md";
/// The Fig. 2 SVG under OUT.
pub const SVG: &str = "polynomials-relu.svg";

/// Half-width of the interval the paper's polynomials approximate ReLU on.
pub const INTERVAL: f64 = 2.0;
/// Evenly spaced points of `[-r, r]` the errors are measured on.
pub const ERROR_SAMPLES: usize = 20_001;
/// The encrypted evaluator plans for pre-activations up to 1.5× the range
/// seen in training, so the error is also reported on `[-1.5r, 1.5r]`.
pub const WIDE_FACTOR: f64 = 1.5;

/// One polynomial of the table: where it comes from, its coefficients and
/// its errors against ReLU.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PolyRow {
    /// `p2`, `p4` or `p6`.
    pub name: String,
    /// Degree.
    pub degree: usize,
    /// `paper` (Table 3), `chebyshev` or `least-squares` (fitted here).
    pub source: String,
    /// Power-basis coefficients, lowest degree first.
    pub coeffs: Vec<f64>,
    /// `max |p(x) − ReLU(x)|` on `[-r, r]`.
    pub max_error: f64,
    /// Root mean square of `p(x) − ReLU(x)` on `[-r, r]`.
    pub rms_error: f64,
    /// `max |p(x) − ReLU(x)|` on `[-1.5r, 1.5r]`.
    pub max_error_wide: f64,
}

/// The phase's data record.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Table3Record {
    /// Half-width `r` of the interval.
    pub interval: f64,
    /// Grid points the errors are measured on.
    pub samples: usize,
    /// Paper rows first, then the Chebyshev and least-squares fits, by degree.
    pub rows: Vec<PolyRow>,
}

fn relu(x: f64) -> f64 {
    x.max(0.0)
}

/// Root mean square of `p(x) − f(x)` over `samples` evenly spaced points of `[-r, r]`.
pub fn rms_error(poly: &Polynomial, f: &dyn Fn(f64) -> f64, r: f64, samples: usize) -> f64 {
    let n = samples.max(2);
    let sum: f64 = (0..n)
        .map(|i| {
            let x = -r + 2.0 * r * i as f64 / (n - 1) as f64;
            (poly.eval(x) - f(x)).powi(2)
        })
        .sum();
    (sum / n as f64).sqrt()
}

fn row(name: &str, source: &str, poly: &Polynomial, r: f64) -> PolyRow {
    PolyRow {
        name: name.to_string(),
        degree: poly.degree(),
        source: source.to_string(),
        coeffs: poly.coeffs().to_vec(),
        max_error: max_abs_error(poly, &relu, r, ERROR_SAMPLES),
        rms_error: rms_error(poly, &relu, r, ERROR_SAMPLES),
        max_error_wide: max_abs_error(poly, &relu, WIDE_FACTOR * r, ERROR_SAMPLES),
    }
}

/// Computes the table: the paper's presets, then Chebyshev and least-squares
/// fits of the same degrees on `[-r, r]`.
pub fn compute(r: f64) -> Result<Table3Record> {
    let mut rows = Vec::new();
    let mut degrees = Vec::new();
    for name in PRESET_NAMES {
        // Invariant: every name of PRESET_NAMES is a preset.
        let preset = PolyActivation::preset(name).expect("PRESET_NAMES are presets");
        degrees.push((name, preset.poly.degree()));
        rows.push(row(name, "paper", &preset.poly, r));
    }
    for (method, fit) in [
        (FitMethod::Chebyshev, fit_chebyshev as FitFn),
        (FitMethod::LeastSquares, fit_least_squares as FitFn),
    ] {
        for &(name, degree) in &degrees {
            let f = fit(&relu, degree, r).map_err(ReproError::nn(format!(
                "fitting ReLU with a degree-{degree} polynomial"
            )))?;
            rows.push(row(name, method_name(method), &f.activation.poly, r));
        }
    }
    Ok(Table3Record {
        interval: r,
        samples: ERROR_SAMPLES,
        rows,
    })
}

type FitFn = fn(&dyn Fn(f64) -> f64, usize, f64) -> privox_nn::Result<privox_nn::PolyFit>;

fn method_name(m: FitMethod) -> &'static str {
    match m {
        FitMethod::Chebyshev => "chebyshev",
        FitMethod::LeastSquares => "least-squares",
    }
}

fn source_label(s: &str) -> &str {
    match s {
        "paper" => "paper (Table 3)",
        "chebyshev" => "ours, Chebyshev interpolation",
        "least-squares" => "ours, least squares",
        o => o,
    }
}

/// The coefficient table (Markdown).
pub fn coefficient_table(rec: &Table3Record) -> String {
    let max_deg = rec.rows.iter().map(|r| r.degree).max().unwrap_or(0);
    let mut s = String::from("| polynomial | source |");
    for k in 0..=max_deg {
        let _ = write!(s, " c{k} |");
    }
    s.push_str("\n|---|---|");
    s.push_str(&"---|".repeat(max_deg + 1));
    s.push('\n');
    for name in PRESET_NAMES {
        for r in rec.rows.iter().filter(|r| r.name == name) {
            let _ = write!(s, "| {} | {} |", r.name, source_label(&r.source));
            for k in 0..=max_deg {
                match r.coeffs.get(k) {
                    Some(c) => {
                        let _ = write!(s, " {c:.4} |");
                    }
                    None => s.push_str(" |"),
                }
            }
            s.push('\n');
        }
    }
    s
}

/// The error table (Markdown).
pub fn error_table(rec: &Table3Record) -> String {
    let r = rec.interval;
    let mut s = format!(
        "| polynomial | source | max \\|p − ReLU\\| on [−{r}, {r}] | RMS error on [−{r}, {r}] | max \\|p − ReLU\\| on [−{w}, {w}] |\n|---|---|---|---|---|\n",
        w = WIDE_FACTOR * r
    );
    for name in PRESET_NAMES {
        for row in rec.rows.iter().filter(|x| x.name == name) {
            let _ = writeln!(
                s,
                "| {} | {} | {:.4} | {:.4} | {:.4} |",
                row.name,
                source_label(&row.source),
                row.max_error,
                row.rms_error,
                row.max_error_wide
            );
        }
    }
    s
}

const SKELETON: &str = "# Table 3 and Fig. 2: polynomial approximations of ReLU\n\n\
Generated by `privox repro`; text outside the generated blocks is hand-written.\n";

/// Draws Fig. 2: ReLU and the paper's p2, p4, p6 on `[-1.5r, 1.5r]` (left)
/// and their error `p(x) − ReLU(x)` (right), the fitting interval marked.
pub fn plot(path: &Path, rec: &Table3Record) -> Result<()> {
    let r = rec.interval;
    let w = WIDE_FACTOR * r;
    let n = 601;
    let xs: Vec<f64> = (0..n)
        .map(|i| -w + 2.0 * w * i as f64 / (n - 1) as f64)
        .collect();
    let paper: Vec<(String, Polynomial)> = rec
        .rows
        .iter()
        .filter(|row| row.source == "paper")
        .filter_map(|row| {
            Polynomial::new(row.coeffs.clone())
                .ok()
                .map(|p| (row.name.clone(), p))
        })
        .collect();
    let mut y_lo = -0.5f64;
    let mut y_hi = w;
    let mut e_lo = 0.0f64;
    let mut e_hi = 0.0f64;
    for (_, p) in &paper {
        for &x in &xs {
            let v = p.eval(x);
            y_lo = y_lo.min(v);
            y_hi = y_hi.max(v);
            e_lo = e_lo.min(v - relu(x));
            e_hi = e_hi.max(v - relu(x));
        }
    }
    let pad = |lo: f64, hi: f64| {
        let m = 0.05 * (hi - lo).max(1e-9);
        (lo - m, hi + m)
    };
    let (y_lo, y_hi) = pad(y_lo, y_hi);
    let (e_lo, e_hi) = pad(e_lo, e_hi);

    let x_desc = format!("x (fitted on [−{r}, {r}], dashed)");
    let panels = [
        Axes {
            caption: "ReLU and the paper's p2, p4, p6",
            caption_size: 18,
            x: -w..w,
            y: y_lo..y_hi,
            x_desc: &x_desc,
            y_desc: "f(x)",
        },
        Axes {
            caption: "error p(x) − ReLU(x)",
            caption_size: 18,
            x: -w..w,
            y: e_lo..e_hi,
            x_desc: &x_desc,
            y_desc: "p(x) − ReLU(x)",
        },
    ];
    write_svg(path, (1100, 480), |root| {
        let (left, right) = root.split_horizontally(550);
        // The right panel draws the error p(x) − ReLU(x) instead of p(x).
        for (error, (area, axes)) in [false, true]
            .into_iter()
            .zip([left, right].iter().zip(&panels))
        {
            let (lo, hi) = (axes.y.start, axes.y.end);
            let mut chart = chart(area, axes)?;
            for edge in [-r, r] {
                chart.draw_series(DashedLineSeries::new(
                    vec![(edge, lo), (edge, hi)],
                    5,
                    4,
                    BLACK.mix(0.5).stroke_width(1),
                ))?;
            }
            if !error {
                chart
                    .draw_series(LineSeries::new(
                        xs.iter().map(|&x| (x, relu(x))),
                        BLACK.stroke_width(2),
                    ))?
                    .label("ReLU")
                    .legend(line_key(BLACK.stroke_width(2)));
            }
            for (i, (name, p)) in paper.iter().enumerate() {
                let colour = PALETTE[i % PALETTE.len()];
                let f = |x: f64| {
                    if error {
                        p.eval(x) - relu(x)
                    } else {
                        p.eval(x)
                    }
                };
                chart
                    .draw_series(LineSeries::new(
                        xs.iter().map(|&x| (x, f(x))),
                        colour.stroke_width(2),
                    ))?
                    .label(name.clone())
                    .legend(line_key(colour.stroke_width(2)));
            }
            legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        }
        Ok(())
    })
}

/// Writes the data record, the Markdown blocks and the SVG under `out`.
pub fn write_outputs(out: &Path, rec: &Table3Record) -> Result<Vec<PathBuf>> {
    let data = out.join(DATA_DIR).join("table3.json");
    crate::record::write_record(&data, rec)?;
    let doc_path = out.join(DOC);
    let mut doc = read_or(&doc_path, SKELETON)?;
    put_block(&mut doc, "table3-coefficients", &coefficient_table(rec));
    put_block(&mut doc, "table3-error", &error_table(rec));
    write_text(&doc_path, &doc)?;
    let svg = out.join(SVG);
    plot(&svg, rec)?;
    Ok(vec![data, doc_path, svg])
}

/// Table 3 + Fig. 2 (no corpus needed; the same in `--quick`).
pub const PHASE: Phase = Phase {
    name: "polynomials",
    describe: "Table 3 and Fig. 2 (polynomial approximations of ReLU, coefficients and error)",
    run: run_phase,
};

fn run_phase(_corpora: &[Corpus], opts: &RunOptions) -> Result<PhaseOutput> {
    let rec = compute(INTERVAL)?;
    let files = write_outputs(&opts.out, &rec)?;
    opts.say(error_table(&rec));
    Ok(PhaseOutput {
        parameters: serde_json::json!({
            "interval": INTERVAL,
            "error_samples": ERROR_SAMPLES,
            "wide_interval": WIDE_FACTOR * INTERVAL,
            "fits": ["chebyshev", "least-squares"],
            "degrees": rec.rows.iter().filter(|r| r.source == "paper").map(|r| r.degree).collect::<Vec<_>>(),
        }),
        files,
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table3_has_paper_and_fitted_rows_with_real_errors() {
        let rec = compute(INTERVAL).unwrap();
        assert_eq!(rec.rows.len(), 9);
        let get = |name: &str, src: &str| {
            rec.rows
                .iter()
                .find(|r| r.name == name && r.source == src)
                .unwrap()
        };
        // The paper's p2 as used by the networks.
        assert_eq!(get("p2", "paper").coeffs, vec![0.1992, 0.5002, 0.1997]);
        // Higher degree, smaller error (Chebyshev); the L2 fit has the least RMS.
        let cheb: Vec<f64> = ["p2", "p4", "p6"]
            .iter()
            .map(|n| get(n, "chebyshev").max_error)
            .collect();
        assert!(cheb.windows(2).all(|w| w[1] < w[0]), "{cheb:?}");
        for n in ["p2", "p4", "p6"] {
            let l = get(n, "least-squares");
            assert!(l.rms_error <= get(n, "chebyshev").rms_error + 1e-12);
            assert!(l.rms_error <= get(n, "paper").rms_error + 1e-12);
            assert!(get(n, "paper").max_error_wide > get(n, "paper").max_error);
        }
        // The analytic L2 fit of ReLU on [-2, 2]: 0.1875 + 0.5x + 0.234375x².
        let c = &get("p2", "least-squares").coeffs;
        assert!((c[0] - 0.1875).abs() < 1e-3 && (c[2] - 0.234375).abs() < 1e-3);
    }

    #[test]
    fn outputs_keep_hand_written_text_and_draw_the_figure() {
        let dir = tempfile::tempdir().unwrap();
        let doc = dir.path().join(DOC);
        std::fs::write(
            &doc,
            "# T3\nhand-written intro\n<!-- BEGIN GENERATED: table3-error -->\nold\n<!-- END GENERATED: table3-error -->\nhand-written discussion\n",
        )
        .unwrap();
        let rec = compute(INTERVAL).unwrap();
        let files = write_outputs(dir.path(), &rec).unwrap();
        assert_eq!(files.len(), 3);
        let text = std::fs::read_to_string(&doc).unwrap();
        assert!(text.contains("hand-written intro") && text.contains("hand-written discussion"));
        assert!(!text.contains("\nold\n"));
        assert!(text.contains("| p6 | paper (Table 3) | 0.1249 |"));
        let svg = std::fs::read_to_string(dir.path().join(SVG)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("p4"));
        let back: Table3Record = serde_json::from_slice(
            &std::fs::read(dir.path().join(DATA_DIR).join("table3.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(back.rows.len(), rec.rows.len());
        for (a, b) in back.rows.iter().zip(&rec.rows) {
            assert_eq!((&a.name, &a.source), (&b.name, &b.source));
            assert!((a.max_error - b.max_error).abs() < 1e-12);
        }
    }
}
