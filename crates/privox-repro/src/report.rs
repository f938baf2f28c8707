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
    format_utc(time::OffsetDateTime::now_utc())
}

/// `t` (taken as UTC) as `YYYY-MM-DD HH:MM`.
fn format_utc(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
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
    fn utc_dates_are_formatted() {
        let t = time::OffsetDateTime::from_unix_timestamp(1_709_210_096).unwrap();
        assert_eq!(format_utc(t), "2024-02-29 12:34");
        assert_eq!(
            format_utc(time::OffsetDateTime::UNIX_EPOCH),
            "1970-01-01 00:00"
        );
    }

    #[test]
    fn utc_now_is_a_date() {
        let s = utc_now();
        assert!(s.starts_with("20") && s.len() == 16, "{s}");
    }
}
