//! Markdown helpers shared by every report: generated blocks and formatting.
//!
//! Every block between `<!-- BEGIN GENERATED: name -->` and
//! `<!-- END GENERATED: name -->` is rewritten from the run records; the
//! discussion outside the blocks is preserved, so the numbers are never
//! hand-typed.

use std::fmt::Write as _;
use std::path::Path;

use crate::{ReproError, Result};

/// Replaces (or appends) the generated block `name` in `doc`.
pub fn put_block(doc: &mut String, name: &str, body: &str) {
    let begin = format!("<!-- BEGIN GENERATED: {name} -->");
    let end = format!("<!-- END GENERATED: {name} -->");
    let block = format!("{begin}\n{body}{end}");
    if let (Some(b), Some(e)) = (doc.find(&begin), doc.find(&end))
        && b < e
    {
        doc.replace_range(b..e + end.len(), &block);
        return;
    }
    let _ = write!(doc, "\n{block}\n");
}

/// Reads the Markdown file `path`, or `skeleton` when it does not exist yet.
pub fn read_or(path: &Path, skeleton: &str) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(skeleton.to_string()),
        Err(e) => Err(ReproError::io(path)(e)),
    }
}

/// Writes a Markdown (or SVG) text atomically.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    privox_format::write_atomic(path, text.as_bytes()).map_err(ReproError::write(path))
}

/// `mean ± std` with two decimals, `n/a` for NaN.
pub fn pm((m, s): (f64, f64)) -> String {
    if m.is_nan() {
        "n/a".into()
    } else {
        format!("{m:.2} ± {s:.2}")
    }
}

/// The current UTC time as `YYYY-MM-DD HH:MM`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_replaced_not_duplicated() {
        let mut doc = String::from("intro\n");
        put_block(&mut doc, "t", "one\n");
        doc.push_str("discussion\n");
        put_block(&mut doc, "t", "two\n");
        assert!(doc.contains("two") && !doc.contains("one"));
        assert!(doc.starts_with("intro") && doc.contains("discussion"));
        assert_eq!(doc.matches("BEGIN GENERATED: t").count(), 1);
    }

    #[test]
    fn utc_now_is_a_date() {
        let s = utc_now();
        assert!(s.starts_with("20") && s.len() == 16, "{s}");
    }
}
