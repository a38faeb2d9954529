//! One line of text (a hold reason, a tracking number, a name, a trigger). A value the action
//! refuses keeps the popup open with the reason under the line.

use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Padding, Paragraph};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::{Keep, Then};
use crate::tui::context::{Ctx, Out};
use crate::tui::widgets::{block, centered, clear, fit, safe, skip_cells, width};

pub struct InputPopup {
    pub title: String,
    pub label: String,
    pub input: Input,
    pub then: Then,
    pub error: Option<String>,
}

impl InputPopup {
    pub fn new(title: String, label: &str, value: String, then: Then) -> InputPopup {
        InputPopup {
            title,
            label: label.to_string(),
            input: Input::new(value),
            then,
            error: None,
        }
    }

    pub fn on_key(&mut self, k: KeyEvent, cx: &Ctx, out: &mut Out) -> Keep {
        match k.code {
            KeyCode::Esc => Keep::Close,
            KeyCode::Tab if self.then == Then::ImportFile => {
                if let Some(done) = super::complete_path(self.input.value()) {
                    self.input = Input::new(done);
                }
                Keep::Open
            }
            KeyCode::Enter => {
                let value = self.input.value().to_string();
                match self.then.clone().run(Some(value), cx, out) {
                    Ok(()) => Keep::Close,
                    Err(e) => {
                        self.error = Some(e);
                        Keep::Open
                    }
                }
            }
            _ => {
                if self.input.handle_event(&Event::Key(k)).is_some() {
                    self.error = None;
                }
                Keep::Open
            }
        }
    }

    pub fn render(&self, f: &mut Frame, body: Rect, cx: &Ctx) {
        let w = body.width.saturating_sub(4).min(72);
        let area = centered(body, w, if self.error.is_some() { 6 } else { 5 });
        clear(f, area);
        let inner_w = usize::from(area.width.saturating_sub(4));
        let prefix = format!("{}: ", self.label);
        let avail = inner_w.saturating_sub(width(&prefix)).max(1);
        let scroll = self.input.visual_scroll(avail);
        let value = safe(self.input.value()).into_owned();
        let shown = skip_cells(&value, scroll);
        let mut text = vec![Line::from(vec![
            Span::styled(prefix.clone(), cx.theme.key()),
            Span::raw(fit(&shown, avail)),
        ])];
        if let Some(e) = &self.error {
            text.push(Line::styled(fit(&safe(e), inner_w), cx.theme.error()));
        }
        let hint = match self.then {
            Then::ImportFile => cx.text.labels_import_hint,
            _ => cx.text.input_hint,
        };
        text.push(Line::styled(hint, cx.theme.dim()));
        // One cell of padding inside the border: the text starts at area.x + 2.
        let b = block(
            &cx.theme,
            fit(&safe(&self.title), usize::from(w).saturating_sub(4)),
            true,
        )
        .padding(Padding::horizontal(1));
        f.render_widget(Paragraph::new(text).block(b), area);
        let x = area.x
            + 2
            + width(&prefix) as u16
            + (self.input.visual_cursor().saturating_sub(scroll)) as u16;
        f.set_cursor_position((x.min(area.right().saturating_sub(2)), area.y + 1));
    }
}
