//! Rendering: snapshots of every screen at 80×24 and 120×40 (TestBackend + insta), NO_COLOR,
//! wide characters and hostile strings, 100,000 rows, and the terminal cursor on the focused
//! input.

use crossterm::event::KeyCode;
use ratatui::style::{Color, Modifier};
use shukka::tui::app::App;
use shukka::tui::text::Lang;
use unicode_width::UnicodeWidthStr;

use crate::console_fixtures::*;

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn snap(name: &str, app: &App) {
    let t = draw(app);
    let (w, h) = app.size;
    insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(&t));
}

/// Builds the app at each size with `setup` and snapshots it.
fn snap_sizes(name: &str, lang: Lang, setup: impl Fn(&mut App)) {
    for (w, h) in SIZES {
        let mut a = app_with(lang, true, false, w, h);
        setup(&mut a);
        snap(name, &a);
    }
}

// ------------------------------------------------------------------------------------------
// Snapshots

#[test]
fn console_render_dashboard() {
    snap_sizes("dashboard", Lang::Ja, |_| {});
    snap_sizes("dashboard_en", Lang::En, |_| {});
}

#[test]
fn console_render_orders() {
    snap_sizes("orders", Lang::Ja, |a| {
        ch(a, '2');
        ch(a, 'j');
        ch(a, 'j');
    });
    snap_sizes("orders_en", Lang::En, |a| {
        ch(a, '2');
        ch(a, 'j');
    });
    snap_sizes("orders_held", Lang::Ja, |a| {
        ch(a, '2');
        ch(a, 'h');
    });
    snap_sizes("orders_shipped", Lang::Ja, |a| {
        ch(a, '2');
        ch(a, 'l');
        ch(a, 'l');
    });
}

#[test]
fn console_render_orders_filtered_and_marked() {
    snap_sizes("orders_filter", Lang::Ja, |a| {
        ch(a, '2');
        ch(a, '/');
        typ(a, "cod");
    });
    snap_sizes("orders_marks", Lang::Ja, |a| {
        ch(a, '2');
        ch(a, ' ');
        ch(a, 'j');
        ch(a, ' ');
        ch(a, ' ');
    });
    snap_sizes("orders_intake", Lang::Ja, |a| {
        ch(a, '2');
        for _ in 0..4 {
            ch(a, 'l');
        }
    });
}

#[test]
fn console_render_detail_and_raw() {
    snap_sizes("detail", Lang::Ja, |a| {
        ch(a, '2');
        key(a, KeyCode::Enter);
        reply_detail(a, 1);
    });
    snap_sizes("detail_en", Lang::En, |a| {
        ch(a, '2');
        key(a, KeyCode::Enter);
        reply_detail(a, 1);
    });
    snap_sizes("detail_raw", Lang::Ja, |a| {
        ch(a, '2');
        key(a, KeyCode::Enter);
        reply_detail(a, 1);
        ch(a, 'r');
    });
}

#[test]
fn console_render_robots_setup_log() {
    snap_sizes("robots", Lang::Ja, |a| {
        ch(a, '3');
        ch(a, 'l');
    });
    snap_sizes("robots_en", Lang::En, |a| {
        ch(a, '3');
        ch(a, 'l');
    });
    snap_sizes("setup", Lang::Ja, |a| {
        ch(a, '4');
    });
    snap_sizes("setup_en", Lang::En, |a| {
        ch(a, '4');
    });
    snap_sizes("log_runs", Lang::Ja, |a| {
        ch(a, '5');
    });
    snap_sizes("log_audit", Lang::Ja, |a| {
        ch(a, '5');
        ch(a, 'l');
    });
}

#[test]
fn console_render_popups() {
    snap_sizes("help", Lang::Ja, |a| {
        ch(a, '2');
        ch(a, '?');
    });
    snap_sizes("confirm_cancel", Lang::Ja, |a| {
        ch(a, '2');
        ch(a, ' ');
        ch(a, ' ');
        ch(a, 'C');
    });
    snap_sizes("form_auth", Lang::Ja, |a| {
        ch(a, '4');
        ch(a, 'A');
        for _ in 0..3 {
            key(a, KeyCode::Tab);
        }
        typ(a, "s3cr3t-value");
    });
    snap_sizes("input_hold", Lang::Ja, |a| {
        ch(a, '2');
        ch(a, 'H');
        typ(a, "住所不備");
    });
    snap_sizes("picker", Lang::Ja, |a| {
        ch(a, '3');
        ch(a, 'l');
        ch(a, 'a');
    });
    snap_sizes("dry_run", Lang::Ja, |a| {
        ch(a, '3');
        ch(a, 'l');
        reply_dry_run(a, "ID:5 テスト");
    });
}

