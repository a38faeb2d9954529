//! How many requests a console makes while a large sync commits: events carry what consoles
//! show, so the console re-reads (almost) nothing it was just told.

use std::collections::BTreeMap;
use std::time::Duration;

use shukka::backend::Backend;
use shukka::tui::app::{App, AppEvent, Effect};
use shukka::tui::text::{Lang, text};
use shukka::tui::theme::Theme;

use crate::common::*;

/// Drives a console App as the event loop does (its requests answered by a local backend)
/// while a sync of `n` orders commits; returns the requests it made, by operation.
pub async fn console_requests_during_sync(n: usize) -> (BTreeMap<String, u64>, u64) {
    let sim = start_sim(n, 100).await;
    let (engine, _dir) = engine_with_setup(&sim).await;
    let range = range_robot(&engine);
    let backend = Backend::local(engine.clone(), operator());
    let mut events = engine.subscribe();
    let mut app = App::new(text(Lang::Ja), Theme { color: false }, false);
    app.size = (120, 40);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<AppEvent>();
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    let mut in_flight = 0usize;
    let exec = |fx: Vec<Effect>,
                by_kind: &mut BTreeMap<String, u64>,
                in_flight: &mut usize,
                count: bool| {
        for e in fx {
            match e {
                Effect::Call(tag, req) => {
                    if count {
                        *by_kind.entry(req.op_name()).or_default() += 1;
                    }
                    *in_flight += 1;
                    let b = backend.clone();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        let r = b.call(req).await;
                        let _ = tx.send(AppEvent::Reply(tag, r));
                    });
                }
                Effect::LoadSummaries => {
                    if count {
                        *by_kind.entry("summaries".into()).or_default() += 1;
                    }
                    *in_flight += 1;
                    let b = backend.clone();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        let r = b.summaries().await;
                        let _ = tx.send(AppEvent::Summaries(r));
                    });
                }
                Effect::Quit | Effect::ExportLabels(_) | Effect::ImportTracking { .. } => {}
            }
        }
    };
    // The first load is not counted: it happens once, whatever the sync does.
    let fx = app.load_all();
    exec(fx, &mut by_kind, &mut in_flight, false);
    while in_flight > 0 {
        if let Some(ev) = rx.recv().await {
            in_flight -= 1;
            let fx = app.update(ev);
            exec(fx, &mut by_kind, &mut in_flight, false);
        }
    }
    let runner = {
        let e = engine.clone();
        tokio::spawn(async move { run(&e, range).await })
    };
    let mut events_seen = 0u64;
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(ev) => {
                    events_seen += 1;
                    let fx = app.update(AppEvent::Store(ev));
                    exec(fx, &mut by_kind, &mut in_flight, true);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let fx = app.update(AppEvent::Lagged);
                    exec(fx, &mut by_kind, &mut in_flight, true);
                }
                Err(_) => break,
            },
            reply = rx.recv() => {
                if let Some(ev) = reply {
                    in_flight -= 1;
                    let fx = app.update(ev);
                    exec(fx, &mut by_kind, &mut in_flight, true);
                }
            }
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                if runner.is_finished() && in_flight == 0 {
                    break;
                }
            }
        }
    }
    let line = runner.await.expect("run");
    assert!(line.success > 0);
    (by_kind, events_seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_of_a_console_during_a_large_sync() {
    let (by_kind, events) = console_requests_during_sync(10_000).await;
    let total: u64 = by_kind.values().sum();
    eprintln!("console requests during a 10,000-order sync ({events} events): {total} {by_kind:?}");
    // Counts, intake errors and the product count come with the events; a finished run
    // updates the robots pane in place. What is left is one configuration change (the setup
    // guide's first good fetch) re-reading robots, checklist, ship-froms and credentials.
    for told in [
        "counts",
        "intake_errors",
        "products",
        "product_count",
        "runs",
        "summaries",
    ] {
        assert!(
            !by_kind.contains_key(told),
            "{told} was asked for although the events carry it: {by_kind:?}"
        );
    }
    assert!(total <= 8, "{total} requests: {by_kind:?}");
}
