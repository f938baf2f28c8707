//! Printing an error with its causes, once each.
//!
//! privox's error convention: a library error's message says what failed at
//! its own level, and the underlying error is its `source()`, never repeated
//! in the message. [`Report`] prints the whole chain:
//!
//! * `{}`: one line, `"top: cause: cause"` (for per-item lines, logs and
//!   HTTP problem details);
//! * `{:#}`: one cause per line, `"top\n  caused by: cause\n  caused by: …"`
//!   (what the `privox` binary prints after `error: `).
//!
//! A cause whose message is already contained in the text printed so far is
//! skipped, so an error that does embed its source (against the convention)
//! is still printed once.
//!
//! ```
//! use privox_format::Report;
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("cannot read the key file")]
//! struct KeyError(#[source] std::io::Error);
//!
//! let e = KeyError(std::io::Error::other("permission denied"));
//! assert_eq!(Report(&e).to_string(), "cannot read the key file: permission denied");
//! assert_eq!(
//!     format!("{:#}", Report(&e)),
//!     "cannot read the key file\n  caused by: permission denied"
//! );
//! ```

use std::error::Error;
use std::fmt;

/// Displays an error and its chain of sources, each message once (see the
/// module documentation for the two forms).
#[derive(Clone, Copy)]
pub struct Report<'a>(pub &'a (dyn Error + 'a));

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let separator = if f.alternate() {
            "\n  caused by: "
        } else {
            ": "
        };
        let mut printed = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(c) = cause {
            let message = c.to_string();
            if !message.is_empty() && !printed.contains(&message) {
                printed.push_str(separator);
                printed.push_str(&message);
            }
            cause = c.source();
        }
        f.write_str(&printed)
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:#}")
    }
}

#[cfg(test)]
mod tests {
    use super::Report;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("middle says: {0}")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn every_cause_once_in_both_forms() {
        let e = Outer(Middle(std::io::Error::other("disk on fire")));
        // `Middle` embeds its source (against the convention): printed once anyway.
        assert_eq!(Report(&e).to_string(), "outer: middle says: disk on fire");
        assert_eq!(
            format!("{:#}", Report(&e)),
            "outer\n  caused by: middle says: disk on fire"
        );
        let plain = std::io::Error::other("alone");
        assert_eq!(format!("{:#}", Report(&plain)), "alone");
    }
}
