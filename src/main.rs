use clap::Parser;
use color_eyre::eyre::Result;

use shukka::cli::Cli;
use shukka::cmd;

fn main() -> Result<()> {
    shukka::alloc::return_memory_promptly();
    // Expected failures (wrong credentials, bad input) are reported as one clear message;
    // backtraces stay available for panics and on request (RUST_LIB_BACKTRACE=1).
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    let plain = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut hook = color_eyre::config::HookBuilder::default()
        .display_location_section(false)
        .display_env_section(false)
        .capture_span_trace_by_default(false);
    if plain {
        hook = hook.theme(color_eyre::config::Theme::new());
    }
    hook.install()?;
    let cli = Cli::parse();
    // Everything shukka creates is owner-only unless it says otherwise.
    shukka::store::restrict_umask();
    if !cli.is_long_running() {
        // `shukka log | head -1`: a closed stdout ends a command quietly (status 141), as it
        // does for every Unix tool. Sockets are written with MSG_NOSIGNAL and are unaffected.
        // SAFETY: no other thread exists yet; SIG_DFL is a valid disposition.
        unsafe {
            let _ = nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGPIPE,
                nix::sys::signal::SigHandler::SigDfl,
            );
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(cmd::dispatch(cli));
    if let Err(e) = result {
        // One readable line (with its causes) for expected failures; panics keep color-eyre's
        // full report.
        eprintln!("shukka: {}", shukka::sanitize::sanitize(&format!("{e:#}")));
        std::process::exit(1);
    }
    Ok(())
}
