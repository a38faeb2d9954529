//! The service API: every operation the CLI and the console perform, as serializable requests.
//! In one process they run against the engine directly ([`Backend::Local`]); with a `shukka
//! serve` running they travel over its Unix socket, so that one process owns the store.

use std::sync::Arc;

use chrono::NaiveDateTime;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::domain::*;
use crate::engine::{CheckItem, DryRunChange, Engine, EngineError, RunOptions, ShipRequest};
use crate::robots::converter::Converter;
use crate::robots::linkage::{LinkageRobot, Trigger};
use crate::robots::processing::ProcessingRobot;
use crate::robots::rules::UserRule;
use crate::secret::Secret;
use crate::store::{Counts, StoreEvent, SyncCursor, backup};

/// Every operation. Field names are part of the wire protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Counts,
    Summaries {
        status: Option<Status>,
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
    IntakeErrors,
    Hold {
        id: u64,
        version: Option<u64>,
        reason: String,
    },
    Release {
        id: u64,
        version: Option<u64>,
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
    },
    Runs {
        limit: usize,
    },
    Audit {
        limit: usize,
    },
    Products,
    PutProducts {
        products: Vec<ProductMaster>,
    },
    SyncOnce,
    /// Everything as a backup. The file is written by the caller's own process, as the
    /// caller's user: the backup travels to it as data (never a path the server opens).
    Backup {
        include_secrets: bool,
    },
    /// Replaces the store with a backup that travels from the caller as data.
    Restore {
        force: bool,
    },
}

/// What a caller may do. Decided by the server from the socket's peer credentials, never
/// by anything the client says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    pub fn name(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
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
        matches!(self, Request::RunRobot { .. } | Request::SyncOnce)
    }

    /// Changes state (refused in read-only consoles).
    pub fn mutates(&self) -> bool {
        !matches!(
            self,
            Request::Counts
                | Request::Summaries { .. }
                | Request::Instruction { .. }
                | Request::FindOrder { .. }
                | Request::History { .. }
                | Request::IntakeErrors
                | Request::Robots
                | Request::DryRun { .. }
                | Request::Checklist
                | Request::ShipFroms
                | Request::Auths
                | Request::Runs { .. }
                | Request::Audit { .. }
                | Request::Products
                | Request::Backup { .. }
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

fn json<T: Serialize>(v: T) -> Result<Raw, ServiceError> {
    serde_json::value::to_raw_value(&v)
        .map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))
}

