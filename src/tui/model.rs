//! The console's in-memory index of instructions: every summary once, each queue as a sorted
//! vector of keys, and a lowercase haystack per row so a filter keystroke is one scan.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDateTime};

use crate::domain::{InstructionSummary, IntakeErrorSummary, PaymentFlag, Status};
use crate::futureshop::PaymentType;
use crate::futureshop::prefecture::prefecture_ja;

/// A tab of the 出荷指示 screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Queue {
    Status(Status),
    IntakeErrors,
    UpstreamErrors,
    /// 出荷後キャンセル no operator has acknowledged (the parcel may be on its way).
    LateCancels,
}

pub const QUEUES: [Queue; 9] = [
    Queue::Status(Status::AwaitingPayment),
    Queue::Status(Status::Held),
    Queue::Status(Status::Ready),
    Queue::Status(Status::InProgress),
    Queue::Status(Status::Shipped),
    Queue::Status(Status::Cancelled),
    Queue::IntakeErrors,
    Queue::UpstreamErrors,
    Queue::LateCancels,
];

impl Queue {
    pub fn name(self) -> &'static str {
        match self {
            Queue::Status(s) => s.name(),
            Queue::IntakeErrors => "取込エラー",
            Queue::UpstreamErrors => "実績連携エラー",
            Queue::LateCancels => "出荷後キャンセル",
        }
    }

    /// A queue whose entries need someone now (shown in the error colour, pinned in sight).
    pub fn is_alarm(self) -> bool {
        matches!(
            self,
            Queue::IntakeErrors | Queue::UpstreamErrors | Queue::LateCancels
        )
    }

    pub fn parse(s: &str) -> Option<Queue> {
        QUEUES
            .into_iter()
            .find(|q| q.name() == s.trim())
            .or_else(|| Status::parse(s).map(Queue::Status))
    }
}

/// Oldest first, like futureshop lists them; the third field is the row's slot in the slab.
pub type SortKey = (Option<NaiveDateTime>, u64, u32);

/// One instruction as the console keeps it: the numbers as they are, every text of the
/// summary packed into one allocation (with the filter's haystack after them), because at
/// 100,000 instructions the console's memory is mostly these rows (issue 16 §5: a summary
/// with its own strings and vectors cost ~640 bytes a row, this ~400).
pub struct InstructionRow {
    pub id: u64,
    pub version: u64,
    pub auth_id: u64,
    pub order_date: Option<NaiveDateTime>,
    pub updated_at: DateTime<FixedOffset>,
    pub items: i64,
    pub amount: i64,
    pub bundle: Option<u64>,
    pub status: Status,
    pub payment: PaymentFlag,
    pub upstream_error: bool,
    pub cancelled_after_shipment: bool,
    pub late_cancel_open: bool,
    pub shipped_outside: bool,
    /// The texts end to end: order number, buyer, recipient, prefecture, payment type, the
    /// SKUs, the hold reasons, then the haystack.
    text: Box<str>,
    /// Where each text ends in `text`.
    ends: Box<[u32]>,
    /// Where the haystack starts (kept here so that a filter scan reads no more than before
    /// packing: the row, then its text).
    hay_at: u32,
    skus: u32,
}

/// The fixed texts before the SKUs.
const ORDER_NO: usize = 0;
const BUYER: usize = 1;
const RECIPIENT: usize = 2;
const PREFECTURE: usize = 3;
const PAYMENT_TYPE: usize = 4;
const FIXED: usize = 5;

