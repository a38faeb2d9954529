//! `shukka labels export|import|profiles`: label files are written and read by this process,
//! as the operator's own user; the server never opens a path a client names.

use std::path::Path;

use color_eyre::eyre::{Result, eyre};

use super::{fail, parse_date};
use crate::backend::Backend;
use crate::cli::{LabelExportArgs, LabelImportArgs, LabelsCommand};
use crate::domain::Status;
use crate::engine::labels::{ExportRequest, ImportRequest};
use crate::labels::{ExportReport, ImportReport, RowOutcome};
use crate::output::label_file::{check_output, default_file, write_label_file};
use crate::sanitize::sanitize;
use crate::service::{ProfileInfo, Request};
use crate::textfmt::Table;

pub async fn run(b: &Backend, data_dir: &Path, labels: &Path, c: LabelsCommand) -> Result<()> {
    match c {
        LabelsCommand::Export(a) => export(b, data_dir, labels, a).await,
        LabelsCommand::Import(a) => import(b, a).await,
        LabelsCommand::Profiles => {
            let list: Vec<ProfileInfo> = b.get(Request::LabelProfiles).await.map_err(fail)?;
            let mut t = Table::new(&["ID", "名前", ""]);
            for p in list {
                t.row(&[
                    p.id,
                    p.name,
                    if p.custom {
                        "独自".into()
                    } else {
                        String::new()
                    },
                ]);
            }
            print!("{}", t.render());
            Ok(())
        }
    }
}

async fn export(b: &Backend, data_dir: &Path, labels: &Path, a: LabelExportArgs) -> Result<()> {
    let status = match &a.status {
        Some(s) => Some(Status::parse(s).ok_or_else(|| eyre!("unknown status {s:?}"))?),
        None => None,
    };
    let ship_date = match &a.ship_date {
        Some(s) => Some(parse_date(s, "--ship-date")?),
        None => None,
    };
    let path = a
        .output
        .clone()
        .unwrap_or_else(|| default_file(labels, &a.carrier, crate::time::now_jst()));
    check_output(&path, data_dir, labels)?;
    // Refused before anything is marked: the file would not be written.
    if !a.force && std::fs::symlink_metadata(&path).is_ok() {
        return Err(eyre!(
            "{} exists: choose another --output, or --force to replace it",
            path.display()
        ));
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (bytes, report) = b
        .export_labels(ExportRequest {
            carrier: a.carrier.clone(),
            status,
            orders: a.orders.clone(),
            ids: Vec::new(),
            again: a.again,
            file_name,
            ship_date,
        })
        .await
        .map_err(fail)?;
    if !report.exported.is_empty() {
        write_label_file(&path, &bytes, a.force).map_err(|e| {
            eyre!(
                "{e:#}\nThe shipments were marked 送り状発行済: export them again with --again once the file can be written"
            )
        })?;
    }
    print!("{}", describe_export(&report, &path));
    Ok(())
}

/// The export report as the CLI prints it (also used in docs and tests).
pub fn describe_export(r: &ExportReport, path: &Path) -> String {
    let mut out = String::new();
    if r.exported.is_empty() {
        out.push_str(&format!(
            "{} ({}): 書き出す配送先はありません (ファイルは作成していません)\n",
            r.carrier, r.carrier_name
        ));
    } else {
        out.push_str(&format!(
            "{} ({}): {} 件を {} に書き出しました (出荷作業中へ {} 件)\n",
            r.carrier,
            r.carrier_name,
            r.exported.len(),
            path.display(),
            r.started
        ));
    }
    let warned: Vec<_> = r
        .exported
        .iter()
        .filter(|e| !e.warnings.is_empty())
        .collect();
    if !warned.is_empty() {
        out.push_str(&format!("調整した配送先 ({} 件):\n", warned.len()));
        for e in warned {
            for w in &e.warnings {
                out.push_str(&format!(
                    "  {} 配送先 {}: {}\n",
                    sanitize(&e.order_no),
                    e.shipment_no,
                    sanitize(w)
                ));
            }
        }
    }
    if !r.skipped.is_empty() {
        out.push_str(&format!(
            "書き出していない配送先 ({} 件):\n",
            r.skipped.len()
        ));
        for s in &r.skipped {
            let ship = s
                .shipment_no
                .map(|n| format!(" 配送先 {n}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {}{ship}: {}\n",
                sanitize(&s.order_no),
                sanitize(&s.reason)
            ));
        }
    }
    out
}

async fn import(b: &Backend, a: LabelImportArgs) -> Result<()> {
    let bytes = crate::output::label_file::read_carrier_file(&a.file).map_err(|e| eyre!(e))?;
    let ship_date = match &a.ship_date {
        Some(s) => Some(parse_date(s, "--ship-date")?),
        None => None,
    };
    let report = b
        .import_tracking(
            ImportRequest {
                carrier: (a.carrier != "auto").then(|| a.carrier.clone()),
                dry_run: a.dry_run,
                ship_date,
            },
            bytes,
        )
        .await
        .map_err(fail)?;
    print!("{}", describe_import(&report));
    if report.refused > 0 {
        std::process::exit(2);
    }
    Ok(())
}

/// The import report as the CLI prints it: one line per row, then the summary.
pub fn describe_import(r: &ImportReport) -> String {
    let mut out = format!(
        "{} ({}), {}{}\n",
        r.carrier,
        r.carrier_name,
        r.encoding,
        if r.header {
            ", ヘッダ行あり"
        } else {
            ", ヘッダ行なし"
        }
    );
    // Reasons are printed whole: they say what to do.
    for row in &r.rows {
        let result = match &row.outcome {
            RowOutcome::Registered { shipped: true } => "登録 → 出荷済み".to_string(),
            RowOutcome::Registered { shipped: false } => "登録 (他の配送先待ち)".to_string(),
            RowOutcome::Unchanged => "登録済み (変更なし)".to_string(),
            RowOutcome::Refused(why) => format!("拒否: {why}"),
        };
        out.push_str(&format!(
            "{:>5} 行  {:<17} {:<14} {}\n",
            row.line,
            sanitize(&row.key),
            sanitize(&row.tracking),
            sanitize(&result)
        ));
    }
    out.push_str(&format!(
        "{}登録 {} 件・変更なし {} 件・拒否 {} 件 (出荷済みへ {} 件)\n",
        if r.dry_run {
            "[試行: 何も変更していません] "
        } else {
            ""
        },
        r.registered,
        r.unchanged,
        r.refused,
        r.shipped
    ));
    out
}
