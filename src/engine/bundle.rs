//! 同梱 in the engine: the pass of 同梱候補を保留 after each fetch (groups proposed, kept
//! groups checked), the operator's decisions (同梱する / 同梱しない / undo, audited), and the
//! views the console and `shukka bundle` show. The export and the tracking import of a merged
//! group are in `engine/labels.rs`.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::{Engine, EngineError, Result, audit_entry, instruction_target, no_such, now};
use crate::domain::*;
use crate::robots::BuiltinRule;
use crate::robots::bundle::{self, Candidate};
use crate::store::{StoreError, Txn};

/// One member of a group, side by side with the others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleMember {
    pub id: u64,
    pub version: u64,
    pub order_no: String,
    pub order_date: Option<chrono::NaiveDateTime>,
    pub status: Status,
    pub payment: PaymentFlag,
    pub payment_type: String,
    pub buyer: String,
    pub buyer_mail: String,
    pub recipient: String,
    pub postal: String,
    pub address: String,
    pub phone: String,
    pub delivery: String,
    pub wish: String,
    pub gift: String,
    /// `SKU × count` per item.
    pub items: Vec<String>,
    pub amount: i64,
    pub notes: String,
    pub hold_reasons: Vec<String>,
}

impl BundleMember {
    fn of(i: &Instruction) -> BundleMember {
        let d = i.open_destinations().next();
        let a = d.map(|d| d.address.clone()).unwrap_or_default();
        BundleMember {
            id: i.id,
            version: i.version,
            order_no: i.order_no.clone(),
            order_date: i.order_date,
            status: i.status,
            payment: i.payment,
            payment_type: i.payment_type.clone().unwrap_or_default(),
            buyer: i.buyer.name.clone(),
            buyer_mail: i.buyer_mail.clone(),
            recipient: a.name.clone(),
            postal: crate::normalize::postal_display(&a.postal_code),
            address: format!(
                "{} {}",
                crate::futureshop::prefecture::prefecture_ja(&a.prefecture)
                    .unwrap_or(&a.prefecture),
                a.address
            ),
            phone: a.phone.clone(),
            delivery: d
                .map(|d| match &d.delivery {
                    Some(dec) => dec.describe(),
                    None => d.delivery_method.clone(),
                })
                .unwrap_or_default(),
            wish: d
                .map(|d| {
                    let date = d.requested_date.map(|x| x.to_string()).unwrap_or_default();
                    let time = d.requested_time.clone().unwrap_or_default();
                    format!("{date} {time}").trim().to_string()
                })
                .unwrap_or_default(),
            gift: d.and_then(|d| d.gift_label.clone()).unwrap_or_default(),
            items: d
                .map(|d| {
                    d.items
                        .iter()
                        .map(|it| format!("{} × {}", it.sku_no, it.count))
                        .collect()
                })
                .unwrap_or_default(),
            amount: i.amounts.grand_total,
            notes: i.notes.clone().unwrap_or_default(),
            hold_reasons: i.hold_reasons.iter().cloned().collect(),
        }
    }
}

/// A group with its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleView {
    pub bundle: Bundle,
    pub members: Vec<BundleMember>,
}

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundlePass {
    /// Groups proposed now (new or grown).
    pub proposed: Vec<u64>,
    /// Groups dissolved now (a member cancelled, shipped, changed).
    pub dissolved: Vec<u64>,
}

fn robot_actor() -> Actor {
    let r = BuiltinRule::BundleCandidates;
    Actor::Robot {
        id: r.number(),
        name: r.name().to_string(),
    }
}

/// Puts `i` back where its payment and other hold reasons say, once 同梱候補 is gone.
fn release_candidate(i: &mut Instruction) {
    i.hold_reasons.remove(BUNDLE_CANDIDATE);
    if i.status == Status::Held && i.hold_reasons.is_empty() {
        i.status = if i.payment.settled() {
            Status::Ready
        } else {
            Status::AwaitingPayment
        };
    }
}

fn hold_candidate(i: &mut Instruction, bundle_id: u64) {
    i.bundle = Some(bundle_id);
    i.hold_reasons.insert(BUNDLE_CANDIDATE.to_string());
    if matches!(i.status, Status::Ready | Status::AwaitingPayment) {
        i.status = Status::Held;
    }
}

