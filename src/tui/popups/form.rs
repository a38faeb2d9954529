//! The setup forms: 発送元 and API認証設定. The secret is masked while typed and never shown
//! again; a saved API認証設定 is tested at once.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::Keep;
use crate::domain::{ApiAuth, ShipFrom};
use crate::service::Request;
use crate::tui::context::{Ctx, Out};
use crate::tui::event::Tag;
use crate::tui::widgets::{block, centered, clear, fit, safe, skip_cells, width};

/// A form field.
pub struct FormField {
    pub label: &'static str,
    pub input: Input,
    pub masked: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormKind {
    ShipFrom { id: u64 },
    Auth { id: u64 },
}

pub struct FormPopup {
    pub kind: FormKind,
    pub title: &'static str,
    pub fields: Vec<FormField>,
    pub focus: usize,
    pub error: Option<String>,
    /// Shown under the secret field: a secret is stored (never shown).
    pub secret_stored: bool,
}

impl FormPopup {
    /// The 発送元 form: the stored one, else the defaults (the demo's), else empty.
    pub fn ship_from(cx: &Ctx) -> FormPopup {
        let s = cx
            .data
            .ship_froms
            .first()
            .cloned()
            .or_else(|| cx.defaults.ship_from.clone())
            .unwrap_or_default();
        let values = [s.name, s.postal_code, s.prefecture, s.address, s.phone];
        let fields = cx
            .text
            .ship_from_fields
            .iter()
            .zip(values)
            .map(|(l, v)| FormField {
                label: l,
                input: Input::new(v),
                masked: false,
            })
            .collect();
        FormPopup {
            kind: FormKind::ShipFrom { id: s.id },
            title: cx.text.form_ship_from,
            fields,
            focus: 0,
            error: None,
            secret_stored: false,
        }
    }

    /// The API認証設定 form: the stored one (its secret never shown), else the defaults.
    pub fn auth(cx: &Ctx) -> FormPopup {
        let (a, secret) = match (cx.data.auths.first(), &cx.defaults.auth) {
            (Some(a), _) => (a.clone(), String::new()),
            (None, Some(d)) => (
                ApiAuth {
                    name: d.name.clone(),
                    shop_key: d.shop_key.clone(),
                    client_id: d.client_id.clone(),
                    endpoint: d.endpoint.clone(),
                    pacing_ms: d.pacing_ms,
                    ..Default::default()
                },
                d.secret.expose().to_string(),
            ),
            (None, None) => (
                ApiAuth {
                    name: cx.text.default_auth_name.into(),
                    pacing_ms: 1000,
                    ..Default::default()
                },
                String::new(),
            ),
        };
        let values = [
            a.name.clone(),
            a.shop_key.clone(),
            a.client_id.clone(),
            secret,
            a.endpoint.clone(),
            a.pacing_ms.to_string(),
        ];
        let fields = cx
            .text
            .auth_fields
            .iter()
            .zip(values)
            .enumerate()
            .map(|(i, (l, v))| FormField {
                label: l,
                input: Input::new(v),
                masked: i == SECRET,
            })
            .collect();
        FormPopup {
            kind: FormKind::Auth { id: a.id },
            title: cx.text.form_auth,
            fields,
            focus: 0,
            error: None,
            secret_stored: a.has_secret,
        }
    }

    pub fn on_key(&mut self, k: KeyEvent, cx: &Ctx, out: &mut Out) -> Keep {
        let n = self.fields.len();
        let save = k.code == KeyCode::Enter
            || (k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('s'));
        match k.code {
            KeyCode::Esc => return Keep::Close,
            KeyCode::Tab | KeyCode::Down => self.focus = (self.focus + 1) % n,
            KeyCode::BackTab | KeyCode::Up => self.focus = (self.focus + n - 1) % n,
            _ if save => match self.submit(cx, out) {
                Ok(()) => return Keep::Close,
                Err(e) => self.error = Some(e),
            },
            _ => {
                if let Some(f) = self.fields.get_mut(self.focus) {
                    f.input.handle_event(&Event::Key(k));
                }
            }
        }
        Keep::Open
    }

    fn value(&self, i: usize) -> String {
        self.fields
            .get(i)
            .map(|f| f.input.value().trim().to_string())
            .unwrap_or_default()
    }

