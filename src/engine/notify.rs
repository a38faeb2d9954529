//! Alerts out: the notification targets (secrets sealed like the client secret), the watch over
//! the linkage robots (failing in a row, no successful fetch), and one pass of the sender —
//! per target, the alerts it has not had yet, as one digest at most every `digest_secs`, with
//! retries and backoff on failure. Every attempt is a line of the audit log (ログ → 履歴). It
//! runs beside the scheduler, so a slow receiver never holds up a robot.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset};
use serde::{Deserialize, Serialize};

use super::{Engine, EngineError, Result, audit_entry, now};
use crate::domain::{Actor, LinkAction, RunState, Target};
use crate::msg;
use crate::notify::send::deliver;
use crate::notify::{
    Alert, AlertKind, NotifySettings, NotifyTarget, TargetState, digest, secret_slot,
};
use crate::secret::Secret;

pub const CFG_NOTIFY: &str = "notify";
const CFG_WATCH: &str = "notify_watch";
/// The longest wait between two tries of a failing target.
const MAX_BACKOFF_SECS: i64 = 600;
/// Alerts read per target per pass.
const BATCH: usize = 500;

/// What the watch raised already, so that one streak is one alert.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Watch {
    /// Robot id → the run that completed its failing streak (alerted).
    failing: BTreeMap<u64, u64>,
    /// The time of the last successful fetch the stale alert was about.
    stale_since: Option<DateTime<FixedOffset>>,
}

/// One target's outcome in a pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    pub target: String,
    pub alerts: usize,
    /// Ok: what the receiver said; Err: why it failed (never the secret).
    pub result: std::result::Result<String, String>,
}

/// A target as `shukka notify list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetView {
    pub target: NotifyTarget,
    pub has_secret: bool,
    pub state: TargetState,
    /// Alerts it has not had yet.
    pub pending: usize,
}

impl Engine {
    pub fn notify_settings(&self) -> Result<NotifySettings> {
        Ok(self.store().config(CFG_NOTIFY)?.unwrap_or_default())
    }

    /// Replaces the targets; `secrets[i]` is target i's secret. A new target starts after the
    /// alerts already queued (it does not get the shop's history).
    pub fn set_notify(
        &self,
        s: &NotifySettings,
        secrets: Vec<Option<Secret>>,
        actor: &Actor,
    ) -> Result<()> {
        let old = self.notify_settings()?;
        let last = self.store().last_alert_id()?;
        let mut names = std::collections::BTreeSet::new();
        for t in &s.targets {
            if !names.insert(t.name.as_str()) {
                let n = &t.name;
                return Err(EngineError::Refused(msg!(
                    "通知先の名前 {n} が重複しています",
                    "Two notification targets are named {n}"
                )));
            }
        }
        let names: Vec<String> = s.targets.iter().map(|t| t.name.clone()).collect();
        self.store().write(|t| {
            for (i, target) in s.targets.iter().enumerate() {
                match secrets.get(i).cloned().flatten() {
                    Some(sec) if !sec.is_empty() => t.put_secret(secret_slot(i), sec),
                    _ => t.delete_secret(secret_slot(i)),
                }
                if t.notify_state(&target.name)?.is_none() {
                    t.put_notify_state(
                        &target.name,
                        &TargetState {
                            delivered: last,
                            ..TargetState::default()
                        },
                    )?;
                }
            }
            for i in s.targets.len()..old.targets.len() {
                t.delete_secret(secret_slot(i));
            }
            t.put_config(CFG_NOTIFY, s)?;
            t.audit(audit_entry(
                actor,
                Target::Setup {
                    what: "通知先".into(),
                },
                "保存",
                None,
                None,
                if names.is_empty() {
                    "なし".to_string()
                } else {
                    names.join(", ")
                },
            ))?;
            Ok::<_, EngineError>(())
        })?;
        self.store().flush()?;
        Ok(())
    }

    /// Queues an alert on its own (the events that are not part of a store change).
    pub fn raise(&self, a: Alert) -> Result<()> {
        self.store().write(|t| t.alert(a))?;
        Ok(())
    }

