//! The console's state and its update function. Pure: events in, effects (service requests)
//! out; rendering reads the state. Key-sequence tests drive this directly.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::Value;
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::keymap::{Action, Context, Key, Keymap};
use super::model::{OrdersModel, QUEUES, Queue, words};
use super::text::Text;
use super::theme::Theme;
use crate::domain::*;
use crate::engine::{CheckItem, DryRunChange, FixTarget, ShipRequest};
use crate::robots::linkage::{LinkAction, LinkageRobot, RELEASE_ROBOT, Trigger};
use crate::robots::processing::BuiltinRule;
use crate::service::{InstructionDetail, Request, RobotsView, ServiceError};
use crate::store::{Change, Counts, StoreEvent};

/// Everything that reaches the event loop.
#[derive(Debug)]
pub enum AppEvent {
    Key(KeyEvent),
    Resize(u16, u16),
    /// A clock tick (once a second): only redraws when visible text changes.
    Tick,
    Store(Arc<StoreEvent>),
    /// Events were dropped (the console fell behind): reload.
    Lagged,
    Reply(Tag, Result<Value, ServiceError>),
    Summaries(Result<Vec<InstructionSummary>, ServiceError>),
    /// The link to the server went down (false) or came back (true).
    Connection(bool),
    /// A background task failed unexpectedly (shown, not fatal).
    TaskFailed(Failure),
}

/// What went wrong outside the app's own code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Reading the terminal failed (the error as the OS gave it).
    Input(String),
    /// A background task panicked.
    TaskPanicked,
}

/// What a reply is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    Counts,
    Intake,
    Robots,
    Checklist,
    Runs,
    Audit,
    ShipFroms,
    Auths,
    Products,
    Detail(u64),
    /// An action: the message to show when it succeeds.
    Done(String),
    DryRun(String),
    SavedAuth,
    Test,
}

/// What the event loop must do for the app.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // a handful per key press; boxing buys nothing
pub enum Effect {
    Call(Tag, Request),
    LoadSummaries,
    Quit,
}

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Filter,
    Command,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    Error,
}

#[derive(Clone, Debug)]
pub struct StatusMsg {
    pub text: String,
    pub kind: StatusKind,
}

/// A list position that stays on screen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scroll {
    pub cursor: usize,
    pub offset: usize,
}

