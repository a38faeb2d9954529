//! `shukka serve`: one process owns the store and the robots' scheduler and serves every
//! console and CLI command over a Unix socket in the data directory. Each client is the Unix
//! user the socket's peer credentials say it is — that name goes into the audit log, and its
//! role (owner, admin, operator) decides what it may do.
//!
//! Nothing a client sends makes the server open a path, trust a field or grow a buffer: lines
//! are capped, calls in flight per connection and connections per user are bounded, a client
//! that does not read its answers is dropped, and bulk data (backups) travels as data.

pub mod access;
pub mod client;
pub mod protocol;
pub mod settings;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio_util::codec::{FramedRead, FramedWrite, LinesCodec, LinesCodecError};
use tokio_util::sync::CancellationToken;

use crate::domain::Actor;
use crate::engine::Engine;
use crate::service::{CallIo, Caller, ErrorKind, Request, ServiceError};
use crate::store::{Store, StoreError};
use access::{Access, NamedGroup};
use protocol::{
    ClientMsg, Envelope, MAX_CLIENT_LINE, PART, PROTOCOL, SOCKET, ServerMsg, split_text,
    version_refusal,
};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("a shukka server is already running on {0}")]
    AlreadyRunning(PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("unknown Unix group {0:?}")]
    NoSuchGroup(String),
    #[error(transparent)]
    Settings(#[from] settings::SettingsError),
    #[error("{0}")]
    Engine(String),
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

/// Bounds on what clients can make the server hold.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections at once, in all.
    pub connections: usize,
    /// Connections at once of one Unix user.
    pub per_user: usize,
    /// Calls of one connection being worked on or waiting for their answer to be sent; the
    /// server stops reading the connection while this many are.
    pub in_flight: usize,
    /// Lines queued for one connection's socket.
    pub out_queue: usize,
    /// A client that takes longer than this to accept a line is dropped.
    pub slow_client: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: 256,
            per_user: 32,
            in_flight: 32,
            out_queue: 64,
            slow_client: Duration::from_secs(30),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// Members of this Unix group may connect (socket 0660, data dir 0710) and work the queues.
    pub group: Option<String>,
    /// Members of this Unix group (who must be in `group` too) may also change the setup.
    pub admin_group: Option<String>,
    /// Robots' scheduler tick.
    pub tick: Option<Duration>,
    pub limits: Limits,
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

fn lookup(name: &Option<String>) -> Result<Option<NamedGroup>, ServeError> {
    match name {
        Some(n) => NamedGroup::lookup(n)
            .map(Some)
            .ok_or_else(|| ServeError::NoSuchGroup(n.clone())),
        None => Ok(None),
    }
}

/// Opens the store, binds the socket and starts serving in the background.
pub async fn start(dir: &Path, opts: ServeOptions) -> Result<Server, ServeError> {
    crate::store::create_private_dir(dir)?;
    let group = lookup(&opts.group)?;
    let admin_group = lookup(&opts.admin_group)?;
    if admin_group.is_some() && group.is_none() {
        return Err(settings::SettingsError::AdminWithoutGroup.into());
    }
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
    let engine = Engine::new(store).map_err(|e| ServeError::Engine(e.to_string()))?;
    // Created owner-only from the start: no window where others could connect.
    let old_umask = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let bound = UnixListener::bind(&path);
    nix::sys::stat::umask(old_umask);
    let listener = bound.map_err(io(format!("cannot listen on {}", path.display())))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(io("chmod socket"))?;
        if let Some(g) = &group {
            nix::unistd::chown(&path, None, Some(g.gid))
                .map_err(|e| io("chown socket")(e.into()))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660))
                .map_err(io("chmod socket"))?;
            nix::unistd::chown(dir, None, Some(g.gid))
                .map_err(|e| io("chown data dir")(e.into()))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o710))
                .map_err(io("chmod data dir"))?;
        }
    }
    let access = Access::new(group, admin_group);
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(serve_loop(
        engine.clone(),
        listener,
        path.clone(),
        stop_rx,
        opts,
        access,
    ));
    tracing::info!(socket = %path.display(), pid = std::process::id(), "serving");
    Ok(Server {
        engine,
        path,
        stop,
        task,
    })
}

