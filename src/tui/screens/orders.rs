//! 出荷指示: queue tabs with counts (an error queue with entries always shows), the instruction
//! table (only visible rows are built, columns as wide as what they hold), the filter, marks,
//! and the actions on instructions (shared with the detail view).

use std::collections::BTreeSet;

use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::domain::Status;
use crate::futureshop::PaymentType;
use crate::futureshop::prefecture::prefecture_ja;
use crate::service::Request;
use crate::textfmt::yen;
use crate::tui::context::{Ctx, Open, Out};
use crate::tui::event::Tag;
use crate::tui::keymap::Action;
use crate::tui::model::{InstructionRow, QUEUES, Queue, words};
use crate::tui::popups::{ConfirmPopup, InputPopup, Then};
use crate::tui::widgets::{Col, ListView, block, columns, fit, safe, width, with_figure};

pub struct OrdersScreen {
    pub queue: usize,
    pub list: ListView,
    pub marks: BTreeSet<u64>,
    pub range_anchor: Option<usize>,
    pub filter: Input,
    /// The filter line has the keys.
    pub filtering: bool,
    /// Ids matching the filter, when one is set.
    pub filtered: Option<Vec<u64>>,
    /// The filter text `filtered` was computed for (empty when none), and the model slots of
    /// its rows (to narrow it without lookups).
    pub filtered_for: String,
    filtered_slots: Vec<u32>,
    /// Column widths seen in this queue and filter so far: they grow as wider values scroll
    /// into view and never shrink while scrolling, so the columns stay put (and a scroll is
    /// the same lines one row up, which the terminal can move instead of repainting).
    widths: std::cell::RefCell<WidthMemo>,
}

/// Screens above and below the visible rows whose widths a new layout takes in.
const WIDTH_LOOKAROUND: usize = 5;

#[derive(Default)]
struct WidthMemo {
    key: Option<(usize, String, usize)>,
    want: [usize; 9],
}

impl Default for OrdersScreen {
    fn default() -> Self {
        OrdersScreen {
            // 出荷待ち: what the warehouse works from.
            queue: 2,
            list: ListView::default(),
            marks: BTreeSet::new(),
            range_anchor: None,
            filter: Input::default(),
            filtering: false,
            filtered: None,
            filtered_for: String::new(),
            filtered_slots: Vec::new(),
            widths: Default::default(),
        }
    }
}

/// Rows the table body has before its first frame: tabs, status, hints, queue tabs, header,
/// borders, and the filter line when it shows.
fn fallback(cx: &Ctx, filter: bool) -> usize {
    usize::from(cx.size.1.saturating_sub(3 + 1 + 1 + 2 + u16::from(filter))).max(1)
}

impl OrdersScreen {
    pub fn queue(&self) -> Queue {
        QUEUES[self.queue]
    }

    fn filter_shown(&self) -> bool {
        self.filtered.is_some() || self.filtering
    }

    fn fallback(&self, cx: &Ctx) -> usize {
        fallback(cx, self.filter_shown())
    }

    /// Length of the current list without copying it.
    pub fn visible_len(&self, cx: &Ctx) -> usize {
        match &self.filtered {
            Some(f) => f.len(),
            None => cx.data.orders.len(self.queue()),
        }
    }

    /// The id at a position of the current list.
    pub fn visible_id(&self, pos: usize, cx: &Ctx) -> Option<u64> {
        let model = &cx.data.orders;
        match &self.filtered {
            Some(f) => f.get(pos).copied(),
            None => match self.queue() {
                Queue::IntakeErrors => model.intake.get(pos).map(|e| e.id),
                q => model.keys(q).get(pos).map(|(_, id, _)| *id),
            },
        }
    }

    /// The ids shown, in order (filtered when a filter is set).
    pub fn visible_ids(&self, cx: &Ctx) -> Vec<u64> {
        if let Some(f) = &self.filtered {
            return f.clone();
        }
        let model = &cx.data.orders;
        match self.queue() {
            Queue::IntakeErrors => model.intake.iter().map(|e| e.id).collect(),
            q => model.keys(q).iter().map(|(_, id, _)| *id).collect(),
        }
    }

    pub fn selected_id(&self, cx: &Ctx) -> Option<u64> {
        self.visible_id(self.list.cursor, cx)
    }