impl Scroll {
    pub fn clamp(&mut self, len: usize, height: usize) {
        let height = height.max(1);
        if len == 0 {
            *self = Scroll::default();
            return;
        }
        self.cursor = self.cursor.min(len - 1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        }
        if self.cursor >= self.offset + height {
            self.offset = self.cursor + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
    }

    fn apply(&mut self, a: Action, len: usize, height: usize) -> bool {
        let before = *self;
        let page = height.max(1);
        match a {
            Action::Up => self.cursor = self.cursor.saturating_sub(1),
            Action::Down => self.cursor = (self.cursor + 1).min(len.saturating_sub(1)),
            Action::PageUp => self.cursor = self.cursor.saturating_sub(page),
            Action::PageDown => self.cursor = (self.cursor + page).min(len.saturating_sub(1)),
            Action::Top => self.cursor = 0,
            Action::Bottom => self.cursor = len.saturating_sub(1),
            _ => return false,
        }
        self.clamp(len, height);
        *self != before
    }
}

pub struct OrdersState {
    pub model: OrdersModel,
    pub queue: usize,
    pub scroll: Scroll,
    pub marks: BTreeSet<u64>,
    pub range_anchor: Option<usize>,
    pub filter: Input,
    /// Ids matching the filter, when one is set.
    pub filtered: Option<Vec<u64>>,
    /// The filter text `filtered` was computed for (empty when none), and the model slots of
    /// its rows (to narrow it without lookups).
    pub filtered_for: String,
    filtered_slots: Vec<u32>,
}

pub struct DetailState {
    pub id: u64,
    pub data: Option<InstructionDetail>,
    pub scroll: u16,
    pub raw: bool,
}

#[derive(Default)]
pub struct RobotsState {
    pub view: Option<RobotsView>,
    pub pane: usize,
    pub scroll: [Scroll; 3],
}

#[derive(Default)]
pub struct SetupState {
    pub items: Vec<CheckItem>,
    pub scroll: Scroll,
    pub ship_froms: Vec<ShipFrom>,
    pub auths: Vec<ApiAuth>,
    pub products: usize,
    pub last_test: Option<ConnectionTest>,
}

pub struct LogState {
    pub runs: VecDeque<RunLogEntry>,
    pub audit: VecDeque<AuditEntry>,
    pub sub: usize,
    pub scroll: [Scroll; 2],
    pub filter: Input,
}

pub const LOG_KEEP: usize = 2000;

/// A form field.
pub struct FormField {
    pub label: &'static str,
    pub input: Input,
    pub masked: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormKind {
    ShipFrom { id: u64 },
    Auth { id: u64 },
}

pub struct Form {
    pub kind: FormKind,
    pub title: &'static str,
    pub fields: Vec<FormField>,
    pub focus: usize,
    pub error: Option<String>,
    /// Shown under the secret field: a secret is stored (never shown).
    pub secret_stored: bool,
}

/// What a confirmed dialog or a submitted input does.
#[derive(Clone, Debug, PartialEq)]
pub enum Then {
    Requests(Vec<Request>, String),
    Hold(Vec<(u64, u64)>),
    Ship(u64, u64),
    Rename { kind: RobotKind, id: u64 },
    Trigger(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RobotKind {
    Converter,
    Processing,
    Linkage,
}

pub enum Popup {
    Help {
        scroll: u16,
    },
    Confirm {
        title: String,
        lines: Vec<String>,
        yes_focused: bool,
        then: Then,
    },
    Input {
        title: String,
        label: String,
        input: Input,
        then: Then,
    },
    Picker {
        robot: u64,
        items: Vec<(u64, String, bool)>,
        scroll: Scroll,
    },
    Form(Form),
    DryRun {
        title: String,
        changes: Vec<DryRunChange>,
        scroll: Scroll,
    },
}

pub struct App {
    pub text: &'static Text,
    pub theme: Theme,
    pub keymap: Keymap,
    pub tab: Tab,
    pub mode: Mode,
    pub command: Input,
    pub size: (u16, u16),
    pub counts: Counts,
    pub orders: OrdersState,
    pub detail: Option<DetailState>,
    pub robots: RobotsState,
    pub setup: SetupState,
    pub log: LogState,
    pub popup: Option<Popup>,
    pub status: Option<StatusMsg>,
    pub connected: bool,
    pub quit: bool,
    /// Something visible changed since the last frame.
    pub dirty: bool,
    /// Text derived from the clock, to notice when a tick changes the screen.
    clock_text: String,
    /// A fixed "now" (snapshot tests); the real clock when None.
    pub clock: Option<DateTime<FixedOffset>>,
    /// Refresh requests in flight, and those asked for again meanwhile: one at a time per kind,
    /// so answers never arrive out of order and a burst of events costs at most two requests.
    inflight: HashSet<Tag>,
    again: HashMap<Tag, Request>,
}

/// Lines the chrome takes: tabs, status line, hint bar.
const CHROME: u16 = 3;

impl App {
    pub fn new(text: &'static Text, theme: Theme, read_only: bool) -> App {
        App {
            text,
            theme,
            keymap: Keymap::new(read_only),
            tab: Tab::Dashboard,
            mode: Mode::Normal,
            command: Input::default(),
            size: (80, 24),
            counts: Counts::default(),
            orders: OrdersState {
                model: OrdersModel::default(),
                queue: 2,
                scroll: Scroll::default(),
                marks: BTreeSet::new(),
                range_anchor: None,
                filter: Input::default(),
                filtered: None,
                filtered_for: String::new(),
                filtered_slots: Vec::new(),
            },
            detail: None,
            robots: RobotsState::default(),
            setup: SetupState::default(),
            log: LogState {
                runs: VecDeque::new(),
                audit: VecDeque::new(),
                sub: 0,
                scroll: [Scroll::default(); 2],
                filter: Input::default(),
            },
            popup: None,
            status: None,
            connected: true,
            quit: false,
            dirty: true,
            clock_text: String::new(),
            clock: None,
            inflight: HashSet::new(),
            again: HashMap::new(),
        }
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
        match self.again.remove(tag) {
            Some(req) => self.refresh(tag.clone(), req).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// Now, in JST.
    pub fn now(&self) -> DateTime<FixedOffset> {
        self.clock.unwrap_or_else(crate::engine::now)
    }

    pub fn read_only(&self) -> bool {
        self.keymap.read_only
    }

    /// Everything the console shows, loaded from scratch.
    pub fn load_all(&mut self) -> Vec<Effect> {
        let mut fx = vec![Effect::LoadSummaries];
        for (tag, req) in [
            (Tag::Counts, Request::Counts),
            (Tag::Intake, Request::IntakeErrors),
            (Tag::Robots, Request::Robots),
            (Tag::Checklist, Request::Checklist),
            (Tag::Runs, Request::Runs { limit: LOG_KEEP }),
            (Tag::Audit, Request::Audit { limit: LOG_KEEP }),
            (Tag::ShipFroms, Request::ShipFroms),
            (Tag::Auths, Request::Auths),
            (Tag::Products, Request::Products),
        ] {
            fx.extend(self.refresh(tag, req));
        }
        fx
    }

    /// The screen context keys are looked up in.
    pub fn context(&self) -> Context {
        if matches!(self.popup, Some(Popup::Help { .. })) {
            Context::Help
        } else if self.detail.is_some() && self.tab == Tab::Orders {
            Context::Detail
        } else {
            self.tab.context()
        }
    }

    pub fn queue(&self) -> Queue {
        QUEUES[self.orders.queue]
    }

    /// Rows of the table body on the 出荷指示 screen.
    pub fn orders_height(&self) -> usize {
        // tabs + status + hints, queue tabs, header, filter line (when used), block borders.
        let filter = u16::from(self.orders.filtered.is_some() || self.mode == Mode::Filter);
        self.size.1.saturating_sub(CHROME + 2 + filter + 2) as usize
    }

    fn list_height(&self) -> usize {
        self.size.1.saturating_sub(CHROME + 4) as usize
    }

    /// The ids shown on the 出荷指示 screen, in order (filtered when a filter is set).
    pub fn visible_ids(&self) -> Vec<u64> {
        if let Some(f) = &self.orders.filtered {
            return f.clone();
        }
        match self.queue() {
            Queue::IntakeErrors => self.orders.model.intake.iter().map(|e| e.id).collect(),
            q => self
                .orders
                .model
                .keys(q)
                .iter()
                .map(|(_, id, _)| *id)
                .collect(),
        }
    }

    /// Length of the current list without copying it.
    pub fn visible_len(&self) -> usize {
        match &self.orders.filtered {
            Some(f) => f.len(),
            None => self.orders.model.len(self.queue()),
        }
    }

    /// The id at a position of the current list.
    pub fn visible_id(&self, pos: usize) -> Option<u64> {
        match &self.orders.filtered {
            Some(f) => f.get(pos).copied(),
            None => match self.queue() {
                Queue::IntakeErrors => self.orders.model.intake.get(pos).map(|e| e.id),
                q => self.orders.model.keys(q).get(pos).map(|(_, id, _)| *id),
            },
        }
    }

    fn info(&mut self, s: impl Into<String>) {
        self.status = Some(StatusMsg {
            text: s.into(),
            kind: StatusKind::Info,
        });
        self.dirty = true;
    }

    fn error(&mut self, s: impl Into<String>) {
        self.status = Some(StatusMsg {
            text: s.into(),
            kind: StatusKind::Error,
        });
        self.dirty = true;
    }

    // ----------------------------------------------------------------------------------
    // Events

    pub fn update(&mut self, ev: AppEvent) -> Vec<Effect> {
        let fx = self.update_inner(ev);
        if self.dirty {
            // The next frame shows the current clock text: a tick only redraws when it changes.
            self.clock_text = self.clock_line();
        }
        fx
    }

    fn update_inner(&mut self, ev: AppEvent) -> Vec<Effect> {
        match ev {
            AppEvent::Key(k) => self.on_key(k),
            AppEvent::Resize(w, h) => {
                self.size = (w, h);
                self.reclamp();
                self.dirty = true;
                Vec::new()
            }
            AppEvent::Tick => {
                let now = self.clock_line();
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
                        let keep = self.selected_id();
                        self.orders.model.load(all);
                        self.refilter();
                        self.keep_selection(keep);
                    }
                    Err(e) => self.error((self.text.server_error)(&e)),
                }
                self.dirty = true;
                Vec::new()
            }
            AppEvent::Reply(tag, r) => self.on_reply(tag, r),
            AppEvent::Connection(up) => {
                self.connected = up;
                self.dirty = true;
                if up {
                    self.info(self.text.reconnected);
                    return self.load_all();
                }
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

    fn on_store(&mut self, ev: &StoreEvent) -> Vec<Effect> {
        if ev.changes.iter().any(|c| matches!(c, Change::Reload)) {
            self.dirty = true;
            return self.load_all();
        }
        let mut fx = Vec::new();
        let keep = self.selected_id();
        let mut instructions = false;
        let mut intake = false;
        let mut config = false;
        let mut products = false;
        for c in &ev.changes {
            match c {
                Change::Instruction(s) => {
                    if self.detail.as_ref().is_some_and(|d| d.id == s.id) {
                        fx.push(Effect::Call(
                            Tag::Detail(s.id),
                            Request::Instruction { id: s.id },
                        ));
                    }
                    self.orders.model.upsert((**s).clone());
                    instructions = true;
                }
                Change::IntakeError { .. } => intake = true,
                Change::Run(r) => {
                    if let Some(pos) = self.log.runs.iter().position(|x| x.seq == r.seq) {
                        self.log.runs[pos] = (**r).clone();
                    } else {
                        self.log.runs.push_front((**r).clone());
                        self.log.runs.truncate(LOG_KEEP);
                    }
                    if r.state != RunState::Running {
                        config = true; // last/next run and the checklist (item 7) change
                    }
                }
                Change::Audit(a) => {
                    self.log.audit.push_front((**a).clone());
                    self.log.audit.truncate(LOG_KEEP);
                }
                Change::Config => config = true,
                Change::Products => products = true,
                Change::Reload => {}
            }
        }
        if instructions || intake {
            fx.extend(self.refresh(Tag::Counts, Request::Counts));
        }
        if intake {
            fx.extend(self.refresh(Tag::Intake, Request::IntakeErrors));
        }
        if config {
            fx.extend(self.refresh(Tag::Robots, Request::Robots));
            fx.extend(self.refresh(Tag::Checklist, Request::Checklist));
            fx.extend(self.refresh(Tag::ShipFroms, Request::ShipFroms));
            fx.extend(self.refresh(Tag::Auths, Request::Auths));
        }
        if products {
            fx.extend(self.refresh(Tag::Products, Request::Products));
            fx.extend(self.refresh(Tag::Checklist, Request::Checklist));
        }
        if instructions {
            self.refilter();
            self.keep_selection(keep);
        }
        self.dirty = true;
        fx
    }

    fn on_reply(&mut self, tag: Tag, r: Result<Value, ServiceError>) -> Vec<Effect> {
        self.dirty = true;
        let mut fx = self.settled(&tag);
        fx.extend(self.apply_reply(tag, r));
        fx
    }

    fn apply_reply(&mut self, tag: Tag, r: Result<Value, ServiceError>) -> Vec<Effect> {
        let v = match r {
            Ok(v) => v,
            Err(e) => {
                if let Tag::Detail(_) = tag {
                    self.detail = None;
                }
                if tag == Tag::Test {
                    self.setup.last_test = Some(ConnectionTest {
                        at: self.now(),
                        ok: false,
                        message: e.message.clone(),
                        message_en: e.message_in_english().to_string(),
                    });
                }
                self.error((self.text.server_error)(&e));
                return Vec::new();
            }
        };
        fn de<T: serde::de::DeserializeOwned>(v: Value) -> Option<T> {
            serde_json::from_value(v).ok()
        }
        match tag {
            Tag::Counts => {
                if let Some(c) = de(v) {
                    self.counts = c;
                }
            }
            Tag::Intake => {
                if let Some(list) = de::<Vec<IntakeError>>(v) {
                    let keep = self.selected_id();
                    self.orders.model.intake = list;
                    self.refilter();
                    self.keep_selection(keep);
                }
            }
            Tag::Robots => {
                self.robots.view = de(v);
                self.reclamp();
            }
            Tag::Checklist => {
                if let Some(items) = de(v) {
                    self.setup.items = items;
                }
            }
            Tag::Runs => {
                if let Some(runs) = de::<Vec<RunLogEntry>>(v) {
                    self.log.runs = merge_runs(&self.log.runs, runs);
                }
            }
            Tag::Audit => {
                if let Some(a) = de::<Vec<AuditEntry>>(v) {
                    self.log.audit = merge_audit(&self.log.audit, a);
                }
            }
            Tag::ShipFroms => self.setup.ship_froms = de(v).unwrap_or_default(),
            Tag::Auths => self.setup.auths = de(v).unwrap_or_default(),
            Tag::Products => self.setup.products = v.as_array().map(Vec::len).unwrap_or(0),
            Tag::Detail(id) => {
                if let Some(d) = self.detail.as_mut().filter(|d| d.id == id) {
                    d.data = de(v);
                }
            }
            Tag::Done(msg) => self.info(msg),
            Tag::DryRun(name) => {
                let changes: Vec<DryRunChange> = de(v).unwrap_or_default();
                self.popup = Some(Popup::DryRun {
                    title: format!("{} — {}", self.text.dry_run_title, name),
                    changes,
                    scroll: Scroll::default(),
                });
            }
            Tag::SavedAuth => {
                let saved: Option<ApiAuth> = de(v);
                if let Some(a) = saved {
                    self.info((self.text.auth_saved_testing)(&a.name));
                    return vec![Effect::Call(
                        Tag::Test,
                        Request::TestConnection { auth_id: a.id },
                    )];
                }
            }
            Tag::Test => {
                let t: Option<ConnectionTest> = de(v);
                if let Some(t) = t {
                    let msg = (self.text.test_status)(&t);
                    if t.ok {
                        self.info(msg);
                    } else {
                        self.error(msg);
                    }
                    self.setup.last_test = Some(t);
                }
            }
        }
        Vec::new()
    }

    // ----------------------------------------------------------------------------------
    // Keys

    fn on_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        if k.kind != crossterm::event::KeyEventKind::Press
            && k.kind != crossterm::event::KeyEventKind::Repeat
        {
            return Vec::new();
        }
        if self
            .popup
            .as_ref()
            .is_some_and(|p| !matches!(p, Popup::Help { .. }))
        {
            return self.on_popup_key(k);
        }
        match self.mode {
            Mode::Filter => return self.on_filter_key(k),
            Mode::Command => return self.on_command_key(k),
            Mode::Normal => {}
        }
        let key = Key::from_event(&k);
        match self.keymap.lookup(self.context(), key) {
            Some(a) => self.on_action(a),
            None => Vec::new(),
        }
    }

    /// Runs one action as if its key was pressed (key-sequence tests, `:` commands).
    pub fn on_action(&mut self, a: Action) -> Vec<Effect> {
        if let Some(Popup::Help { scroll }) = &mut self.popup {
            match a {
                Action::Down => *scroll = scroll.saturating_add(1),
                Action::Up => *scroll = scroll.saturating_sub(1),
                Action::PageDown => *scroll = scroll.saturating_add(10),
                Action::PageUp => *scroll = scroll.saturating_sub(10),
                Action::Back | Action::Help | Action::Quit => self.popup = None,
                _ => {}
            }
            self.dirty = true;
            return Vec::new();
        }
        if a.mutating() && self.read_only() {
            self.error(self.text.refused_read_only);
            return Vec::new();
        }
        match a {
            Action::Quit => {
                if self.detail.is_some() && self.tab == Tab::Orders {
                    self.detail = None;
                    self.dirty = true;
                    return Vec::new();
                }
                self.quit = true;
                vec![Effect::Quit]
            }
            Action::Help => {
                self.popup = Some(Popup::Help { scroll: 0 });
                self.dirty = true;
                Vec::new()
            }
            Action::CommandMode => {
                self.mode = Mode::Command;
                self.command = Input::default();
                self.dirty = true;
                Vec::new()
            }
            Action::Refresh => {
                self.info(self.text.reloading);
                self.load_all()
            }
            Action::NextTab => self.goto_tab((self.tab.index() + 1) % TABS.len()),
            Action::PrevTab => self.goto_tab((self.tab.index() + TABS.len() - 1) % TABS.len()),
            Action::GotoTab(n) => self.goto_tab(usize::from(n)),
            Action::Back => self.back(),
            _ => match self.context() {
                Context::Orders => self.orders_action(a),
                Context::Detail => self.detail_action(a),
                Context::Robots => self.robots_action(a),
                Context::Setup => self.setup_action(a),
                Context::Log => self.log_action(a),
                Context::Dashboard => {
                    if a == Action::Open {
                        return self.goto_tab(1);
                    }
                    Vec::new()
                }
                _ => Vec::new(),
            },
        }
    }

    fn goto_tab(&mut self, n: usize) -> Vec<Effect> {
        if let Some(t) = TABS.get(n) {
            self.tab = *t;
            self.detail = None;
            self.dirty = true;
        }
        Vec::new()
    }

    /// Esc: close, clear, go back — never quit.
    fn back(&mut self) -> Vec<Effect> {
        self.dirty = true;
        if self.detail.is_some() && self.tab == Tab::Orders {
            self.detail = None;
        } else if self.tab == Tab::Orders
            && (!self.orders.marks.is_empty() || self.orders.range_anchor.is_some())
        {
            self.orders.marks.clear();
            self.orders.range_anchor = None;
        } else if self.tab == Tab::Orders && self.orders.filtered.is_some() {
            self.clear_filter();
        } else if self.tab == Tab::Log && !self.log.filter.value().is_empty() {
            self.log.filter = Input::default();
        } else {
            self.status = None;
        }
        Vec::new()
    }

    fn on_filter_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        match k.code {
            KeyCode::Esc => {
                self.mode = Mode::Normal;
                if self.tab == Tab::Orders {
                    self.clear_filter();
                } else {
                    self.log.filter = Input::default();
                }
            }
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                if self.tab == Tab::Orders && self.orders.filter.value().is_empty() {
                    self.clear_filter();
                }
            }
            _ => {
                let target = if self.tab == Tab::Orders {
                    &mut self.orders.filter
                } else {
                    &mut self.log.filter
                };
                if target
                    .handle_event(&crossterm::event::Event::Key(k))
                    .is_some()
                {
                    if self.tab == Tab::Orders {
                        self.apply_filter();
                    } else {
                        // The log list changed under the cursor: start again at the newest line.
                        self.log.scroll = [Scroll::default(); 2];
                    }
                }
            }
        }
        self.dirty = true;
        Vec::new()
    }

    /// Recomputes the filtered list for the current filter text (one keystroke).
    pub fn apply_filter(&mut self) {
        let keep = self.selected_id();
        let text = self.orders.filter.value().to_string();
        let w = words(&text);
        // Typing more only narrows: search the previous matches instead of every row.
        let narrowing =
            !self.orders.filtered_for.is_empty() && text.starts_with(&self.orders.filtered_for);
        let previous = std::mem::take(&mut self.orders.filtered_slots);
        self.orders.filtered = if w.is_empty() {
            None
        } else if self.queue() == Queue::IntakeErrors {
            Some(self.orders.model.filter_intake(&w))
        } else {
            let within = narrowing.then_some(previous.as_slice());
            let (ids, slots) = self.orders.model.filter(self.queue(), &w, within);
            self.orders.filtered_slots = slots;
            Some(ids)
        };
        self.orders.filtered_for = if self.orders.filtered.is_some() {
            text
        } else {
            String::new()
        };
        self.keep_selection(keep);
        self.dirty = true;
    }

    fn refilter(&mut self) {
        if self.orders.filtered.is_some() || !self.orders.filter.value().is_empty() {
            let w = words(self.orders.filter.value());
            if !w.is_empty() {
                self.orders.filtered = Some(if self.queue() == Queue::IntakeErrors {
                    self.orders.filtered_slots.clear();
                    self.orders.model.filter_intake(&w)
                } else {
                    let (ids, slots) = self.orders.model.filter(self.queue(), &w, None);
                    self.orders.filtered_slots = slots;
                    ids
                });
                self.orders.filtered_for = self.orders.filter.value().to_string();
            }
        }
    }

    fn clear_filter(&mut self) {
        let keep = self.selected_id();
        self.orders.filter = Input::default();
        self.orders.filtered = None;
        self.orders.filtered_for.clear();
        self.orders.filtered_slots.clear();
        self.keep_selection(keep);
    }

    fn on_command_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        self.dirty = true;
        match k.code {
            KeyCode::Esc => {
                self.mode = Mode::Normal;
                Vec::new()
            }
            KeyCode::Tab => {
                let v = self.command.value().to_string();
                if let Some(done) = complete_command(&v) {
                    self.command = Input::new(done);
                }
                Vec::new()
            }
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                let cmd = self.command.value().trim().to_string();
                self.run_command(&cmd)
            }
            _ => {
                self.command.handle_event(&crossterm::event::Event::Key(k));
                Vec::new()
            }
        }
    }

