//! Integration tests: everything runs for real on loopback (simulator, HTTP, sled, pty).

mod common;
mod futureshop_client;
mod simulator;
mod store_cli;
mod workflow;
