//! Modal popups: help (generated from the keymap), confirm (Cancel focused), text input,
//! converter picker, forms, dry-run results. The terminal cursor sits on the focused input so
//! Japanese input methods draw their pre-edit text in the right place.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

use super::{block, centered, fit, safe};
use crate::tui::app::{App, Popup};
use crate::tui::keymap::Context;
use crate::tui::text::action_desc;

pub fn render(app: &App, f: &mut Frame, body: Rect) {
    let Some(p) = &app.popup else { return };
    match p {
        Popup::Help { scroll } => help(app, f, body, *scroll),
        Popup::Confirm {
            title,
            lines,
            yes_focused,
            ..
        } => {
            let w = lines
                .iter()
                .map(|l| l.width())
                .max()
                .unwrap_or(20)
                .max(title.width())
                .clamp(30, body.width as usize - 4) as u16
                + 4;
            let area = centered(body, w, lines.len() as u16 + 5);
            clear(f, area);
            let mut text: Vec<Line> = lines
                .iter()
                .map(|l| Line::raw(safe(l).into_owned()))
                .collect();
            text.push(Line::raw(""));
            let (yes, no) = (app.text.yes, app.text.no);
            let yes_style = if *yes_focused {
                app.theme.button_focused()
            } else {
                app.theme.base()
            };
            let no_style = if *yes_focused {
                app.theme.base()
            } else {
                app.theme.button_focused()
            };
            text.push(Line::from(vec![
                Span::styled(format!("[ {no} (n/Esc) ]"), no_style),
                Span::raw("   "),
                Span::styled(format!("[ {yes} (y) ]"), yes_style),
            ]));
            f.render_widget(
                Paragraph::new(text)
                    .block(block(app, safe(title).into_owned(), true))
                    .wrap(Wrap { trim: false }),
                area,
            );
        }
        Popup::Input {
            title,
            label,
            input,
            ..
        } => {
            let w = (body.width - 4).min(72);
            let area = centered(body, w, 5);
            clear(f, area);
            let inner_w = area.width.saturating_sub(4) as usize;
            let prefix = format!("{label}: ");
            let avail = inner_w.saturating_sub(prefix.width()).max(1);
            let scroll = input.visual_scroll(avail);
            let value: String = safe(input.value()).chars().collect();
            let shown = skip_cells(&value, scroll);
            let text = vec![
                Line::from(vec![
                    Span::styled(prefix.clone(), app.theme.key()),
                    Span::raw(fit(&shown, avail)),
                ]),
                Line::styled(app.text.input_hint, app.theme.dim()),
            ];
            // One cell of padding inside the border: the text starts at area.x + 2 (as measured above).
            let b = block(app, fit(&safe(title), w as usize - 4), true)
                .padding(ratatui::widgets::Padding::horizontal(1));
            f.render_widget(Paragraph::new(text).block(b), area);
            let x = area.x
                + 2
                + prefix.width() as u16
                + (input.visual_cursor().saturating_sub(scroll)) as u16;
            f.set_cursor_position((x.min(area.right().saturating_sub(2)), area.y + 1));
        }
        Popup::Picker {
            items,
            scroll,
            robot,
        } => {
            let h = (items.len() as u16 + 3).min(body.height);
            let area = centered(body, 64.min(body.width), h);
            clear(f, area);
            let mut lines: Vec<Line> = items
                .iter()
                .enumerate()
                .map(|(i, (_, name, on))| {
                    let l = format!("[{}] {}", if *on { "x" } else { " " }, safe(name));
                    if i == scroll.cursor {
                        Line::styled(l, app.theme.cursor())
                    } else {
                        Line::raw(l)
                    }
                })
                .collect();
            // The keys on their own line: in the title they were cut off at 80 columns.
            lines.push(Line::styled(app.text.picker_hint, app.theme.dim()));
            let title = (app.text.picker_title)(app.text.pick_converter, *robot);
            f.render_widget(Paragraph::new(lines).block(block(app, title, true)), area);
        }
        Popup::Form(form) => {
            let h = form.fields.len() as u16 * 2 + 5;
            let area = centered(body, (body.width - 4).min(76), h);
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
            for (i, field) in form.fields.iter().enumerate() {
                let focused = i == form.focus;
                let value = if field.masked {
                    "•".repeat(field.input.value().chars().count())
                } else {
                    safe(field.input.value()).into_owned()
                };
                let avail = (inner.width as usize).saturating_sub(label_w + 1).max(1);
                let scroll = field.input.visual_scroll(avail);
                let shown = skip_cells(&value, scroll);
                let label = fit(field.label, label_w);
                let pad = label_w.saturating_sub(label.width());
                let style = if focused {
                    app.theme.key()
                } else {
                    app.theme.base()
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{label}{} ", " ".repeat(pad)), style),
                    Span::raw(fit(&shown, avail)),
                ]));
                let note = if field.masked && form.secret_stored {
                    app.text.secret_saved
                } else {
                    ""
                };
                lines.push(Line::styled(
                    format!("{:w$} {note}", "", w = label_w),
                    app.theme.dim(),
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
            if let Some(e) = &form.error {
                lines.push(Line::styled(safe(e).into_owned(), app.theme.error()));
            }
            lines.push(Line::styled(app.text.form_hint, app.theme.dim()));
            f.render_widget(block(app, form.title, true), area);
            f.render_widget(Paragraph::new(lines), inner);
            if let Some(c) = cursor {
                f.set_cursor_position(c);
            }
        }
        Popup::DryRun {
            title,
            changes,
            scroll,
        } => {
            let area = centered(body, body.width - 4, body.height - 2);
            clear(f, area);
            let h = area.height.saturating_sub(3) as usize;
            let mut lines: Vec<Line> = vec![Line::styled(
                (app.text.count)(changes.len()),
                app.theme.header(),
            )];
            if changes.is_empty() {
                lines.push(Line::raw(app.text.dry_run_none));
            }
            for (i, c) in changes.iter().enumerate().skip(scroll.offset).take(h) {
                let l = format!(
                    "{}  {} → {}  {}",
                    safe(&c.order_no),
                    c.from,
                    c.to,
                    safe(&c.decision)
                );
                lines.push(if i == scroll.cursor {
                    Line::styled(l, app.theme.cursor())
                } else {
                    Line::raw(l)
                });
            }
            f.render_widget(
                Paragraph::new(lines).block(block(app, safe(title).into_owned(), true)),
                area,
            );
        }
    }
}

/// Clears a popup's area. A wide character just left of it would be drawn across the popup's
/// left border (the terminal never gets the border cell): blank it too.
fn clear(f: &mut Frame, area: Rect) {
    f.render_widget(Clear, area);
    if area.x == 0 {
        return;
    }
    let buf = f.buffer_mut();
    for y in area.top()..area.bottom() {
        let c = &mut buf[(area.x - 1, y)];
        if c.symbol().width() > 1 {
            c.set_symbol(" ");
        }
    }
}

/// Drops the first `cells` display cells of `s`.
fn skip_cells(s: &str, cells: usize) -> String {
    let mut w = 0;
    let mut out = String::new();
    for c in s.chars() {
        if w >= cells {
            out.push(c);
        }
        w += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
    }
    out
}

fn help(app: &App, f: &mut Frame, body: Rect, scroll: u16) {
    let area = centered(body, body.width - 4, body.height);
    clear(f, area);
    // The context behind the help popup.
    let ctx = if app.detail.is_some() && app.tab == crate::tui::app::Tab::Orders {
        Context::Detail
    } else {
        match app.tab {
            crate::tui::app::Tab::Dashboard => Context::Dashboard,
            crate::tui::app::Tab::Orders => Context::Orders,
            crate::tui::app::Tab::Robots => Context::Robots,
            crate::tui::app::Tab::Setup => Context::Setup,
            crate::tui::app::Tab::Log => Context::Log,
        }
    };
    let mut lines = Vec::new();
    let mut last_group = None;
    for (group, keys, action) in app.keymap.help(ctx) {
        if last_group != Some(group) {
            let title = match group {
                Context::Global => app.text.help_global.to_string(),
                Context::Nav => app.text.help_nav.to_string(),
                _ => format!(
                    "{} ({})",
                    app.text.help_context,
                    app.text.tabs[app.tab.index()]
                ),
            };
            if last_group.is_some() {
                lines.push(Line::raw(""));
            }
            lines.push(Line::styled(title, app.theme.header()));
            last_group = Some(group);
        }
        let k: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let ks = k.join(" / ");
        let pad = 18usize.saturating_sub(ks.width());
        let mut spans = vec![
            Span::styled(format!("  {ks}{}", " ".repeat(pad)), app.theme.key()),
            Span::raw(action_desc(app.text.lang, action)),
        ];
        if action.dangerous() {
            spans.push(Span::styled(
                format!("  {}", app.text.asks_first),
                app.theme.dim(),
            ));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(app.text.command_help, app.theme.dim()));
    let [_, inner] = Layout::vertical([Constraint::Length(0), Constraint::Min(1)]).areas(area);
    // Scrolling stops at the last line rather than showing an empty popup.
    let max = (lines.len() as u16).saturating_sub(inner.height.saturating_sub(2));
    f.render_widget(
        Paragraph::new(lines)
            .block(block(
                app,
                format!("{}  (? / Esc)", app.text.help_title),
                true,
            ))
            .scroll((scroll.min(max), 0)),
        inner,
    );
}