impl InstructionRow {
    pub fn new(s: InstructionSummary) -> InstructionRow {
        let mut text = String::with_capacity(256);
        let mut ends = Vec::with_capacity(FIXED + s.skus.len() + s.hold_reasons.len());
        let texts = [
            &s.order_no,
            &s.buyer,
            &s.recipient,
            &s.prefecture,
            &s.payment_type,
        ];
        for t in texts.into_iter().chain(&s.skus).chain(&s.hold_reasons) {
            text.push_str(t);
            ends.push(text.len() as u32);
        }
        let hay_at = text.len() as u32;
        // The haystack: what a filter word may match, lower-cased (the words are too: an
        // order number with letters is found however it is typed).
        push_lower(&mut text, &s.order_no);
        push_lower(&mut text, &s.recipient);
        push_lower(&mut text, &s.prefecture);
        if let Some(ja) = prefecture_ja(&s.prefecture) {
            text.push('\u{1f}');
            text.push_str(ja);
        }
        push_lower(&mut text, &s.payment_type);
        if let Some(label) = PaymentType::known_label(&s.payment_type) {
            text.push('\u{1f}');
            text.push_str(label);
        }
        for sku in &s.skus {
            push_lower(&mut text, sku);
        }
        InstructionRow {
            id: s.id,
            version: s.version,
            auth_id: s.auth_id,
            order_date: s.order_date,
            updated_at: s.updated_at,
            items: s.items,
            amount: s.amount,
            bundle: s.bundle,
            status: s.status,
            payment: s.payment,
            upstream_error: s.upstream_error,
            cancelled_after_shipment: s.cancelled_after_shipment,
            late_cancel_open: s.late_cancel_open,
            shipped_outside: s.shipped_outside,
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
            hay_at,
            skus: s.skus.len() as u32,
        }
    }

    /// The `n`th packed text.
    fn part(&self, n: usize) -> &str {
        let start = if n == 0 { 0 } else { self.ends[n - 1] as usize };
        &self.text[start..self.ends[n] as usize]
    }

    pub fn order_no(&self) -> &str {
        self.part(ORDER_NO)
    }
    pub fn buyer(&self) -> &str {
        self.part(BUYER)
    }
    pub fn recipient(&self) -> &str {
        self.part(RECIPIENT)
    }
    pub fn prefecture(&self) -> &str {
        self.part(PREFECTURE)
    }
    pub fn payment_type(&self) -> &str {
        self.part(PAYMENT_TYPE)
    }
    pub fn skus(&self) -> impl Iterator<Item = &str> {
        (FIXED..FIXED + self.skus as usize).map(|n| self.part(n))
    }
    pub fn hold_reasons(&self) -> impl Iterator<Item = &str> {
        (FIXED + self.skus as usize..self.ends.len()).map(|n| self.part(n))
    }

    fn hay(&self) -> &[u8] {
        &self.text.as_bytes()[self.hay_at as usize..]
    }

    pub fn matches(&self, words: &[String]) -> bool {
        let hay = self.hay();
        words
            .iter()
            .all(|w| memchr::memmem::find(hay, w.as_bytes()).is_some())
    }

    /// The summary the row was made from, whole.
    pub fn summary(&self) -> InstructionSummary {
        InstructionSummary {
            id: self.id,
            version: self.version,
            auth_id: self.auth_id,
            order_no: self.order_no().to_string(),
            order_date: self.order_date,
            buyer: self.buyer().to_string(),
            recipient: self.recipient().to_string(),
            prefecture: self.prefecture().to_string(),
            items: self.items,
            skus: self.skus().map(str::to_string).collect(),
            amount: self.amount,
            payment_type: self.payment_type().to_string(),
            payment: self.payment,
            status: self.status,
            hold_reasons: self.hold_reasons().map(str::to_string).collect(),
            upstream_error: self.upstream_error,
            cancelled_after_shipment: self.cancelled_after_shipment,
            late_cancel_open: self.late_cancel_open,
            shipped_outside: self.shipped_outside,
            bundle: self.bundle,
            updated_at: self.updated_at,
        }
    }
}

/// Appends a separator and `s` in lower case, without allocating.
fn push_lower(hay: &mut String, s: &str) {
    hay.push('\u{1f}');
    if s.is_ascii() {
        hay.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        for c in s.chars() {
            hay.extend(c.to_lowercase());
        }
    }
}

