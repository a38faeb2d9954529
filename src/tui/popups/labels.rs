//! 送り状 in the console: the carrier picker of an export, the export's result (rows,
//! adjustments, what was left out and why), and an import's per-row results — first as a
//! trial run, applied with `y`.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::Keep;
use crate::engine::labels::ExportRequest;
use crate::labels::{ExportReport, ImportReport, RowOutcome};
use crate::service::ProfileInfo;
use crate::tui::context::{Ctx, Out};
use crate::tui::event::Effect;
use crate::tui::keymap::Action;
use crate::tui::widgets::{ListView, block, centered, clear, fit, safe, wrap};

/// Which carrier's file to write for these instructions.
pub struct CarrierPopup {
    pub profiles: Vec<ProfileInfo>,
    pub ids: Vec<u64>,
    pub list: ListView,
    /// Export again what was exported before (a reprint: `a` toggles it).
    pub again: bool,
}

impl CarrierPopup {
    pub fn new(profiles: Vec<ProfileInfo>, ids: Vec<u64>) -> CarrierPopup {
        CarrierPopup {
            profiles,
            ids,
            list: ListView::default(),
            again: false,
        }
    }

    pub fn on_key(&mut self, k: KeyEvent, cx: &Ctx, out: &mut Out) -> Keep {
        let n = self.profiles.len();
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') => return Keep::Close,
            KeyCode::Char('j') | KeyCode::Down => {
                self.list.apply(Action::Down, n, n);
            }
            KeyCode::Char('k') | KeyCode::Up => {
                self.list.apply(Action::Up, n, n);
            }
            KeyCode::Char('a') => self.again = !self.again,
            KeyCode::Enter => {
                if let Some(p) = self.profiles.get(self.list.cursor) {
                    out.effects.push(Effect::ExportLabels(ExportRequest {
                        carrier: p.id.clone(),
                        ids: self.ids.clone(),
                        again: self.again,
                        ..Default::default()
                    }));
                    out.info(cx.text.labels_exporting);
                    out.clear_marks = true;
                    return Keep::Close;
                }
            }
            _ => {}
        }
        Keep::Open
    }

    pub fn render(&self, f: &mut Frame, body: Rect, cx: &Ctx) {
        let t = cx.text;
        let h = (self.profiles.len() as u16 + 4).min(body.height);
        let area = centered(body, 64.min(body.width), h);
        clear(f, area);
        let w = usize::from(area.width.saturating_sub(2));
        let mut lines: Vec<Line> = self
            .list
            .window(
                self.profiles.len(),
                usize::from(area.height.saturating_sub(4)),
            )
            .map(|i| {
                let p = &self.profiles[i];
                let l = fit(&format!("{:<10} {}", p.id, safe(&p.name)), w);
                if i == self.list.cursor {
                    Line::styled(l, cx.theme.cursor())
                } else {
                    Line::raw(l)
                }
            })
            .collect();
        lines.push(if self.again {
            Line::styled(t.labels_again_on, cx.theme.warn())
        } else {
            Line::raw("")
        });
        lines.push(Line::styled(t.labels_pick_hint, cx.theme.dim()));
        let title = format!("{} ({})", t.labels_pick_title, (t.count)(self.ids.len()));
        f.render_widget(
            Paragraph::new(lines).block(block(&cx.theme, fit(&title, w.saturating_sub(2)), true)),
            area,
        );
    }
}

/// A scrolling list of report lines (export or import results).
pub struct ReportPopup {
    pub title: String,
    pub lines: Vec<(ReportLine, String)>,
    /// A trial import: `y` applies it (the file is read again).
    pub apply: Option<PathBuf>,
    pub scroll: usize,
    height: std::cell::Cell<usize>,
    rows: std::cell::Cell<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportLine {
    Heading,
    Ok,
    Warn,
    Refused,
    Plain,
}

impl ReportPopup {
    pub fn export(r: &ExportReport, path: &str, cx: &Ctx) -> ReportPopup {
        let t = cx.text;
        let mut lines = vec![(
            ReportLine::Heading,
            if r.exported.is_empty() {
                t.labels_nothing.to_string()
            } else {
                (t.labels_written)(r.exported.len(), path, r.started)
            },
        )];
        let adjusted: Vec<_> = r
            .exported
            .iter()
            .filter(|e| !e.warnings.is_empty())
            .collect();
        if !adjusted.is_empty() {
            lines.push((ReportLine::Heading, (t.labels_adjusted)(adjusted.len())));
            for e in adjusted {
                for w in &e.warnings {
                    lines.push((
                        ReportLine::Warn,
                        format!(" {}/{} {}", e.order_no, e.shipment_no, w),
                    ));
                }
            }
        }
        if !r.skipped.is_empty() {
            lines.push((ReportLine::Heading, (t.labels_skipped)(r.skipped.len())));
            for s in &r.skipped {
                let ship = s.shipment_no.map(|n| format!("/{n}")).unwrap_or_default();
                lines.push((
                    ReportLine::Refused,
                    format!(" {}{ship} {}", s.order_no, s.reason),
                ));
            }
        }
        ReportPopup {
            title: format!("{} — {}", r.carrier, r.carrier_name),
            lines,
            apply: None,
            scroll: 0,
            height: Default::default(),
            rows: Default::default(),
        }
    }

