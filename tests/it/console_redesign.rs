//! What operators found rough at 80 and 120 columns, each point shown: figures never cut, the
//! disconnect banner, a wrapped message with the cursor on the last row, the 新着 pane,
//! messages that age, error queues always in sight, the intake-error detail, grapheme
//! clusters, and a malformed reply shown as an error.

use std::sync::Arc;

use crossterm::event::KeyCode;
use ratatui::style::Modifier;
use shukka::domain::*;
use shukka::server::client::DisconnectReason;
use shukka::service::{ErrorKind, IntakeErrorDetail, Reply, Request, ServiceError};
use shukka::store::{Change, StoreEvent};
use shukka::tui::app::{App, AppEvent, Effect, Open, StatusKind, Tag};
use shukka::tui::model::Queue;
use shukka::tui::text::Lang;

use crate::console_fixtures::*;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn snap(name: &str, app: &App) {
    let t = draw(app);
    let (w, h) = app.size;
    insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(&t));
}

/// The cell where `needle` starts on the first row holding it.
fn cell_of(app: &App, needle: &str) -> Option<ratatui::buffer::Cell> {
    let t = draw(app);
    let y = find_row(&t, needle)?;
    let buf = t.backend().buffer();
    let x = find_x(buf, y, needle)?;
    Some(buf[(x, y)].clone())
}

// ------------------------------------------------------------------------------------------
// Never a wrong number

/// 403 orders in the last 24 hours: the per-hour title shortens its label at 80 columns, and
/// the figure is whole at both sizes.
#[test]
fn console_a_figure_in_a_title_is_never_cut() {
    let all: Vec<InstructionSummary> = many(403)
        .into_iter()
        .map(|mut s| {
            s.order_date = Some(now().naive_local() - chrono::Duration::minutes(3 * s.id as i64));
            s
        })
        .collect();
    for (w, h) in SIZES {
        let mut a = empty_app(Lang::Ja, true, false, w, h);
        load(&mut a, all.clone());
        let t = draw(&a);
        let title = lines(&t)
            .into_iter()
            .find(|l| l.contains("受注数"))
            .expect("the per-hour block");
        assert!(title.contains(" 403 "), "{w}×{h}: {title}");
        snap("per_hour_403", &a);
    }
}

// ------------------------------------------------------------------------------------------
// The disconnect banner

#[test]
fn console_the_disconnect_banner_says_why_and_fits() {
    let reasons = [
        DisconnectReason::ServerGone,
        DisconnectReason::ServerStopping,
        DisconnectReason::PermissionDenied(
            "/srv/shukka/shukka.sock: permission denied (op3 is not in the group shukka)".into(),
        ),
        DisconnectReason::Refused(
            "the server speaks protocol 2, this console 3: run the same shukka version on both"
                .into(),
        ),
    ];
    for (w, h) in SIZES {
        for why in &reasons {
            let mut a = app_with(Lang::Ja, true, false, w, h);
            a.update(AppEvent::Connection(Some(why.clone())));
            let t = draw(&a);
            let rows = lines(&t);
            // The tab bar is whole below the banner.
            let tabs = rows
                .iter()
                .position(|l| l.contains("1 ダッシュボード") && l.contains("5 ログ"))
                .unwrap_or_else(|| panic!("{w}×{h}: the tabs are hidden:\n{}", screen(&t)));
            let banner: String = rows[..tabs].iter().map(|l| l.trim()).collect();
            let said = match why {
                DisconnectReason::ServerGone => "サーバーが停止".to_string(),
                DisconnectReason::ServerStopping => "再起動を待って".to_string(),
                DisconnectReason::PermissionDenied(m) | DisconnectReason::Refused(m) => {
                    m.replace(' ', "")
                }
            };
            assert!(
                banner.replace(' ', "").contains(&said),
                "{w}×{h}: the banner does not say why ({said}):\n{}",
                screen(&t)
            );
        }
        let mut a = app_with(Lang::Ja, true, false, w, h);
        a.update(AppEvent::Connection(Some(DisconnectReason::ServerGone)));
        snap("banner_gone", &a);
        a.update(AppEvent::Connection(Some(reasons[2].clone())));
        snap("banner_denied", &a);
        // Back: the banner goes, a message says so (and fades, see below), and everything is
        // loaded again.
        let fx = a.update(AppEvent::Connection(None));
        assert!(
            fx.iter()
                .any(|e| matches!(e, Effect::Call(Tag::Counts, Request::Counts))),
            "{fx:?}"
        );
        let t = draw(&a);
        assert!(lines(&t)[0].contains("ダッシュボード"));
    }
}

