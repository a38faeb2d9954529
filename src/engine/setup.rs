//! The setup guide of workflow.md §4: a checklist computed from the stored state, かんたん設定,
//! and `shukka setup apply FILE.toml`, which performs steps 1–6 idempotently.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Engine, EngineError, EngineSettings, Result, no_such};
use crate::domain::*;
use crate::robots::converter::{self, Converter, STANDARD_ID};
use crate::robots::linkage::{
    EASY_FETCH, LinkAction, LinkageRobot, RELEASE_ROBOT, RobotRole, Trigger, find_role,
};
use crate::robots::processing::BuiltinRule;
use crate::secret::Secret;
use crate::store::{CFG_ENGINE, Store};

pub use crate::robots::linkage::PRODUCT_MASTER_ROBOT;

/// Where an operator fixes a checklist item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FixTarget {
    ShipFrom,
    Converters,
    Auth,
    Linkage,
    Processing,
    Fetch,
}

/// One item of the setup guide. Title and reason come in Japanese (the spec's wording, used by
/// the CLI and the Japanese console) and in English for `--lang en`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckItem {
    pub number: u8,
    pub title: String,
    pub ok: bool,
    pub reason: String,
    pub fix: FixTarget,
    /// Empty from a server that predates the English texts: show the Japanese then.
    #[serde(default)]
    pub title_en: String,
    #[serde(default)]
    pub reason_en: String,
}

impl CheckItem {
    fn new(number: u8, title: [&str; 2], ok: bool, reason: [String; 2], fix: FixTarget) -> Self {
        let [title, title_en] = title;
        let [reason, reason_en] = reason;
        CheckItem {
            number,
            title: title.into(),
            ok,
            reason,
            fix,
            title_en: title_en.into(),
            reason_en,
        }
    }
}

/// Joins the Japanese and the English halves of several reasons.
fn join2(parts: &[[String; 2]], ja_sep: &str, en_sep: &str) -> [String; 2] {
    [
        parts
            .iter()
            .map(|p| p[0].as_str())
            .collect::<Vec<_>>()
            .join(ja_sep),
        parts
            .iter()
            .map(|p| p[1].as_str())
            .collect::<Vec<_>>()
            .join(en_sep),
    ]
}

fn both(ja: impl Into<String>, en: impl Into<String>) -> [String; 2] {
    [ja.into(), en.into()]
}

use super::standard::derives_from_standard;

fn renamed(c: &Converter) -> bool {
    !c.name.ends_with(converter::COPY_SUFFIX)
}

