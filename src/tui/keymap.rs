//! The one keymap registry: key handling, the hint bar and the `?` help are all generated from
//! it. `--read-only` builds it without the actions that change anything.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::text::{Lang, action_desc};

/// Every user intent the console knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    CommandMode,
    Refresh,
    NextTab,
    PrevTab,
    GotoTab(u8),
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Left,
    Right,
    Filter,
    Open,
    Mark,
    MarkRange,
    MarkAll,
    Hold,
    Release,
    StartWork,
    Ship,
    CancelOrder,
    Retry,
    ToggleRaw,
    ToggleEnabled,
    ApplyTo,
    Duplicate,
    Rename,
    MoveUp,
    MoveDown,
    RunNow,
    EditTrigger,
    DryRun,
    EditShipFrom,
    EditAuth,
    TestConnection,
    EasySetup,
    FetchProducts,
    ExportLabels,
    ImportTracking,
    AckLateCancel,
    /// The 同梱 group, side by side, to decide.
    Bundle,
}

impl Action {
    /// Changes stored state: absent in `--read-only`.
    pub fn mutating(self) -> bool {
        use Action::*;
        matches!(
            self,
            Hold | Release
                | StartWork
                | Ship
                | CancelOrder
                | Retry
                | ToggleEnabled
                | ApplyTo
                | Duplicate
                | Rename
                | MoveUp
                | MoveDown
                | RunNow
                | EditTrigger
                | EditShipFrom
                | EditAuth
                | TestConnection
                | EasySetup
                | FetchProducts
                | ExportLabels
                | ImportTracking
                | AckLateCancel
        )
    }

    /// Goes through a confirm dialog naming the target and count, Cancel focused.
    pub fn dangerous(self) -> bool {
        matches!(self, Action::CancelOrder)
    }
}

/// Where a binding applies. `Global` and `Nav` bindings apply in every screen that has them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Context {
    Global,
    Nav,
    Dashboard,
    Orders,
    /// The 出荷指示 screen on its 取込エラー queue: intake errors are not instructions.
    IntakeQueue,
    Detail,
    IntakeDetail,
    Robots,
    Setup,
    Log,
    Help,
}

impl Context {
    /// The screen contexts (those a user can be "in").
    pub const SCREENS: [Context; 9] = [
        Context::Dashboard,
        Context::Orders,
        Context::IntakeQueue,
        Context::Detail,
        Context::IntakeDetail,
        Context::Robots,
        Context::Setup,
        Context::Log,
        Context::Help,
    ];

    /// Whether list navigation (j/k, g/G, pages, h/l) applies here.
    pub fn has_nav(self) -> bool {
        !matches!(self, Context::Global | Context::Nav)
    }
}

/// A key as a binding names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

