//! Rendering: a pure function of the app state. Every string that came from outside is
//! sanitized here before it is drawn.

mod dashboard;
mod log;
mod orders;
mod popup;
mod robots;
mod setup;

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::app::{App, Mode, StatusKind, TABS, Tab};

pub const MIN_W: u16 = 80;
pub const MIN_H: u16 = 24;

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

pub fn render(app: &App, f: &mut Frame) {
    let area = f.area();
    if area.width < MIN_W || area.height < MIN_H {
        let msg = format!("{} ({}×{})", app.text.too_small, area.width, area.height);
        f.render_widget(
            Paragraph::new(msg)
                .style(app.theme.warn())
                .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let status_text = status_paragraph(app);
    // A long message (a refusal that explains what to do) wraps onto up to three rows rather
    // than losing its end at the terminal's edge.
    let status_rows = status_text
        .as_ref()
        .map_or(1, |p| p.line_count(area.width).clamp(1, MAX_STATUS_ROWS));
    let [top, body, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(status_rows as u16),
        Constraint::Length(1),
    ])
    .areas(area);
    tabs(app, f, top);
    match app.tab {
        Tab::Dashboard => dashboard::render(app, f, body),
        Tab::Orders => {
            if app.detail.is_some() {
                orders::detail(app, f, body);
            } else {
                orders::render(app, f, body);
            }
        }
        Tab::Robots => robots::render(app, f, body),
        Tab::Setup => setup::render(app, f, body),
        Tab::Log => log::render(app, f, body),
    }
    status_line(app, f, status, status_text);
    hint_bar(app, f, hints);
    popup::render(app, f, body);
}

fn tabs(app: &App, f: &mut Frame, area: Rect) {
    let t = app.text;
    let mut spans = Vec::new();
    for (i, name) in t.tabs.iter().enumerate() {
        let label = format!(" {} {} ", i + 1, name);
        if TABS[i] == app.tab {
            spans.push(Span::styled(label, app.theme.active_tab()));
        } else {
            spans.push(Span::raw(label));
        }
    }
    let left = Line::from(spans);
    let mut right = Vec::new();
    if !app.connected {
        right.push(Span::styled(
            format!(" {} ", t.disconnected),
            app.theme.error(),
        ));
    }
    if app.read_only() {
        right.push(Span::styled(
            format!(" [{}] ", t.read_only),
            app.theme.warn(),
        ));
    }
    let sync = app.sync_text(app.now());
    let st = app.sync_state(app.now());
    let style = if st.failing {
        app.theme.error()
    } else if st.stale || st.last_ok.is_none() {
        app.theme.warn()
    } else {
        app.theme.dim()
    };
    right.push(Span::styled(format!(" {sync} "), style));
    let right = Line::from(right);
    // The app title only when the tabs and the sync state still fit beside it (not at 80 columns).
    let title = Span::styled(format!(" {} ", t.app_title), app.theme.title());
    let left = if left.width() + title.width() + right.width() <= area.width as usize {
        Line::from([vec![title], left.spans].concat())
    } else {
        left
    };
    let rw = right.width() as u16;
    let [l, r] = Layout::horizontal([
        Constraint::Min(1),
        Constraint::Length(rw.min(area.width / 2)),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(left), l);
    f.render_widget(
        Paragraph::new(right).alignment(ratatui::layout::Alignment::Right),
        r,
    );
}

const MAX_STATUS_ROWS: usize = 3;

/// The status message as it is drawn, or `None` in command mode and when there is none.
fn status_paragraph(app: &App) -> Option<Paragraph<'static>> {
    if app.mode == Mode::Command {
        return None;
    }
    let m = app.status.as_ref()?;
    let (style, prefix) = match m.kind {
        StatusKind::Info => (app.theme.ok(), "✓ "),
        StatusKind::Error => (app.theme.error(), "✗ "),
    };
    Some(
        Paragraph::new(format!("{prefix}{}", safe(&m.text)))
            .style(style)
            .wrap(ratatui::widgets::Wrap { trim: true }),
    )
}

fn status_line(app: &App, f: &mut Frame, area: Rect, message: Option<Paragraph<'static>>) {
    if app.mode == Mode::Command {
        let text = format!(":{}", app.command.value());
        f.render_widget(Paragraph::new(safe(&text).into_owned()), area);
        let cursor = 1 + app.command.visual_cursor() as u16;
        f.set_cursor_position((area.x + cursor.min(area.width.saturating_sub(1)), area.y));
    } else if let Some(p) = message {
        f.render_widget(p, area);
    }
}

fn hint_bar(app: &App, f: &mut Frame, area: Rect) {
    let mut spans = Vec::new();
    let mut width = 0usize;
    for (k, d) in app.keymap.hints(app.context(), app.text.lang) {
        let item = format!("{k} {d}  ");
        width += item.width();
        if width > area.width as usize {
            break;
        }
        spans.push(Span::styled(k, app.theme.key()));
        spans.push(Span::raw(format!(" {d}  ")));
    }
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(app.theme.dim()),
        area,
    );
}

/// A bordered block with a title.
pub fn block<'a>(app: &App, title: impl Into<Cow<'a, str>>, focused: bool) -> Block<'a> {
    let title = title.into();
    let b = if title.is_empty() {
        Block::bordered()
    } else {
        Block::bordered().title(Span::styled(format!(" {title} "), app.theme.title()))
    };
    if focused {
        b.border_style(app.theme.focus_border())
    } else {
        b.border_style(app.theme.dim())
    }
}

/// Cuts a string to `w` display cells.
pub fn fit(s: &str, w: usize) -> String {
    crate::textfmt::truncate(s, w)
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
