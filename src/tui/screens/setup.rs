//! セットアップ: the setup guide's 7 items with ✓/✗ and the reason. Enter on a ✗ leads to what
//! fixes it — the form, or the guide's step done the guide's way by the engine (confirmed
//! first) — and the cursor moves on to the next ✗ once an item turns ✓.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::engine::{CheckItem, FixTarget};
use crate::robots::linkage::{RobotRole, find_role};
use crate::service::Request;
use crate::tui::context::{Ctx, Goto, Out};
use crate::tui::event::Tag;
use crate::tui::keymap::Action;
use crate::tui::popups::{ConfirmPopup, FormPopup, Then};
use crate::tui::text::{Lang, Text};
use crate::tui::widgets::{ListView, block, fit, safe};

#[derive(Default)]
pub struct SetupScreen {
    pub list: ListView,
}

impl SetupScreen {
    /// A new checklist: when the item under the cursor just turned ✓, the cursor goes on to
    /// the first item still ✗ (the guide reads top to bottom).
    pub fn checklist_changed(&mut self, before: &[CheckItem], cx: &Ctx) {
        let items = &cx.data.checklist;
        let was_open = before.get(self.list.cursor).is_some_and(|i| !i.ok);
        let now_done = items.get(self.list.cursor).is_some_and(|i| i.ok);
        if was_open
            && now_done
            && let Some(next) = items.iter().position(|i| !i.ok)
        {
            self.list.cursor = next;
        }
        self.list.clamp(items.len(), cx.fallback_rows() / 2);
    }

    pub fn on_action(&mut self, a: Action, cx: &Ctx, out: &mut Out) {
        let t = cx.text;
        let items = &cx.data.checklist;
        if self.list.apply(a, items.len(), cx.fallback_rows() / 2) {
            return;
        }
        if a.mutating() && cx.read_only {
            return out.error(t.refused_read_only);
        }
        match a {
            Action::Open => {
                if let Some(item) = items.get(self.list.cursor) {
                    fix(item, cx, out);
                }
            }
            Action::EditShipFrom => out.popup(FormPopup::ship_from(cx)),
            Action::EditAuth => out.popup(FormPopup::auth(cx)),
            Action::TestConnection => match cx.data.auths.first() {
                Some(a) => {
                    out.info(t.testing_connection);
                    out.call(Tag::Test, Request::TestConnection { auth_id: a.id });
                }
                None => out.error(t.no_auth),
            },
            Action::EasySetup => easy_setup(cx, out),
            Action::FetchProducts => fetch_products(cx, out),
            _ => {}
        }
    }

    pub fn render(&self, f: &mut Frame, area: Rect, cx: &Ctx) {
        let t = cx.text;
        let items = &cx.data.checklist;
        let [list, side] =
            Layout::vertical([Constraint::Min(10), Constraint::Length(5)]).areas(area);
        // Two lines per item, cut to the width (not wrapped), scrolled so the cursor item shows.
        let w = usize::from(list.width.saturating_sub(2));
        let rows = self
            .list
            .window(items.len(), usize::from(list.height.saturating_sub(2)) / 2);
        let mut lines = Vec::new();
        for pos in rows {
            let item = &items[pos];
            let mark = if item.ok {
                Span::styled(" ✓ ", cx.theme.ok())
            } else {
                Span::styled(" ✗ ", cx.theme.error())
            };
            let mut title = Span::raw(fit(
                &format!(
                    "{}. {}",
                    item.number,
                    safe(in_lang(t, &item.title, &item.title_en))
                ),
                w.saturating_sub(3),
            ));
            if pos == self.list.cursor {
                title = title.style(cx.theme.cursor());
            }
            lines.push(Line::from(vec![mark, title]));
            lines.push(Line::styled(
                fit(
                    &format!("      {}", safe(in_lang(t, &item.reason, &item.reason_en))),
                    w,
                ),
                if item.ok {
                    cx.theme.dim()
                } else {
                    cx.theme.warn()
                },
            ));
        }
        let done = items.iter().filter(|i| i.ok).count();
        let mut title = format!("{} {}/{}", t.setup_progress, done, items.len());
        if done < items.len() {
            title.push_str(&format!("  {}", t.setup_enter_hint));
        }
        f.render_widget(
            Paragraph::new(lines).block(block(&cx.theme, fit(&title, w.saturating_sub(2)), true)),
            list,
        );
        let auth = cx.data.auths.first();
        let mut info = vec![
            Line::raw(format!(
                "{}: {}   {}: {}",
                t.form_ship_from,
                cx.data
                    .ship_froms
                    .first()
                    .map(|s| safe(&s.name).into_owned())
                    .unwrap_or_else(|| "-".into()),
                t.products_count,
                cx.data.products
            )),
            Line::raw(match auth {
                Some(a) => format!(
                    "{}: {}  {} {}  {}  {} {}",
                    t.auth_label,
                    safe(&a.name),
                    t.shop_key_label,
                    safe(&a.shop_key),
                    safe(&a.endpoint),
                    t.secret_label,
                    if a.has_secret {
                        t.secret_set
                    } else {
                        t.secret_unset
                    }
                ),
                None => format!("{}: -", t.auth_label),
            }),
        ];
        if let Some(test) = cx
            .data
            .last_test
            .as_ref()
            .or(auth.and_then(|a| a.last_test.as_ref()))
        {
            info.push(Line::styled(
                format!(
                    "{}: {} {}",
                    t.test_label,
                    test.at.format("%m/%d %H:%M"),
                    safe(&(t.test_outcome)(test))
                ),
                if test.ok {
                    cx.theme.ok()
                } else {
                    cx.theme.error()
                },
            ));
        }
        f.render_widget(
            Paragraph::new(info)
                .block(block(&cx.theme, "", false))
                .wrap(Wrap { trim: true }),
            side,
        );
    }
}

