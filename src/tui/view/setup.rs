//! セットアップ: the 7 checklist items with ✓/✗ and the reason, and what the guide needs.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{block, fit, safe};
use crate::tui::app::App;

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
            &format!("{}. {}", item.number, item.title),
            w.saturating_sub(3),
        ));
        if pos == app.setup.scroll.cursor {
            title = title.style(app.theme.cursor());
        }
        lines.push(Line::from(vec![mark, title]));
        lines.push(Line::styled(
            fit(&format!("      {}", safe(&item.reason)), w),
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
                "API認証設定: {}  店舗キー {}  {}  シークレット {}",
                safe(&a.name),
                safe(&a.shop_key),
                safe(&a.endpoint),
                if a.has_secret {
                    "登録済み"
                } else {
                    "未登録"
                }
            ),
            None => "API認証設定: -".into(),
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
                "接続テスト: {} {}",
                test.at.format("%m/%d %H:%M"),
                safe(&test.message)
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