/// What every connection shares.
struct Shared {
    engine: Engine,
    access: Access,
    limits: Limits,
    fanout: broadcast::Sender<Arc<str>>,
    /// Open connections per Unix user.
    open: Mutex<HashMap<u32, usize>>,
}

/// One connection's place in the limits; released when dropped.
struct Slot {
    shared: Arc<Shared>,
    uid: u32,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.shared.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.uid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.uid);
            }
        }
    }
}

impl Shared {
    fn take_slot(self: &Arc<Self>, uid: u32) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = open.values().sum();
        let mine = open.get(&uid).copied().unwrap_or(0);
        if total >= self.limits.connections || mine >= self.limits.per_user {
            return None;
        }
        *open.entry(uid).or_default() += 1;
        Some(Slot {
            shared: self.clone(),
            uid,
        })
    }
}

async fn serve_loop(
    engine: Engine,
    listener: UnixListener,
    path: PathBuf,
    mut stop: tokio::sync::watch::Receiver<bool>,
    opts: ServeOptions,
    access: Access,
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
    let shared = Arc::new(Shared {
        engine: engine.clone(),
        access,
        limits: opts.limits.clone(),
        fanout,
        open: Mutex::new(HashMap::new()),
    });
    let (bye_tx, _) = broadcast::channel::<()>(1);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let s = shared.clone();
                    let bye = bye_tx.subscribe();
                    tokio::spawn(async move {
                        if let Err(err) = connection(stream, s, bye).await {
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

/// Sends one line to the connection's writer, or closes the connection when the client does not
/// take it within the limit.
#[derive(Clone)]
struct Out {
    tx: mpsc::Sender<Arc<str>>,
    closed: CancellationToken,
    slow: Duration,
}

impl Out {
    async fn send(&self, line: Arc<str>) -> bool {
        if self.closed.is_cancelled() {
            return false;
        }
        match self.tx.send_timeout(line, self.slow).await {
            Ok(()) => true,
            Err(_) => {
                self.closed.cancel();
                false
            }
        }
    }

    async fn msg(&self, msg: ServerMsg) -> bool {
        self.send(Arc::from(msg.encode())).await
    }

    /// An answer whose text is `texts` one after the other, in parts of at most [`PART`].
    async fn reply_in_parts(&self, id: u64, texts: &[&str]) -> bool {
        let pieces: Vec<&str> = texts.iter().flat_map(|t| split_text(t, PART)).collect();
        let n = pieces.len() as u64;
        for p in pieces {
            if !self
                .msg(ServerMsg::Part {
                    id,
                    data: p.to_string(),
                })
                .await
            {
                return false;
            }
        }
        self.msg(ServerMsg::Reply {
            id,
            ok: None,
            err: None,
            parts: Some(n),
        })
        .await
    }

    /// The answer to call `id`, split into parts when large.
    async fn reply(&self, id: u64, result: Result<protocol::Raw, ServiceError>) -> bool {
        match result {
            Ok(raw) if raw.get().len() > PART => self.reply_in_parts(id, &[raw.get()]).await,
            Ok(raw) => {
                self.msg(ServerMsg::Reply {
                    id,
                    ok: Some(raw),
                    err: None,
                    parts: None,
                })
                .await
            }
            Err(err) => {
                self.msg(ServerMsg::Reply {
                    id,
                    ok: None,
                    err: Some(err),
                    parts: None,
                })
                .await
            }
        }
    }
}

/// One call to work on.
struct Job {
    id: u64,
    req: Request,
    input: Option<mpsc::Receiver<String>>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

async fn run_job(engine: Engine, caller: Arc<Caller>, out: Out, job: Job) {
    let Job {
        id,
        req,
        input,
        _permit,
    } = job;
    let op = req.op_name();
    // Bulk data going to the client (a backup) becomes `data` frames.
    let (data_tx, forward) = if req.sends_data() {
        let (tx, mut rx) = mpsc::channel::<String>(2);
        let o = out.clone();
        let forward = tokio::spawn(async move {
            while let Some(data) = rx.recv().await {
                if !o.msg(ServerMsg::Data { id, data }).await {
                    break;
                }
            }
        });
        (Some(tx), Some(forward))
    } else {
        (None, None)
    };
    let result = tokio::select! {
        r = crate::service::execute(&engine, &caller, req, CallIo { out: data_tx, input }) => r,
        _ = out.closed.cancelled() => return,
    };
    if let Some(f) = forward {
        let _ = f.await;
    }
    // The whole instruction list goes out as the store's own text between the two halves of
    // its envelope: never copied into one more string of tens of megabytes.
    let result = match result {
        Ok(crate::service::Reply::Summaries(crate::service::SummaryList::Json(list)))
            if list.get().len() > PART =>
        {
            match list_envelope() {
                Ok((before, after)) => {
                    out.reply_in_parts(id, &[&before, list.get(), &after]).await;
                    return;
                }
                Err(e) => Err(e),
            }
        }
        other => other,
    };
    // The typed answer as JSON, serialized once (an instruction list passes through as the
    // store's own text).
    let result = result.and_then(|reply| {
        serde_json::value::to_raw_value(&reply)
            .map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))
    });
    if let Err(e) = &result {
        match e.kind {
            ErrorKind::Forbidden => {
                tracing::warn!(user = %caller.actor, role = caller.role.name(), %op, "refused: not allowed for this role")
            }
            ErrorKind::Internal => {
                tracing::error!(user = %caller.actor, %op, error = %e, "request failed")
            }
            _ => {}
        }
    }
    out.reply(id, result).await;
}

/// The text of a whole-list answer before and after the list itself.
fn list_envelope() -> Result<(String, String), ServiceError> {
    let internal = |e: String| ServiceError::new(ErrorKind::Internal, e);
    let mark = serde_json::value::RawValue::from_string("null".into())
        .map_err(|e| internal(e.to_string()))?;
    let text = serde_json::to_string(&crate::service::Reply::Summaries(
        crate::service::SummaryList::Json(mark),
    ))
    .map_err(|e| internal(e.to_string()))?;
    let at = text
        .rfind("null")
        .ok_or_else(|| internal("the list's envelope has no place for it".into()))?;
    Ok((
        text[..at].to_string(),
        text[at + "null".len()..].to_string(),
    ))
}

/// One client: hello, then calls and an optional subscription, until it goes away. Nothing a
/// client does can affect the server or other clients beyond the bounds in [`Limits`].
async fn connection(
    stream: UnixStream,
    shared: Arc<Shared>,
    mut bye: broadcast::Receiver<()>,
) -> std::io::Result<()> {
    let cred = stream.peer_cred()?;
    let uid = cred.uid();
    let pid = cred.pid().unwrap_or(0);
    let user = crate::user::user_name(uid);
    let limits = shared.limits.clone();
    let (r, w) = stream.into_split();
    let mut lines = FramedRead::new(r, LinesCodec::new_with_max_length(MAX_CLIENT_LINE));
    let (out_tx, mut out_rx) = mpsc::channel::<Arc<str>>(limits.out_queue);
    let closed = CancellationToken::new();
    let out = Out {
        tx: out_tx,
        closed: closed.clone(),
        slow: limits.slow_client,
    };
    let writer_closed = closed.clone();
    let slow = limits.slow_client;
    let writer = tokio::spawn(async move {
        let mut sink = FramedWrite::new(w, LinesCodec::new());
        loop {
            let line = tokio::select! {
                l = out_rx.recv() => l,
                _ = writer_closed.cancelled() => None,
            };
            let Some(line) = line else { break };
            match tokio::time::timeout(slow, sink.send(&*line)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break,
                Err(_) => {
                    tracing::warn!("a client did not read for {slow:?}: connection dropped");
                    break;
                }
            }
        }
        writer_closed.cancel();
    });
    let refuse = |message: String| {
        let out = out.clone();
        async move {
            out.msg(ServerMsg::Refused { message }).await;
        }
    };

    // The connection counts from its first moment (a client that never says hello holds a
    // place only until the hello times out). Over the limit, the hello is still read, briefly,
    // so that the client gets the reason rather than a broken pipe.
    let slot = shared.take_slot(uid);
    let hello_wait = if slot.is_some() {
        Duration::from_secs(10)
    } else {
        Duration::from_secs(1)
    };
    let hello = tokio::time::timeout(hello_wait, lines.next()).await;
    let Ok(Some(Ok(first))) = hello else {
        closed.cancel();
        let _ = writer.await;
        return Ok(());
    };
    let Some(role) = shared.access.role(uid) else {
        tracing::warn!(%user, pid, "refused: not the server's user and not in its group");
        refuse(format!(
            "{user} may not use this shukka server: ask its owner ({}) to add you to its group",
            crate::user::user_name(shared.access.owner)
        ))
        .await;
        drop(out);
        let _ = writer.await;
        return Ok(());
    };
    let Some(_slot) = slot else {
        tracing::warn!(%user, pid, "refused: too many connections");
        refuse(format!(
            "too many connections to this shukka server (at most {} per user, {} in all): close some consoles and try again",
            limits.per_user, limits.connections
        ))
        .await;
        drop(out);
        let _ = writer.await;
        return Ok(());
    };

    match serde_json::from_str::<ClientMsg>(&first) {
        Ok(ClientMsg::Hello { protocol, .. }) if protocol == PROTOCOL => {
            out.msg(ServerMsg::Welcome {
                protocol: PROTOCOL,
                version: env!("CARGO_PKG_VERSION").into(),
                user: user.clone(),
                role,
                pid: std::process::id(),
            })
            .await;
        }
        other => {
            let (protocol, version) = match other {
                Ok(ClientMsg::Hello { protocol, version }) => (protocol, version),
                // Not a shukka client of any version we know.
                _ => (0, "unknown".to_string()),
            };
            tracing::warn!(%user, pid, protocol, %version, "refused: protocol mismatch");
            refuse(version_refusal(protocol, &version)).await;
            drop(out);
            let _ = writer.await;
            return Ok(());
        }
    }
    tracing::info!(%user, pid, role = role.name(), "client connected");
    let caller = Arc::new(Caller {
        actor: Actor::Operator(user.clone()),
        role,
    });

    // Calls that change state run one after another, in the order they came; reads run at once.
    let (ordered_tx, mut ordered_rx) = mpsc::channel::<Job>(limits.in_flight);
    let worker = {
        let (engine, caller, out) = (shared.engine.clone(), caller.clone(), out.clone());
        tokio::spawn(async move {
            while let Some(job) = ordered_rx.recv().await {
                let long = job.req.is_long_running();
                let run = run_job(engine.clone(), caller.clone(), out.clone(), job);
                // A robot run starts after the changes before it, but the changes after it
                // need not wait for the whole run (the engine serializes runs itself).
                if long {
                    tokio::spawn(run);
                } else {
                    run.await;
                }
            }
        })
    };
    let in_flight = Arc::new(Semaphore::new(limits.in_flight));
    let mut uploads: HashMap<u64, mpsc::Sender<String>> = HashMap::new();
    let mut forward: Option<tokio::task::JoinHandle<()>> = None;
    let mut unreadable = 0u32;
    loop {
        // At most `in_flight` calls at once: past that, the connection is not read.
        let permit = tokio::select! {
            p = in_flight.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = closed.cancelled() => break,
        };
        let next = tokio::select! {
            n = lines.next() => n,
            _ = closed.cancelled() => break,
            _ = bye.recv() => {
                out.msg(ServerMsg::Bye { message: "サーバーを停止します".into() }).await;
                break;
            }
        };
        let line = match next {
            None => break,
            Some(Ok(line)) => line,
            Some(Err(LinesCodecError::MaxLineLengthExceeded)) => {
                tracing::warn!(%user, pid, max = MAX_CLIENT_LINE, "refused: line too long; connection closed");
                out.msg(ServerMsg::Bye {
                    message: format!("line longer than {MAX_CLIENT_LINE} bytes: connection closed"),
                })
                .await;
                break;
            }
            Some(Err(_)) => break,
        };
        let envelope = serde_json::from_str::<Envelope>(&line);
        let Ok(envelope) = envelope else {
            unreadable += 1;
            tracing::warn!(%user, pid, "unreadable client message");
            if unreadable >= 10 {
                break;
            }
            continue;
        };
        match serde_json::from_str::<ClientMsg>(&line) {
            Ok(ClientMsg::Call { id, req }) => {
                let input = if req.takes_data() {
                    let (tx, rx) = mpsc::channel::<String>(4);
                    uploads.insert(id, tx);
                    Some(rx)
                } else {
                    None
                };
                let job = Job {
                    id,
                    req,
                    input,
                    _permit: permit,
                };
                if job.req.mutates() {
                    if ordered_tx.send(job).await.is_err() {
                        break;
                    }
                } else {
                    tokio::spawn(run_job(
                        shared.engine.clone(),
                        caller.clone(),
                        out.clone(),
                        job,
                    ));
                }
            }
            Ok(ClientMsg::Data { id, data }) => {
                drop(permit);
                if let Some(tx) = uploads.get(&id)
                    && tx.send(data).await.is_err()
                {
                    uploads.remove(&id);
                }
            }
            Ok(ClientMsg::End { id }) => {
                uploads.remove(&id);
            }
            Ok(ClientMsg::Subscribe) => {
                if forward.is_none() {
                    forward = Some(subscribe(&shared.fanout, out.clone()));
                }
            }
            Ok(ClientMsg::Hello { .. }) => {}
            Err(e) => match (envelope.t.as_str(), envelope.id) {
                // A call whose request does not read still gets an answer.
                ("call", Some(id)) => {
                    tracing::warn!(%user, pid, error = %e, "refused: malformed request");
                    let err = ServiceError {
                        kind: ErrorKind::Refused,
                        message: format!("malformed request: {e}"),
                        message_en: format!("malformed request: {e}"),
                    };
                    let o = out.clone();
                    tokio::spawn(async move {
                        o.reply(id, Err(err)).await;
                        drop(permit);
                    });
                }
                _ => {
                    unreadable += 1;
                    tracing::warn!(%user, pid, error = %e, "unreadable client message");
                    if unreadable >= 10 {
                        break;
                    }
                }
            },
        }
    }
    drop(uploads);
    drop(ordered_tx);
    if let Some(f) = forward {
        f.abort();
    }
    let _ = tokio::time::timeout(limits.slow_client, worker).await;
    drop(out);
    let _ = tokio::time::timeout(limits.slow_client, writer).await;
    closed.cancel();
    tracing::info!(%user, pid, "client disconnected");
    Ok(())
}

/// Forwards every committed change to one client. A client that does not keep up is told to
/// reload (lagged) by the broadcast channel, and dropped when it stops reading altogether.
fn subscribe(fanout: &broadcast::Sender<Arc<str>>, out: Out) -> tokio::task::JoinHandle<()> {
    let mut rx = fanout.subscribe();
    tokio::spawn(async move {
        loop {
            let line = match rx.recv().await {
                Ok(line) => line,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    Arc::from(ServerMsg::Lagged { missed: n }.encode())
                }
                Err(broadcast::error::RecvError::Closed) => break,
            };
            if !out.send(line).await {
                break;
            }
        }
    })
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
    // Nobody waits for a stopped server: give back the space of rewritten records now, if the
    // store has grown enough since the last time (see store/compact.rs).
    let dir = dir.to_path_buf();
    let t0 = std::time::Instant::now();
    match tokio::task::spawn_blocking(move || {
        crate::store::compact_if_due(&dir, crate::store::compact::MIN_SIZE)
    })
    .await
    {
        Ok(Ok(Some(c))) => tracing::info!(
            before = c.before,
            after = c.after,
            ms = t0.elapsed().as_millis() as u64,
            "store compacted"
        ),
        Ok(Ok(None)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "store not compacted"),
        Err(e) => tracing::warn!(error = %e, "store not compacted"),
    }
    Ok(())
}
