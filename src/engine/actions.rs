//! Operator actions on instructions: hold, release, start work, ship, cancel, retry an intake
//! error. Each checks that the transition is legal, compares versions (two operators cannot
//! both win), and writes the audit log with actor and reason.

use chrono::NaiveDate;

use super::pipeline::{IntakeSetup, PageOutcome, ingest_page};
use super::{Engine, EngineError, Result, audit_entry, instruction_target, no_such, now};
use crate::domain::*;
use crate::futureshop::Order;
use crate::msg;
use crate::msg::Msg;

/// What "mark shipped" needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShipRequest {
    /// One tracking number for every destination, or one per destination in order.
    pub tracking: Vec<String>,
    pub carrier: Option<String>,
    /// Default today.
    pub ship_date: Option<NaiveDate>,
    pub expected_arrival: Option<NaiveDate>,
}

/// Where an order's instruction was found.
pub enum Found {
    Live(Box<Instruction>),
    /// In the archive, in this month: read-only.
    Archived(String, Box<crate::store::archive::Archived>),
}

impl Engine {
    /// The instruction of a futureshop order number (across every shop).
    pub fn find_order(&self, order_no: &str) -> Result<Instruction> {
        match self.find_order_anywhere(order_no)? {
            Found::Live(i) => Ok(*i),
            // Finished long ago: readable (shukka order), never changed again.
            Found::Archived(month, _) => Err(EngineError::NotFound(msg!(
                "受注 {order_no} はアーカイブ済みです ({month}): 変更はできません (shukka order {order_no} で表示)",
                "Order {order_no} is archived ({month}): it cannot be changed (shukka order {order_no} shows it)"
            ))),
        }
    }

    /// An order's instruction in the hot store, or else in the archive (read once).
    pub fn find_order_anywhere(&self, order_no: &str) -> Result<Found> {
        let mut found = self.store().instructions_by_order_no(order_no.trim())?;
        match found.len() {
            0 => match self
                .store()
                .archived_order(order_no.trim())?
                .into_iter()
                .next()
            {
                Some((month, a)) => Ok(Found::Archived(month, Box::new(a))),
                None => Err(EngineError::NotFound(msg!(
                    "受注 {order_no} の出荷指示はありません",
                    "Order {order_no} has no shipping instruction"
                ))),
            },
            1 => Ok(Found::Live(Box::new(found.remove(0)))),
            n => Err(EngineError::Refused(msg!(
                "受注 {order_no} の出荷指示が {n} 件あります (複数の API認証設定): ID で指定してください",
                "Order {order_no} has {n} instructions (several API認証設定): give the ID instead"
            ))),
        }
    }

    fn transition(
        &self,
        id: u64,
        expected_version: Option<u64>,
        actor: &Actor,
        action: &str,
        reason: String,
        change: impl FnOnce(&mut Instruction) -> std::result::Result<(), Msg>,
    ) -> Result<Instruction> {
        let store = self.store();
        let out = store.write(|t| {
            let mut i = t.instruction(id)?.ok_or_else(|| {
                EngineError::NotFound(no_such("出荷指示", "shipping instruction", id))
            })?;
            if let Some(v) = expected_version
                && v != i.version
            {
                return Err(EngineError::Conflict(conflict_message(&i)));
            }
            let version = i.version;
            let from = i.status;
            change(&mut i).map_err(EngineError::Refused)?;
            i.updated_at = now();
            i.updated_by = actor.to_string();
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
            Ok::<_, EngineError>(stored)
        })?;
        store.flush()?;
        Ok(out)
    }

