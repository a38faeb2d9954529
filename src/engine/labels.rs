//! 送り状 in the engine: the delivery decision at intake, label export (selecting the
//! shipments, marking them 送り状発行済 and moving them to 出荷作業中, atomically per batch) and
//! the tracking import (each row registered, unchanged or refused with the reason; audited;
//! committed in batches, flushed once).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{Engine, EngineError, Result, audit_entry, now};
use crate::domain::*;
use crate::labels::export::{Row, RowInput, build_row, write_file};
use crate::labels::import::{ReadError, read};
use crate::labels::{
    ExportReport, ExportedShipment, ImportReport, ImportedRow, LabelSettings, Outcome, RowOutcome,
    Skipped,
};
use crate::msg;
use crate::store::{StoreError, Txn};

/// Where the shop's label settings are kept.
pub const CFG_LABELS: &str = "labels";

/// Instructions handled per transaction (a page of a large export or import).
const BATCH: usize = 500;

/// What to export.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRequest {
    pub carrier: String,
    /// The queue to take (default 出荷待ち) when no instruction is named.
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub orders: Vec<String>,
    #[serde(default)]
    pub ids: Vec<u64>,
    /// Export shipments that were exported before (a reprint).
    #[serde(default)]
    pub again: bool,
    /// The file's name, as recorded on each shipment.
    pub file_name: String,
    /// 出荷予定日 (default today).
    #[serde(default)]
    pub ship_date: Option<NaiveDate>,
}

/// What to import.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRequest {
    /// The profile, or None to tell it from the file.
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub dry_run: bool,
    /// The ship date of rows that carry none (default today).
    #[serde(default)]
    pub ship_date: Option<NaiveDate>,
}

/// Applies the delivery decision to every open shipment of `i`: the decision on the shipment
/// and in the rule trace, or a hold reason. Returns what was decided, for the audit line.
pub fn decide_delivery(
    settings: &LabelSettings,
    i: &mut Instruction,
    at: DateTime<FixedOffset>,
    robot: (u64, &str),
) -> Vec<String> {
    if !settings.is_configured() {
        return Vec::new();
    }
    let mut said = Vec::new();
    let snapshot = i.clone();
    for d in i.destinations.iter_mut() {
        let outcome = settings.decide(&snapshot, d, None);
        let line = match outcome {
            Outcome::Label(dec) => {
                let s = format!("配送先 {}: {}", d.shipment_no, dec.describe());
                d.delivery = Some(dec);
                s
            }
            Outcome::Hold(reason) => {
                d.delivery = None;
                let s = format!("配送先 {}: {reason}", d.shipment_no);
                // The hold reason is its kind; the detail is in the trace.
                let kind = reason
                    .split(':')
                    .next()
                    .unwrap_or(&reason)
                    .trim()
                    .to_string();
                i.hold_reasons.insert(kind);
                s
            }
            Outcome::NoLabel(why) => format!("配送先 {}: {why}", d.shipment_no),
            Outcome::Unconfigured => continue,
        };
        i.trace.push(TraceEntry {
            at,
            robot_id: robot.0,
            robot_name: robot.1.to_string(),
            decision: format!("配送方法: {line}"),
        });
        said.push(line);
    }
    said
}

impl Engine {
    /// The shop's label settings (rules, accounts, its own profiles).
    pub fn label_settings(&self) -> Result<LabelSettings> {
        Ok(self.store().config(CFG_LABELS)?.unwrap_or_default())
    }

    pub fn set_label_settings(&self, s: &LabelSettings, actor: &Actor) -> Result<()> {
        for p in &s.profiles {
            p.check()
                .map_err(|e| EngineError::Refused(crate::msg::Msg::same(e.to_string())))?;
        }
        self.store().write(|t| {
            t.put_config(CFG_LABELS, s)?;
            t.audit(audit_entry(
                actor,
                Target::Setup {
                    what: "送り状設定".into(),
                },
                "設定変更",
                None,
                None,
                format!(
                    "配送ルール {} 件, 配送業者設定 {} 件, 独自プロファイル {} 件",
                    s.rules.len(),
                    s.carriers.len(),
                    s.profiles.len()
                ),
            ))?;
            Ok::<_, StoreError>(())
        })?;
        self.store().flush()?;
        Ok(())
    }

