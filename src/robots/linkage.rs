//! 連携ロボット: an action (talk to futureshop, or apply a processing robot) plus a trigger.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::domain::Status;

pub use crate::domain::LinkAction;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trigger {
    #[serde(rename = "手動")]
    Manual,
    /// Every N seconds.
    #[serde(rename = "間隔")]
    Every { secs: u64 },
    /// At these times of day (JST).
    #[serde(rename = "時刻")]
    Daily { times: Vec<NaiveTime> },
    /// Right after another linkage robot's run.
    #[serde(rename = "連携後")]
    After { robot_id: u64 },
}

impl Trigger {
    /// Parses what an operator types: `手動`/`manual`, `10m`/`30s`/`2h`, `09:00,15:30`,
    /// `after:ID`.
    pub fn parse(s: &str) -> Result<Trigger, String> {
        let s = s.trim();
        if s == MANUAL || s.eq_ignore_ascii_case("manual") {
            return Ok(Trigger::Manual);
        }
        if let Some(id) = s
            .strip_prefix("after:")
            .or_else(|| s.strip_prefix("連携後:"))
        {
            return id
                .trim()
                .parse()
                .map(|robot_id| Trigger::After { robot_id })
                .map_err(|_| format!("「{s}」: after: の後にロボットIDを書いてください"));
        }
        if s.contains(':') {
            let mut times = Vec::new();
            for t in s.split(',') {
                let t = t.trim();
                let parsed = NaiveTime::parse_from_str(t, "%H:%M")
                    .map_err(|_| format!("「{t}」は hh:mm の時刻ではありません"))?;
                times.push(parsed);
            }
            times.sort();
            times.dedup();
            return Ok(Trigger::Daily { times });
        }
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
        let n: u64 = num.parse().map_err(|_| {
            format!("「{s}」はトリガーではありません (例: 手動, 10m, 09:00,15:00, after:ID)")
        })?;
        let secs = match unit.trim() {
            "" | "s" | "秒" => n,
            "m" | "分" => n * 60,
            "h" | "時間" => n * 3600,
            _ => return Err(format!("「{s}」の単位が分かりません (s, m, h)")),
        };
        if secs == 0 {
            return Err("間隔は 1 秒以上にしてください".into());
        }
        Ok(Trigger::Every { secs })
    }

    /// Whether a time trigger is due at `now`, given when the robot last started.
    pub fn due(
        &self,
        last_start: Option<DateTime<FixedOffset>>,
        now: DateTime<FixedOffset>,
    ) -> bool {
        match self {
            Trigger::Manual | Trigger::After { .. } => false,
            Trigger::Every { secs } => {
                last_start.is_none_or(|l| now - l >= Duration::seconds(*secs as i64))
            }
            Trigger::Daily { times } => {
                let today = now.date_naive();
                let last: Option<NaiveDateTime> = last_start.map(|l| l.naive_local());
                times.iter().any(|t| {
                    let at = today.and_time(*t);
                    at <= now.naive_local() && last.is_none_or(|l| l < at)
                })
            }
        }
    }

