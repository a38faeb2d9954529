//! The service API: every operation the CLI and the console perform, as serializable requests.
//! In one process they run against the engine directly ([`Backend::Local`]); with a `shukka
//! serve` running they travel over its Unix socket, so that one process owns the store.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::domain::*;
use crate::engine::{CheckItem, DryRunChange, Engine, EngineError, RunOptions, ShipRequest};
use crate::robots::converter::Converter;
use crate::robots::linkage::{LinkageRobot, RobotRole, Trigger};
use crate::robots::processing::ProcessingRobot;
use crate::robots::rules::UserRule;
use crate::secret::Secret;
use crate::store::{Counts, SyncCursor, backup};

/// The most rows a first screen may ask for (a 4K terminal has fewer lines).
const FIRST_SCREEN_MAX: usize = 500;

/// Every operation. Field names are part of the wire protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Counts,
    Summaries {
        status: Option<Status>,
    },
    /// The first `rows` of a queue in the console's order: a console's first screen of
    /// 出荷指示 before the whole list has arrived.
    FirstScreen {
        status: Status,
        rows: usize,
    },
    Instruction {
        id: u64,
    },
    FindOrder {
        order_no: String,
    },
    History {
        id: u64,
    },
    /// Every intake error, without its raw order.
    IntakeErrors,
    /// One intake error with its raw order and how the converter reads it.
    IntakeError {
        id: u64,
    },
    Hold {
        id: u64,
        version: Option<u64>,
        reason: String,
    },
    Release {
        id: u64,
        version: Option<u64>,
    },
    /// 出荷後キャンセル: what was done about it.
    AcknowledgeLateCancel {
        id: u64,
        version: Option<u64>,
        action: crate::domain::LateCancelAction,
        #[serde(default)]
        note: String,
    },
    StartWork {
        id: u64,
        version: Option<u64>,
    },
    Ship {
        id: u64,
        version: Option<u64>,
        ship: ShipRequest,
    },
    Cancel {
        id: u64,
        version: Option<u64>,
        reason: String,
    },
    ResendTracking {
        id: u64,
        version: Option<u64>,
    },
    RetryIntake {
        error_id: u64,
    },
    Robots,
    DuplicateConverter {
        id: u64,
    },
    RenameConverter {
        id: u64,
        name: String,
    },
    SetConverterEnabled {
        id: u64,
        enabled: bool,
    },
    SetProcessingEnabled {
        id: u64,
        enabled: bool,
    },
    ApplyProcessing {
        id: u64,
        converter_id: u64,
        applied: bool,
    },
    MoveProcessing {
        id: u64,
        delta: i64,
    },
    SetRuleOrder {
        order: Vec<u64>,
    },
    AddUserRule {
        name: String,
        description: String,
        rule: UserRule,
    },
    RenameProcessing {
        id: u64,
        name: String,
    },
    DryRun {
        id: u64,
    },
    RunRobot {
        id: u64,
        range: Option<(NaiveDateTime, NaiveDateTime)>,
    },
    CreateLinkage {
        robot: LinkageRobot,
    },
    /// The standard robot of `role` (created by the engine's recipe when missing).
    StandardRobot {
        role: RobotRole,
        auth_id: Option<u64>,
    },
    /// The setup guide's step `step` done the guide's way (2: the converter copy, 4: かんたん
    /// 設定, 5: robots 1–5, 6: the release robot, 7: a test fetch).
    GuideStep {
        step: u8,
    },
    SetLinkageEnabled {
        id: u64,
        enabled: bool,
    },
    RenameLinkage {
        id: u64,
        name: String,
    },
    SetTrigger {
        id: u64,
        trigger: Trigger,
    },
    SetLinkageConverter {
        id: u64,
        converter_id: u64,
    },
    SetNoPrepayment {
        types: Vec<String>,
    },
    Checklist,
    ShipFroms,
    SaveShipFrom {
        ship_from: ShipFrom,
    },
    Auths,
    SaveAuth {
        auth: ApiAuth,
        secret: Option<String>,
    },
    TestConnection {
        auth_id: u64,
    },
    EasySetup {
        auth_id: u64,
        converter_id: Option<u64>,
        inventory: bool,
        interval_secs: u64,
    },
    ApplySetup {
        file: String,
        secret: String,
        /// Each `[[notify]]` target's secret, in the file's order.
        #[serde(default)]
        notify_secrets: Vec<Option<String>>,
    },
    Runs {
        limit: usize,
    },
    Audit {
        limit: usize,
    },
    Products,
    /// How many SKUs the product master holds.
    ProductCount,
    PutProducts {
        products: Vec<ProductMaster>,
    },
    SyncOnce,
    /// Everything as a backup. The file is written by the caller's own process, as the
    /// caller's user: the backup travels to it as data (never a path the server opens).
    /// 送り状 export: the label file comes back as `data` (base64 pieces).
    ExportLabels {
        req: crate::engine::labels::ExportRequest,
    },
    /// Tracking numbers from a carrier's issued-data file, sent as `data` (base64 pieces).
    ImportTracking {
        req: crate::engine::labels::ImportRequest,
    },
    /// The carrier profiles (built in and the shop's own).
    LabelProfiles,
    /// 同梱 groups: the open ones, or every one with `all`.
    Bundles {
        #[serde(default)]
        all: bool,
    },
    /// One 同梱 group with its members side by side.
    Bundle {
        id: u64,
    },
    /// 同梱する / 同梱しない / back to 同梱候補.
    DecideBundle {
        id: u64,
        decision: crate::domain::BundleDecision,
    },
    /// The notification targets, their state (no secret).
    NotifyTargets,
    /// A test message to one target now.
    NotifyTest {
        name: String,
    },
    Backup {
        include_secrets: bool,
    },
    /// Moves finished instructions older than the configured age (or `older_than_days`) to
    /// the archive now.
    ArchiveRun {
        older_than_days: Option<u32>,
        #[serde(default)]
        batch: Option<usize>,
        #[serde(default)]
        dry_run: bool,
    },
    /// The archive's months.
    ArchiveMonths,
    /// What one archive month holds (from the frames' heads).
    ArchiveMonth {
        month: String,
    },
    /// Archived instructions by order number or text.
    ArchiveSearch {
        text: String,
        limit: usize,
    },
    /// Replaces the store with a backup that travels from the caller as data.
    Restore {
        force: bool,
    },
}

