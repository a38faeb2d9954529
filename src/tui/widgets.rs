//! Drawing helpers every screen shares: outside text made safe, text measured and cut by
//! grapheme cluster (as ratatui draws it), labels shortened before figures, column widths from
//! what the columns hold, and a list position whose height is the one last drawn.

use std::borrow::Cow;
use std::cell::Cell;
use std::ops::Range;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Clear};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use super::keymap::Action;
use super::theme::Theme;

/// Outside text, made safe for the terminal.
pub fn safe(s: &str) -> Cow<'_, str> {
    crate::sanitize::sanitize(s)
}

/// Longest remote field the detail view shows whole, in characters; the raw view (`r`) shows
/// everything.
pub const FIELD_CHARS: usize = 300;

/// Outside text for the detail view: safe, and cut with `…` past [`FIELD_CHARS`].
pub fn safe_field(s: &str) -> String {
    let s = safe(s);
    match s.char_indices().nth(FIELD_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.into_owned(),
    }
}

/// Display cells of `s`, counted the way the terminal buffer draws it: one grapheme cluster at
/// a time (a flag, a ZWJ family or a letter with combining marks is one cluster).
pub fn width(s: &str) -> usize {
    crate::textfmt::width(s)
}

/// `s` cut to `w` cells, whole clusters only, marked with `…` where it was cut.
pub fn fit(s: &str, w: usize) -> String {
    crate::textfmt::truncate(s, w)
}

/// `s` broken into lines of at most `w` cells (whole clusters; at a space when one is near).
pub fn wrap(s: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut out = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for g in s.graphemes(true) {
        let gw = g.width();
        if used + gw > w && !line.is_empty() {
            // Break at the last space of the line when it keeps most of it.
            match line.rfind(' ').filter(|i| *i > line.len() / 2) {
                Some(i) => {
                    let rest = line[i + 1..].to_string();
                    line.truncate(i);
                    out.push(std::mem::take(&mut line));
                    used = width(&rest);
                    line = rest;
                }
                None => {
                    out.push(std::mem::take(&mut line));
                    used = 0;
                }
            }
        }
        line.push_str(g);
        used += gw;
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// `s` padded with spaces (or cut) to exactly `w` cells.
pub fn pad(s: &str, w: usize) -> String {
    let s = fit(s, w);
    let n = w.saturating_sub(width(&s));
    format!("{s}{}", " ".repeat(n))
}

/// Drops the first `cells` display cells of `s` (whole clusters).
pub fn skip_cells(s: &str, cells: usize) -> String {
    let mut w = 0;
    let mut out = String::new();
    for g in s.graphemes(true) {
        if w >= cells {
            out.push_str(g);
        }
        w += g.width();
    }
    out
}

/// A label with a figure: the figure is never cut. The first label that fits whole is used;
/// when none does, the last one is cut (the figure still shows).
pub fn with_figure(labels: &[&str], figure: &str, w: usize) -> String {
    let fw = width(figure);
    for l in labels {
        if width(l) + 1 + fw <= w {
            return format!("{l} {figure}");
        }
    }
    let last = labels.last().copied().unwrap_or("");
    let room = w.saturating_sub(fw + 1);
    if room == 0 {
        return figure.to_string();
    }
    format!("{} {figure}", fit(last, room))
}

/// Names that do not fit in `w` cells lose the part they share with another name of the list
/// (the distinguishing tail stays): `【自動連携】futureshop ステータス同期` beside `【自動連携】
/// futureshop 出荷指示取得(差分)` becomes `…ステータス同期`.
pub fn abbreviate(names: &[&str], w: usize) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            if width(n) <= w {
                return n.to_string();
            }
            // Shared with another, different name (the same robot's runs share all of it).
            let shared = names
                .iter()
                .filter(|other| *other != n)
                .map(|other| common_prefix(n, other))
                .max()
                .unwrap_or(0);
            let cut = word_start(n, shared);
            if cut == 0 || cut >= n.len() {
                return fit(n, w);
            }
            fit(&format!("…{}", &n[cut..]), w)
        })
        .collect()
}