// ------------------------------------------------------------------------------------------
// Heights come from the render

/// A refusal long enough to wrap onto three rows takes rows from the list: moving down to the
/// last row drawn, the cursor row is on screen every time.
#[test]
fn console_a_wrapped_message_never_hides_the_cursor_row() {
    for (w, h) in SIZES {
        let mut a = empty_app(Lang::Ja, true, false, w, h);
        load(&mut a, many(100));
        ch(&mut a, '2');
        let long = "保留にできません: ".to_string()
            + &"この出荷指示は別の担当者が出荷作業中にしたため、最新の状態を確認してから操作してください。"
                .repeat(3);
        a.update(AppEvent::Reply(
            Tag::Done("x".into()),
            Err(ServiceError::new(ErrorKind::Refused, long.clone())),
        ));
        let t = draw(&a);
        let rows = lines(&t);
        let wrapped = rows
            .iter()
            .filter(|l| l.contains("最新の状態") || l.starts_with("✗"))
            .count();
        assert!(wrapped >= 2, "{w}×{h}: the message wraps:\n{}", screen(&t));
        let drawn = a.orders.list.height(0);
        // Down to the last drawn row and one past it; the message stays (no key was an error).
        for step in 0..=drawn {
            let t = draw(&a);
            let id = a.selected_id().expect("selected");
            let no = order_no(id);
            let y = find_row(&t, &no)
                .unwrap_or_else(|| panic!("{w}×{h} step {step}: {no} not drawn:\n{}", screen(&t)));
            let buf = t.backend().buffer();
            let x = find_x(buf, y, &no).expect("x");
            assert!(
                buf[(x, y)].modifier.contains(Modifier::REVERSED),
                "{w}×{h} step {step}: {no} is not the cursor row:\n{}",
                screen(&t)
            );
            a.update(AppEvent::Reply(
                Tag::Done("x".into()),
                Err(ServiceError::new(ErrorKind::Refused, long.clone())),
            ));
            ch(&mut a, 'j');
            a.update(AppEvent::Reply(
                Tag::Done("x".into()),
                Err(ServiceError::new(ErrorKind::Refused, long.clone())),
            ));
        }
        let mut last = empty_app(Lang::Ja, true, false, w, h);
        load(&mut last, many(100));
        ch(&mut last, '2');
        last.update(AppEvent::Reply(
            Tag::Done("x".into()),
            Err(ServiceError::new(ErrorKind::Refused, long.clone())),
        ));
        draw(&last);
        for _ in 1..last.orders.list.height(0) {
            ch(&mut last, 'j');
            last.update(AppEvent::Reply(
                Tag::Done("x".into()),
                Err(ServiceError::new(ErrorKind::Refused, long.clone())),
            ));
        }
        snap("wrapped_message_cursor_last_row", &last);
    }
}

// ------------------------------------------------------------------------------------------
// 新着

fn arriving(id: u64) -> InstructionSummary {
    let mut s = summary(1);
    s.id = id;
    s.order_no = order_no(id);
    s.order_date = Some(now().naive_local() - chrono::Duration::seconds(30));
    s.recipient = "新着 太郎".into();
    s.amount = 7_777;
    s
}