    pub fn notify_targets(&self) -> Result<Vec<TargetView>> {
        let s = self.notify_settings()?;
        let mut out = Vec::new();
        for (i, t) in s.targets.into_iter().enumerate() {
            let state = self.store().notify_state(&t.name)?.unwrap_or_default();
            let pending = self
                .store()
                .alerts_after(state.delivered, BATCH)?
                .iter()
                .filter(|a| t.wants(a.kind))
                .count();
            out.push(TargetView {
                has_secret: self.store().secret(secret_slot(i))?.is_some(),
                target: t,
                state,
                pending,
            });
        }
        Ok(out)
    }

    /// `shukka notify test NAME`: a test message now, whatever the digest window.
    pub async fn notify_test(&self, name: &str, actor: &Actor) -> Result<String> {
        let s = self.notify_settings()?;
        let Some((i, target)) = s.targets.iter().enumerate().find(|(_, t)| t.name == name) else {
            let known: Vec<&str> = s.targets.iter().map(|t| t.name.as_str()).collect();
            let known = known.join(", ");
            return Err(EngineError::NotFound(msg!(
                "通知先 {name} はありません (あるもの: {known})",
                "There is no notification target {name} (there are: {known})"
            )));
        };
        let secret = self.store().secret(secret_slot(i))?;
        let a = Alert::new(
            AlertKind::Test,
            "shukka からのテスト通知です。届いていれば設定は正しく動いています。".into(),
            "A test message from shukka: if you can read it, this target works.".into(),
            Vec::new(),
        );
        let d = digest(target, &[a]);
        let r = deliver(target, secret.as_ref(), &d).await;
        self.log_attempt(
            target,
            1,
            &r.as_ref().map(String::clone).map_err(|e| e.to_string()),
            actor,
        )?;
        r.map_err(|e| {
            let e = e.to_string();
            EngineError::Refused(msg!(
                "通知先 {name} に送れません: {e}",
                "Cannot send to {name}: {e}"
            ))
        })
    }

    fn log_attempt(
        &self,
        target: &NotifyTarget,
        n: usize,
        r: &std::result::Result<String, String>,
        actor: &Actor,
    ) -> Result<()> {
        let name = &target.name;
        let (action, reason) = match r {
            Ok(said) => (
                "通知送信",
                format!("{name} ({}): {n} 件 — {said}", target.channel_name()),
            ),
            Err(e) => (
                "通知失敗",
                format!("{name} ({}): {n} 件 — {e}", target.channel_name()),
            ),
        };
        self.store().write(|t| {
            t.audit(audit_entry(
                actor,
                Target::Setup {
                    what: format!("通知先 {name}"),
                },
                action,
                None,
                None,
                reason,
            ))
        })?;
        Ok(())
    }

