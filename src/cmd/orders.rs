//! `shukka orders|order|hold|release|start|ship|cancel|errors|retry`.

use std::io::Write;

use color_eyre::eyre::{Result, eyre};

use super::{fail, parse_date};
use crate::backend::Backend;
use crate::cli::{DataFormat, Format};
use crate::domain::*;
use crate::futureshop::prefecture::prefecture_ja;
use crate::sanitize::{sanitize, sanitize_multiline};
use crate::service::{InstructionDetail, Request};
use crate::textfmt::{Table, yen};

pub fn pref(token: &str) -> String {
    prefecture_ja(token)
        .map(str::to_string)
        .unwrap_or_else(|| token.to_string())
}

pub async fn list(
    b: &Backend,
    status: Option<&str>,
    format: DataFormat,
    csv_mode: crate::output::csv::CellMode,
) -> Result<()> {
    let status = match status {
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            eyre!("unknown status {s:?}: use one of 入金確認, 保留, 出荷待ち, 出荷作業中, 出荷済み, キャンセル")
        })?),
        None => None,
    };
    let rows: Vec<InstructionSummary> = b.get(Request::Summaries { status }).await.map_err(fail)?;
    let mut out = std::io::stdout().lock();
    match format {
        DataFormat::Json => writeln!(out, "{}", crate::output::json::to_string_pretty(&rows)?)?,
        DataFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "受注コード",
                "注文日時",
                "注文者",
                "配送先",
                "配送先都道府県",
                "点数",
                "金額",
                "支払方法",
                "入金フラグ",
                "ステータス",
                "保留理由",
            ])?;
            for r in &rows {
                let cells = [
                    sanitize(&r.order_no).into_owned(),
                    r.order_date
                        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_default(),
                    sanitize(&r.buyer).into_owned(),
                    sanitize(&r.recipient).into_owned(),
                    pref(&r.prefecture),
                    r.items.to_string(),
                    r.amount.to_string(),
                    sanitize(&r.payment_type).into_owned(),
                    r.payment.name().to_string(),
                    r.status.name().to_string(),
                    sanitize(&r.hold_reasons.join(" / ")).into_owned(),
                ];
                w.write_record(
                    cells
                        .iter()
                        .map(|c| crate::output::csv::cell(c, csv_mode).into_owned()),
                )?;
            }
            w.flush()?;
        }
        DataFormat::Table => {
            let mut t = Table::new(&[
                "受注コード",
                "注文日時",
                "配送先",
                "配送先都道府県",
                "点数",
                "金額",
                "支払方法",
                "入金",
                "ステータス",
                "保留理由",
            ])
            .align_right(&[4, 5]);
            for r in &rows {
                t.row(&[
                    r.order_no.clone(),
                    r.order_date
                        .map(|d| d.format("%m/%d %H:%M").to_string())
                        .unwrap_or_default(),
                    r.recipient.clone(),
                    pref(&r.prefecture),
                    r.items.to_string(),
                    yen(r.amount),
                    payment_label(&r.payment_type),
                    r.payment.name().to_string(),
                    status_label(r),
                    r.hold_reasons.join(" / "),
                ]);
            }
            write!(out, "{}", t.render())?;
            writeln!(out, "{} 件", rows.len())?;
        }
    }
    Ok(())
}

pub fn payment_label(token: &str) -> String {
    crate::futureshop::PaymentType::parse(token)
        .label_ja()
        .to_string()
}

fn status_label(r: &InstructionSummary) -> String {
    let mut s = r.status.name().to_string();
    if r.upstream_error {
        s.push_str(" (実績連携エラー)");
    }
    if r.cancelled_after_shipment {
        s.push_str(" (出荷後キャンセル)");
    }
    if r.shipped_outside {
        s.push_str(" (futureshop で出荷)");
    }
    s
}

