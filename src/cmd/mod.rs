//! Implementations of the command-line subcommands (parsing lives in `cli.rs`).

pub mod archive;
pub mod bundle;
pub mod console;
pub mod data;
pub mod fs;
pub mod labels;
pub mod log;
pub mod notify;
pub mod orders;
pub mod robots;
pub mod setup;
pub mod sim;

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, eyre};

use crate::backend::Backend;
use crate::domain::Actor;
use crate::engine::Engine;
use crate::service::ServiceError;
use crate::store::Store;

/// Opens the store in `dir` and a backend over it, acting as the current Unix user.
pub fn open_local(dir: &Path) -> Result<(Backend, Engine)> {
    let store = Store::open(dir)?;
    let engine = Engine::new(store)?;
    let backend = Backend::local(engine.clone(), Actor::Operator(crate::user::current_user()));
    Ok((backend, engine))
}

/// The backend for commands: through the server when one is running (so commands never fight
/// a console for the store), else this process opens the store.
pub async fn backend(dir: &Path) -> Result<Backend> {
    connect_backend(dir, false).await
}

/// Like [`backend`], subscribed to changes.
pub async fn follow_backend(dir: &Path) -> Result<Backend> {
    connect_backend(dir, true).await
}

async fn connect_backend(dir: &Path, follow: bool) -> Result<Backend> {
    use crate::server::client::{ConnectError, RemoteClient};
    match RemoteClient::connect(&crate::server::socket_path(dir), follow, follow).await {
        Ok(c) => Ok(Backend::Remote(c)),
        Err(ConnectError::NotRunning(_)) => {
            may_start_here(dir)?;
            Ok(open_local(dir)?.0)
        }
        Err(e) => Err(e.into()),
    }
}

/// Without a server, only the data directory's owner may open the store (or start a server):
/// anyone else is told who can.
pub fn may_start_here(dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(dir) else {
        return Ok(());
    };
    if meta.uid() == nix::unistd::geteuid().as_raw() {
        return Ok(());
    }
    let owner = crate::user::user_name(meta.uid());
    Err(eyre!(
        "no shukka server is running on {}, and only its owner ({owner}) can start one: ask {owner} to run `shukka serve` there (or to start a console), or use a data directory of your own",
        dir.display()
    ))
}

/// Whether a server answers on the data directory's socket.
pub async fn server_running(dir: &Path) -> bool {
    crate::server::client::RemoteClient::connect(&crate::server::socket_path(dir), false, false)
        .await
        .is_ok()
}

pub fn data_dir(opt: Option<PathBuf>) -> PathBuf {
    crate::paths::data_dir(opt)
}

/// A service error as a one-line message for the terminal.
pub fn fail(e: ServiceError) -> color_eyre::Report {
    eyre!("{}", crate::sanitize::sanitize(&e.message))
}

pub fn parse_date(s: &str, what: &str) -> Result<chrono::NaiveDate> {
    crate::time::parse_fs_date(s).ok_or_else(|| eyre!("{what} {s:?} is not a date like 2026-11-29"))
}

pub fn parse_datetime(s: &str, what: &str) -> Result<chrono::NaiveDateTime> {
    crate::time::parse_user_datetime(s).ok_or_else(|| {
        eyre!("{what} {s:?} is not a date-time like 2026-11-29 or 2026-11-29T09:00:00")
    })
}

