//! `shukka serve`: one process owns the store and the robots' scheduler and serves every
//! console and CLI command over a Unix socket in the data directory. Each client is the Unix
//! user the socket's peer credentials say it is — that name goes into the audit log.

pub mod client;
pub mod protocol;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc};
use tokio_util::codec::{FramedRead, FramedWrite, LinesCodec};

use crate::domain::Actor;
use crate::engine::Engine;
use crate::store::{Store, StoreError};
use protocol::{ClientMsg, MAX_LINE, PROTOCOL, SOCKET, ServerMsg, version_refusal};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("a shukka server is already running on {0}")]
    AlreadyRunning(PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("unknown Unix group {0:?}")]
    NoSuchGroup(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
    let what = what.into();
    move |source| ServeError::Io { what, source }
}

pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET)
}

#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// Members of this Unix group may connect (socket 0660, data dir 0710).
    pub group: Option<String>,
    /// Robots' scheduler tick.
    pub tick: Option<Duration>,
}

/// A running server (for tests and `serve`).
pub struct Server {
    pub engine: Engine,
    pub path: PathBuf,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Stops accepting, tells clients, lets the page in flight finish, flushes, removes the
    /// socket.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
    }
}

/// Opens the store, binds the socket and starts serving in the background.
pub async fn start(dir: &Path, opts: ServeOptions) -> Result<Server, ServeError> {
    crate::store::create_private_dir(dir)?;
    let path = socket_path(dir);
    // A socket file that accepts connections belongs to a live server; one that refuses them was
    // left by a crash and is replaced.
    if path.exists() {
        match UnixStream::connect(&path).await {
            Ok(_) => return Err(ServeError::AlreadyRunning(path)),
            Err(_) => std::fs::remove_file(&path)
                .map_err(io(format!("removing the stale socket {}", path.display())))?,
        }
    }
    let store = Store::open(dir)?;
    let engine = Engine::new(store);
    let gid = match &opts.group {
        Some(name) => Some(
            nix::unistd::Group::from_name(name)
                .ok()
                .flatten()
                .ok_or_else(|| ServeError::NoSuchGroup(name.clone()))?
                .gid,
        ),
        None => None,
    };
    // Created owner-only from the start: no window where others could connect.
    let old_umask = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let bound = UnixListener::bind(&path);
    nix::sys::stat::umask(old_umask);
    let listener = bound.map_err(io(format!("cannot listen on {}", path.display())))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(io("chmod socket"))?;
    }
    if let Some(gid) = gid {
        use std::os::unix::fs::PermissionsExt;
        nix::unistd::chown(&path, None, Some(gid)).map_err(|e| io("chown socket")(e.into()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660))
            .map_err(io("chmod socket"))?;
        nix::unistd::chown(dir, None, Some(gid)).map_err(|e| io("chown data dir")(e.into()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o710))
            .map_err(io("chmod data dir"))?;
    }
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(serve_loop(
        engine.clone(),
        listener,
        path.clone(),
        stop_rx,
        opts,
    ));
    tracing::info!(socket = %path.display(), "serving");
    Ok(Server {
        engine,
        path,
        stop,
        task,
    })
}