    /// The watch: a linkage robot whose last `failures_in_a_row` runs failed, and no
    /// successful fetch for `stale_minutes` while a fetch robot is on, each raise one alert.
    pub fn watch_robots(&self, s: &NotifySettings, at: DateTime<FixedOffset>) -> Result<()> {
        let store = self.store();
        let mut watch: Watch = store.config(CFG_WATCH)?.unwrap_or_default();
        let before = serde_json::to_string(&watch).unwrap_or_default();
        let robots = store.linkage_robots()?;
        // Enough lines for a few robots × `failures_in_a_row` (read every tick: kept small).
        let runs = store.runs(300)?;
        let n = s.failures_in_a_row.max(1) as usize;
        let mut alerts = Vec::new();
        for r in robots.iter().filter(|r| r.enabled) {
            let mine: Vec<_> = runs
                .iter()
                .filter(|l| l.robot_id == r.id && l.state != RunState::Running)
                .take(n)
                .collect();
            let streak = mine.len() == n
                && mine
                    .iter()
                    .all(|l| matches!(l.state, RunState::Failed | RunState::Interrupted));
            if !streak {
                watch.failing.remove(&r.id);
                continue;
            }
            let newest = mine[0].seq;
            // One alert per streak: the streak that was alerted is still going on.
            if watch.failing.contains_key(&r.id) {
                continue;
            }
            watch.failing.insert(r.id, newest);
            let why = mine[0].errors.first().cloned().unwrap_or_default();
            let name = &r.name;
            alerts.push(Alert::new(
                AlertKind::RobotFailing,
                format!("連携ロボット「{name}」が {n} 回続けて失敗しました: {why} — API認証設定と futureshop の状態を確かめてください (ログ画面)"),
                format!("Linkage robot \"{name}\" failed {n} times in a row: {why} — check the credentials and futureshop (the ログ screen)"),
                Vec::new(),
            ));
        }
        let fetching = robots
            .iter()
            .any(|r| r.enabled && r.action == LinkAction::FetchDiff);
        let last_ok = runs
            .iter()
            .filter(|l| l.action.is_fetch() && l.state == RunState::Done)
            .find_map(|l| l.ended);
        if let Some(ok) = last_ok {
            let stale = fetching && at - ok > Duration::minutes(s.stale_minutes as i64);
            if !stale {
                watch.stale_since = None;
            } else if watch.stale_since != Some(ok) {
                watch.stale_since = Some(ok);
                let (m, when) = (s.stale_minutes, ok.format("%m/%d %H:%M"));
                alerts.push(Alert::new(
                    AlertKind::FetchStale,
                    format!("{m} 分以上、注文を取得できていません (最後の成功 {when}) — futureshop の障害か、API認証設定 (クライアントシークレット) を確かめてください"),
                    format!("No successful order fetch for over {m} minutes (last {when}) — futureshop may be down, or the credentials were revoked"),
                    Vec::new(),
                ));
            }
        }
        let after = serde_json::to_string(&watch).unwrap_or_default();
        if alerts.is_empty() && before == after {
            return Ok(());
        }
        store.write(|t| {
            for a in alerts {
                t.alert(a)?;
            }
            t.put_config(CFG_WATCH, &watch)
        })?;
        Ok(())
    }

    /// One pass: the watch, then each target due gets one digest of what it has not had.
    pub async fn notify_once(&self) -> Result<Vec<Sent>> {
        let s = self.notify_settings()?;
        if s.targets.is_empty() {
            return Ok(Vec::new());
        }
        let at = now();
        self.watch_robots(&s, at)?;
        let mut out = Vec::new();
        for (i, target) in s.targets.iter().enumerate() {
            let mut state = self.store().notify_state(&target.name)?.unwrap_or_default();
            if state.next_try.is_some_and(|n| at < n) {
                continue;
            }
            if state
                .last_sent
                .is_some_and(|l| at - l < Duration::seconds(target.digest_secs as i64))
            {
                continue;
            }
            let fresh = self.store().alerts_after(state.delivered, BATCH)?;
            let Some(last) = fresh.last().map(|a| a.id) else {
                continue;
            };
            let wanted: Vec<Alert> = fresh.into_iter().filter(|a| target.wants(a.kind)).collect();
            if wanted.is_empty() {
                state.delivered = last;
                self.store()
                    .write(|t| t.put_notify_state(&target.name, &state))?;
                continue;
            }
            let secret = self.store().secret(secret_slot(i))?;
            let d = digest(target, &wanted);
            let r = deliver(target, secret.as_ref(), &d)
                .await
                .map_err(|e| e.to_string());
            match &r {
                Ok(_) => {
                    state.delivered = last;
                    state.last_sent = Some(at);
                    state.failures = 0;
                    state.next_try = None;
                    state.last_error = None;
                }
                Err(e) => {
                    state.failures += 1;
                    let wait = (target.retry_secs.max(1) as i64)
                        .saturating_mul(1 << (state.failures - 1).min(20))
                        .min(MAX_BACKOFF_SECS);
                    state.next_try = Some(at + Duration::seconds(wait));
                    state.last_error = Some(e.clone());
                }
            }
            self.store()
                .write(|t| t.put_notify_state(&target.name, &state))?;
            self.log_attempt(target, wanted.len(), &r, &Actor::System)?;
            out.push(Sent {
                target: target.name.clone(),
                alerts: wanted.len(),
                result: r,
            });
        }
        Ok(out)
    }
}
