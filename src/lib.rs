//! shukka (出荷): a terminal console that runs a futureshop shop's order-to-shipping workflow.

pub mod alloc;
pub mod backend;
pub mod cli;
pub mod cmd;
pub mod domain;
pub mod engine;
pub mod futureshop;
pub mod labels;
pub mod logging;
pub mod msg;
pub mod names;
pub mod normalize;
pub mod output;
pub mod paths;
pub mod rawjson;
pub mod robots;
pub mod sanitize;
pub mod secret;
pub mod server;
pub mod service;
pub mod sim;
pub mod store;
pub mod textfmt;
pub mod time;
pub mod tui;
pub mod user;