async fn serve_loop(
    engine: Engine,
    listener: UnixListener,
    path: PathBuf,
    mut stop: tokio::sync::watch::Receiver<bool>,
    opts: ServeOptions,
) {
    // Every event is serialized once and shared by all subscribed clients.
    let (fanout, _) = broadcast::channel::<Arc<str>>(8192);
    let mut source = engine.subscribe();
    let fan = fanout.clone();
    let fan_task = tokio::spawn(async move {
        loop {
            match source.recv().await {
                Ok(ev) => {
                    let line = ServerMsg::Event {
                        event: (*ev).clone(),
                    }
                    .encode();
                    let _ = fan.send(Arc::from(line));
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let _ = fan.send(Arc::from(ServerMsg::Lagged { missed: n }.encode()));
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let sched_engine = engine.clone();
    let tick = opts.tick.unwrap_or(Duration::from_secs(1));
    let scheduler = tokio::spawn(async move {
        sched_engine
            .run_scheduler(tick, Duration::from_secs(20))
            .await
    });
    let (bye_tx, _) = broadcast::channel::<()>(1);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let e = engine.clone();
                    let f = fanout.clone();
                    let bye = bye_tx.subscribe();
                    tokio::spawn(async move {
                        if let Err(err) = connection(stream, e, f, bye).await {
                            tracing::debug!(error = %err, "client connection ended");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stop.changed() => break,
        }
    }
    tracing::info!("shutting down");
    let _ = std::fs::remove_file(&path);
    let _ = bye_tx.send(());
    engine.request_stop();
    let _ = scheduler.await;
    fan_task.abort();
    let _ = engine.store().flush_async().await;
    // A clean stop leaves an index snapshot: the next start skips rebuilding the indexes.
    let store = engine.store().clone();
    match tokio::task::spawn_blocking(move || store.save_snapshot()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "index snapshot not saved"),
        Err(e) => tracing::warn!(error = %e, "index snapshot not saved"),
    }
}

/// One client: hello, then calls and an optional subscription, until it goes away. Nothing a
/// client does can affect the server or other clients.
async fn connection(
    stream: UnixStream,
    engine: Engine,
    fanout: broadcast::Sender<Arc<str>>,
    mut bye: broadcast::Receiver<()>,
) -> std::io::Result<()> {
    let uid = stream.peer_cred()?.uid();
    let user = crate::user::user_name(uid);
    let actor = Actor::Operator(user.clone());
    let (r, w) = stream.into_split();
    let mut lines = FramedRead::new(r, LinesCodec::new_with_max_length(MAX_LINE));
    let (out_tx, mut out_rx) = mpsc::channel::<Arc<str>>(1024);
    let writer = tokio::spawn(async move {
        let mut sink = FramedWrite::new(w, LinesCodec::new_with_max_length(MAX_LINE));
        while let Some(line) = out_rx.recv().await {
            if sink.send(&*line).await.is_err() {
                break;
            }
        }
    });
    let send = |tx: &mpsc::Sender<Arc<str>>, msg: ServerMsg| {
        let tx = tx.clone();
        let line: Arc<str> = Arc::from(msg.encode());
        async move { tx.send(line).await.is_ok() }
    };

    // Hello first.
    let hello = tokio::time::timeout(Duration::from_secs(10), lines.next()).await;
    let Ok(Some(Ok(first))) = hello else {
        writer.abort();
        return Ok(());
    };
    match serde_json::from_str::<ClientMsg>(&first) {
        Ok(ClientMsg::Hello { protocol, .. }) if protocol == PROTOCOL => {
            send(
                &out_tx,
                ServerMsg::Welcome {
                    protocol: PROTOCOL,
                    version: env!("CARGO_PKG_VERSION").into(),
                    user: user.clone(),
                },
            )
            .await;
        }
        Ok(ClientMsg::Hello { protocol, version }) => {
            send(
                &out_tx,
                ServerMsg::Refused {
                    message: version_refusal(protocol, &version),
                },
            )
            .await;
            drop(out_tx);
            let _ = writer.await;
            return Ok(());
        }
        _ => {
            // Not a shukka client of any version we know: refuse clearly.
            send(
                &out_tx,
                ServerMsg::Refused {
                    message: version_refusal(0, "unknown"),
                },
            )
            .await;
            drop(out_tx);
            let _ = writer.await;
            return Ok(());
        }
    }
    tracing::info!(%user, "client connected");
    let mut forward: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        let next = tokio::select! {
            n = lines.next() => n,
            _ = bye.recv() => {
                send(&out_tx, ServerMsg::Bye { message: "サーバーを停止します".into() }).await;
                break;
            }
        };
        let Some(Ok(line)) = next else { break };
        match serde_json::from_str::<ClientMsg>(&line) {
            Ok(ClientMsg::Call { id, req }) => {
                let e = engine.clone();
                let a = actor.clone();
                let tx = out_tx.clone();
                tokio::spawn(async move {
                    let msg = match crate::service::execute(&e, &a, req).await {
                        Ok(v) => ServerMsg::Reply {
                            id,
                            ok: Some(v),
                            err: None,
                        },
                        Err(err) => ServerMsg::Reply {
                            id,
                            ok: None,
                            err: Some(err),
                        },
                    };
                    let _ = tx.send(Arc::from(msg.encode())).await;
                });
            }
            Ok(ClientMsg::Subscribe) => {
                if forward.is_none() {
                    let mut rx = fanout.subscribe();
                    let tx = out_tx.clone();
                    forward = Some(tokio::spawn(async move {
                        loop {
                            match rx.recv().await {
                                Ok(line) => {
                                    if tx.send(line).await.is_err() {
                                        break;
                                    }
                                }
                                Err(broadcast::error::RecvError::Lagged(n)) => {
                                    let line: Arc<str> =
                                        Arc::from(ServerMsg::Lagged { missed: n }.encode());
                                    if tx.send(line).await.is_err() {
                                        break;
                                    }
                                }
                                Err(broadcast::error::RecvError::Closed) => break,
                            }
                        }
                    }));
                }
            }
            Ok(ClientMsg::Hello { .. }) => {}
            Err(e) => {
                tracing::debug!(error = %e, "unreadable client message");
            }
        }
    }
    if let Some(f) = forward {
        f.abort();
    }
    drop(out_tx);
    let _ = writer.await;
    tracing::info!(%user, "client disconnected");
    Ok(())
}

/// `shukka serve`: serves until SIGTERM or Ctrl-C.
pub async fn run(dir: &Path, opts: ServeOptions) -> Result<(), ServeError> {
    let server = start(dir, opts).await?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(io("SIGTERM handler"))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    server.shutdown().await;
    Ok(())
}