pub async fn show(b: &Backend, order_no: &str, format: Format) -> Result<()> {
    let d: InstructionDetail = b
        .get(Request::FindOrder {
            order_no: order_no.into(),
        })
        .await
        .map_err(fail)?;
    let mut out = std::io::stdout().lock();
    if format == Format::Json {
        writeln!(out, "{}", crate::output::json::to_string_pretty(&d)?)?;
        return Ok(());
    }
    let i = &d.instruction;
    let s = |v: &str| sanitize(v).into_owned();
    writeln!(
        out,
        "出荷指示 ID:{}  受注コード {}  (version {})",
        i.id,
        s(&i.order_no),
        i.version
    )?;
    if let Some(month) = &d.archived {
        writeln!(
            out,
            "アーカイブ   {} (DATA/archive/{}.arc: 閲覧のみ、変更はできません)",
            s(month),
            s(month)
        )?;
    }
    writeln!(
        out,
        "ステータス   {}{}",
        i.status,
        if i.cancelled_after_shipment {
            "  ⚠ 出荷後キャンセル"
        } else {
            ""
        }
    )?;
    if !i.hold_reasons.is_empty() {
        writeln!(
            out,
            "保留理由     {}",
            s(&i.hold_reasons
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(" / "))
        )?;
    }
    writeln!(out, "入金フラグ   {}", i.payment)?;
    writeln!(
        out,
        "支払方法     {}",
        s(&payment_label(i.payment_type.as_deref().unwrap_or("")))
    )?;
    writeln!(
        out,
        "注文日時     {}",
        i.order_date.map(|d| d.to_string()).unwrap_or_default()
    )?;
    writeln!(
        out,
        "注文者       {}  {}",
        s(&i.buyer.name),
        s(&i.buyer_mail)
    )?;
    writeln!(
        out,
        "金額         合計 {}  (商品 {} 送料 {} 手数料 {} ポイント -{})",
        yen(i.amounts.grand_total),
        yen(i.amounts.product_total),
        yen(i.amounts.postage),
        yen(i.amounts.payment_charge_total),
        yen(i.amounts.used_point_price)
    )?;
    let multiline = |label: &str, text: &str| {
        format!(
            "{label}{}",
            sanitize_multiline(text).replace('\n', "\n             ")
        )
    };
    if let Some(n) = &i.notes {
        writeln!(out, "{}", multiline("備考         ", n))?;
    }
    if let Some(n) = &i.shop_memo {
        writeln!(out, "{}", multiline("ショップメモ ", n))?;
    }
    if let DetailState::Missing { attempts, error } = &i.detail {
        writeln!(
            out,
            "{DETAIL_MISSING}   受注詳細を {attempts} 回取得できませんでした ({}): 備考・配送指示・のしは未確認",
            s(error)
        )?;
    }
    for dest in &i.destinations {
        let a = &dest.address;
        writeln!(
            out,
            "\n配送先 {}: {}  {} {} {}  {}",
            dest.shipment_no,
            s(&a.name),
            crate::normalize::postal_display(&s(&a.postal_code)),
            pref(&a.prefecture),
            s(&a.address),
            s(&a.phone)
        )?;
        if let Some(t) = &dest.instructions {
            writeln!(out, "  {}", multiline("配送指示 ", t))?;
        }
        if let Some(g) = &dest.gift_label {
            writeln!(
                out,
                "  のし・ラッピング {}  ({})",
                s(g),
                yen(dest.gift_charge)
            )?;
        }
        if let Some(u) = &dest.shipped_in_futureshop {
            writeln!(
                out,
                "  futureshop で出荷済み (shukka 以外で出荷){}{}",
                u.shipping_date
                    .map(|d| format!("  出荷日 {d}"))
                    .unwrap_or_default(),
                if u.invoice_no.is_empty() {
                    String::new()
                } else {
                    format!("  送り状番号 {}", s(&u.invoice_no))
                }
            )?;
        }
        writeln!(
            out,
            "  配送方法 {}{}{}",
            s(&dest.delivery_method),
            dest.requested_date
                .map(|d| format!("  希望日 {d}"))
                .unwrap_or_default(),
            dest.requested_time
                .as_ref()
                .map(|t| format!("  時間帯 {}", s(t)))
                .unwrap_or_default()
        )?;
        if let Some(t) = &dest.tracking_no {
            writeln!(
                out,
                "  送り状番号 {}{}",
                s(t),
                if dest.upstream_accepted {
                    "  (futureshop 連携済み)"
                } else {
                    ""
                }
            )?;
        }
        for it in &dest.items {
            writeln!(
                out,
                "  {}  {}  x{}  {}{}",
                s(&it.sku_no),
                s(&it.name),
                it.count,
                yen(it.price),
                if it.jan_code.is_empty() {
                    String::new()
                } else {
                    format!("  JAN {}", s(&it.jan_code))
                }
            )?;
            for o in &it.options {
                writeln!(out, "      {}", s(&o.to_string()))?;
            }
        }
    }
    match &i.upstream {
        Upstream::Refused { code, message, .. } => {
            writeln!(out, "\n実績連携エラー: {} {}", s(code), s(message))?
        }
        Upstream::Failed {
            message, attempts, ..
        } => writeln!(out, "\n実績連携: 送信失敗 {attempts} 回 ({})", s(message))?,
        Upstream::Accepted { at } => writeln!(
            out,
            "\n実績連携: 連携済み ({})",
            at.format("%Y-%m-%d %H:%M")
        )?,
        Upstream::Pending => writeln!(out, "\n実績連携: 次回の出荷実績連携で送信")?,
        Upstream::External { at } => writeln!(
            out,
            "\n実績連携: 送信しません (futureshop で出荷済み、{} に確認)",
            at.format("%Y-%m-%d %H:%M")
        )?,
        Upstream::Idle => {}
    }
    writeln!(out, "\nルール履歴 (処理ロボットの判断, 順に):")?;
    if i.trace.is_empty() {
        writeln!(out, "  (なし)")?;
    }
    for (n, e) in i.trace.iter().enumerate() {
        writeln!(
            out,
            "  {}. ID:{} {} — {}",
            n + 1,
            e.robot_id,
            s(&e.robot_name),
            s(&e.decision)
        )?;
    }
    writeln!(out, "\n履歴:")?;
    for h in &d.history {
        let moved = match (h.from, h.to) {
            (Some(a), Some(b)) if a != b => format!(" {a} → {b}"),
            (None, Some(b)) => format!(" → {b}"),
            _ => String::new(),
        };
        writeln!(
            out,
            "  {}  {}  {}{}  {}",
            h.at.format("%Y-%m-%d %H:%M:%S"),
            s(&h.actor.to_string()),
            s(&h.action),
            moved,
            s(&h.reason)
        )?;
    }
    Ok(())
}

