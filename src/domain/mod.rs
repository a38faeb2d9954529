//! The domain of workflow.md: shipping instructions and their queues, setup records, logs.
//! Japanese names are identifiers: they appear verbatim in the UI, the CLI and the data.

mod bundle;
mod instruction;
mod log;
mod setup;
mod shipping;

pub use bundle::*;
pub use instruction::*;
pub use log::*;
pub use setup::*;
pub use shipping::*;
