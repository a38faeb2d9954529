//! `shukka fs …`: use the futureshop client by hand.

use std::io::Write;

use chrono::Duration;
use color_eyre::eyre::{Result, eyre};
use serde_json::Value;

use crate::cli::{Format, FsCommand};
use crate::futureshop::prefecture::prefecture_ja;
use crate::futureshop::{Client, FsConfig, Order, OrderQuery};
use crate::sanitize::sanitize;
use crate::textfmt::{Table, yen};
use crate::time::{fmt_fs, now_jst, parse_user_datetime};

pub async fn run(cmd: FsCommand) -> Result<()> {
    let cfg = FsConfig::from_env()?;
    let client = Client::new(cfg)?;
    match cmd {
        FsCommand::Token => token(&client).await,
        FsCommand::Orders(a) => orders(&client, a.from.as_deref(), a.to.as_deref(), a.format).await,
        FsCommand::Order(a) => order(&client, &a.order_no, a.format).await,
        FsCommand::Inventory(a) => inventory(&client, a.format).await,
    }
}

async fn token(client: &Client) -> Result<()> {
    let info = client.test_connection().await?;
    println!(
        "OK: futureshop issued a {} token for shop {}, valid for {} s",
        sanitize(&info.token_type),
        sanitize(&client.config().credentials.shop_key),
        info.expires_in.as_secs()
    );
    Ok(())
}

async fn orders(
    client: &Client,
    from: Option<&str>,
    to: Option<&str>,
    format: Format,
) -> Result<()> {
    let parse = |s: &str| {
        parse_user_datetime(s).ok_or_else(|| {
            eyre!("{s:?} is not a date-time (use 2026-11-01 or 2026-11-01T09:00:00)")
        })
    };
    let end = match to {
        Some(s) => parse(s)?,
        None => now_jst(),
    };
    let start = match from {
        Some(s) => parse(s)?,
        None => end - Duration::days(7),
    };
    if start > end {
        return Err(eyre!(
            "--from ({}) is after --to ({})",
            fmt_fs(start),
            fmt_fs(end)
        ));
    }
    let query = OrderQuery {
        order_date_start: Some(start),
        order_date_end: Some(end),
        ..OrderQuery::default()
    };
    let mut pager = client.search_orders(&query)?;
    let mut orders = Vec::new();
    let mut unreadable = Vec::new();
    while let Some(page) = pager.next_page().await? {
        orders.extend(page.items);
        unreadable.extend(page.unreadable);
    }
    match format {
        Format::Json => {
            let raw: Vec<Value> = orders
                .iter()
                .map(|o| o.raw.to_value())
                .chain(unreadable.iter().map(|u| u.raw.clone()))
                .collect();
            println!("{}", crate::output::json::to_string_pretty(&raw)?);
        }
        Format::Table => {
            let mut t = Table::new(&[
                "受注コード",
                "注文日時",
                "注文者",
                "配送先",
                "配送先都道府県",
                "支払方法",
                "入金",
                "合計",
                "点数",
                "配送",
            ])
            .align_right(&[7, 8]);
            for o in &orders {
                t.row(&order_row(o));
            }
            let mut out = std::io::stdout().lock();
            write!(out, "{}", t.render())?;
            writeln!(
                out,
                "{} orders from {} to {} ({} pages)",
                orders.len(),
                fmt_fs(start),
                fmt_fs(end),
                pager.pages_read()
            )?;
        }
    }
    for u in &unreadable {
        eprintln!(
            "warning: an order could not be read ({}); shown raw in --format json",
            sanitize(&u.reason)
        );
    }
    Ok(())
}

fn order_row(o: &Order) -> Vec<String> {
    let first = o.shipments.first();
    let pref = first
        .map(|s| s.address.prefecture.as_str())
        .unwrap_or(o.buyer.prefecture.as_str());
    let items: i64 = o
        .shipments
        .iter()
        .flat_map(|s| &s.products)
        .map(|p| p.count)
        .sum();
    vec![
        o.order_no.clone(),
        o.date
            .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default(),
        o.buyer.full_name(),
        first.map(|s| s.address.full_name()).unwrap_or_default(),
        prefecture_ja(pref)
            .map(str::to_string)
            .unwrap_or_else(|| pref.to_string()),
        o.payment_type
            .as_ref()
            .map(|p| p.label_ja().to_string())
            .unwrap_or_default(),
        if o.is_cancelled() {
            "取消".into()
        } else if o.is_paid() {
            "入金済".into()
        } else {
            "未入金".into()
        },
        yen(o.amounts.grand_total),
        items.to_string(),
        first
            .and_then(|s| s.delivery_service_name.clone())
            .unwrap_or_default(),
    ]
}