/// Runs one request against the engine for `caller`, after checking the caller's role.
pub async fn execute(
    engine: &Engine,
    caller: &Caller,
    req: Request,
    io: CallIo,
) -> Result<Raw, ServiceError> {
    if caller.role < req.required_role() {
        return Err(forbidden(&req, caller.role));
    }
    let actor = &caller.actor;
    let store = engine.store();
    match req {
        Request::Counts => json(store.counts()),
        Request::Summaries { status: None } => {
            serde_json::value::RawValue::from_string(store.summaries_json())
                .map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))
        }
        Request::Summaries { status } => json(store.summaries(status)?),
        Request::Instruction { id } => {
            let instruction = store.instruction(id)?.ok_or_else(|| {
                ServiceError::new(
                    ErrorKind::NotFound,
                    format!("出荷指示 ID:{id} はありません"),
                )
            })?;
            let history = store.audit_for(id)?;
            json(InstructionDetail {
                instruction,
                history,
            })
        }
        Request::FindOrder { order_no } => {
            let instruction = engine.find_order(&order_no)?;
            let history = store.audit_for(instruction.id)?;
            json(InstructionDetail {
                instruction,
                history,
            })
        }
        Request::History { id } => json(store.audit_for(id)?),
        Request::IntakeErrors => json(store.intake_errors()?),
        Request::Hold {
            id,
            version,
            reason,
        } => json(engine.hold(id, version, &reason, actor)?),
        Request::Release { id, version } => json(engine.release(id, version, actor)?),
        Request::StartWork { id, version } => json(engine.start_work(id, version, actor)?),
        Request::Ship { id, version, ship } => json(engine.ship(id, version, &ship, actor)?),
        Request::Cancel {
            id,
            version,
            reason,
        } => json(engine.cancel(id, version, &reason, actor)?),
        Request::ResendTracking { id, version } => {
            json(engine.resend_tracking(id, version, actor)?)
        }
        Request::RetryIntake { error_id } => {
            let out = engine.retry_intake_error(error_id, actor)?;
            json(
                serde_json::json!({"created": out.created, "refused": out.refused, "skipped": out.skipped}),
            )
        }
        Request::Robots => json(robots_view(engine)?),
        Request::DuplicateConverter { id } => json(engine.duplicate_converter(id, actor)?),
        Request::RenameConverter { id, name } => json(engine.rename_converter(id, &name, actor)?),
        Request::SetConverterEnabled { id, enabled } => {
            json(engine.set_converter_enabled(id, enabled, actor)?)
        }
        Request::SetProcessingEnabled { id, enabled } => {
            json(engine.set_processing_enabled(id, enabled, actor)?)
        }
        Request::ApplyProcessing {
            id,
            converter_id,
            applied,
        } => json(engine.apply_processing(id, converter_id, applied, actor)?),
        Request::MoveProcessing { id, delta } => json(engine.move_processing(id, delta, actor)?),
        Request::SetRuleOrder { order } => json(engine.set_rule_order(&order, actor)?),
        Request::AddUserRule {
            name,
            description,
            rule,
        } => json(engine.add_user_rule(&name, &description, rule, actor)?),
        Request::RenameProcessing { id, name } => json(engine.rename_processing(id, &name, actor)?),
        Request::DryRun { id } => json(engine.dry_run(id)?),
        Request::RunRobot { id, range } => {
            let opts = RunOptions {
                trigger: format!("手動 ({actor})"),
                range,
                chain: true,
                chain_path: Vec::new(),
            };
            json(engine.run_robot(id, opts).await?)
        }
        Request::CreateLinkage { robot } => json(engine.create_linkage(robot, actor)?),
        Request::SetLinkageEnabled { id, enabled } => {
            json(engine.set_linkage_enabled(id, enabled, actor)?)
        }
        Request::RenameLinkage { id, name } => json(engine.rename_linkage(id, &name, actor)?),
        Request::SetTrigger { id, trigger } => {
            json(engine.set_linkage_trigger(id, trigger, actor)?)
        }
        Request::SetLinkageConverter { id, converter_id } => {
            json(engine.set_linkage_converter(id, converter_id, actor)?)
        }
        Request::SetNoPrepayment { types } => json(engine.set_no_prepayment(&types, actor)?),
        Request::Checklist => json(engine.checklist()?),
        Request::ShipFroms => json(store.ship_froms()?),
        Request::SaveShipFrom { ship_from } => json(engine.save_ship_from(ship_from, actor)?),
        Request::Auths => json(store.auths()?),
        Request::SaveAuth { auth, secret } => {
            json(engine.save_auth(auth, secret.map(Secret::new), actor)?)
        }
        Request::TestConnection { auth_id } => json(engine.test_connection(auth_id, actor).await?),
        Request::EasySetup {
            auth_id,
            converter_id,
            inventory,
            interval_secs,
        } => json(engine.easy_setup(auth_id, converter_id, inventory, interval_secs, actor)?),
        Request::ApplySetup { file, secret } => {
            let parsed = crate::engine::SetupFile::parse(&file)
                .map_err(|e| ServiceError::new(ErrorKind::Refused, e))?;
            json(
                engine
                    .apply_setup(&parsed, Secret::new(secret), actor)
                    .await?,
            )
        }
        Request::Runs { limit } => json(store.runs(limit)?),
        Request::Audit { limit } => json(store.audit(limit)?),
        Request::Products => json(store.products()?),
        Request::PutProducts { products } => json(engine.put_products(&products, actor)?),
        Request::SyncOnce => json(engine.run_due_once().await),
        Request::Backup { include_secrets } => {
            let out = io.out.ok_or_else(|| {
                ServiceError::new(ErrorKind::Internal, "a backup needs a data channel")
            })?;
            json(engine.backup(include_secrets, out, actor).await?)
        }
        Request::Restore { force } => {
            let input = io.input.ok_or_else(|| {
                ServiceError::new(ErrorKind::Internal, "a restore needs a data channel")
            })?;
            json(engine.restore(input, force, actor).await?)
        }
    }
}

fn decode<T: DeserializeOwned>(raw: &Raw) -> Result<T, ServiceError> {
    serde_json::from_str(raw.get())
        .map_err(|e| ServiceError::new(ErrorKind::Internal, format!("unexpected answer: {e}")))
}

