//! Running linkage robots: one run at a time per robot, one run-log line per run, chained
//! robots after a completed run.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Duration, NaiveDateTime};

use super::pipeline::{IntakeSetup, ingest_page};
use super::reconcile::{reconcile, reconcile_shipping};
use super::{Engine, EngineError, Result, audit_entry, instruction_target, no_such, now};
use crate::domain::*;
use crate::futureshop::client::ShippingFilter;
use crate::futureshop::{InventoryUpdate, OrderQuery, ShippingUpdate, StockCount};
use crate::msg;
use crate::robots::linkage::{LinkAction, LinkageRobot, Trigger};
use crate::robots::processing::{self, Env, Phase};
use crate::store::SyncCursor;

/// How a run was started.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Shown in the run log ("手動", "10分ごと", "… の後").
    pub trigger: String,
    /// Overrides the window of a 範囲指定 fetch.
    pub range: Option<(NaiveDateTime, NaiveDateTime)>,
    /// Run the robots chained after this one when it completes.
    pub chain: bool,
    /// Robots already run in this chain (cycle guard).
    pub chain_path: Vec<u64>,
}

/// Removes the robot from the running set when the run ends, however it ends.
struct Claim<'a> {
    engine: &'a Engine,
    id: u64,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.engine
            .inner
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

/// Status sync also re-reads recently shipped orders, to catch cancellations after shipment.
const SHIPPED_RECHECK_DAYS: i64 = 7;

