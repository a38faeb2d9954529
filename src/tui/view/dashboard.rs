//! ダッシュボード: queue sizes as bars, orders per hour, linkage robots' last/next runs, setup
//! progress, and how fresh the sync is (colour *and* a word).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

use super::{block, fit, safe};
use crate::domain::{RunState, Status};
use crate::tui::app::App;
use crate::tui::model::{QUEUES, Queue};

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let t = app.text;
    let [top, bottom] = Layout::vertical([Constraint::Length(10), Constraint::Min(4)]).areas(area);
    let [queues, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(top);

    // Queue sizes as horizontal bars (labels in display cells, CJK-safe).
    let counts = app.queue_counts();
    let max = counts.values().copied().max().unwrap_or(0).max(1);
    let inner_w = queues.width.saturating_sub(2) as usize;
    let label_w = 14;
    let num_w = 7;
    let bar_w = inner_w.saturating_sub(label_w + num_w + 1);
    let mut lines = Vec::new();
    for q in QUEUES {
        let n = counts.get(&q).copied().unwrap_or(0);
        let len = if n == 0 {
            0
        } else {
            (n * bar_w).div_ceil(max).max(1)
        };
        let label = fit(q.name(), label_w);
        let pad = label_w.saturating_sub(unicode_width::UnicodeWidthStr::width(label.as_str()));
        let style = match q {
            Queue::IntakeErrors | Queue::UpstreamErrors if n > 0 => app.theme.error(),
            Queue::Status(Status::Held | Status::AwaitingPayment) if n > 0 => app.theme.warn(),
            _ => app.theme.bar(),
        };
        lines.push(Line::from(vec![
            Span::raw(format!("{label}{}", " ".repeat(pad))),
            Span::styled("█".repeat(len), style),
            Span::raw(" ".repeat(bar_w.saturating_sub(len))),
            Span::raw(format!(" {n:>6}")),
        ]));
    }
    f.render_widget(
        Paragraph::new(lines).block(block(app, t.queues_title, false)),
        queues,
    );

    // Orders per hour, and the status block.
    let [spark, info] = Layout::vertical([Constraint::Length(5), Constraint::Min(3)]).areas(right);
    let per_hour = app.orders.model.per_hour(app.now().naive_local());
    let total: u64 = per_hour.iter().sum();
    f.render_widget(
        Sparkline::default()
            .block(block(app, format!("{} {total}", t.per_hour_title), false))
            .data(&per_hour)
            .style(app.theme.bar()),
        spark,
    );
    let done = app.setup.items.iter().filter(|i| i.ok).count();
    let all = app.setup.items.len().max(7);
    let now = app.now();
    let st = app.sync_state(now);
    let sync_style = if st.failing {
        app.theme.error()
    } else if st.stale || st.last_ok.is_none() {
        app.theme.warn()
    } else {
        app.theme.ok()
    };
    let setup_style = if done == all {
        app.theme.ok()
    } else {
        app.theme.warn()
    };
    let info_lines = vec![
        Line::from(vec![
            Span::raw(format!("{}: ", t.setup_progress)),
            Span::styled(format!("{done}/{all}"), setup_style),
        ]),
        Line::from(Span::styled(app.sync_text(now), sync_style)),
    ];
    f.render_widget(
        Paragraph::new(info_lines).block(block(app, "", false)),
        info,
    );

    // Linkage robots: last run (time, window, 成功/失敗, error) and next run.
    let mut lines = Vec::new();
    let w = bottom.width.saturating_sub(2) as usize;
    // Narrow (80 columns): shorter names and no fetch window, so the result and next run show.
    let wide = w >= 108;
    if let Some(v) = &app.robots.view {
        for l in &v.linkage {
            let r = &l.robot;
            let mut error = None;
            let mut spans = vec![Span::styled(
                fit(
                    &format!("{} {}", if r.enabled { "●" } else { "○" }, safe(&r.name)),
                    if wide { 44 } else { 30 },
                ),
                if r.enabled {
                    app.theme.base()
                } else {
                    app.theme.dim()
                },
            )];
            let last = app
                .log
                .runs
                .iter()
                .find(|x| x.robot_id == r.id)
                .or(l.last_run.as_ref());
            match last {
                Some(x) => {
                    let style = match x.state {
                        RunState::Done if x.failure == 0 => app.theme.ok(),
                        RunState::Done => app.theme.warn(),
                        RunState::Running => app.theme.key(),
                        _ => app.theme.error(),
                    };
                    let window = x
                        .window
                        .map(|(a, b)| {
                            format!(" [{}〜{}]", a.format("%m/%d %H:%M"), b.format("%H:%M"))
                        })
                        .unwrap_or_default();
                    spans.push(Span::raw(format!("  {}", x.started.format("%H:%M:%S"))));
                    spans.push(Span::styled(
                        format!(" {} {}", x.state.name(), x.counts()),
                        style,
                    ));
                    if wide {
                        spans.push(Span::styled(window, app.theme.dim()));
                    }
                    error = x.errors.first();
                }
                None => spans.push(Span::styled("  -", app.theme.dim())),
            }
            if let Some(next) = l.next_run {
                spans.push(Span::styled(
                    format!("  → {}", next.format("%H:%M")),
                    app.theme.dim(),
                ));
            }
            // The first error last, cut to what is left of the line.
            if let Some(e) = error {
                let used = Line::from(spans.clone()).width() + 2;
                if used + 2 < w {
                    spans.push(Span::styled(
                        format!("  {}", fit(&safe(e), w - used)),
                        app.theme.error(),
                    ));
                }
            }
            let line = Line::from(spans);
            lines.push(line);
        }
    }
    if lines.is_empty() {
        lines.push(Line::styled(fit(t.no_rows, w), app.theme.dim()));
    }
    f.render_widget(
        Paragraph::new(lines).block(block(app, t.robots_title, false)),
        bottom,
    );
}
