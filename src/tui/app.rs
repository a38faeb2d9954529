//! The console's routing: tabs, the detail view over them, popups, the command line, the status
//! line (messages that age), the header and the disconnect banner, and the shared data kept
//! current by events. Pure: events in, effects (service requests) out; rendering reads the
//! state. Key-sequence tests drive this directly. Everything about one screen is in its own
//! file under `screens/`, everything about one popup under `popups/`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

pub use super::context::{FormDefaults, Goto, Open};
pub use super::event::{AppEvent, Effect, Failure, Tag};
pub use super::popups::{Popup, RobotKind, Then};

use super::context::{Ctx, Out};
use super::data::{Data, FRESH_SECS, LOG_KEEP};
use super::keymap::{Action, Context, Key, Keymap};
use super::model::{QUEUES, Queue};
use super::popups::{CarrierPopup, DryRunPopup, HelpPopup, Keep, ReportPopup};
use super::screens::{
    DashboardScreen, DetailScreen, LogScreen, OrdersScreen, RobotsScreen, SetupScreen, sync_text,
};
use super::text::Text;
use super::theme::Theme;
use super::widgets::{fit, safe, width};
use crate::domain::*;
use crate::engine::DryRunChange;
use crate::server::client::DisconnectReason;
use crate::service::{FromReply, Reply, Request, RobotsView, ServiceError};
use crate::store::{Change, Counts, StoreEvent};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Dashboard,
    Orders,
    Robots,
    Setup,
    Log,
}

pub const TABS: [Tab; 5] = [
    Tab::Dashboard,
    Tab::Orders,
    Tab::Robots,
    Tab::Setup,
    Tab::Log,
];

impl Tab {
    pub fn index(self) -> usize {
        TABS.iter().position(|t| *t == self).unwrap_or(0)
    }
    fn context(self) -> Context {
        match self {
            Tab::Dashboard => Context::Dashboard,
            Tab::Orders => Context::Orders,
            Tab::Robots => Context::Robots,
            Tab::Setup => Context::Setup,
            Tab::Log => Context::Log,
        }
    }
}

/// Where the keys go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// A filter line (出荷指示 or ログ) has the keys.
    Filter,
    Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    Error,
}

#[derive(Clone, Debug)]
pub struct StatusMsg {
    pub text: String,
    pub kind: StatusKind,
    /// When it was shown: an info message fades after [`INFO_SECS`].
    pub at: DateTime<FixedOffset>,
}

/// Seconds a success or info message stays; errors stay until the next key.
pub const INFO_SECS: i64 = 5;

/// Rows the status line may wrap onto (a refusal that explains what to do).
const MAX_STATUS_ROWS: usize = 3;

pub const MIN_W: u16 = 80;
pub const MIN_H: u16 = 24;

pub struct App {
    pub text: &'static Text,
    pub theme: Theme,
    pub keymap: Keymap,
    pub tab: Tab,
    /// The command line, while `:` is being typed.
    pub command: Option<Input>,
    pub size: (u16, u16),
    pub data: Data,
    pub dashboard: DashboardScreen,
    pub orders: OrdersScreen,
    pub robots: RobotsScreen,
    pub setup: SetupScreen,
    pub log: LogScreen,
    /// The detail view, over the tab that opened it.
    pub detail: Option<DetailScreen>,
    pub popup: Option<Popup>,
    pub status: Option<StatusMsg>,
    /// None while connected; why not, otherwise.
    pub connection: Option<DisconnectReason>,
    pub defaults: FormDefaults,
    /// Where this console writes label files (default `DATA/labels/`).
    pub labels_dir: std::path::PathBuf,
    pub quit: bool,
    /// Something visible changed since the last frame.
    pub dirty: bool,
    /// What the clock changes on screen, to notice when a tick changes it.
    clock_text: String,
    /// A fixed "now" (tests); the real clock when None.
    pub clock: Option<DateTime<FixedOffset>>,
    /// Refresh requests in flight, and those asked for again meanwhile: one at a time per kind,
    /// so answers never arrive out of order and a burst of events costs at most two requests.
    inflight: HashSet<Tag>,
    again: HashMap<Tag, Request>,
    /// The whole 出荷指示 list is asked for once these answers are in: sent beside them, its
    /// megabytes would be on the wire ahead of the queue counts and the first screen.
    list_waits_for: Option<Vec<Tag>>,
}

/// The read-only context for screens and popups, borrowing only the fields it names (so a
/// screen of the app can be borrowed mutably beside it).
macro_rules! cx {
    ($app:ident) => {
        Ctx {
            text: $app.text,
            theme: $app.theme,
            keymap: &$app.keymap,
            data: &$app.data,
            now: $app.clock.unwrap_or_else(crate::engine::now),
            read_only: $app.keymap.read_only,
            size: $app.size,
            defaults: &$app.defaults,
        }
    };
}

