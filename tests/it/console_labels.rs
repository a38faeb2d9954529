//! 送り状 from the console, against a real engine: `P` picks a carrier and writes the file into
//! the console's labels directory (owner-only, as the console's user), `I` reads a carrier's
//! file as a trial run that changes nothing, `y` registers it, and a second import of the same
//! file registers nothing again.

use std::os::unix::fs::PermissionsExt;

use shukka::backend::Backend;
use shukka::domain::Status;
use shukka::labels::charset::decode;
use shukka::tui::app::{App, AppEvent, Effect, Popup};
use shukka::tui::model::Queue;
use shukka::tui::text::{Lang, text};

use crate::common::*;
use crate::console_fixtures::*;
use crate::labels::{b2_issued, golden_engine};

pub(crate) type Events =
    tokio::sync::broadcast::Receiver<std::sync::Arc<shukka::store::StoreEvent>>;

/// Runs effects the way the console's event loop does (the console's own file I/O and the
/// store's change events included) until nothing is in flight.
pub(crate) async fn drive(
    app: &mut App,
    backend: &Backend,
    events: &mut Events,
    labels_dir: &std::path::Path,
    fx: Vec<Effect>,
) {
    let mut pending = fx;
    loop {
        while let Ok(ev) = events.try_recv() {
            pending.extend(app.update(AppEvent::Store(ev)));
        }
        if pending.is_empty() {
            break;
        }
        let mut next = Vec::new();
        for e in pending {
            let ev = match e {
                Effect::Call(tag, req) => AppEvent::Reply(tag, backend.call(req).await),
                Effect::LoadSummaries => AppEvent::Summaries(backend.summaries().await),
                Effect::ExportLabels(mut req) => AppEvent::LabelsExported(
                    shukka::tui::export_labels(backend, labels_dir, text(Lang::Ja), &mut req).await,
                ),
                Effect::ImportTracking { path, dry_run } => {
                    let r = shukka::tui::import_tracking(backend, &path, dry_run).await;
                    AppEvent::TrackingImported(path, r)
                }
                Effect::Quit => continue,
            };
            next.extend(app.update(ev));
        }
        pending = next;
    }
}

fn screen_text(app: &App) -> String {
    screen(&draw(app))
}