/// A u64 id needs no cryptographic hash: a multiplicative one keeps lookups cheap.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<IdHasher>>;

#[derive(Default)]
pub struct OrdersModel {
    /// Bumped on every change (caches key on it).
    generation: u64,
    /// (generation, minute, buckets) of the last per-hour count: the dashboard's sparkline is
    /// not recomputed over every row on every frame.
    per_hour_cache: std::cell::RefCell<Option<(u64, i64, Vec<u64>)>>,
    /// Every row once; queues refer to rows by slot, so a scan touches no hash table.
    slab: Vec<InstructionRow>,
    slots: IdMap<u32>,
    by_status: [Vec<SortKey>; 6],
    upstream_errors: Vec<SortKey>,
    late_cancels: Vec<SortKey>,
    pub intake: Vec<IntakeErrorSummary>,
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
    fn key(&self, slot: u32) -> SortKey {
        let r = &self.slab[slot as usize];
        (r.order_date, r.id, slot)
    }

    /// Loads a full snapshot. Rows already updated by newer events than the snapshot (it may
    /// have been taken before them) keep their newer version.
    pub fn load(&mut self, all: Vec<InstructionSummary>) {
        let mut newer: Vec<InstructionSummary> = Vec::new();
        if self.loaded || !self.slab.is_empty() {
            let snapshot: IdMap<u64> = all.iter().map(|s| (s.id, s.version)).collect();
            for r in &self.slab {
                if snapshot.get(&r.id).is_none_or(|v| *v < r.version) {
                    newer.push(r.summary());
                }
            }
        }
        self.generation += 1;
        self.slab.clear();
        self.slots.clear();
        for v in &mut self.by_status {
            v.clear();
        }
        self.upstream_errors.clear();
        self.late_cancels.clear();
        self.slab.reserve(all.len());
        self.slots.reserve(all.len());
        for s in all {
            if self.slots.contains_key(&s.id) {
                continue;
            }
            let slot = self.slab.len() as u32;
            self.slots.insert(s.id, slot);
            let k = (s.order_date, s.id, slot);
            self.by_status[usize::from(s.status.index())].push(k);
            if s.upstream_error {
                self.upstream_errors.push(k);
            }
            if s.late_cancel_open {
                self.late_cancels.push(k);
            }
            self.slab.push(InstructionRow::new(s));
        }
        for v in &mut self.by_status {
            v.sort_unstable();
        }
        self.upstream_errors.sort_unstable();
        self.late_cancels.sort_unstable();
        self.loaded = true;
        for s in newer {
            self.upsert(s);
        }
    }

    /// A queue's first screen, ahead of the whole list: shown, and still `loaded == false`
    /// (the whole list replaces it, keeping only what changed since).
    pub fn load_first_screen(&mut self, rows: Vec<InstructionSummary>) {
        self.load(rows);
        self.loaded = false;
    }

    /// Applies one changed summary (newer versions only).
    pub fn upsert(&mut self, s: InstructionSummary) {
        self.generation += 1;
        let slot = match self.slots.get(&s.id).copied() {
            Some(slot) => {
                let old = &self.slab[slot as usize];
                if old.version > s.version {
                    return;
                }
                let k = self.key(slot);
                let (st, up, late) = (old.status, old.upstream_error, old.late_cancel_open);
                remove_sorted(&mut self.by_status[usize::from(st.index())], &k);
                if up {
                    remove_sorted(&mut self.upstream_errors, &k);
                }
                if late {
                    remove_sorted(&mut self.late_cancels, &k);
                }
                self.slab[slot as usize] = InstructionRow::new(s);
                slot
            }
            None => {
                let slot = self.slab.len() as u32;
                self.slots.insert(s.id, slot);
                self.slab.push(InstructionRow::new(s));
                slot
            }
        };
        let k = self.key(slot);
        let r = &self.slab[slot as usize];
        let (st, up, late) = (r.status, r.upstream_error, r.late_cancel_open);
        insert_sorted(&mut self.by_status[usize::from(st.index())], k);
        if up {
            insert_sorted(&mut self.upstream_errors, k);
        }
        if late {
            insert_sorted(&mut self.late_cancels, k);
        }
    }

