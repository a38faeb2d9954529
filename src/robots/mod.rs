//! The three kinds of robots of workflow.md §3: 変換 (converter), 処理 (processing rules) and
//! 連携 (linkage actions with triggers). Definitions and pure logic only: the engine runs them,
//! the store keeps them.

pub mod bundle;
pub mod converter;
pub mod linkage;
pub mod processing;
pub mod rules;

pub use converter::Converter;
pub use linkage::{LinkAction, LinkageRobot, Trigger};
pub use processing::{BuiltinRule, ProcessingRobot, RuleKind};
