//! `shukka archive run|search|list [MONTH]`: the finished instructions that left the hot store.

use color_eyre::Result;

use super::fail;
use crate::backend::Backend;
use crate::cli::{ArchiveCommand, Format};
use crate::service::Request;
use crate::store::archive::{ArchiveHit, ArchiveReport, Entry, MonthInfo};
use crate::textfmt::{Table, yen};

pub async fn run(b: &Backend, c: ArchiveCommand) -> Result<()> {
    match c {
        ArchiveCommand::Run {
            older_than,
            batch,
            dry_run,
        } => {
            let r: ArchiveReport = b
                .get(Request::ArchiveRun {
                    older_than_days: older_than,
                    batch,
                    dry_run,
                })
                .await
                .map_err(fail)?;
            if dry_run {
                println!(
                    "アーカイブ対象: {} 件 (--dry-run: 何も移していません)",
                    r.moved
                );
            } else {
                println!(
                    "アーカイブへ移動: {} 件 ({} フレーム, 月: {})",
                    r.moved,
                    r.batches,
                    if r.months.is_empty() {
                        "-".to_string()
                    } else {
                        r.months.join(", ")
                    }
                );
            }
            if r.changed > 0 {
                println!(
                    "移動中に変更された {} 件は残しました (次回の実行で移します)",
                    r.changed
                );
            }
            Ok(())
        }
        ArchiveCommand::Search {
            text,
            limit,
            format,
        } => {
            let hits: Vec<ArchiveHit> = b
                .get(Request::ArchiveSearch { text, limit })
                .await
                .map_err(fail)?;
            if format == Format::Json {
                println!("{}", crate::output::json::to_string_pretty(&hits)?);
                return Ok(());
            }
            if hits.is_empty() {
                println!("アーカイブに該当する出荷指示はありません");
                return Ok(());
            }
            // Table cells are sanitized by the table (remote names never reach the terminal raw).
            let mut t = Table::new(&[
                "月",
                "受注コード",
                "注文日時",
                "購入者",
                "配送先",
                "都道府県",
                "金額",
                "ステータス",
            ])
            .align_right(&[6]);
            for h in &hits {
                let s = &h.summary;
                t.row(&[
                    h.month.clone(),
                    s.order_no.clone(),
                    s.order_date
                        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default(),
                    s.buyer.clone(),
                    s.recipient.clone(),
                    super::orders::pref(&s.prefecture),
                    yen(s.amount),
                    s.status.to_string(),
                ]);
            }
            print!("{}", t.render());
            if hits.len() >= limit {
                println!("(最初の {limit} 件: --limit で増やせます)");
            }
            println!("詳細: shukka order 受注コード");
            Ok(())
        }
        ArchiveCommand::List {
            month: Some(month),
            format,
        } => {
            let entries: Vec<Entry> = b.get(Request::ArchiveMonth { month }).await.map_err(fail)?;
            if format == Format::Json {
                println!("{}", crate::output::json::to_string_pretty(&entries)?);
                return Ok(());
            }
            let mut t = Table::new(&["受注コード", "ID", "ステータス"]).align_right(&[1]);
            for e in &entries {
                t.row(&[e.order_no.clone(), e.id.to_string(), e.status.to_string()]);
            }
            print!("{}", t.render());
            println!("{} 件 (詳細: shukka order 受注コード)", entries.len());
            Ok(())
        }
        ArchiveCommand::List {
            month: None,
            format,
        } => {
            let months: Vec<MonthInfo> = b.get(Request::ArchiveMonths).await.map_err(fail)?;
            if format == Format::Json {
                println!("{}", crate::output::json::to_string_pretty(&months)?);
                return Ok(());
            }
            if months.is_empty() {
                println!("アーカイブは空です");
                return Ok(());
            }
            let mut t =
                Table::new(&["月", "出荷指示", "フレーム", "サイズ"]).align_right(&[1, 2, 3]);
            for m in &months {
                t.row(&[
                    m.month.clone(),
                    m.instructions.to_string(),
                    m.frames.to_string(),
                    format!("{:.1} MiB", m.bytes as f64 / 1048576.0),
                ]);
            }
            print!("{}", t.render());
            Ok(())
        }
    }
}
