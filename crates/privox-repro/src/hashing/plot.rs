//! The privacy/utility frontier: UAR against leakage, one colour per corpus.

use plotters::prelude::*;
use std::path::Path;

use super::record::RunRecord;
use super::report::label;
use crate::Result;
use crate::plot::{Axes, PALETTE, chart, legend, line_key, write_svg};

/// A (leakage %, UAR %) point.
type Point = (f64, f64);

/// Points of the k × Δ grid and of the tuning rows.
fn points(r: &RunRecord) -> (Vec<Point>, Vec<Point>) {
    let grid = r
        .table
        .iter()
        .map(|c| (c.leakage().0, c.uar().0))
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect();
    let tuned = r
        .tuned
        .iter()
        .map(|c| (c.leakage().0, c.uar().0))
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect();
    (grid, tuned)
}

/// Pareto-optimal points: the best UAR reachable at or below each leakage.
fn pareto(mut pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut out: Vec<(f64, f64)> = Vec::new();
    for p in pts {
        if out.last().is_none_or(|l| p.1 > l.1) {
            out.push(p);
        }
    }
    out
}

/// Writes the frontier SVG.
pub fn frontier(path: &Path, records: &[RunRecord]) -> Result<()> {
    let mut y_min: f64 = 100.0;
    let mut y_max: f64 = 50.0;
    for r in records {
        let (g, t) = points(r);
        for p in g.iter().chain(&t) {
            y_min = y_min.min(p.1);
            y_max = y_max.max(p.1);
        }
        if let Some(b) = &r.baseline {
            y_min = y_min.min(b.uar().0);
            y_max = y_max.max(b.uar().0);
        }
    }
    let axes = Axes {
        caption: "SMH privacy/utility frontier (LOSO, neutral vs angry, mpc = 32)",
        caption_size: 20,
        x: 0.0..100.0,
        y: (y_min - 2.0).floor().max(0.0)..(y_max + 2.0).ceil().min(100.0),
        x_desc: "leakage % (held-out × training code pairs with d_H below the threshold)",
        y_desc: "UAR % (mean over key seeds)",
    };
    write_svg(path, (900, 560), |root| {
        let mut chart = chart(root, &axes)?;
        for (i, r) in records.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let (grid, tuned) = points(r);
            let name = label(r);
            let all: Vec<(f64, f64)> = grid.iter().chain(&tuned).copied().collect();
            chart
                .draw_series(LineSeries::new(pareto(all), colour.stroke_width(2)))?
                .label(format!("{name}: frontier, ● k×Δ grid, ▲ Δ tuned (k=3)"))
                .legend(line_key(colour.stroke_width(2)));
            chart.draw_series(grid.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
            chart.draw_series(
                tuned
                    .iter()
                    .map(|&p| TriangleMarker::new(p, 6, colour.filled())),
            )?;
            if let Some(b) = &r.baseline {
                let u = b.uar().0;
                chart
                    .draw_series(DashedLineSeries::new(
                        vec![(0.0, u), (100.0, u)],
                        6,
                        4,
                        colour.stroke_width(1),
                    ))?
                    .label(format!("{name}: RBF-SVM baseline on features"))
                    .legend(line_key(colour.stroke_width(1)));
            }
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pareto_keeps_only_improvements() {
        let p = pareto(vec![(10.0, 70.0), (5.0, 72.0), (20.0, 71.0), (30.0, 80.0)]);
        assert_eq!(p, vec![(5.0, 72.0), (30.0, 80.0)]);
    }
}
