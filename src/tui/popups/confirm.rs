//! A yes/no question naming what will change, with Cancel focused: Enter alone never does
//! anything irreversible.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{Keep, Then};
use crate::tui::context::{Ctx, Out};
use crate::tui::widgets::{block, centered, clear, safe, width};

pub struct ConfirmPopup {
    pub title: String,
    pub lines: Vec<String>,
    pub yes_focused: bool,
    pub then: Then,
}

impl ConfirmPopup {
    pub fn new(title: impl Into<String>, lines: Vec<String>, then: Then) -> ConfirmPopup {
        ConfirmPopup {
            title: title.into(),
            lines,
            yes_focused: false,
            then,
        }
    }

    pub fn on_key(&mut self, k: KeyEvent, cx: &Ctx, out: &mut Out) -> Keep {
        match k.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => self.confirm(cx, out),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Keep::Close,
            KeyCode::Enter if self.yes_focused => self.confirm(cx, out),
            KeyCode::Enter => Keep::Close,
            KeyCode::Tab
            | KeyCode::BackTab
            | KeyCode::Left
            | KeyCode::Right
            | KeyCode::Char('h')
            | KeyCode::Char('l') => {
                self.yes_focused = !self.yes_focused;
                Keep::Open
            }
            _ => Keep::Open,
        }
    }

    fn confirm(&mut self, cx: &Ctx, out: &mut Out) -> Keep {
        if let Err(e) = self.then.clone().run(None, cx, out) {
            out.error(e);
        }
        Keep::Close
    }

    pub fn render(&self, f: &mut Frame, body: Rect, cx: &Ctx) {
        let w = self
            .lines
            .iter()
            .map(|l| width(l))
            .max()
            .unwrap_or(20)
            .max(width(&self.title))
            .clamp(30, usize::from(body.width.saturating_sub(4))) as u16
            + 4;
        // Lines wrap in the popup: count the rows they take.
        let inner = usize::from(w.saturating_sub(2)).max(1);
        let rows: usize = self
            .lines
            .iter()
            .map(|l| width(l).div_ceil(inner).max(1))
            .sum();
        let area = centered(body, w, rows as u16 + 4);
        clear(f, area);
        let mut text: Vec<Line> = self
            .lines
            .iter()
            .map(|l| Line::raw(safe(l).into_owned()))
            .collect();
        text.push(Line::raw(""));
        let (yes, no) = (cx.text.yes, cx.text.no);
        let (yes_style, no_style) = if self.yes_focused {
            (cx.theme.button_focused(), cx.theme.base())
        } else {
            (cx.theme.base(), cx.theme.button_focused())
        };
        text.push(Line::from(vec![
            Span::styled(format!("[ {no} (n/Esc) ]"), no_style),
            Span::raw("   "),
            Span::styled(format!("[ {yes} (y) ]"), yes_style),
        ]));
        f.render_widget(
            Paragraph::new(text)
                .block(block(&cx.theme, safe(&self.title).into_owned(), true))
                .wrap(Wrap { trim: false }),
            area,
        );
    }
}