    /// The instructions an action applies to: the marked ones, else the cursor row.
    pub fn targets(&self, cx: &Ctx) -> Vec<u64> {
        if !self.marks.is_empty() {
            return self.marks.iter().copied().collect();
        }
        self.selected_id(cx).into_iter().collect()
    }

    /// After the data changed: the filter again, and the cursor on the row it was on.
    pub fn data_changed(&mut self, keep: Option<u64>, cx: &Ctx) {
        self.refilter(cx);
        self.keep_selection(keep, cx);
    }

    pub fn keep_selection(&mut self, id: Option<u64>, cx: &Ctx) {
        if let Some(id) = id {
            let model = &cx.data.orders;
            let pos = match &self.filtered {
                Some(f) => f.iter().position(|x| *x == id),
                None => match self.queue() {
                    Queue::IntakeErrors => model.intake.iter().position(|e| e.id == id),
                    q => model.position(q, id),
                },
            };
            if let Some(p) = pos {
                self.list.cursor = p;
            }
        }
        let fb = self.fallback(cx);
        self.list.clamp(self.visible_len(cx), fb);
    }

    pub fn select_queue(&mut self, pos: usize, cx: &Ctx) {
        self.queue = pos % QUEUES.len();
        self.list.reset();
        self.marks.clear();
        self.range_anchor = None;
        self.refilter(cx);
    }

    pub fn clear_marks(&mut self) {
        self.marks.clear();
        self.range_anchor = None;
    }

    /// Esc on this screen: marks first, then the filter. False when there was nothing to clear.
    pub fn back(&mut self, cx: &Ctx) -> bool {
        if !self.marks.is_empty() || self.range_anchor.is_some() {
            self.clear_marks();
            true
        } else if self.filtered.is_some() {
            self.clear_filter(cx);
            true
        } else {
            false
        }
    }

    // ---------------------------------------------------------------------------------
    // The filter

    /// A key while the filter line has the keys.
    pub fn on_filter_key(&mut self, k: KeyEvent, cx: &Ctx) {
        match k.code {
            KeyCode::Esc => {
                self.filtering = false;
                self.clear_filter(cx);
            }
            KeyCode::Enter => {
                self.filtering = false;
                if self.filter.value().is_empty() {
                    self.clear_filter(cx);
                }
            }
            _ => {
                if self.filter.handle_event(&Event::Key(k)).is_some() {
                    self.apply_filter(cx);
                }
            }
        }
    }

    /// Recomputes the filtered list for the current filter text (one keystroke).
    pub fn apply_filter(&mut self, cx: &Ctx) {
        let keep = self.selected_id(cx);
        let text = self.filter.value().to_string();
        let w = words(&text);
        let model = &cx.data.orders;
        // Typing more only narrows: search the previous matches instead of every row.
        let narrowing = !self.filtered_for.is_empty() && text.starts_with(&self.filtered_for);
        let previous = std::mem::take(&mut self.filtered_slots);
        self.filtered = if w.is_empty() {
            None
        } else if self.queue() == Queue::IntakeErrors {
            Some(model.filter_intake(&w))
        } else {
            let within = narrowing.then_some(previous.as_slice());
            let (ids, slots) = model.filter(self.queue(), &w, within);
            self.filtered_slots = slots;
            Some(ids)
        };
        self.filtered_for = if self.filtered.is_some() {
            text
        } else {
            String::new()
        };
        self.keep_selection(keep, cx);
    }

    fn refilter(&mut self, cx: &Ctx) {
        let w = words(self.filter.value());
        if w.is_empty() {
            return;
        }
        let model = &cx.data.orders;
        self.filtered = Some(if self.queue() == Queue::IntakeErrors {
            self.filtered_slots.clear();
            model.filter_intake(&w)
        } else {
            let (ids, slots) = model.filter(self.queue(), &w, None);
            self.filtered_slots = slots;
            ids
        });
        self.filtered_for = self.filter.value().to_string();
    }

    fn clear_filter(&mut self, cx: &Ctx) {
        let keep = self.selected_id(cx);
        self.filter = Input::default();
        self.filtered = None;
        self.filtered_for.clear();
        self.filtered_slots.clear();
        self.keep_selection(keep, cx);
    }

    // ---------------------------------------------------------------------------------
    // Keys