    /// An operator says what was done about a 出荷後キャンセル (stopped, return requested, shipped
    /// anyway): the banner on every console goes, the instruction stays where it is, and the
    /// history says who decided what.
    pub fn acknowledge_late_cancel(
        &self,
        id: u64,
        expected_version: Option<u64>,
        action: LateCancelAction,
        note: &str,
        actor: &Actor,
    ) -> Result<Instruction> {
        let note = note.trim().to_string();
        super::check_text(["メモ", "note"], &note)?;
        let reason = if note.is_empty() {
            action.name().to_string()
        } else {
            format!("{}: {note}", action.name())
        };
        let who = actor.to_string();
        self.transition(
            id,
            expected_version,
            actor,
            "出荷後キャンセル確認",
            reason,
            move |i| {
                let no = i.order_no.clone();
                if !i.cancelled_after_shipment {
                    return Err(msg!(
                        "受注 {no} は出荷後キャンセルではありません",
                        "Order {no} was not cancelled after shipment"
                    ));
                }
                if let Some(a) = &i.late_cancel_ack {
                    let (by, what) = (&a.actor, a.action.name());
                    return Err(msg!(
                        "受注 {no} の出荷後キャンセルは {by} が確認済みです ({what})",
                        "{no}: {by} acknowledged this cancellation already ({what})"
                    ));
                }
                i.late_cancel_ack = Some(LateCancelAck {
                    action,
                    note,
                    at: now(),
                    actor: who,
                });
                Ok(())
            },
        )
    }

    pub fn hold(
        &self,
        id: u64,
        expected_version: Option<u64>,
        reason: &str,
        actor: &Actor,
    ) -> Result<Instruction> {
        let reason = reason.trim().to_string();
        if reason.is_empty() {
            return Err(EngineError::Refused(Msg::new(
                "保留理由を入力してください",
                "Enter a reason for the hold",
            )));
        }
        super::check_text(["保留理由", "hold reason"], &reason)?;
        let r = reason.clone();
        self.transition(id, expected_version, actor, "保留", reason, move |i| {
            if !matches!(
                i.status,
                Status::AwaitingPayment | Status::Held | Status::Ready | Status::InProgress
            ) {
                let s = i.status;
                return Err(msg!(
                    "{s} の出荷指示は保留にできません",
                    "An instruction in {s} cannot be held"
                ));
            }
            i.hold_reasons.insert(r);
            i.status = Status::Held;
            Ok(())
        })
    }

    /// Clears every hold reason. A 保留 instruction goes to 出荷待ち when its payment is settled,
    /// else back to 入金確認. Releasing a 入金確認 instruction means the operator confirmed the
    /// payment themselves.
    pub fn release(
        &self,
        id: u64,
        expected_version: Option<u64>,
        actor: &Actor,
    ) -> Result<Instruction> {
        self.transition(
            id,
            expected_version,
            actor,
            "保留解除",
            "手動で解除".into(),
            |i| match i.status {
                _ if i.hold_reasons.contains(BUNDLE_CANDIDATE) => {
                    let g = i.bundle.unwrap_or_default();
                    Err(msg!(
                        "同梱候補 G{g} の出荷指示です: 同梱する・同梱しないを決めてください (詳細画面で B、または shukka bundle merge {g} / split {g})",
                        "This instruction is in bundle candidates G{g}: decide whether it ships with the others (B in the detail view, or shukka bundle merge {g} / split {g})"
                    ))
                }
                Status::Held => {
                    i.hold_reasons.clear();
                    i.status = if i.payment.settled() {
                        Status::Ready
                    } else {
                        Status::AwaitingPayment
                    };
                    Ok(())
                }
                Status::AwaitingPayment => {
                    if !i.hold_reasons.is_empty() {
                        i.hold_reasons.clear();
                    }
                    i.payment = PaymentFlag::Paid;
                    i.status = Status::Ready;
                    Ok(())
                }
                other => Err(msg!(
                    "{other} の出荷指示は保留されていません",
                    "An instruction in {other} is not held"
                )),
            },
        )
    }

    /// The warehouse picked it up: 出荷待ち → 出荷作業中.
    pub fn start_work(
        &self,
        id: u64,
        expected_version: Option<u64>,
        actor: &Actor,
    ) -> Result<Instruction> {
        self.transition(
            id,
            expected_version,
            actor,
            "出荷作業開始",
            String::new(),
            |i| {
                if i.status != Status::Ready {
                    let s = i.status;
                    return Err(msg!(
                        "出荷作業を始められるのは出荷待ちだけです (現在 {s})",
                        "Only an instruction in 出荷待ち can be picked up (it is in {s})"
                    ));
                }
                i.status = Status::InProgress;
                Ok(())
            },
        )
    }

