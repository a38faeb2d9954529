//! A backend that scrolls. When a table scrolls by a row, ratatui repaints every visible row
//! (each cell moved, so each differs): 7 KB per `j` on a 200×50 list, much of a slow SSH link's
//! budget. This backend keeps what the terminal shows; when a frame is that picture with a band
//! of whole lines moved up or down by one, it has the terminal move the band (a scroll region,
//! DECSTBM, and SU/SD — VT100, every terminal an operator will use) and then draws only what
//! still differs: the new row, and the rows whose highlight changed.
//!
//! ratatui has no such thing (its diff is per cell); its `scrolling-regions` feature moves lines
//! for inline viewports only. Frames that are not a one-line move go through unchanged.

use std::io::{self, Write};

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::{Position, Rect, Size};

/// At least this many lines must move for a scroll to be worth its escape codes.
const MIN_BAND: usize = 3;

pub struct ScrollingBackend<W: Write> {
    inner: CrosstermBackend<W>,
    /// What the terminal shows, as far as this backend drew it.
    shown: Option<Buffer>,
    /// False after a partial clear (not done by the console): the picture is unknown, and
    /// nothing is moved until the next full clear.
    trusted: bool,
    /// A fixed size instead of the terminal's (tests writing to memory).
    fixed: Option<Size>,
}

impl<W: Write> ScrollingBackend<W> {
    pub fn new(writer: W) -> Self {
        ScrollingBackend {
            inner: CrosstermBackend::new(writer),
            shown: None,
            trusted: true,
            fixed: None,
        }
    }

    /// A backend of a fixed size (for writing to memory in tests).
    pub fn with_size(writer: W, width: u16, height: u16) -> Self {
        ScrollingBackend {
            fixed: Some(Size::new(width, height)),
            ..ScrollingBackend::new(writer)
        }
    }

    pub fn writer(&self) -> &W {
        self.inner.writer()
    }

    pub fn writer_mut(&mut self) -> &mut W {
        self.inner.writer_mut()
    }
}

fn row(b: &Buffer, y: usize) -> &[Cell] {
    let w = usize::from(b.area.width);
    &b.content[y * w..(y + 1) * w]
}

/// A one-line move between `old` and `new`: the longest band of lines `new` holds one line up
/// (`up`) or down from where `old` had them, as (first line, last line, up) of the region to
/// scroll, inclusive.
fn find_move(old: &Buffer, new: &Buffer) -> Option<(usize, usize, bool)> {
    let h = usize::from(new.area.height);
    if h < MIN_BAND + 1 {
        return None;
    }
    let mut best: Option<(usize, usize, bool)> = None;
    let mut consider = |start: usize, len: usize, up: bool| {
        if len >= MIN_BAND && best.is_none_or(|(s, e, _)| len > e - s) {
            // The region covers the band and the line that leaves (up) or enters (down).
            best = Some(if up {
                (start, start + len, true)
            } else {
                (start - 1, start + len - 1, false)
            });
        }
    };
    for up in [true, false] {
        let mut run_start = None;
        let range = if up { 0..h - 1 } else { 1..h };
        for y in range.clone() {
            let from = if up { y + 1 } else { y - 1 };
            // A line that did not change needs no move; a moved one is equal to its neighbour.
            let moved = row(new, y) == row(old, from) && row(new, y) != row(old, y);
            match (moved, run_start) {
                (true, None) => run_start = Some(y),
                (false, Some(s)) => {
                    consider(s, y - s, up);
                    run_start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = run_start {
            consider(s, range.end - s, up);
        }
    }
    best
}

/// Moves the lines `top..=bottom` of `b` up (or down) by one; the line that enters is blank.
fn shift(b: &mut Buffer, top: usize, bottom: usize, up: bool) {
    let w = usize::from(b.area.width);
    let band = &mut b.content[top * w..(bottom + 1) * w];
    if up {
        band.rotate_left(w);
        let n = band.len();
        band[n - w..].fill(Cell::EMPTY);
    } else {
        band.rotate_right(w);
        band[..w].fill(Cell::EMPTY);
    }
}

impl<W: Write> Backend for ScrollingBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        if !self.trusted {
            return self.inner.draw(content);
        }
        let size = self.size()?;
        let area = Rect::new(0, 0, size.width, size.height);
        // The terminal's picture (blank when the size changed: ratatui clears on a resize, and
        // assumes a blank screen at the start).
        let old = self
            .shown
            .take()
            .filter(|b| b.area == area)
            .unwrap_or_else(|| Buffer::empty(area));
        let mut new = old.clone();
        let mut updates = Vec::new();
        for (x, y, cell) in content {
            if x < area.width && y < area.height {
                new[(x, y)] = cell.clone();
                // The cells a wide character covers are blank in ratatui's buffer, and its diff
                // never sends them: blank them here too, or the picture drifts from the frame.
                let w = unicode_width::UnicodeWidthStr::width(cell.symbol()) as u16;
                for cx in x + 1..(x + w).min(area.width) {
                    new[(cx, y)] = Cell::EMPTY;
                }
            }
            updates.push((x, y, cell));
        }
        match find_move(&old, &new) {
            Some((top, bottom, up)) => {
                let mut moved = old;
                shift(&mut moved, top, bottom, up);
                // Colours reset first: the line that enters is filled with the current
                // background. DECSTBM and its reset home the cursor; every draw starts with
                // a cursor move.
                write!(
                    self.inner.writer_mut(),
                    "\x1b[0m\x1b[{};{}r\x1b[1{}\x1b[r",
                    top + 1,
                    bottom + 1,
                    if up { 'S' } else { 'T' }
                )?;
                let rest = moved.diff(&new);
                self.inner.draw(rest.into_iter())?;
            }
            None => self.inner.draw(updates.into_iter())?,
        }
        self.shown = Some(new);
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()?;
        self.shown = None;
        self.trusted = true;
        Ok(())
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)?;
        self.shown = None;
        // Which cells a partial clear blanked is not followed here.
        self.trusted = clear_type == ClearType::All;
        Ok(())
    }

    fn size(&self) -> io::Result<Size> {
        match self.fixed {
            Some(s) => Ok(s),
            None => self.inner.size(),
        }
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)
    }
}