pub fn robots_view(engine: &Engine) -> Result<RobotsView, ServiceError> {
    let store = engine.store();
    let linkage = store.linkage_robots()?;
    let running = engine.running_robots();
    let runs = store.runs(2000)?;
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
                last_run: runs.iter().find(|l| l.robot_id == r.id).cloned(),
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

/// Where requests go.
#[derive(Clone)]
pub enum Backend {
    /// This process owns the store.
    Local { engine: Engine, caller: Caller },
    /// A `shukka serve` owns it; requests go over its socket.
    Remote(crate::server::client::RemoteClient),
}

impl Backend {
    pub fn local(engine: Engine, actor: Actor) -> Backend {
        Backend::Local {
            engine,
            caller: Caller::owner(actor),
        }
    }

    /// What this backend's user may do.
    pub fn role(&self) -> Role {
        match self {
            Backend::Local { caller, .. } => caller.role,
            Backend::Remote(c) => c.role(),
        }
    }

    /// The answer as JSON text.
    pub async fn call_raw(&self, req: Request) -> Result<Raw, ServiceError> {
        self.call_io(req, CallIo::default()).await
    }

    /// A call with bulk data going out (`io.out` receives it) or coming in (`io.input` is
    /// drained).
    pub async fn call_io(&self, req: Request, io: CallIo) -> Result<Raw, ServiceError> {
        match self {
            Backend::Local { engine, caller } => execute(engine, caller, req, io).await,
            Backend::Remote(c) => c.call_io(req, io).await,
        }
    }

    /// A backup, written by `sink` in this process (as this process's user), piece by piece.
    pub async fn backup(
        &self,
        include_secrets: bool,
        mut sink: impl FnMut(&str) -> std::io::Result<()>,
    ) -> Result<backup::BackupSummary, ServiceError> {
        let (tx, mut rx) = mpsc::channel::<String>(4);
        let call = self.call_io(
            Request::Backup { include_secrets },
            CallIo {
                out: Some(tx),
                input: None,
            },
        );
        tokio::pin!(call);
        let mut write_error: Option<std::io::Error> = None;
        let answer = loop {
            tokio::select! {
                piece = rx.recv() => match piece {
                    Some(p) => {
                        if write_error.is_none() && let Err(e) = sink(&p) {
                            write_error = Some(e);
                        }
                    }
                    None => break (&mut call).await,
                },
                r = &mut call => {
                    // The call is done: what it sent is waiting in the channel.
                    while let Some(p) = rx.recv().await {
                        if write_error.is_none() && let Err(e) = sink(&p) {
                            write_error = Some(e);
                        }
                    }
                    break r;
                }
            }
        };
        if let Some(e) = write_error {
            return Err(ServiceError::new(
                ErrorKind::Refused,
                format!("the backup could not be written: {e}"),
            ));
        }
        let raw = answer?;
        decode(&raw)
    }

    /// A restore from `lines` (read in this process, as this process's user).
    pub async fn restore(
        &self,
        force: bool,
        mut lines: impl Iterator<Item = std::io::Result<String>> + Send + 'static,
    ) -> Result<backup::BackupSummary, ServiceError> {
        let (tx, rx) = mpsc::channel::<String>(4);
        let feeder = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut piece = String::new();
            for line in lines.by_ref() {
                piece.push_str(&line?);
                piece.push('\n');
                if piece.len() >= crate::server::protocol::PART / 2
                    && tx.blocking_send(std::mem::take(&mut piece)).is_err()
                {
                    return Ok(());
                }
            }
            if !piece.is_empty() {
                let _ = tx.blocking_send(piece);
            }
            Ok(())
        });
        let answer = self
            .call_io(
                Request::Restore { force },
                CallIo {
                    out: None,
                    input: Some(rx),
                },
            )
            .await;
        match feeder.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(ServiceError::new(
                    ErrorKind::Refused,
                    format!("the backup file could not be read: {e}"),
                ));
            }
            Err(e) => return Err(ServiceError::new(ErrorKind::Internal, e.to_string())),
        }
        decode(&answer?)
    }

    pub async fn call(&self, req: Request) -> Result<Value, ServiceError> {
        decode(&self.call_raw(req).await?)
    }

    /// `call`, with the answer decoded straight from its text.
    pub async fn get<T: DeserializeOwned>(&self, req: Request) -> Result<T, ServiceError> {
        decode(&self.call_raw(req).await?)
    }

    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<StoreEvent>> {
        match self {
            Backend::Local { engine, .. } => engine.subscribe(),
            Backend::Remote(c) => c.subscribe(),
        }
    }

    /// Every instruction summary (the console's first load; typed, without a JSON round trip
    /// when local).
    pub async fn summaries(&self) -> Result<Vec<InstructionSummary>, ServiceError> {
        match self {
            Backend::Local { engine, .. } => {
                let store = engine.store().clone();
                tokio::task::spawn_blocking(move || store.summaries(None))
                    .await
                    .map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))?
                    .map_err(ServiceError::from)
            }
            Backend::Remote(_) => self.get(Request::Summaries { status: None }).await,
        }
    }

    /// Connection state (always up for a local backend).
    pub fn connection(&self) -> Option<tokio::sync::watch::Receiver<bool>> {
        match self {
            Backend::Local { .. } => None,
            Backend::Remote(c) => Some(c.connection()),
        }
    }

    pub async fn counts(&self) -> Result<Counts, ServiceError> {
        self.get(Request::Counts).await
    }

    pub async fn checklist(&self) -> Result<Vec<CheckItem>, ServiceError> {
        self.get(Request::Checklist).await
    }

    pub async fn dry_run(&self, id: u64) -> Result<Vec<DryRunChange>, ServiceError> {
        self.get(Request::DryRun { id }).await
    }
}