    pub fn on_action(&mut self, a: Action, cx: &Ctx, out: &mut Out) {
        let len = self.visible_len(cx);
        let fb = self.fallback(cx);
        if self.list.apply(a, len, fb) {
            if let Some(anchor) = self.range_anchor {
                self.mark_range(anchor, cx);
            }
            return;
        }
        match a {
            Action::Left => self.select_queue(self.queue + QUEUES.len() - 1, cx),
            Action::Right => self.select_queue(self.queue + 1, cx),
            Action::Filter => self.filtering = true,
            Action::Open => {
                if let Some(id) = self.selected_id(cx) {
                    out.open = Some(if self.queue() == Queue::IntakeErrors {
                        Open::IntakeError(id)
                    } else {
                        Open::Instruction(id)
                    });
                }
            }
            Action::Mark => {
                if let Some(id) = self.selected_id(cx) {
                    if !self.marks.remove(&id) {
                        self.marks.insert(id);
                    }
                    self.list.cursor = (self.list.cursor + 1).min(len.saturating_sub(1));
                    self.list.clamp(len, fb);
                }
            }
            Action::MarkRange => {
                self.range_anchor = match self.range_anchor {
                    Some(_) => None,
                    None => {
                        let c = self.list.cursor;
                        self.mark_range(c, cx);
                        Some(c)
                    }
                };
            }
            Action::MarkAll => self.marks = self.visible_ids(cx).into_iter().collect(),
            Action::Retry if self.queue() == Queue::IntakeErrors => {
                let ids = self.targets(cx);
                if ids.is_empty() {
                    out.error(cx.text.nothing_selected);
                    return;
                }
                out.clear_marks = true;
                for id in ids {
                    out.done(
                        cx.text.retry_intake_done,
                        Request::RetryIntake { error_id: id },
                    );
                }
            }
            Action::ExportLabels => {
                // The marked rows, else the whole queue as shown (the filter applies).
                let ids = if self.marks.is_empty() {
                    self.visible_ids(cx)
                } else {
                    self.marks.iter().copied().collect()
                };
                if ids.is_empty() || self.queue() == Queue::IntakeErrors {
                    return out.error(cx.text.labels_nothing);
                }
                out.call(Tag::Profiles(ids), Request::LabelProfiles);
            }
            Action::ImportTracking => out.popup(InputPopup::new(
                cx.text.labels_import_title.to_string(),
                cx.text.labels_import_prompt,
                String::new(),
                Then::ImportFile,
            )),
            Action::Hold
            | Action::Release
            | Action::StartWork
            | Action::Ship
            | Action::CancelOrder
            | Action::AckLateCancel
            | Action::Bundle
            | Action::Retry => {
                if self.queue() == Queue::IntakeErrors {
                    out.error(cx.text.intake_not_instruction);
                    return;
                }
                instruction_action(a, &self.targets(cx), cx, out);
            }
            _ => {}
        }
    }

    fn mark_range(&mut self, anchor: usize, cx: &Ctx) {
        let c = self.list.cursor;
        let (lo, hi) = (anchor.min(c), anchor.max(c));
        for pos in lo..=hi {
            if let Some(id) = self.visible_id(pos, cx) {
                self.marks.insert(id);
            }
        }
    }

    // ---------------------------------------------------------------------------------
    // Drawing