    fn export_targets(&self, req: &ExportRequest, report: &mut ExportReport) -> Result<Vec<u64>> {
        let store = self.store();
        if !req.ids.is_empty() {
            return Ok(req.ids.clone());
        }
        if !req.orders.is_empty() {
            let mut ids = Vec::new();
            for no in &req.orders {
                let found = store.instructions_by_order_no(no.trim())?;
                if found.is_empty() {
                    report.skipped.push(Skipped {
                        order_no: no.clone(),
                        shipment_no: None,
                        reason: "出荷指示がありません".into(),
                    });
                }
                ids.extend(found.iter().map(|i| i.id));
            }
            return Ok(ids);
        }
        Ok(store.ids_in(req.status.unwrap_or(Status::Ready))?)
    }

    /// Writes the label file of the selected shipments and marks them 送り状発行済 (their
    /// instructions move to 出荷作業中). Returns the file's bytes and the report.
    pub fn export_labels(
        &self,
        req: &ExportRequest,
        actor: &Actor,
    ) -> Result<(Vec<u8>, ExportReport)> {
        let settings = self.label_settings()?;
        let profile = settings.profile(&req.carrier).ok_or_else(|| {
            let c = &req.carrier;
            EngineError::Refused(msg!(
                "送り状プロファイル {c} はありません (b2, ehiden3, yupri, clickpost または setup ファイルの独自プロファイル)",
                "There is no label profile {c} (b2, ehiden3, yupri, clickpost, or one of the setup file's own)"
            ))
        })?;
        super::check_text(["ファイル名", "file name"], &req.file_name)?;
        let account = settings
            .carriers
            .get(&profile.id)
            .cloned()
            .unwrap_or_default();
        let mut report = ExportReport {
            carrier: profile.id.clone(),
            carrier_name: profile.name.clone(),
            file_name: req.file_name.clone(),
            ..Default::default()
        };
        let ids = self.export_targets(req, &mut report)?;
        let ship_date = req
            .ship_date
            .unwrap_or_else(|| crate::time::now_jst().date());
        let ship_froms: HashMap<u64, ShipFrom> = self
            .store()
            .ship_froms()?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let first_ship_from = ship_froms.values().min_by_key(|s| s.id).cloned();
        let mut rows: Vec<Row> = Vec::new();
        let at = now();
        // A merged 同梱 group is exported whole, once, wherever its first member is met.
        let mut groups_done: HashSet<u64> = HashSet::new();
        for chunk in ids.chunks(BATCH) {
            self.store().write(|t| {
                for id in chunk {
                    let Some(i) = t.instruction(*id)? else {
                        continue;
                    };
                    let ship_from = i
                        .ship_from_id
                        .and_then(|s| ship_froms.get(&s))
                        .or(first_ship_from.as_ref());
                    if let Some(b) = super::bundle::merged_group(t, &i)? {
                        if groups_done.insert(b.id) {
                            let ctx = ExportCtx {
                                settings: &settings,
                                profile,
                                account: &account,
                                ship_from,
                                ship_date,
                                req,
                                actor,
                                at,
                            };
                            export_group(t, b, &ctx, &mut rows, &mut report)?;
                        }
                        continue;
                    }
                    export_one(
                        t,
                        i,
                        &settings,
                        profile,
                        &account,
                        ship_from,
                        ship_date,
                        req,
                        actor,
                        at,
                        &mut rows,
                        &mut report,
                    )?;
                }
                Ok::<_, EngineError>(())
            })?;
        }
        self.store().flush()?;
        let bytes = write_file(profile, &rows);
        report.bytes = bytes.len() as u64;
        Ok((bytes, report))
    }