/// What a caller may do. Decided by the server from the socket's peer credentials, never
/// by anything the client says.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// A member of the server's `--group`: works the queues and switches robots on and off.
    Operator,
    /// A member of `--admin-group`: may also change the setup (API認証設定, 発送元, rules,
    /// triggers, the product master).
    Admin,
    /// The server's own Unix user: may also restore, and back up with the secrets.
    Owner,
}

impl Role {
    /// As serde writes it (`operator`, `admin`, `owner`).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Who is calling, as the server established it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub actor: Actor,
    pub role: Role,
}

impl Caller {
    /// The process itself (it opened the store, so it owns it).
    pub fn owner(actor: Actor) -> Caller {
        Caller {
            actor,
            role: Role::Owner,
        }
    }
}

/// The bulk data of a call: what it sends to the caller (a backup) and what it receives from
/// it (a restore). Each piece is whole lines.
#[derive(Default)]
pub struct CallIo {
    pub out: Option<mpsc::Sender<String>>,
    pub input: Option<mpsc::Receiver<String>>,
}

impl Request {
    /// The least role that may make this request.
    pub fn required_role(&self) -> Role {
        match self {
            Request::Restore { .. }
            | Request::Backup {
                include_secrets: true,
            } => Role::Owner,
            Request::DuplicateConverter { .. }
            | Request::RenameConverter { .. }
            | Request::MoveProcessing { .. }
            | Request::SetRuleOrder { .. }
            | Request::AddUserRule { .. }
            | Request::RenameProcessing { .. }
            | Request::CreateLinkage { .. }
            | Request::RenameLinkage { .. }
            | Request::SetTrigger { .. }
            | Request::SetLinkageConverter { .. }
            | Request::SetNoPrepayment { .. }
            | Request::SaveShipFrom { .. }
            | Request::SaveAuth { .. }
            | Request::EasySetup { .. }
            | Request::ApplySetup { .. }
            | Request::StandardRobot { .. }
            | Request::GuideStep { .. }
            | Request::ArchiveRun { dry_run: false, .. }
            | Request::PutProducts { .. } => Role::Admin,
            _ => Role::Operator,
        }
    }

