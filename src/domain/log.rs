//! 履歴 (audit log) and APIログ (run log).

use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::Status;

/// Who did something.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    /// A person, by Unix user name.
    Operator(String),
    Robot {
        id: u64,
        name: String,
    },
    System,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Operator(n) => write!(f, "{n}"),
            Actor::Robot { id, name } => write!(f, "ロボット ID:{id} {name}"),
            Actor::System => f.write_str("shukka"),
        }
    }
}

/// What an audit entry is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    Instruction {
        id: u64,
        order_no: String,
    },
    /// A page of orders taken in at once (each instruction's own history has its line).
    Orders {
        count: u64,
    },
    IntakeError {
        id: u64,
        order_no: String,
    },
    Robot {
        kind: String,
        id: u64,
        name: String,
    },
    Setup {
        what: String,
    },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Instruction { order_no, .. } => write!(f, "出荷指示 {order_no}"),
            Target::Orders { count } => write!(f, "出荷指示 {count} 件"),
            Target::IntakeError { order_no, .. } => write!(f, "取込エラー {order_no}"),
            Target::Robot { kind, id, name } => write!(f, "{kind} ID:{id} {name}"),
            Target::Setup { what } => write!(f, "{what}"),
        }
    }
}

/// 履歴: one change, with when, who, what and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: DateTime<FixedOffset>,
    pub actor: Actor,
    pub target: Target,
    pub action: String,
    pub from: Option<Status>,
    pub to: Option<Status>,
    pub reason: String,
}

crate::named_enum! {
    /// How a run ended.
    pub enum RunState {
        Running = "実行中",
        Done = "完了",
        Failed = "エラー",
        /// The process stopped during the run (found on the next start).
        Interrupted = "中断",
    }
}

crate::named_enum! {
    /// What a linkage robot does (the action of a run).
    pub enum LinkAction {
        FetchDiff = "出荷指示取得(差分)",
        FetchRange = "出荷指示取得(範囲指定)",
        StatusSync = "ステータス同期",
        TrackingUpload = "出荷実績連携",
        InventorySync = "在庫連携",
        ProductMasterFetch = "商品マスタ取得",
        ApplyProcessingRobot = "出荷指示 処理ロボット適用",
    }
}

impl LinkAction {
    pub fn is_fetch(self) -> bool {
        matches!(self, LinkAction::FetchDiff | LinkAction::FetchRange)
    }

    /// Talks to futureshop (needs an API認証設定).
    pub fn needs_auth(self) -> bool {
        !matches!(self, LinkAction::ApplyProcessingRobot)
    }
}

/// APIログ: one line per linkage-robot run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLogEntry {
    pub seq: u64,
    pub robot_id: u64,
    pub robot_name: String,
    pub action: LinkAction,
    pub started: DateTime<FixedOffset>,
    pub ended: Option<DateTime<FixedOffset>>,
    /// The order-date window of a fetch.
    pub window: Option<(NaiveDateTime, NaiveDateTime)>,
    pub success: u64,
    pub failure: u64,
    /// Orders seen again (the 差分 overlap) and skipped.
    pub skipped: u64,
    pub pages: u64,
    /// Order details read (受注取得API): one request each.
    #[serde(default)]
    pub details: u64,
    pub state: RunState,
    pub errors: Vec<String>,
    pub trigger: String,
}

impl RunLogEntry {
    /// "成功:n 失敗:m" as コマースロボ writes it.
    pub fn counts(&self) -> String {
        format!("成功:{} 失敗:{}", self.success, self.failure)
    }
}