impl App {
    pub fn new(text: &'static Text, theme: Theme, read_only: bool) -> App {
        App {
            text,
            theme,
            keymap: Keymap::new(read_only),
            tab: Tab::Dashboard,
            command: None,
            size: (80, 24),
            data: Data::default(),
            dashboard: DashboardScreen::default(),
            orders: OrdersScreen::default(),
            robots: RobotsScreen::default(),
            setup: SetupScreen::default(),
            log: LogScreen::default(),
            detail: None,
            popup: None,
            status: None,
            connection: None,
            defaults: FormDefaults::default(),
            labels_dir: std::path::PathBuf::from("labels"),
            quit: false,
            dirty: true,
            clock_text: String::new(),
            clock: None,
            inflight: HashSet::new(),
            again: HashMap::new(),
            list_waits_for: None,
        }
    }

    /// Now, in JST.
    pub fn now(&self) -> DateTime<FixedOffset> {
        self.clock.unwrap_or_else(crate::engine::now)
    }

    pub fn read_only(&self) -> bool {
        self.keymap.read_only
    }

    pub fn mode(&self) -> Mode {
        if self.command.is_some() {
            Mode::Command
        } else if self.filtering() {
            Mode::Filter
        } else {
            Mode::Normal
        }
    }

    fn filtering(&self) -> bool {
        self.detail.is_none()
            && match self.tab {
                Tab::Orders => self.orders.filtering,
                Tab::Log => self.log.filtering,
                _ => false,
            }
    }

    /// The screen context keys are looked up in.
    pub fn context(&self) -> Context {
        if matches!(self.popup, Some(Popup::Help(_))) {
            Context::Help
        } else if let Some(d) = &self.detail {
            d.context()
        } else if self.tab == Tab::Orders && self.orders.queue() == Queue::IntakeErrors {
            Context::IntakeQueue
        } else {
            self.tab.context()
        }
    }

    pub fn queue(&self) -> Queue {
        self.orders.queue()
    }

    /// A refresh request, coalesced with one already in flight.
    fn refresh(&mut self, tag: Tag, req: Request) -> Option<Effect> {
        if self.inflight.contains(&tag) {
            self.again.insert(tag, req);
            None
        } else {
            self.inflight.insert(tag.clone());
            Some(Effect::Call(tag, req))
        }
    }

    /// After a refresh answered: send the request again if it was asked for meanwhile.
    fn settled(&mut self, tag: &Tag) -> Vec<Effect> {
        self.inflight.remove(tag);
        let mut fx: Vec<Effect> = match self.again.remove(tag) {
            Some(req) => self.refresh(tag.clone(), req).into_iter().collect(),
            None => Vec::new(),
        };
        fx.extend(self.whole_list_when_due());
        fx
    }

    /// The whole list, once nothing it waits for is in flight any more.
    fn whole_list_when_due(&mut self) -> Option<Effect> {
        let waits = self.list_waits_for.as_ref()?;
        if waits.iter().any(|t| self.inflight.contains(t)) {
            return None;
        }
        self.list_waits_for = None;
        Some(Effect::LoadSummaries)
    }

    /// Everything the console shows, loaded from scratch.
    pub fn load_all(&mut self) -> Vec<Effect> {
        // The queue 出荷指示 shows first, a screenful, then everything: at 100,000
        // instructions the whole list takes a while, and the first screen must not wait —
        // neither for it nor behind it on the wire.
        // The counts first: the dashboard's queues show them.
        let mut fx: Vec<Effect> = self
            .refresh(Tag::Counts, Request::Counts)
            .into_iter()
            .collect();
        let mut waits = vec![Tag::Counts];
        if let Queue::Status(status) = self.orders.queue() {
            let rows = usize::from(self.size.1).max(1);
            fx.extend(self.refresh(Tag::FirstScreen, Request::FirstScreen { status, rows }));
            waits.push(Tag::FirstScreen);
        }
        for (tag, req) in [
            (Tag::Intake, Request::IntakeErrors),
            (Tag::Robots, Request::Robots),
            (Tag::Checklist, Request::Checklist),
            (Tag::Runs, Request::Runs { limit: LOG_KEEP }),
            (Tag::Audit, Request::Audit { limit: LOG_KEEP }),
            (Tag::ShipFroms, Request::ShipFroms),
            (Tag::Auths, Request::Auths),
            (Tag::Products, Request::ProductCount),
        ] {
            waits.push(tag.clone());
            fx.extend(self.refresh(tag, req));
        }
        self.list_waits_for = Some(waits);
        fx.extend(self.whole_list_when_due());
        fx
    }

