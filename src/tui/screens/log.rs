//! ログ: the run log (APIログ) and the audit log (履歴), newest first, live, filterable.

use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::robots::{lengths, max_width};
use crate::domain::{AuditEntry, RunLogEntry, RunState};
use crate::tui::context::{Ctx, Out};
use crate::tui::keymap::Action;
use crate::tui::model::words;
use crate::tui::widgets::{Col, ListView, block, columns, columns_with_names, fit, safe, width};

#[derive(Default)]
pub struct LogScreen {
    /// 0: APIログ, 1: 履歴.
    pub sub: usize,
    pub lists: [ListView; 2],
    pub filter: Input,
    pub filtering: bool,
}

impl LogScreen {
    /// Log rows matching the filter, newest first.
    pub fn rows<'d>(&self, cx: &Ctx<'d>) -> (Vec<&'d RunLogEntry>, Vec<&'d AuditEntry>) {
        let w = words(self.filter.value());
        let hit = |h: String| {
            let h = h.to_lowercase();
            w.iter().all(|x| h.contains(x.as_str()))
        };
        let runs = cx
            .data
            .runs
            .iter()
            .filter(|r| {
                w.is_empty()
                    || hit(format!(
                        "{} {} {}",
                        r.robot_name,
                        r.action,
                        r.errors.join(" ")
                    ))
            })
            .collect();
        let audit = cx
            .data
            .audit
            .iter()
            .filter(|a| {
                w.is_empty()
                    || hit(format!(
                        "{} {} {} {}",
                        a.actor, a.target, a.action, a.reason
                    ))
            })
            .collect();
        (runs, audit)
    }

    /// Esc on this screen: clears the filter. False when there was none.
    pub fn back(&mut self) -> bool {
        if self.filter.value().is_empty() {
            return false;
        }
        self.filter = Input::default();
        true
    }

    pub fn on_filter_key(&mut self, k: KeyEvent) {
        match k.code {
            KeyCode::Esc => {
                self.filtering = false;
                self.filter = Input::default();
            }
            KeyCode::Enter => self.filtering = false,
            _ => {
                if self.filter.handle_event(&Event::Key(k)).is_some() {
                    // The list changed under the cursor: start again at the newest line.
                    self.lists = Default::default();
                }
            }
        }
    }

    pub fn on_action(&mut self, a: Action, cx: &Ctx, _out: &mut Out) {
        let (runs, audit) = self.rows(cx);
        let lens = [runs.len(), audit.len()];
        let sub = self.sub;
        // Sub-tabs and the filter line sit above the table.
        let fb = cx.fallback_rows().saturating_sub(2);
        if self.lists[sub].apply(a, lens[sub], fb) {
            return;
        }
        match a {
            Action::Left | Action::Right => self.sub = 1 - sub,
            Action::Filter => self.filtering = true,
            _ => {}
        }
    }

    pub fn render(&self, f: &mut Frame, area: Rect, cx: &Ctx) {
        let t = cx.text;
        let [tabs, filter, body] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(1),
        ])
        .areas(area);
        let (runs, audit) = self.rows(cx);
        let labels = [
            format!(" {} {} ", t.log_runs, runs.len()),
            format!(" {} {} ", t.log_audit, audit.len()),
        ];
        let spans: Vec<Span> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if i == self.sub {
                    Span::styled(l.clone(), cx.theme.active_tab())
                } else {
                    Span::raw(l.clone())
                }
            })
            .collect();
        f.render_widget(Paragraph::new(Line::from(spans)), tabs);
        let label = format!("{}: ", t.filter_label);
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(label.clone(), cx.theme.key()),
                Span::raw(safe(self.filter.value()).into_owned()),
            ])),
            filter,
        );
        if self.filtering {
            let x = filter.x + width(&label) as u16 + self.filter.visual_cursor() as u16;
            f.set_cursor_position((x.min(filter.right().saturating_sub(1)), filter.y));
        }
        let h = usize::from(body.height.saturating_sub(3));
        let inner = usize::from(body.width.saturating_sub(2));
        // Narrow terminals show minutes only.
        let time_fmt = if inner >= 106 {
            "%m/%d %H:%M:%S"
        } else {
            "%m/%d %H:%M"
        };
        let list = &self.lists[self.sub];
        let cur = |pos: usize| {
            if pos == list.cursor {
                cx.theme.cursor()
            } else {
                Style::new()
            }
        };
        if self.sub == 0 {
            let shown: Vec<(usize, &RunLogEntry)> = list
                .window(runs.len(), h)
                .map(|pos| (pos, runs[pos]))
                .collect();
            let text: Vec<[String; 5]> = shown
                .iter()
                .map(|(_, r)| {
                    [
                        r.started.format(time_fmt).to_string(),
                        safe(&r.robot_name).into_owned(),
                        format!(
                            "{} {} {}{}",
                            r.state.name(),
                            r.counts(),
                            t.skipped_label,
                            r.skipped
                        ),
                        r.window
                            .map(|(a, b)| {
                                format!("{}〜{}", a.format("%m/%d %H:%M"), b.format("%m/%d %H:%M"))
                            })
                            .unwrap_or_default(),
                        safe(&r.errors.join(" / ")).into_owned(),
                    ]
                })
                .collect();
            let headers = [
                t.col_time,
                t.col_name,
                t.col_result,
                t.col_window,
                t.col_reason,
            ];
            let want = |i: usize| max_width(text.iter().map(|c| c[i].as_str()), headers[i]);
            let (w, names) = columns_with_names(
                &mut [
                    Col::figure(want(0)),
                    Col::text(want(1), 10).keep(16),
                    Col::figure(want(2)),
                    Col::figure(want(3)).droppable(1),
                    Col::text(want(4), 8).grow(),
                ],
                1,
                &text.iter().map(|c| c[1].as_str()).collect::<Vec<_>>(),
                inner,
                1,
            );
            let rows: Vec<Row> = shown
                .iter()
                .zip(text.iter().zip(names))
                .map(|((pos, r), (c, name))| {
                    let state_style = match r.state {
                        RunState::Done if r.failure == 0 => cx.theme.ok(),
                        RunState::Done => cx.theme.warn(),
                        RunState::Running => cx.theme.key(),
                        _ => cx.theme.error(),
                    };
                    let cells: Vec<Cell> = (0..5)
                        .filter(|i| w[*i].is_some())
                        .map(|i| match i {
                            1 => Cell::from(name.clone()),
                            2 => Cell::from(Span::styled(c[2].clone(), state_style)),
                            _ => Cell::from(fit(&c[i], w[i].unwrap_or(0))),
                        })
                        .collect();
                    Row::new(cells).style(cur(*pos))
                })
                .collect();
            let header = header_row(&headers, &w, cx);
            f.render_widget(
                Table::new(rows, lengths(&w))
                    .header(header)
                    .block(block(&cx.theme, t.log_runs, true)),
                body,
            );
        } else {
            let shown: Vec<(usize, &AuditEntry)> = list
                .window(audit.len(), h)
                .map(|pos| (pos, audit[pos]))
                .collect();
            let text: Vec<[String; 5]> = shown
                .iter()
                .map(|(_, a)| {
                    let moved = match (a.from, a.to) {
                        (Some(x), Some(y)) if x != y => format!(" {x}→{y}"),
                        (None, Some(y)) => format!(" →{y}"),
                        _ => String::new(),
                    };
                    [
                        a.at.format(time_fmt).to_string(),
                        safe(&a.actor.to_string()).into_owned(),
                        safe(&a.target.to_string()).into_owned(),
                        format!("{}{}", safe(&a.action), moved),
                        safe(&a.reason).into_owned(),
                    ]
                })
                .collect();
            let headers = [
                t.col_time,
                t.col_who,
                t.col_what,
                t.col_action,
                t.col_reason,
            ];
            let want = |i: usize| max_width(text.iter().map(|c| c[i].as_str()), headers[i]);
            let w = columns(
                &[
                    Col::figure(want(0)),
                    Col::text(want(1), 8).keep(12),
                    // What was changed carries the order number: it is not cut.
                    Col::text(want(2), 10).keep(want(2)),
                    Col::text(want(3), 8).keep(14),
                    Col::text(want(4), 8).grow(),
                ],
                inner,
                1,
            );
            let rows: Vec<Row> = shown
                .iter()
                .zip(text.iter())
                .map(|((pos, _), c)| {
                    Row::new(
                        (0..5)
                            .filter(|i| w[*i].is_some())
                            .map(|i| Cell::from(fit(&c[i], w[i].unwrap_or(0))))
                            .collect::<Vec<_>>(),
                    )
                    .style(cur(*pos))
                })
                .collect();
            let header = header_row(&headers, &w, cx);
            f.render_widget(
                Table::new(rows, lengths(&w)).header(header).block(block(
                    &cx.theme,
                    t.log_audit,
                    true,
                )),
                body,
            );
        }
    }
}

fn header_row(headers: &[&str], w: &[Option<usize>], cx: &Ctx) -> Row<'static> {
    Row::new(
        headers
            .iter()
            .enumerate()
            .filter(|(i, _)| w[*i].is_some())
            .map(|(i, h)| Cell::from(fit(h, w[i].unwrap_or(0))))
            .collect::<Vec<_>>(),
    )
    .style(cx.theme.header())
}
