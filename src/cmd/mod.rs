//! Implementations of the command-line subcommands (parsing lives in `cli.rs`).

pub mod fs;
pub mod sim;
