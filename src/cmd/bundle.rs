//! `shukka bundle list|show|merge|split|undo`: 同梱 groups side by side, and the decisions.

use color_eyre::Result;

use super::fail;
use crate::backend::Backend;
use crate::cli::{BundleCommand, Format};
use crate::domain::BundleDecision;
use crate::engine::bundle::BundleView;
use crate::sanitize::sanitize;
use crate::service::Request;

pub async fn run(b: &Backend, c: BundleCommand) -> Result<()> {
    let decide = |id, decision| Request::DecideBundle { id, decision };
    match c {
        BundleCommand::List { all, format } => {
            let groups: Vec<BundleView> = b.get(Request::Bundles { all }).await.map_err(fail)?;
            if format == Format::Json {
                println!("{}", crate::output::json::to_string_pretty(&groups)?);
                return Ok(());
            }
            if groups.is_empty() {
                println!(
                    "{}",
                    if all {
                        "同梱グループはありません"
                    } else {
                        "決定待ち・発行待ちの同梱グループはありません (--all で決定済みも表示)"
                    }
                );
            }
            for g in &groups {
                print_group(g);
            }
            Ok(())
        }
        BundleCommand::Show { id } => {
            let g: BundleView = b.get(Request::Bundle { id }).await.map_err(fail)?;
            print_group(&g);
            Ok(())
        }
        BundleCommand::Merge { id } => said(b, decide(id, BundleDecision::Merge)).await,
        BundleCommand::Split { id } => said(b, decide(id, BundleDecision::Split)).await,
        BundleCommand::Undo { id } => said(b, decide(id, BundleDecision::Undo)).await,
    }
}

async fn said(b: &Backend, req: Request) -> Result<()> {
    let g: BundleView = b.get(req).await.map_err(fail)?;
    print_group(&g);
    Ok(())
}

/// A group as a table: one column per order, one line per field, so differences show.
fn print_group(g: &BundleView) {
    let b = &g.bundle;
    println!(
        "G{} {} — {} (更新 {} {})",
        b.id,
        b.state,
        sanitize(&b.basis),
        b.updated_at.format("%m/%d %H:%M"),
        sanitize(&b.updated_by)
    );
    if !b.note.is_empty() {
        println!("  {}", sanitize(&b.note));
    }
    let rows: Vec<(&str, Vec<String>)> = vec![
        (
            "受注",
            g.members.iter().map(|m| m.order_no.clone()).collect(),
        ),
        (
            "注文日時",
            g.members
                .iter()
                .map(|m| {
                    m.order_date
                        .map(|d| d.format("%m/%d %H:%M").to_string())
                        .unwrap_or_default()
                })
                .collect(),
        ),
        (
            "状態",
            g.members.iter().map(|m| m.status.to_string()).collect(),
        ),
        (
            "注文者",
            g.members.iter().map(|m| m.buyer.clone()).collect(),
        ),
        (
            "メール",
            g.members.iter().map(|m| m.buyer_mail.clone()).collect(),
        ),
        (
            "配送先",
            g.members.iter().map(|m| m.recipient.clone()).collect(),
        ),
        (
            "郵便番号",
            g.members.iter().map(|m| m.postal.clone()).collect(),
        ),
        (
            "住所",
            g.members.iter().map(|m| m.address.clone()).collect(),
        ),
        ("電話", g.members.iter().map(|m| m.phone.clone()).collect()),
        (
            "配送方法",
            g.members.iter().map(|m| m.delivery.clone()).collect(),
        ),
        (
            "日時指定",
            g.members.iter().map(|m| m.wish.clone()).collect(),
        ),
        (
            "支払",
            g.members
                .iter()
                .map(|m| format!("{} {}", m.payment_type, m.payment))
                .collect(),
        ),
        ("のし", g.members.iter().map(|m| m.gift.clone()).collect()),
        (
            "商品",
            g.members.iter().map(|m| m.items.join(", ")).collect(),
        ),
        (
            "金額",
            g.members
                .iter()
                .map(|m| format!("{}円", m.amount))
                .collect(),
        ),
        ("備考", g.members.iter().map(|m| m.notes.clone()).collect()),
    ];
    for (label, cells) in rows {
        let cells: Vec<String> = cells.iter().map(|c| sanitize(c).into_owned()).collect();
        println!("  {label:<8} {}", cells.join(" │ "));
    }
    println!();
}
