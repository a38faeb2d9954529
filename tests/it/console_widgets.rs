//! The console's drawing helpers: grapheme clusters measured and cut whole, figures never cut,
//! shared prefixes abbreviated, columns sized by content, and a list window that always holds
//! the cursor.

use shukka::tui::keymap::Action;
use shukka::tui::widgets::*;

#[test]
fn clusters_are_measured_and_cut_whole() {
    // A ZWJ family, a flag and a combining mark are one cluster each.
    let family = "👨\u{200d}👩\u{200d}👧";
    assert_eq!(width(family), 2);
    assert_eq!(width("🇯🇵"), 2);
    assert_eq!(width("e\u{301}"), 1);
    let cut = fit(&format!("ab{family}cd"), 4);
    assert!(!cut.contains('\u{200d}') || cut.contains(family), "{cut:?}");
    assert!(width(&cut) <= 4);
    assert_eq!(fit("🇯🇵🇯🇵🇯🇵", 5), "🇯🇵🇯🇵…");
}

#[test]
fn a_figure_is_never_cut() {
    let t = with_figure(&["受注数 (直近24時間・1時間ごと)", "受注数/24h"], "403", 20);
    assert!(t.ends_with(" 403"), "{t}");
    assert!(width(&t) <= 20);
    let t = with_figure(&["a very long label"], "12345", 8);
    assert!(t.ends_with("12345"), "{t}");
}

#[test]
fn shared_prefixes_go_first() {
    let names = [
        "【自動連携】futureshop 出荷指示取得(差分)",
        "【自動連携】futureshop ステータス同期",
        "商品マスタ取得",
    ];
    let out = abbreviate(&names, 20);
    assert_eq!(out[0], "…出荷指示取得(差分)");
    assert_eq!(out[1], "…ステータス同期");
    assert_eq!(out[2], "商品マスタ取得");
}

#[test]
fn columns_cut_text_before_dropping_and_never_cut_figures() {
    let cols = [
        Col::figure(12),
        Col::text(20, 8),
        Col::figure(9),
        Col::text(16, 6).droppable(1),
        Col::text(30, 6).grow(),
    ];
    let w = columns(&cols, 120, 1);
    assert_eq!(w[0], Some(12));
    assert_eq!(w[2], Some(9));
    assert_eq!(w.iter().flatten().sum::<usize>() + 4, 120);
    let w = columns(&cols, 50, 1);
    assert_eq!(w[0], Some(12));
    assert_eq!(w[2], Some(9));
    assert!(w.iter().flatten().sum::<usize>() + 4 <= 50);
    let w = columns(&cols, 40, 1);
    assert_eq!(
        w[3], None,
        "the droppable column goes when minimums do not fit"
    );
    assert_eq!(w[2], Some(9));
}

#[test]
fn the_window_always_holds_the_cursor() {
    let mut l = ListView::default();
    l.cursor = 30;
    let r = l.window(40, 10);
    assert!(r.contains(&30));
    assert_eq!(l.height(99), 10);
    l.apply(Action::PageDown, 40, 99);
    assert_eq!(l.cursor, 39);
}