    /// `:` commands.
    pub fn run_command(&mut self, cmd: &str) -> Vec<Effect> {
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
                    return self.goto_tab(n);
                }
                if let Some(pos) =
                    Queue::parse(arg).and_then(|q| QUEUES.iter().position(|x| *x == q))
                {
                    self.goto_tab(1);
                    self.select_queue(pos);
                    return Vec::new();
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
    // 出荷指示

    pub fn selected_id(&self) -> Option<u64> {
        self.visible_id(self.orders.scroll.cursor)
    }

    fn keep_selection(&mut self, id: Option<u64>) {
        let len = self.visible_len();
        if let Some(id) = id {
            let pos = match &self.orders.filtered {
                Some(f) => f.iter().position(|x| *x == id),
                None => match self.queue() {
                    Queue::IntakeErrors => self.orders.model.intake.iter().position(|e| e.id == id),
                    q => self.orders.model.position(q, id),
                },
            };
            if let Some(p) = pos {
                self.orders.scroll.cursor = p;
            }
        }
        let h = self.orders_height();
        self.orders.scroll.clamp(len, h);
    }

    fn reclamp(&mut self) {
        let (len, h) = (self.visible_len(), self.orders_height());
        self.orders.scroll.clamp(len, h);
        let lh = self.list_height();
        if let Some(v) = &self.robots.view {
            let lens = [v.converters.len(), v.processing.len(), v.linkage.len()];
            for (i, s) in self.robots.scroll.iter_mut().enumerate() {
                s.clamp(lens[i], lh / 3);
            }
        }
    }

    fn select_queue(&mut self, pos: usize) {
        self.orders.queue = pos % QUEUES.len();
        self.orders.scroll = Scroll::default();
        self.orders.marks.clear();
        self.orders.range_anchor = None;
        self.refilter();
        self.dirty = true;
    }

    /// The instructions an action applies to: the marked ones, else the cursor row.
    pub fn targets(&self) -> Vec<u64> {
        if !self.orders.marks.is_empty() {
            return self.orders.marks.iter().copied().collect();
        }
        self.selected_id().into_iter().collect()
    }

    fn orders_action(&mut self, a: Action) -> Vec<Effect> {
        let len = self.visible_len();
        let h = self.orders_height();
        if self.orders.scroll.apply(a, len, h) {
            if let Some(anchor) = self.orders.range_anchor {
                self.mark_range(anchor);
            }
            self.dirty = true;
            return Vec::new();
        }
        match a {
            Action::Left => self.select_queue(self.orders.queue + QUEUES.len() - 1),
            Action::Right => self.select_queue(self.orders.queue + 1),
            Action::Filter => {
                self.mode = Mode::Filter;
                self.dirty = true;
            }
            Action::Open => {
                if self.queue() == Queue::IntakeErrors {
                    return Vec::new();
                }
                if let Some(id) = self.selected_id() {
                    self.detail = Some(DetailState {
                        id,
                        data: None,
                        scroll: 0,
                        raw: false,
                    });
                    self.dirty = true;
                    return vec![Effect::Call(Tag::Detail(id), Request::Instruction { id })];
                }
            }
            Action::Mark => {
                if let Some(id) = self.selected_id() {
                    if !self.orders.marks.remove(&id) {
                        self.orders.marks.insert(id);
                    }
                    let len = self.visible_len();
                    self.orders.scroll.cursor =
                        (self.orders.scroll.cursor + 1).min(len.saturating_sub(1));
                    self.orders.scroll.clamp(len, h);
                }
                self.dirty = true;
            }
            Action::MarkRange => {
                self.orders.range_anchor = match self.orders.range_anchor {
                    Some(_) => None,
                    None => {
                        let c = self.orders.scroll.cursor;
                        self.mark_range(c);
                        Some(c)
                    }
                };
                self.dirty = true;
            }
            Action::MarkAll => {
                self.orders.marks = self.visible_ids().into_iter().collect();
                self.dirty = true;
            }
            Action::Hold
            | Action::Release
            | Action::StartWork
            | Action::Ship
            | Action::CancelOrder
            | Action::Retry => {
                return self.instruction_action(a, self.targets());
            }
            _ => {}
        }
        Vec::new()
    }

    fn mark_range(&mut self, anchor: usize) {
        let c = self.orders.scroll.cursor;
        let (lo, hi) = (anchor.min(c), anchor.max(c));
        for pos in lo..=hi {
            if let Some(id) = self.visible_id(pos) {
                self.orders.marks.insert(id);
            }
        }
    }

    fn detail_action(&mut self, a: Action) -> Vec<Effect> {
        let Some(d) = self.detail.as_mut() else {
            return Vec::new();
        };
        match a {
            Action::Down => d.scroll = d.scroll.saturating_add(1),
            Action::Up => d.scroll = d.scroll.saturating_sub(1),
            Action::PageDown => d.scroll = d.scroll.saturating_add(10),
            Action::PageUp => d.scroll = d.scroll.saturating_sub(10),
            Action::Top => d.scroll = 0,
            Action::Bottom => d.scroll = u16::MAX / 2,
            Action::ToggleRaw => {
                d.raw = !d.raw;
                d.scroll = 0;
            }
            Action::Hold
            | Action::Release
            | Action::StartWork
            | Action::Ship
            | Action::CancelOrder
            | Action::Retry => {
                let id = d.id;
                return self.instruction_action(a, vec![id]);
            }
            _ => return Vec::new(),
        }
        self.dirty = true;
        Vec::new()
    }

    fn summary(&self, id: u64) -> Option<&InstructionSummary> {
        self.orders.model.row(id).map(|r| &r.s)
    }

    fn describe_targets(&self, ids: &[u64]) -> String {
        let nos: Vec<&str> = ids
            .iter()
            .filter_map(|id| self.summary(*id))
            .map(|s| s.order_no.as_str())
            .take(3)
            .collect();
        let more = if ids.len() > 3 {
            (self.text.and_more)(ids.len() - 3)
        } else {
            String::new()
        };
        format!("{}{}", nos.join(", "), more)
    }

    /// Hold, release, start, ship, cancel, retry on the given instructions.
    pub fn instruction_action(&mut self, a: Action, ids: Vec<u64>) -> Vec<Effect> {
        self.dirty = true;
        if self.queue() == Queue::IntakeErrors && self.detail.is_none() {
            if a != Action::Retry {
                self.error(self.text.intake_not_instruction);
                return Vec::new();
            }
            let reqs: Vec<Request> = ids
                .iter()
                .map(|id| Request::RetryIntake { error_id: *id })
                .collect();
            if reqs.is_empty() {
                self.error(self.text.nothing_selected);
                return Vec::new();
            }
            self.orders.marks.clear();
            return reqs
                .into_iter()
                .map(|r| Effect::Call(Tag::Done(self.text.retry_intake_done.into()), r))
                .collect();
        }
        let targets: Vec<(u64, u64)> = ids
            .iter()
            .filter_map(|id| self.summary(*id).map(|s| (s.id, s.version)))
            .collect();
        if targets.is_empty() {
            self.error(self.text.nothing_selected);
            return Vec::new();
        }
        let n = targets.len();
        let names = self.describe_targets(&ids);
        match a {
            Action::Hold => {
                self.popup = Some(Popup::Input {
                    title: (self.text.hold_title)(&names, n),
                    label: self.text.prompt_hold.into(),
                    input: Input::default(),
                    then: Then::Hold(targets),
                });
            }
            Action::Ship => {
                if n > 1 {
                    self.error(self.text.one_at_a_time);
                    return Vec::new();
                }
                self.popup = Some(Popup::Input {
                    title: (self.text.ship_title)(&names),
                    label: self.text.prompt_tracking.into(),
                    input: Input::default(),
                    then: Then::Ship(targets[0].0, targets[0].1),
                });
            }
            Action::Release => {
                let reqs: Vec<Request> = targets
                    .iter()
                    .map(|(id, v)| Request::Release {
                        id: *id,
                        version: Some(*v),
                    })
                    .collect();
                let payment = ids
                    .iter()
                    .filter_map(|id| self.summary(*id))
                    .any(|s| s.status == Status::AwaitingPayment);
                if n > 1 || payment {
                    let mut lines = vec![format!("{names}: {n} {}", self.text.confirm_bulk)];
                    if payment {
                        lines.push(self.text.confirm_release_payment.into());
                    }
                    self.confirm(
                        (self.text.release_title)(n),
                        lines,
                        Then::Requests(reqs, (self.text.released_n)(n)),
                    );
                } else {
                    self.orders.marks.clear();
                    return done_calls(reqs, self.text.released_one);
                }
            }
            Action::StartWork => {
                let reqs: Vec<Request> = targets
                    .iter()
                    .map(|(id, v)| Request::StartWork {
                        id: *id,
                        version: Some(*v),
                    })
                    .collect();
                if n > 1 {
                    self.confirm(
                        (self.text.start_title)(n),
                        vec![format!("{names}: {n} {}", self.text.confirm_bulk)],
                        Then::Requests(reqs, (self.text.started_n)(n)),
                    );
                } else {
                    return done_calls(reqs, self.text.started_one);
                }
            }
            Action::CancelOrder => {
                let reqs: Vec<Request> = targets
                    .iter()
                    .map(|(id, v)| Request::Cancel {
                        id: *id,
                        version: Some(*v),
                        reason: self.text.cancel_reason.into(),
                    })
                    .collect();
                self.confirm(
                    format!("{} ({})", self.text.confirm_cancel, (self.text.count)(n)),
                    vec![
                        format!("{}: {names}", self.text.confirm_cancel),
                        format!("{n} {}", self.text.confirm_bulk),
                    ],
                    Then::Requests(reqs, (self.text.cancelled_n)(n)),
                );
            }
            Action::Retry => {
                let reqs: Vec<Request> = targets
                    .iter()
                    .filter(|(id, _)| self.summary(*id).is_some_and(|s| s.upstream_error))
                    .map(|(id, v)| Request::ResendTracking {
                        id: *id,
                        version: Some(*v),
                    })
                    .collect();
                if reqs.is_empty() {
                    self.error(self.text.not_upstream_error);
                    return Vec::new();
                }
                return done_calls(reqs, self.text.resend_queued);
            }
            _ => {}
        }
        Vec::new()
    }

    fn confirm(&mut self, title: String, lines: Vec<String>, then: Then) {
        self.popup = Some(Popup::Confirm {
            title,
            lines,
            yes_focused: false,
            then,
        });
        self.dirty = true;
    }

    // ----------------------------------------------------------------------------------
    // Popups

    fn on_popup_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        self.dirty = true;
        let Some(popup) = self.popup.take() else {
            return Vec::new();
        };
        match popup {
            Popup::Help { .. } => Vec::new(),
            Popup::Confirm {
                title,
                lines,
                yes_focused,
                then,
            } => match k.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => self.run_then(then, None),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Vec::new(),
                KeyCode::Enter => {
                    if yes_focused {
                        self.run_then(then, None)
                    } else {
                        Vec::new()
                    }
                }
                KeyCode::Tab
                | KeyCode::BackTab
                | KeyCode::Left
                | KeyCode::Right
                | KeyCode::Char('h')
                | KeyCode::Char('l') => {
                    self.popup = Some(Popup::Confirm {
                        title,
                        lines,
                        yes_focused: !yes_focused,
                        then,
                    });
                    Vec::new()
                }
                _ => {
                    self.popup = Some(Popup::Confirm {
                        title,
                        lines,
                        yes_focused,
                        then,
                    });
                    Vec::new()
                }
            },
            Popup::Input {
                title,
                label,
                mut input,
                then,
            } => match k.code {
                KeyCode::Esc => Vec::new(),
                KeyCode::Enter => {
                    let value = input.value().to_string();
                    self.run_then(then, Some(value))
                }
                _ => {
                    input.handle_event(&crossterm::event::Event::Key(k));
                    self.popup = Some(Popup::Input {
                        title,
                        label,
                        input,
                        then,
                    });
                    Vec::new()
                }
            },
            Popup::Picker {
                robot,
                mut items,
                mut scroll,
            } => {
                let h = self.list_height();
                match k.code {
                    KeyCode::Esc | KeyCode::Char('q') => return Vec::new(),
                    KeyCode::Char('j') | KeyCode::Down => {
                        scroll.apply(Action::Down, items.len(), h);
                    }
                    KeyCode::Char('k') | KeyCode::Up => {
                        scroll.apply(Action::Up, items.len(), h);
                    }
                    KeyCode::Char(' ') | KeyCode::Enter => {
                        if let Some(item) = items.get_mut(scroll.cursor) {
                            item.2 = !item.2;
                            let req = Request::ApplyProcessing {
                                id: robot,
                                converter_id: item.0,
                                applied: item.2,
                            };
                            let msg = if item.2 {
                                (self.text.applied)(robot, &item.1)
                            } else {
                                (self.text.unapplied)(robot, &item.1)
                            };
                            self.popup = Some(Popup::Picker {
                                robot,
                                items,
                                scroll,
                            });
                            return vec![Effect::Call(Tag::Done(msg), req)];
                        }
                    }
                    _ => {}
                }
                self.popup = Some(Popup::Picker {
                    robot,
                    items,
                    scroll,
                });
                Vec::new()
            }
            Popup::Form(mut form) => self.on_form_key(&mut form, k).unwrap_or_else(|| {
                self.popup = Some(Popup::Form(form));
                Vec::new()
            }),
            Popup::DryRun {
                title,
                changes,
                mut scroll,
            } => {
                let h = self.list_height();
                match k.code {
                    KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => return Vec::new(),
                    KeyCode::Char('j') | KeyCode::Down => {
                        scroll.apply(Action::Down, changes.len(), h);
                    }
                    KeyCode::Char('k') | KeyCode::Up => {
                        scroll.apply(Action::Up, changes.len(), h);
                    }
                    KeyCode::PageDown => {
                        scroll.apply(Action::PageDown, changes.len(), h);
                    }
                    KeyCode::PageUp => {
                        scroll.apply(Action::PageUp, changes.len(), h);
                    }
                    _ => {}
                }
                self.popup = Some(Popup::DryRun {
                    title,
                    changes,
                    scroll,
                });
                Vec::new()
            }
        }
    }