/// Writes a member after a group change, with its audit line.
fn save_member(
    t: &mut Txn<'_>,
    mut i: Instruction,
    version: u64,
    from: Status,
    actor: &Actor,
    action: &str,
    reason: String,
) -> std::result::Result<Instruction, StoreError> {
    let at = now();
    i.updated_at = at;
    i.updated_by = actor.to_string();
    if let Actor::Robot { id, name } = actor {
        i.trace.push(TraceEntry {
            at,
            robot_id: *id,
            robot_name: name.clone(),
            decision: format!("{action}: {reason}"),
        });
    }
    let to = i.status;
    let stored = t.update_instruction(version, i)?;
    t.audit(audit_entry(
        actor,
        instruction_target(&stored),
        action,
        Some(from),
        Some(to),
        reason,
    ))?;
    Ok(stored)
}

impl Engine {
    /// Groups, newest first: the open ones, or every one with `all`.
    pub fn bundles(&self, all: bool) -> Result<Vec<BundleView>> {
        let mut out = Vec::new();
        for b in self.store().bundles()?.into_iter().rev() {
            if all || b.state.is_open() {
                out.push(self.view(b)?);
            }
        }
        Ok(out)
    }

    pub fn bundle(&self, id: u64) -> Result<BundleView> {
        let b = self
            .store()
            .bundle(id)?
            .ok_or_else(|| EngineError::NotFound(no_such("同梱グループ", "bundle", id)))?;
        self.view(b)
    }

    fn view(&self, bundle: Bundle) -> Result<BundleView> {
        let mut members = Vec::new();
        for id in &bundle.members {
            if let Some(i) = self.store().instruction(*id)? {
                members.push(BundleMember::of(&i));
            }
        }
        Ok(BundleView { bundle, members })
    }

