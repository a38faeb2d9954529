//! ロボット: converters, processing robots (有効 and 適用 side by side, half-set flagged, in run
//! order) and linkage robots (trigger, last and next run, progress while running). Names share
//! the width by what they hold; a shared prefix gives way before the part that tells them apart.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::domain::RunState;
use crate::robots::linkage::{LinkAction, Trigger};
use crate::robots::processing::RuleKind;
use crate::service::{Request, RobotsView};
use crate::tui::context::{Ctx, Out};
use crate::tui::event::Tag;
use crate::tui::keymap::Action;
use crate::tui::popups::{InputPopup, PickerPopup, RobotKind, Then};
use crate::tui::text::Text;
use crate::tui::widgets::{Col, ListView, block, columns, columns_with_names, fit, safe, width};

#[derive(Default)]
pub struct RobotsScreen {
    pub pane: usize,
    pub lists: [ListView; 3],
}

impl RobotsScreen {
    fn lens(v: &RobotsView) -> [usize; 3] {
        [v.converters.len(), v.processing.len(), v.linkage.len()]
    }

    /// After the robots were reloaded: cursors stay inside their lists.
    pub fn data_changed(&mut self, cx: &Ctx) {
        if let Some(v) = &cx.data.robots {
            let lens = Self::lens(v);
            let fb = cx.fallback_rows() / 3;
            for (i, l) in self.lists.iter_mut().enumerate() {
                l.clamp(lens[i], fb);
            }
        }
    }

    pub fn on_action(&mut self, a: Action, cx: &Ctx, out: &mut Out) {
        let Some(view) = &cx.data.robots else {
            return;
        };
        let t = cx.text;
        let lens = Self::lens(view);
        let pane = self.pane;
        if self.lists[pane].apply(a, lens[pane], cx.fallback_rows() / 3) {
            return;
        }
        let cursor = self.lists[pane].cursor;
        match a {
            Action::Left => self.pane = (pane + 2) % 3,
            Action::Right => self.pane = (pane + 1) % 3,
            Action::ToggleEnabled => {
                let req = match pane {
                    0 => view
                        .converters
                        .get(cursor)
                        .map(|c| Request::SetConverterEnabled {
                            id: c.id,
                            enabled: !c.enabled,
                        }),
                    1 => view
                        .processing
                        .get(cursor)
                        .map(|p| Request::SetProcessingEnabled {
                            id: p.id,
                            enabled: !p.enabled,
                        }),
                    _ => view
                        .linkage
                        .get(cursor)
                        .map(|l| Request::SetLinkageEnabled {
                            id: l.robot.id,
                            enabled: !l.robot.enabled,
                        }),
                };
                if let Some(r) = req {
                    out.done(t.toggled, r);
                }
            }
            Action::ApplyTo => {
                if pane != 1 {
                    return out.error(t.apply_only_processing);
                }
                if let Some(p) = view.processing.get(cursor) {
                    let items: Vec<(u64, String, bool)> = view
                        .converters
                        .iter()
                        .filter(|c| c.enabled)
                        .map(|c| (c.id, c.label(), p.applied_to.contains(&c.id)))
                        .collect();
                    if items.is_empty() {
                        return out.error(t.no_enabled_converter);
                    }
                    out.popup(PickerPopup::new(p.id, items));
                }
            }
            Action::Duplicate => {
                if pane != 0 {
                    return out.error(t.duplicate_only_converter);
                }
                if let Some(c) = view.converters.get(cursor) {
                    out.done(
                        (t.duplicated)(&c.label()),
                        Request::DuplicateConverter { id: c.id },
                    );
                }
            }
            Action::Rename => {
                let target = match pane {
                    0 => view
                        .converters
                        .get(cursor)
                        .map(|c| (RobotKind::Converter, c.id, c.name.clone())),
                    1 => view
                        .processing
                        .get(cursor)
                        .map(|p| (RobotKind::Processing, p.id, p.name.clone())),
                    _ => view
                        .linkage
                        .get(cursor)
                        .map(|l| (RobotKind::Linkage, l.robot.id, l.robot.name.clone())),
                };
                if let Some((kind, id, name)) = target {
                    out.popup(InputPopup::new(
                        (t.rename_title)(id),
                        t.prompt_rename,
                        name,
                        Then::Rename { kind, id },
                    ));
                }
            }
            Action::MoveUp | Action::MoveDown => {
                if pane != 1 {
                    return out.error(t.move_only_processing);
                }
                if let Some(p) = view.processing.get(cursor) {
                    let delta = if a == Action::MoveUp { -1 } else { 1 };
                    let l = &mut self.lists[1];
                    l.cursor = (l.cursor as i64 + delta).clamp(0, lens[1] as i64 - 1) as usize;
                    out.done(t.order_changed, Request::MoveProcessing { id: p.id, delta });
                }
            }
            Action::RunNow => {
                if pane != 2 {
                    return out.error(t.run_only_linkage);
                }
                if let Some(l) = view.linkage.get(cursor) {
                    let range = (l.robot.action == LinkAction::FetchRange
                        && l.robot.range.is_none())
                    .then(|| {
                        let end = cx.now.naive_local();
                        (end - chrono::Duration::days(7), end)
                    });
                    out.done(
                        (t.ran)(&l.robot.name),
                        Request::RunRobot {
                            id: l.robot.id,
                            range,
                        },
                    );
                }
            }
            Action::EditTrigger => {
                if pane != 2 {
                    return out.error(t.trigger_only_linkage);
                }
                if let Some(l) = view.linkage.get(cursor) {
                    out.popup(InputPopup::new(
                        (t.trigger_title)(&l.robot.label()),
                        t.prompt_trigger,
                        trigger_text(&l.robot.trigger, t),
                        Then::Trigger(l.robot.id),
                    ));
                }
            }
            Action::DryRun => {
                if pane != 1 {
                    return out.error(t.dry_run_only_processing);
                }
                if let Some(p) = view.processing.get(cursor) {
                    out.call(Tag::DryRun(p.label()), Request::DryRun { id: p.id });
                }
            }
            _ => {}
        }
    }