/// Column widths where column `i` holds `names`: they are abbreviated to the width the column
/// gets, and the cells abbreviation frees go to the other columns.
pub fn columns_with_names(
    cols: &mut [Col],
    i: usize,
    names: &[&str],
    avail: usize,
    spacing: usize,
) -> (Vec<Option<usize>>, Vec<String>) {
    let w = columns(cols, avail, spacing);
    let short = abbreviate(names, w[i].unwrap_or(0));
    let need = short.iter().map(|n| width(n)).max().unwrap_or(0);
    if w[i].is_some_and(|got| need < got) {
        cols[i].want = need.max(cols[i].min);
        cols[i].keep = cols[i].keep.min(cols[i].want);
        cols[i].grow = false;
        let w = columns(cols, avail, spacing);
        let short = abbreviate(names, w[i].unwrap_or(0));
        return (w, short);
    }
    (w, short)
}

/// Bytes `a` and `b` share at the start (a char boundary).
fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map(|((i, _), _)| i)
        .unwrap_or_else(|| a.len().min(b.len()))
}

/// Backs `at` up to where a word starts (after a space or a closing bracket), so the part kept
/// reads from a word's beginning.
fn word_start(s: &str, at: usize) -> usize {
    let head = &s[..at];
    head.char_indices()
        .rev()
        // After a space, a closing bracket (】 ) ） ]), a slash or a middle dot (・).
        .find(|(_, c)| {
            c.is_whitespace() || matches!(c, '\u{3011}' | ')' | '\u{ff09}' | ']' | '/' | '\u{30fb}')
        })
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0)
}

/// One column of a table: what it wants, and how it gives way when the width is short.
#[derive(Clone, Copy, Debug)]
pub struct Col {
    /// The widest cell it holds (header included).
    pub want: usize,
    /// Text columns may be cut down to this; figures have `min == want` and are never cut.
    pub min: usize,
    /// What it needs to read well: droppable columns go while these do not fit.
    pub keep: usize,
    /// Dropped when even the minimums do not fit: 0 never, higher first.
    pub drop: u8,
    /// Takes the width left over.
    pub grow: bool,
}

impl Col {
    /// A figure (an amount, a count, an id, a date): never cut.
    pub fn figure(want: usize) -> Col {
        Col {
            want,
            min: want,
            keep: want,
            drop: 0,
            grow: false,
        }
    }

    /// Text that may be cut down to `min` cells.
    pub fn text(want: usize, min: usize) -> Col {
        Col {
            want,
            min: min.min(want),
            keep: min.min(want),
            drop: 0,
            grow: false,
        }
    }

    /// Other columns are dropped before this one is cut below `keep` cells.
    pub fn keep(mut self, keep: usize) -> Col {
        self.keep = keep.clamp(self.min, self.want.max(self.min));
        self
    }

    pub fn grow(mut self) -> Col {
        self.grow = true;
        self
    }

    pub fn droppable(mut self, order: u8) -> Col {
        self.drop = order;
        self
    }
}

/// Widths for `cols` in `avail` cells with `spacing` between them; `None` for a column left out.
/// Every column gets what it holds when there is room. Otherwise droppable columns go (highest
/// `drop` first) while what the others need to read well (`keep`) does not fit, then text
/// columns are cut towards their minimums, the one with most to spare first.
pub fn columns(cols: &[Col], avail: usize, spacing: usize) -> Vec<Option<usize>> {
    let mut on: Vec<bool> = vec![true; cols.len()];
    loop {
        let shown: Vec<usize> = (0..cols.len()).filter(|i| on[*i]).collect();
        let gaps = spacing * shown.len().saturating_sub(1);
        let keep_sum: usize = shown.iter().map(|i| cols[*i].keep).sum::<usize>() + gaps;
        if keep_sum > avail
            && let Some(drop) = shown
                .iter()
                .filter(|i| cols[**i].drop > 0)
                .max_by_key(|i| (cols[**i].drop, **i))
        {
            on[*drop] = false;
            continue;
        }
        let mut w: Vec<usize> = cols.iter().map(|c| c.want).collect();
        let mut total: usize = shown.iter().map(|i| w[*i]).sum::<usize>() + gaps;
        // Cut one cell at a time from the text column with most to spare: first down to what
        // each needs to read well, then down to the minimums. Widths end up as even as the
        // contents allow.
        for floor in [|c: &Col| c.keep, |c: &Col| c.min] {
            while total > avail {
                let Some(i) = shown
                    .iter()
                    .copied()
                    .filter(|i| w[*i] > floor(&cols[*i]))
                    .max_by_key(|i| (w[*i] - floor(&cols[*i]), *i))
                else {
                    break;
                };
                w[i] -= 1;
                total -= 1;
            }
        }
        if total < avail
            && let Some(g) = shown.iter().copied().find(|i| cols[*i].grow)
        {
            w[g] += avail - total;
        }
        return (0..cols.len()).map(|i| on[i].then_some(w[i])).collect();
    }
}