    /// Registers the tracking numbers of a carrier's issued-data file (or, with `dry_run`,
    /// says what it would do).
    pub fn import_tracking(
        &self,
        bytes: &[u8],
        req: &ImportRequest,
        actor: &Actor,
    ) -> Result<ImportReport> {
        let settings = self.label_settings()?;
        let profiles = settings.all_profiles();
        let file = read(bytes, &profiles, req.carrier.as_deref()).map_err(|e| {
            EngineError::Refused(match e {
                ReadError::Encoding => msg!(
                    "ファイルが UTF-8 でも CP932 (Shift_JIS) でもありません: 運送会社のシステムが書き出したまま (表計算ソフトで保存し直していないもの) を使ってください",
                    "The file is neither UTF-8 nor CP932 (Shift_JIS): use the file the carrier's software wrote, not one saved again by a spreadsheet"
                ),
                ReadError::Empty => msg!("ファイルに行がありません", "The file has no rows"),
                ReadError::Csv(why) => msg!("CSV として読めません: {why}", "The file is not CSV: {why}"),
                ReadError::Unknown(why) => msg!(
                    "どの運送会社のファイルか判定できません ({why}): --carrier b2 / ehiden3 / yupri / clickpost で指定してください",
                    "Which carrier's file this is cannot be told ({why}): give --carrier b2, ehiden3, yupri or clickpost"
                ),
            })
        })?;
        let p = &file.profile;
        let mut report = ImportReport {
            carrier: p.id.clone(),
            carrier_name: p.name.clone(),
            encoding: file.encoding.to_string(),
            header: file.header,
            dry_run: req.dry_run,
            ..Default::default()
        };
        let auths: Vec<u64> = self.store().auths()?.iter().map(|a| a.id).collect();
        let default_date = req
            .ship_date
            .unwrap_or_else(|| crate::time::now_jst().date());
        // The same key twice: every row of it is refused (which label is the parcel's?).
        let mut seen: HashMap<&str, Vec<usize>> = HashMap::new();
        for (n, r) in file.rows.iter().enumerate() {
            if r.problem.is_none() && !r.key.is_empty() {
                seen.entry(r.key.as_str()).or_default().push(n);
            }
        }
        let mut repeated: HashMap<usize, Vec<usize>> = HashMap::new();
        for rows in seen.values().filter(|v| v.len() > 1) {
            for n in rows {
                repeated.insert(*n, rows.iter().map(|m| file.rows[*m].line).collect());
            }
        }
        // Rows grouped by order number, in file order, so one transaction sees an order whole.
        let mut plan: Vec<(usize, Option<(String, i64)>)> = Vec::new();
        for (n, r) in file.rows.iter().enumerate() {
            plan.push((n, p.parse_key(&r.key)));
        }
        let mut outcomes: Vec<Option<ImportedRow>> = vec![None; file.rows.len()];
        // A trial run is one transaction (never committed), so that a later row sees what an
        // earlier one would have done, as in the real run.
        let batch = if req.dry_run {
            plan.len().max(1)
        } else {
            BATCH
        };
        for chunk in plan.chunks(batch) {
            let apply = |t: &mut Txn<'_>| -> Result<Vec<(usize, ImportedRow)>> {
                let mut done = Vec::new();
                for (n, parsed) in chunk {
                    let r = &file.rows[*n];
                    let (order_no, shipment_no) = parsed
                        .clone()
                        .map(|(o, s)| (o, Some(s)))
                        .unwrap_or_default();
                    let outcome = if let Some(problem) = &r.problem {
                        RowOutcome::Refused(problem.clone())
                    } else if let Some(lines) = repeated.get(n) {
                        let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                        RowOutcome::Refused(format!(
                            "ファイル内で管理番号 {} が重複しています ({} 行目): どの送り状が荷物のものか確かめて、1 行にしてください",
                            r.key,
                            lines.join("・")
                        ))
                    } else if parsed.is_none() {
                        RowOutcome::Refused(format!("管理番号 {} を読めません", r.key))
                    } else {
                        register(
                            t,
                            &order_no,
                            shipment_no.unwrap_or(0),
                            &r.tracking,
                            r.ship_date.unwrap_or(default_date),
                            p,
                            &auths,
                            actor,
                        )?
                    };
                    done.push((
                        *n,
                        ImportedRow {
                            line: r.line,
                            key: r.key.clone(),
                            order_no,
                            shipment_no,
                            tracking: r.tracking.clone(),
                            outcome,
                        },
                    ));
                }
                Ok(done)
            };
            let done = if req.dry_run {
                // Nothing is written: the transaction is dropped by refusing it at the end.
                let mut kept = Vec::new();
                let r = self.store().write(|t| {
                    kept = apply(t)?;
                    Err::<(), EngineError>(EngineError::Busy(crate::msg::Msg::same("dry run")))
                });
                match r {
                    Err(EngineError::Busy(_)) => kept,
                    Err(e) => return Err(e),
                    Ok(()) => kept,
                }
            } else {
                self.store().write(apply)?
            };
            for (n, row) in done {
                outcomes[n] = Some(row);
            }
        }
        if !req.dry_run {
            self.store().flush()?;
        }
        for row in outcomes.into_iter().flatten() {
            match &row.outcome {
                RowOutcome::Registered { shipped } => {
                    report.registered += 1;
                    report.shipped += u64::from(*shipped);
                }
                RowOutcome::Unchanged => report.unchanged += 1,
                RowOutcome::Refused(_) => report.refused += 1,
            }
            report.rows.push(row);
        }
        if !req.dry_run && report.refused > 0 {
            let orders: Vec<String> = report
                .rows
                .iter()
                .filter(|r| matches!(r.outcome, RowOutcome::Refused(_)))
                .map(|r| r.order_no.clone())
                .filter(|o| !o.is_empty())
                .collect();
            let (n, carrier) = (report.refused, report.carrier_name.clone());
            let ja = format!(
                "送り状番号取込 ({carrier}) で {n} 行を拒否しました — 理由は取込結果 (shukka labels import --dry-run で再確認) を見て、荷物と番号を確かめてください"
            );
            let en = format!(
                "Tracking import ({carrier}): {n} row(s) refused — see the import's report (shukka labels import --dry-run) and check those parcels"
            );
            self.store().write(|t| {
                t.alert(crate::notify::Alert::new(
                    crate::notify::AlertKind::ImportRefused,
                    ja,
                    en,
                    orders,
                ))
            })?;
        }
        Ok(report)
    }
}