/// The checklist, derived from stored state only.
pub fn checklist(store: &Store) -> Result<Vec<CheckItem>> {
    let ship_froms = store.ship_froms()?;
    let converters = store.converters()?;
    let auths = store.auths()?;
    let linkage = store.linkage_robots()?;
    let processing = store.processing_robots()?;
    let runs = store.runs(RECENT_RUNS)?;
    let guide_fetch: Option<RunLogEntry> = store.config(CFG_GUIDE_FETCH)?;
    let mut items = Vec::new();

    // 1
    const T1: [&str; 2] = ["発送元を登録する", "Register the ship-from (発送元)"];
    items.push(match ship_froms.first() {
        Some(s) => {
            let missing = s.missing_fields();
            let reason = if missing.is_empty() {
                both(
                    format!("発送元「{}」(ID:{})", s.name, s.id),
                    format!("Ship-from \"{}\" (ID:{})", s.name, s.id),
                )
            } else {
                let ja: Vec<&str> = missing.iter().map(|m| m[0]).collect();
                let en: Vec<&str> = missing.iter().map(|m| m[1]).collect();
                both(
                    format!("発送元「{}」(未入力: {})", s.name, ja.join("・")),
                    format!("Ship-from \"{}\" (missing: {})", s.name, en.join(", ")),
                )
            };
            CheckItem::new(1, T1, true, reason, FixTarget::ShipFrom)
        }
        None => CheckItem::new(
            1,
            T1,
            false,
            both("発送元が登録されていません", "No ship-from registered yet"),
            FixTarget::ShipFrom,
        ),
    });

    // 2
    let copies: Vec<&Converter> = converters
        .iter()
        .filter(|c| !c.standard && derives_from_standard(c, &converters))
        .collect();
    let good: Vec<&Converter> = copies
        .iter()
        .copied()
        .filter(|c| renamed(c) && c.enabled)
        .collect();
    items.push(CheckItem::new(
        2,
        [
            "ID:18025 を複製し、名前を変えて有効にする",
            "Duplicate ID:18025, rename the copy and enable it",
        ],
        !good.is_empty(),
        match (copies.is_empty(), good.first()) {
            (_, Some(c)) => both(
                format!("{} が有効", c.label()),
                format!("{} is enabled", c.label()),
            ),
            (true, None) => both("ID:18025 の複製がありません", "No copy of ID:18025"),
            (false, None) => {
                let c = copies[0];
                if !renamed(c) {
                    both(
                        format!("{} の名前が変更されていません", c.label()),
                        format!("{} still has the copy's name", c.label()),
                    )
                } else {
                    both(
                        format!("{} が有効になっていません", c.label()),
                        format!("{} is not enabled", c.label()),
                    )
                }
            }
        },
        FixTarget::Converters,
    ));

    // 3
    let auth_ok = |a: &ApiAuth| {
        a.api == "futureshop"
            && a.ship_from_id.is_some()
            && !a.shop_key.is_empty()
            && !a.client_id.is_empty()
            && a.has_secret
            && a.last_test.as_ref().is_some_and(|t| t.ok)
    };
    let auth = auths.iter().find(|a| auth_ok(a)).or(auths.first());
    items.push(CheckItem::new(
        3,
        [
            "API認証設定を登録し、接続テストに成功する",
            "Add API credentials (API認証設定) and pass the connection test",
        ],
        auth.is_some_and(auth_ok),
        match auth {
            None => both("API認証設定がありません", "No API credentials yet"),
            Some(a) => {
                let mut missing = Vec::new();
                if a.ship_from_id.is_none() {
                    missing.push(["発送元", "ship-from"]);
                }
                if a.shop_key.is_empty() {
                    missing.push(["店舗キー", "shop key"]);
                }
                if a.client_id.is_empty() {
                    missing.push(["クライアントID", "client ID"]);
                }
                if !a.has_secret {
                    missing.push(["シークレット", "secret"]);
                }
                if !missing.is_empty() {
                    let ja: Vec<&str> = missing.iter().map(|m| m[0]).collect();
                    let en: Vec<&str> = missing.iter().map(|m| m[1]).collect();
                    both(
                        format!("「{}」: 未入力 {}", a.name, ja.join("・")),
                        format!("\"{}\": missing {}", a.name, en.join(", ")),
                    )
                } else {
                    match &a.last_test {
                        None => both(
                            format!("「{}」: 接続テストをしていません", a.name),
                            format!("\"{}\": not tested yet", a.name),
                        ),
                        Some(t) if !t.ok => both(
                            format!("「{}」: 接続テスト失敗 ({})", a.name, t.message),
                            format!("\"{}\": connection test failed ({})", a.name, t.message),
                        ),
                        Some(t) => {
                            let at = t.at.format("%m/%d %H:%M");
                            both(
                                format!("「{}」: 接続テスト成功 ({at})", a.name),
                                format!("\"{}\": connection test passed ({at})", a.name),
                            )
                        }
                    }
                }
            }
        },
        FixTarget::Auth,
    ));

    // 4 (the robots by their role: an operator may have renamed them)
    let find = |role: RobotRole| find_role(&linkage, role);
    let fetch = find(RobotRole::EasyFetch);
    let fetch_name = fetch.map(|f| f.name.as_str()).unwrap_or(EASY_FETCH);
    let missing: Vec<&str> = [
        RobotRole::EasyFetch,
        RobotRole::EasyStatus,
        RobotRole::EasyTracking,
    ]
    .into_iter()
    .filter(|r| find(*r).is_none())
    .map(RobotRole::default_name)
    .collect();
    let fetch_conv = fetch
        .and_then(|f| f.converter_id)
        .and_then(|id| converters.iter().find(|c| c.id == id));
    items.push(CheckItem::new(
        4,
        [
            "かんたん設定で連携ロボットを作り、差分取得に複製した変換ロボットを使う",
            "かんたん設定: create the linkage robots; the diff fetch uses the copied converter",
        ],
        missing.is_empty() && fetch_conv.is_some_and(|c| !c.standard),
        if !missing.is_empty() {
            both(
                format!("ありません: {}", missing.join("、")),
                format!("missing: {}", missing.join(", ")),
            )
        } else {
            match fetch_conv {
                None => both(
                    format!("{fetch_name} に変換ロボットがありません"),
                    format!("{fetch_name} has no converter"),
                ),
                Some(c) if c.standard => both(
                    format!("{fetch_name} が標準の {} を使っています", c.label()),
                    format!("{fetch_name} uses the standard {}", c.label()),
                ),
                Some(c) => both(
                    format!("{fetch_name} は {} を使用", c.label()),
                    format!("{fetch_name} uses {}", c.label()),
                ),
            }
        },
        FixTarget::Linkage,
    ));

    // 5
    let target_conv = fetch_conv.filter(|c| !c.standard).or(good.first().copied());
    let rule = |r: BuiltinRule| processing.iter().find(|p| p.builtin_rule() == Some(r));
    let mut problems: Vec<[String; 2]> = Vec::new();
    match target_conv {
        None => problems.push(both(
            "対象の変換ロボットがありません",
            "no converter to apply them to",
        )),
        Some(c) => {
            for r in &BuiltinRule::ALL[..5] {
                let n = r.number();
                match rule(*r) {
                    Some(p) if p.active_for(c.id) => {}
                    Some(p) if !p.enabled => {
                        problems.push(both(format!("{n} が無効"), format!("{n} is off")))
                    }
                    Some(_) => {
                        problems.push(both(format!("{n} が未適用"), format!("{n} is not applied")))
                    }
                    None => {
                        problems.push(both(format!("{n} がありません"), format!("{n} is missing")))
                    }
                }
            }
        }
    }
    if rule(BuiltinRule::GenericRelease).is_some_and(|p| p.enabled) {
        problems.push(both(
            "6 が有効 (5 と同時には使えません)",
            "6 is on (it cannot be used together with 5)",
        ));
    }
    items.push(CheckItem::new(
        5,
        [
            "処理ロボット 1〜5 を有効にして適用する (6 は無効)",
            "Enable processing robots 1–5 and apply them (6 stays off)",
        ],
        problems.is_empty(),
        if problems.is_empty() {
            let target = target_conv.map(|c| c.label()).unwrap_or_default();
            both(
                format!("1〜5 が {target} に適用済み"),
                format!("1–5 are applied to {target}"),
            )
        } else {
            join2(&problems, "、", "; ")
        },
        FixTarget::Processing,
    ));

    // 6
    let status_robot = find(RobotRole::EasyStatus);
    let custom = find(RobotRole::Release);
    let custom_ok = |r: &LinkageRobot| {
        r.action == LinkAction::ApplyProcessingRobot
            && r.processing_robot_id == Some(BuiltinRule::FutureshopRelease.number())
            && r.target_status == Some(Status::AwaitingPayment)
            && status_robot.is_some_and(|s| r.trigger == Trigger::After { robot_id: s.id })
            && r.enabled
    };
    items.push(CheckItem::new(
        6,
        [
            "ステータス同期の後に処理ロボット5を入金確認へ適用する連携ロボットを作る",
            "Create the linkage robot applying robot 5 to 入金確認 after ステータス同期",
        ],
        custom.is_some_and(custom_ok),
        match custom {
            None => both(
                format!("「{RELEASE_ROBOT}」がありません"),
                format!("\"{RELEASE_ROBOT}\" is missing"),
            ),
            Some(r) if custom_ok(r) => both(
                format!("{} が有効", r.label()),
                format!("{} is enabled", r.label()),
            ),
            Some(r) => {
                let mut why = Vec::new();
                if r.action != LinkAction::ApplyProcessingRobot {
                    why.push(both(
                        "アクションが処理ロボット適用ではない",
                        "its action does not apply a processing robot",
                    ));
                }
                if r.processing_robot_id != Some(5) {
                    why.push(both(
                        "処理ロボットが 5 ではない",
                        "its processing robot is not 5",
                    ));
                }
                if r.target_status != Some(Status::AwaitingPayment) {
                    why.push(both("対象が入金確認ではない", "its target is not 入金確認"));
                }
                if !status_robot.is_some_and(|s| r.trigger == Trigger::After { robot_id: s.id }) {
                    why.push(both(
                        "トリガーがステータス同期の後ではない",
                        "its trigger is not \"after ステータス同期\"",
                    ));
                }
                if !r.enabled {
                    why.push(both("無効", "it is off"));
                }
                let [ja, en] = join2(&why, "、", "; ");
                both(
                    format!("{}: {ja}", r.label()),
                    format!("{}: {en}", r.label()),
                )
            }
        },
        FixTarget::Linkage,
    ));

    // 7 (the first good fetch is remembered; older stores: the recent run log)
    let good_fetch = guide_fetch
        .as_ref()
        .or_else(|| runs.iter().find(|r| is_good_fetch(r)));
    let last_fetch = runs.iter().find(|r| r.action.is_fetch());
    items.push(CheckItem::new(
        7,
        [
            "取得テスト (範囲指定の手動実行) で出荷指示を登録する",
            "Test fetch (範囲指定, run by hand) registers instructions",
        ],
        good_fetch.is_some(),
        match (good_fetch, last_fetch) {
            (Some(r), _) => {
                let s = format!(
                    "{} {} ({})",
                    r.started.format("%m/%d %H:%M"),
                    r.robot_name,
                    r.counts()
                );
                both(s.clone(), s)
            }
            (None, None) => both("取得を実行していません", "No fetch has run yet"),
            (None, Some(r)) => {
                let zero = r.state == RunState::Done && r.success == 0;
                let head = format!(
                    "{} {} {}",
                    r.state.name(),
                    r.counts(),
                    r.errors.first().map(String::as_str).unwrap_or("")
                );
                both(
                    format!(
                        "最後の取得: {head}{}",
                        if zero { " (登録 0 件)" } else { "" }
                    ),
                    format!(
                        "last fetch: {head}{}",
                        if zero { " (0 registered)" } else { "" }
                    ),
                )
            }
        },
        FixTarget::Fetch,
    ));
    Ok(items)
}

