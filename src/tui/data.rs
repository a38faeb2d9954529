//! What every screen shows, in one place: kept current by the store's events (which carry the
//! change itself, so nothing just told is read again) and by the answers to the few requests
//! an event cannot replace.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, FixedOffset};

use super::model::{InstructionRow, OrdersModel, QUEUES, Queue};
use crate::domain::*;
use crate::engine::CheckItem;
use crate::robots::linkage::{LinkAction, Trigger};
use crate::service::RobotsView;
use crate::store::Counts;

/// Lines of the run log and the audit log kept in memory.
pub const LOG_KEEP: usize = 2000;

/// Orders in the 新着 pane.
pub const ARRIVALS_KEEP: usize = 50;

/// How long a new order stays highlighted in the 新着 pane, in seconds.
pub const FRESH_SECS: i64 = 5;

/// An order as it arrived: when the console heard of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrival {
    pub id: u64,
    /// When the event arrived (None: already there when the console started).
    pub at: Option<DateTime<FixedOffset>>,
}

#[derive(Default)]
pub struct Data {
    pub counts: Counts,
    pub orders: OrdersModel,
    pub robots: Option<RobotsView>,
    pub checklist: Vec<CheckItem>,
    pub ship_froms: Vec<ShipFrom>,
    pub auths: Vec<ApiAuth>,
    pub products: usize,
    pub runs: VecDeque<RunLogEntry>,
    pub audit: VecDeque<AuditEntry>,
    pub last_test: Option<ConnectionTest>,
    /// Newest first.
    pub arrivals: VecDeque<Arrival>,
}

impl Data {
    /// The instruction list arrived: the 新着 pane starts with the newest ones.
    pub fn load_summaries(&mut self, all: Vec<InstructionSummary>) {
        self.orders.load(all);
        let live: Vec<Arrival> = self
            .arrivals
            .iter()
            .filter(|a| a.at.is_some())
            .cloned()
            .collect();
        self.arrivals = live.into_iter().collect();
        for id in self.orders.newest(ARRIVALS_KEEP) {
            if self.arrivals.len() >= ARRIVALS_KEEP {
                break;
            }
            if !self.arrivals.iter().any(|a| a.id == id) {
                self.arrivals.push_back(Arrival { id, at: None });
            }
        }
    }

    /// One changed instruction; a new one goes to the top of the 新着 pane.
    pub fn upsert(&mut self, s: InstructionSummary, now: DateTime<FixedOffset>) {
        let new = self.orders.loaded && self.orders.row(s.id).is_none();
        let id = s.id;
        self.orders.upsert(s);
        if new {
            self.arrivals.retain(|a| a.id != id);
            self.arrivals.push_front(Arrival { id, at: Some(now) });
            self.arrivals.truncate(ARRIVALS_KEEP);
        }
    }

    /// A run started, progressed or finished: the log line, and the robot's last and next run.
    pub fn run_changed(&mut self, r: &RunLogEntry, now: DateTime<FixedOffset>) {
        match self.runs.iter().position(|x| x.seq == r.seq) {
            Some(pos) => self.runs[pos] = r.clone(),
            None => {
                self.runs.push_front(r.clone());
                self.runs.truncate(LOG_KEEP);
            }
        }
        if let Some(v) = &mut self.robots
            && let Some(row) = v.linkage.iter_mut().find(|l| l.robot.id == r.robot_id)
        {
            row.running = r.state == RunState::Running;
            row.next_run = if row.robot.enabled {
                row.robot.trigger.next_run(Some(r.started), now)
            } else {
                None
            };
            row.last_run = Some(r.clone());
        }
    }

    pub fn audit_added(&mut self, a: &AuditEntry) {
        if !self.audit.iter().any(|x| x.seq == a.seq) {
            self.audit.push_front(a.clone());
            self.audit.truncate(LOG_KEEP);
        }
    }