    /// A short name for logs and refusals.
    pub fn op_name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("op").and_then(|o| o.as_str()).map(str::to_string))
            .unwrap_or_else(|| "?".into())
    }

    /// A robot run: may take minutes.
    pub fn is_long_running(&self) -> bool {
        matches!(
            self,
            Request::RunRobot { .. }
                | Request::SyncOnce
                | Request::GuideStep { step: 7 }
                | Request::ArchiveRun { .. }
                | Request::ArchiveSearch { .. }
        )
    }

    /// Answers with bulk data (`data` frames to the client).
    pub fn sends_data(&self) -> bool {
        matches!(self, Request::Backup { .. } | Request::ExportLabels { .. })
    }

    /// Takes bulk data (`data` frames from the client).
    pub fn takes_data(&self) -> bool {
        matches!(
            self,
            Request::Restore { .. } | Request::ImportTracking { .. }
        )
    }

    /// Changes state (refused in read-only consoles).
    pub fn mutates(&self) -> bool {
        !matches!(
            self,
            Request::Counts
                | Request::Summaries { .. }
                | Request::FirstScreen { .. }
                | Request::Instruction { .. }
                | Request::FindOrder { .. }
                | Request::History { .. }
                | Request::IntakeErrors
                | Request::IntakeError { .. }
                | Request::ProductCount
                | Request::Robots
                | Request::DryRun { .. }
                | Request::Checklist
                | Request::ShipFroms
                | Request::Auths
                | Request::Runs { .. }
                | Request::Audit { .. }
                | Request::Products
                | Request::Backup { .. }
                | Request::LabelProfiles
                | Request::NotifyTargets
                | Request::Bundles { .. }
                | Request::Bundle { .. }
                | Request::ArchiveMonths
                | Request::ArchiveMonth { .. }
                | Request::ArchiveSearch { .. }
                | Request::ArchiveRun { dry_run: true, .. }
                | Request::ImportTracking {
                    req: crate::engine::labels::ImportRequest { dry_run: true, .. }
                }
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    NotFound,
    Refused,
    Conflict,
    Busy,
    Setup,
    Api,
    Internal,
    Disconnected,
    /// The caller's role does not allow the request.
    Forbidden,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    pub kind: ErrorKind,
    /// Japanese for the engine's own refusals (what the CLI prints); English for errors of the
    /// futureshop client and internal ones.
    pub message: String,
    /// The English wording of an engine refusal, for a console in English. Empty when there is
    /// none (the message is English already, or an older server answered).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message_en: String,
}

impl ServiceError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ServiceError {
            kind,
            message: message.into(),
            message_en: String::new(),
        }
    }

    /// The message for a console in English: the English wording when there is one.
    pub fn message_in_english(&self) -> &str {
        if self.message_en.is_empty() {
            &self.message
        } else {
            &self.message_en
        }
    }
}

impl From<EngineError> for ServiceError {
    fn from(e: EngineError) -> Self {
        let kind = match &e {
            EngineError::NotFound(_) => ErrorKind::NotFound,
            EngineError::Refused(_) => ErrorKind::Refused,
            EngineError::Conflict(_) => ErrorKind::Conflict,
            EngineError::Busy(_) => ErrorKind::Busy,
            EngineError::Setup(_) => ErrorKind::Setup,
            EngineError::Api(_) => ErrorKind::Api,
            EngineError::Store(_) => ErrorKind::Internal,
        };
        ServiceError {
            message_en: e.message_en().unwrap_or_default().to_string(),
            ..ServiceError::new(kind, e.to_string())
        }
    }
}

impl From<crate::store::StoreError> for ServiceError {
    fn from(e: crate::store::StoreError) -> Self {
        EngineError::from(e).into()
    }
}

/// The robots pane in one answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobotsView {
    pub converters: Vec<Converter>,
    /// In the configured order.
    pub processing: Vec<ProcessingRobot>,
    pub linkage: Vec<LinkageRow>,
    pub no_prepayment: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkageRow {
    pub robot: LinkageRobot,
    pub trigger: String,
    pub cursor: Option<SyncCursor>,
    pub last_run: Option<RunLogEntry>,
    pub next_run: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub running: bool,
}

/// One instruction with its history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstructionDetail {
    pub instruction: Instruction,
    pub history: Vec<AuditEntry>,
    /// The archive month it was found in (not in the hot store: read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<String>,
}

/// An answer as JSON text (serialized once, passed through the server unparsed).
pub type Raw = Box<serde_json::value::RawValue>;