impl Engine {
    fn claim(&self, robot: &LinkageRobot) -> Result<Claim<'_>> {
        let mut running = self.inner.running.lock().unwrap_or_else(|e| e.into_inner());
        if !running.insert(robot.id) {
            return Err({
                let r = robot.label();
                EngineError::Busy(msg!("{r} は実行中です", "{r} is already running"))
            });
        }
        Ok(Claim {
            engine: self,
            id: robot.id,
        })
    }

    /// Runs one linkage robot now and returns its run-log line. Robots chained after it run
    /// afterwards when `opts.chain` is set.
    pub async fn run_robot(&self, id: u64, opts: RunOptions) -> Result<RunLogEntry> {
        let store = self.store().clone();
        let robot = store
            .linkage_robot(id)?
            .ok_or_else(|| EngineError::NotFound(no_such("連携ロボット", "linkage robot", id)))?;
        let gate = self.inner.gate.read().await;
        let claim = self.claim(&robot)?;
        let started = now();
        let mut line = RunLogEntry {
            seq: 0,
            robot_id: robot.id,
            robot_name: robot.name.clone(),
            action: robot.action,
            started,
            ended: None,
            window: None,
            success: 0,
            failure: 0,
            skipped: 0,
            pages: 0,
            details: 0,
            state: RunState::Running,
            errors: Vec::new(),
            trigger: if opts.trigger.is_empty() {
                "手動".into()
            } else {
                opts.trigger.clone()
            },
        };
        line = store.write(|t| {
            let mut c = t.cursor(robot.id)?.unwrap_or_default();
            c.last_start = Some(started);
            t.put_cursor(robot.id, &c)?;
            t.put_run(&line)
        })?;
        let result = match robot.action {
            LinkAction::FetchDiff | LinkAction::FetchRange => {
                self.fetch(&robot, &opts, &mut line).await
            }
            LinkAction::StatusSync => self.status_sync(&robot, &mut line).await,
            LinkAction::TrackingUpload => self.tracking_upload(&robot, &mut line).await,
            LinkAction::InventorySync => self.inventory_sync(&robot, &mut line).await,
            LinkAction::ProductMasterFetch => self.product_master_fetch(&robot, &mut line).await,
            LinkAction::ApplyProcessingRobot => self.run_apply_processing(&robot, &mut line),
        };
        line.ended = Some(now());
        match result {
            Ok(done) => {
                line.state = if self.stop_requested() && !done {
                    line.errors
                        .push("停止のため中断しました (次回の実行で続きから取り直します)".into());
                    RunState::Interrupted
                } else if line.errors.is_empty() || robot.action != LinkAction::TrackingUpload {
                    RunState::Done
                } else {
                    RunState::Failed
                };
            }
            Err(e) => {
                line.state = RunState::Failed;
                line.errors.push(e.to_string());
            }
        }
        let fetch_end = line.window.map(|w| w.1);
        let completed_diff = robot.action == LinkAction::FetchDiff && line.state == RunState::Done;
        let finished = line.ended;
        line = store.write(|t| {
            let mut c = t.cursor(robot.id)?.unwrap_or_default();
            if completed_diff {
                c.last_success_end = fetch_end;
            }
            c.last_finish = finished;
            t.put_cursor(robot.id, &c)?;
            let line = t.put_run(&line)?;
            // The setup guide's last step is done once, for good, by the first good fetch.
            if super::setup::is_good_fetch(&line)
                && t.config::<RunLogEntry>(super::setup::CFG_GUIDE_FETCH)?
                    .is_none()
            {
                t.put_config(super::setup::CFG_GUIDE_FETCH, &line)?;
            }
            Ok::<_, crate::store::StoreError>(line)
        })?;
        store.flush_async().await?;
        // 同梱候補を保留 looks at the queues as the run left them.
        if matches!(
            robot.action,
            LinkAction::FetchDiff
                | LinkAction::FetchRange
                | LinkAction::StatusSync
                | LinkAction::ApplyProcessingRobot
        ) && let Err(e) = self.bundle_pass()
        {
            tracing::warn!(robot = robot.id, error = %e, "同梱候補の確認に失敗しました");
        }
        drop(claim);
        drop(gate);
        if opts.chain && line.state == RunState::Done {
            let mut path = opts.chain_path.clone();
            path.push(robot.id);
            for next in store.linkage_robots()? {
                let chained =
                    matches!(next.trigger, Trigger::After { robot_id } if robot_id == robot.id);
                if !chained || !next.enabled || path.contains(&next.id) {
                    continue;
                }
                let sub = RunOptions {
                    trigger: format!("{} の後", robot.name),
                    range: None,
                    chain: true,
                    chain_path: path.clone(),
                };
                if let Err(e) = Box::pin(self.run_robot(next.id, sub)).await {
                    tracing::warn!(robot = next.id, error = %e, "chained robot failed to start");
                }
            }
        }
        Ok(line)
    }

    /// 出荷指示取得(差分/範囲指定). Returns false when stopped before the last page.
    async fn fetch(
        &self,
        robot: &LinkageRobot,
        opts: &RunOptions,
        line: &mut RunLogEntry,
    ) -> Result<bool> {
        let store = self.store();
        let auth_id = need_auth(robot)?;
        let converter_id = robot.converter_id.ok_or_else(|| {
            let r = robot.label();
            EngineError::Setup(msg!(
                "{r} に変換ロボットが設定されていません",
                "{r} has no converter robot set"
            ))
        })?;
        let setup = IntakeSetup::load(store, auth_id, converter_id)?;
        let end_now = crate::time::now_jst();
        let (start, end) = match robot.action {
            LinkAction::FetchRange => opts.range.or(robot.range).ok_or_else(|| {
                let r = robot.label();
                EngineError::Setup(msg!(
                    "{r} に取得範囲がありません (--from/--to で指定してください)",
                    "{r} has no range to fetch (give one with --from/--to)"
                ))
            })?,
            _ => {
                let s = self.settings();
                let cursor = store.cursor(robot.id)?.unwrap_or_default();
                let start = match cursor.last_success_end {
                    Some(last) => last - Duration::seconds(s.overlap_secs as i64),
                    None => end_now - Duration::seconds(s.first_lookback_secs as i64),
                };
                (start.min(end_now), end_now)
            }
        };
        if start > end {
            return Err(EngineError::Refused(msg!(
                "取得範囲の開始 {start} が終了 {end} より後です",
                "The range starts ({start}) after it ends ({end})"
            )));
        }
        line.window = Some((start, end));
        let client = self.client(auth_id)?;
        // Only what still has to be shipped: an order futureshop has shipped is not work.
        let mut pager = client.search_orders(&OrderQuery {
            order_date_start: Some(start),
            order_date_end: Some(end),
            shipping_status: Some(ShippingFilter::NotShipped),
            ..OrderQuery::default()
        })?;
        // Details that could not be read on an earlier run first (new failures wait for the
        // next run, not for a second try in this one).
        let mut details = super::details::DetailCount::default();
        self.retry_missing_details(&client, &setup, &mut details)
            .await?;
        loop {
            if self.stop_requested() {
                return Ok(false);
            }
            let Some(page) = pager.next_page().await? else {
                break;
            };
            let newest = page.items.iter().filter_map(|o| o.date).max();
            let Some((orders, missing)) = self
                .with_details(&client, &setup, page.items, &mut details)
                .await
            else {
                return Ok(false);
            };
            ingest_page(
                store,
                &setup,
                &orders,
                &page.unreadable,
                &missing,
                |t, out| {
                    line.success += out.created;
                    line.failure += out.refused;
                    line.skipped += out.skipped;
                    line.pages += 1;
                    let mut c: SyncCursor = t.cursor(robot.id)?.unwrap_or_default();
                    c.high_water = c.high_water.max(newest);
                    c.pages += 1;
                    c.run_seq = Some(line.seq);
                    t.put_cursor(robot.id, &c)?;
                    t.put_run(line)?;
                    Ok(())
                },
            )?;
        }
        line.details = details.requests - details.failed;
        if details.failed > 0 {
            line.errors.push(format!(
                "受注詳細を取得できなかった注文 {} 件: {DETAIL_MISSING}として保留 (次回の取得で再試行)",
                details.failed
            ));
        }
        Ok(true)
    }

    /// ステータス同期: re-reads open instructions by orderNo and updates 入金フラグ and
    /// cancellations.
    async fn status_sync(&self, robot: &LinkageRobot, line: &mut RunLogEntry) -> Result<bool> {
        let store = self.store();
        let auth_id = need_auth(robot)?;
        let client = self.client(auth_id)?;
        let recent = now() - Duration::days(SHIPPED_RECHECK_DAYS);
        let mut targets: Vec<String> = Vec::new();
        // Through the by-status index: the shipped and cancelled history is never read whole.
        for status in Status::ALL
            .into_iter()
            .filter(|s| s.is_open() || *s == Status::Shipped)
        {
            for s in store.summaries(Some(status))? {
                if s.auth_id == auth_id && (s.status.is_open() || s.updated_at > recent) {
                    targets.push(s.order_no);
                }
            }
        }
        if targets.is_empty() {
            return Ok(true);
        }
        let mut pending: HashSet<String> = targets.iter().cloned().collect();
        let actor = robot_actor(robot);
        let mut pager = client.search_orders(&OrderQuery {
            order_nos: targets,
            ..OrderQuery::default()
        })?;
        loop {
            if self.stop_requested() {
                return Ok(false);
            }
            let Some(page) = pager.next_page().await? else {
                break;
            };
            store.write(|t| {
                for o in &page.items {
                    pending.remove(&o.order_no);
                    let Some(id) = t.instruction_id(auth_id, &o.order_no)? else {
                        continue;
                    };
                    let Some(mut i) = t.instruction(id)? else {
                        continue;
                    };
                    let version = i.version;
                    let from = i.status;
                    let seen_before = i.upstream_status.clone();
                    let was_late = i.cancelled_after_shipment;
                    i.upstream_status = o.status.as_ref().map(|s| s.as_str().to_string());
                    let at = now();
                    let changed = reconcile(&mut i, o, at);
                    if changed.notes.is_empty() {
                        if i.upstream_status != seen_before {
                            i.updated_at = at;
                            t.update_instruction(version, i)?;
                        }
                        continue;
                    }
                    if i.cancelled_after_shipment && !was_late {
                        let (no, st) = (i.order_no.clone(), i.status);
                        t.alert(crate::notify::Alert::new(
                            crate::notify::AlertKind::LateCancel,
                            format!("出荷後キャンセル 受注 {no} ({st}): futureshop でキャンセルされました — 荷物を止め、shukka で A (記録)"),
                            format!("Cancelled after shipment, order {no} ({st}): stop the parcel, then press A in shukka to record what was done"),
                            vec![no],
                        ))?;
                    }
                    i.updated_at = at;
                    i.updated_by = actor.to_string();
                    let to = i.status;
                    let stored = t.update_instruction(version, i)?;
                    t.audit(audit_entry(
                        &actor,
                        instruction_target(&stored),
                        if changed.shipped_outside {
                            "ステータス同期 (shukka 以外で出荷)"
                        } else {
                            "ステータス同期"
                        },
                        Some(from),
                        Some(to),
                        changed.notes.join(" / "),
                    ))?;
                }
                line.success += page.items.len() as u64;
                line.pages += 1;
                t.put_run(line)?;
                Ok::<(), crate::store::StoreError>(())
            })?;
        }
        if !pending.is_empty() {
            line.failure += pending.len() as u64;
            let mut sample: Vec<&String> = pending.iter().collect();
            sample.sort();
            line.errors.push(format!(
                "futureshop に見つからない受注 {} 件: {}",
                pending.len(),
                sample
                    .iter()
                    .take(5)
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(true)
    }

    /// 出荷実績連携: tracking numbers of 出荷済み instructions to the 発送API.
    async fn tracking_upload(&self, robot: &LinkageRobot, line: &mut RunLogEntry) -> Result<bool> {
        let store = self.store();
        let auth_id = need_auth(robot)?;
        let client = self.client(auth_id)?;
        let due = |store: &crate::store::Store| -> Result<Vec<Instruction>> {
            Ok(store
                .instructions_in(Status::Shipped)?
                .into_iter()
                .filter(|i| i.auth_id == auth_id && i.upstream.needs_sending())
                .collect())
        };
        let targets = due(store)?;
        if targets.is_empty() {
            return Ok(true);
        }
        // Just before sending: what futureshop reports shipped already (by the shop's admin
        // screen, by an earlier upload whose answer was lost) is never sent again.
        self.skip_shipped_upstream(&client, robot, &targets).await?;
        let targets = due(store)?;
        if targets.is_empty() {
            return Ok(true);
        }
        let mut updates = Vec::new();
        for i in &targets {
            let Some(tracking) = &i.tracking else {
                continue;
            };
            for d in i.destinations.iter().filter(|d| !d.upstream_accepted) {
                updates.push(ShippingUpdate {
                    order_no: i.order_no.clone(),
                    shipment_no: d.shipment_no,
                    invoice_no: d.tracking_no.clone().unwrap_or_default(),
                    shipping_date: Some(tracking.ship_date),
                    expected_arrival: tracking.expected_arrival,
                });
            }
        }
        let results = client.update_shipping(&updates).await;
        let by_key: HashMap<String, crate::futureshop::ItemResult> =
            results.into_iter().map(|r| (r.key.clone(), r)).collect();
        let actor = robot_actor(robot);
        let at = now();
        let mut codes: BTreeMap<String, u64> = BTreeMap::new();
        store.write(|t| {
            for target in &targets {
                let Some(mut i) = t.instruction(target.id)? else {
                    continue;
                };
                if i.status != Status::Shipped || !i.upstream.needs_sending() {
                    continue;
                }
                let version = i.version;
                let mut refused: Option<(String, String)> = None;
                let mut failed: Option<String> = None;
                for d in i.destinations.iter_mut().filter(|d| !d.upstream_accepted) {
                    let key = format!("{}/{}", i.order_no, d.shipment_no);
                    match by_key.get(&key) {
                        Some(r) if r.accepted => d.upstream_accepted = true,
                        Some(r) if r.answered => {
                            refused = Some((
                                r.code.clone().unwrap_or_default(),
                                r.message.clone().unwrap_or_default(),
                            ));
                        }
                        Some(r) => {
                            failed = Some(
                                r.message
                                    .clone()
                                    .unwrap_or_else(|| "送信できませんでした".into()),
                            )
                        }
                        None => {}
                    }
                }
                let (upstream, what) = if let Some((code, message)) = refused {
                    *codes.entry(code.clone()).or_default() += 1;
                    line.failure += 1;
                    (
                        Upstream::Refused {
                            code: code.clone(),
                            message: message.clone(),
                            at,
                        },
                        format!("実績連携エラー: {code} {message}"),
                    )
                } else if let Some(message) = failed {
                    let attempts = match &i.upstream {
                        Upstream::Failed { attempts, .. } => attempts + 1,
                        _ => 1,
                    };
                    line.failure += 1;
                    *codes.entry("送信失敗".into()).or_default() += 1;
                    (
                        Upstream::Failed {
                            message: message.clone(),
                            attempts,
                            at,
                        },
                        format!("送信失敗 (次回再送): {message}"),
                    )
                } else {
                    line.success += 1;
                    (
                        Upstream::Accepted { at },
                        "futureshop が出荷実績を受け付けました".to_string(),
                    )
                };
                if matches!(upstream, Upstream::Refused { .. }) {
                    let no = i.order_no.clone();
                    t.alert(crate::notify::Alert::new(
                        crate::notify::AlertKind::UploadError,
                        format!("実績連携エラー 受注 {no}: {what} — futureshop の受注を確認し、「出荷指示 → 実績連携エラー」で R (再送)"),
                        format!("Shipping result refused, order {no}: {what} — check the order in futureshop, then R on 出荷指示 → 実績連携エラー"),
                        vec![no],
                    ))?;
                }
                i.upstream = upstream;
                i.updated_at = at;
                i.updated_by = actor.to_string();
                let stored = t.update_instruction(version, i)?;
                t.audit(audit_entry(
                    &actor,
                    instruction_target(&stored),
                    "出荷実績連携",
                    None,
                    None,
                    what,
                ))?;
            }
            line.pages = 1;
            t.put_run(line)?;
            Ok::<(), crate::store::StoreError>(())
        })?;
        for (code, n) in codes {
            line.errors.push(format!("{code}: {n} 件"));
        }
        Ok(true)
    }

    /// Reads the current shipped state of `targets` from futureshop and marks the shipments it
    /// already reports shipped, so that they are not sent.
    async fn skip_shipped_upstream(
        &self,
        client: &crate::futureshop::Client,
        robot: &LinkageRobot,
        targets: &[Instruction],
    ) -> Result<()> {
        let store = self.store();
        let actor = robot_actor(robot);
        let mut pager = client.search_orders(&OrderQuery {
            order_nos: targets.iter().map(|i| i.order_no.clone()).collect(),
            ..OrderQuery::default()
        })?;
        let auth_id = need_auth(robot)?;
        while let Some(page) = pager.next_page().await? {
            store.write(|t| {
                for o in &page.items {
                    let Some(id) = t.instruction_id(auth_id, &o.order_no)? else {
                        continue;
                    };
                    let Some(mut i) = t.instruction(id)? else {
                        continue;
                    };
                    if i.status != Status::Shipped || !i.upstream.needs_sending() {
                        continue;
                    }
                    let version = i.version;
                    let at = now();
                    let changed = reconcile_shipping(&mut i, o, at);
                    if changed.notes.is_empty() {
                        continue;
                    }
                    i.updated_at = at;
                    i.updated_by = actor.to_string();
                    let stored = t.update_instruction(version, i)?;
                    t.audit(audit_entry(
                        &actor,
                        instruction_target(&stored),
                        "出荷実績連携",
                        None,
                        None,
                        changed.notes.join(" / "),
                    ))?;
                }
                Ok::<(), crate::store::StoreError>(())
            })?;
        }
        Ok(())
    }

    /// 在庫連携: the product master's stock counts to futureshop.
    async fn inventory_sync(&self, robot: &LinkageRobot, line: &mut RunLogEntry) -> Result<bool> {
        let store = self.store();
        let auth_id = need_auth(robot)?;
        let client = self.client(auth_id)?;
        let products = store.products()?;
        let (linked, unlinked): (Vec<_>, Vec<_>) =
            products.into_iter().partition(|p| p.product_no.is_some());
        if !unlinked.is_empty() {
            line.errors.push(format!(
                "futureshop の商品番号が分からない品番 {} 件は送信しません (商品マスタ取得で紐づけてください)",
                unlinked.len()
            ));
        }
        let updates: Vec<InventoryUpdate> = linked
            .iter()
            .map(|p| InventoryUpdate {
                product_no: p.product_no.clone().unwrap_or_default(),
                vertical_no: p.vertical_no.clone(),
                horizontal_no: p.horizontal_no.clone(),
                count: StockCount::Set(p.stock.max(0)),
            })
            .collect();
        let results = client.update_inventory(&updates).await;
        let mut codes: BTreeMap<String, u64> = BTreeMap::new();
        for r in &results {
            if r.accepted {
                line.success += 1;
            } else {
                line.failure += 1;
                *codes
                    .entry(r.code.clone().unwrap_or_else(|| "送信失敗".into()))
                    .or_default() += 1;
            }
        }
        for (code, n) in codes {
            line.errors.push(format!("{code}: {n} 件"));
        }
        line.pages = updates
            .len()
            .div_ceil(crate::futureshop::client::BATCH_LIMIT) as u64;
        Ok(true)
    }

    /// 商品マスタ取得: fills the product master from the inventory search.
    async fn product_master_fetch(
        &self,
        robot: &LinkageRobot,
        line: &mut RunLogEntry,
    ) -> Result<bool> {
        let store = self.store();
        let auth_id = need_auth(robot)?;
        let client = self.client(auth_id)?;
        let mut pager = client.search_inventory(&[])?;
        loop {
            if self.stop_requested() {
                return Ok(false);
            }
            let Some(page) = pager.next_page().await? else {
                break;
            };
            store.write(|t| {
                for p in &page.items {
                    for s in &p.skus {
                        if s.sku_no.is_empty() {
                            continue;
                        }
                        t.put_product(&ProductMaster {
                            sku_no: s.sku_no.clone(),
                            name: p.name.clone(),
                            stock: s.count,
                            product_no: Some(p.product_no.clone()),
                            vertical_no: s.vertical_no.clone(),
                            horizontal_no: s.horizontal_no.clone(),
                            source: "futureshop".into(),
                        })?;
                        line.success += 1;
                    }
                }
                line.failure += page.unreadable.len() as u64;
                line.pages += 1;
                t.put_run(line)?;
                Ok::<(), crate::store::StoreError>(())
            })?;
        }
        Ok(true)
    }

    /// 出荷指示 処理ロボット適用: one processing robot on the instructions of one status.
    fn run_apply_processing(&self, robot: &LinkageRobot, line: &mut RunLogEntry) -> Result<bool> {
        let store = self.store();
        let pid = robot.processing_robot_id.ok_or_else(|| {
            let r = robot.label();
            EngineError::Setup(msg!(
                "{r} に処理ロボットが設定されていません",
                "{r} has no processing robot set"
            ))
        })?;
        let status = robot.target_status.ok_or_else(|| {
            let r = robot.label();
            EngineError::Setup(msg!(
                "{r} に対象ステータスが設定されていません",
                "{r} has no target status set"
            ))
        })?;
        let p = store
            .processing_robot(pid)?
            .ok_or_else(|| EngineError::Setup(no_such("処理ロボット", "processing robot", pid)))?;
        if !p.enabled {
            let r = p.label();
            return Err(EngineError::Setup(msg!(
                "処理ロボット {r} が有効ではありません",
                "Processing robot {r} is not enabled"
            )));
        }
        if p.applied_to.is_empty() {
            let r = p.label();
            return Err(EngineError::Setup(msg!(
                "処理ロボット {r} はどの変換ロボットにも適用されていません",
                "Processing robot {r} is not applied to any converter"
            )));
        }
        let no_prepayment = store.no_prepayment()?;
        let actor = Actor::Robot {
            id: p.id,
            name: p.name.clone(),
        };
        let ids = store.ids_in(status)?;
        for chunk in ids.chunks(500) {
            store.write(|t| {
                for id in chunk {
                    let Some(i) = t.instruction(*id)? else {
                        continue;
                    };
                    if i.status != status || !p.active_for(i.converter_id) {
                        continue;
                    }
                    let version = i.version;
                    let before = i.clone();
                    let looked_up = super::pipeline::Lookups::read(t, &i, [&p])?;
                    let mut w = processing::Working::new(i);
                    let decision = {
                        let known = |sku: &str| looked_up.known_sku(sku);
                        let ship_from = |id: u64| looked_up.ship_from(id);
                        let env = Env {
                            phase: Phase::Apply,
                            now: now(),
                            known_sku: &known,
                            ship_from_exists: &ship_from,
                            already_exists: true,
                            upstream_paid: w.instr.payment == PaymentFlag::Paid,
                            no_prepayment: &no_prepayment,
                        };
                        processing::run_one(&p, &mut w, &env)
                    };
                    let Some(decision) = decision else { continue };
                    let mut i = w.instr;
                    processing::settle(&mut i);
                    i.trace.push(TraceEntry {
                        at: now(),
                        robot_id: p.id,
                        robot_name: p.name.clone(),
                        decision: decision.clone(),
                    });
                    if same_effect(&before, &i) {
                        continue;
                    }
                    i.updated_at = now();
                    i.updated_by = actor.to_string();
                    let (from, to) = (before.status, i.status);
                    let stored = t.update_instruction(version, i)?;
                    t.audit(audit_entry(
                        &actor,
                        instruction_target(&stored),
                        format!(
                            "{} ({})",
                            crate::robots::linkage::LinkAction::ApplyProcessingRobot.name(),
                            robot.name
                        ),
                        Some(from),
                        Some(to),
                        decision,
                    ))?;
                    line.success += 1;
                }
                line.pages += 1;
                t.put_run(line)?;
                Ok::<(), crate::store::StoreError>(())
            })?;
        }
        Ok(true)
    }
}

/// True when nothing an operator would notice changed (the trace aside).
fn same_effect(a: &Instruction, b: &Instruction) -> bool {
    a.status == b.status
        && a.payment == b.payment
        && a.hold_reasons == b.hold_reasons
        && a.ship_from_id == b.ship_from_id
        && a.notes == b.notes
        && a.destinations == b.destinations
}

fn need_auth(robot: &LinkageRobot) -> Result<u64> {
    robot.auth_id.ok_or_else(|| {
        let r = robot.label();
        EngineError::Setup(msg!(
            "{r} に API認証設定がありません",
            "{r} has no API認証設定 (API credentials)"
        ))
    })
}

fn robot_actor(robot: &LinkageRobot) -> Actor {
    Actor::Robot {
        id: robot.id,
        name: robot.name.clone(),
    }
}