    fn run_then(&mut self, then: Then, value: Option<String>) -> Vec<Effect> {
        let value = value.unwrap_or_default();
        match then {
            Then::Requests(reqs, msg) => {
                self.orders.marks.clear();
                self.orders.range_anchor = None;
                done_calls(reqs, &msg)
            }
            Then::Hold(targets) => {
                if value.trim().is_empty() {
                    self.error(self.text.hold_reason_required);
                    return Vec::new();
                }
                self.orders.marks.clear();
                self.orders.range_anchor = None;
                let n = targets.len();
                targets
                    .into_iter()
                    .map(|(id, v)| {
                        Effect::Call(
                            Tag::Done((self.text.held_n)(n)),
                            Request::Hold {
                                id,
                                version: Some(v),
                                reason: value.trim().into(),
                            },
                        )
                    })
                    .collect()
            }
            Then::Ship(id, v) => {
                let tracking: Vec<String> = value
                    .split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect();
                if tracking.is_empty() {
                    self.error(self.text.tracking_required);
                    return Vec::new();
                }
                vec![Effect::Call(
                    Tag::Done(self.text.shipped_done.into()),
                    Request::Ship {
                        id,
                        version: Some(v),
                        ship: ShipRequest {
                            tracking,
                            ..Default::default()
                        },
                    },
                )]
            }
            Then::Rename { kind, id } => {
                let name = value.trim().to_string();
                let req = match kind {
                    RobotKind::Converter => Request::RenameConverter { id, name },
                    RobotKind::Processing => Request::RenameProcessing { id, name },
                    RobotKind::Linkage => Request::RenameLinkage { id, name },
                };
                vec![Effect::Call(Tag::Done(self.text.renamed.into()), req)]
            }
            Then::Trigger(id) => match Trigger::parse(&value) {
                Ok(trigger) => vec![Effect::Call(
                    Tag::Done(self.text.trigger_changed.into()),
                    Request::SetTrigger { id, trigger },
                )],
                Err(e) => {
                    self.error((self.text.bad_trigger)(value.trim(), &e));
                    Vec::new()
                }
            },
        }
    }

