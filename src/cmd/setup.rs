//! `shukka setup apply|status` and `shukka sync [--once]`.

use std::path::Path;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, eyre};

use super::fail;
use crate::backend::Backend;
use crate::cli::Format;
use crate::engine::{CheckItem, Engine, SetupFile};
use crate::sanitize::sanitize;
use crate::service::Request;

pub async fn apply(b: &Backend, file: &Path) -> Result<()> {
    let parsed = SetupFile::load(file).map_err(|e| eyre!(e))?;
    let text = std::fs::read_to_string(file)?;
    let base = file.parent().unwrap_or(Path::new("."));
    let secret = parsed.secret(base).map_err(|e| eyre!(e))?;
    let notify_secrets = parsed
        .notify_secrets(base)
        .map_err(|e| eyre!(e))?
        .into_iter()
        .map(|s| s.map(|s| s.expose().to_string()))
        .collect();
    let report: crate::engine::setup::ApplyReport = b
        .get(Request::ApplySetup {
            file: text,
            secret: secret.expose().to_string(),
            notify_secrets,
        })
        .await
        .map_err(fail)?;
    for (what, done) in &report.steps {
        println!("{}: {}", sanitize(what), sanitize(done));
    }
    if let Some(t) = &report.connection {
        if t.ok {
            println!("接続テスト: {}", sanitize(&t.message));
        } else {
            return Err(eyre!(
                "接続テストに失敗しました: {}\n(設定は保存しました。認証情報を直して再度 apply してください)",
                sanitize(&t.message)
            ));
        }
    }
    println!("\n`shukka setup status` でチェックリストを確認できます");
    Ok(())
}

pub async fn status(b: &Backend, format: Format) -> Result<bool> {
    let items: Vec<CheckItem> = b.get(Request::Checklist).await.map_err(fail)?;
    let all = items.iter().all(|i| i.ok);
    if format == Format::Json {
        println!("{}", crate::output::json::to_string_pretty(&items)?);
    } else {
        for i in &items {
            println!(
                "{} {}. {}\n     {}",
                if i.ok { "✓" } else { "✗" },
                i.number,
                i.title,
                sanitize(&i.reason)
            );
        }
        let done = items.iter().filter(|i| i.ok).count();
        println!("\n{done}/{} 完了", items.len());
    }
    Ok(all)
}

/// `sync --once` goes through the service; continuous `sync` runs the scheduler here.
pub async fn sync(b: &Backend, engine: Option<&Engine>, once: bool) -> Result<bool> {
    if once {
        let lines: Vec<crate::domain::RunLogEntry> =
            b.get(Request::SyncOnce).await.map_err(fail)?;
        if lines.is_empty() {
            println!(
                "実行するロボットはありません (トリガーが来ていないか、有効な連携ロボットがありません)"
            );
        }
        for l in &lines {
            super::robots::print_run(l);
        }
        return Ok(lines
            .iter()
            .all(|l| l.state == crate::domain::RunState::Done));
    }
    let engine = engine
        .ok_or_else(|| eyre!("the shukka server already runs the robots on their triggers"))?;
    eprintln!("同期を開始しました (Ctrl-C で停止)");
    let stopper = engine.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("停止しています (取得中のページを保存してから終了します)…");
            stopper.request_stop();
        }
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .wrap_err("SIGTERM handler")?;
    let stopper = engine.clone();
    tokio::spawn(async move {
        term.recv().await;
        stopper.request_stop();
    });
    let mut events = engine.subscribe();
    tokio::spawn(async move {
        while let Ok(ev) = events.recv().await {
            for c in &ev.changes {
                if let crate::store::Change::Run(r) = c
                    && r.state != crate::domain::RunState::Running
                {
                    super::robots::print_run(r);
                }
            }
        }
    });
    engine
        .run_scheduler(Duration::from_secs(1), Duration::from_secs(20))
        .await;
    Ok(true)
}