/// A bordered block with a title.
pub fn block<'a>(theme: &Theme, title: impl Into<Cow<'a, str>>, focused: bool) -> Block<'a> {
    let title = title.into();
    let b = if title.is_empty() {
        Block::bordered()
    } else {
        Block::bordered().title(Span::styled(format!(" {title} "), theme.title()))
    };
    if focused {
        b.border_style(theme.focus_border())
    } else {
        b.border_style(theme.dim())
    }
}

pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Clears a popup's area. A wide character just left of it would be drawn across the popup's
/// left border (the terminal never gets the border cell): blank it too.
pub fn clear(f: &mut Frame, area: Rect) {
    f.render_widget(Clear, area);
    if area.x == 0 {
        return;
    }
    let buf = f.buffer_mut();
    for y in area.top()..area.bottom() {
        let c = &mut buf[(area.x - 1, y)];
        if c.symbol().width() > 1 {
            c.set_symbol(" ");
        }
    }
}

/// A cursor in a list. The height used for paging and scrolling is the one the list was last
/// drawn with (recorded by [`ListView::window`] during the render), so the cursor can never
/// sit on a row that is not on screen, whatever the status line or the popups took.
#[derive(Debug, Default)]
pub struct ListView {
    pub cursor: usize,
    pub offset: usize,
    drawn: Cell<usize>,
}

impl Clone for ListView {
    fn clone(&self) -> Self {
        ListView {
            cursor: self.cursor,
            offset: self.offset,
            drawn: Cell::new(self.drawn.get()),
        }
    }
}

impl ListView {
    /// Rows the list had when it was last drawn (`fallback` before the first frame).
    pub fn height(&self, fallback: usize) -> usize {
        match self.drawn.get() {
            0 => fallback.max(1),
            h => h,
        }
    }

    /// The rows to draw in `height` rows: from the offset, moved so the cursor is inside.
    /// Records the height for the keys that follow.
    pub fn window(&self, len: usize, height: usize) -> Range<usize> {
        self.drawn.set(height.max(1));
        let mut start = self.offset.min(len.saturating_sub(1));
        if height > 0 && self.cursor >= start + height {
            start = self.cursor + 1 - height;
        }
        if self.cursor < start {
            start = self.cursor;
        }
        start = start.min(len.saturating_sub(height));
        start..(start + height).min(len)
    }

    pub fn clamp(&mut self, len: usize, fallback: usize) {
        let height = self.height(fallback);
        if len == 0 {
            self.cursor = 0;
            self.offset = 0;
            return;
        }
        self.cursor = self.cursor.min(len - 1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        }
        if self.cursor >= self.offset + height {
            self.offset = self.cursor + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
    }

    /// Moves for a navigation action; false when `a` is not one or nothing moved.
    pub fn apply(&mut self, a: Action, len: usize, fallback: usize) -> bool {
        let before = (self.cursor, self.offset);
        let page = self.height(fallback);
        match a {
            Action::Up => self.cursor = self.cursor.saturating_sub(1),
            Action::Down => self.cursor = (self.cursor + 1).min(len.saturating_sub(1)),
            Action::PageUp => self.cursor = self.cursor.saturating_sub(page),
            Action::PageDown => self.cursor = (self.cursor + page).min(len.saturating_sub(1)),
            Action::Top => self.cursor = 0,
            Action::Bottom => self.cursor = len.saturating_sub(1),
            _ => return false,
        }
        self.clamp(len, fallback);
        (self.cursor, self.offset) != before
    }

    pub fn reset(&mut self) {
        self.cursor = 0;
        self.offset = 0;
    }
}
