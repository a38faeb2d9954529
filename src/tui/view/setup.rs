//! セットアップ: the 7 checklist items with ✓/✗ and the reason, and what the guide needs.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{block, fit, safe};
use crate::tui::app::App;
use crate::tui::text::{Lang, Text};

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = app.text;
    let [list, side] = Layout::vertical([Constraint::Min(10), Constraint::Length(5)]).areas(area);
    // Two lines per item, cut to the width (not wrapped), scrolled so the cursor item shows.
    let w = list.width.saturating_sub(2) as usize;
    let mut lines = Vec::new();
    for (pos, item) in app.setup.items.iter().enumerate() {
        let mark = if item.ok {
            Span::styled(" ✓ ", app.theme.ok())
        } else {
            Span::styled(" ✗ ", app.theme.error())
        };
        let mut title = Span::raw(fit(
            &format!(
                "{}. {}",
                item.number,
                safe(in_lang(t, &item.title, &item.title_en))
            ),
            w.saturating_sub(3),
        ));
        if pos == app.setup.scroll.cursor {
            title = title.style(app.theme.cursor());
        }
        lines.push(Line::from(vec![mark, title]));
        lines.push(Line::styled(
            fit(
                &format!("      {}", safe(in_lang(t, &item.reason, &item.reason_en))),
                w,
            ),
            if item.ok {
                app.theme.dim()
            } else {
                app.theme.warn()
            },
        ));
    }
    let done = app.setup.items.iter().filter(|i| i.ok).count();
    let title = format!("{} {}/{}", t.setup_progress, done, app.setup.items.len());
    let inner_h = list.height.saturating_sub(2) as usize;
    let scroll = (app.setup.scroll.cursor * 2 + 2).saturating_sub(inner_h) as u16;
    f.render_widget(
        Paragraph::new(lines)
            .block(block(app, title, true))
            .scroll((scroll, 0)),
        list,
    );
    let auth = app.setup.auths.first();
    let mut info = vec![
        Line::raw(format!(
            "{}: {}   {}: {}",
            t.form_ship_from,
            app.setup
                .ship_froms
                .first()
                .map(|s| safe(&s.name).into_owned())
                .unwrap_or_else(|| "-".into()),
            t.products_count,
            app.setup.products
        )),
        Line::raw(match auth {
            Some(a) => format!(
                "{}: {}  {} {}  {}  {} {}",
                t.auth_label,
                safe(&a.name),
                t.shop_key_label,
                safe(&a.shop_key),
                safe(&a.endpoint),
                t.secret_label,
                if a.has_secret {
                    t.secret_set
                } else {
                    t.secret_unset
                }
            ),
            None => format!("{}: -", t.auth_label),
        }),
    ];
    if let Some(test) = app
        .setup
        .last_test
        .as_ref()
        .or(auth.and_then(|a| a.last_test.as_ref()))
    {
        info.push(Line::styled(
            format!(
                "{}: {} {}",
                t.test_label,
                test.at.format("%m/%d %H:%M"),
                safe(&(t.test_outcome)(test))
            ),
            if test.ok {
                app.theme.ok()
            } else {
                app.theme.error()
            },
        ));
    }
    f.render_widget(
        Paragraph::new(info)
            .block(block(app, "", false))
            .wrap(Wrap { trim: true }),
        side,
    );
}

/// The English text of an engine message in the English console, when the server sent one.
fn in_lang<'a>(t: &Text, ja: &'a str, en: &'a str) -> &'a str {
    if t.lang == Lang::En && !en.is_empty() {
        en
    } else {
        ja
    }
}