/// The refusal of a request the caller's role does not allow.
pub fn forbidden(req: &Request, role: Role) -> ServiceError {
    let need = req.required_role();
    let (ja, en) = match need {
        Role::Owner => (
            "この操作はサーバーを動かしているユーザーだけが行えます",
            "only the user running the shukka server may do this",
        ),
        Role::Admin => (
            "設定の変更は管理者 (サーバーのユーザーか --admin-group のメンバー) だけが行えます",
            "only an administrator (the server's user or a member of --admin-group) may change the setup",
        ),
        Role::Operator => ("", ""),
    };
    let op = req.op_name();
    ServiceError {
        kind: ErrorKind::Forbidden,
        message: format!("{ja} ({op}; あなたの権限: {})", role.name()),
        message_en: format!("{en} ({op}; your role: {})", role.name()),
    }
}

/// Every answer, typed: each request has one variant, so a console or command that gets
/// another one knows the answer is not what it asked for (and says so) instead of reading
/// nothing from it.
#[derive(Clone, Debug, Serialize, Deserialize, strum::IntoStaticStr)]
#[allow(clippy::large_enum_variant)] // one per call, moved once
pub enum Reply {
    /// Done; nothing to report.
    Done,
    Counts(Counts),
    Summaries(SummaryList),
    /// An instruction with its history (出荷指示 detail).
    Detail(InstructionDetail),
    /// The instruction after an operator action.
    Instruction(Instruction),
    /// Audit entries (one instruction's history, or the audit log).
    Audit(Vec<AuditEntry>),
    IntakeErrors(Vec<IntakeErrorSummary>),
    IntakeError(IntakeErrorDetail),
    Retried(RetryOutcome),
    Robots(RobotsView),
    Converter(Converter),
    Processing(ProcessingRobot),
    RuleOrder(Vec<u64>),
    DryRun(Vec<DryRunChange>),
    Run(RunLogEntry),
    Runs(Vec<RunLogEntry>),
    Linkage(LinkageRobot),
    Linkages(Vec<LinkageRobot>),
    Checklist(Vec<CheckItem>),
    ShipFroms(Vec<ShipFrom>),
    ShipFrom(ShipFrom),
    Auths(Vec<ApiAuth>),
    Auth(ApiAuth),
    ConnectionTest(ConnectionTest),
    SetupApplied(crate::engine::setup::ApplyReport),
    Products(Vec<ProductMaster>),
    ProductCount(usize),
    Backup(backup::BackupSummary),
    LabelExport(crate::labels::ExportReport),
    TrackingImport(crate::labels::ImportReport),
    LabelProfiles(Vec<ProfileInfo>),
    NotifyTargets(Vec<crate::engine::notify::TargetView>),
    Bundles(Vec<crate::engine::bundle::BundleView>),
    Bundle(crate::engine::bundle::BundleView),
    /// What the receiver said to a test message.
    NotifySent(String),
    Archived(crate::store::archive::ArchiveReport),
    ArchiveMonths(Vec<crate::store::archive::MonthInfo>),
    ArchiveEntries(Vec<crate::store::archive::Entry>),
    ArchiveHits(Vec<crate::store::archive::ArchiveHit>),
}

/// A carrier profile as a picker shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileInfo {
    pub id: String,
    pub name: String,
    /// The shop's own (or adjusted) profile.
    pub custom: bool,
}

impl Reply {
    pub fn name(&self) -> &'static str {
        self.into()
    }
}

/// The instruction list: the store's own JSON passed through unparsed on the way out (a full
/// list can be tens of megabytes), rows once read.
#[derive(Clone, Debug)]
pub enum SummaryList {
    Json(Raw),
    Rows(Vec<InstructionSummary>),
}

impl Serialize for SummaryList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SummaryList::Json(raw) => raw.serialize(s),
            SummaryList::Rows(rows) => rows.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for SummaryList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<InstructionSummary>::deserialize(d).map(SummaryList::Rows)
    }
}

impl SummaryList {
    pub fn into_rows(self) -> Result<Vec<InstructionSummary>, ServiceError> {
        match self {
            SummaryList::Rows(r) => Ok(r),
            SummaryList::Json(raw) => serde_json::from_str(raw.get()).map_err(|e| {
                ServiceError::new(ErrorKind::Internal, format!("unexpected answer: {e}"))
            }),
        }
    }
}

/// What a retried intake error became.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryOutcome {
    pub created: u64,
    pub refused: u64,
    pub skipped: u64,
}

/// An intake error with its raw order, and the order as the converter reads it (for the
/// detail view), when it can be read at all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntakeErrorDetail {
    pub error: IntakeError,
    pub preview: Option<Instruction>,
}

