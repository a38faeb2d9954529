//! The console's in-memory index of instructions: every summary once, each queue as a sorted
//! vector of keys, and a lowercase haystack per row so a filter keystroke is one scan.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::domain::{InstructionSummary, IntakeError, Status};
use crate::futureshop::PaymentType;
use crate::futureshop::prefecture::prefecture_ja;

/// A tab of the 出荷指示 screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Queue {
    Status(Status),
    IntakeErrors,
    UpstreamErrors,
}

pub const QUEUES: [Queue; 8] = [
    Queue::Status(Status::AwaitingPayment),
    Queue::Status(Status::Held),
    Queue::Status(Status::Ready),
    Queue::Status(Status::InProgress),
    Queue::Status(Status::Shipped),
    Queue::Status(Status::Cancelled),
    Queue::IntakeErrors,
    Queue::UpstreamErrors,
];

impl Queue {
    pub fn name(self) -> &'static str {
        match self {
            Queue::Status(s) => s.name(),
            Queue::IntakeErrors => "取込エラー",
            Queue::UpstreamErrors => "実績連携エラー",
        }
    }

    pub fn parse(s: &str) -> Option<Queue> {
        QUEUES
            .into_iter()
            .find(|q| q.name() == s.trim())
            .or_else(|| Status::parse(s).map(Queue::Status))
    }
}

/// Oldest first, like futureshop lists them.
pub type SortKey = (Option<NaiveDateTime>, u64);

pub struct Row {
    pub s: InstructionSummary,
    hay: String,
}

impl Row {
    fn new(s: InstructionSummary) -> Row {
        let mut hay = String::with_capacity(96);
        hay.push_str(&s.order_no);
        hay.push('\u{1f}');
        hay.push_str(&s.customer.to_lowercase());
        hay.push('\u{1f}');
        hay.push_str(&s.prefecture.to_lowercase());
        if let Some(ja) = prefecture_ja(&s.prefecture) {
            hay.push('\u{1f}');
            hay.push_str(ja);
        }
        hay.push('\u{1f}');
        hay.push_str(&s.payment_type.to_lowercase());
        hay.push('\u{1f}');
        hay.push_str(PaymentType::parse(&s.payment_type).label_ja());
        for sku in &s.skus {
            hay.push('\u{1f}');
            hay.push_str(&sku.to_lowercase());
        }
        Row { s, hay }
    }

    fn key(&self) -> SortKey {
        (self.s.order_date, self.s.id)
    }

    pub fn matches(&self, words: &[String]) -> bool {
        words.iter().all(|w| self.hay.contains(w.as_str()))
    }
}

#[derive(Default)]
pub struct OrdersModel {
    rows: HashMap<u64, Row>,
    by_status: [Vec<SortKey>; 6],
    upstream_errors: Vec<SortKey>,
    pub intake: Vec<IntakeError>,
    pub loaded: bool,
}

fn insert_sorted(v: &mut Vec<SortKey>, k: SortKey) {
    if let Err(pos) = v.binary_search(&k) {
        v.insert(pos, k);
    }
}

fn remove_sorted(v: &mut Vec<SortKey>, k: &SortKey) {
    if let Ok(pos) = v.binary_search(k) {
        v.remove(pos);
    }
}

impl OrdersModel {
    /// Loads a full snapshot. Rows already updated by newer events than the snapshot (it may
    /// have been taken before them) keep their newer version.
    pub fn load(&mut self, all: Vec<InstructionSummary>) {
        let mut newer: Vec<InstructionSummary> = Vec::new();
        if self.loaded || !self.rows.is_empty() {
            let snapshot: HashMap<u64, u64> = all.iter().map(|s| (s.id, s.version)).collect();
            for r in self.rows.values() {
                if snapshot.get(&r.s.id).is_none_or(|v| *v < r.s.version) {
                    newer.push(r.s.clone());
                }
            }
        }
        self.rows.clear();
        for v in &mut self.by_status {
            v.clear();
        }
        self.upstream_errors.clear();
        for s in all {
            let row = Row::new(s);
            let k = row.key();
            self.by_status[usize::from(row.s.status.index())].push(k);
            if row.s.upstream_error {
                self.upstream_errors.push(k);
            }
            self.rows.insert(row.s.id, row);
        }
        for v in &mut self.by_status {
            v.sort_unstable();
        }
        self.upstream_errors.sort_unstable();
        self.loaded = true;
        for s in newer {
            self.upsert(s);
        }
    }

    /// Applies one changed summary (newer versions only).
    pub fn upsert(&mut self, s: InstructionSummary) {
        if let Some(old) = self.rows.get(&s.id) {
            if old.s.version > s.version {
                return;
            }
            let k = old.key();
            remove_sorted(&mut self.by_status[usize::from(old.s.status.index())], &k);
            if old.s.upstream_error {
                remove_sorted(&mut self.upstream_errors, &k);
            }
        }
        let row = Row::new(s);
        let k = row.key();
        insert_sorted(&mut self.by_status[usize::from(row.s.status.index())], k);
        if row.s.upstream_error {
            insert_sorted(&mut self.upstream_errors, k);
        }
        self.rows.insert(row.s.id, row);
    }

    pub fn row(&self, id: u64) -> Option<&Row> {
        self.rows.get(&id)
    }

    pub fn total(&self) -> usize {
        self.rows.len()
    }

    /// The instruction keys of a queue (empty for 取込エラー, which has its own list).
    pub fn keys(&self, q: Queue) -> &[SortKey] {
        match q {
            Queue::Status(s) => &self.by_status[usize::from(s.index())],
            Queue::UpstreamErrors => &self.upstream_errors,
            Queue::IntakeErrors => &[],
        }
    }

    pub fn len(&self, q: Queue) -> usize {
        match q {
            Queue::IntakeErrors => self.intake.len(),
            q => self.keys(q).len(),
        }
    }

    pub fn position(&self, q: Queue, id: u64) -> Option<usize> {
        let row = self.rows.get(&id)?;
        self.keys(q).binary_search(&row.key()).ok()
    }

    /// Ids of a queue's rows that contain every word (already lowercased).
    pub fn filter(&self, q: Queue, words: &[String]) -> Vec<u64> {
        self.keys(q)
            .iter()
            .filter(|(_, id)| self.rows.get(id).is_some_and(|r| r.matches(words)))
            .map(|(_, id)| *id)
            .collect()
    }

    /// Intake errors matching the words (order number and reason).
    pub fn filter_intake(&self, words: &[String]) -> Vec<u64> {
        self.intake
            .iter()
            .filter(|e| {
                let hay = format!("{}\u{1f}{}", e.order_no, e.reason.to_lowercase());
                words.iter().all(|w| hay.contains(w.as_str()))
            })
            .map(|e| e.id)
            .collect()
    }

    /// Orders per hour over the 24 hours before `now` (oldest first).
    pub fn per_hour(&self, now: NaiveDateTime) -> Vec<u64> {
        let mut buckets = vec![0u64; 24];
        let start = now - chrono::Duration::hours(24);
        for r in self.rows.values() {
            if let Some(d) = r.s.order_date
                && d > start
                && d <= now
            {
                let h = ((d - start).num_minutes() / 60).clamp(0, 23) as usize;
                buckets[h] += 1;
            }
        }
        buckets
    }
}

/// Splits a filter into lowercase words.
pub fn words(filter: &str) -> Vec<String> {
    filter.split_whitespace().map(str::to_lowercase).collect()
}
