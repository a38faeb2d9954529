//! ダッシュボード: queue sizes as bars, orders per hour, setup progress and how fresh the sync
//! is (colour *and* a word), the 新着 pane — orders as they arrive, the newest highlighted for a
//! few seconds, Enter opens one — and the linkage robots' last and next runs.

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Sparkline, Table};

use super::robots::{lengths, max_width};
use crate::domain::{RunState, Status};
use crate::futureshop::PaymentType;
use crate::textfmt::yen;
use crate::tui::context::{Ctx, Open, Out};
use crate::tui::data::FRESH_SECS;
use crate::tui::keymap::Action;
use crate::tui::model::{QUEUES, Queue};
use crate::tui::widgets::{
    Col, ListView, block, columns, columns_with_names, fit, pad, safe, width, with_figure,
};

#[derive(Default)]
pub struct DashboardScreen {
    /// The cursor in the 新着 pane.
    pub list: ListView,
}

impl DashboardScreen {
    /// The 新着 list changed: a cursor on the newest stays on the newest, any other stays on
    /// its order.
    pub fn data_changed(&mut self, keep: Option<u64>, cx: &Ctx) {
        let arrivals = &cx.data.arrivals;
        if self.list.cursor > 0
            && let Some(id) = keep
            && let Some(pos) = arrivals.iter().position(|a| a.id == id)
        {
            self.list.cursor = pos;
        }
        self.list.clamp(arrivals.len(), 4);
    }

    pub fn selected_id(&self, cx: &Ctx) -> Option<u64> {
        cx.data.arrivals.get(self.list.cursor).map(|a| a.id)
    }

    pub fn on_action(&mut self, a: Action, cx: &Ctx, out: &mut Out) {
        if self.list.apply(a, cx.data.arrivals.len(), 4) {
            return;
        }
        if a == Action::Open
            && let Some(id) = self.selected_id(cx)
        {
            out.open = Some(Open::Instruction(id));
        }
    }

