//! 出荷後キャンセル: the operator says what was done about it (stopped, return requested,
//! shipped anyway), and every console's banner goes.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::Keep;
use crate::domain::LateCancelAction;
use crate::service::Request;
use crate::tui::context::{Ctx, Out};
use crate::tui::keymap::Action;
use crate::tui::widgets::{ListView, block, centered, clear, fit, safe};

pub struct LateCancelPopup {
    pub id: u64,
    pub version: u64,
    pub order_no: String,
    pub list: ListView,
}

impl LateCancelPopup {
    pub fn new(id: u64, version: u64, order_no: String) -> LateCancelPopup {
        LateCancelPopup {
            id,
            version,
            order_no,
            list: ListView::default(),
        }
    }

    pub fn on_key(&mut self, k: KeyEvent, cx: &Ctx, out: &mut Out) -> Keep {
        let n = LateCancelAction::ALL.len();
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') => return Keep::Close,
            KeyCode::Char('j') | KeyCode::Down => {
                self.list.apply(Action::Down, n, n);
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.list.apply(Action::Up, n, n);
            }
            KeyCode::Enter => {
                if let Some(action) = LateCancelAction::ALL.get(self.list.cursor).copied() {
                    out.done(
                        (cx.text.late_cancel_done)(&self.order_no, action.name()),
                        Request::AcknowledgeLateCancel {
                            id: self.id,
                            version: Some(self.version),
                            action,
                            note: String::new(),
                        },
                    );
                    return Keep::Close;
                }
            }
            _ => {}
        }
        Keep::Open
    }

    pub fn render(&self, f: &mut Frame, body: Rect, cx: &Ctx) {
        let all = LateCancelAction::ALL;
        let area = centered(
            body,
            64.min(body.width),
            (all.len() as u16 + 4).min(body.height),
        );
        clear(f, area);
        let w = usize::from(area.width.saturating_sub(2));
        let mut lines: Vec<Line> = all
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let l = fit(&format!("{}. {}", i + 1, a.name()), w);
                if i == self.list.cursor {
                    Line::styled(l, cx.theme.cursor())
                } else {
                    Line::raw(l)
                }
            })
            .collect();
        lines.push(Line::raw(""));
        lines.push(Line::styled(cx.text.picker_hint_enter, cx.theme.dim()));
        let title = format!("{} — {}", cx.text.late_cancel_title, safe(&self.order_no));
        f.render_widget(
            Paragraph::new(lines).block(block(&cx.theme, fit(&title, w.saturating_sub(2)), true)),
            area,
        );
    }
}