    fn info(&mut self, s: impl Into<String>) {
        self.status = Some(StatusMsg {
            text: s.into(),
            kind: StatusKind::Info,
            at: self.now(),
        });
        self.dirty = true;
    }

    fn error(&mut self, s: impl Into<String>) {
        self.status = Some(StatusMsg {
            text: s.into(),
            kind: StatusKind::Error,
            at: self.now(),
        });
        self.dirty = true;
    }

    /// Applies what a screen or popup handed back; returns the requests to send.
    fn apply(&mut self, out: Out) -> Vec<Effect> {
        let Out {
            mut effects,
            popup,
            info,
            error,
            goto,
            open,
            clear_marks,
        } = out;
        if let Some(p) = popup {
            self.popup = Some(p);
        }
        if let Some(i) = info {
            self.info(i);
        }
        if let Some(e) = error {
            self.error(e);
        }
        if clear_marks {
            self.orders.clear_marks();
        }
        if let Some(g) = goto {
            self.detail = None;
            match g {
                Goto::Tab(n) => self.goto_tab(n),
                Goto::RobotsPane(p) => {
                    self.tab = Tab::Robots;
                    self.robots.pane = p.min(2);
                }
                Goto::Queue(q) => {
                    self.tab = Tab::Orders;
                    if let Some(pos) = QUEUES.iter().position(|x| *x == q) {
                        let cx = cx!(self);
                        self.orders.select_queue(pos, &cx);
                    }
                }
            }
        }
        if let Some(target) = open {
            let mut more = Out::default();
            self.detail = Some(DetailScreen::open(target, &mut more));
            effects.extend(more.effects);
        }
        self.dirty = true;
        effects
    }

    // ----------------------------------------------------------------------------------
    // Events

    pub fn update(&mut self, ev: AppEvent) -> Vec<Effect> {
        let fx = self.update_inner(ev);
        if self.dirty {
            // The next frame shows the current clock text: a tick only redraws when it changes.
            self.clock_text = self.clock_state();
        }
        fx
    }

    fn update_inner(&mut self, ev: AppEvent) -> Vec<Effect> {
        match ev {
            AppEvent::Key(k) => self.on_key(k),
            AppEvent::Resize(w, h) => {
                self.size = (w, h);
                self.dirty = true;
                Vec::new()
            }
            AppEvent::Tick => {
                if let Some(m) = &self.status
                    && m.kind == StatusKind::Info
                    && (self.now() - m.at).num_seconds() >= INFO_SECS
                {
                    self.status = None;
                    self.dirty = true;
                }
                let now = self.clock_state();
                if now != self.clock_text {
                    self.clock_text = now;
                    self.dirty = true;
                }
                Vec::new()
            }
            AppEvent::Store(ev) => self.on_store(&ev),
            AppEvent::Lagged => {
                self.info(self.text.reloaded_lagged);
                self.load_all()
            }
            AppEvent::Summaries(r) => {
                match r {
                    Ok(all) => {
                        let cx = cx!(self);
                        let keep = self.orders.selected_id(&cx);
                        let keep_new = self.dashboard.selected_id(&cx);
                        self.data.load_summaries(all);
                        let cx = cx!(self);
                        self.orders.data_changed(keep, &cx);
                        self.dashboard.data_changed(keep_new, &cx);
                    }
                    Err(e) => self.error((self.text.server_error)(&e)),
                }
                self.dirty = true;
                Vec::new()
            }
            AppEvent::Reply(tag, r) => {
                self.dirty = true;
                let mut fx = self.settled(&tag);
                fx.extend(self.on_reply(tag, r));
                fx
            }
            AppEvent::Connection(why) => {
                let was_down = self.connection.is_some();
                self.connection = why;
                self.dirty = true;
                if was_down && self.connection.is_none() {
                    self.info(self.text.reconnected);
                    return self.load_all();
                }
                Vec::new()
            }
            AppEvent::LabelsExported(r) => {
                match r {
                    Ok((path, report)) => {
                        let shown = path.display().to_string();
                        let msg = if report.exported.is_empty() {
                            self.text.labels_nothing.to_string()
                        } else {
                            (self.text.labels_written)(
                                report.exported.len(),
                                &shown,
                                report.started,
                            )
                        };
                        let popup = ReportPopup::export(&report, &shown, &cx!(self));
                        self.popup = Some(Popup::Report(popup));
                        self.info(msg);
                    }
                    Err(e) => self.error(e),
                }
                Vec::new()
            }
            AppEvent::TrackingImported(path, r) => {
                match r {
                    Ok(report) => {
                        if !report.dry_run {
                            self.info((self.text.labels_imported)(
                                report.registered,
                                report.shipped,
                            ));
                        }
                        let popup = ReportPopup::import(&report, path, &cx!(self));
                        self.popup = Some(Popup::Report(popup));
                    }
                    Err(e) => self.error(e),
                }
                self.dirty = true;
                Vec::new()
            }
            AppEvent::TaskFailed(f) => {
                self.error(match f {
                    Failure::Input(e) => format!("{}: {e}", self.text.input_failed),
                    Failure::TaskPanicked => self.text.task_panicked.to_string(),
                });
                Vec::new()
            }
        }
    }