    /// 出荷済み with tracking data, from 出荷待ち or 出荷作業中. 出荷実績連携 sends it upstream.
    pub fn ship(
        &self,
        id: u64,
        expected_version: Option<u64>,
        req: &ShipRequest,
        actor: &Actor,
    ) -> Result<Instruction> {
        let tracking: Vec<String> = req
            .tracking
            .iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        if tracking.is_empty() {
            return Err(EngineError::Refused(Msg::new(
                "送り状番号 (tracking number) を入力してください",
                "Enter a tracking number",
            )));
        }
        if let Some(t) = tracking
            .iter()
            .find(|t| t.len() > 100 || t.chars().any(char::is_control))
        {
            let t = crate::sanitize::sanitize(t);
            return Err(EngineError::Refused(msg!(
                "送り状番号「{t}」は使えません (100 バイトまで、制御文字なし)",
                "Tracking number \"{t}\" cannot be used (at most 100 bytes, no control characters)"
            )));
        }
        if let Some(c) = &req.carrier {
            super::check_text(["配送業者", "carrier"], c)?;
        }
        let ship_date = req
            .ship_date
            .unwrap_or_else(|| crate::time::now_jst().date());
        let reason = format!("送り状番号 {}", tracking.join(", "));
        let req = req.clone();
        self.transition(id, expected_version, actor, "出荷済み", reason, move |i| {
            if !matches!(i.status, Status::Ready | Status::InProgress) {
                let s = i.status;
                return Err(msg!(
                    "出荷済みにできるのは出荷待ち・出荷作業中だけです (現在 {s})",
                    "Only an instruction in 出荷待ち or 出荷作業中 can be shipped (it is in {s})"
                ));
            }
            // Destinations futureshop already reports shipped keep futureshop's data and are
            // never sent again.
            let open = i.destinations.iter().filter(|d| d.is_open()).count();
            if open == 0 {
                return Err(Msg::new(
                    "すべての配送先が futureshop で出荷済みです",
                    "Every destination is already shipped in futureshop",
                ));
            }
            if tracking.len() != 1 && tracking.len() != open {
                let n = open;
                return Err(msg!(
                    "出荷する配送先は {n} 件です: 送り状番号を 1 つ、または配送先ごとに {n} つ指定してください",
                    "It has {n} destinations to ship: give one tracking number, or {n} (one per destination)"
                ));
            }
            for (n, d) in i.destinations.iter_mut().filter(|d| d.is_open()).enumerate() {
                d.tracking_no = Some(tracking.get(n).unwrap_or(&tracking[0]).clone());
                d.upstream_accepted = false;
            }
            i.tracking = Some(Tracking {
                carrier: req.carrier.clone(),
                ship_date,
                expected_arrival: req.expected_arrival,
            });
            i.status = Status::Shipped;
            i.upstream = Upstream::Pending;
            Ok(())
        })
    }

    pub fn cancel(
        &self,
        id: u64,
        expected_version: Option<u64>,
        reason: &str,
        actor: &Actor,
    ) -> Result<Instruction> {
        let reason = if reason.trim().is_empty() {
            "手動キャンセル".to_string()
        } else {
            reason.trim().to_string()
        };
        super::check_text(["キャンセル理由", "cancellation reason"], &reason)?;
        self.transition(
            id,
            expected_version,
            actor,
            "キャンセル",
            reason,
            |i| match i.status {
                Status::Shipped => Err(Msg::new(
                    "出荷済みの出荷指示はキャンセルできません",
                    "A shipped (出荷済み) instruction cannot be cancelled",
                )),
                Status::Cancelled => Err(Msg::new(
                    "既にキャンセルされています",
                    "It is already cancelled (キャンセル)",
                )),
                _ => {
                    i.status = Status::Cancelled;
                    Ok(())
                }
            },
        )
    }