/// The payload a request's answer carries, taken out of its [`Reply`]; an answer of another
/// kind is an error that names both.
pub trait FromReply: Sized {
    fn from_reply(r: Reply) -> Result<Self, ServiceError>;
}

macro_rules! from_reply {
    ($($t:ty => $v:ident),* $(,)?) => {
        $(impl FromReply for $t {
            fn from_reply(r: Reply) -> Result<Self, ServiceError> {
                match r {
                    Reply::$v(x) => Ok(x),
                    other => Err(unexpected(stringify!($v), &other)),
                }
            }
        })*
    };
}

from_reply! {
    Counts => Counts,
    InstructionDetail => Detail,
    Instruction => Instruction,
    Vec<AuditEntry> => Audit,
    Vec<IntakeErrorSummary> => IntakeErrors,
    IntakeErrorDetail => IntakeError,
    RetryOutcome => Retried,
    RobotsView => Robots,
    Converter => Converter,
    ProcessingRobot => Processing,
    Vec<u64> => RuleOrder,
    Vec<DryRunChange> => DryRun,
    RunLogEntry => Run,
    Vec<RunLogEntry> => Runs,
    LinkageRobot => Linkage,
    Vec<LinkageRobot> => Linkages,
    Vec<CheckItem> => Checklist,
    Vec<ShipFrom> => ShipFroms,
    ShipFrom => ShipFrom,
    Vec<ApiAuth> => Auths,
    ApiAuth => Auth,
    ConnectionTest => ConnectionTest,
    crate::engine::setup::ApplyReport => SetupApplied,
    Vec<ProductMaster> => Products,
    usize => ProductCount,
    backup::BackupSummary => Backup,
    crate::labels::ExportReport => LabelExport,
    crate::labels::ImportReport => TrackingImport,
    Vec<ProfileInfo> => LabelProfiles,
    Vec<crate::engine::notify::TargetView> => NotifyTargets,
    Vec<crate::engine::bundle::BundleView> => Bundles,
    crate::engine::bundle::BundleView => Bundle,
    String => NotifySent,
    crate::store::archive::ArchiveReport => Archived,
    Vec<crate::store::archive::MonthInfo> => ArchiveMonths,
    Vec<crate::store::archive::Entry> => ArchiveEntries,
    Vec<crate::store::archive::ArchiveHit> => ArchiveHits,
}

impl FromReply for () {
    fn from_reply(r: Reply) -> Result<Self, ServiceError> {
        match r {
            Reply::Done => Ok(()),
            other => Err(unexpected("Done", &other)),
        }
    }
}

/// The rows of a [`SummaryList`] (they may still be JSON text).
impl FromReply for Vec<InstructionSummary> {
    fn from_reply(r: Reply) -> Result<Self, ServiceError> {
        match r {
            Reply::Summaries(l) => l.into_rows(),
            other => Err(unexpected("Summaries", &other)),
        }
    }
}

pub fn expect_rows(r: Reply) -> Result<Vec<InstructionSummary>, ServiceError> {
    Vec::<InstructionSummary>::from_reply(r)
}

/// The error for an answer of the wrong kind.
pub fn unexpected(wanted: &str, got: &Reply) -> ServiceError {
    let g = got.name();
    ServiceError {
        kind: ErrorKind::Internal,
        message: format!("予期しない応答です ({wanted} を待っていたところ {g})"),
        message_en: format!("unexpected answer ({wanted} expected, {g} received)"),
    }
}

fn not_found_instruction(id: u64) -> ServiceError {
    ServiceError::from(EngineError::NotFound(crate::engine::no_such(
        "出荷指示",
        "shipping instruction",
        id,
    )))
}