    pub fn render(&self, f: &mut Frame, area: Rect, cx: &Ctx) {
        let t = cx.text;
        let Some(v) = &cx.data.robots else {
            f.render_widget(Paragraph::new(t.loading), area);
            return;
        };
        let [a, b, c] = Layout::vertical([
            Constraint::Length((v.converters.len() as u16 + 3).min(area.height / 4 + 1)),
            Constraint::Ratio(1, 2),
            Constraint::Ratio(1, 2),
        ])
        .areas(area);
        self.converters(f, a, v, cx);
        self.processing(f, b, v, cx);
        self.linkage(f, c, v, cx);
    }

    fn row_style(&self, pane: usize, pos: usize, cx: &Ctx) -> Style {
        if self.pane == pane && self.lists[pane].cursor == pos {
            cx.theme.cursor()
        } else {
            Style::new()
        }
    }

    fn converters(&self, f: &mut Frame, area: Rect, v: &RobotsView, cx: &Ctx) {
        let t = cx.text;
        let onoff = |on: bool| if on { t.enabled } else { t.disabled };
        let rows = self.lists[0].window(
            v.converters.len(),
            usize::from(area.height.saturating_sub(3)),
        );
        let cells: Vec<(usize, [String; 4])> = rows
            .map(|pos| {
                let cv = &v.converters[pos];
                (
                    pos,
                    [
                        cv.id.to_string(),
                        safe(&cv.name).into_owned(),
                        onoff(cv.enabled).to_string(),
                        if cv.standard {
                            t.standard.to_string()
                        } else {
                            cv.copied_from
                                .map(|x| format!("← ID:{x}"))
                                .unwrap_or_default()
                        },
                    ],
                )
            })
            .collect();
        let headers = [t.col_id, t.col_name, t.col_enabled, ""];
        let want = |i: usize| max_width(cells.iter().map(|c| c.1[i].as_str()), headers[i]);
        let (w, names) = columns_with_names(
            &mut [
                Col::figure(want(0)),
                Col::text(want(1), 12).grow(),
                Col::figure(want(2)),
                Col::text(want(3), 8),
            ],
            1,
            &cells.iter().map(|c| c.1[1].as_str()).collect::<Vec<_>>(),
            usize::from(area.width.saturating_sub(2)),
            1,
        );
        let rows: Vec<Row> = cells
            .iter()
            .zip(names)
            .map(|((pos, c), name)| {
                Row::new(vec![
                    Cell::from(c[0].clone()),
                    Cell::from(name),
                    Cell::from(c[2].clone()),
                    Cell::from(fit(&c[3], w[3].unwrap_or(0))),
                ])
                .style(self.row_style(0, *pos, cx))
            })
            .collect();
        let header = Row::new(headers.to_vec()).style(cx.theme.header());
        f.render_widget(
            Table::new(rows, lengths(&w)).header(header).block(block(
                &cx.theme,
                t.pane_converters,
                self.pane == 0,
            )),
            area,
        );
    }