#[test]
fn console_render_too_small() {
    let a = app_with(Lang::Ja, true, false, 60, 20);
    snap("too_small", &a);
    let t = draw(&a);
    assert!(screen(&t).contains("60×20"));
    // One column or row short is still too small.
    for (w, h) in [(79, 24), (80, 23)] {
        let a = app_with(Lang::Ja, true, false, w, h);
        assert!(screen(&draw(&a)).contains("端末が小さすぎます"), "{w}×{h}");
    }
}

#[test]
fn console_render_secret_is_never_shown() {
    let mut a = app_with(Lang::Ja, true, false, 80, 24);
    ch(&mut a, '4');
    ch(&mut a, 'A');
    for _ in 0..3 {
        key(&mut a, KeyCode::Tab);
    }
    typ(&mut a, "s3cr3t-value");
    let s = screen(&draw(&a));
    assert!(!s.contains("s3cr3t"), "{s}");
    assert!(s.contains(&"•".repeat("s3cr3t-value".len())), "{s}");
    assert!(s.contains("登録済み"), "a stored secret is announced: {s}");
}

#[test]
fn console_render_confirm_dialog_names_targets_and_count() {
    let mut a = app_with(Lang::Ja, true, false, 80, 24);
    ch(&mut a, '2');
    ch(&mut a, ' ');
    ch(&mut a, ' ');
    ch(&mut a, 'C');
    let t = draw(&a);
    let s = screen(&t);
    assert!(
        s.contains("100000000001") && s.contains("100000000002"),
        "{s}"
    );
    assert!(s.contains("(2 件)"), "{s}");
    // The focused button (Cancel) is the reversed one.
    let buf = t.backend().buffer();
    let y = find_row(&t, "やめる").expect("buttons");
    let no_x = find_x(buf, y, "[ やめる").expect("cancel button");
    let yes_x = find_x(buf, y, "[ 実行").expect("yes button");
    assert!(buf[(no_x, y)].modifier.contains(Modifier::REVERSED));
    assert!(!buf[(yes_x, y)].modifier.contains(Modifier::REVERSED));
}

// ------------------------------------------------------------------------------------------
// NO_COLOR

fn cursor_row_reversed(a: &App) -> bool {
    let t = draw(a);
    let buf = t.backend().buffer();
    let no = a.selected_id().map(order_no).expect("a cursor row");
    let y = find_row(&t, &no).expect("cursor row on screen");
    let x0 = find_x(buf, y, &no).expect("order number");
    row_reversed(buf, y, x0, buf.area.width - 1)
}

/// Every visible cell of row `y` in `x0..x1` is reversed (cells hidden under a wide character
/// are skipped: the terminal draws the character's own style there).
fn row_reversed(buf: &ratatui::buffer::Buffer, y: u16, x0: u16, x1: u16) -> bool {
    let mut x = x0;
    while x < x1 {
        let c = &buf[(x, y)];
        if !c.modifier.contains(Modifier::REVERSED) {
            return false;
        }
        x += c.symbol().width().max(1) as u16;
    }
    true
}

/// The row showing `text` is on screen and is the (reversed) cursor row.
fn cursor_on(t: &ratatui::Terminal<ratatui::backend::TestBackend>, text: &str) -> bool {
    let buf = t.backend().buffer();
    lines(t).iter().enumerate().any(|(y, l)| {
        let y = y as u16;
        l.contains(text)
            && find_x(buf, y, text)
                .is_some_and(|x| row_reversed(buf, y, x, x + text.width() as u16))
    })
}