    /// A committed change: applied from what the event carries. Only what an event cannot
    /// carry (robots and setup after a configuration change) is asked for again.
    fn on_store(&mut self, ev: &StoreEvent) -> Vec<Effect> {
        if ev.changes.iter().any(|c| matches!(c, Change::Reload)) {
            self.dirty = true;
            return self.load_all();
        }
        let now = self.now();
        let mut fx = Vec::new();
        let (keep, keep_new) = {
            let cx = cx!(self);
            (
                self.orders.selected_id(&cx),
                self.dashboard.selected_id(&cx),
            )
        };
        if let Some(c) = &ev.counts {
            self.data.counts = c.clone();
        }
        let mut config = false;
        let mut checklist = false;
        let mut robots_changed = false;
        for c in &ev.changes {
            match c {
                Change::Instruction(s) => {
                    if let Some(d) = &self.detail
                        && d.target == Open::Instruction(s.id)
                    {
                        let mut out = Out::default();
                        d.changed(&mut out);
                        fx.extend(out.effects);
                    }
                    self.data.upsert((**s).clone(), now);
                }
                Change::IntakeError { id, error } => {
                    self.data
                        .orders
                        .set_intake(*id, error.as_ref().map(|e| (**e).clone()));
                    if let Some(d) = &self.detail
                        && d.target == Open::IntakeError(*id)
                    {
                        if error.is_none() {
                            self.detail = None;
                            self.info(self.text.intake_resolved);
                        } else {
                            let mut out = Out::default();
                            d.changed(&mut out);
                            fx.extend(out.effects);
                        }
                    }
                }
                Change::Run(r) => {
                    self.data.run_changed(r, now);
                    robots_changed = true;
                    if r.state != RunState::Running
                        && r.action.is_fetch()
                        && self.data.guide_waits_for_fetch()
                    {
                        checklist = true;
                    }
                }
                Change::Audit(a) => self.data.audit_added(a),
                Change::Config => config = true,
                Change::Products { count } => self.data.products = *count,
                Change::Reload => {}
            }
        }
        if config {
            fx.extend(self.refresh(Tag::Robots, Request::Robots));
            fx.extend(self.refresh(Tag::ShipFroms, Request::ShipFroms));
            fx.extend(self.refresh(Tag::Auths, Request::Auths));
            checklist = true;
        }
        if checklist {
            fx.extend(self.refresh(Tag::Checklist, Request::Checklist));
        }
        let cx = cx!(self);
        self.orders.data_changed(keep, &cx);
        self.dashboard.data_changed(keep_new, &cx);
        if robots_changed {
            self.robots.data_changed(&cx);
        }
        self.dirty = true;
        fx
    }

