//! 出荷後キャンセル that nobody can miss: futureshop cancels an order the warehouse already
//! works on; ステータス同期 keeps it where it is and flags it; every console shows a banner
//! and a queue of its own until an operator records what was done (audited); `shukka errors`
//! lists it; labels are refused (tests/it/labels.rs).

use shukka::backend::Backend;
use shukka::domain::*;
use shukka::robots::linkage::EASY_STATUS;
use shukka::service::Request;
use shukka::sim::NewOrder;
use shukka::tui::app::{App, AppEvent, Effect, Popup};
use shukka::tui::model::Queue;
use shukka::tui::text::Lang;

use crate::common::*;
use crate::console_fixtures::{ch, draw, empty_app, goto_queue, key, screen};

/// A shop with one order picked (出荷作業中) and then cancelled in futureshop.
async fn late_cancelled() -> (
    shukka::sim::SimHandle,
    shukka::engine::Engine,
    tempfile::TempDir,
    String,
) {
    let sim = start_sim(0, 50).await;
    let sku = sim.with_state(|s| s.products()[0].skus[0].sku_no.clone());
    let no = sim
        .with_state(|s| {
            s.create_order(NewOrder {
                payment_type: Some("FREGI_CREDIT_CARD".into()),
                paid: Some(true),
                skus: vec![sku],
                ..Default::default()
            })
        })
        .expect("order")["orderNo"]
        .as_str()
        .expect("orderNo")
        .to_string();
    let (engine, dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    let i = engine.find_order(&no).expect("instruction");
    engine
        .start_work(i.id, Some(i.version), &operator())
        .expect("picked");
    sim.with_state(|s| s.cancel(&no)).expect("cancel");
    run(&engine, robot_id(&engine, EASY_STATUS)).await;
    (sim, engine, dir, no)
}

#[tokio::test]
async fn late_cancel_is_acknowledged_once_with_what_was_done_and_audited() {
    let (_sim, engine, _dir, no) = late_cancelled().await;
    let i = engine.find_order(&no).expect("instruction");
    assert_eq!(i.status, Status::InProgress, "it stays where it is");
    assert!(i.late_cancel_open());
    assert!(i.summary().late_cancel_open);
    // An alert is queued with the change, once (a second status sync finds nothing new).
    run(&engine, robot_id(&engine, EASY_STATUS)).await;
    let alerts = engine.store().alerts_after(0, 100).expect("alerts");
    let late: Vec<_> = alerts
        .iter()
        .filter(|a| a.kind == shukka::notify::AlertKind::LateCancel)
        .collect();
    assert_eq!(late.len(), 1, "{alerts:?}");
    assert_eq!(late[0].orders, std::slice::from_ref(&no));
    assert!(
        late[0].ja.contains("荷物を止め"),
        "what to do: {}",
        late[0].ja
    );

    // Only a late cancellation can be acknowledged.
    let other = engine
        .store()
        .summaries(None)
        .expect("summaries")
        .into_iter()
        .find(|s| s.order_no != no);
    if let Some(o) = other {
        let err = engine
            .acknowledge_late_cancel(o.id, None, LateCancelAction::Stopped, "", &operator())
            .expect_err("not a late cancellation");
        assert!(
            err.to_string().contains("出荷後キャンセルではありません"),
            "{err}"
        );
    }
    let done = engine
        .acknowledge_late_cancel(
            i.id,
            Some(i.version),
            LateCancelAction::ReturnRequested,
            "ヤマトに返送依頼 (受付 12345)",
            &operator(),
        )
        .expect("acknowledged");
    assert!(!done.late_cancel_open());
    assert_eq!(done.status, Status::InProgress);
    let ack = done.late_cancel_ack.clone().expect("ack");
    assert_eq!(ack.action, LateCancelAction::ReturnRequested);
    assert_eq!(ack.actor, operator().to_string());
    let history = engine.store().audit_for(i.id).expect("audit");
    assert!(
        history.iter().any(|h| h.action == "出荷後キャンセル確認"
            && h.reason.contains("運送会社に返送依頼")
            && h.reason.contains("12345")
            && h.actor == operator()),
        "{history:?}"
    );
    // Twice: refused, naming who did it first.
    let err = engine
        .acknowledge_late_cancel(i.id, None, LateCancelAction::Stopped, "", &operator())
        .expect_err("acknowledged already");
    assert!(err.to_string().contains("確認済み"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_cancel_is_listed_by_errors_and_acknowledged_from_the_command_line() {
    let (_sim, engine, dir, no) = late_cancelled().await;
    drop(engine);
    let errors = shukka(dir.path(), &["errors"]).await;
    let text = String::from_utf8_lossy(&errors.stdout).into_owned();
    assert!(
        text.contains("出荷後キャンセル") && text.contains(&no),
        "{text}"
    );
    let bad = shukka(dir.path(), &["ack-cancel", &no, "--action", "forgot"]).await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("stopped"));
    let ok = shukka(
        dir.path(),
        &[
            "ack-cancel",
            &no,
            "--action",
            "stopped",
            "--note",
            "棚に戻した",
        ],
    )
    .await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("倉庫で止めた"));
    let errors = shukka(dir.path(), &["errors"]).await;
    assert!(
        !String::from_utf8_lossy(&errors.stdout).contains("出荷後キャンセル"),
        "acknowledged: no longer listed"
    );
}

async fn drive(app: &mut App, backend: &Backend, fx: Vec<Effect>) {
    let mut pending = fx;
    while !pending.is_empty() {
        let mut next = Vec::new();
        for e in pending {
            let ev = match e {
                Effect::Call(tag, req) => AppEvent::Reply(tag, backend.call(req).await),
                Effect::LoadSummaries => AppEvent::Summaries(backend.summaries().await),
                _ => continue,
            };
            next.extend(app.update(ev));
        }
        pending = next;
    }
}

/// Every console shows it: a banner above the tabs, a queue of its own (pinned, on the
/// dashboard too), until `A` on it records what was done; then the banner goes, in every
/// console, from the store's event.
#[tokio::test]
async fn late_cancel_banner_and_queue_until_acknowledged_in_the_console() {
    let (_sim, engine, _dir, no) = late_cancelled().await;
    let backend = Backend::local(engine.clone(), operator());
    let mut events = engine.subscribe();
    let mut consoles: Vec<App> = (0..2)
        .map(|_| empty_app(Lang::Ja, false, false, 120, 40))
        .collect();
    for a in consoles.iter_mut() {
        let fx = a.load_all();
        drive(a, &backend, fx).await;
    }
    for a in &consoles {
        let s = screen(&draw(a));
        assert!(
            s.contains("出荷後キャンセル 1 件が未確認です") && s.contains(&no),
            "banner:\n{s}"
        );
        assert!(
            s.lines()
                .any(|l| l.contains("出荷後キャンセル") && l.contains(" 1")),
            "the dashboard lists the queue:\n{s}"
        );
    }
    let a = &mut consoles[0];
    ch(a, '2');
    goto_queue(a, Queue::LateCancels);
    assert_eq!(a.visible_len(), 1);
    let fx = ch(a, 'A');
    assert!(fx.is_empty(), "{fx:?}");
    assert!(matches!(a.popup, Some(Popup::LateCancel(_))));
    let s = screen(&draw(a));
    assert!(
        s.contains("倉庫で止めた") && s.contains("運送会社に返送依頼"),
        "{s}"
    );
    ch(a, 'j');
    let fx = key(a, crossterm::event::KeyCode::Enter);
    let reqs: Vec<Request> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Call(_, r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert!(
        reqs.iter().any(|r| matches!(
            r,
            Request::AcknowledgeLateCancel {
                action: LateCancelAction::ReturnRequested,
                ..
            }
        )),
        "{reqs:?}"
    );
    drive(a, &backend, fx).await;
    // Both consoles learn it from the store's event.
    while let Ok(ev) = events.try_recv() {
        for a in consoles.iter_mut() {
            a.update(AppEvent::Store(ev.clone()));
        }
    }
    for a in &consoles {
        let s = screen(&draw(a));
        assert!(!s.contains("未確認です"), "the banner is gone:\n{s}");
    }
    assert_eq!(consoles[0].visible_len(), 0);
    // The detail view says who recorded what.
    let i = engine.find_order(&no).expect("instruction");
    assert!(i.late_cancel_ack.is_some());
    // A second `A` on an acknowledged one is refused with a message, no request.
    let a = &mut consoles[1];
    ch(a, '2');
    goto_queue(a, Queue::Status(Status::InProgress));
    let fx = ch(a, 'A');
    assert!(fx.iter().all(|e| !matches!(e, Effect::Call(..))), "{fx:?}");
    assert!(screen(&draw(a)).contains("確認済みです"));
}
