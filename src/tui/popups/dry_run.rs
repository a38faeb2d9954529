//! What a processing robot would change, changing nothing.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::Keep;
use crate::engine::DryRunChange;
use crate::tui::context::Ctx;
use crate::tui::keymap::Action;
use crate::tui::widgets::{ListView, block, centered, clear, fit, safe};

pub struct DryRunPopup {
    pub title: String,
    pub changes: Vec<DryRunChange>,
    pub list: ListView,
}

impl DryRunPopup {
    pub fn new(title: String, changes: Vec<DryRunChange>) -> DryRunPopup {
        DryRunPopup {
            title,
            changes,
            list: ListView::default(),
        }
    }

    pub fn on_key(&mut self, k: KeyEvent, cx: &Ctx) -> Keep {
        let a = match k.code {
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => return Keep::Close,
            KeyCode::Char('j') | KeyCode::Down => Action::Down,
            KeyCode::Char('k') | KeyCode::Up => Action::Up,
            KeyCode::PageDown => Action::PageDown,
            KeyCode::PageUp => Action::PageUp,
            _ => return Keep::Open,
        };
        self.list.apply(a, self.changes.len(), cx.fallback_rows());
        Keep::Open
    }

    pub fn render(&self, f: &mut Frame, body: Rect, cx: &Ctx) {
        let area = centered(
            body,
            body.width.saturating_sub(4),
            body.height.saturating_sub(2),
        );
        clear(f, area);
        let w = usize::from(area.width.saturating_sub(2));
        let h = usize::from(area.height.saturating_sub(3));
        let mut lines: Vec<Line> = vec![Line::styled(
            (cx.text.count)(self.changes.len()),
            cx.theme.header(),
        )];
        if self.changes.is_empty() {
            lines.push(Line::raw(cx.text.dry_run_none));
        }
        for i in self.list.window(self.changes.len(), h) {
            let c = &self.changes[i];
            let l = fit(
                &format!(
                    "{}  {} → {}  {}",
                    safe(&c.order_no),
                    c.from,
                    c.to,
                    safe(&c.decision)
                ),
                w,
            );
            lines.push(if i == self.list.cursor {
                Line::styled(l, cx.theme.cursor())
            } else {
                Line::raw(l)
            });
        }
        f.render_widget(
            Paragraph::new(lines).block(block(&cx.theme, fit(&safe(&self.title), w), true)),
            area,
        );
    }
}
