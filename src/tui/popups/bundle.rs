//! 同梱: a group's orders side by side (a column per order, a line per field, differences
//! marked), and the decision — 同梱する, 同梱しない, or back to 同梱候補 — with one key.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Keep;
use crate::domain::{BundleDecision, BundleState};
use crate::engine::bundle::{BundleMember, BundleView};
use crate::service::Request;
use crate::tui::context::{Ctx, Out};
use crate::tui::event::Tag;
use crate::tui::widgets::{block, centered, clear, fit, pad, safe};

pub struct BundlePopup {
    pub view: BundleView,
}

/// A member's fields in the order of `Texts::bundle_rows`.
fn fields(m: &BundleMember, cx: &Ctx) -> [String; 16] {
    [
        m.order_no.clone(),
        m.order_date
            .map(|d| d.format("%m/%d %H:%M").to_string())
            .unwrap_or_default(),
        m.status.to_string(),
        m.buyer.clone(),
        m.buyer_mail.clone(),
        m.recipient.clone(),
        m.postal.clone(),
        m.address.clone(),
        m.phone.clone(),
        m.delivery.clone(),
        m.wish.clone(),
        format!("{} {}", m.payment_type, m.payment),
        m.gift.clone(),
        m.items.join(", "),
        (cx.text.yen)(m.amount),
        m.notes.clone(),
    ]
}

impl BundlePopup {
    pub fn new(view: BundleView) -> BundlePopup {
        BundlePopup { view }
    }

    pub fn on_key(&mut self, k: KeyEvent, cx: &Ctx, out: &mut Out) -> Keep {
        let state = self.view.bundle.state;
        let decision = match k.code {
            KeyCode::Esc | KeyCode::Char('q') => return Keep::Close,
            KeyCode::Char('m') if state == BundleState::Candidate => BundleDecision::Merge,
            KeyCode::Char('n') if state.is_open() => BundleDecision::Split,
            KeyCode::Char('u') if matches!(state, BundleState::Merged | BundleState::Declined) => {
                BundleDecision::Undo
            }
            _ => return Keep::Open,
        };
        if cx.read_only {
            out.error(cx.text.read_only);
            return Keep::Open;
        }
        let g = self.view.bundle.id;
        out.call(
            Tag::Bundle(Some((cx.text.bundle_decided)(g, decision.name()))),
            Request::DecideBundle { id: g, decision },
        );
        Keep::Open
    }

    pub fn render(&self, f: &mut Frame, body: Rect, cx: &Ctx) {
        let t = cx.text;
        let b = &self.view.bundle;
        let area = centered(
            body,
            body.width.saturating_sub(2),
            (t.bundle_rows.len() as u16 + 6).min(body.height),
        );
        clear(f, area);
        let w = usize::from(area.width.saturating_sub(2));
        let label_w = 10;
        let n = self.view.members.len().max(1);
        let col_w = (w.saturating_sub(label_w) / n).saturating_sub(1).max(4);
        let cols: Vec<[String; 16]> = self.view.members.iter().map(|m| fields(m, cx)).collect();
        let mut lines = vec![Line::raw(fit(&safe(&b.basis), w))];
        if !b.note.is_empty() {
            lines.push(Line::styled(fit(&safe(&b.note), w), cx.theme.dim()));
        }
        for (row, label) in t.bundle_rows.iter().enumerate() {
            // Fields that differ between the orders are what the operator checks.
            let differs = cols.windows(2).any(|p| p[0][row] != p[1][row]) && row > 2;
            let mut spans = vec![Span::styled(pad(label, label_w), cx.theme.dim())];
            for c in &cols {
                let cell = pad(&safe(&c[row]), col_w);
                spans.push(if differs {
                    Span::styled(cell, cx.theme.warn())
                } else {
                    Span::raw(cell)
                });
                spans.push(Span::raw(" "));
            }
            lines.push(Line::from(spans));
        }
        lines.push(Line::raw(""));
        let keys = match b.state {
            BundleState::Candidate => t.bundle_keys_candidate,
            BundleState::Merged => t.bundle_keys_merged,
            _ => t.bundle_keys_closed,
        };
        lines.push(Line::styled(keys, cx.theme.dim()));
        let title = format!("{} G{} — {}", t.bundle_title, b.id, b.state);
        f.render_widget(
            Paragraph::new(lines).block(block(&cx.theme, fit(&title, w.saturating_sub(2)), true)),
            area,
        );
    }
}
