//! ログ: the run log (APIログ) and the audit log (履歴), newest first, live, filterable.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{block, safe};
use crate::domain::RunState;
use crate::tui::app::{App, Mode};

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = app.text;
    let [tabs, filter, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(area);
    let (runs, audit) = app.log_rows();
    let labels = [
        format!(" {} {} ", t.log_runs, runs.len()),
        format!(" {} {} ", t.log_audit, audit.len()),
    ];
    let spans: Vec<Span> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == app.log.sub {
                Span::styled(l.clone(), app.theme.active_tab())
            } else {
                Span::raw(l.clone())
            }
        })
        .collect();
    f.render_widget(Paragraph::new(Line::from(spans)), tabs);
    let label = format!("{}: ", t.filter_label);
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(label.clone(), app.theme.key()),
            Span::raw(safe(app.log.filter.value()).into_owned()),
        ])),
        filter,
    );
    if app.mode == Mode::Filter {
        let x = filter.x
            + unicode_width::UnicodeWidthStr::width(label.as_str()) as u16
            + app.log.filter.visual_cursor() as u16;
        f.set_cursor_position((x.min(filter.right().saturating_sub(1)), filter.y));
    }
    let h = body.height.saturating_sub(3) as usize;
    // Below ~110 columns: minutes only, and the run log without its window column, so the
    // result and the errors stay readable.
    let wide = body.width >= 108;
    let time_fmt = if wide {
        "%m/%d %H:%M:%S"
    } else {
        "%m/%d %H:%M"
    };
    let scroll = app.log.scroll[app.log.sub];
    let start = scroll.offset;
    let cur = |pos: usize| {
        if pos == scroll.cursor {
            app.theme.cursor()
        } else {
            Style::new()
        }
    };
    if app.log.sub == 0 {
        let rows: Vec<Row> = runs
            .iter()
            .enumerate()
            .skip(start)
            .take(h)
            .map(|(pos, r)| {
                let state_style = match r.state {
                    RunState::Done if r.failure == 0 => app.theme.ok(),
                    RunState::Done => app.theme.warn(),
                    RunState::Running => app.theme.key(),
                    _ => app.theme.error(),
                };
                let mut cells = vec![
                    Cell::from(r.started.format(time_fmt).to_string()),
                    Cell::from(safe(&r.robot_name).into_owned()),
                    Cell::from(Span::styled(
                        format!(
                            "{} {} {}{}",
                            r.state.name(),
                            r.counts(),
                            t.skipped_label,
                            r.skipped
                        ),
                        state_style,
                    )),
                    Cell::from(
                        r.window
                            .map(|(a, b)| {
                                format!("{}〜{}", a.format("%m/%d %H:%M"), b.format("%m/%d %H:%M"))
                            })
                            .unwrap_or_default(),
                    ),
                    Cell::from(safe(&r.errors.join(" / ")).into_owned()),
                ];
                if !wide {
                    cells.remove(3);
                }
                Row::new(cells).style(cur(pos))
            })
            .collect();
        let mut header = vec![
            t.col_time,
            t.col_name,
            t.col_result,
            t.col_window,
            t.col_reason,
        ];
        let widths = if wide {
            vec![
                Constraint::Length(14),
                Constraint::Length(24),
                Constraint::Length(26),
                Constraint::Length(24),
                Constraint::Min(10),
            ]
        } else {
            header.remove(3);
            vec![
                Constraint::Length(11),
                Constraint::Length(18),
                Constraint::Length(26),
                Constraint::Min(10),
            ]
        };
        let header = Row::new(header).style(app.theme.header());
        f.render_widget(
            Table::new(rows, widths)
                .header(header)
                .block(block(app, t.log_runs, true)),
            body,
        );
    } else {
        let rows: Vec<Row> = audit
            .iter()
            .enumerate()
            .skip(start)
            .take(h)
            .map(|(pos, a)| {
                let moved = match (a.from, a.to) {
                    (Some(x), Some(y)) if x != y => format!(" {x}→{y}"),
                    (None, Some(y)) => format!(" →{y}"),
                    _ => String::new(),
                };
                Row::new(vec![
                    Cell::from(a.at.format(time_fmt).to_string()),
                    Cell::from(safe(&a.actor.to_string()).into_owned()),
                    Cell::from(safe(&a.target.to_string()).into_owned()),
                    Cell::from(format!("{}{}", safe(&a.action), moved)),
                    Cell::from(safe(&a.reason).into_owned()),
                ])
                .style(cur(pos))
            })
            .collect();
        let header = Row::new(vec![
            t.col_time,
            t.col_who,
            t.col_what,
            t.col_action,
            t.col_reason,
        ])
        .style(app.theme.header());
        f.render_widget(
            Table::new(
                rows,
                if wide {
                    [
                        Constraint::Length(14),
                        Constraint::Length(20),
                        Constraint::Length(23),
                        Constraint::Length(26),
                        Constraint::Min(10),
                    ]
                } else {
                    [
                        Constraint::Length(11),
                        Constraint::Length(12),
                        Constraint::Length(21),
                        Constraint::Length(19),
                        Constraint::Min(9),
                    ]
                },
            )
            .header(header)
            .block(block(app, t.log_audit, true)),
            body,
        );
    }
}