    pub fn describe(&self, robot_name: impl Fn(u64) -> String) -> String {
        match self {
            Trigger::Manual => MANUAL.into(),
            Trigger::Every { secs } if secs % 3600 == 0 => format!("{}時間ごと", secs / 3600),
            Trigger::Every { secs } if secs % 60 == 0 => format!("{}分ごと", secs / 60),
            Trigger::Every { secs } => format!("{secs}秒ごと"),
            Trigger::Daily { times } => format!(
                "毎日 {}",
                times
                    .iter()
                    .map(|t| t.format("%H:%M").to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Trigger::After { robot_id } => format!("{} の後", robot_name(*robot_id)),
        }
    }

    /// When a time trigger fires next (None for manual and chained triggers).
    pub fn next_run(
        &self,
        last_start: Option<DateTime<FixedOffset>>,
        now: DateTime<FixedOffset>,
    ) -> Option<DateTime<FixedOffset>> {
        match self {
            Trigger::Manual | Trigger::After { .. } => None,
            Trigger::Every { secs } => Some(match last_start {
                None => now,
                Some(l) => (l + Duration::seconds(*secs as i64)).max(now),
            }),
            Trigger::Daily { times } => {
                let tz = *now.offset();
                for day in 0..2 {
                    let date = now.date_naive() + Duration::days(day);
                    for t in times {
                        let at = date.and_time(*t);
                        if at > now.naive_local() || self.due(last_start, now) {
                            return at.and_local_timezone(tz).single();
                        }
                    }
                }
                None
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkageRobot {
    pub id: u64,
    pub name: String,
    pub action: LinkAction,
    /// API認証設定 used by actions that talk to futureshop.
    pub auth_id: Option<u64>,
    /// The converter a fetch goes through.
    pub converter_id: Option<u64>,
    /// For 出荷指示 処理ロボット適用.
    pub processing_robot_id: Option<u64>,
    pub target_status: Option<Status>,
    /// For 出荷指示取得(範囲指定): the order-date window.
    pub range: Option<(NaiveDateTime, NaiveDateTime)>,
    pub trigger: Trigger,
    pub enabled: bool,
    /// Which standard robot this is (かんたん設定, the guide's release robot, …). Found by its
    /// role, never by its name: operators may rename it.
    #[serde(default)]
    pub role: Option<RobotRole>,
}

/// The standard robots shukka builds, each by one recipe in the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, strum::EnumIter)]
pub enum RobotRole {
    /// かんたん設定: 出荷指示取得(差分).
    EasyFetch,
    /// かんたん設定: ステータス同期.
    EasyStatus,
    /// かんたん設定: 出荷実績連携.
    EasyTracking,
    /// かんたん設定: 在庫連携 (optional).
    EasyInventory,
    /// Setup step 6: rule 5 on 入金確認 after ステータス同期.
    Release,
    /// Fills the product master from the inventory search.
    ProductMaster,
    /// Setup step 7: a manual 範囲指定 fetch.
    TestFetch,
}

impl RobotRole {
    /// The name the recipe gives it (the operator may change it).
    pub fn default_name(self) -> &'static str {
        match self {
            RobotRole::EasyFetch => EASY_FETCH,
            RobotRole::EasyStatus => EASY_STATUS,
            RobotRole::EasyTracking => EASY_TRACKING,
            RobotRole::EasyInventory => EASY_INVENTORY,
            RobotRole::Release => RELEASE_ROBOT,
            RobotRole::ProductMaster => PRODUCT_MASTER_ROBOT,
            RobotRole::TestFetch => TEST_FETCH,
        }
    }

    pub fn action(self) -> LinkAction {
        match self {
            RobotRole::EasyFetch => LinkAction::FetchDiff,
            RobotRole::EasyStatus => LinkAction::StatusSync,
            RobotRole::EasyTracking => LinkAction::TrackingUpload,
            RobotRole::EasyInventory => LinkAction::InventorySync,
            RobotRole::Release => LinkAction::ApplyProcessingRobot,
            RobotRole::ProductMaster => LinkAction::ProductMasterFetch,
            RobotRole::TestFetch => LinkAction::FetchRange,
        }
    }

    /// The role a robot of an older build had by its name and action, if any.
    pub fn of_legacy(r: &LinkageRobot) -> Option<RobotRole> {
        <RobotRole as strum::IntoEnumIterator>::iter()
            .find(|role| role.default_name() == r.name && role.action() == r.action)
    }
}

/// The robot with `role` (of `auth_id`, for the roles tied to one).
pub fn find_role(robots: &[LinkageRobot], role: RobotRole) -> Option<&LinkageRobot> {
    robots.iter().find(|r| r.role == Some(role))
}

impl LinkageRobot {
    pub fn label(&self) -> String {
        format!("ID:{} {}", self.id, self.name)
    }
}

/// The keyword of a manual trigger, as the spec writes it.
pub const MANUAL: &str = "手動";

/// The names かんたん設定 gives the standard set.
pub const EASY_FETCH: &str = "【自動連携】futureshop 出荷指示取得(差分)";
pub const EASY_STATUS: &str = "【自動連携】futureshop ステータス同期";
pub const EASY_TRACKING: &str = "【自動連携】futureshop 出荷実績連携";
pub const EASY_INVENTORY: &str = "【自動連携】Futureshop 在庫連携";
/// The custom robot of setup step 6.
pub const RELEASE_ROBOT: &str =
    "futureshopの出荷指示を対象に入金済みかつ、エラーが無くなったら出荷待ちへ移動";
/// The range-fetch robot of setup step 7, when the shop has none.
pub const TEST_FETCH: &str = "futureshop 取得テスト(範囲指定)";
/// The robot that keeps the product master filled.
pub const PRODUCT_MASTER_ROBOT: &str = "futureshop 商品マスタ取得";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_parsing() {
        assert_eq!(Trigger::parse("手動"), Ok(Trigger::Manual));
        assert_eq!(Trigger::parse("10m"), Ok(Trigger::Every { secs: 600 }));
        assert_eq!(Trigger::parse("30s"), Ok(Trigger::Every { secs: 30 }));
        assert_eq!(
            Trigger::parse("after:7"),
            Ok(Trigger::After { robot_id: 7 })
        );
        assert!(
            matches!(Trigger::parse("15:30, 09:00"), Ok(Trigger::Daily { times }) if times.len() == 2 && times[0].to_string() == "09:00:00")
        );
        assert!(Trigger::parse("soon").is_err());
        assert!(Trigger::parse("0m").is_err());
        assert!(Trigger::parse("25:00").is_err());
    }

    #[test]
    fn due_rules() {
        let tz = crate::time::jst();
        let at = |h, m| {
            chrono::NaiveDate::from_ymd_opt(2026, 11, 29)
                .and_then(|d| d.and_hms_opt(h, m, 0))
                .and_then(|t| t.and_local_timezone(tz).single())
                .expect("time")
        };
        let every = Trigger::Every { secs: 600 };
        assert!(every.due(None, at(9, 0)));
        assert!(!every.due(Some(at(9, 0)), at(9, 5)));
        assert!(every.due(Some(at(9, 0)), at(9, 10)));
        let daily = Trigger::parse("09:00,15:00").expect("daily");
        assert!(!daily.due(Some(at(8, 0)), at(8, 59)));
        assert!(daily.due(Some(at(8, 0)), at(9, 1)));
        assert!(!daily.due(Some(at(9, 1)), at(14, 0)));
        assert!(daily.due(Some(at(9, 1)), at(15, 0)));
        assert!(!Trigger::Manual.due(None, at(9, 0)));
    }
}
