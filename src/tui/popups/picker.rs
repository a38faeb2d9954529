//! Which enabled converters a processing robot applies to: Space toggles one at once.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::Keep;
use crate::service::Request;
use crate::tui::context::{Ctx, Out};
use crate::tui::keymap::Action;
use crate::tui::widgets::{ListView, block, centered, clear, fit, safe};

pub struct PickerPopup {
    pub robot: u64,
    /// (converter id, label, applied)
    pub items: Vec<(u64, String, bool)>,
    pub list: ListView,
}

impl PickerPopup {
    pub fn new(robot: u64, items: Vec<(u64, String, bool)>) -> PickerPopup {
        PickerPopup {
            robot,
            items,
            list: ListView::default(),
        }
    }

    pub fn on_key(&mut self, k: KeyEvent, cx: &Ctx, out: &mut Out) -> Keep {
        let fallback = cx.fallback_rows();
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') => return Keep::Close,
            KeyCode::Char('j') | KeyCode::Down => {
                self.list.apply(Action::Down, self.items.len(), fallback);
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.list.apply(Action::Up, self.items.len(), fallback);
            }
            KeyCode::Char(' ') | KeyCode::Enter => {
                if let Some(item) = self.items.get_mut(self.list.cursor) {
                    item.2 = !item.2;
                    let msg = if item.2 {
                        (cx.text.applied)(self.robot, &item.1)
                    } else {
                        (cx.text.unapplied)(self.robot, &item.1)
                    };
                    out.done(
                        msg,
                        Request::ApplyProcessing {
                            id: self.robot,
                            converter_id: item.0,
                            applied: item.2,
                        },
                    );
                }
            }
            _ => {}
        }
        Keep::Open
    }

    pub fn render(&self, f: &mut Frame, body: Rect, cx: &Ctx) {
        let h = (self.items.len() as u16 + 3).min(body.height);
        let area = centered(body, 64.min(body.width), h);
        clear(f, area);
        let w = usize::from(area.width.saturating_sub(2));
        let rows = self
            .list
            .window(self.items.len(), usize::from(area.height.saturating_sub(3)));
        let mut lines: Vec<Line> = rows
            .map(|i| {
                let (_, name, on) = &self.items[i];
                let l = fit(
                    &format!("[{}] {}", if *on { "x" } else { " " }, safe(name)),
                    w,
                );
                if i == self.list.cursor {
                    Line::styled(l, cx.theme.cursor())
                } else {
                    Line::raw(l)
                }
            })
            .collect();
        // The keys on their own line: in the title they were cut off at 80 columns.
        lines.push(Line::styled(cx.text.picker_hint, cx.theme.dim()));
        let title = (cx.text.picker_title)(cx.text.pick_converter, self.robot);
        f.render_widget(
            Paragraph::new(lines).block(block(&cx.theme, fit(&title, w.saturating_sub(2)), true)),
            area,
        );
    }
}
