//! The terminal's lifecycle: raw mode and the alternate screen on, and restored on quit, on
//! error (guard) and on panic (chained hook). Restoring is idempotent, so both may run.

use std::io::{self, BufWriter, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::Show;
use crossterm::execute;
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;

use super::scroll::ScrollingBackend;

static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOKED: AtomicBool = AtomicBool::new(false);

pub type Term = Terminal<ScrollingBackend<BufWriter<Stdout>>>;

/// Room for a whole frame, so that one frame is one write: stdout's own line buffer (1 KiB)
/// would send a 200×50 repaint in pieces, and a slow SSH link shows the pieces.
const FRAME_BUFFER: usize = 256 * 1024;

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
    let out = BufWriter::with_capacity(FRAME_BUFFER, io::stdout());
    let term = Terminal::new(ScrollingBackend::new(out))?;
    Ok((term, guard))
}

/// Draws one frame as a synchronized update (DEC mode 2026): a terminal that knows the mode
/// shows the frame whole, never half old and half new; one that does not ignores it.
pub fn draw(term: &mut Term, render: impl FnOnce(&mut ratatui::Frame)) -> io::Result<()> {
    crossterm::queue!(term.backend_mut().writer_mut(), BeginSynchronizedUpdate)?;
    term.draw(render)?;
    execute!(term.backend_mut().writer_mut(), EndSynchronizedUpdate)?;
    Ok(())
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
