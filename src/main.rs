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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let console = matches!(cli.command, None | Some(shukka::cli::Command::Demo(_)));
    let result = rt.block_on(async {
        if !console {
            shukka::logging::init_stderr();
        }
        cmd::dispatch(cli).await
    });
    if let Err(e) = result {
        // One readable line (with its causes) for expected failures; panics keep color-eyre's
        // full report.
        eprintln!("shukka: {}", shukka::sanitize::sanitize(&format!("{e:#}")));
        std::process::exit(1);
    }
    Ok(())
}