async fn order(client: &Client, no: &str, format: Format) -> Result<()> {
    let o = client.get_order(no).await?;
    if format == Format::Json {
        println!(
            "{}",
            crate::output::json::to_string_pretty(&o.raw.to_value())?
        );
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    let s = |v: &str| sanitize(v).into_owned();
    writeln!(out, "受注コード  {}", s(&o.order_no))?;
    writeln!(
        out,
        "注文日時    {}",
        o.date.map(fmt_fs).unwrap_or_default()
    )?;
    writeln!(
        out,
        "状態        {}",
        o.status.as_ref().map(|v| v.label_ja()).unwrap_or("-")
    )?;
    writeln!(
        out,
        "支払方法    {}  ({})",
        s(o.payment_type.as_ref().map(|p| p.label_ja()).unwrap_or("-")),
        if o.is_paid() {
            "入金済"
        } else {
            "未入金"
        }
    )?;
    writeln!(
        out,
        "注文者      {}  {}",
        s(&o.buyer.full_name()),
        s(&o.buyer.mail)
    )?;
    writeln!(out, "合計        {}", yen(o.amounts.grand_total))?;
    for sh in &o.shipments {
        let a = &sh.address;
        writeln!(out)?;
        writeln!(
            out,
            "配送先 {}: {} {} {} {}",
            sh.shipment_no,
            s(&a.full_name()),
            crate::normalize::postal_display(&s(&a.postal_code)),
            prefecture_ja(&a.prefecture).unwrap_or(&s(&a.prefecture)),
            s(&a.address())
        )?;
        writeln!(
            out,
            "  配送方法 {}  発送 {}",
            s(sh.delivery_service_name.as_deref().unwrap_or("-")),
            if sh.shipped { "済" } else { "未" }
        )?;
        if let Some(t) = sh.instructions.as_deref().filter(|t| !t.is_empty()) {
            writeln!(out, "  配送指示 {}", s(t))?;
        }
        if let Some(g) = sh.gift_wrapping_label.as_deref().filter(|t| !t.is_empty()) {
            writeln!(out, "  のし・ラッピング {}", s(g))?;
        }
        for p in &sh.products {
            writeln!(
                out,
                "  {}  {}  x{}  {}",
                s(&p.sku_no),
                s(&p.name),
                p.count,
                yen(p.price)
            )?;
            for opt in &p.options {
                writeln!(out, "      {}: {}", s(&opt.name), s(&opt.value))?;
            }
        }
    }
    if let Some(c) = o.communication.as_deref().filter(|t| !t.is_empty()) {
        writeln!(out, "\n備考  {}", s(c))?;
    }
    Ok(())
}

async fn inventory(client: &Client, format: Format) -> Result<()> {
    let (products, unreadable) = client.search_inventory(&[])?.collect_all().await?;
    if format == Format::Json {
        let raw: Vec<Value> = products
            .iter()
            .map(|p| p.raw.to_value())
            .chain(unreadable.iter().map(|u| u.raw.clone()))
            .collect();
        println!("{}", crate::output::json::to_string_pretty(&raw)?);
        return Ok(());
    }
    let mut t = Table::new(&["商品番号", "品番 (SKU)", "商品名", "在庫"]).align_right(&[3]);
    let mut skus = 0;
    for p in &products {
        for s in &p.skus {
            t.row(&[
                p.product_no.clone(),
                s.sku_no.clone(),
                p.name.clone(),
                s.count.to_string(),
            ]);
            skus += 1;
        }
    }
    print!("{}", t.render());
    println!("{} products, {} SKUs", products.len(), skus);
    Ok(())
}
