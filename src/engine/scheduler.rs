//! The scheduler: runs enabled linkage robots when their time trigger is due (chained robots
//! run after them), one run per robot at a time. A failing run is logged and retried on the
//! next trigger; it never stops the scheduler.

use std::time::Duration;

use tokio::task::JoinSet;

use super::{Engine, Result, RunOptions, now};
use crate::domain::RunLogEntry;
use crate::robots::linkage::{LinkageRobot, Trigger};

/// How often the scheduler makes a notification pass.
const NOTIFY_EVERY: Duration = Duration::from_secs(5);

/// How often the index snapshot is brought up to date while robots write: a process killed
/// then starts from it and reads only what changed since (see `Store::save_snapshot`).
const SNAPSHOT_EVERY: Duration = Duration::from_secs(120);
/// The archive's turn: once a day, the first a while after the start (a start after a crash
/// stays quick, and the first fetch goes first).
const ARCHIVE_EVERY: Duration = Duration::from_secs(24 * 3600);
const ARCHIVE_FIRST: Duration = Duration::from_secs(10 * 60);

impl Engine {
    /// Enabled robots whose time trigger is due now and that are not running. A store that
    /// cannot be read is an error, never "nothing is due".
    pub fn due_robots(&self) -> Result<Vec<LinkageRobot>> {
        let store = self.store();
        let running = self.running_robots();
        let at = now();
        let mut due = Vec::new();
        for r in store.linkage_robots()? {
            if !r.enabled || running.contains(&r.id) {
                continue;
            }
            let cursor = store.cursor(r.id)?.unwrap_or_default();
            // A run the process did not live to finish is taken up again at once.
            let interrupted = matches!(r.trigger, Trigger::Every { .. } | Trigger::Daily { .. })
                && cursor.last_start.is_some()
                && cursor.last_finish < cursor.last_start;
            if interrupted || r.trigger.due(cursor.last_start, at) {
                due.push(r);
            }
        }
        Ok(due)
    }

    fn trigger_label(&self, r: &LinkageRobot) -> String {
        let robots = self.store().linkage_robots().unwrap_or_default();
        r.trigger.describe(|id| {
            robots
                .iter()
                .find(|x| x.id == id)
                .map(|x| x.name.clone())
                .unwrap_or_else(|| format!("ID:{id}"))
        })
    }

    /// `sync --once`: every due robot once, each followed by its chain. Returns the run lines.
    pub async fn run_due_once(&self) -> Result<Vec<RunLogEntry>> {
        let mut lines = Vec::new();
        for r in self.due_robots()? {
            if self.stop_requested() {
                break;
            }
            let before = self
                .store()
                .runs(1)
                .ok()
                .and_then(|v| v.first().map(|l| l.seq))
                .unwrap_or(0);
            let opts = RunOptions {
                trigger: self.trigger_label(&r),
                chain: true,
                ..RunOptions::default()
            };
            if let Err(e) = self.run_robot(r.id, opts).await {
                tracing::warn!(robot = r.id, error = %e, "robot did not run");
            }
            // The robot's line and those of its chain (newest first, so the scan stops early).
            let mut new: Vec<RunLogEntry> = self
                .store()
                .runs(256)?
                .into_iter()
                .take_while(|l| l.seq > before)
                .collect();
            new.reverse();
            lines.extend(new);
        }
        Ok(lines)
    }

    /// Runs the scheduler until a stop is requested, then waits (up to `grace`) for runs in
    /// flight to finish their page.
    pub async fn run_scheduler(&self, tick: Duration, grace: Duration) {
        let mut stop = self.stop_signal();
        let mut tasks: JoinSet<()> = JoinSet::new();
        // Alerts go out beside the robots: one pass at a time, never holding a robot up, and
        // not on every tick (a digest waits a minute anyway; the watch reads the run log).
        let mut notifier: Option<tokio::task::JoinHandle<()>> = None;
        let mut last_pass: Option<std::time::Instant> = None;
        let mut snapshot: Option<tokio::task::JoinHandle<()>> = None;
        let mut last_snapshot = std::time::Instant::now();
        let mut archiver: Option<tokio::task::JoinHandle<()>> = None;
        let mut next_archive = std::time::Instant::now() + ARCHIVE_FIRST;
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = stop.changed() => {}
            }
            if self.stop_requested() {
                break;
            }
            while let Some(done) = tasks.try_join_next() {
                if let Err(e) = done {
                    tracing::error!(error = %e, "a robot run panicked");
                }
            }
            if notifier.as_ref().is_none_or(|n| n.is_finished())
                && last_pass.is_none_or(|t| t.elapsed() >= NOTIFY_EVERY)
            {
                last_pass = Some(std::time::Instant::now());
                let engine = self.clone();
                notifier = Some(tokio::spawn(async move {
                    if let Err(e) = engine.notify_once().await {
                        tracing::warn!(error = %e, "notifications not sent this time");
                    }
                }));
            }
            if snapshot.as_ref().is_none_or(|n| n.is_finished())
                && last_snapshot.elapsed() >= SNAPSHOT_EVERY
            {
                last_snapshot = std::time::Instant::now();
                let store = self.store().clone();
                snapshot = Some(tokio::task::spawn_blocking(move || {
                    if store.snapshot_due()
                        && let Err(e) = store.save_snapshot()
                    {
                        tracing::warn!(error = %e, "index snapshot not saved this time");
                    }
                }));
            }
            if archiver.as_ref().is_none_or(|a| a.is_finished())
                && std::time::Instant::now() >= next_archive
            {
                next_archive = std::time::Instant::now() + ARCHIVE_EVERY;
                let engine = self.clone();
                archiver = Some(tokio::spawn(async move {
                    match engine.archive_config() {
                        Ok(c) if c.after_days == 0 => {}
                        Ok(_) => {
                            if let Err(e) = engine.archive_now(None, None, false).await {
                                tracing::warn!(error = %e, "archive not run this time");
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "archive not run this time"),
                    }
                }));
            }
            let due = match self.due_robots() {
                Ok(due) => due,
                Err(e) => {
                    // Surfaces in the log on every tick until the store reads again.
                    tracing::error!(error = %e, "the scheduler cannot read the robots: nothing runs until the store reads again");
                    continue;
                }
            };
            for r in due {
                let engine = self.clone();
                let opts = RunOptions {
                    trigger: self.trigger_label(&r),
                    chain: true,
                    ..RunOptions::default()
                };
                tasks.spawn(async move {
                    if let Err(e) = engine.run_robot(r.id, opts).await {
                        tracing::warn!(robot = r.id, error = %e, "robot did not run");
                    }
                });
            }
        }
        let _ =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        let _ = self.store().flush_async().await;
    }
}
