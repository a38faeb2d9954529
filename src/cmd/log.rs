//! `shukka log [--follow] [--audit]`.

use color_eyre::eyre::Result;

use super::fail;
use crate::backend::Backend;
use crate::cli::Format;
use crate::domain::{AuditEntry, RunLogEntry};
use crate::sanitize::sanitize;
use crate::service::Request;
use crate::store::Change;

pub fn print_audit(e: &AuditEntry) {
    let moved = match (e.from, e.to) {
        (Some(a), Some(b)) if a != b => format!(" {a} → {b}"),
        (None, Some(b)) => format!(" → {b}"),
        _ => String::new(),
    };
    println!(
        "{}  {}  {}  {}{}  {}",
        e.at.format("%Y-%m-%d %H:%M:%S"),
        sanitize(&e.actor.to_string()),
        sanitize(&e.target.to_string()),
        sanitize(&e.action),
        moved,
        sanitize(&e.reason)
    );
}

pub async fn run(
    b: &Backend,
    audit: bool,
    follow: bool,
    limit: usize,
    format: Format,
) -> Result<()> {
    if audit {
        let mut entries: Vec<AuditEntry> = b.get(Request::Audit { limit }).await.map_err(fail)?;
        entries.reverse();
        if format == Format::Json {
            println!("{}", crate::output::json::to_string_pretty(&entries)?);
        } else {
            entries.iter().for_each(print_audit);
        }
    } else {
        let mut runs: Vec<RunLogEntry> = b.get(Request::Runs { limit }).await.map_err(fail)?;
        runs.reverse();
        if format == Format::Json {
            println!("{}", crate::output::json::to_string_pretty(&runs)?);
        } else {
            runs.iter().for_each(super::robots::print_run);
        }
    }
    if !follow {
        return Ok(());
    }
    let mut events = b.subscribe();
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(ev) => {
                    for c in &ev.changes {
                        match c {
                            Change::Audit(a) if audit => print_audit(a),
                            Change::Run(r) if !audit && r.state != crate::domain::RunState::Running => super::robots::print_run(r),
                            _ => {}
                        }
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => eprintln!("({n} 件の更新を読み飛ばしました)"),
                Err(_) => return Ok(()),
            },
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
