//! 出荷指示: queue tabs with counts, the instruction table (only visible rows are built), the
//! filter line, and the detail view.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use unicode_width::UnicodeWidthStr;

use super::{block, fit, safe, safe_field};
use crate::domain::*;
use crate::futureshop::PaymentType;
use crate::futureshop::prefecture::prefecture_ja;
use crate::textfmt::yen;
use crate::tui::app::{App, Mode};
use crate::tui::model::{QUEUES, Queue};

pub fn pref(token: &str) -> String {
    prefecture_ja(token)
        .map(str::to_string)
        .unwrap_or_else(|| safe(token).into_owned())
}

fn queue_tabs(app: &App, f: &mut Frame, area: Rect) {
    let counts = app.queue_counts();
    let labels: Vec<String> = QUEUES
        .iter()
        .map(|q| format!(" {} {} ", q.name(), counts.get(q).copied().unwrap_or(0)))
        .collect();
    let widths: Vec<usize> = labels.iter().map(|l| l.width()).collect();
    // When the tabs do not fit (80 columns), scroll them so the active one shows, with ‹ › marks.
    let avail = area.width as usize;
    let active = app.orders.queue;
    let mut start = 0;
    if widths.iter().sum::<usize>() > avail {
        while start < active && widths[start..=active].iter().sum::<usize>() + 2 > avail {
            start += 1;
        }
    }
    let mut spans = Vec::new();
    let mut used = 0;
    if start > 0 {
        spans.push(Span::styled("‹", app.theme.dim()));
        used += 1;
    }
    for i in start..labels.len() {
        if used + widths[i..].iter().sum::<usize>() > avail && used + widths[i] + 1 > avail {
            spans.push(Span::styled("›", app.theme.dim()));
            break;
        }
        used += widths[i];
        if i == active {
            spans.push(Span::styled(labels[i].clone(), app.theme.active_tab()));
        } else {
            spans.push(Span::raw(labels[i].clone()));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let filter_shown = app.orders.filtered.is_some() || app.mode == Mode::Filter;
    let [tabs, filter, table] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(filter_shown)),
        Constraint::Min(1),
    ])
    .areas(area);
    queue_tabs(app, f, tabs);
    if filter_shown {
        let label = format!("{}: ", app.text.filter_label);
        let value = safe(app.orders.filter.value()).into_owned();
        let shown = app.visible_len();
        let line = Line::from(vec![
            Span::styled(label.clone(), app.theme.key()),
            Span::raw(value),
            Span::styled(format!("   ({shown})"), app.theme.dim()),
        ]);
        f.render_widget(Paragraph::new(line), filter);
        if app.mode == Mode::Filter {
            let x = filter.x
                + unicode_width::UnicodeWidthStr::width(label.as_str()) as u16
                + app.orders.filter.visual_cursor() as u16;
            f.set_cursor_position((x.min(filter.right().saturating_sub(1)), filter.y));
        }
    }
    let q = app.queue();
    let marks = if app.orders.marks.is_empty() {
        String::new()
    } else {
        format!("  [{} {}]", app.text.marked, app.orders.marks.len())
    };
    let title = format!("{}{}", q.name(), marks);
    let b = block(app, title, true);
    let inner_height = table.height.saturating_sub(3) as usize;
    let start = app.orders.scroll.offset;
    let end = (start + inner_height).min(app.visible_len());
    if q == Queue::IntakeErrors {
        intake_table(app, f, table, b, start, end);
        return;
    }
    let t = app.text;
    // Below ~110 columns the date and 入金 columns are left out (the queue already says the
    // payment state; rows are in date order), so order numbers and names are never cut.
    let wide = table.width >= 108;
    let pick = |cells: Vec<Cell<'static>>| -> Vec<Cell<'static>> {
        cells
            .into_iter()
            .enumerate()
            .filter(|(i, _)| wide || (*i != 2 && *i != 8))
            .map(|(_, c)| c)
            .collect()
    };
    let header = Row::new(pick(vec![
        Cell::from(""),
        Cell::from(t.col_order_no),
        Cell::from(t.col_date),
        Cell::from(t.col_recipient),
        Cell::from(t.col_pref),
        Cell::from(t.col_items),
        Cell::from(t.col_amount),
        Cell::from(t.col_payment),
        Cell::from(t.col_flag),
        Cell::from(t.col_holds),
    ]))
    .style(app.theme.header());
    let mut rows = Vec::with_capacity(end.saturating_sub(start));
    for pos in start..end {
        let Some(id) = app.visible_id(pos) else {
            continue;
        };
        let Some(r) = app.orders.model.row(id) else {
            continue;
        };
        let s = &r.s;
        let marked = app.orders.marks.contains(&id);
        let mut style = Style::new();
        if marked {
            style = app.theme.marked();
        }
        if pos == app.orders.scroll.cursor {
            style = style.patch(app.theme.cursor());
        }
        let mut flags = s.hold_reasons.join(" / ");
        if s.upstream_error {
            flags = format!("{} {flags}", Queue::UpstreamErrors.name());
        }
        if s.cancelled_after_shipment {
            flags = format!("{} {flags}", t.cancelled_after_shipment);
        }
        rows.push(
            Row::new(pick(vec![
                Cell::from(if marked { "●" } else { " " }),
                Cell::from(safe(&s.order_no).into_owned()),
                Cell::from(
                    s.order_date
                        .map(|d| d.format("%m/%d %H:%M").to_string())
                        .unwrap_or_default(),
                ),
                Cell::from(safe(&s.recipient).into_owned()),
                Cell::from(pref(&s.prefecture)),
                Cell::from(
                    Line::from(s.items.to_string()).alignment(ratatui::layout::Alignment::Right),
                ),
                Cell::from(Line::from(yen(s.amount)).alignment(ratatui::layout::Alignment::Right)),
                Cell::from(safe(PaymentType::parse(&s.payment_type).label_ja()).into_owned()),
                Cell::from(s.payment.name()),
                Cell::from(safe(&flags).into_owned()),
            ]))
            .style(style),
        );
    }
    let widths: Vec<Constraint> = if wide {
        [1, 12, 11, 16, 8, 5, 9, 16, 8]
            .into_iter()
            .map(Constraint::Length)
            .chain([Constraint::Min(6)])
            .collect()
    } else {
        [1, 12, 14, 8, 5, 9, 10]
            .into_iter()
            .map(Constraint::Length)
            .chain([Constraint::Min(6)])
            .collect()
    };
    if rows.is_empty() {
        let msg = if app.orders.model.loaded {
            t.no_rows
        } else {
            t.loading
        };
        f.render_widget(Paragraph::new(msg).block(b).style(app.theme.dim()), table);
        return;
    }
    f.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(b)
            .column_spacing(1),
        table,
    );
}