/// Runs one request against the engine for `caller`, after checking the caller's role.
pub async fn execute(
    engine: &Engine,
    caller: &Caller,
    req: Request,
    io: CallIo,
) -> Result<Reply, ServiceError> {
    if caller.role < req.required_role() {
        return Err(forbidden(&req, caller.role));
    }
    let actor = &caller.actor;
    let store = engine.store();
    Ok(match req {
        Request::Counts => Reply::Counts(store.counts()),
        Request::Summaries { status: None } => Reply::Summaries(SummaryList::Json(
            serde_json::value::RawValue::from_string(store.summaries_json()?)
                .map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))?,
        )),
        Request::Summaries { status } => {
            Reply::Summaries(SummaryList::Rows(store.summaries(status)?))
        }
        Request::FirstScreen { status, rows } => Reply::Summaries(SummaryList::Rows(
            store.first_summaries(status, rows.clamp(1, FIRST_SCREEN_MAX))?,
        )),
        Request::Instruction { id } => {
            let instruction = store
                .instruction(id)?
                .ok_or_else(|| not_found_instruction(id))?;
            let history = store.audit_for(id)?;
            Reply::Detail(InstructionDetail {
                instruction,
                history,
                archived: None,
            })
        }
        Request::FindOrder { order_no } => match engine.find_order_anywhere(&order_no)? {
            crate::engine::Found::Live(instruction) => {
                let history = store.audit_for(instruction.id)?;
                Reply::Detail(InstructionDetail {
                    instruction: *instruction,
                    history,
                    archived: None,
                })
            }
            crate::engine::Found::Archived(month, a) => {
                let a = *a;
                let mut history = a.audit;
                history.sort_by_key(|e| e.seq);
                Reply::Detail(InstructionDetail {
                    instruction: a.instruction,
                    history,
                    archived: Some(month),
                })
            }
        },
        Request::ArchiveRun {
            older_than_days,
            batch,
            dry_run,
        } => Reply::Archived(engine.archive_now(older_than_days, batch, dry_run).await?),
        Request::ArchiveMonths => Reply::ArchiveMonths(store.archive_months()?),
        Request::ArchiveMonth { month } => Reply::ArchiveEntries(store.archive_month(&month)?),
        Request::ArchiveSearch { text, limit } => {
            Reply::ArchiveHits(store.archive_search(&text, limit.clamp(1, 10_000))?)
        }
        Request::History { id } => Reply::Audit(store.audit_for(id)?),
        Request::IntakeErrors => Reply::IntakeErrors(
            store
                .intake_errors()?
                .iter()
                .map(IntakeError::summary)
                .collect(),
        ),
        Request::IntakeError { id } => Reply::IntakeError(engine.intake_error_detail(id)?),
        Request::Hold {
            id,
            version,
            reason,
        } => Reply::Instruction(engine.hold(id, version, &reason, actor)?),
        Request::Release { id, version } => Reply::Instruction(engine.release(id, version, actor)?),
        Request::AcknowledgeLateCancel {
            id,
            version,
            action,
            note,
        } => Reply::Instruction(engine.acknowledge_late_cancel(id, version, action, &note, actor)?),
        Request::StartWork { id, version } => {
            Reply::Instruction(engine.start_work(id, version, actor)?)
        }
        Request::Ship { id, version, ship } => {
            Reply::Instruction(engine.ship(id, version, &ship, actor)?)
        }
        Request::Cancel {
            id,
            version,
            reason,
        } => Reply::Instruction(engine.cancel(id, version, &reason, actor)?),
        Request::ResendTracking { id, version } => {
            Reply::Instruction(engine.resend_tracking(id, version, actor)?)
        }
        Request::RetryIntake { error_id } => {
            let out = engine.retry_intake_error(error_id, actor)?;
            Reply::Retried(RetryOutcome {
                created: out.created,
                refused: out.refused,
                skipped: out.skipped,
            })
        }
        Request::Robots => Reply::Robots(robots_view(engine)?),
        Request::DuplicateConverter { id } => {
            Reply::Converter(engine.duplicate_converter(id, actor)?)
        }
        Request::RenameConverter { id, name } => {
            Reply::Converter(engine.rename_converter(id, &name, actor)?)
        }
        Request::SetConverterEnabled { id, enabled } => {
            Reply::Converter(engine.set_converter_enabled(id, enabled, actor)?)
        }
        Request::SetProcessingEnabled { id, enabled } => {
            Reply::Processing(engine.set_processing_enabled(id, enabled, actor)?)
        }
        Request::ApplyProcessing {
            id,
            converter_id,
            applied,
        } => Reply::Processing(engine.apply_processing(id, converter_id, applied, actor)?),
        Request::MoveProcessing { id, delta } => {
            Reply::RuleOrder(engine.move_processing(id, delta, actor)?)
        }
        Request::SetRuleOrder { order } => {
            engine.set_rule_order(&order, actor)?;
            Reply::Done
        }
        Request::AddUserRule {
            name,
            description,
            rule,
        } => Reply::Processing(engine.add_user_rule(&name, &description, rule, actor)?),
        Request::RenameProcessing { id, name } => {
            Reply::Processing(engine.rename_processing(id, &name, actor)?)
        }
        Request::DryRun { id } => Reply::DryRun(engine.dry_run(id)?),
        Request::RunRobot { id, range } => {
            let opts = RunOptions {
                trigger: format!("手動 ({actor})"),
                range,
                chain: true,
                chain_path: Vec::new(),
            };
            Reply::Run(engine.run_robot(id, opts).await?)
        }
        Request::CreateLinkage { robot } => Reply::Linkage(engine.create_linkage(robot, actor)?),
        Request::StandardRobot { role, auth_id } => {
            Reply::Linkage(engine.standard_robot(role, auth_id, actor)?)
        }
        Request::GuideStep { step } => {
            engine.guide_step(step, actor).await?;
            Reply::Done
        }
        Request::SetLinkageEnabled { id, enabled } => {
            Reply::Linkage(engine.set_linkage_enabled(id, enabled, actor)?)
        }
        Request::RenameLinkage { id, name } => {
            Reply::Linkage(engine.rename_linkage(id, &name, actor)?)
        }
        Request::SetTrigger { id, trigger } => {
            Reply::Linkage(engine.set_linkage_trigger(id, trigger, actor)?)
        }
        Request::SetLinkageConverter { id, converter_id } => {
            Reply::Linkage(engine.set_linkage_converter(id, converter_id, actor)?)
        }
        Request::SetNoPrepayment { types } => {
            engine.set_no_prepayment(&types, actor)?;
            Reply::Done
        }
        Request::Checklist => Reply::Checklist(engine.checklist()?),
        Request::ShipFroms => Reply::ShipFroms(store.ship_froms()?),
        Request::SaveShipFrom { ship_from } => {
            Reply::ShipFrom(engine.save_ship_from(ship_from, actor)?)
        }
        Request::Auths => Reply::Auths(store.auths()?),
        Request::SaveAuth { auth, secret } => {
            Reply::Auth(engine.save_auth(auth, secret.map(Secret::new), actor)?)
        }
        Request::TestConnection { auth_id } => {
            Reply::ConnectionTest(engine.test_connection(auth_id, actor).await?)
        }
        Request::EasySetup {
            auth_id,
            converter_id,
            inventory,
            interval_secs,
        } => Reply::Linkages(engine.easy_setup(
            auth_id,
            converter_id,
            inventory,
            interval_secs,
            actor,
        )?),
        Request::ApplySetup {
            file,
            secret,
            notify_secrets,
        } => {
            let parsed = crate::engine::SetupFile::parse(&file)
                .map_err(|e| ServiceError::new(ErrorKind::Refused, e))?;
            let notify = parsed
                .notify_settings()
                .map_err(|e| ServiceError::new(ErrorKind::Refused, e))?;
            // A command target runs a program as the server's user: only that user may set one.
            if caller.role < Role::Owner
                && notify.as_ref().is_some_and(|n| {
                    n.targets
                        .iter()
                        .any(|t| matches!(t.channel, crate::notify::Channel::Command { .. }))
                })
            {
                return Err(ServiceError::new(
                    ErrorKind::Forbidden,
                    "[[notify]] kind = \"command\" runs a program as the server's user: only that user may set one (apply this file as the server's user, or use a webhook)",
                ));
            }
            let mut report = engine
                .apply_setup(&parsed, Secret::new(secret), actor)
                .await?;
            if let Some(n) = notify {
                let secrets = notify_secrets
                    .into_iter()
                    .map(|s| s.map(Secret::new))
                    .collect();
                engine.set_notify(&n, secrets, actor)?;
                report
                    .steps
                    .push(("通知先".into(), format!("{} 件", n.targets.len())));
            }
            Reply::SetupApplied(report)
        }
        Request::Runs { limit } => Reply::Runs(store.runs(limit.min(MAX_LIST))?),
        Request::Audit { limit } => Reply::Audit(store.audit(limit.min(MAX_LIST))?),
        Request::Products => Reply::Products(store.products()?),
        Request::ProductCount => Reply::ProductCount(store.product_count()?),
        Request::PutProducts { products } => {
            Reply::ProductCount(engine.put_products(&products, actor)?)
        }
        Request::SyncOnce => Reply::Runs(engine.run_due_once().await?),
        Request::ExportLabels { req } => {
            let out = io.out.ok_or_else(|| {
                ServiceError::new(ErrorKind::Internal, "a label export needs a data channel")
            })?;
            let (bytes, report) = engine.export_labels(&req, actor)?;
            use base64::Engine as _;
            for piece in bytes.chunks(DATA_PIECE) {
                let text = base64::engine::general_purpose::STANDARD.encode(piece);
                if out.send(text).await.is_err() {
                    return Err(ServiceError::new(
                        ErrorKind::Disconnected,
                        "the label file could not be sent: the client went away",
                    ));
                }
            }
            Reply::LabelExport(report)
        }
        Request::ImportTracking { req } => {
            let mut input = io.input.ok_or_else(|| {
                ServiceError::new(
                    ErrorKind::Internal,
                    "a tracking import needs a data channel",
                )
            })?;
            use base64::Engine as _;
            let mut bytes = Vec::new();
            while let Some(piece) = input.recv().await {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(piece.trim())
                    .map_err(|e| {
                        ServiceError::new(ErrorKind::Refused, format!("malformed file data: {e}"))
                    })?;
                bytes.extend_from_slice(&raw);
                if bytes.len() > MAX_IMPORT_BYTES {
                    return Err(ServiceError::new(
                        ErrorKind::Refused,
                        format!(
                            "送り状番号ファイルが {} MiB を超えます: 分けて取り込んでください",
                            MAX_IMPORT_BYTES >> 20
                        ),
                    ));
                }
            }
            Reply::TrackingImport(engine.import_tracking(&bytes, &req, actor)?)
        }
        Request::NotifyTargets => Reply::NotifyTargets(engine.notify_targets()?),
        Request::Bundles { all } => Reply::Bundles(engine.bundles(all)?),
        Request::Bundle { id } => Reply::Bundle(engine.bundle(id)?),
        Request::DecideBundle { id, decision } => {
            Reply::Bundle(engine.decide_bundle(id, decision, actor)?)
        }
        Request::NotifyTest { name } => Reply::NotifySent(engine.notify_test(&name, actor).await?),
        Request::LabelProfiles => {
            let settings = engine.label_settings()?;
            Reply::LabelProfiles(
                settings
                    .all_profiles()
                    .into_iter()
                    .map(|p| ProfileInfo {
                        custom: settings.profiles.iter().any(|c| c.id == p.id),
                        id: p.id,
                        name: p.name,
                    })
                    .collect(),
            )
        }
        Request::Backup { include_secrets } => {
            let out = io.out.ok_or_else(|| {
                ServiceError::new(ErrorKind::Internal, "a backup needs a data channel")
            })?;
            Reply::Backup(engine.backup(include_secrets, out, actor).await?)
        }
        Request::Restore { force } => {
            let input = io.input.ok_or_else(|| {
                ServiceError::new(ErrorKind::Internal, "a restore needs a data channel")
            })?;
            Reply::Backup(engine.restore(input, force, actor).await?)
        }
    })
}