    pub fn row(&self, id: u64) -> Option<&InstructionRow> {
        self.slots.get(&id).map(|slot| &self.slab[*slot as usize])
    }

    pub fn total(&self) -> usize {
        self.slab.len()
    }

    /// The instruction keys of a queue (empty for 取込エラー, which has its own list).
    pub fn keys(&self, q: Queue) -> &[SortKey] {
        match q {
            Queue::Status(s) => &self.by_status[usize::from(s.index())],
            Queue::UpstreamErrors => &self.upstream_errors,
            Queue::LateCancels => &self.late_cancels,
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
        let slot = *self.slots.get(&id)?;
        self.keys(q).binary_search(&self.key(slot)).ok()
    }

    /// A queue's rows that contain every word (already lowercased), as (ids, slots) in queue
    /// order. With `within` (slots of an earlier result), only those rows are considered:
    /// narrowing while the filter is typed.
    pub fn filter(
        &self,
        q: Queue,
        words: &[String],
        within: Option<&[u32]>,
    ) -> (Vec<u64>, Vec<u32>) {
        let finders: Vec<memchr::memmem::Finder<'_>> = words
            .iter()
            .map(|w| memchr::memmem::Finder::new(w.as_bytes()))
            .collect();
        let hit = |slot: u32| {
            let hay = self.slab[slot as usize].hay();
            finders.iter().all(|f| f.find(hay).is_some())
        };
        let slots: Vec<u32> = match within {
            Some(prev) => prev
                .iter()
                .copied()
                .filter(|s| (*s as usize) < self.slab.len() && hit(*s))
                .collect(),
            None => self
                .keys(q)
                .iter()
                .map(|(_, _, slot)| *slot)
                .filter(|s| hit(*s))
                .collect(),
        };
        let ids = slots.iter().map(|s| self.slab[*s as usize].id).collect();
        (ids, slots)
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

    /// The `n` instructions taken in last (highest ids first): the 新着 pane before any order
    /// arrives live.
    pub fn newest(&self, n: usize) -> Vec<u64> {
        let mut ids: Vec<u64> = self.slab.iter().map(|r| r.id).collect();
        let k = n.min(ids.len());
        if k == 0 {
            return Vec::new();
        }
        ids.select_nth_unstable_by(k - 1, |a, b| b.cmp(a));
        ids.truncate(k);
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids
    }

    /// Applies one intake-error change: recorded or refreshed (`Some`), resolved (`None`).
    pub fn set_intake(&mut self, id: u64, e: Option<IntakeErrorSummary>) {
        match (self.intake.iter().position(|x| x.id == id), e) {
            (Some(pos), Some(e)) => self.intake[pos] = e,
            (None, Some(e)) => self.intake.push(e),
            (Some(pos), None) => {
                self.intake.remove(pos);
            }
            (None, None) => {}
        }
    }

    /// Orders per hour over the 24 hours before `now` (oldest first).
    pub fn per_hour(&self, now: NaiveDateTime) -> Vec<u64> {
        let minute = now.and_utc().timestamp() / 60;
        if let Some((generation, m, v)) = self.per_hour_cache.borrow().as_ref()
            && *generation == self.generation
            && *m == minute
        {
            return v.clone();
        }
        let v = self.count_per_hour(now);
        *self.per_hour_cache.borrow_mut() = Some((self.generation, minute, v.clone()));
        v
    }

    fn count_per_hour(&self, now: NaiveDateTime) -> Vec<u64> {
        let mut buckets = vec![0u64; 24];
        let start = now - chrono::Duration::hours(24);
        for r in &self.slab {
            if let Some(d) = r.order_date
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
