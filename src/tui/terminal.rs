//! The terminal's lifecycle: raw mode and the alternate screen on, and restored on quit, on
//! error (guard) and on panic (chained hook). Restoring is idempotent, so both may run.

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::Show;
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOKED: AtomicBool = AtomicBool::new(false);

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Puts the terminal back: raw mode off, main screen, cursor visible. Safe to call twice.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let mut out = io::stdout();
        let _ = execute!(out, LeaveAlternateScreen, Show);
        let _ = out.flush();
    }
}

/// Restores the terminal when dropped (normal exit, `?` errors, unwinding).
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Enters the console's terminal mode. Mouse capture stays off, so operators keep native
/// selection over SSH.
pub fn enter() -> io::Result<(Term, Guard)> {
    install_panic_hook();
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let guard = Guard;
    execute!(io::stdout(), EnterAlternateScreen)?;
    let term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    Ok((term, guard))
}

/// Chains a hook in front of the existing one (color-eyre's): a panic on the UI thread restores
/// the terminal first, then reports as before. A panic in a background task must not tear the
/// live UI down: it is logged, and the task's failure is shown in the status line.
fn install_panic_hook() {
    if HOOKED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let on_ui_thread = std::thread::current().name() == Some("main");
        if on_ui_thread || !ACTIVE.load(Ordering::SeqCst) {
            restore();
            previous(info);
        } else {
            tracing::error!(panic = %info, "background task panicked");
        }
    }));
}
