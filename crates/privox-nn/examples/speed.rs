//! Speed of one leave-one-speaker-out fold on nEMO and of plaintext inference.
//!
//! ```sh
//! cargo run --release -p privox-nn --example speed [-- CSV [SPEAKER]]
//! ```
//! CSV defaults to `../shared/data/nemo/egemaps_v02_opensmile.csv` (read at
//! run time, never committed); SPEAKER to the first speaker.

use std::time::Instant;

// CPU time beside wall time: the machine is shared.
use cpu_time::ProcessTime;

use privox_data::ConfusionMatrix;
use privox_data::protocol::Fit;
use privox_data::{ClassSet, FeatureTable, leave_one_group_out, shared_file};
use privox_nn::protocol::{EpochSelection, MlpLearner, Recipe};
use privox_nn::{Activation, Matrix, NetworkSpec, PolyActivation, TrainConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let csv = match args.first() {
        Some(p) => p.into(),
        None => match shared_file("data/nemo/egemaps_v02_opensmile.csv") {
            Some(path) => path,
            None => {
                eprintln!(
                    "skipping: ../shared/data/nemo/egemaps_v02_opensmile.csv not found (pass a feature CSV)"
                );
                return Ok(());
            }
        },
    };
    let data = FeatureTable::read_csv(&csv)?.to_dataset(&ClassSet::neutral_angry())?;
    let folds = leave_one_group_out(&data.groups, &data.group_names);
    let fold = match args.get(1) {
        Some(s) => folds
            .iter()
            .find(|f| &f.name == s)
            .ok_or("no such speaker")?,
        None => &folds[0],
    };
    println!(
        "corpus {} rows × {} features; fold '{}': {} train, {} test; rayon threads {}",
        data.len(),
        data.x.cols(),
        fold.name,
        fold.train.len(),
        fold.test.len(),
        rayon::current_num_threads()
    );
    let p2 = Activation::Poly(PolyActivation::preset("p2").ok_or("preset")?);
    for (name, spec) in [
        ("ReLU, no BN", NetworkSpec::paper(false, Activation::Relu)),
        ("ReLU + BN", NetworkSpec::paper(true, Activation::Relu)),
        ("HE-aware p2 + BN", NetworkSpec::he_aware(p2)),
    ] {
        let paper = Recipe::paper();
        for (opt_name, recipe) in [
            ("paper", paper.clone()),
            (
                "adam",
                Recipe {
                    train: TrainConfig {
                        optimizer: privox_nn::Optimizer::adam(1e-3),
                        ..TrainConfig::default()
                    },
                    ..paper
                },
            ),
            ("robust", Recipe::robust()),
        ] {
            let (t, c) = (Instant::now(), ProcessTime::now());
            let fitted = MlpLearner::new(spec.clone(), &recipe).fit(&data, &fold.train)?;
            let (secs, cpu) = (t.elapsed().as_secs_f64(), c.elapsed().as_secs_f64());
            let x = fitted.scaler.transform(&data.x.select_rows(&fold.test))?;
            let pred = fitted.trained.network.predict(&x)?;
            let truth: Vec<usize> = fold.test.iter().map(|&i| data.y[i]).collect();
            println!(
                "{name:18} {opt_name:9}: trained in {secs:6.2} s wall, {cpu:6.2} s CPU, {} epochs (best {}), test UAR {:.2} %",
                fitted.trained.history.len(),
                fitted.trained.best_epoch,
                100.0 * ConfusionMatrix::from_predictions(2, &truth, &pred)?.uar()
            );
        }
    }

    // Inference throughput of the folded network (scaled features in, classes out).
    let spec = NetworkSpec::he_aware(Activation::Poly(
        PolyActivation::preset("p2").ok_or("preset")?,
    ));
    let paper = Recipe {
        train: TrainConfig::default(),
        selection: EpochSelection::Holdout {
            val_folds: 4,
            class_aware: false,
        },
    };
    let fitted = MlpLearner::new(spec, &paper).fit(&data, &fold.train)?;
    let folded = fitted.trained.network.fold()?;
    let scaled = fitted.scaler.transform(&data.x)?;
    let n = 200_000;
    let mut reps = Vec::with_capacity(n * data.x.cols());
    for i in 0..n {
        reps.extend_from_slice(scaled.row(i % scaled.rows()));
    }
    let big = Matrix::new(n, data.x.cols(), reps)?;
    for (label, batch) in [
        ("one batch of 200000, all cores", n),
        ("batches of 256, one core", 256),
    ] {
        let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..3 {
            let (t, c) = (Instant::now(), ProcessTime::now());
            let mut count = 0usize;
            for start in (0..n).step_by(batch) {
                let idx: Vec<usize> = (start..(start + batch).min(n)).collect();
                count += folded
                    .predict(&big.select_rows(&idx))?
                    .iter()
                    .filter(|&&c| c == 1)
                    .count();
            }
            best = best.min(t.elapsed().as_secs_f64());
            best_cpu = best_cpu.min(c.elapsed().as_secs_f64());
            std::hint::black_box(count);
        }
        println!(
            "folded HE-aware p2 inference, {label}: {n} samples in {best:.3} s wall = {:.0} samples/s \
             ({best_cpu:.2} s CPU = {:.0} samples per CPU-second)",
            n as f64 / best,
            n as f64 / best_cpu
        );
    }
    Ok(())
}