impl Key {
    pub const fn ch(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: false,
        }
    }
    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
        }
    }
    pub const fn code(code: KeyCode) -> Key {
        Key { code, ctrl: false }
    }

    /// The key of a terminal event. Shift is implied by the character (`H`), so it is ignored.
    pub fn from_event(e: &KeyEvent) -> Key {
        let code = match e.code {
            KeyCode::Char(c)
                if e.modifiers.contains(KeyModifiers::SHIFT) && c.is_ascii_lowercase() =>
            {
                KeyCode::Char(c.to_ascii_uppercase())
            }
            c => c,
        };
        Key {
            code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    pub context: Context,
    pub key: Key,
    pub action: Action,
    /// Shown in the hint bar.
    pub hint: bool,
}

pub struct Keymap {
    bindings: Vec<Binding>,
    pub read_only: bool,
}

const fn b(context: Context, key: Key, action: Action, hint: bool) -> Binding {
    Binding {
        context,
        key,
        action,
        hint,
    }
}

/// The defaults (§11 of the style guide: vim keys and arrows, `?` help, `:` commands,
/// uppercase letters for changes).
const DEFAULTS: &[Binding] = {
    use Action::*;
    &[
        b(Context::Global, Key::ch('q'), Quit, true),
        b(Context::Global, Key::ctrl('c'), Quit, false),
        b(Context::Global, Key::ch('?'), Help, true),
        b(Context::Global, Key::code(KeyCode::F(1)), Help, false),
        b(Context::Global, Key::ch(':'), CommandMode, false),
        b(Context::Global, Key::ctrl('r'), Refresh, false),
        b(Context::Global, Key::code(KeyCode::Tab), NextTab, false),
        b(Context::Global, Key::code(KeyCode::BackTab), PrevTab, false),
        b(Context::Global, Key::ch('1'), GotoTab(0), false),
        b(Context::Global, Key::ch('2'), GotoTab(1), false),
        b(Context::Global, Key::ch('3'), GotoTab(2), false),
        b(Context::Global, Key::ch('4'), GotoTab(3), false),
        b(Context::Global, Key::ch('5'), GotoTab(4), false),
        b(Context::Global, Key::code(KeyCode::Esc), Back, false),
        b(Context::Nav, Key::ch('j'), Down, false),
        b(Context::Nav, Key::code(KeyCode::Down), Down, false),
        b(Context::Nav, Key::ch('k'), Up, false),
        b(Context::Nav, Key::code(KeyCode::Up), Up, false),
        b(Context::Nav, Key::code(KeyCode::PageDown), PageDown, false),
        b(Context::Nav, Key::ctrl('f'), PageDown, false),
        b(Context::Nav, Key::code(KeyCode::PageUp), PageUp, false),
        b(Context::Nav, Key::ctrl('b'), PageUp, false),
        b(Context::Nav, Key::ch('g'), Top, false),
        b(Context::Nav, Key::code(KeyCode::Home), Top, false),
        b(Context::Nav, Key::ch('G'), Bottom, false),
        b(Context::Nav, Key::code(KeyCode::End), Bottom, false),
        b(Context::Nav, Key::ch('h'), Left, false),
        b(Context::Nav, Key::code(KeyCode::Left), Left, false),
        b(Context::Nav, Key::ch('l'), Right, false),
        b(Context::Nav, Key::code(KeyCode::Right), Right, false),
        b(Context::Orders, Key::ch('/'), Filter, true),
        b(Context::Orders, Key::code(KeyCode::Enter), Open, true),
        b(Context::Orders, Key::ch(' '), Mark, false),
        b(Context::Orders, Key::ch('v'), MarkRange, false),
        b(Context::Orders, Key::ctrl('a'), MarkAll, false),
        b(Context::Orders, Key::ch('H'), Hold, true),
        b(Context::Orders, Key::ch('U'), Release, true),
        b(Context::Orders, Key::ch('W'), StartWork, false),
        b(Context::Orders, Key::ch('S'), Ship, true),
        b(Context::Orders, Key::ch('C'), CancelOrder, false),
        b(Context::Orders, Key::ch('R'), Retry, false),
        b(Context::Orders, Key::ch('P'), ExportLabels, true),
        b(Context::Orders, Key::ch('I'), ImportTracking, true),
        b(Context::Orders, Key::ch('A'), AckLateCancel, false),
        b(Context::Orders, Key::ch('B'), Bundle, false),
        b(Context::IntakeQueue, Key::ch('/'), Filter, true),
        b(Context::IntakeQueue, Key::code(KeyCode::Enter), Open, true),
        b(Context::IntakeQueue, Key::ch(' '), Mark, false),
        b(Context::IntakeQueue, Key::ch('v'), MarkRange, false),
        b(Context::IntakeQueue, Key::ctrl('a'), MarkAll, false),
        b(Context::IntakeQueue, Key::ch('R'), Retry, true),
        b(Context::Detail, Key::ch('r'), ToggleRaw, true),
        b(Context::Detail, Key::ch('H'), Hold, true),
        b(Context::Detail, Key::ch('U'), Release, true),
        b(Context::Detail, Key::ch('W'), StartWork, false),
        b(Context::Detail, Key::ch('S'), Ship, true),
        b(Context::Detail, Key::ch('C'), CancelOrder, false),
        b(Context::Detail, Key::ch('R'), Retry, false),
        b(Context::Detail, Key::ch('A'), AckLateCancel, false),
        b(Context::Detail, Key::ch('B'), Bundle, false),
        b(Context::IntakeDetail, Key::ch('r'), ToggleRaw, true),
        b(Context::IntakeDetail, Key::ch('R'), Retry, true),
        b(Context::Robots, Key::ch('e'), ToggleEnabled, true),
        b(Context::Robots, Key::ch('a'), ApplyTo, true),
        b(Context::Robots, Key::ch('d'), Duplicate, false),
        b(Context::Robots, Key::ch('r'), Rename, false),
        b(Context::Robots, Key::ch('J'), MoveDown, false),
        b(Context::Robots, Key::ch('K'), MoveUp, false),
        b(Context::Robots, Key::ch('x'), RunNow, true),
        b(Context::Robots, Key::ch('t'), EditTrigger, false),
        b(Context::Robots, Key::ch('D'), DryRun, true),
        b(Context::Setup, Key::code(KeyCode::Enter), Open, true),
        b(Context::Setup, Key::ch('f'), EditShipFrom, true),
        b(Context::Setup, Key::ch('A'), EditAuth, true),
        b(Context::Setup, Key::ch('T'), TestConnection, true),
        b(Context::Setup, Key::ch('E'), EasySetup, true),
        b(Context::Setup, Key::ch('p'), FetchProducts, false),
        b(Context::Log, Key::ch('/'), Filter, true),
        b(Context::Dashboard, Key::code(KeyCode::Enter), Open, true),
    ]
};

impl Keymap {
    pub fn new(read_only: bool) -> Keymap {
        let bindings = DEFAULTS
            .iter()
            .copied()
            .filter(|b| !(read_only && b.action.mutating()))
            .collect();
        Keymap {
            bindings,
            read_only,
        }
    }

    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The action of `key` in the screen context `ctx` (its own bindings, then navigation, then
    /// global ones).
    pub fn lookup(&self, ctx: Context, key: Key) -> Option<Action> {
        let find = |c: Context| {
            self.bindings
                .iter()
                .find(|b| b.context == c && b.key == key)
                .map(|b| b.action)
        };
        find(ctx)
            .or_else(|| {
                if ctx.has_nav() {
                    find(Context::Nav)
                } else {
                    None
                }
            })
            .or_else(|| find(Context::Global))
    }

    /// Every binding reachable in `ctx`, as (context group, keys, action), for the help.
    pub fn help(&self, ctx: Context) -> Vec<(Context, Vec<Key>, Action)> {
        let mut out: Vec<(Context, Vec<Key>, Action)> = Vec::new();
        let mut groups = vec![ctx];
        if ctx.has_nav() {
            groups.push(Context::Nav);
        }
        groups.push(Context::Global);
        for g in groups {
            for b in self.bindings.iter().filter(|b| b.context == g) {
                match out.iter_mut().find(|(c, _, a)| *c == g && *a == b.action) {
                    Some((_, keys, _)) => keys.push(b.key),
                    None => out.push((g, vec![b.key], b.action)),
                }
            }
        }
        out
    }

    /// The hint bar of `ctx`: its main keys, then help and quit.
    pub fn hints(&self, ctx: Context, lang: Lang) -> Vec<(String, &'static str)> {
        let mut out: Vec<(String, &'static str)> = Vec::new();
        for b in self
            .bindings
            .iter()
            .filter(|b| b.hint && (b.context == ctx || b.context == Context::Global))
        {
            if out.iter().any(|(_, d)| *d == action_desc(lang, b.action)) {
                continue;
            }
            out.push((b.key.to_string(), action_desc(lang, b.action)));
        }
        out
    }
}