    fn submit(&self, cx: &Ctx, out: &mut Out) -> Result<(), String> {
        let t = cx.text;
        let v = |i| self.value(i);
        match self.kind {
            FormKind::ShipFrom { id } => {
                if v(0).is_empty() {
                    return Err(t.name_required.into());
                }
                let s = ShipFrom {
                    id,
                    name: v(0),
                    postal_code: v(1),
                    prefecture: v(2),
                    address: v(3),
                    phone: v(4),
                };
                out.done(
                    (t.ship_from_saved)(&s.name),
                    Request::SaveShipFrom { ship_from: s },
                );
            }
            FormKind::Auth { id } => {
                let ship_from_id = cx.data.ship_froms.first().map(|s| s.id);
                if ship_from_id.is_none() {
                    return Err(t.ship_from_first.into());
                }
                let pacing: u64 = if v(5).is_empty() {
                    1000
                } else {
                    v(5).parse().map_err(|_| t.pacing_not_number.to_string())?
                };
                let existing = cx
                    .data
                    .auths
                    .iter()
                    .find(|a| a.id == id)
                    .cloned()
                    .unwrap_or_default();
                let secret = v(SECRET);
                if secret.is_empty() && !self.secret_stored {
                    return Err(t.secret_required.into());
                }
                // The stored secret never follows a new destination (the engine deletes it).
                let moved = existing.id != 0
                    && (existing.shop_key != v(1)
                        || existing.client_id != v(2)
                        || existing.endpoint != v(4));
                if moved && secret.is_empty() {
                    return Err(t.secret_again.into());
                }
                let auth = ApiAuth {
                    id,
                    name: v(0),
                    api: "futureshop".into(),
                    ship_from_id: existing.ship_from_id.or(ship_from_id),
                    shop_key: v(1),
                    client_id: v(2),
                    endpoint: v(4),
                    pacing_ms: pacing,
                    ..existing
                };
                out.call(
                    Tag::SavedAuth,
                    Request::SaveAuth {
                        auth,
                        secret: (!secret.is_empty()).then_some(secret),
                    },
                );
            }
        }
        Ok(())
    }

    pub fn render(&self, f: &mut Frame, body: Rect, cx: &Ctx) {
        let w = body.width.saturating_sub(4).min(76);
        // A refusal wraps under the fields (it says what to do, so none of it is cut).
        let err_rows = self.error.as_ref().map_or(0, |e| {
            width(e).div_ceil(usize::from(w.saturating_sub(4)).max(1)) as u16
        });
        let h = self.fields.len() as u16 * 2 + 4 + err_rows.max(1);
        let area = centered(body, w, h);
        clear(f, area);
        let inner = Rect {
            x: area.x + 2,
            y: area.y + 1,
            width: area.width.saturating_sub(4),
            height: area.height.saturating_sub(2),
        };
        let label_w = 20usize;
        let mut lines = Vec::new();
        let mut cursor = None;
        for (i, field) in self.fields.iter().enumerate() {
            let focused = i == self.focus;
            let value = if field.masked {
                "•".repeat(field.input.value().chars().count())
            } else {
                safe(field.input.value()).into_owned()
            };
            let avail = usize::from(inner.width).saturating_sub(label_w + 1).max(1);
            let scroll = field.input.visual_scroll(avail);
            let shown = skip_cells(&value, scroll);
            let label = fit(field.label, label_w);
            let pad = label_w.saturating_sub(width(&label));
            let style = if focused {
                cx.theme.key()
            } else {
                cx.theme.base()
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{label}{} ", " ".repeat(pad)), style),
                Span::raw(fit(&shown, avail)),
            ]));
            let note = if field.masked && self.secret_stored {
                cx.text.secret_saved
            } else {
                ""
            };
            lines.push(Line::styled(
                fit(
                    &format!("{:w$} {note}", "", w = label_w),
                    usize::from(inner.width),
                ),
                cx.theme.dim(),
            ));
            if focused {
                let x = inner.x
                    + label_w as u16
                    + 1
                    + (field.input.visual_cursor().saturating_sub(scroll)) as u16;
                cursor = Some((
                    x.min(inner.right().saturating_sub(1)),
                    inner.y + (i as u16) * 2,
                ));
            }
        }
        if let Some(e) = &self.error {
            lines.push(Line::styled(safe(e).into_owned(), cx.theme.error()));
        }
        lines.push(Line::styled(cx.text.form_hint, cx.theme.dim()));
        f.render_widget(block(&cx.theme, self.title, true), area);
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        if let Some(c) = cursor {
            f.set_cursor_position(c);
        }
    }
}

/// The secret's field in the API認証設定 form.
const SECRET: usize = 3;
