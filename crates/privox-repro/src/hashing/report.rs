//! `hashing.md`: generated tables between markers (see [`crate::report`]),
//! hand-written text around them, and the paper's numbers beside ours.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::plot;
use super::record::{ConfigResult, RunRecord};
use crate::record::read_records;
use crate::report::{pm, put_block, read_or, write_text};
use crate::{ReproError, Result};

/// The paper's Table 1/2 rows (k) …
pub const PAPER_KS: [u32; 4] = [2, 3, 5, 10];
/// … and columns (Δ).
pub const PAPER_DELTAS: [f64; 4] = [2.0, 2.5, 3.0, 3.5];
/// The paper's Table 1 (leakage %) on LEGO, mpc = 32: rows k, columns Δ.
const PAPER_LEAK: [[f64; 4]; 4] = [
    [0.15, 1.38, 6.07, 16.25],
    [27.69, 56.58, 77.02, 88.96],
    [75.00, 91.54, 97.11, 99.06],
    [98.78, 99.86, 99.98, 99.99],
];
/// The paper's Table 2 (accuracy %); `None` where the paper gives "–".
const PAPER_ACC: [[Option<f64>; 4]; 4] = [
    [None, None, Some(79.52), Some(80.21)],
    [Some(80.56), Some(81.58), Some(81.75), Some(82.80)],
    [Some(82.27), Some(82.44), Some(81.93), Some(82.79)],
    [Some(82.61), Some(82.61), Some(82.61), Some(82.79)],
];
/// The paper's plain RBF-SVM baseline accuracy.
pub const PAPER_BASELINE: f64 = 82.79;

fn paper_index(k: u32, delta: f64) -> Option<(usize, usize)> {
    let i = PAPER_KS.iter().position(|&x| x == k)?;
    let j = PAPER_DELTAS
        .iter()
        .position(|&x| (x - delta).abs() < 1e-9)?;
    Some((i, j))
}

/// The paper's Table 1 leakage (%) at (k, Δ), if it has that cell.
pub fn paper_leak(k: u32, delta: f64) -> Option<f64> {
    paper_index(k, delta).map(|(i, j)| PAPER_LEAK[i][j])
}

/// The paper's Table 2 accuracy (%) at (k, Δ), if it has a value there.
pub fn paper_acc(k: u32, delta: f64) -> Option<f64> {
    paper_index(k, delta).and_then(|(i, j)| PAPER_ACC[i][j])
}

/// Human name of a record, e.g. "nEMO · openSMILE".
pub fn label(r: &RunRecord) -> String {
    let corpus = match r.corpus.as_str() {
        "emodb" => "EmoDB",
        "nemo" => "nEMO",
        other => other,
    };
    let feats = match r.features.as_str() {
        "opensmile" => "openSMILE feats",
        "privox" => "privox feats",
        other => other,
    };
    format!("{corpus} · {feats}")
}

fn opt(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{x:.2}"))
}

fn find(r: &RunRecord, k: u32, delta: f64) -> Option<&ConfigResult> {
    r.table
        .iter()
        .find(|c| c.k == Some(k) && c.delta.is_some_and(|d| (d - delta).abs() < 1e-9))
}

/// The (k, Δ) rows present in any record, in k then Δ order.
fn grid_rows(records: &[RunRecord]) -> Vec<(u32, f64)> {
    let mut rows: Vec<(u32, f64)> = records
        .iter()
        .flat_map(|r| r.table.iter().filter_map(|c| Some((c.k?, c.delta?))))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    rows.dedup();
    rows
}

fn header(records: &[RunRecord], first: &str) -> String {
    let mut s = format!("| {first} | paper (LEGO) |");
    for r in records {
        let _ = write!(s, " {} |", label(r));
    }
    s.push_str("\n|---|---|");
    for _ in records {
        s.push_str("---|");
    }
    s.push('\n');
    s
}

fn table1(records: &[RunRecord]) -> String {
    let mut s = header(records, "k, Δ");
    for (k, d) in grid_rows(records) {
        let _ = write!(s, "| {k}, {d} | {} |", opt(paper_leak(k, d)));
        for r in records {
            let _ = write!(
                s,
                " {} |",
                find(r, k, d).map_or("–".into(), |c| pm(c.leakage()))
            );
        }
        s.push('\n');
    }
    s
}

fn table2(records: &[RunRecord], metric: fn(&ConfigResult) -> (f64, f64), paper: bool) -> String {
    let mut s = header(records, "k, Δ");
    let _ = write!(
        s,
        "| RBF-SVM baseline | {} |",
        if paper {
            format!("{PAPER_BASELINE:.2}")
        } else {
            "–".into()
        }
    );
    for r in records {
        let _ = write!(
            s,
            " {} |",
            r.baseline.as_ref().map_or("–".into(), |b| pm(metric(b)))
        );
    }
    s.push('\n');
    for (k, d) in grid_rows(records) {
        let p = if paper {
            opt(paper_acc(k, d))
        } else {
            "–".into()
        };
        let _ = write!(s, "| {k}, {d} | {p} |");
        for r in records {
            let _ = write!(
                s,
                " {} |",
                find(r, k, d).map_or("–".into(), |c| pm(metric(c)))
            );
        }
        s.push('\n');
    }
    s
}

