//! `?`: every key of the screen behind it, then navigation and global keys — generated from the
//! keymap registry, so it cannot disagree with what the keys do.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::context::Ctx;
use crate::tui::keymap::{Action, Context};
use crate::tui::text::action_desc;
use crate::tui::widgets::{block, centered, clear, width};

pub struct HelpPopup {
    /// The screen behind the popup, whose keys are listed first.
    pub context: Context,
    /// That screen's name, for the group title.
    pub screen: &'static str,
    pub scroll: u16,
    /// The most `scroll` can be, as last drawn.
    max: std::cell::Cell<u16>,
}

impl HelpPopup {
    pub fn new(context: Context, screen: &'static str) -> HelpPopup {
        HelpPopup {
            context,
            screen,
            scroll: 0,
            max: std::cell::Cell::new(u16::MAX),
        }
    }

    /// Scrolling keys; false when the popup closes.
    pub fn on_action(&mut self, a: Action) -> bool {
        let max = self.max.get();
        match a {
            Action::Down => self.scroll = self.scroll.saturating_add(1).min(max),
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::PageDown => self.scroll = self.scroll.saturating_add(10).min(max),
            Action::PageUp => self.scroll = self.scroll.saturating_sub(10),
            Action::Top => self.scroll = 0,
            Action::Back | Action::Help | Action::Quit => return false,
            _ => {}
        }
        true
    }

    pub fn render(&self, f: &mut Frame, body: Rect, cx: &Ctx) {
        let area = centered(body, body.width.saturating_sub(4), body.height);
        clear(f, area);
        let t = cx.text;
        let mut lines = Vec::new();
        let mut last_group = None;
        for (group, keys, action) in cx.keymap.help(self.context) {
            if last_group != Some(group) {
                let title = match group {
                    Context::Global => t.help_global.to_string(),
                    Context::Nav => t.help_nav.to_string(),
                    _ => format!("{} ({})", t.help_context, self.screen),
                };
                if last_group.is_some() {
                    lines.push(Line::raw(""));
                }
                lines.push(Line::styled(title, cx.theme.header()));
                last_group = Some(group);
            }
            let ks = keys
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(" / ");
            let pad = 18usize.saturating_sub(width(&ks));
            let mut spans = vec![
                Span::styled(format!("  {ks}{}", " ".repeat(pad)), cx.theme.key()),
                Span::raw(action_desc(t.lang, action)),
            ];
            if action.dangerous() {
                spans.push(Span::styled(format!("  {}", t.asks_first), cx.theme.dim()));
            }
            lines.push(Line::from(spans));
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(t.command_help, cx.theme.dim()));
        // Scrolling stops at the last line rather than showing an empty popup.
        let max = (lines.len() as u16).saturating_sub(area.height.saturating_sub(2));
        self.max.set(max);
        f.render_widget(
            Paragraph::new(lines)
                .block(block(
                    &cx.theme,
                    format!("{}  (? / Esc)", t.help_title),
                    true,
                ))
                .scroll((self.scroll.min(max), 0)),
            area,
        );
    }
}
