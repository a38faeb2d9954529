//! Alerts that reach people: what happened (an [`Alert`], queued in the store with the change
//! it reports), where it goes (a [`NotifyTarget`]: a webhook, Slack, Chatwork, mail or a local
//! command, each choosing its events and language), and the message a digest of alerts makes.
//! Sending is in [`send`]; the loop that sends (digest, retries, backoff) is the engine's
//! (`engine/notify.rs`).

pub mod send;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// What an alert is about. A target lists the kinds it wants (none listed: all of them).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::EnumIter,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AlertKind {
    /// 取込エラー: an order refused at intake.
    IntakeError,
    /// 実績連携エラー: futureshop refused a tracking number.
    UploadError,
    /// A linkage robot failed several times in a row.
    RobotFailing,
    /// No successful fetch for a while (futureshop down, credentials revoked).
    FetchStale,
    /// 出荷後キャンセル.
    LateCancel,
    /// A tracking import with refused rows.
    ImportRefused,
    /// 同梱候補: orders that may travel in one parcel wait for an operator.
    BundleCandidate,
    /// `shukka notify test`.
    Test,
}

impl AlertKind {
    pub fn code(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<AlertKind> {
        use strum::IntoEnumIterator;
        AlertKind::iter().find(|k| k.code() == s.trim())
    }

    /// The name operators know it by.
    pub fn label(self, en: bool) -> &'static str {
        match (self, en) {
            (AlertKind::IntakeError, false) => "取込エラー",
            (AlertKind::IntakeError, true) => "intake error",
            (AlertKind::UploadError, false) => "実績連携エラー",
            (AlertKind::UploadError, true) => "shipping-result error",
            (AlertKind::RobotFailing, false) => "ロボット失敗",
            (AlertKind::RobotFailing, true) => "robot failing",
            (AlertKind::FetchStale, false) => "取得停止",
            (AlertKind::FetchStale, true) => "no fetch",
            (AlertKind::LateCancel, false) => "出荷後キャンセル",
            (AlertKind::LateCancel, true) => "cancelled after shipment",
            (AlertKind::ImportRefused, false) => "送り状番号取込の拒否",
            (AlertKind::ImportRefused, true) => "tracking rows refused",
            (AlertKind::BundleCandidate, false) => "同梱候補",
            (AlertKind::BundleCandidate, true) => "bundle candidates",
            (AlertKind::Test, false) => "テスト",
            (AlertKind::Test, true) => "test",
        }
    }
}

/// One thing that happened, in both languages, with what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: u64,
    pub kind: AlertKind,
    pub at: DateTime<FixedOffset>,
    pub ja: String,
    pub en: String,
    /// The orders it names.
    pub orders: Vec<String>,
}

impl Alert {
    pub fn new(kind: AlertKind, ja: String, en: String, orders: Vec<String>) -> Alert {
        Alert {
            id: 0,
            kind,
            at: chrono::Utc::now().with_timezone(&crate::time::jst()),
            ja,
            en,
            orders,
        }
    }
}

/// How a target is reached. The secret part (a webhook URL, a token, a password) is kept
/// sealed in the store, never here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Channel {
    /// A JSON POST to a URL (the secret).
    Webhook,
    /// A Slack incoming webhook (the URL is the secret).
    Slack,
    /// Chatwork's message API; the secret is the API token.
    Chatwork {
        room_id: String,
        #[serde(default = "chatwork_api")]
        api_base: String,
    },
    /// Mail over SMTP; the secret is the password (empty: no login).
    Smtp {
        host: String,
        port: u16,
        /// `starttls` (default), `tls`, or `none` (a local relay only).
        tls: SmtpTls,
        #[serde(default)]
        username: String,
        from: String,
        to: Vec<String>,
    },
    /// A local command; the digest as JSON on its stdin.
    Command { argv: Vec<String> },
}

fn chatwork_api() -> String {
    "https://api.chatwork.com/v2".into()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    Starttls,
    Tls,
    None,
}

