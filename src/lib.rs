//! shukka (出荷): a terminal console that runs a futureshop shop's order-to-shipping workflow.

pub mod cli;
pub mod cmd;
pub mod futureshop;
pub mod logging;
pub mod sanitize;
pub mod secret;
pub mod sim;
pub mod textfmt;
pub mod time;