    fn processing(&self, f: &mut Frame, area: Rect, v: &RobotsView, cx: &Ctx) {
        let t = cx.text;
        let onoff = |on: bool| if on { t.enabled } else { t.disabled };
        let conv_name = |id: u64| {
            if v.converters.iter().any(|c| c.id == id) {
                id.to_string()
            } else {
                format!("{id}?")
            }
        };
        let rows = self.lists[1].window(
            v.processing.len(),
            usize::from(area.height.saturating_sub(3)),
        );
        let cells: Vec<(usize, bool, [String; 6])> = rows
            .map(|pos| {
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
                (
                    pos,
                    p.half_set(),
                    [
                        format!("{}", pos + 1),
                        p.id.to_string(),
                        name,
                        onoff(p.enabled).to_string(),
                        if applied.is_empty() {
                            "-".into()
                        } else {
                            applied.join(",")
                        },
                        warn,
                    ],
                )
            })
            .collect();
        let headers = ["#", t.col_id, t.col_name, t.col_enabled, t.col_applied, ""];
        let want = |i: usize| max_width(cells.iter().map(|c| c.2[i].as_str()), headers[i]);
        let w = columns(
            &[
                Col::figure(want(0)),
                Col::figure(want(1)),
                Col::text(want(2), 16).grow(),
                Col::figure(want(3)),
                Col::text(want(4), 6),
                Col::text(want(5), 8),
            ],
            usize::from(area.width.saturating_sub(2)),
            1,
        );
        let rows: Vec<Row> = cells
            .iter()
            .map(|(pos, half, c)| {
                let mut style = self.row_style(1, *pos, cx);
                if *half && style == Style::new() {
                    style = cx.theme.warn();
                }
                Row::new(
                    c.iter()
                        .enumerate()
                        .map(|(i, s)| Cell::from(fit(s, w[i].unwrap_or(0))))
                        .collect::<Vec<_>>(),
                )
                .style(style)
            })
            .collect();
        let header = Row::new(headers.to_vec()).style(cx.theme.header());
        let title = format!(
            "{}  ({}: {})",
            t.pane_processing,
            t.no_prepayment,
            safe(&v.no_prepayment.join(","))
        );
        f.render_widget(
            Table::new(rows, lengths(&w)).header(header).block(block(
                &cx.theme,
                fit(&title, usize::from(area.width.saturating_sub(4))),
                self.pane == 1,
            )),
            area,
        );
    }