/// Runs one parsed command line.
pub async fn dispatch(cli: crate::cli::Cli) -> Result<()> {
    use crate::cli::{Command, ProductsCommand, SetupCommand};
    let dir = data_dir(cli.data_dir);
    let labels = match (&cli.command, &cli.labels_dir) {
        // The demo's data directory is made later; its default labels directory with it.
        (Some(crate::cli::Command::Demo(_)), None) => PathBuf::new(),
        _ => crate::output::label_file::configured_dir(&dir, cli.labels_dir.as_deref())?,
    };
    let opts = console::options(&cli.lang, cli.read_only, labels.clone());
    let Some(command) = cli.command else {
        return console::console(&dir, opts).await;
    };
    // The server logs to the data directory; the demo does so itself (its directory is its
    // own); every other command to stderr.
    match &command {
        Command::Serve(_) => {
            crate::store::create_private_dir(&dir)?;
            if let Err(e) = crate::logging::init_dir(&dir) {
                eprintln!("shukka: cannot log to {}: {e}", dir.display());
            }
        }
        Command::Demo(_) => {}
        _ => crate::logging::init_stderr(),
    }
    match command {
        Command::Demo(a) => console::demo(a, opts).await,
        Command::Sim(a) => sim::run(a).await,
        Command::Fs(c) => fs::run(c).await,
        Command::Setup(SetupCommand::Apply(a)) => {
            setup::apply(&backend(&dir).await?, &a.file).await
        }
        Command::Setup(SetupCommand::Status(f)) => {
            if setup::status(&backend(&dir).await?, f.format).await? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Command::Sync(a) => {
            let ok = if a.once {
                setup::sync(&backend(&dir).await?, None, true).await?
            } else {
                if server_running(&dir).await {
                    return Err(color_eyre::eyre::eyre!(
                        "a shukka server is running on this data directory and already runs the robots on their triggers (see `shukka robots list`); `shukka sync --once` runs what is due now"
                    ));
                }
                let (b, engine) = open_local(&dir)?;
                setup::sync(&b, Some(&engine), false).await?
            };
            if ok { Ok(()) } else { std::process::exit(1) }
        }
        Command::Orders(a) => {
            let mode = if a.raw_csv {
                crate::output::csv::CellMode::Raw
            } else {
                crate::output::csv::CellMode::Safe
            };
            orders::list(&backend(&dir).await?, a.status.as_deref(), a.format, mode).await
        }
        Command::Order(a) => orders::show(&backend(&dir).await?, &a.order_no, a.format).await,
        Command::Hold(a) => orders::hold(&backend(&dir).await?, &a.order_no, &a.reason).await,
        Command::Release(a) => orders::release(&backend(&dir).await?, &a.order_no).await,
        Command::Start(a) => orders::start(&backend(&dir).await?, &a.order_no).await,
        Command::Ship(a) => orders::ship(&backend(&dir).await?, &a).await,
        Command::Cancel(a) => orders::cancel(&backend(&dir).await?, &a.order_no, &a.reason).await,
        Command::AckCancel(a) => orders::ack_cancel(&backend(&dir).await?, &a).await,
        Command::Errors(a) => orders::errors(&backend(&dir).await?, a.format).await,
        Command::Retry(a) => orders::retry(&backend(&dir).await?, a.error_id).await,
        Command::Robots(c) => robots::run(&backend(&dir).await?, c).await,
        Command::Log(a) => {
            let b = if a.follow {
                follow_backend(&dir).await?
            } else {
                backend(&dir).await?
            };
            log::run(&b, a.audit, a.follow, a.limit, a.format).await
        }
        Command::Products(ProductsCommand::Import(a)) => {
            data::import(&backend(&dir).await?, &a.file).await
        }
        Command::Products(ProductsCommand::List(f)) => {
            data::list(&backend(&dir).await?, f.format).await
        }
        Command::Notify(c) => notify::run(&backend(&dir).await?, c).await,
        Command::Bundle(c) => bundle::run(&backend(&dir).await?, c).await,
        Command::Archive(c) => archive::run(&backend(&dir).await?, c).await,
        Command::Labels(c) => labels::run(&backend(&dir).await?, &dir, &labels, c).await,
        Command::Compact => data::compact(&dir),
        Command::Backup(a) => {
            data::backup(
                &backend(&dir).await?,
                &dir,
                &a.file,
                a.include_secrets,
                a.force,
            )
            .await
        }
        Command::Restore(a) => data::restore(&backend(&dir).await?, &a.file, a.force).await,
        Command::Serve(a) => {
            let settings = crate::server::settings::ServeSettings::resolve(
                &dir,
                a.group,
                a.admin_group,
                a.no_group,
            )?;
            crate::server::run(
                &dir,
                crate::server::ServeOptions {
                    group: settings.group,
                    admin_group: settings.admin_group,
                    ..Default::default()
                },
            )
            .await?;
            Ok(())
        }
    }
}
