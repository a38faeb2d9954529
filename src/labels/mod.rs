//! 送り状: carrier label files out and tracking numbers back in.
//!
//! - `profile`: a carrier's layout, codes and import format, as data (four built in).
//! - `delivery`: the delivery decision per shipment (carrier, service, time code) from the
//!   shop's rules, or a hold reason.
//! - `charset`: what carrier software accepts (JIS X 0208 in CP932, byte limits).
//! - `export`: one row per shipment and the file.
//! - `import`: the carrier's issued-data file read back.
//!
//! The engine (`engine/labels.rs`) selects the instructions, marks what was exported, and
//! registers the tracking numbers; this module never touches the store.

pub mod charset;
pub mod delivery;
pub mod export;
pub mod import;
pub mod profile;

pub use delivery::{DeliveryDecision, LabelSettings, Outcome};
pub use export::{ExportReport, ExportedShipment, Skipped};
pub use import::{ImportReport, ImportedRow, RowOutcome};
pub use profile::Profile;