    pub fn render(&self, f: &mut Frame, area: Rect, cx: &Ctx) {
        let filter_shown = self.filter_shown();
        let [tabs, filter, table] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(u16::from(filter_shown)),
            Constraint::Min(1),
        ])
        .areas(area);
        self.queue_tabs(f, tabs, cx);
        if filter_shown {
            let label = format!("{}: ", cx.text.filter_label);
            let value = safe(self.filter.value()).into_owned();
            let line = Line::from(vec![
                Span::styled(label.clone(), cx.theme.key()),
                Span::raw(value),
                Span::styled(format!("   ({})", self.visible_len(cx)), cx.theme.dim()),
            ]);
            f.render_widget(Paragraph::new(line), filter);
            if self.filtering {
                let x = filter.x + width(&label) as u16 + self.filter.visual_cursor() as u16;
                f.set_cursor_position((x.min(filter.right().saturating_sub(1)), filter.y));
            }
        }
        let q = self.queue();
        let t = cx.text;
        let marks = if self.marks.is_empty() {
            String::new()
        } else {
            format!("  [{} {}]", t.marked, self.marks.len())
        };
        let mut b = block(&cx.theme, format!("{}{}", q.name(), marks), true);
        let archived = cx.data.counts.archived;
        if archived > 0 && matches!(q, Queue::Status(Status::Shipped | Status::Cancelled)) {
            let note = t.archived_note.replace("{n}", &archived.to_string());
            b = b.title_bottom(Line::styled(format!(" {note} "), cx.theme.dim()));
        }
        let rows = self.list.window(
            self.visible_len(cx),
            usize::from(table.height.saturating_sub(3)),
        );
        if rows.is_empty() {
            let msg = if cx.data.orders.loaded {
                t.no_rows
            } else {
                t.loading
            };
            f.render_widget(Paragraph::new(msg).block(b).style(cx.theme.dim()), table);
            return;
        }
        let inner = usize::from(table.width.saturating_sub(2));
        if q == Queue::IntakeErrors {
            self.intake_table(f, table, b, rows, inner, cx);
        } else {
            self.instruction_table(f, table, b, rows, inner, cx);
        }
    }

    /// Queue tabs; when they do not all fit they scroll around the active one, and an error
    /// queue with entries stays pinned at the right edge.
    fn queue_tabs(&self, f: &mut Frame, area: Rect, cx: &Ctx) {
        let counts = cx.data.queue_counts();
        let label = |q: &Queue| format!(" {} {} ", q.name(), counts.get(q).copied().unwrap_or(0));
        let avail = usize::from(area.width);
        // 出荷後キャンセル has a tab only while it has entries (or is the one shown).
        let shown: Vec<usize> = (0..QUEUES.len())
            .filter(|i| {
                QUEUES[*i] != Queue::LateCancels
                    || *i == self.queue
                    || counts.get(&QUEUES[*i]).copied().unwrap_or(0) > 0
            })
            .collect();
        let total: usize = shown.iter().map(|i| width(&label(&QUEUES[*i]))).sum();
        let active = self.queue;
        let style = |i: usize, q: &Queue| {
            let n = counts.get(q).copied().unwrap_or(0);
            if i == active {
                cx.theme.active_tab()
            } else if n > 0 && q.is_alarm() {
                cx.theme.error()
            } else {
                Style::new()
            }
        };
        let mut spans = Vec::new();
        if total <= avail {
            for i in &shown {
                let q = &QUEUES[*i];
                spans.push(Span::styled(label(q), style(*i, q)));
            }
            f.render_widget(Paragraph::new(Line::from(spans)), area);
            return;
        }
        let pinned: Vec<usize> = shown
            .iter()
            .copied()
            .filter(|i| {
                let q = &QUEUES[*i];
                *i != active && q.is_alarm() && counts.get(q).copied().unwrap_or(0) > 0
            })
            .collect();
        let pinned_w: usize = pinned.iter().map(|i| width(&label(&QUEUES[*i]))).sum();
        let rest: Vec<usize> = shown
            .iter()
            .copied()
            .filter(|i| !pinned.contains(i))
            .collect();
        let room = avail.saturating_sub(pinned_w + 2);
        let widths: Vec<usize> = rest.iter().map(|i| width(&label(&QUEUES[*i]))).collect();
        let at = rest.iter().position(|i| *i == active).unwrap_or(0);
        let mut start = 0;
        while start < at && widths[start..=at].iter().sum::<usize>() > room {
            start += 1;
        }
        let mut used = 0;
        if start > 0 {
            spans.push(Span::styled("‹", cx.theme.dim()));
            used += 1;
        }
        let mut cut = false;
        for (k, i) in rest.iter().enumerate().skip(start) {
            if used + widths[k] > room + usize::from(start == 0) {
                cut = true;
                break;
            }
            used += widths[k];
            spans.push(Span::styled(label(&QUEUES[*i]), style(*i, &QUEUES[*i])));
        }
        if cut {
            spans.push(Span::styled("›", cx.theme.dim()));
            used += 1;
        }
        if !pinned.is_empty() {
            let gap = avail.saturating_sub(used + pinned_w);
            spans.push(Span::raw(" ".repeat(gap)));
            for i in pinned {
                spans.push(Span::styled(label(&QUEUES[i]), style(i, &QUEUES[i])));
            }
        }
        f.render_widget(Paragraph::new(Line::from(spans)), area);
    }

    fn instruction_table(
        &self,
        f: &mut Frame,
        area: Rect,
        b: ratatui::widgets::Block<'_>,
        rows: std::ops::Range<usize>,
        inner: usize,
        cx: &Ctx,
    ) {
        let t = cx.text;
        struct Cells {
            mark: bool,
            cursor: bool,
            text: [String; 9],
        }
        let mut built: Vec<Cells> = Vec::with_capacity(rows.len());
        let around = rows.start.saturating_sub(WIDTH_LOOKAROUND * rows.len())
            ..(rows.end + WIDTH_LOOKAROUND * rows.len()).min(self.visible_len(cx));
        for pos in rows {
            let Some(id) = self.visible_id(pos, cx) else {
                continue;
            };
            let Some(s) = cx.data.row(id) else {
                continue;
            };
            built.push(Cells {
                mark: self.marks.contains(&id),
                cursor: pos == self.list.cursor,
                text: summary_cells(s, cx),
            });
        }
        let headers = [
            t.col_order_no,
            t.col_date,
            t.col_recipient,
            t.col_pref,
            t.col_items,
            t.col_amount,
            t.col_payment,
            t.col_flag,
            t.col_holds,
        ];
        let want = {
            let mut memo = self.widths.borrow_mut();
            let key = (self.queue, self.filter.value().to_string(), inner);
            if memo.key.as_ref() != Some(&key) {
                *memo = WidthMemo {
                    key: Some(key),
                    want: [0; 9],
                };
                // Widths of the rows a few screens around too, so that the next screens
                // mostly fit them.
                for pos in around {
                    if let Some(s) = self.visible_id(pos, cx).and_then(|id| cx.data.row(id)) {
                        for (w, text) in memo.want.iter_mut().zip(summary_cells(s, cx)) {
                            *w = (*w).max(width(&text));
                        }
                    }
                }
            }
            for (i, w) in memo.want.iter_mut().enumerate() {
                let now = built
                    .iter()
                    .map(|c| width(&c.text[i]))
                    .chain([width(headers[i])])
                    .max()
                    .unwrap_or(0);
                *w = (*w).max(now);
            }
            memo.want
        };
        let want = |i: usize| want[i];
        let spec = [
            Col::figure(1),
            Col::figure(want(0)),
            Col::figure(want(1)).droppable(1),
            Col::text(want(2), 8).keep(14),
            Col::text(want(3), 4).keep(8),
            Col::figure(want(4)),
            Col::figure(want(5)),
            // Payment labels are short and read at a glance: names give way first.
            Col::text(want(6), 6).keep(want(6)),
            Col::text(want(7), 4).droppable(2),
            Col::text(want(8), 6).grow(),
        ];
        let w = columns(&spec, inner, 1);
        let right = [
            false, false, false, false, false, true, true, false, false, false,
        ];
        let cell = |i: usize, s: String| {
            let s = fit(&s, w[i].unwrap_or(0));
            if right[i] {
                Cell::from(Line::from(s).alignment(Alignment::Right))
            } else {
                Cell::from(s)
            }
        };
        let pick = |cells: Vec<Cell<'static>>| -> Vec<Cell<'static>> {
            cells
                .into_iter()
                .enumerate()
                .filter(|(i, _)| w[*i].is_some())
                .map(|(_, c)| c)
                .collect()
        };
        // Headers start where their column starts (figures below them are right-aligned).
        let header = Row::new(pick(
            std::iter::once(Cell::from(""))
                .chain(
                    headers
                        .iter()
                        .enumerate()
                        .map(|(i, h)| Cell::from(fit(h, w[i + 1].unwrap_or(0)))),
                )
                .collect(),
        ))
        .style(cx.theme.header());
        let body: Vec<Row> = built
            .into_iter()
            .map(|c| {
                let mut style = Style::new();
                if c.mark {
                    style = cx.theme.marked();
                }
                if c.cursor {
                    style = style.patch(cx.theme.cursor());
                }
                let cells = std::iter::once(Cell::from(if c.mark { "●" } else { " " }))
                    .chain(c.text.into_iter().enumerate().map(|(i, s)| cell(i + 1, s)))
                    .collect();
                Row::new(pick(cells)).style(style)
            })
            .collect();
        let widths: Vec<Constraint> = w
            .iter()
            .flatten()
            .map(|n| Constraint::Length(*n as u16))
            .collect();
        f.render_widget(
            Table::new(body, widths)
                .header(header)
                .block(b)
                .column_spacing(1),
            area,
        );
    }

    fn intake_table(
        &self,
        f: &mut Frame,
        area: Rect,
        b: ratatui::widgets::Block<'_>,
        rows: std::ops::Range<usize>,
        inner: usize,
        cx: &Ctx,
    ) {
        let t = cx.text;
        let mut built: Vec<(bool, bool, [String; 5])> = Vec::new();
        for pos in rows {
            let Some(id) = self.visible_id(pos, cx) else {
                continue;
            };
            let Some(e) = cx.data.orders.intake.iter().find(|e| e.id == id) else {
                continue;
            };
            built.push((
                self.marks.contains(&id),
                pos == self.list.cursor,
                [
                    e.id.to_string(),
                    safe(&e.order_no).into_owned(),
                    safe(&e.reason).into_owned(),
                    e.last_seen.format("%m/%d %H:%M").to_string(),
                    e.attempts.to_string(),
                ],
            ));
        }
        let headers = [
            t.col_id,
            t.col_order_no,
            t.col_reason,
            t.col_seen,
            t.col_attempts,
        ];
        let want = |i: usize| {
            built
                .iter()
                .map(|c| width(&c.2[i]))
                .chain([width(headers[i])])
                .max()
                .unwrap_or(0)
        };
        let w = columns(
            &[
                Col::figure(want(0)),
                Col::figure(want(1)),
                Col::text(want(2), 12).grow(),
                Col::figure(want(3)),
                Col::figure(want(4)),
            ],
            inner,
            1,
        );
        let cell = |i: usize, s: &str| Cell::from(fit(s, w[i].unwrap_or(0)));
        let header = Row::new(
            headers
                .iter()
                .enumerate()
                .filter(|(i, _)| w[*i].is_some())
                .map(|(i, h)| cell(i, h))
                .collect::<Vec<_>>(),
        )
        .style(cx.theme.header());
        let body: Vec<Row> = built
            .iter()
            .map(|(mark, cursor, text)| {
                let mut style = if *mark {
                    cx.theme.marked()
                } else {
                    Style::new()
                };
                if *cursor {
                    style = style.patch(cx.theme.cursor());
                }
                Row::new(
                    text.iter()
                        .enumerate()
                        .filter(|(i, _)| w[*i].is_some())
                        .map(|(i, s)| cell(i, s))
                        .collect::<Vec<_>>(),
                )
                .style(style)
            })
            .collect();
        let widths: Vec<Constraint> = w
            .iter()
            .flatten()
            .map(|n| Constraint::Length(*n as u16))
            .collect();
        f.render_widget(
            Table::new(body, widths)
                .header(header)
                .block(b)
                .column_spacing(1),
            area,
        );
    }
}