/// Exports the open shipments of one instruction (inside the batch's transaction).
#[allow(clippy::too_many_arguments)] // one shipment's context, each named where it is used
fn export_one(
    t: &mut Txn<'_>,
    mut i: Instruction,
    settings: &LabelSettings,
    profile: &crate::labels::Profile,
    account: &BTreeMap<String, String>,
    ship_from: Option<&ShipFrom>,
    ship_date: NaiveDate,
    req: &ExportRequest,
    actor: &Actor,
    at: DateTime<FixedOffset>,
    rows: &mut Vec<Row>,
    report: &mut ExportReport,
) -> Result<()> {
    let skip = |report: &mut ExportReport, shipment: Option<i64>, reason: String| {
        report.skipped.push(Skipped {
            order_no: i.order_no.clone(),
            shipment_no: shipment,
            reason,
        })
    };
    if i.cancelled_after_shipment {
        skip(
            report,
            None,
            "出荷後キャンセル: futureshop でキャンセルされています。送り状は発行しません (荷物を止めてください)".into(),
        );
        return Ok(());
    }
    if !matches!(i.status, Status::Ready | Status::InProgress) {
        let s = i.status;
        skip(
            report,
            None,
            format!("{s} の出荷指示には送り状を発行しません (出荷待ち・出荷作業中のみ)"),
        );
        return Ok(());
    }
    let snapshot = i.clone();
    // COD is collected once: on the first shipment that gets a label.
    let mut cod_left = snapshot.amounts.grand_total;
    let mut exported: Vec<String> = Vec::new();
    let mut new_rows = Vec::new();
    for d in i.destinations.iter_mut() {
        if d.tracking_no.is_some() {
            continue;
        }
        if let Some(l) = &d.label
            && !req.again
        {
            let when = l.at.format("%m/%d %H:%M");
            let (c, f) = (&l.carrier, &l.file);
            skip(
                report,
                Some(d.shipment_no),
                format!("送り状発行済 ({c}, {when}, {f}): 再発行は --again"),
            );
            continue;
        }
        let decision = match settings.decide(&snapshot, d, Some(&profile.id)) {
            Outcome::Label(dec) => dec,
            Outcome::NoLabel(why) => {
                skip(report, Some(d.shipment_no), why);
                continue;
            }
            Outcome::Hold(why) => {
                skip(report, Some(d.shipment_no), why);
                continue;
            }
            Outcome::Unconfigured => {
                skip(
                    report,
                    Some(d.shipment_no),
                    "配送方法を判定できません".into(),
                );
                continue;
            }
        };
        let cod_amount = if decision.cod {
            std::mem::take(&mut cod_left)
        } else {
            0
        };
        let input = RowInput {
            instruction: &snapshot,
            destination: d,
            decision: &decision,
            ship_from,
            account,
            ship_date,
            cod_amount,
            cod_tax: if cod_amount > 0 {
                snapshot.amounts.tax_total
            } else {
                0
            },
        };
        match build_row(profile, &input) {
            Ok(row) => {
                report.exported.push(ExportedShipment {
                    order_no: snapshot.order_no.clone(),
                    shipment_no: d.shipment_no,
                    key: row.key.clone(),
                    service: decision.service_label.clone(),
                    warnings: row.warnings.clone(),
                });
                exported.push(format!("{} {}", row.key, decision.service_label));
                d.label = Some(LabelRecord {
                    carrier: profile.id.clone(),
                    file: req.file_name.clone(),
                    key: row.key.clone(),
                    at,
                    actor: actor.to_string(),
                });
                d.delivery = Some(decision);
                new_rows.push(row);
            }
            Err(why) => skip(report, Some(d.shipment_no), why),
        }
    }
    if exported.is_empty() {
        return Ok(());
    }
    let version = i.version;
    let from = i.status;
    if i.status == Status::Ready {
        i.status = Status::InProgress;
        report.started += 1;
    }
    i.updated_at = at;
    i.updated_by = actor.to_string();
    let to = i.status;
    let stored = t.update_instruction(version, i)?;
    t.audit(audit_entry(
        actor,
        super::instruction_target(&stored),
        "送り状発行",
        Some(from),
        Some(to),
        format!("{} {}: {}", profile.id, req.file_name, exported.join(", ")),
    ))?;
    rows.extend(new_rows);
    Ok(())
}

