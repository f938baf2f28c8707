//! The paper's Table 4 *encrypted*: every polynomial network of the
//! plaintext Table 4 (`privox-nn --example table4`) trained under the same
//! leave-one-speaker-out protocol, its test speaker classified under CKKS,
//! and every encrypted decision compared with the plaintext network's.
//!
//! ```sh
//! cargo run --release -p privox-cryptonet --example table4_encrypted -- \
//!     [--csv FILE]... [--seeds 1] [--packing batch|single] [--cells all|he-aware] \
//!     [--recipe paper|robust] [--out table.md]
//! ```
//!
//! Defaults: the reference openSMILE features of `../shared/data/{emodb,nemo}`
//! (read at run time, never copied), seed 1, batch packing, all cells, the
//! paper's recipe (the published plaintext table).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use privox_cryptonet::Packing;
use privox_cryptonet::crossval::{EncryptedCell, encrypted_cross_validate};
use privox_data::{ClassSet, FeatureTable, leave_one_group_out, mean_std, shared_dir};
use privox_nn::protocol::{ProtocolConfig, Recipe, Table4Cells, encryptable, paper_table4_value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut csvs: Vec<PathBuf> = Vec::new();
    let mut seeds = 1u64;
    let mut packing = Packing::Batch;
    let mut cells = "all".to_string();
    let mut recipe_name = "paper".to_string();
    let mut out: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--csv" => csvs.push(val()?.into()),
            "--seeds" => seeds = val()?.parse()?,
            "--packing" => {
                let v = val()?;
                packing = Packing::parse(&v).ok_or(format!("--packing batch|single, got {v}"))?
            }
            "--cells" => cells = val()?,
            "--recipe" => recipe_name = val()?,
            "--out" => out = Some(val()?.into()),
            o => return Err(format!("unknown option {o} (see the example's doc comment)").into()),
        }
    }
    if csvs.is_empty() {
        let Some(shared) = shared_dir() else {
            eprintln!("skipping: ../shared/data not found (pass --csv FILE)");
            return Ok(());
        };
        for c in ["emodb", "nemo"] {
            csvs.push(
                shared
                    .join("data")
                    .join(c)
                    .join("egemaps_v02_opensmile.csv"),
            );
        }
    }
    let recipe = Recipe::named(&recipe_name).ok_or("--recipe paper|robust")?;
    let cells = Table4Cells::parse(&cells).ok_or("--cells all|he-aware")?;
    let jobs = encryptable(cells.networks());
    let proto = ProtocolConfig {
        train: recipe.train.clone(),
        selection: recipe.selection.clone(),
        seeds: (1..=seeds).collect(),
        clip_inputs: Some(1.0),
    };
    let mut md = String::new();
    writeln!(
        md,
        "Settings: recipe {recipe_name}, {} packing, seeds 1..={seeds}, leave-one-speaker-out, neutral vs angry, test features clamped to [-1, 1].\n",
        packing.name()
    )?;
    for csv in &csvs {
        let t = Instant::now();
        let table = FeatureTable::read_csv(csv)?;
        let data = table.to_dataset(&ClassSet::neutral_angry())?;
        let folds = leave_one_group_out(&data.groups, &data.group_names);
        let done = AtomicUsize::new(0);
        let total = folds.len() * jobs.len() * seeds as usize;
        let progress = || {
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            eprint!(
                "\r{}: {d}/{total} trainings + encrypted evaluations",
                csv.display()
            );
        };
        let cells = encrypted_cross_validate(&data, &folds, &jobs, &proto, packing, &progress)?;
        eprintln!();
        writeln!(
            md,
            "### {} ({} rows, {} speakers; {:.0} s)\n",
            csv.display(),
            data.len(),
            folds.len(),
            t.elapsed().as_secs_f64()
        )?;
        md.push_str(&render(&cells));
    }
    print!("{md}");
    if let Some(p) = out {
        std::fs::write(p, &md)?;
    }
    Ok(())
}

fn render(cells: &[EncryptedCell]) -> String {
    let mut s = String::from(
        "| network | paper (encrypted) acc. % | plaintext acc. % | encrypted acc. % | plaintext UAR % | encrypted UAR % | decisions equal | max \\|score error\\| (bits) | server ms/query (median) |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in cells {
        let ms = |f: &dyn Fn(&privox_cryptonet::crossval::EncryptedRun) -> f64| {
            let v: Vec<f64> = c.runs.iter().map(f).collect();
            let (m, sd) = mean_std(&v);
            if v.len() > 1 {
                format!("{m:.2} ± {sd:.2}")
            } else {
                format!("{m:.2}")
            }
        };
        let rows: usize = c.runs.iter().map(|r| r.rows).sum();
        let agree: usize = c.runs.iter().map(|r| r.agree).sum();
        let err = c.runs.iter().map(|r| r.max_abs_error).fold(0.0, f64::max);
        let mut server: Vec<f64> = c
            .runs
            .iter()
            .flat_map(|r| r.server_ms.iter().copied())
            .collect();
        server.sort_by(f64::total_cmp);
        let med = server.get(server.len() / 2).copied().unwrap_or(0.0);
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {agree}/{rows} ({:.2} %) | {err:.1e} ({:.1}) | {med:.1} |\n",
            c.name,
            paper_table4_value(&c.name),
            ms(&|r| 100.0 * r.plain.accuracy()),
            ms(&|r| 100.0 * r.encrypted.accuracy()),
            ms(&|r| 100.0 * r.plain.uar()),
            ms(&|r| 100.0 * r.encrypted.uar()),
            100.0 * agree as f64 / rows.max(1) as f64,
            -err.max(f64::MIN_POSITIVE).log2(),
        ));
    }
    let dis: Vec<String> =
        cells
            .iter()
            .flat_map(|c| {
                c.runs.iter().flat_map(move |r| {
                    r.disagreements.iter().map(move |d| {
                    format!(
                        "- {} (seed {}): {} — plaintext margin {:.2e}, its score error {:.2e}{}",
                        c.name,
                        r.seed,
                        d.file,
                        d.margin,
                        d.error,
                        if d.margin <= 2.0 * d.error { "" } else { " — NOT explained by the error" }
                    )
                })
                })
            })
            .collect();
    s.push('\n');
    if dis.is_empty() {
        s.push_str("Every encrypted decision equals the plaintext network's.\n\n");
    } else {
        s.push_str("Recordings whose encrypted decision differs:\n\n");
        s.push_str(&dis.join("\n"));
        s.push_str("\n\n");
    }
    let plans: Vec<String> = cells
        .iter()
        .filter_map(|c| c.runs.first().map(|r| format!("- {}: {}", c.name, r.plan)))
        .collect();
    s.push_str("Plans:\n\n");
    s.push_str(&plans.join("\n"));
    s.push_str("\n\n");
    s
}