#[test]
fn console_new_orders_show_at_once_in_the_new_orders_pane() {
    for (w, h) in SIZES {
        let mut a = app_with(Lang::Ja, true, false, w, h);
        let fx = a.update(AppEvent::Store(Arc::new(StoreEvent {
            changes: vec![Change::Instruction(Box::new(arriving(31)))],
            counts: None,
        })));
        assert!(
            fx.is_empty(),
            "nothing is asked: the event is the order ({fx:?})"
        );
        let t = draw(&a);
        let rows = lines(&t);
        let pane = rows
            .iter()
            .position(|l| l.contains("新着"))
            .expect("the 新着 pane");
        assert!(
            rows[pane + 2].contains("100000000031") && rows[pane + 2].contains("新着 太郎"),
            "{w}×{h}: the newest order is on top:\n{}",
            screen(&t)
        );
        assert!(rows[pane + 2].contains("¥7,777") && rows[pane + 2].contains("出荷待ち"));
        let cell = cell_of(&a, "100000000031").expect("drawn");
        assert!(
            cell.modifier.contains(Modifier::BOLD),
            "just arrived: highlighted"
        );
        snap("new_orders", &a);
        // A few seconds later it is an ordinary row (a tick redraws it).
        a.clock = Some(now() + chrono::Duration::seconds(6));
        a.dirty = false;
        a.update(AppEvent::Tick);
        assert!(a.dirty, "the highlight's end is a visible change");
        let cell = cell_of(&a, "100000000031").expect("drawn");
        assert!(
            !cell.modifier.contains(Modifier::BOLD) || cell.modifier.contains(Modifier::REVERSED)
        );
        // Enter opens it.
        let fx = key(&mut a, KeyCode::Enter);
        assert_eq!(
            fx,
            vec![Effect::Call(
                Tag::Detail(31),
                Request::Instruction { id: 31 }
            )]
        );
    }
}

// ------------------------------------------------------------------------------------------
// Messages that age

#[test]
fn console_info_messages_fade_and_errors_stay_until_a_key() {
    let mut a = app();
    a.update(AppEvent::Reply(
        Tag::Done("保留にしました".into()),
        Ok(Reply::Done),
    ));
    assert_eq!(a.status.as_ref().map(|m| m.kind), Some(StatusKind::Info));
    for secs in [1, 4] {
        a.clock = Some(now() + chrono::Duration::seconds(secs));
        a.update(AppEvent::Tick);
        assert!(a.status.is_some(), "still shown after {secs} s");
    }
    a.clock = Some(now() + chrono::Duration::seconds(5));
    a.dirty = false;
    a.update(AppEvent::Tick);
    assert!(a.status.is_none(), "gone after 5 s");
    assert!(a.dirty, "and the screen is redrawn without it");
    // The reconnect message ages the same way.
    a.update(AppEvent::Connection(Some(DisconnectReason::ServerGone)));
    a.update(AppEvent::Connection(None));
    assert_eq!(a.status.as_ref().map(|m| m.kind), Some(StatusKind::Info));
    a.clock = Some(now() + chrono::Duration::seconds(11));
    a.update(AppEvent::Tick);
    assert!(a.status.is_none());
    // An error stays through ticks, and goes with the next key.
    a.update(AppEvent::Reply(
        Tag::Done("x".into()),
        Err(ServiceError::new(ErrorKind::Conflict, "変更されました")),
    ));
    for secs in [20, 60, 600] {
        a.clock = Some(now() + chrono::Duration::seconds(secs));
        a.update(AppEvent::Tick);
        assert_eq!(a.status.as_ref().map(|m| m.kind), Some(StatusKind::Error));
    }
    ch(&mut a, '2');
    assert!(a.status.is_none(), "the next key clears the error");
}