/// How many recent runs the checklist reads (item 7 remembers the first good fetch).
const RECENT_RUNS: usize = 200;

/// The first fetch that completed and registered orders (checklist item 7), kept in the
/// configuration so the checklist never scans the whole run log.
pub const CFG_GUIDE_FETCH: &str = "guide_fetch";

/// A fetch that ran to completion and registered at least one order.
pub fn is_good_fetch(r: &RunLogEntry) -> bool {
    r.action.is_fetch() && r.state == RunState::Done && r.success >= 1
}

// ---------------------------------------------------------------------------------------------
// Setup file

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SetupFile {
    pub ship_from: ShipFromSection,
    pub futureshop: FutureshopSection,
    #[serde(default)]
    pub sync: SyncSection,
    /// The shop's carrier accounts: `[carriers.b2] billing_customer_code = "…"`.
    #[serde(default)]
    pub carriers: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// 配送方法の判定 rules, first match wins.
    #[serde(default)]
    pub delivery: Vec<crate::labels::delivery::DeliveryRule>,
    #[serde(default)]
    pub delivery_default: Option<DeliveryDefaultSection>,
    /// The shop's own label profiles, or adjustments of a built-in one (`base = "b2"`).
    #[serde(default)]
    pub label_profiles: std::collections::BTreeMap<String, toml::Table>,
    /// Where alerts go (`[[notify]]`).
    #[serde(default)]
    pub notify: Vec<NotifySection>,
    #[serde(default)]
    pub notify_watch: Option<NotifyWatchSection>,
    /// `[archive] after_days = 180`: finished instructions older than that leave the hot
    /// store (0: never).
    #[serde(default)]
    pub archive: Option<crate::store::archive::ArchiveConfig>,
}