    fn on_reply(&mut self, tag: Tag, r: Result<Reply, ServiceError>) -> Vec<Effect> {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                self.reply_failed(&tag, &e);
                return Vec::new();
            }
        };
        match self.apply_reply(tag.clone(), r) {
            Ok(fx) => fx,
            // An answer of the wrong shape is an error on screen, never an empty pane.
            Err(e) => {
                self.reply_failed(&tag, &e);
                Vec::new()
            }
        }
    }

    fn reply_failed(&mut self, tag: &Tag, e: &ServiceError) {
        match tag {
            Tag::Detail(id) | Tag::IntakeError(id)
                if self.detail.as_ref().is_some_and(|d| match d.target {
                    Open::Instruction(x) | Open::IntakeError(x) => x == *id,
                }) =>
            {
                self.detail = None;
            }
            Tag::Test => {
                self.data.last_test = Some(ConnectionTest {
                    at: self.now(),
                    ok: false,
                    message: e.message.clone(),
                    message_en: e.message_in_english().to_string(),
                });
            }
            _ => {}
        }
        self.error((self.text.server_error)(e));
    }

    fn apply_reply(&mut self, tag: Tag, r: Reply) -> Result<Vec<Effect>, ServiceError> {
        let t = self.text;
        match tag {
            Tag::Counts => self.data.counts = Counts::from_reply(r)?,
            Tag::FirstScreen => {
                let rows = Vec::<InstructionSummary>::from_reply(r)?;
                // Only while the whole list has not come: it is the truth once it has.
                if !self.data.orders.loaded {
                    let cx = cx!(self);
                    let keep = self.orders.selected_id(&cx);
                    self.data.orders.load_first_screen(rows);
                    let cx = cx!(self);
                    self.orders.data_changed(keep, &cx);
                }
            }
            Tag::Intake => {
                let list = Vec::<IntakeErrorSummary>::from_reply(r)?;
                let keep = self.orders.selected_id(&cx!(self));
                self.data.orders.intake = list;
                let cx = cx!(self);
                self.orders.data_changed(keep, &cx);
            }
            Tag::Robots => {
                self.data.robots = Some(RobotsView::from_reply(r)?);
                let cx = cx!(self);
                self.robots.data_changed(&cx);
            }
            Tag::Checklist => {
                let before = std::mem::replace(&mut self.data.checklist, FromReply::from_reply(r)?);
                let cx = cx!(self);
                self.setup.checklist_changed(&before, &cx);
            }
            Tag::Runs => self.data.merge_runs(FromReply::from_reply(r)?),
            Tag::Audit => self.data.merge_audit(FromReply::from_reply(r)?),
            Tag::ShipFroms => self.data.ship_froms = FromReply::from_reply(r)?,
            Tag::Auths => self.data.auths = FromReply::from_reply(r)?,
            Tag::Products => self.data.products = usize::from_reply(r)?,
            Tag::Detail(id) | Tag::IntakeError(id) => {
                if let Some(d) = self.detail.as_mut().filter(|d| match d.target {
                    Open::Instruction(x) | Open::IntakeError(x) => x == id,
                }) {
                    d.on_reply(r)?;
                }
            }
            Tag::Done(msg) => self.info(msg),
            Tag::DryRun(name) => {
                let changes = Vec::<DryRunChange>::from_reply(r)?;
                self.popup = Some(Popup::DryRun(DryRunPopup::new(
                    format!("{} — {}", t.dry_run_title, name),
                    changes,
                )));
            }
            Tag::SavedAuth => {
                let a = ApiAuth::from_reply(r)?;
                self.info((t.auth_saved_testing)(&a.name));
                return Ok(vec![Effect::Call(
                    Tag::Test,
                    Request::TestConnection { auth_id: a.id },
                )]);
            }
            Tag::Test => {
                let test = ConnectionTest::from_reply(r)?;
                let msg = (t.test_status)(&test);
                if test.ok {
                    self.info(msg);
                } else {
                    self.error(msg);
                }
                self.data.last_test = Some(test);
            }
            Tag::Guide(step) => {
                <()>::from_reply(r)?;
                self.info((t.guide_done)(step));
            }
            Tag::Bundle(said) => {
                let view = crate::engine::bundle::BundleView::from_reply(r)?;
                if let Some(said) = said {
                    self.info(said);
                }
                self.popup = Some(Popup::Bundle(crate::tui::popups::BundlePopup::new(view)));
            }
            Tag::Profiles(ids) => {
                let profiles = Vec::<crate::service::ProfileInfo>::from_reply(r)?;
                self.popup = Some(Popup::Carrier(CarrierPopup::new(profiles, ids)));
            }
        }
        Ok(Vec::new())
    }

    // ----------------------------------------------------------------------------------
    // Keys

    fn on_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        if k.kind != KeyEventKind::Press && k.kind != KeyEventKind::Repeat {
            return Vec::new();
        }
        // An error stays until the next key.
        if self
            .status
            .as_ref()
            .is_some_and(|m| m.kind == StatusKind::Error)
        {
            self.status = None;
            self.dirty = true;
        }
        // Help takes actions from the keymap (below); every other popup takes the keys.
        if let Some(mut popup) = self.popup.take() {
            if matches!(popup, Popup::Help(_)) {
                self.popup = Some(popup);
            } else {
                let mut out = Out::default();
                let keep = popup.on_key(k, &cx!(self), &mut out);
                if keep == Keep::Open {
                    self.popup = Some(popup);
                }
                return self.apply(out);
            }
        }
        if self.command.is_some() {
            return self.on_command_key(k);
        }
        if self.filtering() {
            let cx = cx!(self);
            match self.tab {
                Tab::Orders => self.orders.on_filter_key(k, &cx),
                _ => self.log.on_filter_key(k),
            }
            self.dirty = true;
            return Vec::new();
        }
        match self.keymap.lookup(self.context(), Key::from_event(&k)) {
            Some(a) => self.on_action(a),
            None => Vec::new(),
        }
    }

    /// Runs one action as if its key was pressed (key-sequence tests, `:` commands).
    pub fn on_action(&mut self, a: Action) -> Vec<Effect> {
        self.dirty = true;
        if let Some(Popup::Help(h)) = &mut self.popup {
            if !h.on_action(a) {
                self.popup = None;
            }
            return Vec::new();
        }
        if a.mutating() && self.read_only() {
            self.error(self.text.refused_read_only);
            return Vec::new();
        }
        match a {
            Action::Quit => {
                if self.detail.take().is_some() {
                    return Vec::new();
                }
                self.quit = true;
                vec![Effect::Quit]
            }
            Action::Help => {
                let screen = self.text.tabs[self.tab.index()];
                self.popup = Some(Popup::Help(HelpPopup::new(self.context(), screen)));
                Vec::new()
            }
            Action::CommandMode => {
                self.command = Some(Input::default());
                Vec::new()
            }
            Action::Refresh => {
                self.info(self.text.reloading);
                self.load_all()
            }
            Action::NextTab => {
                self.goto_tab((self.tab.index() + 1) % TABS.len());
                Vec::new()
            }
            Action::PrevTab => {
                self.goto_tab((self.tab.index() + TABS.len() - 1) % TABS.len());
                Vec::new()
            }
            Action::GotoTab(n) => {
                self.goto_tab(usize::from(n));
                Vec::new()
            }
            Action::Back => {
                self.back();
                Vec::new()
            }
            _ => {
                let mut out = Out::default();
                let cx = cx!(self);
                if let Some(d) = self.detail.as_mut() {
                    d.on_action(a, &cx, &mut out);
                } else {
                    match self.tab {
                        Tab::Dashboard => self.dashboard.on_action(a, &cx, &mut out),
                        Tab::Orders => self.orders.on_action(a, &cx, &mut out),
                        Tab::Robots => self.robots.on_action(a, &cx, &mut out),
                        Tab::Setup => self.setup.on_action(a, &cx, &mut out),
                        Tab::Log => self.log.on_action(a, &cx, &mut out),
                    }
                }
                self.apply(out)
            }
        }
    }

    fn goto_tab(&mut self, n: usize) {
        if let Some(t) = TABS.get(n) {
            self.tab = *t;
            self.detail = None;
            self.dirty = true;
        }
    }

    /// Esc: close, clear, go back — never quit.
    fn back(&mut self) {
        if self.detail.take().is_some() {
            return;
        }
        let cleared = match self.tab {
            Tab::Orders => {
                let cx = cx!(self);
                self.orders.back(&cx)
            }
            Tab::Log => self.log.back(),
            _ => false,
        };
        if !cleared {
            self.status = None;
        }
    }

    fn on_command_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        self.dirty = true;
        let Some(input) = self.command.as_mut() else {
            return Vec::new();
        };
        match k.code {
            KeyCode::Esc => {
                self.command = None;
                Vec::new()
            }
            KeyCode::Tab => {
                if let Some(done) = complete_command(input.value()) {
                    *input = Input::new(done);
                }
                Vec::new()
            }
            KeyCode::Enter => {
                let cmd = input.value().trim().to_string();
                self.command = None;
                self.run_command(&cmd)
            }
            _ => {
                input.handle_event(&Event::Key(k));
                Vec::new()
            }
        }
    }

    /// `:` commands.
    pub fn run_command(&mut self, cmd: &str) -> Vec<Effect> {
        self.dirty = true;
        let (head, arg) = cmd
            .split_once(char::is_whitespace)
            .map(|(a, b)| (a, b.trim()))
            .unwrap_or((cmd, ""));
        match head {
            "q" | "quit" | "q!" => {
                self.quit = true;
                vec![Effect::Quit]
            }
            "help" | "h" => self.on_action(Action::Help),
            "refresh" | "r" => self.on_action(Action::Refresh),
            "sync" => {
                if self.read_only() {
                    self.error(self.text.refused_read_only);
                    return Vec::new();
                }
                vec![Effect::Call(
                    Tag::Done(self.text.sync_done.into()),
                    Request::SyncOnce,
                )]
            }
            "goto" | "g" => {
                if let Some(n) = self.text.tabs.iter().position(|t| *t == arg) {
                    self.goto_tab(n);
                    return Vec::new();
                }
                if let Some(q) = Queue::parse(arg) {
                    return self.apply(Out {
                        goto: Some(Goto::Queue(q)),
                        ..Default::default()
                    });
                }
                self.error(format!("{}: {arg}", self.text.unknown_command));
                Vec::new()
            }
            "" => Vec::new(),
            other => {
                self.error(format!(
                    "{}: {other}  ({})",
                    self.text.unknown_command, self.text.command_help
                ));
                Vec::new()
            }
        }
    }

    // ----------------------------------------------------------------------------------
    // Derived

    /// What the clock changes on screen: the sync age, fresh 新着 rows, an aging message.
    fn clock_state(&self) -> String {
        let cx = cx!(self);
        let now = cx.now;
        let fresh = self
            .data
            .arrivals
            .iter()
            .filter(|a| a.at.is_some_and(|at| (now - at).num_seconds() < FRESH_SECS))
            .count();
        format!("{}|{fresh}", sync_text(&cx))
    }

    /// The id at a position of the 出荷指示 list (filtered when a filter is set).
    pub fn visible_id(&self, pos: usize) -> Option<u64> {
        self.orders.visible_id(pos, &cx!(self))
    }

    /// The ids of the 出荷指示 list, in order.
    pub fn visible_ids(&self) -> Vec<u64> {
        self.orders.visible_ids(&cx!(self))
    }

    /// Rows of the 出荷指示 list.
    pub fn visible_len(&self) -> usize {
        self.orders.visible_len(&cx!(self))
    }

    /// The instruction under the cursor on the 出荷指示 screen.
    pub fn selected_id(&self) -> Option<u64> {
        self.orders.selected_id(&cx!(self))
    }

    /// What an action on the 出荷指示 screen applies to: the marked rows, else the cursor's.
    pub fn targets(&self) -> Vec<u64> {
        self.orders.targets(&cx!(self))
    }

    /// The log rows matching the filter, newest first.
    pub fn log_rows(&self) -> (Vec<&RunLogEntry>, Vec<&AuditEntry>) {
        self.log.rows(&cx!(self))
    }

    /// "synced …" as the header shows it now.
    pub fn sync_text(&self) -> String {
        sync_text(&cx!(self))
    }

    /// Instruction counts per queue, as shown on the tabs.
    pub fn queue_counts(&self) -> HashMap<Queue, usize> {
        self.data.queue_counts()
    }

    // ----------------------------------------------------------------------------------
    // Drawing

    pub fn render(&self, f: &mut Frame) {
        let cx = cx!(self);
        let area = f.area();
        if area.width < MIN_W || area.height < MIN_H {
            let msg = format!("{} ({}×{})", self.text.too_small, area.width, area.height);
            f.render_widget(
                Paragraph::new(msg)
                    .style(self.theme.warn())
                    .wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
        let banner = self.banner();
        let banner_rows = banner
            .as_ref()
            .map_or(0, |p| p.line_count(area.width).clamp(1, 4));
        let status = self.status_paragraph();
        // A long message (a refusal that explains what to do) wraps onto up to three rows
        // rather than losing its end at the terminal's edge.
        let status_rows = status
            .as_ref()
            .map_or(1, |p| p.line_count(area.width).clamp(1, MAX_STATUS_ROWS));
        let [banner_area, top, body, status_area, hints] = Layout::vertical([
            Constraint::Length(banner_rows as u16),
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(status_rows as u16),
            Constraint::Length(1),
        ])
        .areas(area);
        if let Some(b) = banner {
            f.render_widget(b, banner_area);
        }
        self.header(f, top, &cx);
        if let Some(d) = &self.detail {
            d.render(f, body, &cx);
        } else {
            match self.tab {
                Tab::Dashboard => self.dashboard.render(f, body, &cx),
                Tab::Orders => self.orders.render(f, body, &cx),
                Tab::Robots => self.robots.render(f, body, &cx),
                Tab::Setup => self.setup.render(f, body, &cx),
                Tab::Log => self.log.render(f, body, &cx),
            }
        }
        self.status_line(f, status_area, status);
        self.hint_bar(f, hints);
        if let Some(p) = &self.popup {
            p.render(f, body, &cx);
        }
    }

    /// What every operator must see, in its own rows above the tabs (never over them): why the
    /// console is not connected, and 出荷後キャンセル nobody has acknowledged.
    fn banner(&self) -> Option<Paragraph<'static>> {
        let mut lines = Vec::new();
        if let Some(why) = self.connection.as_ref() {
            lines.push(Line::styled(
                format!("⚠ {}", safe(&(self.text.banner)(why))),
                self.theme
                    .error()
                    .add_modifier(ratatui::style::Modifier::REVERSED),
            ));
        }
        let late = self.data.orders.keys(Queue::LateCancels);
        if !late.is_empty() {
            let nos: Vec<String> = late
                .iter()
                .take(3)
                .filter_map(|(_, id, _)| self.data.orders.row(*id))
                .map(|r| safe(r.order_no()).into_owned())
                .collect();
            let more = if late.len() > 3 { " …" } else { "" };
            lines.push(Line::styled(
                format!(
                    "⚠ {}",
                    (self.text.late_cancel_banner)(late.len(), &format!("{}{more}", nos.join(" ")))
                ),
                self.theme
                    .warn()
                    .add_modifier(ratatui::style::Modifier::REVERSED),
            ));
        }
        if lines.is_empty() {
            return None;
        }
        Some(Paragraph::new(lines).wrap(Wrap { trim: true }))
    }

    /// Tabs on the left (all five, shortened before any is hidden), the sync state on the
    /// right.
    fn header(&self, f: &mut Frame, area: Rect, cx: &Ctx) {
        let t = self.text;
        let tabs = |names: &[&str; 5]| {
            let spans: Vec<Span> = names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let label = format!(" {} {} ", i + 1, name);
                    if TABS[i] == self.tab {
                        Span::styled(label, self.theme.active_tab())
                    } else {
                        Span::raw(label)
                    }
                })
                .collect();
            Line::from(spans)
        };
        let mut right = Vec::new();
        if self.read_only() {
            right.push(Span::styled(
                format!(" [{}] ", t.read_only),
                self.theme.warn(),
            ));
        }
        let st = self.data.sync_state(cx.now);
        let style = if st.failing {
            self.theme.error()
        } else if st.stale || st.last_ok.is_none() {
            self.theme.warn()
        } else {
            self.theme.dim()
        };
        right.push(Span::styled(format!(" {} ", sync_text(cx)), style));
        let right = Line::from(right);
        let avail = usize::from(area.width);
        let full = tabs(&t.tabs);
        let left = if full.width() + right.width() <= avail {
            let title = Span::styled(format!(" {} ", t.app_title), self.theme.title());
            // The app title only when it fits beside everything else.
            if full.width() + title.width() + right.width() <= avail {
                Line::from([vec![title], full.spans].concat())
            } else {
                full
            }
        } else {
            tabs(&t.tabs_short)
        };
        let rw = (right.width() as u16).min(area.width.saturating_sub(left.width() as u16));
        let [l, r] = Layout::horizontal([Constraint::Min(1), Constraint::Length(rw)]).areas(area);
        f.render_widget(Paragraph::new(left), l);
        // The right side gives way first: the sync word is cut, never a tab.
        let right_text: String = right.spans.iter().map(|s| s.content.as_ref()).collect();
        let right = if width(&right_text) > usize::from(rw) {
            Line::styled(fit(&right_text, usize::from(rw)), style)
        } else {
            right
        };
        f.render_widget(Paragraph::new(right).alignment(Alignment::Right), r);
    }

    /// The status message as drawn, or `None` in command mode and when there is none.
    fn status_paragraph(&self) -> Option<Paragraph<'static>> {
        if self.command.is_some() {
            return None;
        }
        let m = self.status.as_ref()?;
        let (style, prefix) = match m.kind {
            StatusKind::Info => (self.theme.ok(), "✓ "),
            StatusKind::Error => (self.theme.error(), "✗ "),
        };
        Some(
            Paragraph::new(format!("{prefix}{}", safe(&m.text)))
                .style(style)
                .wrap(Wrap { trim: true }),
        )
    }

    fn status_line(&self, f: &mut Frame, area: Rect, message: Option<Paragraph<'static>>) {
        if let Some(input) = &self.command {
            let text = format!(":{}", input.value());
            f.render_widget(Paragraph::new(safe(&text).into_owned()), area);
            let cursor = 1 + input.visual_cursor() as u16;
            f.set_cursor_position((area.x + cursor.min(area.width.saturating_sub(1)), area.y));
        } else if let Some(p) = message {
            f.render_widget(p, area);
        }
    }

    fn hint_bar(&self, f: &mut Frame, area: Rect) {
        let mut spans = Vec::new();
        let mut used = 0usize;
        for (k, d) in self.keymap.hints(self.context(), self.text.lang) {
            let item = format!("{k} {d}  ");
            used += width(&item);
            if used > usize::from(area.width) {
                break;
            }
            spans.push(Span::styled(k, self.theme.key()));
            spans.push(Span::raw(format!(" {d}  ")));
        }
        f.render_widget(
            Paragraph::new(Line::from(spans)).style(self.theme.dim()),
            area,
        );
    }
}

const COMMANDS: [&str; 5] = ["quit", "sync", "goto ", "help", "refresh"];

fn complete_command(prefix: &str) -> Option<String> {
    if let Some(arg) = prefix.strip_prefix("goto ") {
        return QUEUES
            .iter()
            .map(|q| q.name())
            .find(|n| n.starts_with(arg) && *n != arg)
            .map(|n| format!("goto {n}"));
    }
    COMMANDS
        .iter()
        .find(|c| c.starts_with(prefix) && **c != prefix)
        .map(|c| c.to_string())
}