#[test]
fn console_render_no_color_keeps_reverse_and_uses_no_colour() {
    let mut a = app_with(Lang::Ja, false, false, 80, 24);
    ch(&mut a, '2');
    ch(&mut a, 'j');
    ch(&mut a, ' '); // a marked row too
    assert!(
        cursor_row_reversed(&a),
        "NO_COLOR: the cursor row is reversed"
    );
    for screen_key in ['1', '2', '3', '4', '5'] {
        ch(&mut a, screen_key);
        let t = draw(&a);
        for (i, c) in t.backend().buffer().content.iter().enumerate() {
            assert_eq!(
                (c.fg, c.bg),
                (Color::Reset, Color::Reset),
                "screen {screen_key}: cell {i} {:?} has a colour",
                c.symbol()
            );
        }
    }
    // Popups too.
    ch(&mut a, '2');
    ch(&mut a, 'C');
    for c in draw(&a).backend().buffer().content.iter() {
        assert_eq!((c.fg, c.bg), (Color::Reset, Color::Reset));
    }

    let mut a = app_with(Lang::Ja, true, false, 80, 24);
    ch(&mut a, '2');
    ch(&mut a, 'j');
    assert!(
        cursor_row_reversed(&a),
        "colour: the cursor row is reversed"
    );
    assert!(
        draw(&a)
            .backend()
            .buffer()
            .content
            .iter()
            .any(|c| c.fg != Color::Reset),
        "colour mode uses colours"
    );
}

// ------------------------------------------------------------------------------------------
// Wide characters and hostile strings

#[test]
fn console_render_wide_and_hostile_text_is_safe_and_aligned() {
    for (w, h) in SIZES {
        let mut a = app_with(Lang::Ja, true, false, w, h);
        ch(&mut a, '2');
        let t = draw(&a);
        let buf = t.backend().buffer();
        for (i, c) in buf.content.iter().enumerate() {
            assert!(
                !c.symbol().chars().any(char::is_control),
                "cell {i} holds a control character {:?}",
                c.symbol()
            );
        }
        let s = screen(&t);
        assert!(!s.contains('\u{1b}') && !s.contains('\u{7}'));
        assert!(
            s.contains("攻撃者␛]0;x␇"),
            "the hostile name is shown with placeholders:\n{s}"
        );
        assert!(s.contains("🎁"), "emoji shown");
        // The 都道府県 column starts at the same x in every row, whatever came before it.
        let header_y = find_row(&t, "都道府県").expect("header");
        let px = find_x(buf, header_y, "都道府県").expect("header x");
        let ax = find_x(buf, header_y, "金額").expect("amount header");
        let mut amount_ends = Vec::new();
        for id in 1..=10u64 {
            let s = summary(id);
            let pref = shukka::futureshop::prefecture::prefecture_ja(&s.prefecture)
                .expect("known prefecture");
            let y = find_row(&t, &order_no(id)).expect("row on screen");
            assert_eq!(
                find_x(buf, y, pref),
                Some(px),
                "row {id} ({}): 都道府県 column moved",
                s.recipient.escape_debug()
            );
            // Amounts are right-aligned under their header: the last digit in the same column.
            let yen = shukka::textfmt::yen(s.amount);
            let x = find_x(buf, y, &yen).expect("amount");
            assert!(x >= ax, "row {id}: amount starts left of its header");
            amount_ends.push(x + yen.width() as u16);
        }
        assert_eq!(amount_ends.len(), 10);
        assert!(
            amount_ends.iter().all(|e| *e == amount_ends[0]),
            "amounts are right-aligned: {amount_ends:?}"
        );
    }
    // The detail shows the whole hostile name, escaped, and nothing else of it leaks.
    let mut a = app_with(Lang::Ja, true, false, 120, 40);
    ch(&mut a, '2');
    for _ in 0..3 {
        ch(&mut a, 'j');
    }
    assert_eq!(a.selected_id(), Some(4));
    key(&mut a, KeyCode::Enter);
    reply_detail(&mut a, 4);
    let t = draw(&a);
    assert!(
        t.backend()
            .buffer()
            .content
            .iter()
            .all(|c| !c.symbol().chars().any(char::is_control))
    );
    assert!(
        screen(&t).contains("攻撃者␛]0;x␇␛[2Jテスト"),
        "{}",
        screen(&t)
    );
}

// ------------------------------------------------------------------------------------------
// 100,000 rows