/// A prefecture token (`TOKYO`) as its Japanese name.
pub fn pref(token: &str) -> String {
    prefecture_ja(token)
        .map(str::to_string)
        .unwrap_or_else(|| safe(token).into_owned())
}

/// The cells of one instruction row, made safe.
fn summary_cells(s: &InstructionRow, cx: &Ctx) -> [String; 9] {
    let mut flags = s.hold_reasons().collect::<Vec<_>>().join(" / ");
    if s.upstream_error {
        flags = format!("{} {flags}", Queue::UpstreamErrors.name());
    }
    if s.cancelled_after_shipment {
        flags = format!("{} {flags}", cx.text.cancelled_after_shipment);
    }
    if s.shipped_outside {
        flags = format!("{} {flags}", cx.text.shipped_outside_short);
    }
    [
        safe(s.order_no()).into_owned(),
        s.order_date
            .map(|d| d.format("%m/%d %H:%M").to_string())
            .unwrap_or_default(),
        safe(s.recipient()).into_owned(),
        pref(s.prefecture()),
        s.items.to_string(),
        yen(s.amount),
        safe(PaymentType::parse(s.payment_type()).label_ja()).into_owned(),
        s.payment.name().to_string(),
        safe(flags.trim()).into_owned(),
    ]
}

/// Order numbers of the first targets, for a confirm dialog.
fn describe_targets(ids: &[u64], cx: &Ctx) -> String {
    let nos: Vec<&str> = ids
        .iter()
        .filter_map(|id| cx.data.row(*id))
        .map(|s| s.order_no())
        .take(3)
        .collect();
    let more = if ids.len() > 3 {
        (cx.text.and_more)(ids.len() - 3)
    } else {
        String::new()
    };
    format!("{}{}", nos.join(", "), more)
}

