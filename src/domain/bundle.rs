//! 同梱: orders of one customer that travel in one parcel. A group is proposed by the
//! processing robot 同梱候補を保留 and decided by an operator; the decision is kept here.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// The hold reason of an instruction in a group no operator has decided on yet.
pub const BUNDLE_CANDIDATE: &str = "同梱候補";

crate::named_enum! {
    /// Where a group stands.
    pub enum BundleState {
        /// Proposed: every member is held 同梱候補 until an operator decides.
        Candidate = "同梱候補",
        /// 同梱する: one label for the group (the first member's row lists every order's items).
        Merged = "同梱する",
        /// The group's label was exported: the decision can no longer be undone.
        Exported = "送り状発行済",
        /// 同梱しない: released; its pairs are never proposed again.
        Declined = "同梱しない",
        /// A member was cancelled, shipped or changed so that it no longer fits: released.
        Dissolved = "解消",
    }
}

impl BundleState {
    /// Still being worked on (listed by default, checked on every pass).
    pub fn is_open(self) -> bool {
        matches!(self, BundleState::Candidate | BundleState::Merged)
    }

    /// For scripts: `candidate`, `merged`, `exported`, `declined`, `dissolved`.
    pub fn code(self) -> &'static str {
        match self {
            BundleState::Candidate => "candidate",
            BundleState::Merged => "merged",
            BundleState::Exported => "exported",
            BundleState::Declined => "declined",
            BundleState::Dissolved => "dissolved",
        }
    }
}

/// An operator's decision on a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BundleDecision {
    /// 同梱する.
    Merge,
    /// 同梱しない.
    Split,
    /// Back to 同梱候補 (until the label is exported).
    Undo,
}

impl BundleDecision {
    pub fn name(self) -> &'static str {
        match self {
            BundleDecision::Merge => "同梱する",
            BundleDecision::Split => "同梱しない",
            BundleDecision::Undo => "同梱の取消",
        }
    }
}

/// A group of instructions for one parcel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    pub id: u64,
    pub auth_id: u64,
    /// Instruction ids; the first is the primary (the oldest order): its label key is the
    /// group's, its row carries every member's items.
    pub members: Vec<u64>,
    /// The members' order numbers, in the same order (for lists and alerts).
    pub order_nos: Vec<String>,
    pub state: BundleState,
    /// What the members share, for people: `山田 太郎 / 〒100-0001 / ヤマト 宅急便 / 銀行振込`.
    pub basis: String,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    /// Who decided last (the robot when it was proposed or dissolved).
    pub updated_by: String,
    /// Why it was dissolved, or the operator's last decision.
    #[serde(default)]
    pub note: String,
}

impl Bundle {
    pub fn primary(&self) -> Option<u64> {
        self.members.first().copied()
    }

    pub fn label(&self) -> String {
        format!("同梱 G{} ({})", self.id, self.order_nos.join("・"))
    }
}
