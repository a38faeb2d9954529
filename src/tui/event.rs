//! What reaches the console's one event loop, and what the console asks the loop to do.

use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::KeyEvent;

use crate::domain::InstructionSummary;
use crate::engine::labels::ExportRequest;
use crate::labels::{ExportReport, ImportReport};
use crate::server::client::DisconnectReason;
use crate::service::{Reply, Request, ServiceError};
use crate::store::StoreEvent;

/// Everything that reaches the event loop.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per reply, moved once into the app
pub enum AppEvent {
    Key(KeyEvent),
    Resize(u16, u16),
    /// A clock tick (once a second): only redraws when visible text changes.
    Tick,
    Store(Arc<StoreEvent>),
    /// Events were dropped (the console fell behind): reload.
    Lagged,
    Reply(Tag, Result<Reply, ServiceError>),
    Summaries(Result<Vec<InstructionSummary>, ServiceError>),
    /// The link to the server: `None` while up, why not otherwise.
    Connection(Option<DisconnectReason>),
    /// A background task failed unexpectedly (shown, not fatal).
    TaskFailed(Failure),
    /// A label file was written by this console (where), or why not.
    LabelsExported(Result<(PathBuf, ExportReport), String>),
    /// A carrier's file was read and sent (a trial run or for real), or why not.
    TrackingImported(PathBuf, Result<ImportReport, String>),
}

/// What went wrong outside the app's own code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Reading the terminal failed (the error as the OS gave it).
    Input(String),
    /// A background task panicked.
    TaskPanicked,
}

/// What a reply is for: who gets it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    Counts,
    /// The first screen of 出荷指示, ahead of the whole list.
    FirstScreen,
    Intake,
    Robots,
    Checklist,
    Runs,
    Audit,
    ShipFroms,
    Auths,
    Products,
    Detail(u64),
    IntakeError(u64),
    /// An action: the message to show when it succeeds.
    Done(String),
    DryRun(String),
    SavedAuth,
    Test,
    /// A step of the setup guide.
    Guide(u8),
    /// The carrier profiles, for a label export of these instructions.
    Profiles(Vec<u64>),
    /// A 同梱 group for its popup (after a decision: what was decided).
    Bundle(Option<String>),
}

/// What the event loop must do for the app.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // a handful per key press; boxing buys nothing
pub enum Effect {
    Call(Tag, Request),
    LoadSummaries,
    /// Export labels; this console writes the file (into its labels directory).
    ExportLabels(ExportRequest),
    /// Read a carrier's file (as this console's user) and send it for import.
    ImportTracking {
        path: PathBuf,
        dry_run: bool,
    },
    Quit,
}

/// The requests of one action, each reporting `msg` when it succeeds.
pub fn done_calls(reqs: Vec<Request>, msg: &str) -> Vec<Effect> {
    reqs.into_iter()
        .map(|r| Effect::Call(Tag::Done(msg.to_string()), r))
        .collect()
}