fn intake_table(
    app: &App,
    f: &mut Frame,
    area: Rect,
    b: ratatui::widgets::Block<'_>,
    start: usize,
    end: usize,
) {
    let t = app.text;
    let header = Row::new(vec![
        Cell::from(t.col_id),
        Cell::from(t.col_order_no),
        Cell::from(t.col_reason),
        Cell::from(t.col_seen),
        Cell::from(t.col_attempts),
    ])
    .style(app.theme.header());
    let mut rows = Vec::new();
    for pos in start..end {
        let Some(id) = app.visible_id(pos) else {
            continue;
        };
        let Some(e) = app.orders.model.intake.iter().find(|e| e.id == id) else {
            continue;
        };
        let mut style = if app.orders.marks.contains(&id) {
            app.theme.marked()
        } else {
            Style::new()
        };
        if pos == app.orders.scroll.cursor {
            style = style.patch(app.theme.cursor());
        }
        rows.push(
            Row::new(vec![
                Cell::from(e.id.to_string()),
                Cell::from(safe(&e.order_no).into_owned()),
                Cell::from(safe(&e.reason).into_owned()),
                Cell::from(e.last_seen.format("%m/%d %H:%M").to_string()),
                Cell::from(e.attempts.to_string()),
            ])
            .style(style),
        );
    }
    if rows.is_empty() {
        f.render_widget(
            Paragraph::new(t.no_rows).block(b).style(app.theme.dim()),
            area,
        );
        return;
    }
    let widths = [
        Constraint::Length(5),
        Constraint::Length(14),
        Constraint::Min(20),
        Constraint::Length(11),
        Constraint::Length(4),
    ];
    f.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(b)
            .column_spacing(1),
        area,
    );
}

