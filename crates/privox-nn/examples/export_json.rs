//! Exports a `.pvxnn` model as JSON for the anchor implementations in
//! `bench/cryptonet/` (TenSEAL, OpenFHE), and optionally the scaled test
//! features with the plaintext logits of the folded network, so that an anchor
//! can check its decrypted decisions against the exact plaintext network.
//!
//! ```sh
//! cargo run --release -p privox-nn --example export_json -- \
//!     --model M.pvxnn --out model.json [--features F.csv --scaled-out scaled.json [--all-rows]]
//! ```
//!
//! `model.json`:
//! `{"n_inputs", "n_classes", "class_names", "feature_names", "scaler": {"min", "max"},
//!   "input_range", "activation_max", "fingerprint", "description",
//!   "layers": [{"type": "affine", "inputs", "outputs", "weights", "bias"} |
//!              {"type": "poly", "coeffs", "interval"} | {"type": "relu"}]}`.
//! `weights` is row-major `inputs × outputs` (`y = x·W + b`, as in
//! [`privox_nn::Affine`]); `coeffs` are lowest degree first.
//!
//! `scaled.json`: `{"files", "labels", "y", "clip", "n_clipped", "x", "logits", "predictions"}`.
//! `x` is what a client encrypts: the raw features scaled with the model's
//! min-max scaler to [-1, 1] and clamped to `[-input_range, input_range]`,
//! exactly as `privox nn eval --model` does; `logits` are
//! [`privox_nn::FoldedMlp::logits`] of `x`. By default only the rows whose label
//! is one of the model's classes are kept (the rows `privox nn eval --model`
//! scores; `y` is the class index); `--all-rows` keeps every row (`y` = -1 for
//! other labels).

use std::fmt::Write as _;
use std::path::PathBuf;

use privox_data::{ClassSet, FeatureTable, Matrix, MinMaxScaler};
use privox_format::{Fingerprint, Magic, Reader, Writer};
use privox_nn::{Activation, FoldedLayer, NnModel, argmax_rows};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "usage: export_json --model M.pvxnn --out model.json \
[--features F.csv --scaled-out scaled.json [--all-rows]]";

struct Args {
    model: PathBuf,
    out: PathBuf,
    features: Option<PathBuf>,
    scaled_out: Option<PathBuf>,
    all_rows: bool,
}

fn parse_args() -> Res<Args> {
    let (mut model, mut out, mut features, mut scaled_out, mut all_rows) =
        (None, None, None, None, false);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .map(PathBuf::from)
                .ok_or(format!("{a} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--model" => model = Some(val()?),
            "--out" => out = Some(val()?),
            "--features" => features = Some(val()?),
            "--scaled-out" => scaled_out = Some(val()?),
            "--all-rows" => all_rows = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {a:?}\n{USAGE}").into()),
        }
    }
    if features.is_some() != scaled_out.is_some() {
        return Err(format!("--features and --scaled-out go together\n{USAGE}").into());
    }
    Ok(Args {
        model: model.ok_or(USAGE)?,
        out: out.ok_or(USAGE)?,
        features,
        scaled_out,
        all_rows,
    })
}

/// The scaler's per-feature minimum and maximum. `MinMaxScaler` keeps them
/// private; its own serialisation (two f64 lists) gives them back exactly.
fn scaler_ranges(s: &MinMaxScaler) -> Res<(Vec<f64>, Vec<f64>)> {
    const MAGIC: Magic = Magic(*b"PVXEXPRT");
    let mut w = Writer::new(MAGIC, 1, Fingerprint::default());
    s.write_to(&mut w);
    let bytes = w.finish();
    let mut r = Reader::open(&bytes, MAGIC, &[1])?;
    let min = r.get_f64s(1 << 16)?;
    let max = r.get_f64s(1 << 16)?;
    r.finish()?;
    Ok((min, max))
}

/// A JSON number: Rust's shortest round-trip form (`{:?}`) is valid JSON for
/// finite values (`1e-5`, `-0.0`, `0.25`); non-finite values are refused.
fn num(out: &mut String, v: f64) -> Res<()> {
    if !v.is_finite() {
        return Err(format!("non-finite value {v} cannot be written as JSON").into());
    }
    write!(out, "{v:?}")?;
    Ok(())
}

fn nums(out: &mut String, v: &[f64]) -> Res<()> {
    out.push('[');
    for (i, &x) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        num(out, x)?;
    }
    out.push(']');
    Ok(())
}

fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn strings(out: &mut String, v: &[String]) {
    out.push('[');
    for (i, s) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(out, s);
    }
    out.push(']');
}

fn rows(out: &mut String, m: &Matrix) -> Res<()> {
    out.push('[');
    for (i, r) in m.iter_rows().enumerate() {
        out.push_str(if i > 0 { ",\n " } else { "\n " });
        nums(out, r)?;
    }
    out.push_str("\n]");
    Ok(())
}

