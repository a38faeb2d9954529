//! shukka (出荷): a terminal console that runs a futureshop shop's order-to-shipping workflow.

pub mod cli;
pub mod cmd;
pub mod domain;
pub mod futureshop;
pub mod logging;
pub mod sanitize;
pub mod secret;
pub mod sim;
pub mod textfmt;
pub mod time;
pub mod robots;
pub mod store;
pub mod user;
pub mod engine;
pub mod service;
pub mod paths;