#[test]
fn console_render_hundred_thousand_rows() {
    const N: u64 = 100_000;
    let mut a = empty_app(Lang::Ja, true, false, 200, 50);
    load(&mut a, many(N));
    ch(&mut a, '2');
    // The list's height is the one drawn: tabs, queue tabs, header, borders, status, hints.
    draw(&a);
    let h = a.orders.list.height(0);
    assert_eq!(h, 43);
    let check = |a: &App, first: u64, last: u64, cursor: u64| {
        let s = &a.orders.list;
        assert!(s.offset <= s.cursor && s.cursor < s.offset + h, "{s:?}");
        let t = draw(a);
        let rows: Vec<String> = lines(&t)
            .into_iter()
            .filter(|l| l.starts_with('│') && l.chars().nth(3).is_some_and(|c| c.is_ascii_digit()))
            .collect();
        assert_eq!(rows.len(), h, "a full page of rows:\n{}", screen(&t));
        assert!(
            rows[0].contains(&order_no(first)),
            "first row {}: {}",
            order_no(first),
            rows[0]
        );
        assert!(
            rows[h - 1].contains(&order_no(last)),
            "last row {}: {}",
            order_no(last),
            rows[h - 1]
        );
        assert_eq!(a.selected_id(), Some(cursor));
        assert!(cursor_row_reversed(a));
    };
    check(&a, 1, 43, 1);
    ch(&mut a, 'G');
    assert_eq!(a.orders.list.cursor, (N - 1) as usize);
    check(&a, N - 42, N, N);
    key(&mut a, KeyCode::PageUp);
    check(&a, N - 43, N - 1, N - 43);
    ch(&mut a, 'j');
    check(&a, N - 43, N - 1, N - 42);
    ctrl(&mut a, 'b');
    check(&a, N - 85, N - 43, N - 85);
    ch(&mut a, 'g');
    check(&a, 1, 43, 1);
    key(&mut a, KeyCode::PageDown);
    check(&a, 2, 44, 44);
    // A filter over 100k rows narrows to the matching ones.
    ch(&mut a, '/');
    typ(&mut a, "顧客 9999");
    let want: Vec<u64> = (1..=N)
        .filter(|id| id % 3 == 0 && id.to_string().contains("9999"))
        .collect();
    assert_eq!(want.len(), 7);
    assert_eq!(a.visible_ids(), want);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.visible_len(), N as usize);
    // Ctrl-a and a bulk action over everything still name only a few order numbers.
    ctrl(&mut a, 'a');
    ch(&mut a, 'C');
    let s = screen(&draw(&a));
    assert!(s.contains("他 99997 件"), "{s}");
    assert!(s.contains("(100000 件)"), "{s}");
}

// ------------------------------------------------------------------------------------------
// The terminal cursor on the focused input

#[test]
fn console_render_cursor_sits_after_typed_japanese() {
    for (w, h) in SIZES {
        // The hold reason input.
        let mut a = app_with(Lang::Ja, true, false, w, h);
        ch(&mut a, '2');
        ch(&mut a, 'H');
        typ(&mut a, "住所不備");
        let mut t = draw(&a);
        let buf = t.backend().buffer().clone();
        let y = find_row(&t, "保留理由: 住所不備").expect("input line");
        let x = find_x(&buf, y, "保留理由: ").expect("label");
        let want = (x + "保留理由: ".width() as u16 + 8, y);
        let pos = t.get_cursor_position().expect("cursor");
        assert!(
            t.backend().cursor_visible(),
            "the cursor is shown on the input"
        );
        assert_eq!(
            (pos.x, pos.y),
            want,
            "{w}×{h}: cursor after 住所不備 (8 cells)"
        );
        // Moving left by one character moves two cells.
        key(&mut a, KeyCode::Left);
        let mut t = draw(&a);
        assert_eq!(t.get_cursor_position().expect("cursor").x, want.0 - 2);

        // The filter line.
        let mut a = app_with(Lang::Ja, true, false, w, h);
        ch(&mut a, '2');
        ch(&mut a, '/');
        typ(&mut a, "東京 cod");
        let mut t = draw(&a);
        let buf = t.backend().buffer().clone();
        let y = find_row(&t, "絞り込み: 東京 cod").expect("filter line");
        let x = find_x(&buf, y, "絞り込み: ").expect("label");
        let pos = t.get_cursor_position().expect("cursor");
        assert_eq!(
            (pos.x, pos.y),
            (
                x + "絞り込み: ".width() as u16 + "東京 cod".width() as u16,
                y
            ),
            "{w}×{h}: filter cursor"
        );

        // The command line.
        let mut a = app_with(Lang::Ja, true, false, w, h);
        ch(&mut a, ':');
        typ(&mut a, "goto 出荷待ち");
        let mut t = draw(&a);
        let y = find_row(&t, ":goto 出荷待ち").expect("command line");
        let pos = t.get_cursor_position().expect("cursor");
        assert_eq!(
            (pos.x, pos.y),
            (1 + "goto 出荷待ち".width() as u16, y),
            "{w}×{h}: command cursor"
        );

        // A form field (the ship-from name, Japanese).
        let mut a = app_with(Lang::Ja, true, false, w, h);
        ch(&mut a, '4');
        ch(&mut a, 'f');
        let mut t = draw(&a);
        let buf = t.backend().buffer().clone();
        let y = lines(&t)
            .iter()
            .position(|l| l.contains("名称") && l.contains("本店倉庫"))
            .expect("form field") as u16;
        let x = find_x(&buf, y, "名称").expect("label") + 21;
        assert_eq!(
            buf[(x, y)].symbol(),
            "本",
            "the value starts after the label column"
        );
        let pos = t.get_cursor_position().expect("cursor");
        assert_eq!(
            (pos.x, pos.y),
            (x + 8, y),
            "{w}×{h}: form cursor after 本店倉庫"
        );

        // No input focused: the cursor is hidden.
        let mut a = app_with(Lang::Ja, true, false, w, h);
        ch(&mut a, '2');
        let t = draw(&a);
        assert!(!t.backend().cursor_visible());
    }
}