/// Enter on a checklist item: a ✗ leads to what fixes it, a ✓ to where it is set.
fn fix(item: &CheckItem, cx: &Ctx, out: &mut Out) {
    let t = cx.text;
    let guide = |step: u8, out: &mut Out| {
        if cx.read_only {
            return out.error(t.refused_read_only);
        }
        out.popup(ConfirmPopup::new(
            (t.guide_title)(step),
            vec![(t.guide_step)(step).to_string()],
            Then::Guide(step),
        ));
    };
    let form = |p: FormPopup, out: &mut Out| {
        if cx.read_only {
            return out.error(t.refused_read_only);
        }
        out.popup(p);
    };
    match (item.fix, item.ok) {
        (FixTarget::ShipFrom, _) => form(FormPopup::ship_from(cx), out),
        (FixTarget::Auth, _) => form(FormPopup::auth(cx), out),
        (FixTarget::Converters, false) => guide(2, out),
        (FixTarget::Converters, true) => out.goto = Some(Goto::RobotsPane(0)),
        (FixTarget::Processing, false) => guide(5, out),
        (FixTarget::Processing, true) => out.goto = Some(Goto::RobotsPane(1)),
        (FixTarget::Linkage, false) if item.number == 4 || item.number == 6 => {
            guide(item.number, out)
        }
        (FixTarget::Linkage, _) => out.goto = Some(Goto::RobotsPane(2)),
        (FixTarget::Fetch, false) => guide(7, out),
        (FixTarget::Fetch, true) => out.goto = Some(Goto::Tab(4)),
    }
}

/// かんたん設定 with the copied converter (confirmed first).
fn easy_setup(cx: &Ctx, out: &mut Out) {
    let t = cx.text;
    let Some(a) = cx.data.auths.first() else {
        return out.error(t.no_auth);
    };
    let conv = cx.data.robots.as_ref().and_then(|v| {
        v.converters
            .iter()
            .find(|c| c.enabled && !c.standard)
            .map(|c| c.id)
    });
    out.popup(ConfirmPopup::new(
        t.confirm_easy,
        vec![format!("{}: {}", t.auth_label, a.name)],
        Then::Requests(
            vec![Request::EasySetup {
                auth_id: a.id,
                converter_id: conv,
                inventory: false,
                interval_secs: 600,
            }],
            t.easy_done.into(),
        ),
    ));
}

/// The product master: run its robot, or have the engine create it (p again runs it).
fn fetch_products(cx: &Ctx, out: &mut Out) {
    let t = cx.text;
    let Some(auth) = cx.data.auths.first() else {
        return out.error(t.no_auth);
    };
    let robots: Vec<_> = cx
        .data
        .robots
        .iter()
        .flat_map(|v| v.linkage.iter().map(|l| l.robot.clone()))
        .collect();
    match find_role(&robots, RobotRole::ProductMaster) {
        Some(r) => out.done(
            t.products_fetched,
            Request::RunRobot {
                id: r.id,
                range: None,
            },
        ),
        None => out.done(
            t.product_robot_created,
            Request::StandardRobot {
                role: RobotRole::ProductMaster,
                auth_id: Some(auth.id),
            },
        ),
    }
}

/// The English text of an engine message in the English console, when the server sent one.
fn in_lang<'a>(t: &Text, ja: &'a str, en: &'a str) -> &'a str {
    if t.lang == Lang::En && !en.is_empty() {
        en
    } else {
        ja
    }
}