/// `たった今 op2 が…`: 今 takes no particle (it was "たった今 に op2 が").
#[tokio::test]
async fn the_conflict_message_reads_right_in_japanese() {
    let sim = crate::common::start_sim(5, 50).await;
    let (engine, _dir) = crate::common::engine_with_setup(&sim).await;
    let range = crate::common::range_robot(&engine);
    crate::common::run(&engine, range).await;
    let s = engine
        .store()
        .summaries(None)
        .expect("summaries")
        .into_iter()
        .find(|s| s.status == Status::Ready || s.status == Status::AwaitingPayment)
        .expect("an open instruction");
    let op2 = Actor::Operator("op2".into());
    engine
        .hold(s.id, Some(s.version), "確認", &op2)
        .expect("op2 holds");
    let err = engine
        .hold(s.id, Some(s.version), "確認", &crate::common::operator())
        .expect_err("stale version");
    let m = err.to_string();
    assert!(m.contains("たった今 op2 が変更しました"), "{m}");
    assert!(!m.contains("たった今 に"), "{m}");
}

// ------------------------------------------------------------------------------------------
// Error queues always in sight

#[test]
fn console_error_queues_and_every_tab_show_at_80_columns() {
    let mut a = app_with(Lang::Ja, true, false, 80, 24);
    // The newest fetch failed: the header says so, and still shows all five tabs.
    let mut failed = runs().remove(0);
    failed.seq = 99;
    failed.state = RunState::Failed;
    failed.errors = vec!["接続できません".into()];
    a.update(AppEvent::Store(Arc::new(StoreEvent {
        changes: vec![Change::Run(Box::new(failed))],
        counts: None,
    })));
    ch(&mut a, '2');
    goto_queue(&mut a, Queue::Status(Status::AwaitingPayment));
    let t = draw(&a);
    let rows = lines(&t);
    assert!(rows[0].contains("5 ログ"), "{}", rows[0]);
    assert!(
        rows[0].contains("エラー"),
        "the failing sync shows: {}",
        rows[0]
    );
    assert!(
        rows[1].contains("取込エラー 2") && rows[1].contains("実績連携エラー 1"),
        "error queues with entries are pinned in sight: {}",
        rows[1]
    );
    snap("error_queues", &a);
    let mut a = app_with(Lang::En, true, false, 80, 24);
    ch(&mut a, '2');
    let t = draw(&a);
    assert!(lines(&t)[0].contains("5 Log"), "{}", lines(&t)[0]);
}

// ------------------------------------------------------------------------------------------
// The intake-error detail

