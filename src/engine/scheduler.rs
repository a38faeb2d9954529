//! The scheduler: runs enabled linkage robots when their time trigger is due (chained robots
//! run after them), one run per robot at a time. A failing run is logged and retried on the
//! next trigger; it never stops the scheduler.

use std::time::Duration;

use tokio::task::JoinSet;

use super::{Engine, RunOptions, now};
use crate::domain::RunLogEntry;
use crate::robots::linkage::{LinkageRobot, Trigger};

impl Engine {
    /// Enabled robots whose time trigger is due now and that are not running.
    pub fn due_robots(&self) -> Vec<LinkageRobot> {
        let store = self.store();
        let running = self.running_robots();
        let at = now();
        store
            .linkage_robots()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.enabled && !running.contains(&r.id))
            .filter(|r| {
                let cursor = store.cursor(r.id).ok().flatten().unwrap_or_default();
                // A run the process did not live to finish is taken up again at once.
                let interrupted =
                    matches!(r.trigger, Trigger::Every { .. } | Trigger::Daily { .. })
                        && cursor.last_start.is_some()
                        && cursor.last_finish < cursor.last_start;
                interrupted || r.trigger.due(cursor.last_start, at)
            })
            .collect()
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
    pub async fn run_due_once(&self) -> Vec<RunLogEntry> {
        let mut lines = Vec::new();
        for r in self.due_robots() {
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
            // The robot's line and those of its chain.
            if let Ok(new) = self.store().runs(usize::MAX) {
                lines.extend(new.into_iter().filter(|l| l.seq > before).rev());
            }
        }
        lines
    }

    /// Runs the scheduler until a stop is requested, then waits (up to `grace`) for runs in
    /// flight to finish their page.
    pub async fn run_scheduler(&self, tick: Duration, grace: Duration) {
        let mut stop = self.stop_signal();
        let mut tasks: JoinSet<()> = JoinSet::new();
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
            for r in self.due_robots() {
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
