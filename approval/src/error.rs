//! The crate's one error type.

use std::path::PathBuf;

/// What can go wrong in `delegate-approval`: a rules file that cannot be used, or an audit trail
/// that cannot be written. Neither ever turns into an approval.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The rules file is not valid: bad TOML, an unknown key, an unknown decision, a bad glob, a
    /// rule that matches nothing. Nothing from the file is used.
    #[error("{}", invalid_rules(.file.as_ref(), *.line, *.column, .message))]
    InvalidRules {
        /// The file, when the rules came from one.
        file: Option<PathBuf>,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// The rules file could not be read.
    #[error("cannot read rules file {}: {source}", .path.display())]
    ReadRules {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The audit trail could not be opened or written; the decision it was meant to record is
    /// refused.
    #[error("cannot write audit trail {}: {source}; check the path and free space", .path.display())]
    Audit {
        /// The audit file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn invalid_rules(file: Option<&PathBuf>, line: usize, column: usize, message: &str) -> String {
    match file {
        Some(file) => {
            format!(
                "invalid rules file {}: line {line}, column {column}: {message}",
                file.display()
            )
        }
        None => format!("invalid rules: line {line}, column {column}: {message}"),
    }
}

impl Error {
    /// For [`Error::InvalidRules`], the line of the problem.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::InvalidRules { line, .. } => Some(*line),
            _ => None,
        }
    }
}
