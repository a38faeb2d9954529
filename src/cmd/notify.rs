//! `shukka notify list` and `shukka notify test NAME`.

use color_eyre::Result;

use super::fail;
use crate::backend::Backend;
use crate::cli::NotifyCommand;
use crate::engine::notify::TargetView;
use crate::sanitize::sanitize;
use crate::service::Request;

pub async fn run(b: &Backend, c: NotifyCommand) -> Result<()> {
    match c {
        NotifyCommand::List => {
            let targets: Vec<TargetView> = b.get(Request::NotifyTargets).await.map_err(fail)?;
            if targets.is_empty() {
                println!(
                    "通知先はありません: setup ファイルに [[notify]] を書いて `shukka setup apply` してください (docs/setup.md)"
                );
            }
            for v in targets {
                let t = &v.target;
                let events = if t.events.is_empty() {
                    "すべて".to_string()
                } else {
                    t.events
                        .iter()
                        .map(|e| e.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let last = v
                    .state
                    .last_sent
                    .map(|l| l.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{} ({}): イベント {events}; 最後の送信 {last}; 未送信 {} 件{}{}",
                    sanitize(&t.name),
                    t.channel_name(),
                    v.pending,
                    if t.needs_secret() && !v.has_secret {
                        "; ⚠ シークレットがありません"
                    } else {
                        ""
                    },
                    v.state
                        .last_error
                        .as_ref()
                        .map(|e| format!("; 失敗 {} 回: {}", v.state.failures, sanitize(e)))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        NotifyCommand::Test { name } => {
            let said: String = b
                .get(Request::NotifyTest { name: name.clone() })
                .await
                .map_err(fail)?;
            println!(
                "{}: テスト通知を送りました ({})",
                sanitize(&name),
                sanitize(&said)
            );
            Ok(())
        }
    }
}