    fn on_form_key(&mut self, form: &mut Form, k: KeyEvent) -> Option<Vec<Effect>> {
        let n = form.fields.len();
        match k.code {
            KeyCode::Esc => return Some(Vec::new()),
            KeyCode::Tab | KeyCode::Down => form.focus = (form.focus + 1) % n,
            KeyCode::BackTab | KeyCode::Up => form.focus = (form.focus + n - 1) % n,
            KeyCode::Enter => match self.submit_form(form) {
                Ok(fx) => return Some(fx),
                Err(e) => form.error = Some(e),
            },
            _ => {
                if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('s') {
                    match self.submit_form(form) {
                        Ok(fx) => return Some(fx),
                        Err(e) => form.error = Some(e),
                    }
                } else if let Some(f) = form.fields.get_mut(form.focus) {
                    f.input.handle_event(&crossterm::event::Event::Key(k));
                }
            }
        }
        None
    }

    fn submit_form(&mut self, form: &Form) -> Result<Vec<Effect>, String> {
        let v = |i: usize| {
            form.fields
                .get(i)
                .map(|f| f.input.value().trim().to_string())
                .unwrap_or_default()
        };
        match form.kind {
            FormKind::ShipFrom { id } => {
                if v(0).is_empty() {
                    return Err(self.text.name_required.into());
                }
                let s = ShipFrom {
                    id,
                    name: v(0),
                    postal_code: v(1),
                    prefecture: v(2),
                    address: v(3),
                    phone: v(4),
                };
                Ok(vec![Effect::Call(
                    Tag::Done((self.text.ship_from_saved)(&s.name)),
                    Request::SaveShipFrom { ship_from: s },
                )])
            }
            FormKind::Auth { id } => {
                let ship_from_id = self.setup.ship_froms.first().map(|s| s.id);
                if ship_from_id.is_none() {
                    return Err(self.text.ship_from_first.into());
                }
                let pacing: u64 = if v(5).is_empty() {
                    1000
                } else {
                    v(5).parse()
                        .map_err(|_| self.text.pacing_not_number.to_string())?
                };
                let existing = self
                    .setup
                    .auths
                    .iter()
                    .find(|a| a.id == id)
                    .cloned()
                    .unwrap_or_default();
                let secret = v(3);
                if secret.is_empty() && !form.secret_stored {
                    return Err(self.text.secret_required.into());
                }
                // The stored secret never follows a new destination (the engine deletes it).
                let moved = existing.id != 0
                    && (existing.shop_key != v(1)
                        || existing.client_id != v(2)
                        || existing.endpoint != v(4));
                if moved && secret.is_empty() {
                    return Err(self.text.secret_again.into());
                }
                let auth = ApiAuth {
                    id,
                    name: v(0),
                    api: "futureshop".into(),
                    ship_from_id: existing.ship_from_id.or(ship_from_id),
                    shop_key: v(1),
                    client_id: v(2),
                    endpoint: v(4),
                    pacing_ms: pacing,
                    ..existing
                };
                Ok(vec![Effect::Call(
                    Tag::SavedAuth,
                    Request::SaveAuth {
                        auth,
                        secret: if secret.is_empty() {
                            None
                        } else {
                            Some(secret)
                        },
                    },
                )])
            }
        }
    }