async fn resolve(b: &Backend, order_no: &str) -> Result<Instruction> {
    let d: InstructionDetail = b
        .get(Request::FindOrder {
            order_no: order_no.into(),
        })
        .await
        .map_err(fail)?;
    if let Some(month) = &d.archived {
        return Err(eyre!(
            "受注 {} はアーカイブ済みです ({}): 変更はできません (shukka order {} で表示)",
            sanitize(order_no),
            sanitize(month),
            sanitize(order_no)
        ));
    }
    Ok(d.instruction)
}

fn done(i: &Instruction, what: &str) {
    println!("{} {}: {}", sanitize(&i.order_no), what, i.status);
}

pub async fn hold(b: &Backend, order_no: &str, reason: &str) -> Result<()> {
    let i = resolve(b, order_no).await?;
    let i: Instruction = b
        .get(Request::Hold {
            id: i.id,
            version: Some(i.version),
            reason: reason.into(),
        })
        .await
        .map_err(fail)?;
    done(&i, "を保留にしました");
    Ok(())
}

pub async fn ack_cancel(b: &Backend, a: &crate::cli::AckCancelArgs) -> Result<()> {
    let action = LateCancelAction::parse(&a.action).ok_or_else(|| {
        eyre!(
            "--action {:?}: one of stopped (倉庫で止めた), return (運送会社に返送依頼), shipped (出荷済みのまま)",
            a.action
        )
    })?;
    let i = resolve(b, &a.order_no).await?;
    let i: Instruction = b
        .get(Request::AcknowledgeLateCancel {
            id: i.id,
            version: Some(i.version),
            action,
            note: a.note.clone(),
        })
        .await
        .map_err(fail)?;
    done(
        &i,
        &format!("の出荷後キャンセルを確認しました ({})", action.name()),
    );
    Ok(())
}

pub async fn release(b: &Backend, order_no: &str) -> Result<()> {
    let i = resolve(b, order_no).await?;
    let i: Instruction = b
        .get(Request::Release {
            id: i.id,
            version: Some(i.version),
        })
        .await
        .map_err(fail)?;
    done(&i, "の保留を解除しました");
    Ok(())
}

pub async fn start(b: &Backend, order_no: &str) -> Result<()> {
    let i = resolve(b, order_no).await?;
    let i: Instruction = b
        .get(Request::StartWork {
            id: i.id,
            version: Some(i.version),
        })
        .await
        .map_err(fail)?;
    done(&i, "の出荷作業を開始しました");
    Ok(())
}

