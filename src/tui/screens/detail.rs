//! The detail view, over whichever screen opened it: one instruction (destinations, items with
//! options, amounts, the rule trace in order, history), or one intake error (why it was
//! refused, what fixes it, and the order as far as the converter could read it). `r` shows the
//! raw futureshop order.

use std::cell::Cell;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::orders::{instruction_action, pref};
use crate::domain::*;
use crate::futureshop::PaymentType;
use crate::service::{InstructionDetail, IntakeErrorDetail, Reply, Request};
use crate::textfmt::yen;
use crate::tui::context::{Ctx, Open, Out};
use crate::tui::event::Tag;
use crate::tui::keymap::{Action, Context};
use crate::tui::text::Text;
use crate::tui::theme::Theme;
use crate::tui::widgets::{block, fit, safe, safe_field, width};

pub enum Loaded {
    Instruction(Box<InstructionDetail>),
    IntakeError(Box<IntakeErrorDetail>),
}

pub struct DetailScreen {
    pub target: Open,
    pub data: Option<Loaded>,
    pub scroll: u16,
    pub raw: bool,
    /// The most `scroll` can be, as last drawn.
    max_scroll: Cell<u16>,
}

impl DetailScreen {
    /// Opens `target`; the returned request loads it.
    pub fn open(target: Open, out: &mut Out) -> DetailScreen {
        out.effects.push(Self::load(target));
        DetailScreen {
            target,
            data: None,
            scroll: 0,
            raw: false,
            max_scroll: Cell::new(u16::MAX),
        }
    }

    fn load(target: Open) -> crate::tui::event::Effect {
        use crate::tui::event::Effect::Call;
        match target {
            Open::Instruction(id) => Call(Tag::Detail(id), Request::Instruction { id }),
            Open::IntakeError(id) => Call(Tag::IntakeError(id), Request::IntakeError { id }),
        }
    }

    /// Reloads when the instruction shown changed.
    pub fn changed(&self, out: &mut Out) {
        out.effects.push(Self::load(self.target));
    }

    pub fn context(&self) -> Context {
        match self.target {
            Open::Instruction(_) => Context::Detail,
            Open::IntakeError(_) => Context::IntakeDetail,
        }
    }

    /// The answer to this view's request. A wrong answer is an error, not an empty view.
    pub fn on_reply(&mut self, r: Reply) -> Result<(), crate::service::ServiceError> {
        use crate::service::FromReply;
        self.data = Some(match self.target {
            Open::Instruction(_) => {
                Loaded::Instruction(Box::new(InstructionDetail::from_reply(r)?))
            }
            Open::IntakeError(_) => {
                Loaded::IntakeError(Box::new(IntakeErrorDetail::from_reply(r)?))
            }
        });
        Ok(())
    }

    pub fn on_action(&mut self, a: Action, cx: &Ctx, out: &mut Out) {
        let max = self.max_scroll.get();
        match a {
            Action::Down => self.scroll = self.scroll.saturating_add(1).min(max),
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::PageDown => self.scroll = self.scroll.saturating_add(10).min(max),
            Action::PageUp => self.scroll = self.scroll.saturating_sub(10),
            Action::Top => self.scroll = 0,
            Action::Bottom => self.scroll = max,
            Action::ToggleRaw => {
                self.raw = !self.raw;
                self.scroll = 0;
            }
            Action::Retry if matches!(self.target, Open::IntakeError(_)) => {
                if let Open::IntakeError(id) = self.target {
                    out.done(
                        cx.text.retry_intake_done,
                        Request::RetryIntake { error_id: id },
                    );
                }
            }
            Action::Hold
            | Action::Release
            | Action::StartWork
            | Action::Ship
            | Action::CancelOrder
            | Action::AckLateCancel
            | Action::Bundle
            | Action::Retry => match self.target {
                Open::Instruction(id) => instruction_action(a, &[id], cx, out),
                Open::IntakeError(_) => out.error(cx.text.intake_not_instruction),
            },
            _ => {}
        }
    }

    pub fn render(&self, f: &mut Frame, area: Rect, cx: &Ctx) {
        let t = cx.text;
        let Some(data) = &self.data else {
            f.render_widget(
                Paragraph::new(t.loading).block(block(&cx.theme, t.detail_title, true)),
                area,
            );
            return;
        };
        let (title, lines) = match data {
            Loaded::Instruction(d) => {
                let i = &d.instruction;
                let lines = if self.raw {
                    raw_lines(&i.raw, t, &cx.theme)
                } else {
                    let mut l = instruction_lines(i, t, &cx.theme);
                    l.extend(history_lines(&d.history, t, &cx.theme));
                    l
                };
                (
                    format!(
                        "{} {} (ID:{} v{})  {}",
                        t.detail_title,
                        safe(&i.order_no),
                        i.id,
                        i.version,
                        t.raw_hint
                    ),
                    lines,
                )
            }
            Loaded::IntakeError(d) => {
                let e = &d.error;
                let lines = if self.raw {
                    raw_lines(&e.raw, t, &cx.theme)
                } else {
                    intake_lines(d, t, &cx.theme)
                };
                (
                    format!(
                        "{} {} (ID:{})  {}",
                        crate::tui::model::Queue::IntakeErrors.name(),
                        safe(&e.order_no),
                        e.id,
                        t.raw_hint
                    ),
                    lines,
                )
            }
        };
        let p = Paragraph::new(lines)
            .block(block(
                &cx.theme,
                fit(&title, usize::from(area.width.saturating_sub(4))),
                true,
            ))
            .wrap(Wrap { trim: false });
        // The longest scroll is measured on the wrapped text as drawn: wrapped at the inner
        // width, the count includes the borders.
        let rows = p.line_count(area.width.saturating_sub(2)) as u16;
        let max = rows.saturating_sub(area.height);
        self.max_scroll.set(max);
        f.render_widget(p.scroll((self.scroll.min(max), 0)), area);
    }
}