    // ----------------------------------------------------------------------------------
    // ロボット

    fn robots_action(&mut self, a: Action) -> Vec<Effect> {
        let Some(view) = &self.robots.view else {
            return Vec::new();
        };
        let lens = [
            view.converters.len(),
            view.processing.len(),
            view.linkage.len(),
        ];
        let pane = self.robots.pane;
        let h = (self.list_height() / 3).max(1);
        if self.robots.scroll[pane].apply(a, lens[pane], h) {
            self.dirty = true;
            return Vec::new();
        }
        let cursor = self.robots.scroll[pane].cursor;
        self.dirty = true;
        match a {
            Action::Left => self.robots.pane = (pane + 2) % 3,
            Action::Right => self.robots.pane = (pane + 1) % 3,
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
                    return vec![Effect::Call(Tag::Done(self.text.toggled.into()), r)];
                }
            }
            Action::ApplyTo => {
                if pane != 1 {
                    self.error(self.text.apply_only_processing);
                    return Vec::new();
                }
                if let Some(p) = view.processing.get(cursor) {
                    let items: Vec<(u64, String, bool)> = view
                        .converters
                        .iter()
                        .filter(|c| c.enabled)
                        .map(|c| (c.id, c.label(), p.applied_to.contains(&c.id)))
                        .collect();
                    if items.is_empty() {
                        self.error(self.text.no_enabled_converter);
                        return Vec::new();
                    }
                    self.popup = Some(Popup::Picker {
                        robot: p.id,
                        items,
                        scroll: Scroll::default(),
                    });
                }
            }
            Action::Duplicate => {
                if pane != 0 {
                    self.error(self.text.duplicate_only_converter);
                    return Vec::new();
                }
                if let Some(c) = view.converters.get(cursor) {
                    return vec![Effect::Call(
                        Tag::Done((self.text.duplicated)(&c.label())),
                        Request::DuplicateConverter { id: c.id },
                    )];
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
                    self.popup = Some(Popup::Input {
                        title: (self.text.rename_title)(id),
                        label: self.text.prompt_rename.into(),
                        input: Input::new(name),
                        then: Then::Rename { kind, id },
                    });
                }
            }
            Action::MoveUp | Action::MoveDown => {
                if pane != 1 {
                    self.error(self.text.move_only_processing);
                    return Vec::new();
                }
                if let Some(p) = view.processing.get(cursor) {
                    let delta = if a == Action::MoveUp { -1 } else { 1 };
                    let len = lens[1];
                    let c = &mut self.robots.scroll[1];
                    c.cursor = (c.cursor as i64 + delta).clamp(0, len as i64 - 1) as usize;
                    return vec![Effect::Call(
                        Tag::Done(self.text.order_changed.into()),
                        Request::MoveProcessing { id: p.id, delta },
                    )];
                }
            }
            Action::RunNow => {
                if pane != 2 {
                    self.error(self.text.run_only_linkage);
                    return Vec::new();
                }
                if let Some(l) = view.linkage.get(cursor) {
                    let range = (l.robot.action == LinkAction::FetchRange
                        && l.robot.range.is_none())
                    .then(|| {
                        let end = self.now().naive_local();
                        (end - chrono::Duration::days(7), end)
                    });
                    return vec![Effect::Call(
                        Tag::Done((self.text.ran)(&l.robot.name)),
                        Request::RunRobot {
                            id: l.robot.id,
                            range,
                        },
                    )];
                }
            }
            Action::EditTrigger => {
                if pane != 2 {
                    self.error(self.text.trigger_only_linkage);
                    return Vec::new();
                }
                if let Some(l) = view.linkage.get(cursor) {
                    self.popup = Some(Popup::Input {
                        title: (self.text.trigger_title)(&l.robot.label()),
                        label: self.text.prompt_trigger.into(),
                        input: Input::new(trigger_text(&l.robot.trigger, self.text)),
                        then: Then::Trigger(l.robot.id),
                    });
                }
            }
            Action::DryRun => {
                if pane != 1 {
                    self.error(self.text.dry_run_only_processing);
                    return Vec::new();
                }
                if let Some(p) = view.processing.get(cursor) {
                    return vec![Effect::Call(
                        Tag::DryRun(p.label()),
                        Request::DryRun { id: p.id },
                    )];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    // ----------------------------------------------------------------------------------
    // セットアップ

    fn setup_action(&mut self, a: Action) -> Vec<Effect> {
        let len = self.setup.items.len();
        let h = self.list_height();
        if self.setup.scroll.apply(a, len, h) {
            self.dirty = true;
            return Vec::new();
        }
        self.dirty = true;
        match a {
            Action::Open => {
                let Some(item) = self.setup.items.get(self.setup.scroll.cursor).cloned() else {
                    return Vec::new();
                };
                return self.fix(&item);
            }
            Action::EditShipFrom => self.open_ship_from_form(),
            Action::EditAuth => self.open_auth_form(),
            Action::TestConnection => match self.setup.auths.first().map(|a| a.id) {
                Some(auth_id) => {
                    self.info(self.text.testing_connection);
                    return vec![Effect::Call(Tag::Test, Request::TestConnection { auth_id })];
                }
                None => self.error(self.text.no_auth),
            },
            Action::EasySetup => match self.setup.auths.first() {
                Some(a) => {
                    let conv = self.robots.view.as_ref().and_then(|v| {
                        v.converters
                            .iter()
                            .find(|c| c.enabled && !c.standard)
                            .map(|c| c.id)
                    });
                    let req = Request::EasySetup {
                        auth_id: a.id,
                        converter_id: conv,
                        inventory: false,
                        interval_secs: 600,
                    };
                    self.confirm(
                        self.text.confirm_easy.into(),
                        vec![format!("{}: {}", self.text.auth_label, a.name)],
                        Then::Requests(vec![req], self.text.easy_done.into()),
                    );
                }
                None => self.error(self.text.no_auth),
            },
            Action::FetchProducts => return self.fetch_products(),
            _ => {}
        }
        Vec::new()
    }

    fn fetch_products(&mut self) -> Vec<Effect> {
        let Some(auth) = self.setup.auths.first().cloned() else {
            self.error(self.text.no_auth);
            return Vec::new();
        };
        let existing = self
            .robots
            .view
            .as_ref()
            .and_then(|v| {
                v.linkage.iter().find(|l| {
                    l.robot.action == LinkAction::ProductMasterFetch
                        && l.robot.auth_id == Some(auth.id)
                })
            })
            .map(|l| l.robot.id);
        match existing {
            Some(id) => vec![Effect::Call(
                Tag::Done(self.text.products_fetched.into()),
                Request::RunRobot { id, range: None },
            )],
            None => {
                let robot = LinkageRobot {
                    id: 0,
                    name: crate::engine::setup::PRODUCT_MASTER_ROBOT.into(),
                    action: LinkAction::ProductMasterFetch,
                    auth_id: Some(auth.id),
                    converter_id: None,
                    processing_robot_id: None,
                    target_status: None,
                    range: None,
                    trigger: Trigger::Manual,
                    enabled: true,
                };
                vec![Effect::Call(
                    Tag::Done(self.text.product_robot_created.into()),
                    Request::CreateLinkage { robot },
                )]
            }
        }
    }

    /// Enter on a checklist item: go to the place that fixes it.
    fn fix(&mut self, item: &CheckItem) -> Vec<Effect> {
        match item.fix {
            FixTarget::ShipFrom => self.open_ship_from_form(),
            FixTarget::Auth => self.open_auth_form(),
            FixTarget::Converters => {
                self.tab = Tab::Robots;
                self.robots.pane = 0;
            }
            FixTarget::Processing => {
                self.tab = Tab::Robots;
                self.robots.pane = 1;
            }
            FixTarget::Linkage => {
                if item.number == 6 && !item.ok {
                    return self.offer_release_robot();
                }
                if item.number == 4
                    && !item.ok
                    && !self.linkage_exists(crate::robots::linkage::EASY_FETCH)
                {
                    // Through on_action: かんたん設定 changes the store (refused when read-only).
                    return self.on_action(Action::EasySetup);
                }
                self.tab = Tab::Robots;
                self.robots.pane = 2;
            }
            FixTarget::Fetch => return self.offer_test_fetch(),
        }
        self.dirty = true;
        Vec::new()
    }

    fn linkage_exists(&self, name: &str) -> bool {
        self.robots
            .view
            .as_ref()
            .is_some_and(|v| v.linkage.iter().any(|l| l.robot.name == name))
    }

    fn offer_release_robot(&mut self) -> Vec<Effect> {
        if self.read_only() {
            self.error(self.text.refused_read_only);
            return Vec::new();
        }
        let Some(status) = self.robots.view.as_ref().and_then(|v| {
            v.linkage
                .iter()
                .find(|l| l.robot.name == crate::robots::linkage::EASY_STATUS)
                .map(|l| l.robot.id)
        }) else {
            self.error(self.text.easy_status_first);
            return Vec::new();
        };
        if self.linkage_exists(RELEASE_ROBOT) {
            self.tab = Tab::Robots;
            self.robots.pane = 2;
            self.info(self.text.check_release_robot);
            return Vec::new();
        }
        let robot = LinkageRobot {
            id: 0,
            name: RELEASE_ROBOT.into(),
            action: LinkAction::ApplyProcessingRobot,
            auth_id: None,
            converter_id: None,
            processing_robot_id: Some(BuiltinRule::FutureshopRelease.number()),
            target_status: Some(Status::AwaitingPayment),
            range: None,
            trigger: Trigger::After { robot_id: status },
            enabled: true,
        };
        self.confirm(
            self.text.confirm_create_release_robot.into(),
            vec![RELEASE_ROBOT.to_string()],
            Then::Requests(
                vec![Request::CreateLinkage { robot }],
                self.text.linkage_created.into(),
            ),
        );
        Vec::new()
    }

    fn offer_test_fetch(&mut self) -> Vec<Effect> {
        if self.read_only() {
            self.error(self.text.refused_read_only);
            return Vec::new();
        }
        let Some(view) = &self.robots.view else {
            return Vec::new();
        };
        let end = self.now().naive_local();
        let range = (end - chrono::Duration::days(7), end);
        if let Some(l) = view
            .linkage
            .iter()
            .find(|l| l.robot.action == LinkAction::FetchRange)
        {
            let req = Request::RunRobot {
                id: l.robot.id,
                range: Some(range),
            };
            self.confirm(
                self.text.confirm_test_fetch.into(),
                vec![l.robot.label()],
                Then::Requests(vec![req], self.text.test_fetch_done.into()),
            );
            return Vec::new();
        }
        let Some(conv) = view.converters.iter().find(|c| c.enabled && !c.standard) else {
            self.error(self.text.no_copied_converter);
            return Vec::new();
        };
        let Some(auth) = self.setup.auths.first() else {
            self.error(self.text.no_auth);
            return Vec::new();
        };
        let robot = LinkageRobot {
            id: 0,
            name: crate::robots::linkage::TEST_FETCH.into(),
            action: LinkAction::FetchRange,
            auth_id: Some(auth.id),
            converter_id: Some(conv.id),
            processing_robot_id: None,
            target_status: None,
            range: Some(range),
            trigger: Trigger::Manual,
            enabled: true,
        };
        self.confirm(
            self.text.confirm_test_fetch.into(),
            vec![
                format!("{} → {}", robot.name, conv.label()),
                self.text.test_fetch_then_enter.into(),
            ],
            Then::Requests(
                vec![Request::CreateLinkage { robot }],
                self.text.test_fetch_created.into(),
            ),
        );
        Vec::new()
    }

    pub fn open_ship_from_form(&mut self) {
        if self.read_only() {
            self.error(self.text.refused_read_only);
            return;
        }
        let s = self.setup.ship_froms.first().cloned().unwrap_or_default();
        let labels = self.text.ship_from_fields;
        let values = [s.name, s.postal_code, s.prefecture, s.address, s.phone];
        let fields = labels
            .iter()
            .zip(values)
            .map(|(l, v)| FormField {
                label: l,
                input: Input::new(v),
                masked: false,
            })
            .collect();
        self.popup = Some(Popup::Form(Form {
            kind: FormKind::ShipFrom { id: s.id },
            title: self.text.form_ship_from,
            fields,
            focus: 0,
            error: None,
            secret_stored: false,
        }));
        self.dirty = true;
    }

    pub fn open_auth_form(&mut self) {
        if self.read_only() {
            self.error(self.text.refused_read_only);
            return;
        }
        let a = self
            .setup
            .auths
            .first()
            .cloned()
            .unwrap_or_else(|| ApiAuth {
                name: self.text.default_auth_name.into(),
                pacing_ms: 1000,
                ..Default::default()
            });
        let labels = self.text.auth_fields;
        let values = [
            a.name.clone(),
            a.shop_key.clone(),
            a.client_id.clone(),
            String::new(),
            a.endpoint.clone(),
            a.pacing_ms.to_string(),
        ];
        let fields = labels
            .iter()
            .zip(values)
            .enumerate()
            .map(|(i, (l, v))| FormField {
                label: l,
                input: Input::new(v),
                masked: i == 3,
            })
            .collect();
        self.popup = Some(Popup::Form(Form {
            kind: FormKind::Auth { id: a.id },
            title: self.text.form_auth,
            fields,
            focus: 0,
            error: None,
            secret_stored: a.has_secret,
        }));
        self.dirty = true;
    }

    // ----------------------------------------------------------------------------------
    // ログ

    /// Log rows matching the filter, newest first.
    pub fn log_rows(&self) -> (Vec<&RunLogEntry>, Vec<&AuditEntry>) {
        let w = words(self.log.filter.value());
        let runs = self
            .log
            .runs
            .iter()
            .filter(|r| {
                w.is_empty() || {
                    let h = format!("{} {} {}", r.robot_name, r.action, r.errors.join(" "))
                        .to_lowercase();
                    w.iter().all(|x| h.contains(x.as_str()))
                }
            })
            .collect();
        let audit = self
            .log
            .audit
            .iter()
            .filter(|a| {
                w.is_empty() || {
                    let h = format!("{} {} {} {}", a.actor, a.target, a.action, a.reason)
                        .to_lowercase();
                    w.iter().all(|x| h.contains(x.as_str()))
                }
            })
            .collect();
        (runs, audit)
    }

    fn log_action(&mut self, a: Action) -> Vec<Effect> {
        let (runs, audit) = self.log_rows();
        let lens = [runs.len(), audit.len()];
        // The log has its sub-tabs and filter line above the table: one row less than list_height.
        let h = self.list_height().saturating_sub(1);
        let sub = self.log.sub;
        if self.log.scroll[sub].apply(a, lens[sub], h) {
            self.dirty = true;
            return Vec::new();
        }
        match a {
            Action::Left | Action::Right => self.log.sub = 1 - sub,
            Action::Filter => self.mode = Mode::Filter,
            _ => return Vec::new(),
        }
        self.dirty = true;
        Vec::new()
    }

    // ----------------------------------------------------------------------------------
    // Derived

    /// The newest completed fetch, and whether syncing is stale or failing.
    pub fn sync_state(&self, now: DateTime<FixedOffset>) -> SyncState {
        let is_fetch = |r: &&RunLogEntry| {
            r.action == LinkAction::FetchDiff.name() || r.action == LinkAction::FetchRange.name()
        };
        let last_ok = self
            .log
            .runs
            .iter()
            .filter(is_fetch)
            .find(|r| r.state == RunState::Done)
            .and_then(|r| r.ended);
        let last = self
            .log
            .runs
            .iter()
            .filter(is_fetch)
            .find(|r| r.state != RunState::Running);
        let failing =
            last.is_some_and(|r| matches!(r.state, RunState::Failed | RunState::Interrupted));
        let interval = self
            .robots
            .view
            .as_ref()
            .and_then(|v| {
                v.linkage
                    .iter()
                    .find(|l| l.robot.action == LinkAction::FetchDiff && l.robot.enabled)
            })
            .and_then(|l| match l.robot.trigger {
                Trigger::Every { secs } => Some(secs),
                _ => None,
            });
        let limit = interval.map(|s| s * 3 + 60).unwrap_or(30 * 60) as i64;
        let stale = last_ok.is_some_and(|t| (now - t).num_seconds() > limit);
        SyncState {
            last_ok,
            failing,
            stale,
        }
    }

    /// "synced …" as shown, coarse enough that an idle screen does not change for minutes.
    pub fn sync_text(&self, now: DateTime<FixedOffset>) -> String {
        let st = self.sync_state(now);
        let t = self.text;
        let mut s = match st.last_ok {
            None => t.never_synced.to_string(),
            Some(at) => {
                // Counted in wall-clock minutes, so the label changes exactly on the minute —
                // the one moment an idle screen is repainted — not at a phase set by the last run.
                let minutes = now.timestamp().div_euclid(60) - at.timestamp().div_euclid(60);
                format!("{} {}", t.synced, age(t, minutes * 60))
            }
        };
        if st.failing {
            s = format!("{s} [{}]", t.failing);
        } else if st.stale {
            s = format!("{s} [{}]", t.stale);
        }
        s
    }

    fn clock_line(&self) -> String {
        self.sync_text(self.now())
    }

    /// Instruction counts per queue, as shown on the tabs.
    /// Rows per queue: from the loaded list, or — while the list is still on its way (it is
    /// the largest answer by far) — the server's counts, which arrive first.
    pub fn queue_counts(&self) -> HashMap<Queue, usize> {
        let model = &self.orders.model;
        QUEUES
            .iter()
            .map(|q| {
                let n = if model.loaded {
                    model.len(*q)
                } else {
                    let c = &self.counts;
                    let n = match q {
                        Queue::Status(s) => c.get(*s),
                        Queue::IntakeErrors => c.intake_errors,
                        Queue::UpstreamErrors => c.upstream_errors,
                    };
                    usize::try_from(n).unwrap_or(usize::MAX)
                };
                (*q, n)
            })
            .collect()
    }

    pub fn marked_ids(&self) -> HashSet<u64> {
        self.orders.marks.iter().copied().collect()
    }
}

/// The requests of one action, each reporting `msg` when it succeeds.
fn done_calls(reqs: Vec<Request>, msg: &str) -> Vec<Effect> {
    reqs.into_iter()
        .map(|r| Effect::Call(Tag::Done(msg.to_string()), r))
        .collect()
}

/// A run-log snapshot merged with lines already updated by events: a line only moves forward
/// (running → finished, more pages), so the more advanced version wins.
fn merge_runs(
    current: &VecDeque<RunLogEntry>,
    snapshot: Vec<RunLogEntry>,
) -> VecDeque<RunLogEntry> {
    let mut by_seq: std::collections::BTreeMap<u64, RunLogEntry> =
        snapshot.into_iter().map(|r| (r.seq, r)).collect();
    for r in current {
        let keep_ours = match by_seq.get(&r.seq) {
            None => true,
            Some(s) => {
                (s.state == RunState::Running && r.state != RunState::Running)
                    || (s.state == r.state && r.pages > s.pages)
            }
        };
        if keep_ours {
            by_seq.insert(r.seq, r.clone());
        }
    }
    by_seq.into_values().rev().take(LOG_KEEP).collect()
}

/// The audit log only grows: the union of both, newest first.
fn merge_audit(current: &VecDeque<AuditEntry>, snapshot: Vec<AuditEntry>) -> VecDeque<AuditEntry> {
    let mut by_seq: std::collections::BTreeMap<u64, AuditEntry> =
        snapshot.into_iter().map(|a| (a.seq, a)).collect();
    for a in current {
        by_seq.entry(a.seq).or_insert_with(|| a.clone());
    }
    by_seq.into_values().rev().take(LOG_KEEP).collect()
}

pub struct SyncState {
    pub last_ok: Option<DateTime<FixedOffset>>,
    pub failing: bool,
    pub stale: bool,
}

/// Minute granularity: the text changes at most once a minute.
pub fn age(t: &Text, secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 60 {
        t.within_minute.to_string()
    } else if secs < 3600 {
        format!("{}{}", secs / 60, t.minutes_ago)
    } else if secs < 86400 {
        format!("{}{}", secs / 3600, t.hours_ago)
    } else {
        format!("{}{}", secs / 86400, t.days_ago)
    }
}

/// A trigger as the operator types it (the parser takes 手動 and manual alike).
fn trigger_text(t: &Trigger, text: &Text) -> String {
    match t {
        Trigger::Manual => text.manual.into(),
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