pub async fn ship(b: &Backend, a: &crate::cli::ShipArgs) -> Result<()> {
    let i = resolve(b, &a.order_no).await?;
    let ship = crate::engine::ShipRequest {
        tracking: a
            .tracking
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        carrier: a.carrier.clone(),
        ship_date: a
            .date
            .as_deref()
            .map(|d| parse_date(d, "--date"))
            .transpose()?,
        expected_arrival: a
            .arrival
            .as_deref()
            .map(|d| parse_date(d, "--arrival"))
            .transpose()?,
    };
    let i: Instruction = b
        .get(Request::Ship {
            id: i.id,
            version: Some(i.version),
            ship,
        })
        .await
        .map_err(fail)?;
    done(
        &i,
        "を出荷済みにしました (次回の出荷実績連携で futureshop に送信)",
    );
    Ok(())
}

pub async fn cancel(b: &Backend, order_no: &str, reason: &str) -> Result<()> {
    let i = resolve(b, order_no).await?;
    let i: Instruction = b
        .get(Request::Cancel {
            id: i.id,
            version: Some(i.version),
            reason: reason.into(),
        })
        .await
        .map_err(fail)?;
    done(&i, "をキャンセルしました");
    Ok(())
}

/// One row of `shukka errors`.
#[derive(serde::Serialize)]
struct ErrorRow {
    kind: &'static str,
    id: u64,
    order_no: String,
    reason: String,
    when: String,
    attempts: u32,
}

pub async fn errors(b: &Backend, format: Format) -> Result<()> {
    let intake: Vec<IntakeErrorSummary> = b.get(Request::IntakeErrors).await.map_err(fail)?;
    let mut rows: Vec<ErrorRow> = intake
        .iter()
        .map(|e| ErrorRow {
            kind: "取込エラー",
            id: e.id,
            order_no: e.order_no.clone(),
            reason: e.reason.clone(),
            when: e.last_seen.format("%Y-%m-%d %H:%M").to_string(),
            attempts: e.attempts,
        })
        .collect();
    let shipped: Vec<InstructionSummary> = b
        .get(Request::Summaries {
            status: Some(Status::Shipped),
        })
        .await
        .map_err(fail)?;
    // 出荷後キャンセル not acknowledged yet: the parcel may be on its way.
    let working: Vec<InstructionSummary> = b
        .get(Request::Summaries {
            status: Some(Status::InProgress),
        })
        .await
        .map_err(fail)?;
    for s in working
        .iter()
        .chain(shipped.iter())
        .filter(|s| s.late_cancel_open)
    {
        rows.push(ErrorRow {
            kind: "出荷後キャンセル",
            id: s.id,
            order_no: s.order_no.clone(),
            reason: format!(
                "{} のままキャンセルされました: 荷物を止め、`shukka ack-cancel {} --action …` で記録してください",
                s.status, s.order_no
            ),
            when: s.updated_at.format("%Y-%m-%d %H:%M").to_string(),
            attempts: 1,
        });
    }
    for s in shipped.iter().filter(|s| s.upstream_error) {
        let d: InstructionDetail = b
            .get(Request::Instruction { id: s.id })
            .await
            .map_err(fail)?;
        if let Upstream::Refused { code, message, at } = &d.instruction.upstream {
            rows.push(ErrorRow {
                kind: "実績連携エラー",
                id: s.id,
                order_no: s.order_no.clone(),
                reason: format!("{code}: {message}"),
                when: at.format("%Y-%m-%d %H:%M").to_string(),
                attempts: 1,
            });
        }
    }
    if format == Format::Json {
        println!("{}", crate::output::json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut t =
        Table::new(&["種別", "ID", "受注コード", "理由", "日時", "回数"]).align_right(&[1, 5]);
    for r in &rows {
        t.row(&[
            r.kind.to_string(),
            r.id.to_string(),
            r.order_no.clone(),
            r.reason.clone(),
            r.when.clone(),
            r.attempts.to_string(),
        ]);
    }
    print!("{}", t.render());
    println!(
        "{} 件 (取込エラーは原因を直してから `shukka retry ID` で再取込できます)",
        rows.len()
    );
    Ok(())
}

pub async fn retry(b: &Backend, error_id: u64) -> Result<()> {
    let v: crate::service::RetryOutcome = b
        .get(Request::RetryIntake { error_id })
        .await
        .map_err(fail)?;
    if v.created > 0 {
        println!("取り込みました");
    } else if v.skipped > 0 {
        println!("既に出荷指示があるため取込エラーを解消しました");
    } else {
        let e: crate::service::IntakeErrorDetail = b
            .get(Request::IntakeError { id: error_id })
            .await
            .map_err(fail)?;
        return Err(eyre!("まだ取り込めません: {}", sanitize(&e.error.reason)));
    }
    Ok(())
}