/// Most lines a log request returns (a client asking for more gets this many).
pub const MAX_LIST: usize = 10_000;

/// Raw bytes per `data` piece of a label file (base64 makes it a third larger, well under a
/// protocol part).
pub const DATA_PIECE: usize = 256 * 1024;

/// The largest tracking file taken in one import (a day of a large shop is a few MB).
pub const MAX_IMPORT_BYTES: usize = 64 << 20;

pub fn robots_view(engine: &Engine) -> Result<RobotsView, ServiceError> {
    let store = engine.store();
    let linkage = store.linkage_robots()?;
    let running = engine.running_robots();
    let ids: std::collections::BTreeSet<u64> = linkage.iter().map(|r| r.id).collect();
    let mut runs = store.latest_runs(&ids, 2000)?;
    let names: Vec<(u64, String)> = linkage.iter().map(|r| (r.id, r.name.clone())).collect();
    let now = crate::engine::now();
    let rows = linkage
        .into_iter()
        .map(|r| {
            let cursor = store.cursor(r.id).ok().flatten();
            let last = cursor.as_ref().and_then(|c| c.last_start);
            LinkageRow {
                trigger: r.trigger.describe(|id| {
                    names
                        .iter()
                        .find(|(x, _)| *x == id)
                        .map(|(_, n)| n.clone())
                        .unwrap_or_else(|| format!("ID:{id}"))
                }),
                next_run: if r.enabled {
                    r.trigger.next_run(last, now)
                } else {
                    None
                },
                last_run: runs.remove(&r.id),
                running: running.contains(&r.id),
                cursor,
                robot: r,
            }
        })
        .collect();
    Ok(RobotsView {
        converters: store.converters()?,
        processing: store.processing_robots()?,
        linkage: rows,
        no_prepayment: store.no_prepayment()?,
    })
}
