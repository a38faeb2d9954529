//! What a screen or popup is given (`Ctx`: the shared data and the look, read-only) and what it
//! hands back (`Out`: requests, a popup to open, a message, where to go). Screens never reach
//! into each other or into the app: routing is the app's.

use chrono::{DateTime, FixedOffset};

use super::data::Data;
use super::event::{Effect, Tag};
use super::keymap::Keymap;
use super::popups::Popup;
use super::text::Text;
use super::theme::Theme;
use crate::service::Request;

pub struct Ctx<'a> {
    pub text: &'static Text,
    pub theme: Theme,
    pub keymap: &'a Keymap,
    pub data: &'a Data,
    pub now: DateTime<FixedOffset>,
    pub read_only: bool,
    /// The terminal's size (list heights before the first frame).
    pub size: (u16, u16),
    /// Defaults for the setup forms (`shukka demo --fresh`).
    pub defaults: &'a FormDefaults,
}

impl Ctx<'_> {
    /// Rows a full-height list gets before its first frame is drawn.
    pub fn fallback_rows(&self) -> usize {
        usize::from(self.size.1.saturating_sub(7)).max(1)
    }
}

/// Where an action sends the operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goto {
    Tab(usize),
    /// The ロボット screen, this pane (0 変換, 1 処理, 2 連携).
    RobotsPane(usize),
    /// The 出荷指示 screen, this queue.
    Queue(super::model::Queue),
}

/// What to open in the detail view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Open {
    Instruction(u64),
    IntakeError(u64),
}

#[derive(Default)]
pub struct Out {
    pub effects: Vec<Effect>,
    pub popup: Option<Popup>,
    pub info: Option<String>,
    pub error: Option<String>,
    pub goto: Option<Goto>,
    pub open: Option<Open>,
    /// The marks on the 出荷指示 screen are used up (the action they were for was sent).
    pub clear_marks: bool,
}

impl Out {
    pub fn call(&mut self, tag: Tag, req: Request) {
        self.effects.push(Effect::Call(tag, req));
    }

    pub fn done(&mut self, msg: impl Into<String>, req: Request) {
        self.effects.push(Effect::Call(Tag::Done(msg.into()), req));
    }

    pub fn info(&mut self, s: impl Into<String>) {
        self.info = Some(s.into());
    }

    pub fn error(&mut self, s: impl Into<String>) {
        self.error = Some(s.into());
    }

    pub fn popup(&mut self, p: impl Into<Popup>) {
        self.popup = Some(p.into());
    }
}

/// Prefilled values for the setup forms: the demo's simulator, so a first run is Enter, Enter.
#[derive(Clone, Debug, Default)]
pub struct FormDefaults {
    pub ship_from: Option<crate::domain::ShipFrom>,
    pub auth: Option<AuthDefaults>,
}

/// The secret is a [`Secret`](crate::secret::Secret): its `Debug` never shows it.
#[derive(Clone, Debug, Default)]
pub struct AuthDefaults {
    pub name: String,
    pub shop_key: String,
    pub client_id: String,
    pub secret: crate::secret::Secret,
    pub endpoint: String,
    pub pacing_ms: u64,
}