fn model_json(m: &NnModel) -> Res<String> {
    let (min, max) = scaler_ranges(&m.scaler)?;
    let mut o = String::new();
    write!(
        o,
        "{{\"n_inputs\":{},\"n_classes\":{},\"class_names\":",
        m.network.n_inputs(),
        m.network.n_classes()
    )?;
    strings(&mut o, &m.class_names);
    o.push_str(",\n\"feature_names\":");
    strings(&mut o, &m.feature_names);
    o.push_str(",\n\"scaler\":{\"min\":");
    nums(&mut o, &min)?;
    o.push_str(",\"max\":");
    nums(&mut o, &max)?;
    o.push_str("},\n\"input_range\":");
    num(&mut o, m.input_range)?;
    o.push_str(",\"activation_max\":");
    nums(&mut o, &m.activation_max)?;
    o.push_str(",\"fingerprint\":");
    string(&mut o, &m.fingerprint().to_string());
    o.push_str(",\"description\":");
    string(&mut o, &m.description);
    o.push_str(",\n\"layers\":[");
    for (i, l) in m.network.layers().iter().enumerate() {
        o.push_str(if i > 0 { ",\n" } else { "\n" });
        match l {
            FoldedLayer::Affine(a) => {
                write!(
                    o,
                    "{{\"type\":\"affine\",\"inputs\":{},\"outputs\":{},\"weights\":",
                    a.inputs, a.outputs
                )?;
                nums(&mut o, &a.weights)?;
                o.push_str(",\"bias\":");
                nums(&mut o, &a.bias)?;
                o.push('}');
            }
            FoldedLayer::Activation(Activation::Poly(p)) => {
                o.push_str("{\"type\":\"poly\",\"coeffs\":");
                nums(&mut o, p.poly.coeffs())?;
                o.push_str(",\"interval\":");
                num(&mut o, p.interval)?;
                o.push('}');
            }
            FoldedLayer::Activation(Activation::Relu) => o.push_str("{\"type\":\"relu\"}"),
        }
    }
    o.push_str("\n]}\n");
    Ok(o)
}

fn scaled_json(m: &NnModel, features: &std::path::Path, all_rows: bool) -> Res<(String, usize)> {
    let table = FeatureTable::read_csv(features)?;
    if table.feature_names != m.feature_names {
        return Err(format!(
            "{}: the feature columns differ from the model's ({} vs {} features)",
            features.display(),
            table.feature_names.len(),
            m.feature_names.len()
        )
        .into());
    }
    let classes = ClassSet::new(m.class_names.iter().cloned())?;
    let keep: Vec<usize> = (0..table.len())
        .filter(|&i| all_rows || classes.index_of(&table.labels[i]).is_some())
        .collect();
    if keep.is_empty() {
        return Err(format!(
            "{}: no row has one of the model's classes {:?}",
            features.display(),
            m.class_names
        )
        .into());
    }
    let mut x = m.scale(&table.x.select_rows(&keep))?;
    // As `privox nn eval --model`: the client clamps to the model's input range.
    let clip = m.input_range;
    let n_clipped = x.as_slice().iter().filter(|v| v.abs() > clip).count();
    privox_nn::protocol::clamp(&mut x, clip);
    let logits = m.network.logits(&x)?;
    let pred = argmax_rows(&logits);
    let mut o = String::new();
    let pick = |v: &[String]| keep.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
    o.push_str("{\"files\":");
    strings(&mut o, &pick(&table.files));
    o.push_str(",\n\"labels\":");
    strings(&mut o, &pick(&table.labels));
    o.push_str(",\n\"y\":[");
    for (k, &i) in keep.iter().enumerate() {
        if k > 0 {
            o.push(',');
        }
        match classes.index_of(&table.labels[i]) {
            Some(c) => write!(o, "{c}")?,
            None => o.push_str("-1"),
        }
    }
    o.push_str("],\n\"predictions\":[");
    for (k, p) in pred.iter().enumerate() {
        if k > 0 {
            o.push(',');
        }
        write!(o, "{p}")?;
    }
    o.push_str("],\n\"clip\":");
    num(&mut o, clip)?;
    write!(o, ",\"n_clipped\":{n_clipped},\n\"x\":")?;
    rows(&mut o, &x)?;
    o.push_str(",\n\"logits\":");
    rows(&mut o, &logits)?;
    o.push_str("}\n");
    Ok((o, keep.len()))
}

fn main() -> Res<()> {
    let a = parse_args()?;
    let model = NnModel::load(&a.model)?;
    std::fs::write(&a.out, model_json(&model)?)?;
    eprintln!(
        "{} ({}) -> {}",
        a.model.display(),
        model.fingerprint(),
        a.out.display()
    );
    if let (Some(f), Some(s)) = (&a.features, &a.scaled_out) {
        let (json, n) = scaled_json(&model, f, a.all_rows)?;
        std::fs::write(s, json)?;
        eprintln!("{n} rows of {} -> {}", f.display(), s.display());
    }
    Ok(())
}