/// One `[[notify]]` target. Its secret (webhook URL, Chatwork token, SMTP password) comes
/// from `*_env` or `*_file`, never from the file itself.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NotifySection {
    pub name: String,
    /// webhook | slack | chatwork | smtp | command
    pub kind: String,
    pub events: Vec<String>,
    /// ja (default) or en
    pub lang: Option<String>,
    pub digest_seconds: Option<u64>,
    pub retry_seconds: Option<u64>,
    pub url: Option<String>,
    pub url_env: Option<String>,
    pub url_file: Option<std::path::PathBuf>,
    pub token_env: Option<String>,
    pub token_file: Option<std::path::PathBuf>,
    pub room_id: Option<String>,
    pub api_base: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<String>,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<std::path::PathBuf>,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub command: Vec<String>,
}

/// Where a `[[notify]]` secret is read from: (environment variable, file); None: it has none.
type SecretSource = Option<(Option<String>, Option<std::path::PathBuf>)>;

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotifyWatchSection {
    pub failures_in_a_row: Option<u32>,
    pub stale_minutes: Option<u64>,
}

impl NotifySection {
    /// The target, checked, and where its secret comes from.
    fn target(&self) -> std::result::Result<(crate::notify::NotifyTarget, SecretSource), String> {
        use crate::notify::{AlertKind, Channel, NotifyTarget, SmtpTls};
        let name = self.name.trim();
        let at = format!("[[notify]] {name:?}");
        if name.is_empty() {
            return Err("[[notify]] needs a name".into());
        }
        if self.url.is_some() {
            return Err(format!(
                "{at}: url must not be written in the file (it is a secret): use url_env or url_file"
            ));
        }
        let mut events = Vec::new();
        for e in &self.events {
            events.push(AlertKind::parse(e).ok_or_else(|| {
                format!("{at}: unknown event {e:?} (intake_error, upload_error, robot_failing, fetch_stale, late_cancel, import_refused, bundle_candidate)")
            })?);
        }
        let en = match self.lang.as_deref() {
            None | Some("ja") => false,
            Some("en") => true,
            Some(l) => return Err(format!("{at}: lang must be \"ja\" or \"en\", not {l:?}")),
        };
        let one_of = |env: &Option<String>, file: &Option<std::path::PathBuf>, what: &str| {
            if env.is_some() == file.is_some() {
                Err(format!(
                    "{at}: needs exactly one of {what}_env or {what}_file"
                ))
            } else {
                Ok(Some((env.clone(), file.clone())))
            }
        };
        let (channel, secret) = match self.kind.as_str() {
            "webhook" => (
                Channel::Webhook,
                one_of(&self.url_env, &self.url_file, "url")?,
            ),
            "slack" => (
                Channel::Slack,
                one_of(&self.url_env, &self.url_file, "url")?,
            ),
            "chatwork" => (
                Channel::Chatwork {
                    room_id: self
                        .room_id
                        .clone()
                        .filter(|r| !r.trim().is_empty())
                        .ok_or_else(|| format!("{at}: chatwork needs room_id"))?,
                    api_base: self
                        .api_base
                        .clone()
                        .unwrap_or_else(|| "https://api.chatwork.com/v2".into()),
                },
                one_of(&self.token_env, &self.token_file, "token")?,
            ),
            "smtp" => {
                let tls = match self.tls.as_deref() {
                    None | Some("starttls") => SmtpTls::Starttls,
                    Some("tls") => SmtpTls::Tls,
                    Some("none") => SmtpTls::None,
                    Some(t) => {
                        return Err(format!(
                            "{at}: tls must be starttls, tls or none, not {t:?}"
                        ));
                    }
                };
                if self.to.is_empty() {
                    return Err(format!("{at}: smtp needs to = [\"…\"]"));
                }
                let secret = if self.password_env.is_some() || self.password_file.is_some() {
                    one_of(&self.password_env, &self.password_file, "password")?
                } else {
                    None
                };
                (
                    Channel::Smtp {
                        host: self
                            .host
                            .clone()
                            .ok_or_else(|| format!("{at}: smtp needs host"))?,
                        port: self.port.unwrap_or(match tls {
                            SmtpTls::Tls => 465,
                            SmtpTls::Starttls => 587,
                            SmtpTls::None => 25,
                        }),
                        tls,
                        username: self.username.clone().unwrap_or_default(),
                        from: self
                            .from
                            .clone()
                            .ok_or_else(|| format!("{at}: smtp needs from"))?,
                        to: self.to.clone(),
                    },
                    secret,
                )
            }
            "command" => {
                if self.command.is_empty() {
                    return Err(format!(
                        "{at}: command needs command = [\"/path/to/program\", …]"
                    ));
                }
                (
                    Channel::Command {
                        argv: self.command.clone(),
                    },
                    None,
                )
            }
            k => {
                return Err(format!(
                    "{at}: kind must be webhook, slack, chatwork, smtp or command, not {k:?}"
                ));
            }
        };
        Ok((
            NotifyTarget {
                name: name.to_string(),
                channel,
                events,
                en,
                digest_secs: self.digest_seconds.unwrap_or(60),
                retry_secs: self.retry_seconds.unwrap_or(30),
            },
            secret,
        ))
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeliveryDefaultSection {
    pub carrier: String,
    pub service: Option<String>,
    /// Payment types collected on delivery (default `["COD"]`).
    #[serde(default)]
    pub cod_payments: Vec<String>,
    /// `hold` (default): a time wish no slot matches holds the shipment; `ignore`: the label
    /// is printed without a time.
    #[serde(default)]
    pub unknown_time: Option<String>,
}

impl SetupFile {
    /// The label settings the file describes, or None when it has no label section.
    pub fn label_settings(
        &self,
    ) -> std::result::Result<Option<crate::labels::LabelSettings>, String> {
        use crate::labels::Profile;
        use crate::labels::delivery::Target;
        if self.carriers.is_empty()
            && self.delivery.is_empty()
            && self.delivery_default.is_none()
            && self.label_profiles.is_empty()
        {
            return Ok(None);
        }
        let mut profiles = Vec::new();
        for (id, table) in &self.label_profiles {
            let mut table = table.clone();
            let base = table.remove("base");
            let mut value = match base {
                Some(toml::Value::String(b)) => {
                    let p = Profile::builtin(&b)
                        .ok_or_else(|| format!("[label_profiles.{id}] base {b:?} is not a built-in profile (b2, ehiden3, yupri, clickpost)"))?;
                    toml::Table::try_from(&p).map_err(|e| format!("[label_profiles.{id}]: {e}"))?
                }
                Some(_) => return Err(format!("[label_profiles.{id}] base must be a profile id")),
                None => toml::Table::new(),
            };
            for (k, v) in table {
                // Services and other tables are merged key by key; everything else replaced.
                match (value.get_mut(&k), v) {
                    (Some(toml::Value::Table(old)), toml::Value::Table(new)) if k != "import" => {
                        for (sk, sv) in new {
                            old.insert(sk, sv);
                        }
                    }
                    (_, v) => {
                        value.insert(k, v);
                    }
                }
            }
            value.insert("id".into(), toml::Value::String(id.clone()));
            let text =
                toml::to_string(&value).map_err(|e| format!("[label_profiles.{id}]: {e}"))?;
            let p = Profile::parse(&text).map_err(|e| format!("[label_profiles.{id}]: {e}"))?;
            profiles.push(p);
        }
        let find = |c: &str| -> Option<Profile> {
            profiles
                .iter()
                .find(|p| p.id == c)
                .cloned()
                .or_else(|| Profile::builtin(c))
        };
        let mut settings = crate::labels::LabelSettings {
            rules: self.delivery.clone(),
            carriers: self.carriers.clone(),
            profiles: profiles.clone(),
            ..Default::default()
        };
        for (n, r) in self.delivery.iter().enumerate() {
            let p = find(&r.carrier).ok_or_else(|| {
                format!(
                    "[[delivery]] #{}: carrier {:?} has no profile",
                    n + 1,
                    r.carrier
                )
            })?;
            if !p.services.contains_key(&r.service) {
                return Err(format!(
                    "[[delivery]] #{} ({}): {} has no service {:?} (it has: {})",
                    n + 1,
                    r.name,
                    r.carrier,
                    r.service,
                    p.services.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        if let Some(d) = &self.delivery_default {
            let p = find(&d.carrier).ok_or_else(|| {
                format!("[delivery_default] carrier {:?} has no profile", d.carrier)
            })?;
            let service = d
                .service
                .clone()
                .unwrap_or_else(|| p.default_service.clone());
            if !p.services.contains_key(&service) {
                return Err(format!(
                    "[delivery_default]: {} has no service {service:?}",
                    d.carrier
                ));
            }
            settings.default = Some(Target {
                carrier: d.carrier.clone(),
                service,
            });
            settings.cod_payments = d.cod_payments.clone();
            settings.unknown_time_hold = match d.unknown_time.as_deref() {
                None | Some("hold") => true,
                Some("ignore") => false,
                Some(other) => {
                    return Err(format!(
                        "[delivery_default] unknown_time must be \"hold\" or \"ignore\", not {other:?}"
                    ));
                }
            };
        }
        Ok(Some(settings))
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShipFromSection {
    pub name: String,
    pub postal_code: String,
    pub prefecture: String,
    pub address: String,
    pub phone: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FutureshopSection {
    pub name: String,
    pub shop_key: String,
    pub client_id: String,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    /// Refused: secrets never go inline.
    pub client_secret: Option<toml::Value>,
    pub api_domain: Option<String>,
    pub api_base: Option<String>,
    pub pacing_ms: Option<u64>,
    /// Read each new order's detail (notes, 配送指示, のし, options); default true.
    #[serde(default = "yes")]
    pub details: bool,
    #[serde(default)]
    pub inventory_sync: bool,
    /// Keep the product master filled from futureshop's inventory search (default true).
    #[serde(default = "yes")]
    pub product_master: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSection {
    /// How often the 【自動連携】 robots run.
    pub interval_minutes: u64,
    pub overlap_minutes: u64,
    pub first_lookback_days: u64,
    pub no_prepayment: Vec<String>,
    /// 同梱候補を保留 (processing robot 7) on (true) or off (false) for the fetch's
    /// converter; left as it is when not given.
    pub bundle: Option<bool>,
}

impl Default for SyncSection {
    fn default() -> Self {
        SyncSection {
            interval_minutes: 10,
            overlap_minutes: 10,
            first_lookback_days: 7,
            no_prepayment: vec!["COD".into()],
            bundle: None,
        }
    }
}

impl SetupFile {
    pub fn parse(text: &str) -> std::result::Result<SetupFile, String> {
        let f: SetupFile = toml::from_str(text).map_err(|e| e.to_string())?;
        if f.futureshop.client_secret.is_some() {
            return Err("[futureshop] client_secret must not be written in the file: use client_secret_env = \"VAR\" or client_secret_file = \"PATH\"".into());
        }
        if f.futureshop.client_secret_env.is_some() == f.futureshop.client_secret_file.is_some() {
            return Err(
                "[futureshop] needs exactly one of client_secret_env or client_secret_file".into(),
            );
        }
        if f.futureshop.api_domain.is_some() == f.futureshop.api_base.is_some() {
            return Err("[futureshop] needs exactly one of api_domain or api_base".into());
        }
        if f.sync.interval_minutes == 0 {
            return Err("[sync] interval_minutes must be at least 1".into());
        }
        f.label_settings()?;
        f.notify_settings()?;
        Ok(f)
    }

    /// The `[[notify]]` targets (None: the file has none, the stored ones stay).
    pub fn notify_settings(
        &self,
    ) -> std::result::Result<Option<crate::notify::NotifySettings>, String> {
        if self.notify.is_empty() && self.notify_watch.is_none() {
            return Ok(None);
        }
        let mut s = crate::notify::NotifySettings::default();
        for n in &self.notify {
            s.targets.push(n.target()?.0);
        }
        if let Some(w) = &self.notify_watch {
            if let Some(n) = w.failures_in_a_row {
                s.failures_in_a_row = n.max(1);
            }
            if let Some(m) = w.stale_minutes {
                s.stale_minutes = m.max(1);
            }
        }
        Ok(Some(s))
    }

    /// Each `[[notify]]` target's secret, read from its environment variable or file.
    pub fn notify_secrets(
        &self,
        base_dir: &Path,
    ) -> std::result::Result<Vec<Option<Secret>>, String> {
        let mut out = Vec::new();
        for n in &self.notify {
            let (t, source) = n.target()?;
            out.push(match source {
                None | Some((None, None)) => None,
                Some((env, file)) => Some(read_secret(
                    env.as_deref(),
                    file.as_deref(),
                    base_dir,
                    &format!("[[notify]] {:?}'s secret", t.name),
                )?),
            });
        }
        Ok(out)
    }

    pub fn load(path: &Path) -> std::result::Result<SetupFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        SetupFile::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Reads the secret from the environment variable or file the setup names.
    pub fn secret(&self, base_dir: &Path) -> std::result::Result<Secret, String> {
        let f = &self.futureshop;
        read_secret(
            f.client_secret_env.as_deref(),
            f.client_secret_file.as_deref(),
            base_dir,
            "the client secret (client_secret_env / client_secret_file)",
        )
    }
}

/// What `setup apply` did, step by step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    pub steps: Vec<(String, String)>,
    pub connection: Option<ConnectionTest>,
}

impl ApplyReport {
    fn step(&mut self, what: impl Into<String>, done: impl Into<String>) {
        self.steps.push((what.into(), done.into()));
    }
    pub fn changed(&self) -> bool {
        self.steps.iter().any(|(_, d)| d != UNCHANGED)
    }
}

pub(crate) const UNCHANGED: &str = "変更なし";

impl Engine {
    /// Performs steps 1–6 of the guide from a setup file. Applying the same file twice
    /// changes nothing the second time.
    pub async fn apply_setup(
        &self,
        file: &SetupFile,
        secret: Secret,
        actor: &Actor,
    ) -> Result<ApplyReport> {
        let store = self.store().clone();
        let mut report = ApplyReport::default();

        // Settings.
        let settings = EngineSettings {
            overlap_secs: file.sync.overlap_minutes * 60,
            first_lookback_secs: file.sync.first_lookback_days * 24 * 3600,
        };
        if self.settings() != settings {
            let s = settings.clone();
            store.write(|t| t.put_config(CFG_ENGINE, &s))?;
            report.step("同期設定", "更新");
        }
        let mut np = file.sync.no_prepayment.clone();
        np.sort();
        np.dedup();
        if store.no_prepayment()? != np {
            self.set_no_prepayment(&np, actor)?;
            report.step("入金不要の支払方法", "更新");
        }

        // 1. 発送元
        let sf = &file.ship_from;
        let wanted = ShipFrom {
            id: 0,
            name: sf.name.clone(),
            postal_code: sf.postal_code.clone(),
            prefecture: sf.prefecture.clone(),
            address: sf.address.clone(),
            phone: sf.phone.clone(),
        };
        let ship_from = match store.ship_froms()?.into_iter().find(|s| s.name == sf.name) {
            Some(existing)
                if ShipFrom {
                    id: existing.id,
                    ..wanted.clone()
                } == existing =>
            {
                report.step("1. 発送元", UNCHANGED);
                existing
            }
            Some(existing) => {
                report.step("1. 発送元", "更新");
                self.save_ship_from(
                    ShipFrom {
                        id: existing.id,
                        ..wanted
                    },
                    actor,
                )?
            }
            None => {
                report.step("1. 発送元", "作成");
                self.save_ship_from(wanted, actor)?
            }
        };

        // 2. 変換ロボット
        let (conv, done) = self.guide_step_converter(actor)?;
        report.step("2. 変換ロボット", done);

        // 3. API認証設定 + connection test
        let fs = &file.futureshop;
        let endpoint = fs
            .api_base
            .clone()
            .or(fs.api_domain.clone())
            .unwrap_or_default();
        let pacing = fs.pacing_ms.unwrap_or(1000);
        let existing = store.auths()?.into_iter().find(|a| a.name == fs.name);
        let stored_secret = match &existing {
            Some(a) => store.secret(a.id)?,
            None => None,
        };
        let secret_changed = stored_secret.as_ref() != Some(&secret);
        let auth = match existing {
            Some(a)
                if a.shop_key == fs.shop_key
                    && a.client_id == fs.client_id
                    && a.endpoint == endpoint
                    && a.pacing_ms == pacing
                    && a.fetch_details == fs.details
                    && a.ship_from_id == Some(ship_from.id)
                    && !secret_changed =>
            {
                report.step("3. API認証設定", UNCHANGED);
                a
            }
            other => {
                report.step(
                    "3. API認証設定",
                    if other.is_some() { "更新" } else { "作成" },
                );
                let base = other.unwrap_or_default();
                // A new destination needs the secret with it (the stored one never follows).
                let moved = base.shop_key != fs.shop_key
                    || base.client_id != fs.client_id
                    || base.endpoint != endpoint;
                let secret_changed = secret_changed || moved;
                self.save_auth(
                    ApiAuth {
                        name: fs.name.clone(),
                        api: "futureshop".into(),
                        ship_from_id: Some(ship_from.id),
                        shop_key: fs.shop_key.clone(),
                        client_id: fs.client_id.clone(),
                        endpoint: endpoint.clone(),
                        pacing_ms: pacing,
                        fetch_details: fs.details,
                        ..base
                    },
                    if secret_changed {
                        Some(secret.clone())
                    } else {
                        None
                    },
                    actor,
                )?
            }
        };
        if !auth.last_test.as_ref().is_some_and(|t| t.ok) {
            let test = self.test_connection(auth.id, actor).await?;
            report.step("3. 接続テスト", if test.ok { "成功" } else { "失敗" });
            report.connection = Some(test);
        }

        // 4. かんたん設定, pointed at the copy.
        let created = self.easy_setup(
            auth.id,
            Some(conv.id),
            fs.inventory_sync,
            file.sync.interval_minutes * 60,
            actor,
        )?;
        report.step(
            "4. かんたん設定",
            if created.is_empty() {
                UNCHANGED.to_string()
            } else {
                format!("作成 {} 件", created.len())
            },
        );
        let fetch = find_role(&store.linkage_robots()?, RobotRole::EasyFetch).cloned();
        if let Some(f) = fetch
            && f.converter_id != Some(conv.id)
        {
            self.set_linkage_converter(f.id, conv.id, actor)?;
            report.step("4. 差分取得の変換ロボット", "変更");
        }

        // 5. rules 1–5 enabled and applied, 6 off.
        let changed = self.guide_step_rules(conv.id, actor)?;
        report.step(
            "5. 処理ロボット",
            if changed.is_empty() {
                UNCHANGED.to_string()
            } else {
                changed.join("、")
            },
        );

        // 同梱候補を保留, when the file says.
        if let Some(on) = file.sync.bundle {
            let id = crate::robots::BuiltinRule::BundleCandidates.number();
            let r = store.processing_robot(id)?;
            let mut done = Vec::new();
            if r.as_ref().is_some_and(|r| r.enabled != on) {
                self.set_processing_enabled(id, on, actor)?;
                done.push(if on { "有効化" } else { "無効化" });
            }
            if on && r.as_ref().is_some_and(|r| !r.applied_to.contains(&conv.id)) {
                self.apply_processing(id, conv.id, true, actor)?;
                done.push("適用");
            }
            report.step(
                "同梱候補を保留 (処理ロボット 7)",
                if done.is_empty() {
                    UNCHANGED.to_string()
                } else {
                    done.join("、")
                },
            );
        }

        // [archive]
        if let Some(a) = &file.archive {
            let now = self.archive_config()?;
            if &now != a {
                store.write(|t| t.put_config(crate::store::archive::CFG_ARCHIVE, a))?;
                report.step(
                    "アーカイブ",
                    if a.after_days == 0 {
                        "無効".to_string()
                    } else {
                        format!("{} 日より前の出荷済み・キャンセル", a.after_days)
                    },
                );
            } else {
                report.step("アーカイブ", UNCHANGED.to_string());
            }
        }

        // 6. the custom release robot.
        let done = self.guide_step_release(actor)?;
        report.step("6. 連携ロボット (処理ロボット適用)", done);
        // The product master: rule 1 refuses every order without it.
        if fs.product_master {
            let had = find_role(&store.linkage_robots()?, RobotRole::ProductMaster).is_some();
            let robot = self.standard_robot(RobotRole::ProductMaster, Some(auth.id), actor)?;
            if !had {
                report.step("商品マスタ取得ロボット", "作成");
            }
            if store.products()?.is_empty()
                && store
                    .auth(auth.id)?
                    .and_then(|a| a.last_test)
                    .is_some_and(|t| t.ok)
            {
                let line = self
                    .run_robot(
                        robot.id,
                        super::RunOptions {
                            trigger: format!("セットアップ ({actor})"),
                            ..Default::default()
                        },
                    )
                    .await?;
                report.step(
                    "商品マスタ",
                    format!("取得 {} 件 ({})", line.success, line.state.name()),
                );
            }
        }
        // 送り状: delivery rules, carrier accounts, the shop's own profiles.
        if let Some(labels) = file
            .label_settings()
            .map_err(|e| EngineError::Refused(crate::msg::Msg::same(e)))?
        {
            if self.label_settings()? == labels {
                report.step("送り状設定", UNCHANGED);
            } else {
                self.set_label_settings(&labels, actor)?;
                report.step("送り状設定", "更新");
            }
        }
        store.flush_async().await?;
        Ok(report)
    }

    /// かんたん設定: creates the standard 【自動連携】 set for one API認証設定 (those missing).
    /// Returns the robots created.
    pub fn easy_setup(
        &self,
        auth_id: u64,
        converter_id: Option<u64>,
        inventory: bool,
        interval_secs: u64,
        actor: &Actor,
    ) -> Result<Vec<LinkageRobot>> {
        let store = self.store();
        if store.auth(auth_id)?.is_none() {
            return Err(EngineError::NotFound(no_such(
                "API認証設定",
                "API認証設定",
                auth_id,
            )));
        }
        let conv = match converter_id {
            Some(id) => id,
            None => store
                .converters()?
                .into_iter()
                .find(|c| c.enabled && !c.standard)
                .map(|c| c.id)
                .unwrap_or(STANDARD_ID),
        };
        let existing = store.linkage_robots()?;
        let mut wanted = vec![
            RobotRole::EasyFetch,
            RobotRole::EasyStatus,
            RobotRole::EasyTracking,
        ];
        if inventory {
            wanted.push(RobotRole::EasyInventory);
        }
        let mut created = Vec::new();
        for role in wanted {
            if find_role(&existing, role).is_some() {
                continue;
            }
            let mut r = self.recipe(role, Some(auth_id), interval_secs)?;
            if r.action.is_fetch() {
                r.converter_id = Some(conv);
            }
            created.push(self.create_linkage(r, actor)?);
        }
        Ok(created)
    }

    pub fn checklist(&self) -> Result<Vec<CheckItem>> {
        checklist(self.store())
    }
}

/// A secret named by a setup file: the environment variable, else the file (relative to the
/// setup file's directory), trimmed; empty is an error, naming `what`.
fn read_secret(
    env: Option<&str>,
    file: Option<&Path>,
    base_dir: &Path,
    what: &str,
) -> std::result::Result<Secret, String> {
    if let Some(var) = env {
        return std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| Secret::new(v.trim()))
            .ok_or_else(|| format!("{what}: the environment variable {var} is not set"));
    }
    let path = file.unwrap_or(Path::new(""));
    let path = if path.is_relative() {
        base_dir.join(path)
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{what}: cannot read {}: {e}", path.display()))?;
    let s = text.trim();
    if s.is_empty() {
        return Err(format!("{what}: {} is empty", path.display()));
    }
    Ok(Secret::new(s))
}