#[tokio::test]
async fn console_labels_export_then_import_with_a_trial_run_first() {
    let (engine, dir) = golden_engine();
    let labels_dir = dir.path().join("labels");
    let backend = Backend::local(engine.clone(), operator());
    let mut events = engine.subscribe();
    let mut app = empty_app(Lang::Ja, false, false, 120, 40);
    app.labels_dir = labels_dir.clone();
    let fx = app.load_all();
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    let ready_before = engine.store().ids_in(Status::Ready).expect("ready");
    assert_eq!(ready_before.len(), 9);

    // P: the carriers offered are the profiles the server knows.
    ch(&mut app, '2');
    goto_queue(&mut app, Queue::Status(Status::Ready));
    let fx = ch(&mut app, 'P');
    assert!(
        requests(&fx).contains(&shukka::service::Request::LabelProfiles),
        "{fx:?}"
    );
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    assert!(matches!(app.popup, Some(Popup::Carrier(_))));
    let s = screen_text(&app);
    for id in ["b2", "ehiden3", "yupri", "clickpost"] {
        assert!(s.contains(id), "{id} offered:\n{s}");
    }

    // Enter on b2: one file, owner-only, in the console's labels directory.
    let fx = key(&mut app, crossterm::event::KeyCode::Enter);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::ExportLabels(r) if r.carrier == "b2" && r.ids.len() == 9)),
        "{fx:?}"
    );
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    assert!(
        matches!(app.popup, Some(Popup::Report(_))),
        "the export's report is shown"
    );
    let files: Vec<_> = std::fs::read_dir(&labels_dir)
        .expect("labels dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&labels_dir), 0o700);
    assert_eq!(mode(file), 0o600);
    let s = screen_text(&app);
    let name = file
        .file_name()
        .expect("name")
        .to_string_lossy()
        .to_string();
    assert!(s.contains(&name), "the report names the file:\n{s}");
    // Store pickup and the order without a phone number are left out, and the report says so.
    assert!(s.contains("店舗受取"), "{s}");
    let (text_csv, _) = decode(&std::fs::read(file).expect("read")).expect("cp932");
    let (issued, numbers) = b2_issued(&text_csv, 500_000_000_000, true);
    assert_eq!(
        numbers.len(),
        8,
        "two destinations of one order are two rows"
    );
    let in_progress = engine
        .store()
        .ids_in(Status::InProgress)
        .expect("in progress");
    assert_eq!(
        in_progress.len(),
        7,
        "exported instructions move to 出荷作業中"
    );

    // P again on what was exported: nothing is exported twice.
    key(&mut app, crossterm::event::KeyCode::Esc);
    goto_queue(&mut app, Queue::Status(Status::InProgress));
    let fx = ch(&mut app, 'P');
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    let fx = key(&mut app, crossterm::event::KeyCode::Enter);
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    assert_eq!(
        std::fs::read_dir(&labels_dir).expect("dir").count(),
        1,
        "no second file: every shipment was exported already"
    );
    let s = screen_text(&app);
    assert!(s.contains("送り状発行済 (b2"), "the report says why:\n{s}");

    // A reprint is asked for explicitly (`a`), and writes a second file.
    key(&mut app, crossterm::event::KeyCode::Esc);
    let fx = ch(&mut app, 'P');
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    ch(&mut app, 'a');
    assert!(screen_text(&app).contains("再発行"), "the reprint is shown");
    let fx = key(&mut app, crossterm::event::KeyCode::Enter);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::ExportLabels(r) if r.again)),
        "{fx:?}"
    );
    // Within the same second as the first: a second name, never an overwrite.
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    assert_eq!(
        std::fs::read_dir(&labels_dir).expect("dir").count(),
        2,
        "the reprint"
    );
    key(&mut app, crossterm::event::KeyCode::Esc);

    // I: the carrier's issued file, first as a trial run.
    let issued_path = dir.path().join("issued.csv");
    std::fs::write(&issued_path, &issued).expect("write issued");
    let fx = ch(&mut app, 'I');
    assert!(fx.is_empty());
    assert!(screen_text(&app).contains("Tab 補完"), "the import hint");
    typ(&mut app, &issued_path.display().to_string());
    let fx = key(&mut app, crossterm::event::KeyCode::Enter);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::ImportTracking { dry_run: true, .. })),
        "{fx:?}"
    );
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    let s = screen_text(&app);
    assert!(s.contains("試行"), "a trial run says so:\n{s}");
    assert!(s.contains("y 登録する"), "{s}");
    assert!(
        engine
            .store()
            .ids_in(Status::Shipped)
            .expect("shipped")
            .is_empty(),
        "a trial run changes nothing"
    );

    // y: registered; every exported instruction whose shipments all have numbers is 出荷済み.
    let fx = ch(&mut app, 'y');
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::ImportTracking { dry_run: false, .. })),
        "{fx:?}"
    );
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    let shipped = engine.store().ids_in(Status::Shipped).expect("shipped");
    assert_eq!(shipped.len(), 7, "{:?}", screen_text(&app));
    for (key_col, tracking) in &numbers {
        let (no, ship) = shukka::labels::Profile::builtin("b2")
            .expect("b2")
            .parse_key(key_col)
            .expect("key");
        let i = engine.find_order(&no).expect("order");
        let d = i
            .destinations
            .iter()
            .find(|d| d.shipment_no == ship)
            .expect("dest");
        assert_eq!(d.tracking_no.as_deref(), Some(tracking.as_str()));
    }

    // The same file again: every row already registered, nothing changes.
    key(&mut app, crossterm::event::KeyCode::Esc);
    ch(&mut app, 'I');
    typ(&mut app, &issued_path.display().to_string());
    let fx = key(&mut app, crossterm::event::KeyCode::Enter);
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    let fx = ch(&mut app, 'y');
    drive(&mut app, &backend, &mut events, &labels_dir, fx).await;
    let s = screen_text(&app);
    assert!(s.contains("登録済み"), "{s}");
    let history: usize = shipped
        .iter()
        .map(|id| {
            engine
                .store()
                .audit_for(*id)
                .expect("audit")
                .iter()
                .filter(|h| h.action == "送り状番号取込")
                .count()
        })
        .sum();
    assert_eq!(history, 8, "one registration per shipment, not two");
}

/// A missing file is an error in the status line; nothing is sent.
#[tokio::test]
async fn console_labels_import_of_a_missing_file_is_a_clear_error() {
    let (engine, dir) = golden_engine();
    let backend = Backend::local(engine.clone(), operator());
    let mut events = engine.subscribe();
    let mut app = empty_app(Lang::En, false, false, 120, 40);
    let fx = app.load_all();
    drive(&mut app, &backend, &mut events, dir.path(), fx).await;
    ch(&mut app, '2');
    ch(&mut app, 'I');
    let missing = dir.path().join("nope.csv");
    typ(&mut app, &missing.display().to_string());
    let fx = key(&mut app, crossterm::event::KeyCode::Enter);
    drive(&mut app, &backend, &mut events, dir.path(), fx).await;
    let s = screen_text(&app);
    assert!(s.contains("nope.csv"), "the error names the file:\n{s}");
    assert!(
        engine
            .store()
            .ids_in(Status::Shipped)
            .expect("shipped")
            .is_empty()
    );
}