    /// Queues a 実績連携エラー (or failed upload) for the next 出荷実績連携 run.
    pub fn resend_tracking(
        &self,
        id: u64,
        expected_version: Option<u64>,
        actor: &Actor,
    ) -> Result<Instruction> {
        self.transition(
            id,
            expected_version,
            actor,
            "実績連携再送",
            String::new(),
            |i| {
                if i.status != Status::Shipped {
                    return Err(Msg::new(
                        "出荷済みの出荷指示だけが再送できます",
                        "Only a shipped (出荷済み) instruction can be sent again",
                    ));
                }
                if matches!(i.upstream, Upstream::Accepted { .. }) {
                    return Err(Msg::new(
                        "futureshop は既に受け付けています",
                        "futureshop has already accepted it",
                    ));
                }
                if i.shipped_outside() || i.destinations.iter().all(|d| d.upstream_accepted) {
                    return Err(Msg::new(
                        "futureshop で出荷済みです: 送信すると futureshop の送り状番号を上書きするため再送しません",
                        "futureshop reports it shipped already: sending would overwrite futureshop's tracking numbers",
                    ));
                }
                i.upstream = Upstream::Pending;
                Ok(())
            },
        )
    }

    /// One intake error, and its order as the converter reads it (without the processing
    /// robots), for the detail view.
    pub fn intake_error_detail(&self, id: u64) -> Result<crate::service::IntakeErrorDetail> {
        let store = self.store();
        let error = store.intake_error(id)?.ok_or_else(|| {
            EngineError::NotFound(no_such("取込エラー", "取込エラー (intake error)", id))
        })?;
        // The order as the converter reads it, when it can (an intake error is often exactly
        // an order it cannot read); the store's own reads are errors, never "no preview".
        let converter = store.converter(error.converter_id)?;
        let auth = store.auth(error.auth_id)?;
        let preview = match (Order::from_any_json(error.raw.to_value()), converter, auth) {
            (Ok(order), Some(converter), Some(auth)) => {
                crate::robots::converter::convert(&order, &converter, &auth, super::now()).ok()
            }
            _ => None,
        };
        Ok(crate::service::IntakeErrorDetail { error, preview })
    }

    /// Runs an intake error's stored order through intake again (after its cause was fixed).
    pub fn retry_intake_error(&self, error_id: u64, actor: &Actor) -> Result<PageOutcome> {
        let store = self.store();
        let e = store.intake_error(error_id)?.ok_or_else(|| {
            EngineError::NotFound(no_such("取込エラー", "取込エラー (intake error)", error_id))
        })?;
        let setup = IntakeSetup::load(store, e.auth_id, e.converter_id)?;
        let raw = e.raw.to_value();
        let outcome = match Order::from_any_json(raw.clone()) {
            Ok(order) => ingest_page(
                store,
                &setup,
                &[order],
                &[],
                &Default::default(),
                |t, out| {
                    let what = if out.created > 0 {
                        "取り込みました"
                    } else if out.skipped > 0 {
                        "既に出荷指示があります"
                    } else {
                        "まだ取り込めません"
                    };
                    t.audit(audit_entry(
                        actor,
                        Target::IntakeError {
                            id: e.id,
                            order_no: e.order_no.clone(),
                        },
                        "再取込",
                        None,
                        None,
                        what,
                    ))?;
                    if out.skipped > 0
                        && let Some(err) = t.intake_error(e.id)?
                    {
                        t.delete_intake_error(&err)?;
                    }
                    Ok(())
                },
            )?,
            Err(reason) => {
                let unreadable = crate::futureshop::Unreadable { raw, reason };
                ingest_page(
                    store,
                    &setup,
                    &[],
                    &[unreadable],
                    &Default::default(),
                    |_, _| Ok(()),
                )?
            }
        };
        store.flush()?;
        Ok(outcome)
    }
}

fn conflict_message(i: &Instruction) -> Msg {
    let ago = (now() - i.updated_at).num_seconds().max(0);
    // "たった今 op2 が…" but "3 分前に op2 が…": 今 takes no particle.
    let (when, when_en) = if ago < 60 {
        ("たった今".to_string(), "just now".to_string())
    } else {
        let m = ago / 60;
        (format!("{m} 分前に"), format!("{m} min ago"))
    };
    let (no, by, s) = (&i.order_no, &i.updated_by, i.status);
    msg!(
        "出荷指示 {no} は {when} {by} が変更しました (現在 {s}): 最新の状態を確認してからやり直してください",
        "{by} changed order {no}'s instruction {when_en} (now {s}): look at it again, then retry"
    )
}