/// Where alerts go (the setup file's `[[notify]]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyTarget {
    pub name: String,
    pub channel: Channel,
    /// The kinds it wants; empty: all.
    #[serde(default)]
    pub events: Vec<AlertKind>,
    /// English messages instead of Japanese.
    #[serde(default)]
    pub en: bool,
    /// At most one message per this many seconds (what happened meanwhile is listed in it).
    pub digest_secs: u64,
    /// The first retry after a failure; each further one waits twice as long (≤ 10 minutes).
    pub retry_secs: u64,
}

impl NotifyTarget {
    pub fn wants(&self, k: AlertKind) -> bool {
        k == AlertKind::Test || self.events.is_empty() || self.events.contains(&k)
    }

    /// Whether the channel carries a secret to keep sealed.
    pub fn needs_secret(&self) -> bool {
        !matches!(self.channel, Channel::Command { .. })
    }

    pub fn channel_name(&self) -> &'static str {
        match self.channel {
            Channel::Webhook => "webhook",
            Channel::Slack => "slack",
            Channel::Chatwork { .. } => "chatwork",
            Channel::Smtp { .. } => "smtp",
            Channel::Command { .. } => "command",
        }
    }
}

/// The shop's targets and what the watch over the robots raises.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotifySettings {
    pub targets: Vec<NotifyTarget>,
    /// A linkage robot failing this many runs in a row is an alert.
    pub failures_in_a_row: u32,
    /// No successful fetch for this many minutes (while the fetch robot is on) is an alert.
    pub stale_minutes: u64,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            targets: Vec::new(),
            failures_in_a_row: 3,
            stale_minutes: 30,
        }
    }
}

/// The key of target `index`'s secret in the store's secrets tree (API認証設定 use small ids).
pub fn secret_slot(index: usize) -> u64 {
    (1u64 << 62) | index as u64
}

/// Per target: how far it got, when it last got a message, and its failures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetState {
    /// The last alert it was given (or that it does not want).
    pub delivered: u64,
    pub last_sent: Option<DateTime<FixedOffset>>,
    pub failures: u32,
    pub next_try: Option<DateTime<FixedOffset>>,
    pub last_error: Option<String>,
}

/// What one message says: a digest of alerts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub source: String,
    pub target: String,
    pub subject: String,
    pub text: String,
    pub alerts: Vec<DigestAlert>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestAlert {
    pub kind: AlertKind,
    pub label: String,
    pub at: DateTime<FixedOffset>,
    pub message: String,
    pub orders: Vec<String>,
}

/// The most alerts one message lists (the rest are counted).
pub const DIGEST_MAX: usize = 30;

/// One message for `target` listing `alerts` (oldest first).
pub fn digest(target: &NotifyTarget, alerts: &[Alert]) -> Digest {
    let en = target.en;
    let listed: Vec<DigestAlert> = alerts
        .iter()
        .map(|a| DigestAlert {
            kind: a.kind,
            label: a.kind.label(en).to_string(),
            at: a.at,
            message: crate::sanitize::sanitize(if en { &a.en } else { &a.ja }).into_owned(),
            orders: a.orders.clone(),
        })
        .collect();
    let n = listed.len();
    let subject = if en {
        format!("[shukka] {n} alert(s)")
    } else {
        format!("[shukka] 通知 {n} 件")
    };
    let mut text = format!("{subject}\n");
    for a in listed.iter().take(DIGEST_MAX) {
        text.push_str(&format!(
            "• {} [{}] {}\n",
            a.at.format("%m/%d %H:%M"),
            a.label,
            a.message
        ));
    }
    if n > DIGEST_MAX {
        let rest = n - DIGEST_MAX;
        text.push_str(&if en {
            format!("… and {rest} more (shukka errors, the ログ screen)\n")
        } else {
            format!("… ほか {rest} 件 (shukka errors、ログ画面)\n")
        });
    }
    Digest {
        source: "shukka".into(),
        target: target.name.clone(),
        subject,
        text,
        alerts: listed,
    }
}