    /// 同梱候補を保留: checks the open groups (a member cancelled, labelled or changed leaves;
    /// a group of one is dissolved), then proposes new groups among the instructions of the
    /// converters the robot is applied to. Cheap when the robot is off and no group is open.
    pub fn bundle_pass(&self) -> Result<BundlePass> {
        let store = self.store();
        let mut report = BundlePass::default();
        let open: Vec<Bundle> = store
            .bundles()?
            .into_iter()
            .filter(|b| b.state.is_open())
            .collect();
        for b in &open {
            if let Some(id) = self.check_group(b)? {
                report.dissolved.push(id);
            }
        }
        let active: BTreeSet<u64> = store
            .processing_robot(BuiltinRule::BundleCandidates.number())?
            .filter(|r| r.enabled)
            .map(|r| r.applied_to)
            .unwrap_or_default();
        if active.is_empty() {
            return Ok(report);
        }
        let states: HashMap<u64, BundleState> = store
            .bundles()?
            .into_iter()
            .map(|b| (b.id, b.state))
            .collect();
        let mut cands: Vec<(Option<chrono::NaiveDateTime>, Candidate, String)> = Vec::new();
        for status in [Status::AwaitingPayment, Status::Held, Status::Ready] {
            for i in store.instructions_in(status)? {
                if !active.contains(&i.converter_id) {
                    continue;
                }
                // Merged groups are decided: they take no new members.
                let in_group = i
                    .bundle
                    .filter(|b| states.get(b).is_some_and(|s| s.is_open()));
                if in_group.is_some_and(|b| states.get(&b) != Some(&BundleState::Candidate)) {
                    continue;
                }
                let Some(key) = bundle::key(&i) else {
                    continue;
                };
                cands.push((
                    i.order_date,
                    Candidate {
                        id: i.id,
                        key,
                        never: i.bundle_never.clone(),
                        bundle: in_group,
                    },
                    i.order_no.clone(),
                ));
            }
        }
        cands.sort_by_key(|c| (c.0, c.1.id));
        let list: Vec<Candidate> = cands.iter().map(|c| c.1.clone()).collect();
        for p in bundle::propose(&list) {
            match self.propose(&p) {
                Ok(id) => report.proposed.push(id),
                // Someone changed a member meanwhile: the next pass sees it anew.
                Err(EngineError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if !report.proposed.is_empty() || !report.dissolved.is_empty() {
            store.flush()?;
        }
        Ok(report)
    }

    fn propose(&self, p: &bundle::Proposal) -> Result<u64> {
        let actor = robot_actor();
        self.store().write(|t| {
            let mut members = Vec::new();
            for id in &p.members {
                let i = t.instruction(*id)?.ok_or_else(|| {
                    EngineError::Conflict(no_such("出荷指示", "shipping instruction", *id))
                })?;
                members.push(i);
            }
            let at = now();
            let mut b = match p.existing.map(|id| t.bundle(id)).transpose()?.flatten() {
                Some(b) => b,
                None => Bundle {
                    id: 0,
                    auth_id: members[0].auth_id,
                    members: Vec::new(),
                    order_nos: Vec::new(),
                    state: BundleState::Candidate,
                    basis: bundle::basis(&members[0]),
                    created_at: at,
                    updated_at: at,
                    updated_by: actor.to_string(),
                    note: String::new(),
                },
            };
            b.members = members.iter().map(|i| i.id).collect();
            b.order_nos = members.iter().map(|i| i.order_no.clone()).collect();
            b.updated_at = at;
            b.updated_by = actor.to_string();
            let b = t.put_bundle(b)?;
            let together = b.order_nos.join("・");
            for i in members.into_iter().filter(|i| p.added.contains(&i.id)) {
                let (version, from) = (i.version, i.status);
                let mut i = i;
                hold_candidate(&mut i, b.id);
                save_member(
                    t,
                    i,
                    version,
                    from,
                    &actor,
                    BUNDLE_CANDIDATE,
                    format!("G{} (受注 {together}): 同梱するか決めてください", b.id),
                )?;
            }
            let ja = format!(
                "同梱候補 G{}: 受注 {together} ({}) — 同梱するか決めてください (コンソールの詳細で B、または shukka bundle merge {} / split {})",
                b.id, b.basis, b.id, b.id
            );
            let en = format!(
                "Bundle candidates G{}: orders {together} ({}) — decide whether they ship together (B in the console's detail view, or shukka bundle merge {} / split {})",
                b.id, b.basis, b.id, b.id
            );
            t.alert(crate::notify::Alert::new(
                crate::notify::AlertKind::BundleCandidate,
                ja,
                en,
                b.order_nos.clone(),
            ))?;
            Ok::<_, EngineError>(b.id)
        })
    }

    /// Members that no longer fit leave an open group; a group left with one member (or
    /// none) is dissolved. Returns the id of a dissolved group.
    fn check_group(&self, b: &Bundle) -> Result<Option<u64>> {
        let store = self.store();
        let mut members = Vec::new();
        for id in &b.members {
            if let Some(i) = store.instruction(*id)? {
                members.push(i);
            }
        }
        let mut keep: Vec<&Instruction> = Vec::new();
        let mut leave: Vec<(u64, String)> = Vec::new();
        for i in &members {
            let why = if i.bundle != Some(b.id) {
                Some("別のグループに移りました".to_string())
            } else {
                keep.iter()
                    .find_map(|k| bundle::why_not(k, i))
                    .or_else(|| bundle::exclusion(i))
            };
            match why {
                Some(w) => leave.push((i.id, w)),
                None => keep.push(i),
            }
        }
        let gone = b.members.len() - members.len();
        if leave.is_empty() && gone == 0 {
            return Ok(None);
        }
        let dissolve = keep.len() < 2;
        let keep_ids: Vec<u64> = keep.iter().map(|i| i.id).collect();
        let actor = robot_actor();
        let r = store.write(|t| {
            let Some(mut b) = t.bundle(b.id)? else {
                return Ok(None);
            };
            let reasons: Vec<String> = leave
                .iter()
                .map(|(id, w)| {
                    let no = members
                        .iter()
                        .find(|i| i.id == *id)
                        .map(|i| i.order_no.clone())
                        .unwrap_or_default();
                    format!("受注 {no}: {w}")
                })
                .collect();
            let note = reasons.join(" / ");
            let released: Vec<u64> = if dissolve {
                b.members.clone()
            } else {
                leave.iter().map(|l| l.0).collect()
            };
            for id in released {
                let Some(mut i) = t.instruction(id)? else {
                    continue;
                };
                if i.bundle != Some(b.id) {
                    continue;
                }
                let (version, from) = (i.version, i.status);
                i.bundle = None;
                release_candidate(&mut i);
                save_member(
                    t,
                    i,
                    version,
                    from,
                    &actor,
                    "同梱解消",
                    format!("G{}: {note}", b.id),
                )?;
            }
            b.note = note;
            b.updated_at = now();
            b.updated_by = actor.to_string();
            if dissolve {
                b.state = BundleState::Dissolved;
            } else {
                b.order_nos = b
                    .members
                    .iter()
                    .zip(b.order_nos.iter())
                    .filter(|(id, _)| keep_ids.contains(id))
                    .map(|(_, no)| no.clone())
                    .collect();
                b.members = keep_ids.clone();
            }
            let b = t.put_bundle(b)?;
            Ok::<_, EngineError>(dissolve.then_some(b.id))
        });
        match r {
            Err(EngineError::Conflict(_)) => Ok(None),
            other => other,
        }
    }

    /// An operator's decision: 同梱する, 同梱しない, or back to 同梱候補 (until the label is
    /// exported). Every member's history records it.
    pub fn decide_bundle(
        &self,
        id: u64,
        decision: BundleDecision,
        actor: &Actor,
    ) -> Result<BundleView> {
        self.store().write(|t| {
            let mut b = t
                .bundle(id)?
                .ok_or_else(|| EngineError::NotFound(no_such("同梱グループ", "bundle", id)))?;
            let mut members = Vec::new();
            for m in &b.members {
                members.push(t.instruction(*m)?.ok_or_else(|| {
                    EngineError::NotFound(no_such("出荷指示", "shipping instruction", *m))
                })?);
            }
            let g = b.id;
            let state = b.state;
            let refuse = |ja: String, en: String| Err(EngineError::Refused(crate::msg::Msg::new(ja, en)));
            match (decision, state) {
                (BundleDecision::Merge, BundleState::Candidate) => {
                    let cod = members
                        .iter()
                        .filter(|i| i.payment_type.as_deref() == Some(bundle::COD))
                        .count();
                    if cod > 1 {
                        return refuse(
                            format!("G{g}: 代金引換の注文が {cod} 件あります。代引金額は合算しないため同梱できません (同梱しない を選んでください)"),
                            format!("G{g}: {cod} orders are cash on delivery; their amounts are never added up, so they cannot ship together (choose split)"),
                        );
                    }
                    let first = &members[0];
                    for m in &members[1..] {
                        if let Some(why) = bundle::why_not(first, m) {
                            let (a, c) = (&first.order_no, &m.order_no);
                            return refuse(
                                format!("G{g}: 受注 {a} と {c} は同梱できません — {why}"),
                                format!("G{g}: orders {a} and {c} cannot ship together — {why}"),
                            );
                        }
                    }
                    let together = b.order_nos.join("・");
                    for mut i in members {
                        let (version, from) = (i.version, i.status);
                        release_candidate(&mut i);
                        save_member(t, i, version, from, actor, "同梱する", format!("G{g} (受注 {together}): 送り状は 1 枚"))?;
                    }
                    b.state = BundleState::Merged;
                }
                (BundleDecision::Split, BundleState::Candidate | BundleState::Merged) => {
                    let ids: Vec<u64> = members.iter().map(|i| i.id).collect();
                    let together = b.order_nos.join("・");
                    for mut i in members {
                        let (version, from) = (i.version, i.status);
                        i.bundle = None;
                        i.bundle_never.extend(ids.iter().copied().filter(|x| *x != i.id));
                        release_candidate(&mut i);
                        save_member(t, i, version, from, actor, "同梱しない", format!("G{g} (受注 {together}): 別々に出荷 (この組み合わせは再提案しません)"))?;
                    }
                    b.state = BundleState::Declined;
                }
                (BundleDecision::Undo, BundleState::Merged | BundleState::Declined) => {
                    let ids: Vec<u64> = members.iter().map(|i| i.id).collect();
                    for i in &members {
                        if let Some(why) = bundle::exclusion(i) {
                            let no = &i.order_no;
                            return refuse(
                                format!("G{g}: 受注 {no} — {why}。取り消せません"),
                                format!("G{g}: order {no} — {why}; it cannot be undone"),
                            );
                        }
                        if i.bundle.is_some_and(|x| x != g) {
                            let no = &i.order_no;
                            return refuse(
                                format!("G{g}: 受注 {no} は別の同梱グループにあります"),
                                format!("G{g}: order {no} is in another bundle"),
                            );
                        }
                    }
                    for mut i in members {
                        let (version, from) = (i.version, i.status);
                        i.bundle_never.retain(|x| !ids.contains(x));
                        hold_candidate(&mut i, g);
                        save_member(t, i, version, from, actor, "同梱の取消", format!("G{g}: {state} を取り消し、同梱候補に戻しました"))?;
                    }
                    b.state = BundleState::Candidate;
                }
                (_, BundleState::Exported) => {
                    return refuse(
                        format!("G{g} は送り状発行済です。同梱の決定は取り消せません"),
                        format!("G{g}'s label was exported; the decision can no longer be changed"),
                    );
                }
                (_, s) => {
                    let d = decision.name();
                    return refuse(
                        format!("G{g} は {s} です: {d} はできません"),
                        format!("G{g} is {s}: cannot {d}"),
                    );
                }
            }
            b.note = decision.name().to_string();
            b.updated_at = now();
            b.updated_by = actor.to_string();
            t.put_bundle(b)?;
            Ok::<_, EngineError>(())
        })?;
        self.store().flush()?;
        self.bundle(id)
    }
}

/// The group `i` ships in, when that group was merged (or exported): its label covers all.
pub(crate) fn merged_group(t: &Txn<'_>, i: &Instruction) -> Result<Option<Bundle>> {
    let Some(id) = i.bundle else {
        return Ok(None);
    };
    Ok(t.bundle(id)?
        .filter(|b| matches!(b.state, BundleState::Merged | BundleState::Exported)))
}
