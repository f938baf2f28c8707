//! Shared by the CLI's end-to-end tests.

use std::process::Command;

/// Runs the `privox` binary; returns (success, stdout + stderr).
pub fn privox(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_privox"))
        .args(args)
        .output()
        .expect("run privox");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