// ------------------------------------------------------------------------------------------
// Long lists on the other screens: the cursor never leaves the screen

fn many_runs(n: u64) -> Vec<shukka::domain::RunLogEntry> {
    let base = runs().remove(0);
    (1..=n)
        .rev()
        .map(|seq| shukka::domain::RunLogEntry {
            seq,
            robot_name: format!("ロボット{seq:03}"),
            started: now() - chrono::Duration::minutes(n as i64 - seq as i64),
            ..base.clone()
        })
        .collect()
}

#[test]
fn console_render_log_cursor_stays_on_screen() {
    for (w, h) in SIZES {
        let mut a = app_with(Lang::Ja, true, false, w, h);
        a.update(shukka::tui::app::AppEvent::Reply(
            shukka::tui::app::Tag::Runs,
            Ok(shukka::service::Reply::Runs(many_runs(60))),
        ));
        ch(&mut a, '5');
        for i in 0..60u64 {
            let t = draw(&a);
            let name = format!("ロボット{:03}", 60 - i);
            assert!(
                cursor_on(&t, &name),
                "{w}×{h}: after {i} × j the cursor row {name} is not on screen:\n{}",
                screen(&t)
            );
            ch(&mut a, 'j');
        }
        // Filtering from the bottom of the list shows the matching rows.
        ch(&mut a, '/');
        typ(&mut a, "ロボット059");
        key(&mut a, KeyCode::Enter);
        let t = draw(&a);
        assert!(
            cursor_on(&t, "ロボット059"),
            "{w}×{h}: filtered row not shown:\n{}",
            screen(&t)
        );
    }
}

#[test]
fn console_render_robot_panes_cursor_stays_on_screen() {
    for (w, h) in SIZES {
        let mut a = app_with(Lang::Ja, true, false, w, h);
        let mut view = robots_view();
        let std = shukka::robots::converter::Converter::standard();
        for id in 18028..18034 {
            let mut c = std.duplicate(id);
            c.name = format!("変換{id}");
            view.converters.push(c);
        }
        a.update(shukka::tui::app::AppEvent::Reply(
            shukka::tui::app::Tag::Robots,
            Ok(shukka::service::Reply::Robots(view.clone())),
        ));
        ch(&mut a, '3');
        for c in &view.converters {
            let t = draw(&a);
            assert!(
                cursor_on(&t, &c.id.to_string()),
                "{w}×{h}: converter {} not on screen:\n{}",
                c.id,
                screen(&t)
            );
            ch(&mut a, 'j');
        }
        ch(&mut a, 'l');
        for p in &view.processing {
            let t = draw(&a);
            // "# ID" at the start of the row: run order and id (columns as wide as they hold).
            let pos = view
                .processing
                .iter()
                .position(|x| x.id == p.id)
                .expect("pos");
            let needle = format!("{} {:<2} ", pos + 1, p.id);
            assert!(
                cursor_on(&t, &needle),
                "{w}×{h}: processing {} not on screen:\n{}",
                p.id,
                screen(&t)
            );
            ch(&mut a, 'j');
        }
        ch(&mut a, 'l');
        for l in &view.linkage {
            let t = draw(&a);
            assert!(
                cursor_on(&t, &l.robot.id.to_string()),
                "{w}×{h}: linkage {} not on screen:\n{}",
                l.robot.id,
                screen(&t)
            );
            ch(&mut a, 'j');
        }
    }
}

