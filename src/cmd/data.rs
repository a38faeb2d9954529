//! `shukka products …`, `shukka backup`, `shukka restore`.

use std::path::Path;

use color_eyre::eyre::{Result, eyre};

use super::fail;
use crate::backend::Backend;
use crate::cli::Format;
use crate::domain::ProductMaster;
use crate::service::Request;
use crate::textfmt::Table;

/// Reads a product CSV: a header row naming 品番 (or sku_no / sku), and optionally 商品名
/// (name) and 在庫 (stock).
pub fn read_products_csv(path: &Path) -> Result<Vec<ProductMaster>> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| eyre!("cannot read {}: {e}", path.display()))?;
    let headers: Vec<String> = r
        .headers()?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let col = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let sku = col(&["品番", "sku_no", "sku", "skuNo"]).ok_or_else(|| {
        eyre!(
            "{}: no 品番 (sku_no) column in the header {:?}",
            path.display(),
            headers
        )
    })?;
    let name = col(&["商品名", "name"]);
    let stock = col(&["在庫", "在庫数", "stock", "count"]);
    let mut out = Vec::new();
    for (n, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| eyre!("{} line {}: {e}", path.display(), n + 2))?;
        let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).map(str::trim).unwrap_or("");
        let sku_no = get(Some(sku));
        if sku_no.is_empty() {
            continue;
        }
        if sku_no.chars().any(char::is_control) {
            return Err(eyre!(
                "{} line {}: 品番 contains control characters",
                path.display(),
                n + 2
            ));
        }
        let stock_text = get(stock);
        let stock_n = if stock_text.is_empty() {
            0
        } else {
            stock_text.replace(',', "").parse().map_err(|_| {
                eyre!(
                    "{} line {}: 在庫 {stock_text:?} is not a number",
                    path.display(),
                    n + 2
                )
            })?
        };
        out.push(ProductMaster {
            sku_no: sku_no.to_string(),
            name: get(name).to_string(),
            stock: stock_n,
            product_no: None,
            vertical_no: String::new(),
            horizontal_no: String::new(),
            source: "csv".into(),
        });
    }
    Ok(out)
}

pub async fn import(b: &Backend, path: &Path) -> Result<()> {
    let products = read_products_csv(path)?;
    let n: usize = b
        .get(Request::PutProducts { products })
        .await
        .map_err(fail)?;
    println!("商品マスタに {n} 件を登録しました");
    Ok(())
}

pub async fn list(b: &Backend, format: Format) -> Result<()> {
    let products: Vec<ProductMaster> = b.get(Request::Products).await.map_err(fail)?;
    if format == Format::Json {
        println!("{}", crate::output::json::to_string_pretty(&products)?);
        return Ok(());
    }
    let mut t =
        Table::new(&["品番", "商品名", "在庫", "futureshop 商品番号", "登録元"]).align_right(&[2]);
    for p in &products {
        t.row(&[
            p.sku_no.clone(),
            p.name.clone(),
            p.stock.to_string(),
            p.product_no.clone().unwrap_or_default(),
            p.source.clone(),
        ]);
    }
    print!("{}", t.render());
    println!("{} 件", products.len());
    Ok(())
}

/// `shukka backup FILE`: the server (or this process, without one) sends the backup as data;
/// this process writes FILE as the operator's own user — never through a symlink, never over a
/// file without `--force`, never inside the data directory.
pub async fn backup(
    b: &Backend,
    data_dir: &Path,
    file: &Path,
    include_secrets: bool,
    force: bool,
) -> Result<()> {
    use std::io::Write;
    crate::output::file::refuse_inside(file, data_dir)?;
    let mut out = crate::output::file::NewFile::create(file, force)?;
    let summary = b
        .backup(include_secrets, |piece| out.write_all(piece.as_bytes()))
        .await
        .map_err(fail)?;
    out.commit()?;
    println!(
        "{} に {} 件を書き出しました{}",
        file.display(),
        summary.records,
        if include_secrets {
            " (シークレットを含む: 取り扱いに注意してください)"
        } else {
            " (シークレットは含みません)"
        }
    );
    Ok(())
}

/// `shukka restore FILE`: this process reads FILE (as the operator's own user) and sends it to
/// the server, or restores it itself when no server runs.
pub async fn restore(b: &Backend, file: &Path, force: bool) -> Result<()> {
    use std::io::BufRead;
    let f = std::fs::File::open(file).map_err(|e| eyre!("cannot open {}: {e}", file.display()))?;
    let lines = std::io::BufReader::new(f).lines();
    let s = b.restore(force, lines).await.map_err(fail)?;
    println!(
        "{} 件を復元しました (シークレット {} 件)",
        s.records, s.secrets
    );
    if s.secrets == 0 {
        println!(
            "シークレットは含まれていませんでした: API認証設定でシークレットを入力し、接続テストをしてください"
        );
    }
    Ok(())
}

/// `shukka compact`: the store rewritten, with the sizes before and after.
pub fn compact(dir: &std::path::Path) -> Result<()> {
    let t0 = std::time::Instant::now();
    let c = crate::store::compact_store(dir).map_err(|e| match e {
        crate::store::StoreError::Locked(_) => color_eyre::eyre::eyre!(
            "ストアは使用中です: shukka serve などを止めてから compact してください (the store is open: stop shukka serve first)"
        ),
        e => color_eyre::eyre::eyre!(e),
    })?;
    let mib = |b: u64| b as f64 / 1_048_576.0;
    println!(
        "ストアを詰め直しました: {:.1} MiB → {:.1} MiB ({} レコード, {:.1} 秒)",
        mib(c.before),
        mib(c.after),
        c.records,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
