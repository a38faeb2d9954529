//! The operator console (ratatui + crossterm + tokio). One event loop: input, store events,
//! replies and ticks arrive on one channel; the loop drains everything pending and renders once
//! when something visible changed, at most ~30 frames per second. Idle writes nothing.

pub mod app;
pub mod context;
pub mod data;
pub mod event;
pub mod keymap;
pub mod model;
pub mod popups;
pub mod screens;
pub mod scroll;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod widgets;

use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use app::App;
use event::{AppEvent, Effect, Failure};
use text::Lang;
use theme::Theme;

use crate::backend::Backend;

#[derive(Clone, Debug)]
pub struct ConsoleOptions {
    pub lang: Lang,
    pub read_only: bool,
    /// Prefilled setup forms (`shukka demo --fresh`).
    pub defaults: context::FormDefaults,
    /// Where label files go (default `DATA/labels/`).
    pub labels_dir: std::path::PathBuf,
}

const FRAME: Duration = Duration::from_millis(33);

/// Runs the console until the operator quits.
pub async fn run(backend: Backend, opts: ConsoleOptions) -> std::io::Result<()> {
    run_connecting(async move { Ok(backend) }, opts).await
}

/// Draws the first frame at once, then waits for `connect` (starting a server can take a
/// moment) and runs the console until the operator quits.
pub async fn run_connecting<F>(connect: F, opts: ConsoleOptions) -> std::io::Result<()>
where
    F: std::future::Future<Output = Result<Backend, String>>,
{
    let (mut term, _guard) = terminal::enter()?;
    let size = term.size()?;
    let mut app = App::new(text::text(opts.lang), Theme::from_env(), opts.read_only);
    app.size = (size.width, size.height);
    app.defaults = opts.defaults;
    app.labels_dir = opts.labels_dir.clone();
    app.status = Some(app::StatusMsg {
        text: app.text.connecting.into(),
        kind: app::StatusKind::Info,
        at: app.now(),
    });
    terminal::draw(&mut term, |f| app.render(f))?;
    let backend = match connect.await {
        Ok(b) => {
            app.status = None;
            b
        }
        Err(message) => {
            drop(term);
            terminal::restore();
            return Err(std::io::Error::other(message));
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<AppEvent>();

    // Input.
    let input_tx = tx.clone();
    let input = tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(ev) = events.next().await {
            let msg = match ev {
                Ok(Event::Key(k)) => AppEvent::Key(k),
                Ok(Event::Resize(w, h)) => AppEvent::Resize(w, h),
                Ok(_) => continue,
                Err(e) => AppEvent::TaskFailed(Failure::Input(e.to_string())),
            };
            if input_tx.send(msg).is_err() {
                break;
            }
        }
    });
    // Store events.
    let events_task = spawn_subscription(&backend, tx.clone());
    // The link to the server (remote consoles).
    let link = backend.connection().map(|mut rx| {
        let link_tx = tx.clone();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let why = rx.borrow().clone();
                if link_tx.send(AppEvent::Connection(why)).is_err() {
                    break;
                }
            }
        })
    });
    // Clock.
    let tick_tx = tx.clone();
    let ticker = tokio::spawn(async move {
        let mut t = tokio::time::interval(Duration::from_secs(1));
        loop {
            t.tick().await;
            if tick_tx.send(AppEvent::Tick).is_err() {
                break;
            }
        }
    });

    for e in app.load_all() {
        execute(&backend, &tx, &app.labels_dir, app.text, e);
    }
    let mut next_frame = Instant::now();
    loop {
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                let mut effects = app.update(ev);
                while let Ok(ev) = rx.try_recv() {
                    effects.extend(app.update(ev));
                }
                for e in effects {
                    if e == Effect::Quit {
                        continue;
                    }
                    execute(&backend, &tx, &app.labels_dir, app.text, e);
                }
                if app.quit {
                    break;
                }
            }
            _ = tokio::time::sleep_until(next_frame), if app.dirty => {
                terminal::draw(&mut term, |f| app.render(f))?;
                app.dirty = false;
                next_frame = Instant::now() + FRAME;
            }
        }
    }
    input.abort();
    events_task.abort();
    if let Some(l) = link {
        l.abort();
    }
    ticker.abort();
    drop(term);
    terminal::restore();
    Ok(())
}