#[test]
fn console_render_setup_cursor_stays_on_screen() {
    for (w, h) in SIZES {
        let mut a = app_with(Lang::Ja, true, false, w, h);
        ch(&mut a, '4');
        for item in checklist() {
            let t = draw(&a);
            let title = format!(
                "{}. {}",
                item.number,
                item.title.chars().take(6).collect::<String>()
            );
            assert!(
                cursor_on(&t, &title),
                "{w}×{h}: item {} not on screen:\n{}",
                item.number,
                screen(&t)
            );
            ch(&mut a, 'j');
        }
    }
}

/// A long refusal (one that says what to do) wraps onto more rows of the status line instead of
/// losing its end at the terminal's edge; a short one keeps one row; the hint bar stays last.
#[test]
fn console_render_a_long_status_message_is_shown_whole() {
    use shukka::service::{ErrorKind, ServiceError};
    use shukka::tui::app::{AppEvent, Effect};
    let english = "ID:18025 出荷指示登録(futureshop API用) is the standard converter robot and cannot be changed: duplicate it (d) and change the copy";
    for (lang, w) in [(Lang::En, 80u16), (Lang::En, 120), (Lang::Ja, 80)] {
        let mut a = app_with(lang, true, false, w, 24);
        ch(&mut a, '3');
        let Some(Effect::Call(tag, _)) = ch(&mut a, 'e').into_iter().next() else {
            panic!("e calls the server");
        };
        let mut e = ServiceError::new(
            ErrorKind::Refused,
            "ID:18025 出荷指示登録(futureshop API用) は標準の変換ロボットのため変更できません: 複製して使ってください",
        );
        e.message_en = english.into();
        a.update(AppEvent::Reply(tag, Err(e.clone())));
        let t = draw(&a);
        let rows = lines(&t);
        let hints = rows.last().expect("rows");
        assert!(
            hints.contains(if lang == Lang::En { "quit" } else { "終了" }),
            "{hints}"
        );
        let first = rows
            .iter()
            .position(|r| r.starts_with("✗ "))
            .expect("the status line shows the refusal");
        let shown: Vec<&str> = rows[first..rows.len() - 1]
            .iter()
            .map(|r| r.trim())
            .collect();
        assert!(
            shown.len() > 1,
            "{w} columns: wraps onto {} rows",
            shown.len()
        );
        assert!(shown.len() <= 3, "{shown:?}");
        let expected = match lang {
            Lang::En => format!("✗ Refused: {english}"),
            Lang::Ja => format!("✗ {}", e.message),
        };
        // Wrapping happens at spaces, which the row ends drop.
        let no_spaces = |s: &str| s.replace(' ', "");
        assert_eq!(
            no_spaces(&shown.concat()),
            no_spaces(&expected),
            "{w} columns"
        );
        if lang == Lang::En {
            assert_eq!(shown.join(" "), expected, "{w} columns");
        }
        // The body gave up the rows: its bottom border is right above the message.
        assert!(rows[first - 1].starts_with('└'), "{}", rows[first - 1]);
    }

    // A short message keeps the single status row.
    let mut a = app_with(Lang::En, true, false, 80, 24);
    ch(&mut a, '3');
    let Some(Effect::Call(tag, _)) = ch(&mut a, 'e').into_iter().next() else {
        panic!("e calls the server");
    };
    a.update(AppEvent::Reply(
        tag,
        Err(ServiceError::new(ErrorKind::Busy, "busy")),
    ));
    let rows = lines(&draw(&a));
    assert!(rows[22].starts_with("✗ Busy: busy"), "{}", rows[22]);
    assert!(rows[21].starts_with('└'), "{}", rows[21]);
}

