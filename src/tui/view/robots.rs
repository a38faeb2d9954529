//! ロボット: converters, processing robots (有効 and 適用 side by side, half-set flagged, in run
//! order) and linkage robots (trigger, last and next run, progress while running).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{block, safe};
use crate::domain::RunState;
use crate::robots::processing::RuleKind;
use crate::tui::app::{App, Scroll};

/// The rows drawn: from the scroll offset, moved so the cursor is always inside (the pane may be
/// shorter than the height the key handler assumed).
fn rows_window(scroll: &Scroll, len: usize, height: usize) -> std::ops::Range<usize> {
    let mut start = scroll.offset.min(len);
    if height > 0 && scroll.cursor >= start + height {
        start = scroll.cursor + 1 - height;
    }
    start..(start + height).min(len)
}

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = app.text;
    let Some(v) = &app.robots.view else {
        f.render_widget(Paragraph::new(t.loading), area);
        return;
    };
    let [a, b, c] = Layout::vertical([
        Constraint::Length((v.converters.len() as u16 + 3).min(area.height / 4 + 1)),
        Constraint::Ratio(1, 2),
        Constraint::Ratio(1, 2),
    ])
    .areas(area);
    let onoff = |on: bool| if on { t.enabled } else { t.disabled };
    let cursor_style = |pane: usize, pos: usize| {
        if app.robots.pane == pane && app.robots.scroll[pane].cursor == pos {
            app.theme.cursor()
        } else {
            Style::new()
        }
    };

    // 変換
    let h = a.height.saturating_sub(3) as usize;
    let mut rows = Vec::new();
    for pos in rows_window(&app.robots.scroll[0], v.converters.len(), h) {
        let cv = &v.converters[pos];
        rows.push(
            Row::new(vec![
                Cell::from(cv.id.to_string()),
                Cell::from(safe(&cv.name).into_owned()),
                Cell::from(onoff(cv.enabled)),
                Cell::from(if cv.standard {
                    t.standard.to_string()
                } else {
                    cv.copied_from
                        .map(|x| format!("← ID:{x}"))
                        .unwrap_or_default()
                }),
            ])
            .style(cursor_style(0, pos)),
        );
    }
    let header = Row::new(vec![t.col_id, t.col_name, t.col_enabled, ""]).style(app.theme.header());
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(6),
                Constraint::Min(20),
                Constraint::Length(5),
                Constraint::Length(16),
            ],
        )
        .header(header)
        .block(block(app, t.pane_converters, app.robots.pane == 0)),
        a,
    );

    // 処理
    let conv_name = |id: u64| {
        v.converters
            .iter()
            .find(|c| c.id == id)
            .map(|_| format!("{id}"))
            .unwrap_or_else(|| format!("{id}?"))
    };
    let h = b.height.saturating_sub(3) as usize;
    let mut rows = Vec::new();
    for pos in rows_window(&app.robots.scroll[1], v.processing.len(), h) {
        let p = &v.processing[pos];
        let applied: Vec<String> = p.applied_to.iter().map(|id| conv_name(*id)).collect();
        let warn = if p.half_set() {
            t.half_set.to_string()
        } else if p
            .applied_to
            .iter()
            .any(|id| v.converters.iter().any(|c| c.id == *id && !c.enabled))
        {
            t.applied_to_disabled.into()
        } else {
            String::new()
        };
        let name = match &p.kind {
            RuleKind::Builtin(_) => safe(&p.name).into_owned(),
            RuleKind::User(_) => format!("{} {}", safe(&p.name), t.user_defined),
        };
        let mut style = cursor_style(1, pos);
        if p.half_set() && style == Style::new() {
            style = app.theme.warn();
        }
        rows.push(
            Row::new(vec![
                Cell::from(format!("{}", pos + 1)),
                Cell::from(p.id.to_string()),
                Cell::from(name),
                Cell::from(onoff(p.enabled)),
                Cell::from(if applied.is_empty() {
                    "-".into()
                } else {
                    applied.join(",")
                }),
                Cell::from(warn),
            ])
            .style(style),
        );
    }
    let header = Row::new(vec![
        "#",
        t.col_id,
        t.col_name,
        t.col_enabled,
        t.col_applied,
        "",
    ])
    .style(app.theme.header());
    let title = format!(
        "{}  ({}: {})",
        t.pane_processing,
        t.no_prepayment,
        safe(&v.no_prepayment.join(","))
    );
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(2),
                Constraint::Length(6),
                Constraint::Min(24),
                Constraint::Length(5),
                Constraint::Length(12),
                Constraint::Length(18),
            ],
        )
        .header(header)
        .block(block(app, title, app.robots.pane == 1)),
        b,
    );

    // 連携 (below ~110 columns without the 次回 column: the last run's result must show)
    let wide = c.width >= 108;
    let h = c.height.saturating_sub(3) as usize;
    let mut rows = Vec::new();
    for pos in rows_window(&app.robots.scroll[2], v.linkage.len(), h) {
        let l = &v.linkage[pos];
        let live = app.log.runs.iter().find(|x| x.robot_id == l.robot.id);
        let last = match live.or(l.last_run.as_ref()) {
            Some(x) if x.state == RunState::Running => {
                format!("{} {} {}p {}", t.running, t.progress, x.pages, x.counts())
            }
            Some(x) => format!(
                "{} {} {}",
                x.started.format("%m/%d %H:%M"),
                x.state.name(),
                x.counts()
            ),
            None => "-".into(),
        };
        let mut cells = vec![
            Cell::from(l.robot.id.to_string()),
            Cell::from(safe(&l.robot.name).into_owned()),
            Cell::from(l.robot.action.name()),
            Cell::from(
                safe(&(t.trigger)(&l.robot.trigger, &|id| {
                    v.linkage
                        .iter()
                        .find(|x| x.robot.id == id)
                        .map(|x| x.robot.name.clone())
                        .unwrap_or_else(|| format!("ID:{id}"))
                }))
                .into_owned(),
            ),
            Cell::from(onoff(l.robot.enabled)),
            Cell::from(last),
            Cell::from(
                l.next_run
                    .map(|n| n.format("%H:%M").to_string())
                    .unwrap_or_else(|| "-".into()),
            ),
        ];
        if !wide {
            cells.pop();
        }
        rows.push(Row::new(cells).style(cursor_style(2, pos)));
    }
    let mut header = vec![
        t.col_id,
        t.col_name,
        t.col_action,
        t.col_trigger,
        t.col_enabled,
        t.col_last_run,
        t.col_next_run,
    ];
    if !wide {
        header.pop();
    }
    let header = Row::new(header).style(app.theme.header());
    let running = v.linkage.iter().any(|l| {
        app.log
            .runs
            .iter()
            .find(|x| x.robot_id == l.robot.id)
            .is_some_and(|x| x.state == RunState::Running)
    });
    let title = if running {
        format!("{}  ⟳ {}", t.pane_linkage, t.running)
    } else {
        t.pane_linkage.to_string()
    };
    f.render_widget(
        Table::new(
            rows,
            if wide {
                vec![
                    Constraint::Length(5),
                    Constraint::Min(18),
                    Constraint::Length(22),
                    Constraint::Length(14),
                    Constraint::Length(5),
                    Constraint::Length(31),
                    Constraint::Length(5),
                ]
            } else {
                vec![
                    Constraint::Length(4),
                    Constraint::Min(10),
                    Constraint::Length(14),
                    Constraint::Length(10),
                    Constraint::Length(4),
                    Constraint::Length(31),
                ]
            },
        )
        .header(header)
        .block(block(app, title, app.robots.pane == 2)),
        c,
    );
    if v.processing.is_empty() && v.linkage.is_empty() {
        f.render_widget(Paragraph::new(Line::raw(t.no_rows)), area);
    }
}