/// Hold, release, start, ship, cancel, resend on instructions (the 出荷指示 list and the detail
/// view): direct for one, confirmed for several or when it matters.
pub fn instruction_action(a: Action, ids: &[u64], cx: &Ctx, out: &mut Out) {
    let t = cx.text;
    let targets: Vec<(u64, u64)> = ids
        .iter()
        .filter_map(|id| cx.data.row(*id).map(|s| (s.id, s.version)))
        .collect();
    if targets.is_empty() {
        out.error(t.nothing_selected);
        return;
    }
    let n = targets.len();
    let names = describe_targets(ids, cx);
    let with_version = |f: fn(u64, Option<u64>) -> Request| -> Vec<Request> {
        targets.iter().map(|(id, v)| f(*id, Some(*v))).collect()
    };
    match a {
        Action::Bundle => {
            if n > 1 {
                out.error(t.one_at_a_time);
                return;
            }
            match cx.data.row(targets[0].0).and_then(|s| s.bundle) {
                Some(g) => out.call(Tag::Bundle(None), Request::Bundle { id: g }),
                None => out.error(t.bundle_not),
            }
        }
        Action::AckLateCancel => {
            if n > 1 {
                out.error(t.one_at_a_time);
                return;
            }
            match cx.data.row(targets[0].0) {
                Some(s) if s.late_cancel_open => {
                    out.popup(crate::tui::popups::LateCancelPopup::new(
                        s.id,
                        s.version,
                        s.order_no().to_string(),
                    ))
                }
                _ => out.error(t.late_cancel_not),
            }
        }
        Action::Hold => out.popup(InputPopup::new(
            (t.hold_title)(&names, n),
            t.prompt_hold,
            String::new(),
            Then::Hold(targets),
        )),
        Action::Ship => {
            if n > 1 {
                out.error(t.one_at_a_time);
                return;
            }
            out.popup(InputPopup::new(
                (t.ship_title)(&names),
                t.prompt_tracking,
                String::new(),
                Then::Ship(targets[0].0, targets[0].1),
            ));
        }
        Action::Release => {
            let reqs = with_version(|id, version| Request::Release { id, version });
            let payment = ids
                .iter()
                .filter_map(|id| cx.data.row(*id))
                .any(|s| s.status == Status::AwaitingPayment);
            if n > 1 || payment {
                let mut lines = vec![format!("{names}: {n} {}", t.confirm_bulk)];
                if payment {
                    lines.push(t.confirm_release_payment.into());
                }
                out.popup(ConfirmPopup::new(
                    (t.release_title)(n),
                    lines,
                    Then::Requests(reqs, (t.released_n)(n)),
                ));
            } else {
                out.clear_marks = true;
                for r in reqs {
                    out.done(t.released_one, r);
                }
            }
        }
        Action::StartWork => {
            let reqs = with_version(|id, version| Request::StartWork { id, version });
            if n > 1 {
                out.popup(ConfirmPopup::new(
                    (t.start_title)(n),
                    vec![format!("{names}: {n} {}", t.confirm_bulk)],
                    Then::Requests(reqs, (t.started_n)(n)),
                ));
            } else {
                for r in reqs {
                    out.done(t.started_one, r);
                }
            }
        }
        Action::CancelOrder => {
            let reqs = targets
                .iter()
                .map(|(id, v)| Request::Cancel {
                    id: *id,
                    version: Some(*v),
                    reason: t.cancel_reason.into(),
                })
                .collect();
            out.popup(ConfirmPopup::new(
                format!("{} ({})", t.confirm_cancel, (t.count)(n)),
                vec![
                    format!("{}: {names}", t.confirm_cancel),
                    format!("{n} {}", t.confirm_bulk),
                ],
                Then::Requests(reqs, (t.cancelled_n)(n)),
            ));
        }
        Action::Retry => {
            let reqs: Vec<Request> = targets
                .iter()
                .filter(|(id, _)| cx.data.row(*id).is_some_and(|s| s.upstream_error))
                .map(|(id, v)| Request::ResendTracking {
                    id: *id,
                    version: Some(*v),
                })
                .collect();
            if reqs.is_empty() {
                out.error(t.not_upstream_error);
                return;
            }
            for r in reqs {
                out.done(t.resend_queued, r);
            }
        }
        _ => {}
    }
}

/// The title of a block holding a count: the label shortens, the count never does.
pub fn counted_title(labels: &[&str], n: usize, w: usize) -> String {
    with_figure(labels, &n.to_string(), w)
}