/// Runs one effect in the background; its answer comes back as an event. A panic in the task
/// becomes a message in the status line.
fn execute(
    backend: &Backend,
    tx: &mpsc::UnboundedSender<AppEvent>,
    labels_dir: &std::path::Path,
    t: &'static text::Text,
    e: Effect,
) {
    let b = backend.clone();
    let out = tx.clone();
    let task = match e {
        Effect::Quit => return,
        Effect::ExportLabels(mut req) => {
            let dir = labels_dir.to_path_buf();
            tokio::spawn(async move {
                let r = export_labels(&b, &dir, t, &mut req).await;
                let _ = out.send(AppEvent::LabelsExported(r));
            })
        }
        Effect::ImportTracking { path, dry_run } => tokio::spawn(async move {
            let r = import_tracking(&b, &path, dry_run).await;
            let _ = out.send(AppEvent::TrackingImported(path, r));
        }),
        Effect::LoadSummaries => tokio::spawn(async move {
            let r = b.summaries().await;
            let _ = out.send(AppEvent::Summaries(r));
        }),
        Effect::Call(tag, req) => tokio::spawn(async move {
            let r = b.call(req).await;
            let _ = out.send(AppEvent::Reply(tag, r));
        }),
    };
    watch_for_panic(task, tx.clone());
}

/// Writes the label file of an export, as this console's user, into its labels directory
/// (the server never writes it: it sends the bytes).
pub async fn export_labels(
    b: &Backend,
    dir: &std::path::Path,
    t: &'static text::Text,
    req: &mut crate::engine::labels::ExportRequest,
) -> Result<(std::path::PathBuf, crate::labels::ExportReport), String> {
    use crate::output::label_file::write_label_file;
    crate::store::create_private_dir(dir).map_err(|e| e.to_string())?;
    let path = crate::output::label_file::unused_file(dir, &req.carrier, crate::time::now_jst());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    req.file_name = name;
    let (bytes, report) = b
        .export_labels(req.clone())
        .await
        .map_err(|e| e.message.clone())?;
    if !report.exported.is_empty() {
        write_label_file(&path, &bytes, false)
            .map_err(|e| (t.labels_write_failed)(&e.to_string()))?;
    }
    Ok((path, report))
}

/// Reads a carrier's file as this console's user and sends it for import (the server never
/// opens a path a client names).
pub async fn import_tracking(
    b: &Backend,
    path: &std::path::Path,
    dry_run: bool,
) -> Result<crate::labels::ImportReport, String> {
    let bytes = crate::output::label_file::read_carrier_file(path)?;
    b.import_tracking(
        crate::engine::labels::ImportRequest {
            carrier: None,
            dry_run,
            ship_date: None,
        },
        bytes,
    )
    .await
    .map_err(|e| e.message.clone())
}

/// Reports a panic of `task` to the event loop instead of letting it vanish.
fn watch_for_panic(task: tokio::task::JoinHandle<()>, tx: mpsc::UnboundedSender<AppEvent>) {
    tokio::spawn(async move {
        if let Err(e) = task.await
            && e.is_panic()
        {
            let _ = tx.send(AppEvent::TaskFailed(Failure::TaskPanicked));
        }
    });
}

fn spawn_subscription(
    backend: &Backend,
    tx: mpsc::UnboundedSender<AppEvent>,
) -> tokio::task::JoinHandle<()> {
    let mut sub = backend.subscribe();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match sub.recv().await {
                Ok(ev) => {
                    if tx.send(AppEvent::Store(ev)).is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    if tx.send(AppEvent::Lagged).is_err() {
                        break;
                    }
                }
                Err(RecvError::Closed) => break,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_task_becomes_an_error_in_the_status_line() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async { panic!("boom in a background task") });
        watch_for_panic(task, tx.clone());
        let ev = rx.recv().await.expect("the watcher reports");
        assert!(matches!(ev, AppEvent::TaskFailed(Failure::TaskPanicked)));

        let mut app = App::new(text::text(text::Lang::En), Theme { color: false }, false);
        app.update(ev);
        let status = app.status.as_ref().expect("a status message");
        assert_eq!(status.kind, app::StatusKind::Error);
        assert_eq!(status.text, text::EN.task_panicked);

        // A task that ends normally reports nothing.
        let quiet = tokio::spawn(async {});
        watch_for_panic(quiet, tx);
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(rx.try_recv().is_err());
    }
}