/// The detail of one instruction: destinations, items, amounts, rule trace in order, history;
/// `r` shows the raw futureshop order.
pub fn detail(app: &App, f: &mut Frame, area: Rect) {
    let t = app.text;
    let Some(d) = &app.detail else { return };
    let Some(data) = &d.data else {
        f.render_widget(
            Paragraph::new(t.loading).block(block(app, t.detail_title, true)),
            area,
        );
        return;
    };
    let i = &data.instruction;
    let th = &app.theme;
    let mut lines: Vec<Line> = Vec::new();
    // Labels padded to 8 display cells (not chars: they are Japanese).
    let kv = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(
                format!("{k}{} ", " ".repeat(8usize.saturating_sub(k.width()))),
                th.key(),
            ),
            Span::raw(v),
        ])
    };
    if d.raw {
        lines.push(Line::styled(t.sec_raw, th.header()));
        let pretty = serde_json::to_string_pretty(&i.raw.to_value()).unwrap_or_default();
        for l in pretty.lines() {
            lines.push(Line::raw(safe(l).into_owned()));
        }
    } else {
        let mut status = i.status.name().to_string();
        if i.cancelled_after_shipment {
            status.push_str(&format!("  ⚠ {}", t.cancelled_after_shipment));
        }
        let [k_status, k_holds, k_payment, k_date, k_buyer, k_notes] = t.detail_keys;
        lines.push(kv(k_status, status));
        if !i.hold_reasons.is_empty() {
            lines.push(kv(
                k_holds,
                safe_field(
                    &i.hold_reasons
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" / "),
                ),
            ));
        }
        lines.push(kv(
            k_payment,
            format!(
                "{}  ({})",
                i.payment,
                safe_field(PaymentType::parse(i.payment_type.as_deref().unwrap_or("")).label_ja())
            ),
        ));
        lines.push(kv(
            k_date,
            i.order_date.map(|x| x.to_string()).unwrap_or_default(),
        ));
        lines.push(kv(
            k_buyer,
            format!(
                "{}  {}",
                safe_field(&i.buyer.name),
                safe_field(&i.buyer_mail)
            ),
        ));
        if let Some(n) = &i.notes {
            lines.push(kv(k_notes, safe_field(n)));
        }
        if let Some(n) = &i.shop_memo {
            lines.push(kv(t.shop_memo_label, safe_field(n)));
        }
        if let DetailState::Missing { attempts, error } = &i.detail {
            lines.push(Line::styled(
                (t.detail_missing)(*attempts, &safe_field(error)),
                th.warn(),
            ));
        }
        match &i.upstream {
            Upstream::Refused { code, message, .. } => lines.push(Line::styled(
                (t.upstream_refused)(&safe_field(code), &safe_field(message)),
                th.error(),
            )),
            Upstream::Failed {
                message, attempts, ..
            } => lines.push(Line::styled(
                (t.upstream_failed)(*attempts, &safe_field(message)),
                th.warn(),
            )),
            Upstream::Accepted { at } => lines.push(kv(
                t.upstream_label,
                (t.upstream_accepted)(&at.format("%m/%d %H:%M").to_string()),
            )),
            Upstream::Pending => lines.push(kv(t.upstream_label, t.upstream_pending.into())),
            Upstream::External { .. } => {
                lines.push(kv(t.upstream_label, t.upstream_external.into()))
            }
            Upstream::Idle => {}
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(t.sec_destinations, th.header()));
        for dest in &i.destinations {
            let a = &dest.address;
            lines.push(Line::raw(format!(
                " {}. {}  {} {} {}  {}",
                dest.shipment_no,
                safe_field(&a.name),
                crate::normalize::postal_display(&safe_field(&a.postal_code)),
                pref(&a.prefecture),
                safe_field(&a.address),
                safe_field(&a.phone)
            )));
            let mut extra = format!("    {}", safe_field(&dest.delivery_method));
            if let Some(d) = dest.requested_date {
                extra.push_str(&format!("  {} {d}", t.requested_date));
            }
            if let Some(tm) = &dest.requested_time {
                extra.push_str(&format!("  {}", safe_field(tm)));
            }
            if let Some(tn) = &dest.tracking_no {
                extra.push_str(&format!("  {} {}", t.tracking_label, safe_field(tn)));
            }
            lines.push(Line::styled(extra, th.dim()));
            if let Some(n) = &dest.instructions {
                lines.push(kv(&format!("  {}", t.instructions_label), safe_field(n)));
            }
            if let Some(g) = &dest.gift_label {
                lines.push(kv(
                    &format!("  {}", t.gift_label),
                    format!("{}  {}", safe_field(g), yen(dest.gift_charge)),
                ));
            }
            if let Some(u) = &dest.shipped_in_futureshop {
                let mut text = format!("    {}", t.shipped_outside);
                if let Some(d) = u.shipping_date {
                    text.push_str(&format!("  {d}"));
                }
                if !u.invoice_no.is_empty() {
                    text.push_str(&format!(
                        "  {} {}",
                        t.tracking_label,
                        safe_field(&u.invoice_no)
                    ));
                }
                lines.push(Line::styled(text, th.warn()));
            }
            lines.push(Line::styled(format!("  {}", t.sec_items), th.header()));
            for it in &dest.items {
                let jan = if it.jan_code.is_empty() {
                    String::new()
                } else {
                    format!("  JAN {}", safe_field(&it.jan_code))
                };
                lines.push(Line::raw(format!(
                    "    {}  {}  ×{}  {}{jan}",
                    safe_field(&it.sku_no),
                    safe_field(&it.name),
                    it.count,
                    yen(it.price)
                )));
                for o in &it.options {
                    let price = o
                        .price
                        .map(|p| format!(" (+{})", yen(p)))
                        .unwrap_or_default();
                    lines.push(Line::styled(
                        format!(
                            "        {}: {}{price}",
                            safe_field(&o.name),
                            safe_field(&o.value)
                        ),
                        th.dim(),
                    ));
                }
            }
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(t.sec_amounts, th.header()));
        let am = &i.amounts;
        lines.push(Line::raw((t.amounts_line)([
            &yen(am.grand_total),
            &yen(am.product_total),
            &yen(am.postage),
            &yen(am.payment_charge_total),
            &yen(am.used_point_price),
        ])));
        lines.push(Line::raw(""));
        lines.push(Line::styled(t.sec_trace, th.header()));
        if i.trace.is_empty() {
            lines.push(Line::styled(" -", th.dim()));
        }
        for (n, e) in i.trace.iter().enumerate() {
            lines.push(Line::raw(format!(
                " {}. ID:{} {} — {}",
                n + 1,
                e.robot_id,
                safe_field(&e.robot_name),
                safe_field(&e.decision)
            )));
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(t.sec_history, th.header()));
        for h in &data.history {
            let moved = match (h.from, h.to) {
                (Some(a), Some(b)) if a != b => format!(" {a} → {b}"),
                (None, Some(b)) => format!(" → {b}"),
                _ => String::new(),
            };
            lines.push(Line::raw(format!(
                " {}  {}  {}{}  {}",
                h.at.format("%m/%d %H:%M:%S"),
                safe_field(&h.actor.to_string()),
                safe_field(&h.action),
                moved,
                safe_field(&h.reason)
            )));
        }
    }
    let title = format!(
        "{} {} (ID:{} v{})  {}",
        t.detail_title,
        safe(&i.order_no),
        i.id,
        i.version,
        t.raw_hint
    );
    let max_scroll = (lines.len() as u16).saturating_sub(area.height.saturating_sub(2));
    let p = Paragraph::new(lines)
        .block(block(
            app,
            fit(&title, area.width.saturating_sub(4) as usize),
            true,
        ))
        .wrap(Wrap { trim: false })
        .scroll((d.scroll.min(max_scroll), 0));
    f.render_widget(p, area);
}