/// What every shipment of one export shares.
struct ExportCtx<'a> {
    settings: &'a LabelSettings,
    profile: &'a crate::labels::Profile,
    account: &'a BTreeMap<String, String>,
    ship_from: Option<&'a ShipFrom>,
    ship_date: NaiveDate,
    req: &'a ExportRequest,
    actor: &'a Actor,
    at: DateTime<FixedOffset>,
}

/// Exports a merged 同梱 group as one row: the first member's key and address, every
/// member's items; every member is marked with that label and moves to 出荷作業中. Amounts
/// are never added up (a group holds no cash-on-delivery order).
fn export_group(
    t: &mut Txn<'_>,
    mut b: Bundle,
    c: &ExportCtx<'_>,
    rows: &mut Vec<Row>,
    report: &mut ExportReport,
) -> Result<()> {
    let g = b.id;
    let mut members = Vec::new();
    for id in &b.members {
        if let Some(i) = t.instruction(*id)? {
            members.push(i);
        }
    }
    let skip_all = |report: &mut ExportReport, members: &[Instruction], reason: String| {
        for m in members {
            report.skipped.push(Skipped {
                order_no: m.order_no.clone(),
                shipment_no: None,
                reason: format!("同梱 G{g}: {reason}"),
            });
        }
    };
    if members.len() < 2 || members.len() != b.members.len() {
        skip_all(
            report,
            &members,
            "グループの出荷指示が揃っていません (同梱の取消か同梱しないで決め直してください)"
                .into(),
        );
        return Ok(());
    }
    for m in &members {
        let no = &m.order_no;
        let problem = if m.cancelled_after_shipment || m.status == Status::Cancelled {
            Some(format!(
                "受注 {no} はキャンセルされています: shukka bundle split {g} で分けてから発行してください"
            ))
        } else if !matches!(m.status, Status::Ready | Status::InProgress) {
            Some(format!(
                "受注 {no} が {} です: 全員が出荷待ちになってから 1 枚で発行します",
                m.status
            ))
        } else if m.open_destinations().count() != 1 {
            Some(format!("受注 {no} の配送先が 1 つではありません"))
        } else {
            None
        };
        if let Some(p) = problem {
            skip_all(report, &members, p);
            return Ok(());
        }
    }
    if b.state == BundleState::Exported && !c.req.again {
        let l = members[0].open_destinations().find_map(|d| d.label.clone());
        let when = l
            .as_ref()
            .map(|l| format!("{}, {}, {}", l.carrier, l.at.format("%m/%d %H:%M"), l.file))
            .unwrap_or_default();
        skip_all(
            report,
            &members,
            format!("送り状発行済 ({when}): 再発行は --again"),
        );
        return Ok(());
    }
    // One parcel: the first member's shipment carrying everyone's items.
    let mut combined = members[0].clone();
    let Some(pos) = combined.destinations.iter().position(|d| d.is_open()) else {
        return Ok(());
    };
    let items: Vec<Item> = members
        .iter()
        .flat_map(|m| m.open_destinations().flat_map(|d| d.items.clone()))
        .collect();
    combined.destinations[pos].items = items;
    let d = &combined.destinations[pos];
    let decision = match c.settings.decide(&combined, d, Some(&c.profile.id)) {
        Outcome::Label(dec) => dec,
        Outcome::NoLabel(why) | Outcome::Hold(why) => {
            skip_all(report, &members, why);
            return Ok(());
        }
        Outcome::Unconfigured => {
            skip_all(report, &members, "配送方法を判定できません".into());
            return Ok(());
        }
    };
    if decision.cod {
        skip_all(
            report,
            &members,
            "代金引換は同梱しません (代引金額を合算しないため)".into(),
        );
        return Ok(());
    }
    let input = RowInput {
        instruction: &combined,
        destination: d,
        decision: &decision,
        ship_from: c.ship_from,
        account: c.account,
        ship_date: c.ship_date,
        cod_amount: 0,
        cod_tax: 0,
    };
    let row = match build_row(c.profile, &input) {
        Ok(row) => row,
        Err(why) => {
            skip_all(report, &members, why);
            return Ok(());
        }
    };
    let together: Vec<String> = members.iter().map(|m| m.order_no.clone()).collect();
    let together = together.join("・");
    for mut m in members {
        let Some(mpos) = m.destinations.iter().position(|d| d.is_open()) else {
            continue;
        };
        let md = &mut m.destinations[mpos];
        md.label = Some(LabelRecord {
            carrier: c.profile.id.clone(),
            file: c.req.file_name.clone(),
            key: row.key.clone(),
            at: c.at,
            actor: c.actor.to_string(),
        });
        md.delivery = Some(decision.clone());
        report.exported.push(ExportedShipment {
            order_no: m.order_no.clone(),
            shipment_no: md.shipment_no,
            key: row.key.clone(),
            service: decision.service_label.clone(),
            warnings: row.warnings.clone(),
        });
        let (version, from) = (m.version, m.status);
        if m.status == Status::Ready {
            m.status = Status::InProgress;
            report.started += 1;
        }
        m.updated_at = c.at;
        m.updated_by = c.actor.to_string();
        let to = m.status;
        let stored = t.update_instruction(version, m)?;
        t.audit(audit_entry(
            c.actor,
            super::instruction_target(&stored),
            "送り状発行",
            Some(from),
            Some(to),
            format!(
                "{} {}: {} {} (同梱 G{g}: 受注 {together} を 1 枚で)",
                c.profile.id, c.req.file_name, row.key, decision.service_label
            ),
        ))?;
    }
    b.state = BundleState::Exported;
    b.updated_at = c.at;
    b.updated_by = c.actor.to_string();
    t.put_bundle(b)?;
    rows.push(row);
    Ok(())
}

