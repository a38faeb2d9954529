//! The engine: runs linkage robots (fetch → convert → processing robots → commit), the
//! scheduler, operator actions and setup, on top of the store. The console and the CLI use
//! only this; they never touch sled or futureshop directly.

mod actions;
mod archive;
pub mod bundle;
mod config;
mod data;
mod details;
pub mod labels;
mod linkage;
pub mod notify;
pub mod pipeline;
pub mod reconcile;
pub mod scheduler;
pub mod setup;
pub mod standard;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

pub use actions::{Found, ShipRequest};
pub use config::DryRunChange;
pub use linkage::RunOptions;
pub use pipeline::PageOutcome;
pub use setup::{CheckItem, FixTarget, SetupFile};

use crate::domain::*;
use crate::futureshop::config::{base_from_domain, parse_base};
use crate::futureshop::{Client, ClientOptions, Credentials, FsConfig, FsError};
use crate::msg;
use crate::msg::Msg;
use crate::store::{CFG_ENGINE, Store, StoreError, StoreEvent};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Api(#[from] FsError),
    #[error("{0}")]
    NotFound(Msg),
    /// The operation is not allowed (illegal transition, read-only robot, conflicting rules).
    #[error("{0}")]
    Refused(Msg),
    /// Someone else changed the record first.
    #[error("{0}")]
    Conflict(Msg),
    #[error("{0}")]
    Busy(Msg),
    /// Setup is incomplete (no API認証設定, no secret, …).
    #[error("{0}")]
    Setup(Msg),
}

/// Longest text an operator may enter (a hold reason, a name, a rule's value), in bytes. Such
/// text is stored, shown on every console and sent with every event: a bound keeps one paste
/// from costing everyone.
pub const MAX_OPERATOR_TEXT: usize = 1024;

/// Refuses operator text longer than [`MAX_OPERATOR_TEXT`], naming the field.
pub(crate) fn check_text(what: [&str; 2], text: &str) -> Result<()> {
    let n = text.len();
    if n > MAX_OPERATOR_TEXT {
        let [ja, en] = what;
        return Err(EngineError::Refused(msg!(
            "{ja}が長すぎます ({n} バイト): {MAX_OPERATOR_TEXT} バイトまでにしてください",
            "The {en} is too long ({n} bytes): at most {MAX_OPERATOR_TEXT} bytes"
        )));
    }
    Ok(())
}

/// "There is no <kind> ID:n", in both languages.
pub(crate) fn no_such(kind: &str, kind_en: &str, id: u64) -> Msg {
    msg!(
        "{kind} ID:{id} はありません",
        "There is no {kind_en} ID:{id}"
    )
}

impl EngineError {
    /// The English wording of a refusal, when the engine wrote one.
    pub fn message_en(&self) -> Option<&str> {
        let m = match self {
            EngineError::NotFound(m)
            | EngineError::Refused(m)
            | EngineError::Conflict(m)
            | EngineError::Busy(m)
            | EngineError::Setup(m)
            | EngineError::Store(StoreError::BadBackup(m)) => m,
            EngineError::Api(_) | EngineError::Store(_) => return None,
        };
        (!m.en.is_empty()).then_some(m.en.as_str())
    }
}

/// A store's conflict or missing record is the engine's too; everything else stays a store
/// error (never a refusal: an encode failure is a bug, not the operator's doing).
impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> EngineError {
        match e {
            StoreError::Conflict(m) => EngineError::Conflict(m),
            StoreError::NotFound(m) => EngineError::NotFound(m),
            StoreError::BadBackup(m) => EngineError::Refused(m),
            other => EngineError::Store(other),
        }
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Tunables kept in the store (`shukka setup apply` writes them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineSettings {
    /// The 差分 window starts this long before the last successful run's end.
    pub overlap_secs: u64,
    /// How far the first 差分 run looks back.
    pub first_lookback_secs: u64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            overlap_secs: 10 * 60,
            first_lookback_secs: 7 * 24 * 3600,
        }
    }
}

/// Client behaviour the engine imposes (tests shorten the retry waits).
#[derive(Clone, Debug, Default)]
pub struct EngineOptions {
    pub client: ClientOptions,
}

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    options: EngineOptions,
    clients: Mutex<HashMap<u64, (String, Client)>>,
    running: Mutex<HashSet<u64>>,
    /// Robot runs hold it shared; a restore holds it alone (no page lands on a store being
    /// replaced).
    gate: tokio::sync::RwLock<()>,
    stop: tokio::sync::watch::Sender<bool>,
}