    /// A run-log snapshot merged with lines already updated by events: a line only moves
    /// forward (running → finished, more pages), so the more advanced version wins.
    pub fn merge_runs(&mut self, snapshot: Vec<RunLogEntry>) {
        let mut by_seq: BTreeMap<u64, RunLogEntry> =
            snapshot.into_iter().map(|r| (r.seq, r)).collect();
        for r in &self.runs {
            let keep_ours = match by_seq.get(&r.seq) {
                None => true,
                Some(s) => {
                    (s.state == RunState::Running && r.state != RunState::Running)
                        || (s.state == r.state && r.pages > s.pages)
                }
            };
            if keep_ours {
                by_seq.insert(r.seq, r.clone());
            }
        }
        self.runs = by_seq.into_values().rev().take(LOG_KEEP).collect();
    }

    /// The audit log only grows: the union of both, newest first.
    pub fn merge_audit(&mut self, snapshot: Vec<AuditEntry>) {
        let mut by_seq: BTreeMap<u64, AuditEntry> =
            snapshot.into_iter().map(|a| (a.seq, a)).collect();
        for a in &self.audit {
            by_seq.entry(a.seq).or_insert_with(|| a.clone());
        }
        self.audit = by_seq.into_values().rev().take(LOG_KEEP).collect();
    }

    pub fn row(&self, id: u64) -> Option<&InstructionRow> {
        self.orders.row(id)
    }

    /// The checklist's last step is still open (a finished fetch may close it).
    pub fn guide_waits_for_fetch(&self) -> bool {
        self.checklist.iter().any(|i| i.number == 7 && !i.ok)
    }

    /// Rows per queue: from the loaded list, or — while the list is still on its way (it is
    /// the largest answer by far) — the server's counts, which arrive first.
    pub fn queue_counts(&self) -> HashMap<Queue, usize> {
        let model = &self.orders;
        QUEUES
            .iter()
            .map(|q| {
                let n = if model.loaded {
                    model.len(*q)
                } else {
                    let c = &self.counts;
                    let n = match q {
                        Queue::Status(s) => c.get(*s),
                        Queue::IntakeErrors => c.intake_errors,
                        Queue::UpstreamErrors => c.upstream_errors,
                        // Known once the list has arrived (the counts do not carry it).
                        Queue::LateCancels => 0,
                    };
                    usize::try_from(n).unwrap_or(usize::MAX)
                };
                (*q, n)
            })
            .collect()
    }

    /// The newest completed fetch, and whether syncing is stale or failing.
    pub fn sync_state(&self, now: DateTime<FixedOffset>) -> SyncState {
        let is_fetch = |r: &&RunLogEntry| r.action.is_fetch();
        let last_ok = self
            .runs
            .iter()
            .filter(is_fetch)
            .find(|r| r.state == RunState::Done)
            .and_then(|r| r.ended);
        let last = self
            .runs
            .iter()
            .filter(is_fetch)
            .find(|r| r.state != RunState::Running);
        let failing =
            last.is_some_and(|r| matches!(r.state, RunState::Failed | RunState::Interrupted));
        let interval = self
            .robots
            .as_ref()
            .and_then(|v| {
                v.linkage
                    .iter()
                    .find(|l| l.robot.action == LinkAction::FetchDiff && l.robot.enabled)
            })
            .and_then(|l| match l.robot.trigger {
                Trigger::Every { secs } => Some(secs),
                _ => None,
            });
        let limit = interval.map(|s| s * 3 + 60).unwrap_or(30 * 60) as i64;
        let stale = last_ok.is_some_and(|t| (now - t).num_seconds() > limit);
        SyncState {
            last_ok,
            failing,
            stale,
        }
    }

    /// An error queue with entries (shown whatever the width).
    pub fn error_queues(&self) -> Vec<(Queue, usize)> {
        let counts = self.queue_counts();
        [
            Queue::IntakeErrors,
            Queue::UpstreamErrors,
            Queue::LateCancels,
        ]
        .into_iter()
        .filter_map(|q| counts.get(&q).copied().filter(|n| *n > 0).map(|n| (q, n)))
        .collect()
    }
}

pub struct SyncState {
    pub last_ok: Option<DateTime<FixedOffset>>,
    pub failing: bool,
    pub stale: bool,
}
