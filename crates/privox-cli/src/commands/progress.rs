//! The progress bar of the CLI's long-running verbs, one style for all.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps: `what [=====>    ] pos/len unit, elapsed (eta …)`.
pub fn bar(len: u64, what: &str, unit: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{{msg}} [{{bar:30}}] {{pos}}/{{len}} {unit}, {{elapsed}} (eta {{eta}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}