pub fn now() -> DateTime<FixedOffset> {
    chrono::Utc::now().with_timezone(&crate::time::jst())
}

impl Engine {
    /// The engine over `store`, its robot catalogue in place.
    pub fn new(store: Store) -> Result<Engine> {
        Engine::with_options(store, EngineOptions::default())
    }

    pub fn with_options(store: Store, options: EngineOptions) -> Result<Engine> {
        let (stop, _) = tokio::sync::watch::channel(false);
        let engine = Engine {
            inner: Arc::new(Inner {
                store,
                options,
                clients: Mutex::new(HashMap::new()),
                running: Mutex::new(HashSet::new()),
                gate: tokio::sync::RwLock::new(()),
                stop,
            }),
        };
        engine.ensure_catalogue()?;
        Ok(engine)
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Committed changes, as they happen.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoreEvent>> {
        self.inner.store.subscribe()
    }

    pub fn settings(&self) -> EngineSettings {
        self.inner
            .store
            .config(CFG_ENGINE)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Asks running robots to stop after the page in flight (Ctrl-C, SIGTERM).
    pub fn request_stop(&self) {
        // send_replace: the value must stick even when no task is listening yet.
        self.inner.stop.send_replace(true);
    }

    pub fn stop_requested(&self) -> bool {
        *self.inner.stop.borrow()
    }

    pub fn stop_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.stop.subscribe()
    }

    pub fn running_robots(&self) -> Vec<u64> {
        self.inner
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect()
    }

    /// The futureshop client of one API認証設定 (cached while the settings are unchanged).
    pub fn client(&self, auth_id: u64) -> Result<Client> {
        let store = &self.inner.store;
        let auth = store
            .auth(auth_id)?
            .ok_or_else(|| EngineError::Setup(no_such("API認証設定", "API認証設定", auth_id)))?;
        let secret = store.secret(auth_id)?.filter(|s| !s.is_empty()).ok_or_else(|| {
            let a = &auth.name;
            EngineError::Setup(msg!(
                "API認証設定「{a}」にシークレットが登録されていません: セットアップで入力してください",
                "API認証設定 \"{a}\" has no client secret: enter it in the setup"
            ))
        })?;
        let base_url = if auth.endpoint.contains("://") {
            parse_base("endpoint", &auth.endpoint)
        } else {
            base_from_domain("endpoint", &auth.endpoint)
        }
        .map_err(|e| {
            let a = &auth.name;
            EngineError::Setup(msg!(
                "API認証設定「{a}」の API ドメインが正しくありません: {e}",
                "API認証設定 \"{a}\" has an invalid API domain: {e}"
            ))
        })?;
        // The fingerprint covers everything that shapes the client; the secret is hashed so it
        // is never kept in clear outside the client itself.
        let fingerprint = format!(
            "{}|{}|{}|{}|{:x}",
            base_url,
            auth.shop_key,
            auth.client_id,
            auth.pacing_ms,
            fxhash(secret.expose())
        );
        let mut clients = self.inner.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((fp, c)) = clients.get(&auth_id)
            && *fp == fingerprint
        {
            return Ok(c.clone());
        }
        let mut options = self.inner.options.client.clone();
        options.pacing = Duration::from_millis(auth.pacing_ms);
        let client = Client::new(FsConfig {
            credentials: Credentials {
                shop_key: auth.shop_key.clone(),
                client_id: auth.client_id.clone(),
                client_secret: secret,
            },
            base_url,
            options,
        })?;
        clients.insert(auth_id, (fingerprint, client.clone()));
        Ok(client)
    }
}

fn fxhash(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// Audit entry helper.
pub(crate) fn audit_entry(
    actor: &Actor,
    target: Target,
    action: impl Into<String>,
    from: Option<Status>,
    to: Option<Status>,
    reason: impl Into<String>,
) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at: now(),
        actor: actor.clone(),
        target,
        action: action.into(),
        from,
        to,
        reason: reason.into(),
    }
}

pub(crate) fn instruction_target(i: &Instruction) -> Target {
    Target::Instruction {
        id: i.id,
        order_no: i.order_no.clone(),
    }
}
