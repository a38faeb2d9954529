//! The console's scrolling backend (`src/tui/scroll.rs`): what a terminal emulator makes of its
//! output is every frame exactly, and a one-row scroll costs a fraction of a repaint.

use ratatui::Terminal;
use ratatui::layout::Constraint;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Borders, Row, Table};
use shukka::tui::scroll::ScrollingBackend;

const W: u16 = 60;
const H: u16 = 20;

/// A bordered table of `rows` from `first`, the cursor row reversed, a status line below.
fn frame(f: &mut ratatui::Frame, first: usize, cursor: usize, status: &str) {
    let [table, line] =
        ratatui::layout::Layout::vertical([Constraint::Min(1), Constraint::Length(1)])
            .areas(f.area());
    let visible = usize::from(table.height) - 2;
    let rows = (first..first + visible).map(|n| {
        let r = Row::new(vec![
            format!("{:012}", 100_000_000_000u64 + n as u64),
            format!("山田 太郎{n}"),
            format!("¥{}", n * 1_000),
        ]);
        if n == cursor {
            r.style(Style::new().add_modifier(Modifier::REVERSED))
        } else {
            r
        }
    });
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(13),
                Constraint::Length(14),
                Constraint::Min(5),
            ],
        )
        .block(Block::new().borders(Borders::ALL).title(" 出荷待ち ")),
        table,
    );
    f.render_widget(ratatui::widgets::Paragraph::new(status), line);
}

/// Every frame of a session, drawn through the scrolling backend and read back by a
/// terminal emulator, shows exactly what ratatui meant; a scroll by one costs a fraction
/// of a repaint.
#[test]
fn console_scroll_what_the_terminal_shows_is_the_frame_and_scrolls_are_cheap() {
    let mut t = Terminal::new(ScrollingBackend::with_size(Vec::new(), W, H)).expect("term");
    let mut plain = Terminal::new(ratatui::backend::TestBackend::new(W, H)).expect("plain");
    let nz = |n: u16| std::num::NonZeroU16::new(n).expect("size");
    let mut parser = vt100::Parser::new(nz(H), nz(W), 0);
    let mut read = 0;
    // (first visible row, cursor row, status): moves down, scrolls down, scrolls up,
    // jumps, and a status change with a scroll.
    let mut steps = vec![(0, 0, "")];
    for c in 1..17 {
        steps.push((0, c, ""));
    }
    for first in 1..8 {
        steps.push((first, first + 16, ""));
    }
    for first in (0..7).rev() {
        steps.push((first, first, "上へ"));
    }
    steps.push((40, 45, "ジャンプ"));
    steps.push((41, 57, "保留しました"));
    steps.push((42, 58, "保留しました"));
    let mut scroll_bytes = Vec::new();
    for (i, (first, cursor, status)) in steps.iter().enumerate() {
        t.draw(|f| frame(f, *first, *cursor, status)).expect("draw");
        plain
            .draw(|f| frame(f, *first, *cursor, status))
            .expect("draw");
        let bytes = t.backend().writer();
        parser.process(&bytes[read..]);
        let written = bytes.len() - read;
        read = bytes.len();
        let want = plain.backend().buffer();
        for y in 0..H {
            let mut line = String::new();
            let mut x = 0;
            while x < W {
                let sym = want[(x, y)].symbol();
                line.push_str(sym);
                x += unicode_width::UnicodeWidthStr::width(sym).max(1) as u16;
            }
            let got = parser
                .screen()
                .rows(0, W)
                .nth(usize::from(y))
                .unwrap_or_default();
            assert_eq!(got.trim_end(), line.trim_end(), "step {i}, line {y}");
            for x in 0..W {
                let reversed = want[(x, y)].modifier.contains(Modifier::REVERSED);
                if let Some(c) = parser.screen().cell(y, x)
                    && !c.is_wide_continuation()
                {
                    assert_eq!(c.inverse(), reversed, "step {i}, cell {x},{y}");
                }
            }
        }
        if i > 0 && steps[i - 1].0 + 1 == *first && *first <= 8 {
            scroll_bytes.push(written);
        }
    }
    eprintln!("bytes per one-row scroll: {scroll_bytes:?}");
    // A repaint of the table's rows costs about W × 18 bytes; a scroll, a few rows.
    assert!(!scroll_bytes.is_empty());
    for n in &scroll_bytes {
        assert!(*n < usize::from(W) * 4, "a one-row scroll wrote {n} bytes");
    }
}
