//! Integration tests: matching tables, bypass attempts, rules-file errors, properties, the
//! session cache, timeouts, the audit trail, composition, `check`/`explain` and the example file.

mod audit;
mod bad_files;
mod bypass;
mod composition;
mod example_file;
mod exec_matching;
mod explain;
mod patch;
mod permissions;
mod properties;
mod session;
mod support;
mod timeout;
mod user_input;