/// Registers one tracking number (inside the batch's transaction).
#[allow(clippy::too_many_arguments)] // one row's context
fn register(
    t: &mut Txn<'_>,
    order_no: &str,
    shipment_no: i64,
    tracking: &str,
    ship_date: NaiveDate,
    profile: &crate::labels::Profile,
    auths: &[u64],
    actor: &Actor,
) -> Result<RowOutcome> {
    let mut ids = Vec::new();
    for a in auths {
        ids.extend(t.instruction_id(*a, order_no)?);
    }
    let id = match ids.as_slice() {
        [] => {
            return Ok(RowOutcome::Refused(format!(
                "受注 {order_no} の出荷指示がありません (管理番号が違うか、別のショップの送り状です)"
            )));
        }
        [id] => *id,
        _ => {
            return Ok(RowOutcome::Refused(format!(
                "受注 {order_no} の出荷指示が複数あります (複数の API認証設定): コマンドの ship で ID を指定してください"
            )));
        }
    };
    let Some(i) = t.instruction(id)? else {
        return Ok(RowOutcome::Refused(format!(
            "受注 {order_no} の出荷指示がありません"
        )));
    };
    let Some(pos) = i
        .destinations
        .iter()
        .position(|d| d.shipment_no == shipment_no)
    else {
        return Ok(RowOutcome::Refused(format!(
            "受注 {order_no} に配送先 {shipment_no} はありません"
        )));
    };
    if let Some(outcome) = refuse_tracking(&i, pos, tracking) {
        return Ok(outcome);
    }
    // The label of a merged 同梱 group is the first member's: its number is every member's.
    let mut others = Vec::new();
    if let Some(b) = super::bundle::merged_group(t, &i)?
        && b.primary() == Some(i.id)
    {
        for m in b.members.iter().skip(1) {
            let Some(o) = t.instruction(*m)? else {
                continue;
            };
            let Some(opos) = o.destinations.iter().position(|d| d.is_open()) else {
                continue;
            };
            match refuse_tracking(&o, opos, tracking) {
                Some(RowOutcome::Unchanged) => {}
                Some(RowOutcome::Refused(why)) => {
                    let no = &o.order_no;
                    return Ok(RowOutcome::Refused(format!(
                        "同梱 G{} の受注 {no}: {why} (登録しません)",
                        b.id
                    )));
                }
                _ => others.push((o, opos)),
            }
        }
    }
    let note = if others.is_empty() {
        String::new()
    } else {
        let nos: Vec<&str> = others.iter().map(|(o, _)| o.order_no.as_str()).collect();
        format!(" (同梱: 受注 {} にも登録)", nos.join("・"))
    };
    let done = apply_tracking(t, i, pos, tracking, ship_date, profile, actor, &note)?;
    for (o, opos) in others {
        let no = order_no.to_string();
        apply_tracking(
            t,
            o,
            opos,
            tracking,
            ship_date,
            profile,
            actor,
            &format!(" (同梱: 受注 {no} の送り状)"),
        )?;
    }
    Ok(RowOutcome::Registered { shipped: done })
}