    pub fn import(r: &ImportReport, path: PathBuf, cx: &Ctx) -> ReportPopup {
        let t = cx.text;
        let mut lines = vec![(
            ReportLine::Heading,
            format!(
                "{}{}",
                if r.dry_run {
                    format!("[{}] ", t.labels_dry_run)
                } else {
                    String::new()
                },
                (t.labels_import_summary)(r.registered, r.unchanged, r.refused, r.shipped)
            ),
        )];
        for row in &r.rows {
            let (kind, what) = match &row.outcome {
                RowOutcome::Registered { shipped: true } => {
                    (ReportLine::Ok, t.labels_row_registered.to_string())
                }
                RowOutcome::Registered { shipped: false } => {
                    (ReportLine::Ok, t.labels_row_waiting.to_string())
                }
                RowOutcome::Unchanged => (ReportLine::Plain, t.labels_row_unchanged.to_string()),
                RowOutcome::Refused(why) => (
                    ReportLine::Refused,
                    format!("{}: {why}", t.labels_row_refused),
                ),
            };
            lines.push((
                kind,
                format!("{:>5} {} {} {what}", row.line, row.key, row.tracking),
            ));
        }
        ReportPopup {
            title: format!(
                "{} — {} ({})",
                t.labels_import_title,
                r.carrier,
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
            lines,
            apply: (r.dry_run && r.registered > 0).then_some(path),
            scroll: 0,
            height: Default::default(),
            rows: Default::default(),
        }
    }

    pub fn on_key(&mut self, k: KeyEvent, out: &mut Out) -> Keep {
        let page = self.height.get().max(1);
        let max = self.rows.get().saturating_sub(page);
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter => return Keep::Close,
            KeyCode::Char('y') | KeyCode::Char('Y') => {
                if let Some(path) = self.apply.take() {
                    out.effects.push(Effect::ImportTracking {
                        path,
                        dry_run: false,
                    });
                    return Keep::Close;
                }
            }
            KeyCode::Char('j') | KeyCode::Down => self.scroll = (self.scroll + 1).min(max),
            KeyCode::Char('k') | KeyCode::Up => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown => self.scroll = (self.scroll + page).min(max),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(page),
            _ => {}
        }
        Keep::Open
    }

    pub fn render(&self, f: &mut Frame, body: Rect, cx: &Ctx) {
        let w = usize::from(body.width.saturating_sub(6));
        // Every reason is shown whole: lines wrap, the popup scrolls.
        let wrapped: Vec<(ReportLine, String)> = self
            .lines
            .iter()
            .flat_map(|(kind, text)| wrap(&safe(text), w).into_iter().map(move |l| (*kind, l)))
            .collect();
        self.rows.set(wrapped.len());
        let area = centered(
            body,
            body.width.saturating_sub(4),
            (wrapped.len() as u16 + 4).min(body.height.saturating_sub(1)),
        );
        clear(f, area);
        let h = usize::from(area.height.saturating_sub(4));
        self.height.set(h);
        let mut lines: Vec<Line> = wrapped
            .into_iter()
            .skip(self.scroll)
            .take(h)
            .map(|(kind, text)| {
                let style = match kind {
                    ReportLine::Heading => cx.theme.header(),
                    ReportLine::Ok => cx.theme.ok(),
                    ReportLine::Warn => cx.theme.warn(),
                    ReportLine::Refused => cx.theme.error(),
                    ReportLine::Plain => cx.theme.base(),
                };
                Line::styled(text, style)
            })
            .collect();
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            if self.apply.is_some() {
                cx.text.labels_apply_hint
            } else {
                cx.text.labels_close_hint
            },
            cx.theme.dim(),
        ));
        f.render_widget(
            Paragraph::new(lines).block(block(
                &cx.theme,
                fit(&safe(&self.title), w.saturating_sub(2)),
                true,
            )),
            area,
        );
    }
}