/// A very long remote field (a 2,000-character note) is cut with … in the detail view; the raw
/// view still holds all of it.
#[test]
fn console_render_long_remote_fields_are_cut_in_the_detail() {
    let mut a = app_with(Lang::Ja, true, false, 120, 40);
    ch(&mut a, '2');
    key(&mut a, KeyCode::Enter);
    let mut d = detail(1);
    let note = format!("{}END", "置き配希望。".repeat(340));
    d.instruction.notes = Some(note.clone());
    a.update(shukka::tui::app::AppEvent::Reply(
        shukka::tui::app::Tag::Detail(1),
        Ok(shukka::service::Reply::Detail(d)),
    ));
    let s = screen(&draw(&a));
    assert!(s.contains('…'), "{s}");
    assert!(!s.contains("END"), "the end of the note is not drawn");
    let shown = s.matches("置き配希望").count();
    assert!(
        shown * "置き配希望。".chars().count() <= shukka::tui::widgets::FIELD_CHARS + 10,
        "{shown}"
    );
}

/// 出荷済み and キャンセル say where the older ones went; the live queues do not.
#[test]
fn console_render_shipped_says_how_many_are_archived() {
    for (lang, want) in [
        (
            Lang::Ja,
            "古い出荷済み・キャンセル 12345 件はアーカイブにあります",
        ),
        (
            Lang::En,
            "12345 older shipped and cancelled instructions are in the archive",
        ),
    ] {
        let mut a = app_with(lang, true, false, 160, 40);
        a.data.counts.archived = 12345;
        ch(&mut a, '2');
        let ready = screen(&draw(&a));
        assert!(
            !ready.contains("12345"),
            "出荷待ち names the archive:\n{ready}"
        );
        ch(&mut a, 'l');
        ch(&mut a, 'l');
        let shipped = screen(&draw(&a));
        assert!(shipped.contains(want), "{shipped}");
        assert!(shipped.contains("shukka archive search"), "{shipped}");
        a.data.counts.archived = 0;
        let none = screen(&draw(&a));
        assert!(!none.contains("archive search"), "{none}");
    }
}

/// A `j` that scrolls the 出荷指示 table by one row draws the same lines one row up (columns
/// stay put as values of other widths come into view): what lets the terminal move them
/// instead of repainting (`tui/scroll.rs`).
#[test]
fn console_render_a_one_row_scroll_is_the_same_lines_one_row_up() {
    let (w, h) = (200, 50);
    let mut a = empty_app(Lang::Ja, true, false, w, h);
    let mut rows = many(400);
    for (n, r) in rows.iter_mut().enumerate() {
        // Names and amounts of every width, as a real shop has.
        r.recipient = "長谷川".repeat(1 + n % 4) + " 千尋";
        r.amount = 10_i64.pow(2 + (n % 5) as u32) + n as i64;
        r.prefecture = ["TOKYO", "KANAGAWA", "HOKKAIDO"][n % 3].into();
    }
    load(&mut a, rows);
    ch(&mut a, '2');
    // To the last visible row; from there each j scrolls.
    for _ in 0..(h - 8) {
        ch(&mut a, 'j');
    }
    let mut before = draw(&a).backend().buffer().clone();
    // The same frames through the console's backend, as a terminal would receive them.
    let mut term = ratatui::Terminal::new(shukka::tui::scroll::ScrollingBackend::with_size(
        Vec::new(),
        w,
        h,
    ))
    .expect("term");
    term.draw(|f| a.render(f)).expect("draw");
    let mut written = term.backend().writer().len();
    let mut per_scroll = Vec::new();
    for step in 0..20 {
        ch(&mut a, 'j');
        let after = draw(&a).backend().buffer().clone();
        term.draw(|f| a.render(f)).expect("draw");
        let now = term.backend().writer().len();
        per_scroll.push(now - written);
        written = now;
        let line = |b: &ratatui::buffer::Buffer, y: u16| -> Vec<ratatui::buffer::Cell> {
            (0..w).map(|x| b[(x, y)].clone()).collect()
        };
        // The body: rows whose text moved up by one, style included, except around the
        // cursor (its highlight moves with it).
        let moved = (0..h - 1)
            .filter(|y| {
                line(&after, *y) == line(&before, y + 1) && line(&after, *y) != line(&before, *y)
            })
            .count();
        assert!(
            moved >= usize::from(h) - 14,
            "step {step}: only {moved} lines are the previous frame's one row up"
        );
        before = after;
    }
    eprintln!("bytes per one-row scroll at {w}×{h}: {per_scroll:?}");
    assert!(
        per_scroll.iter().all(|n| *n <= 4096),
        "a one-row scroll at 200×50 wrote more than 4 KB: {per_scroll:?}"
    );
}