#[test]
fn console_an_intake_error_has_a_detail_view() {
    for (w, h) in SIZES {
        let mut a = app_with(Lang::Ja, true, false, w, h);
        ch(&mut a, '2');
        goto_queue(&mut a, Queue::IntakeErrors);
        ch(&mut a, 'j');
        let fx = key(&mut a, KeyCode::Enter);
        assert_eq!(
            fx,
            vec![Effect::Call(
                Tag::IntakeError(502),
                Request::IntakeError { id: 502 }
            )]
        );
        // The converter could read the order: its destinations and items show.
        let error = intake_error_records().remove(1);
        let mut preview = detail(2).instruction;
        preview.order_no = error.order_no.clone();
        a.update(AppEvent::Reply(
            Tag::IntakeError(502),
            Ok(Reply::IntakeError(IntakeErrorDetail {
                error,
                preview: Some(preview),
            })),
        ));
        let s = screen(&draw(&a));
        assert!(s.contains("品番(skuNo)のない商品があります"), "{s}");
        assert!(s.contains("R で再取込"), "what fixes it: {s}");
        assert!(
            s.contains("変換ロボットが読み取った受注"),
            "the order as read: {s}"
        );
        if h >= 40 {
            assert!(s.contains("TSHIRT-RED-M"), "its items: {s}");
        }
        snap("intake_detail", &a);
        // r: the raw order as received.
        ch(&mut a, 'r');
        let s = screen(&draw(&a));
        assert!(s.contains("\"orderNo\""), "{s}");
        ch(&mut a, 'r');
        // R retries it; H is not for an intake error.
        assert_eq!(
            requests(&ch(&mut a, 'R')),
            vec![Request::RetryIntake { error_id: 502 }]
        );
        assert!(ch(&mut a, 'H').is_empty());
        // The retry resolved it: the view closes and says so.
        a.update(AppEvent::Store(Arc::new(StoreEvent {
            changes: vec![Change::IntakeError {
                id: 502,
                error: None,
            }],
            counts: None,
        })));
        assert!(a.detail.is_none());
        assert!(
            a.status
                .as_ref()
                .is_some_and(|m| m.kind == StatusKind::Info),
            "{:?}",
            a.status
        );
        assert_eq!(a.visible_ids(), vec![501], "the list lost it too");
    }
    // An order the converter cannot read says so and points at the raw view.
    let mut a = app();
    ch(&mut a, '2');
    goto_queue(&mut a, Queue::IntakeErrors);
    key(&mut a, KeyCode::Enter);
    reply_intake_detail(&mut a, 501);
    let s = screen(&draw(&a));
    assert!(s.contains("読み取れません"), "{s}");
    assert_eq!(
        a.detail.as_ref().map(|d| d.target),
        Some(Open::IntakeError(501))
    );
}

// ------------------------------------------------------------------------------------------
// Grapheme clusters

/// Names with a ZWJ family, a flag and combining marks: every row's right border stays in the
/// last column (a cluster measured wrong would push it).
#[test]
fn console_grapheme_clusters_never_shift_a_border() {
    let names = [
        "👨\u{200d}👩\u{200d}👧 家族のお届け",
        "🇯🇵🇯🇵 日本 太郎",
        "Zoe\u{301} Ame\u{301}lie",
        "👩🏽\u{200d}💻 開発 花子",
    ];
    for (w, h) in SIZES {
        let mut all = summaries();
        for (s, n) in all.iter_mut().zip(names) {
            s.recipient = n.into();
        }
        let mut a = empty_app(Lang::Ja, true, false, w, h);
        load(&mut a, all);
        for tab in ['1', '2'] {
            ch(&mut a, tab);
            let t = draw(&a);
            let buf = t.backend().buffer();
            for y in 0..buf.area.height {
                let row = line(buf, y);
                if row.starts_with('│') || row.starts_with('┌') {
                    let last = buf[(buf.area.width - 1, y)].symbol().to_string();
                    assert!(
                        matches!(last.as_str(), "│" | "┐" | "┘" | "┤"),
                        "{w}×{h} row {y}: the right border moved ({last:?}):\n{}",
                        screen(&t)
                    );
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Typed replies

/// An answer of another kind than asked is an error on screen; what was shown stays.
#[test]
fn console_a_malformed_reply_is_shown_as_an_error() {
    let mut a = app();
    ch(&mut a, '3');
    a.update(AppEvent::Reply(
        Tag::Robots,
        Ok(Reply::Counts(counts(&summaries()))),
    ));
    let m = a.status.clone().expect("a message");
    assert_eq!(m.kind, StatusKind::Error);
    assert!(
        m.text.contains("Robots") && m.text.contains("Counts"),
        "{}",
        m.text
    );
    assert!(a.data.robots.is_some(), "the robots shown before stay");
    let s = screen(&draw(&a));
    assert!(s.contains("✗"), "{s}");
    // A detail answered with something else closes the view with the error.
    ch(&mut a, '2');
    key(&mut a, KeyCode::Enter);
    a.update(AppEvent::Reply(Tag::Detail(1), Ok(Reply::Done)));
    assert!(a.detail.is_none());
    assert_eq!(a.status.as_ref().map(|m| m.kind), Some(StatusKind::Error));
}