fn tuning(records: &[RunRecord]) -> String {
    let mut s = String::from(
        "| corpus · features | k | target % | Δ chosen (mean ± std over folds × seeds) | predicted on training pairs % | measured on held-out × training pairs % | within ±3 | accuracy % | UAR % |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in records {
        for c in &r.tuned {
            let target = c.target_percent.unwrap_or(f64::NAN);
            let (leak, leak_sd) = c.leakage();
            let ok = if (leak - target).abs() <= 3.0 {
                "yes"
            } else {
                "**no**"
            };
            let _ = writeln!(
                s,
                "| {} | {} | {target} | {} | {} | {} | {ok} | {} | {} |",
                label(r),
                c.k.unwrap_or(0),
                pm(c.chosen_delta()),
                pm(c.predicted_leak()),
                pm((leak, leak_sd)),
                pm(c.accuracy()),
                pm(c.uar()),
            );
        }
    }
    s
}

fn fmt_grid(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn setup(records: &[RunRecord]) -> String {
    let mut s = String::from(
        "| corpus · features | rows (neutral, angry) | speakers | features | mpc | key seeds | inner folds | log2 C | log2 γ | finished (UTC) |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in records {
        let _ = writeln!(
            s,
            "| {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} | {} |",
            label(r),
            r.n_rows,
            r.class_counts
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            r.n_speakers,
            r.n_features,
            r.mpc,
            r.key_seeds
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            r.grid.inner_folds,
            fmt_grid(&r.grid.log2_c),
            fmt_grid(&r.grid.log2_gamma),
            r.finished
        );
    }
    s
}

fn timing(records: &[RunRecord]) -> String {
    let mut s = String::from(
        "| corpus · features | baseline wall / CPU s | Table 1/2 grid wall / CPU s | Δ tuning wall / CPU s | threads | command |\n|---|---|---|---|---|---|\n",
    );
    for r in records {
        let tasks = r.table.len() * r.key_seeds.len() * r.n_speakers;
        let _ = writeln!(
            s,
            "| {} | {:.1} / {:.1} | {:.1} / {:.1} ({} outer fold fits) | {:.1} / {:.1} | {} | `{}` |",
            label(r),
            r.seconds_baseline.wall,
            r.seconds_baseline.cpu,
            r.seconds_table.wall,
            r.seconds_table.cpu,
            tasks,
            r.seconds_tuned.wall,
            r.seconds_tuned.cpu,
            r.threads,
            r.command
        );
    }
    s
}

/// Short console summary of one record.
pub fn console_summary(r: &RunRecord) -> String {
    let one = std::slice::from_ref(r);
    format!(
        "\n{}\nTable 1 (leakage %, held-out × training pairs)\n{}\nTable 2 (accuracy %)\n{}\nUAR %\n{}\nΔ tuning\n{}",
        label(r),
        table1(one),
        table2(one, ConfigResult::accuracy, true),
        table2(one, ConfigResult::uar, false),
        tuning(one)
    )
}

fn load_records(dir: &Path) -> Result<Vec<RunRecord>> {
    let mut records: Vec<RunRecord> = read_records(dir, "hashing")?;
    // EmoDB before nEMO, reference features before privox's.
    records.sort_by(|a, b| a.corpus.cmp(&b.corpus).then(a.features.cmp(&b.features)));
    Ok(records)
}

/// Sub-folder of OUT holding one hashing record per corpus and feature set.
pub const DATA_DIR: &str = "hashing-data";

const SKELETON: &str = "# Hashing approach: reproduction of Tables 1 and 2\n\n\
Generated by `privox repro hashing`; text outside the generated blocks is hand-written.\n";

/// Rewrites `out/hashing.md` and `out/hashing-frontier.svg` from every record in `out/hashing-data/`.
pub fn regenerate(out: &Path) -> Result<(PathBuf, PathBuf)> {
    let dir = out.join(DATA_DIR);
    let records = load_records(&dir)?;
    if records.is_empty() {
        return Err(ReproError::NoRecords { dir });
    }
    let doc_path = out.join("hashing.md");
    let svg_path = out.join("hashing-frontier.svg");
    let mut doc = read_or(&doc_path, SKELETON)?;
    put_block(&mut doc, "setup", &setup(&records));
    put_block(&mut doc, "table1", &table1(&records));
    put_block(
        &mut doc,
        "table2-accuracy",
        &table2(&records, ConfigResult::accuracy, true),
    );
    put_block(
        &mut doc,
        "table2-uar",
        &table2(&records, ConfigResult::uar, false),
    );
    put_block(&mut doc, "tuning", &tuning(&records));
    put_block(&mut doc, "timing", &timing(&records));
    write_text(&doc_path, &doc)?;
    plot::frontier(&svg_path, &records)?;
    Ok((doc_path, svg_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_values_are_indexed() {
        assert_eq!(paper_leak(3, 2.0), Some(27.69));
        assert_eq!(paper_acc(2, 2.0), None);
        assert_eq!(paper_acc(10, 3.5), Some(82.79));
    }
}