    pub fn render(&self, f: &mut Frame, area: Rect, cx: &Ctx) {
        let counts = cx.data.queue_counts();
        let queue_rows = shown_queues(&counts).len() as u16 + 2;
        let [top, rest] =
            Layout::vertical([Constraint::Length(queue_rows), Constraint::Min(4)]).areas(area);
        let [queues, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(top);
        self.queues(f, queues, &counts, cx);
        let [spark, info] =
            Layout::vertical([Constraint::Length(5), Constraint::Min(3)]).areas(right);
        self.per_hour(f, spark, cx);
        self.info(f, info, cx);
        // The robots take what they need, up to half of what is left; 新着 fills the rest.
        let robots = cx
            .data
            .robots
            .as_ref()
            .map_or(1, |v| v.linkage.len().max(1)) as u16
            + 2;
        let robots = robots.min(rest.height / 2).max(3);
        let [arrivals, linkage] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(robots)]).areas(rest);
        self.arrivals(f, arrivals, cx);
        self.linkage(f, linkage, cx);
    }

    /// Queue sizes as horizontal bars (labels in display cells, CJK-safe).
    fn queues(&self, f: &mut Frame, area: Rect, counts: &HashMap<Queue, usize>, cx: &Ctx) {
        let max = counts.values().copied().max().unwrap_or(0).max(1);
        let inner_w = usize::from(area.width.saturating_sub(2));
        let shown = shown_queues(counts);
        let label_w = shown.iter().map(|q| width(q.name())).max().unwrap_or(8) + 1;
        // The figure is never cut: its width is the widest count's.
        let num_w = counts
            .values()
            .map(|n| n.to_string().len())
            .max()
            .unwrap_or(1)
            + 1;
        let bar_w = inner_w.saturating_sub(label_w + num_w);
        let mut lines = Vec::new();
        for q in shown {
            let n = counts.get(&q).copied().unwrap_or(0);
            let len = if n == 0 {
                0
            } else {
                (n * bar_w).div_ceil(max).max(1)
            };
            let style = match q {
                q if q.is_alarm() && n > 0 => cx.theme.error(),
                Queue::Status(Status::Held | Status::AwaitingPayment) if n > 0 => cx.theme.warn(),
                _ => cx.theme.bar(),
            };
            lines.push(Line::from(vec![
                Span::raw(pad(q.name(), label_w)),
                Span::styled("█".repeat(len), style),
                Span::raw(" ".repeat(bar_w.saturating_sub(len))),
                Span::raw(format!("{n:>num_w$}")),
            ]));
        }
        f.render_widget(
            Paragraph::new(lines).block(block(&cx.theme, cx.text.queues_title, false)),
            area,
        );
    }

    /// Orders per hour: the label shortens at narrow widths, the total never does.
    fn per_hour(&self, f: &mut Frame, area: Rect, cx: &Ctx) {
        let t = cx.text;
        let per_hour = cx.data.orders.per_hour(cx.now.naive_local());
        let total: u64 = per_hour.iter().sum();
        let title = with_figure(
            &[t.per_hour_title, t.per_hour_short],
            &total.to_string(),
            usize::from(area.width.saturating_sub(4)),
        );
        f.render_widget(
            Sparkline::default()
                .block(block(&cx.theme, title, false))
                .data(&per_hour)
                .style(cx.theme.bar()),
            area,
        );
    }

    fn info(&self, f: &mut Frame, area: Rect, cx: &Ctx) {
        let t = cx.text;
        let items = &cx.data.checklist;
        let done = items.iter().filter(|i| i.ok).count();
        let all = items.len().max(7);
        let st = cx.data.sync_state(cx.now);
        let sync_style = if st.failing {
            cx.theme.error()
        } else if st.stale || st.last_ok.is_none() {
            cx.theme.warn()
        } else {
            cx.theme.ok()
        };
        let setup_style = if done == all {
            cx.theme.ok()
        } else {
            cx.theme.warn()
        };
        let lines = vec![
            Line::from(vec![
                Span::raw(format!("{}: ", t.setup_progress)),
                Span::styled(format!("{done}/{all}"), setup_style),
            ]),
            Line::from(Span::styled(super::sync_text(cx), sync_style)),
        ];
        f.render_widget(
            Paragraph::new(lines).block(block(&cx.theme, "", false)),
            area,
        );
    }

    /// 新着: the latest orders, newest first; one that just arrived is highlighted.
    fn arrivals(&self, f: &mut Frame, area: Rect, cx: &Ctx) {
        let t = cx.text;
        let arrivals = &cx.data.arrivals;
        let rows = self
            .list
            .window(arrivals.len(), usize::from(area.height.saturating_sub(3)));
        struct R {
            pos: usize,
            fresh: bool,
            text: [String; 6],
        }
        let built: Vec<R> = rows
            .filter_map(|pos| {
                let a = &arrivals[pos];
                let s = cx.data.row(a.id)?;
                let fresh =
                    a.at.is_some_and(|at| (cx.now - at).num_seconds() < FRESH_SECS);
                Some(R {
                    pos,
                    fresh,
                    text: [
                        s.order_date
                            .map(|d| d.format("%m/%d %H:%M").to_string())
                            .unwrap_or_default(),
                        safe(s.order_no()).into_owned(),
                        safe(s.recipient()).into_owned(),
                        yen(s.amount),
                        safe(PaymentType::parse(s.payment_type()).label_ja()).into_owned(),
                        s.status.name().to_string(),
                    ],
                })
            })
            .collect();
        let headers = [
            t.col_date,
            t.col_order_no,
            t.col_recipient,
            t.col_amount,
            t.col_payment,
            t.col_queue,
        ];
        let want = |i: usize| max_width(built.iter().map(|r| r.text[i].as_str()), headers[i]);
        let w = columns(
            &[
                Col::figure(want(0)),
                Col::figure(want(1)),
                Col::text(want(2), 8).keep(12).grow(),
                Col::figure(want(3)),
                Col::text(want(4), 6).keep(8).droppable(1),
                Col::figure(want(5)),
            ],
            usize::from(area.width.saturating_sub(2)),
            1,
        );
        let body: Vec<Row> = built
            .iter()
            .map(|r| {
                let mut style = Style::new();
                if r.fresh {
                    style = cx.theme.fresh();
                }
                if r.pos == self.list.cursor {
                    style = style.patch(cx.theme.cursor());
                }
                Row::new(
                    (0..6)
                        .filter(|i| w[*i].is_some())
                        .map(|i| {
                            let s = fit(&r.text[i], w[i].unwrap_or(0));
                            if i == 3 {
                                Cell::from(Line::from(s).alignment(Alignment::Right))
                            } else {
                                Cell::from(s)
                            }
                        })
                        .collect::<Vec<_>>(),
                )
                .style(style)
            })
            .collect();
        let header = Row::new(
            (0..6)
                .filter(|i| w[*i].is_some())
                .map(|i| Cell::from(fit(headers[i], w[i].unwrap_or(0))))
                .collect::<Vec<_>>(),
        )
        .style(cx.theme.header());
        let title = with_figure(
            &[t.arrivals_title],
            &(t.count)(arrivals.len()),
            usize::from(area.width.saturating_sub(4)),
        );
        let b = block(&cx.theme, title, true);
        if body.is_empty() {
            let msg = if cx.data.orders.loaded {
                t.no_rows
            } else {
                t.loading
            };
            f.render_widget(Paragraph::new(msg).block(b).style(cx.theme.dim()), area);
            return;
        }
        f.render_widget(
            Table::new(body, lengths(&w))
                .header(header)
                .block(b)
                .column_spacing(1),
            area,
        );
    }

    /// Linkage robots: last run (time, 成功/失敗, error) and next run.
    fn linkage(&self, f: &mut Frame, area: Rect, cx: &Ctx) {
        let t = cx.text;
        let inner = usize::from(area.width.saturating_sub(2));
        let Some(v) = &cx.data.robots else {
            f.render_widget(
                Paragraph::new(Line::styled(t.loading, cx.theme.dim())).block(block(
                    &cx.theme,
                    t.robots_title,
                    false,
                )),
                area,
            );
            return;
        };
        let text: Vec<[String; 4]> = v
            .linkage
            .iter()
            .map(|l| {
                let (when, result, error) = match &l.last_run {
                    Some(x) => (
                        x.started.format("%H:%M:%S").to_string(),
                        format!("{} {}", x.state.name(), x.counts()),
                        x.errors
                            .first()
                            .map(|e| safe(e).into_owned())
                            .unwrap_or_default(),
                    ),
                    None => ("-".into(), String::new(), String::new()),
                };
                let next = l
                    .next_run
                    .map(|n| format!("→ {}", n.format("%H:%M")))
                    .unwrap_or_default();
                [
                    safe(&l.robot.name).into_owned(),
                    format!("{when} {result}"),
                    next,
                    error,
                ]
            })
            .collect();
        let want = |i: usize| max_width(text.iter().map(|c| c[i].as_str()), "");
        // On/off mark, name, last run, next run, the last run's first error.
        let (w, names) = columns_with_names(
            &mut [
                Col::figure(1),
                Col::text(want(0), 12).keep(20),
                Col::figure(want(1)),
                Col::figure(want(2)).droppable(1),
                Col::text(want(3), 0).grow(),
            ],
            1,
            &text.iter().map(|c| c[0].as_str()).collect::<Vec<_>>(),
            inner,
            1,
        );
        let rows: Vec<Row> = v
            .linkage
            .iter()
            .zip(text.iter().zip(names))
            .map(|(l, (c, name))| {
                let state = l.last_run.as_ref().map(|x| match x.state {
                    RunState::Done if x.failure == 0 => cx.theme.ok(),
                    RunState::Done => cx.theme.warn(),
                    RunState::Running => cx.theme.key(),
                    _ => cx.theme.error(),
                });
                let (mark, name_style) = if l.robot.enabled {
                    ("●", cx.theme.base())
                } else {
                    ("○", cx.theme.dim())
                };
                let mut cells = vec![
                    Cell::from(Span::styled(mark, name_style)),
                    Cell::from(Span::styled(name, name_style)),
                    Cell::from(Span::styled(c[1].clone(), state.unwrap_or(cx.theme.dim()))),
                ];
                if w[3].is_some() {
                    cells.push(Cell::from(Span::styled(c[2].clone(), cx.theme.dim())));
                }
                cells.push(Cell::from(Span::styled(
                    fit(&c[3], w[4].unwrap_or(0)),
                    cx.theme.error(),
                )));
                Row::new(cells)
            })
            .collect();
        if rows.is_empty() {
            f.render_widget(
                Paragraph::new(Line::styled(fit(t.no_rows, inner), cx.theme.dim())).block(block(
                    &cx.theme,
                    t.robots_title,
                    false,
                )),
                area,
            );
            return;
        }
        f.render_widget(
            Table::new(rows, lengths(&w)).column_spacing(1).block(block(
                &cx.theme,
                t.robots_title,
                false,
            )),
            area,
        );
    }
}

/// The queues the dashboard lists: 出荷後キャンセル only while it has entries.
fn shown_queues(counts: &HashMap<Queue, usize>) -> Vec<Queue> {
    QUEUES
        .into_iter()
        .filter(|q| *q != Queue::LateCancels || counts.get(q).copied().unwrap_or(0) > 0)
        .collect()
}