/// Why a tracking number cannot go on `i`'s destination `pos` (or that it is there already).
fn refuse_tracking(i: &Instruction, pos: usize, tracking: &str) -> Option<RowOutcome> {
    let status = i.status;
    let d = &i.destinations[pos];
    if let Some(existing) = &d.tracking_no {
        return Some(if existing == tracking {
            RowOutcome::Unchanged
        } else {
            RowOutcome::Refused(format!(
                "別の送り状番号 {existing} が登録済みです (ファイルは {tracking}): 二重発行を確認してください"
            ))
        });
    }
    if d.shipped_in_futureshop.is_some() {
        return Some(RowOutcome::Refused(
            "futureshop で出荷済みの配送先です (shukka 以外で出荷): 登録しません".into(),
        ));
    }
    if status == Status::Cancelled || i.cancelled_after_shipment {
        return Some(RowOutcome::Refused(
            "キャンセルされた出荷指示です: 荷物を止めてください (運送会社に連絡)".into(),
        ));
    }
    if !matches!(status, Status::Ready | Status::InProgress) {
        return Some(RowOutcome::Refused(format!(
            "{status} の出荷指示には登録しません (出荷待ち・出荷作業中のみ)"
        )));
    }
    None
}

/// Puts the number on the destination; the instruction is 出荷済み once every open
/// destination has one. Returns whether it is.
#[allow(clippy::too_many_arguments)] // one row's context
fn apply_tracking(
    t: &mut Txn<'_>,
    mut i: Instruction,
    pos: usize,
    tracking: &str,
    ship_date: NaiveDate,
    profile: &crate::labels::Profile,
    actor: &Actor,
    note: &str,
) -> Result<bool> {
    let status = i.status;
    let shipment_no = i.destinations[pos].shipment_no;
    let version = i.version;
    i.destinations[pos].tracking_no = Some(tracking.to_string());
    i.destinations[pos].upstream_accepted = false;
    let done = i
        .destinations
        .iter()
        .filter(|d| d.is_open() && !d.store_pickup)
        .all(|d| d.tracking_no.is_some());
    if done {
        i.status = Status::Shipped;
        i.tracking = Some(Tracking {
            carrier: Some(profile.name.clone()),
            ship_date,
            expected_arrival: None,
        });
        i.upstream = Upstream::Pending;
    }
    // A dry run writes too — into a transaction that is then dropped — so that two rows of
    // one order see each other, as they would for real.
    i.updated_at = now();
    i.updated_by = actor.to_string();
    let to = i.status;
    let stored = t.update_instruction(version, i)?;
    t.audit(audit_entry(
        actor,
        super::instruction_target(&stored),
        "送り状番号取込",
        Some(status),
        Some(to),
        format!(
            "{} 配送先 {shipment_no}: 送り状番号 {tracking} (出荷日 {ship_date}){note}",
            profile.id
        ),
    ))?;
    Ok(done)
}