/// Labels padded to 8 display cells (not chars: they are Japanese).
fn kv(k: &str, v: String, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(
            format!("{k}{} ", " ".repeat(8usize.saturating_sub(width(k)))),
            theme.key(),
        ),
        Span::raw(v),
    ])
}

fn raw_lines(raw: &RawJson, t: &Text, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(t.sec_raw, theme.header())];
    let pretty = serde_json::to_string_pretty(&raw.to_value()).unwrap_or_default();
    for l in pretty.lines() {
        lines.push(Line::raw(safe(l).into_owned()));
    }
    lines
}

/// An intake error: the reason, when and how often, what fixes it, then the order as read.
fn intake_lines(d: &IntakeErrorDetail, t: &Text, th: &Theme) -> Vec<Line<'static>> {
    let e = &d.error;
    let [k_reason, k_seen, k_fix, k_by] = t.intake_keys;
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!(
                    "{k_reason}{} ",
                    " ".repeat(8usize.saturating_sub(width(k_reason)))
                ),
                th.key(),
            ),
            Span::styled(safe_field(&e.reason), th.error()),
        ]),
        kv(
            k_seen,
            (t.intake_seen)(
                &e.first_seen.format("%m/%d %H:%M").to_string(),
                &e.last_seen.format("%m/%d %H:%M").to_string(),
                e.attempts,
            ),
            th,
        ),
        kv(
            k_by,
            match e.robot_id {
                Some(r) => (t.intake_by_robot)(r, e.converter_id),
                None => (t.intake_by_converter)(e.converter_id),
            },
            th,
        ),
        kv(
            k_fix,
            if e.robot_id.is_some() {
                t.intake_fix_robot.into()
            } else {
                t.intake_fix_converter.into()
            },
            th,
        ),
        Line::raw(""),
    ];
    match &d.preview {
        Some(i) => {
            lines.push(Line::styled(t.intake_preview, th.dim()));
            lines.extend(instruction_lines(i, t, th));
        }
        None => lines.push(Line::styled(t.intake_unreadable, th.warn())),
    }
    lines
}

/// The body of an instruction (also an intake error's order as the converter read it).
fn instruction_lines(i: &Instruction, t: &Text, th: &Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = Vec::new();
    let mut status = i.status.name().to_string();
    if i.cancelled_after_shipment {
        status.push_str(&format!("  ⚠ {}", t.cancelled_after_shipment));
    }
    let [k_status, k_holds, k_payment, k_date, k_buyer, k_notes] = t.detail_keys;
    lines.push(kv(k_status, status, th));
    if let Some(a) = &i.late_cancel_ack {
        let what = if a.note.is_empty() {
            a.action.name().to_string()
        } else {
            format!("{}: {}", a.action.name(), safe_field(&a.note))
        };
        lines.push(Line::styled(
            format!(
                "  {}",
                (t.late_cancel_acked)(
                    &safe_field(&a.actor),
                    &what,
                    &a.at.format("%m/%d %H:%M").to_string()
                )
            ),
            th.dim(),
        ));
    }
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
            th,
        ));
    }
    if let Some(g) = i.bundle {
        lines.push(Line::styled(format!("  {}", (t.bundle_in)(g)), th.warn()));
    }
    lines.push(kv(
        k_payment,
        format!(
            "{}  ({})",
            i.payment,
            safe_field(PaymentType::parse(i.payment_type.as_deref().unwrap_or("")).label_ja())
        ),
        th,
    ));
    lines.push(kv(
        k_date,
        i.order_date.map(|x| x.to_string()).unwrap_or_default(),
        th,
    ));
    lines.push(kv(
        k_buyer,
        format!(
            "{}  {}",
            safe_field(&i.buyer.name),
            safe_field(&i.buyer_mail)
        ),
        th,
    ));
    if let Some(n) = &i.notes {
        lines.push(kv(k_notes, safe_field(n), th));
    }
    if let Some(n) = &i.shop_memo {
        lines.push(kv(t.shop_memo_label, safe_field(n), th));
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
            th,
        )),
        Upstream::Pending => lines.push(kv(t.upstream_label, t.upstream_pending.into(), th)),
        Upstream::External { .. } => {
            lines.push(kv(t.upstream_label, t.upstream_external.into(), th))
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
        if let Some(d) = &dest.delivery {
            lines.push(kv(
                &format!("  {}", t.delivery_label),
                safe_field(&d.describe()),
                th,
            ));
        }
        if let Some(l) = &dest.label {
            let at = l.at.format("%m/%d %H:%M").to_string();
            lines.push(Line::styled(
                format!(
                    "    {}",
                    (t.label_state)(&safe_field(&l.carrier), &at, &safe_field(&l.file))
                ),
                th.dim(),
            ));
        }
        if let Some(n) = &dest.instructions {
            lines.push(kv(
                &format!("  {}", t.instructions_label),
                safe_field(n),
                th,
            ));
        }
        if let Some(g) = &dest.gift_label {
            lines.push(kv(
                &format!("  {}", t.gift_label),
                format!("{}  {}", safe_field(g), yen(dest.gift_charge)),
                th,
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
    lines
}

fn history_lines(history: &[AuditEntry], t: &Text, th: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::raw(""), Line::styled(t.sec_history, th.header())];
    for h in history {
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
    lines
}