    fn linkage(&self, f: &mut Frame, area: Rect, v: &RobotsView, cx: &Ctx) {
        let t = cx.text;
        let onoff = |on: bool| if on { t.enabled } else { t.disabled };
        let rows =
            self.lists[2].window(v.linkage.len(), usize::from(area.height.saturating_sub(3)));
        let robot_name = |id: u64| {
            v.linkage
                .iter()
                .find(|x| x.robot.id == id)
                .map(|x| x.robot.name.clone())
                .unwrap_or_else(|| format!("ID:{id}"))
        };
        let cells: Vec<(usize, [String; 7])> = rows
            .map(|pos| {
                let l = &v.linkage[pos];
                let last = match &l.last_run {
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
                (
                    pos,
                    [
                        l.robot.id.to_string(),
                        safe(&l.robot.name).into_owned(),
                        l.robot.action.name().to_string(),
                        safe(&(t.trigger)(&l.robot.trigger, &robot_name)).into_owned(),
                        onoff(l.robot.enabled).to_string(),
                        last,
                        l.next_run
                            .map(|n| n.format("%H:%M").to_string())
                            .unwrap_or_else(|| "-".into()),
                    ],
                )
            })
            .collect();
        let headers = [
            t.col_id,
            t.col_name,
            t.col_action,
            t.col_trigger,
            t.col_enabled,
            t.col_last_run,
            t.col_next_run,
        ];
        let want = |i: usize| max_width(cells.iter().map(|c| c.1[i].as_str()), headers[i]);
        let (w, names) = columns_with_names(
            &mut [
                Col::figure(want(0)),
                Col::text(want(1), 10).keep(18).grow(),
                Col::text(want(2), 8).droppable(2),
                Col::text(want(3), 8),
                Col::figure(want(4)),
                // The last run's result must show: it is the point of the pane.
                Col::figure(want(5)),
                Col::figure(want(6)).droppable(1),
            ],
            1,
            &cells.iter().map(|c| c.1[1].as_str()).collect::<Vec<_>>(),
            usize::from(area.width.saturating_sub(2)),
            1,
        );
        let rows: Vec<Row> = cells
            .iter()
            .zip(names)
            .map(|((pos, c), name)| {
                let cells: Vec<Cell> = c
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| w[*i].is_some())
                    .map(|(i, s)| {
                        if i == 1 {
                            Cell::from(name.clone())
                        } else {
                            Cell::from(fit(s, w[i].unwrap_or(0)))
                        }
                    })
                    .collect();
                Row::new(cells).style(self.row_style(2, *pos, cx))
            })
            .collect();
        let header = Row::new(
            headers
                .iter()
                .enumerate()
                .filter(|(i, _)| w[*i].is_some())
                .map(|(i, h)| Cell::from(fit(h, w[i].unwrap_or(0))))
                .collect::<Vec<_>>(),
        )
        .style(cx.theme.header());
        let running = v.linkage.iter().any(|l| l.running);
        let title = if running {
            format!("{}  ⟳ {}", t.pane_linkage, t.running)
        } else {
            t.pane_linkage.to_string()
        };
        f.render_widget(
            Table::new(rows, lengths(&w)).header(header).block(block(
                &cx.theme,
                title,
                self.pane == 2,
            )),
            area,
        );
    }
}

/// The widest of `cells` and the header, in cells.
pub fn max_width<'a>(cells: impl Iterator<Item = &'a str>, header: &str) -> usize {
    cells.map(width).chain([width(header)]).max().unwrap_or(0)
}

/// Table constraints for the columns shown.
pub fn lengths(w: &[Option<usize>]) -> Vec<Constraint> {
    w.iter()
        .flatten()
        .map(|n| Constraint::Length(*n as u16))
        .collect()
}

/// A trigger as the operator types it (the parser takes 手動 and manual alike).
fn trigger_text(tr: &Trigger, t: &Text) -> String {
    match tr {
        Trigger::Manual => t.manual.into(),
        Trigger::Every { secs } if secs % 3600 == 0 => format!("{}h", secs / 3600),
        Trigger::Every { secs } if secs % 60 == 0 => format!("{}m", secs / 60),
        Trigger::Every { secs } => format!("{secs}s"),
        Trigger::Daily { times } => times
            .iter()
            .map(|t| t.format("%H:%M").to_string())
            .collect::<Vec<_>>()
            .join(","),
        Trigger::After { robot_id } => format!("after:{robot_id}"),
    }
}
