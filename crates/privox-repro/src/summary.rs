//! `OUT/README.md`: which command produced the folder, and what each phase
//! cost, written from the phases' run records (`OUT/runs/<phase>.json`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::record::{PhaseRecord, RUNS_DIR};
use crate::report::{put_block, read_or, write_text};
use crate::{ReproError, Result};

/// The summary file under OUT.
pub const DOC: &str = "README.md";

const SKELETON: &str = "# Results of `privox repro`\n\n\
Every table and figure in this folder is written by `privox repro`; text \
outside the generated blocks is hand-written.\n";

/// Reads the run records of `phases` (in that order) from `OUT/runs/`.
pub fn read_phase_records(out: &Path, phases: &[&str]) -> Result<Vec<PhaseRecord>> {
    phases
        .iter()
        .map(|name| {
            let path = out.join(RUNS_DIR).join(format!("{name}.json"));
            let bytes = std::fs::read(&path).map_err(ReproError::io(&path))?;
            serde_json::from_slice(&bytes).map_err(|source| ReproError::Record {
                path,
                what: "phase run record",
                source,
            })
        })
        .collect()
}

/// The Markdown of the summary block: the command(s), then one row per
/// phase (start, end, wall, CPU, load average at its end) and the total.
pub fn markdown(records: &[PhaseRecord]) -> String {
    let mut md = String::new();
    let mut commands: Vec<&str> = records.iter().map(|r| r.command.as_str()).collect();
    commands.dedup();
    let _ = writeln!(
        md,
        "Produced by {}:\n",
        if commands.len() == 1 {
            "one command"
        } else {
            "these commands (the phases were not all run together)"
        }
    );
    let _ = writeln!(md, "```sh");
    for c in &commands {
        let _ = writeln!(md, "{c}");
    }
    let _ = writeln!(md, "```\n");
    if let Some(first) = records.first() {
        let _ = writeln!(
            md,
            "Corpora: {}; key seeds {:?}; {} worker threads; crate version {}.\n",
            first.corpora.join(", "),
            first.seeds,
            first.threads,
            first
                .versions
                .get("privox-repro")
                .map_or("?", String::as_str)
        );
    }
    let _ = writeln!(
        md,
        "| phase | started (UTC) | finished (UTC) | wall s | CPU s | load average at the end (1, 5, 15 min) |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    let (mut wall, mut cpu) = (0.0, 0.0);
    for r in records {
        wall += r.wall_s;
        cpu += r.cpu_s;
        let load = r.load_average.map_or("–".to_string(), |[a, b, c]| {
            format!("{a:.2}, {b:.2}, {c:.2}")
        });
        let started = if r.started_utc.is_empty() {
            "–"
        } else {
            &r.started_utc
        };
        let _ = writeln!(
            md,
            "| {} | {started} | {} | {:.1} | {:.1} | {load} |",
            r.phase, r.finished_utc, r.wall_s, r.cpu_s
        );
    }
    let _ = writeln!(
        md,
        "| **total** | | | **{wall:.1}** ({:.1} min) | **{cpu:.1}** | |",
        wall / 60.0
    );
    md
}

/// Rewrites the summary block of `OUT/README.md` from the run records of
/// `phases`; returns its path.
pub fn write(out: &Path, phases: &[&str]) -> Result<PathBuf> {
    let records = read_phase_records(out, phases)?;
    let path = out.join(DOC);
    let mut doc = read_or(&path, SKELETON)?;
    put_block(&mut doc, "run-summary", &markdown(&records));
    write_text(&path, &doc)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(phase: &str, command: &str, wall_s: f64) -> PhaseRecord {
        PhaseRecord {
            phase: phase.into(),
            corpora: vec!["data/demo".into()],
            quick: true,
            seeds: vec![1],
            versions: crate::record::crate_versions(),
            parameters: serde_json::Value::Null,
            wall_s,
            cpu_s: 2.0 * wall_s,
            threads: 2,
            command: command.into(),
            started_utc: String::new(),
            finished_utc: "2026-12-02 14:00".into(),
            load_average: Some([1.0, 0.5, 0.25]),
            files: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn one_command_and_the_total_are_shown() {
        let md = markdown(&[
            record("a", "privox repro", 60.0),
            record("b", "privox repro", 30.0),
        ]);
        assert!(md.contains("one command"), "{md}");
        assert!(md.contains("**90.0** (1.5 min)"), "{md}");
        assert!(md.contains("1.00, 0.50, 0.25"), "{md}");
    }

    #[test]
    fn mixed_commands_are_admitted() {
        let md = markdown(&[record("a", "x", 1.0), record("b", "y", 1.0)]);
        assert!(md.contains("not all run together"), "{md}");
    }

    #[test]
    fn summary_is_written_from_the_records() {
        let dir = tempfile::tempdir().unwrap();
        let r = record("a", "privox repro", 5.0);
        crate::record::write_record(&dir.path().join(RUNS_DIR).join("a.json"), &r).unwrap();
        let path = write(dir.path(), &["a"]).unwrap();
        let doc = std::fs::read_to_string(path).unwrap();
        assert!(doc.starts_with("# Results of `privox repro`"));
        assert!(doc.contains("BEGIN GENERATED: run-summary"));
        assert!(matches!(
            write(dir.path(), &["missing"]),
            Err(ReproError::Io { .. })
        ));
    }
}
