//! The client side of the server protocol: calls with replies matched by id, the event
//! subscription, and (for the console) reconnection with a banner while the server is away.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::codec::{FramedRead, FramedWrite, LinesCodec};

use super::protocol::{ClientMsg, MAX_SERVER_LINE, PROTOCOL, Raw, ServerMsg};
use crate::service::{CallIo, ErrorKind, Request, Role, ServiceError};
use crate::store::{Change, StoreEvent};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No server listens there (no socket, or a stale one).
    #[error("no shukka server is running on {0}")]
    NotRunning(PathBuf),
    /// The server refused us (another protocol version, not a member of its group, too many
    /// connections).
    #[error("{0}")]
    Refused(String),
    /// The socket's permissions do not let this user connect.
    #[error(
        "you ({me}) may not connect to the shukka server on {path} (the socket belongs to {owner}{group}): ask {owner} to add you to that group, or use a data directory of your own"
    )]
    PermissionDenied {
        path: PathBuf,
        me: String,
        owner: String,
        group: String,
    },
    #[error("cannot talk to the shukka server on {path}: {detail}")]
    Broken { path: PathBuf, detail: String },
}

/// A call waiting for its answer: the parts received so far, and where its bulk data goes.
struct Waiting {
    reply: oneshot::Sender<Result<Raw, ServiceError>>,
    parts: String,
    data: Option<mpsc::Sender<String>>,
}

type Pending = Arc<Mutex<HashMap<u64, Waiting>>>;

/// Why a console is not connected: what its banner says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The server went away (crashed, killed, the machine rebooted): retrying.
    ServerGone,
    /// The server said it is stopping: retrying until it is back.
    ServerStopping,
    /// The socket's permissions refuse this user.
    PermissionDenied(String),
    /// The server refused this console (another version, not a member of its group, too many
    /// connections): the message says which.
    Refused(String),
}

struct Conn {
    tx: mpsc::Sender<String>,
    reader: tokio::task::JoinHandle<()>,
}

/// A connection to `shukka serve`. Cheap to clone.
#[derive(Clone)]
pub struct RemoteClient {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    user: Mutex<String>,
    role: Mutex<Role>,
    server_pid: AtomicU64,
    next_id: AtomicU64,
    pending: Pending,
    conn: tokio::sync::Mutex<Option<Conn>>,
    events: broadcast::Sender<Arc<StoreEvent>>,
    /// None while connected; why not, otherwise.
    up: watch::Sender<Option<DisconnectReason>>,
    subscribed: bool,
    reconnect: bool,
}

/// A synthetic event telling subscribers to reload (the client missed events).
pub fn reload_event() -> Arc<StoreEvent> {
    Arc::new(StoreEvent {
        changes: vec![Change::Reload],
        counts: None,
    })
}

/// What the server told us about ourselves in its welcome.
struct Welcome {
    user: String,
    role: Role,
    pid: u32,
}

fn permission_denied(path: &Path) -> ConnectError {
    use std::os::unix::fs::MetadataExt;
    // The socket, or the directory on the way to it.
    let meta = std::fs::metadata(path)
        .or_else(|_| std::fs::metadata(path.parent().unwrap_or(path)))
        .ok();
    let owner = meta
        .as_ref()
        .map(|m| crate::user::user_name(m.uid()))
        .unwrap_or_else(|| "its owner".into());
    let group = meta
        .as_ref()
        .and_then(|m| {
            nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(m.gid()))
                .ok()
                .flatten()
        })
        .map(|g| format!(", group {}", g.name))
        .unwrap_or_default();
    ConnectError::PermissionDenied {
        path: path.to_path_buf(),
        me: crate::user::current_user(),
        owner,
        group,
    }
}

async fn handshake(path: &Path) -> Result<(UnixStream, Welcome), ConnectError> {
    let stream = match UnixStream::connect(path).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(ConnectError::NotRunning(path.to_path_buf()));
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(permission_denied(path));
        }
        Err(e) => {
            return Err(ConnectError::Broken {
                path: path.to_path_buf(),
                detail: e.to_string(),
            });
        }
    };
    let (r, w) = stream.into_split();
    let mut sink = FramedWrite::new(w, LinesCodec::new());
    let mut lines = FramedRead::new(r, LinesCodec::new_with_max_length(MAX_SERVER_LINE));
    let hello = serde_json::to_string(&ClientMsg::Hello {
        protocol: PROTOCOL,
        version: env!("CARGO_PKG_VERSION").into(),
    })
    .unwrap_or_default();
    let broken = |d: String| ConnectError::Broken {
        path: path.to_path_buf(),
        detail: d,
    };
    sink.send(hello).await.map_err(|e| broken(e.to_string()))?;
    let first = tokio::time::timeout(Duration::from_secs(10), lines.next())
        .await
        .map_err(|_| broken("no answer to hello within 10 s".into()))?;
    let first = match first {
        Some(Ok(l)) => l,
        Some(Err(e)) => return Err(broken(e.to_string())),
        None => return Err(broken("the server closed the connection".into())),
    };
    let welcome = match ServerMsg::decode(&first) {
        Ok(ServerMsg::Welcome {
            user, role, pid, ..
        }) => Welcome { user, role, pid },
        Ok(ServerMsg::Refused { message }) => return Err(ConnectError::Refused(message)),
        Ok(other) => return Err(broken(format!("unexpected first message {other:?}"))),
        Err(_) => {
            // A server that does not even speak this envelope: certainly another version.
            return Err(ConnectError::Refused(format!(
                "the shukka server on {} speaks another protocol (this client: protocol {PROTOCOL}, version {}); run the same shukka version for both",
                path.display(),
                env!("CARGO_PKG_VERSION")
            )));
        }
    };
    let stream = lines
        .into_inner()
        .reunite(sink.into_inner())
        .map_err(|e| broken(e.to_string()))?;
    Ok((stream, welcome))
}

impl RemoteClient {
    /// Connects and says hello. `subscribe`: receive committed changes; `reconnect`: come back
    /// by itself when the server restarts (the console), instead of failing (one-shot CLI).
    pub async fn connect(
        path: &Path,
        subscribe: bool,
        reconnect: bool,
    ) -> Result<RemoteClient, ConnectError> {
        let (stream, welcome) = handshake(path).await?;
        let (events, _) = broadcast::channel(8192);
        let (up, _) = watch::channel(None);
        let client = RemoteClient {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                user: Mutex::new(welcome.user),
                role: Mutex::new(welcome.role),
                server_pid: AtomicU64::new(u64::from(welcome.pid)),
                next_id: AtomicU64::new(1),
                pending: Arc::new(Mutex::new(HashMap::new())),
                conn: tokio::sync::Mutex::new(None),
                events,
                up,
                subscribed: subscribe,
                reconnect,
            }),
        };
        client.attach(stream).await;
        Ok(client)
    }

    /// The Unix user the server sees.
    pub fn user(&self) -> String {
        self.inner
            .user
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// What the server lets us do.
    pub fn role(&self) -> Role {
        *self.inner.role.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The server's process id (to stop exactly it).
    pub fn server_pid(&self) -> u32 {
        u32::try_from(self.inner.server_pid.load(Ordering::Relaxed)).unwrap_or(0)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoreEvent>> {
        self.inner.events.subscribe()
    }

    /// None while connected; why not, otherwise.
    pub fn connection(&self) -> watch::Receiver<Option<DisconnectReason>> {
        self.inner.up.subscribe()
    }

    /// Boxed: attach → reader → lost → reconnect → attach is a cycle of futures.
    fn attach(&self, stream: UnixStream) -> futures::future::BoxFuture<'static, ()> {
        let me = self.clone();
        Box::pin(async move { me.attach_inner(stream).await })
    }

    async fn attach_inner(&self, stream: UnixStream) {
        let (r, w) = stream.into_split();
        let (tx, mut rx) = mpsc::channel::<String>(16);
        tokio::spawn(async move {
            let mut sink = FramedWrite::new(w, LinesCodec::new());
            while let Some(line) = rx.recv().await {
                if sink.send(line).await.is_err() {
                    break;
                }
            }
        });
        if self.inner.subscribed {
            let _ = tx
                .send(serde_json::to_string(&ClientMsg::Subscribe).unwrap_or_default())
                .await;
        }
        let me = self.clone();
        let reader = tokio::spawn(async move {
            let mut stopping = false;
            let mut lines = FramedRead::new(r, LinesCodec::new_with_max_length(MAX_SERVER_LINE));
            while let Some(Ok(line)) = lines.next().await {
                match ServerMsg::decode(&line) {
                    Ok(ServerMsg::Reply { id, ok, err, parts }) => {
                        let waiter = me
                            .inner
                            .pending
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&id);
                        if let Some(w) = waiter {
                            let answer = match (ok, err, parts) {
                                (_, Some(e), _) => Err(e),
                                (Some(v), None, _) => Ok(v),
                                (None, None, Some(_)) => {
                                    serde_json::value::RawValue::from_string(w.parts).map_err(|e| {
                                        ServiceError::new(
                                            ErrorKind::Internal,
                                            format!("unexpected answer: {e}"),
                                        )
                                    })
                                }
                                (None, None, None) => Ok(null()),
                            };
                            let _ = w.reply.send(answer);
                        }
                    }
                    Ok(ServerMsg::Part { id, data }) => {
                        if let Some(w) = me
                            .inner
                            .pending
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_mut(&id)
                        {
                            w.parts.push_str(&data);
                        }
                    }
                    Ok(ServerMsg::Data { id, data }) => {
                        let sink = me
                            .inner
                            .pending
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get(&id)
                            .and_then(|w| w.data.clone());
                        if let Some(sink) = sink {
                            let _ = sink.send(data).await;
                        }
                    }
                    Ok(ServerMsg::Event { event }) => {
                        let _ = me.inner.events.send(Arc::new(event));
                    }
                    Ok(ServerMsg::Lagged { .. }) => {
                        let _ = me.inner.events.send(reload_event());
                    }
                    Ok(ServerMsg::Bye { .. }) => {
                        stopping = true;
                        break;
                    }
                    _ => {}
                }
            }
            me.lost(if stopping {
                DisconnectReason::ServerStopping
            } else {
                DisconnectReason::ServerGone
            })
            .await;
        });
        *self.inner.conn.lock().await = Some(Conn { tx, reader });
        let _ = self.inner.up.send(None);
    }

    /// The connection is gone: fail the calls in flight and, for the console, reconnect.
    fn lost(&self, why: DisconnectReason) -> futures::future::BoxFuture<'static, ()> {
        let me = self.clone();
        Box::pin(async move { me.lost_inner(why).await })
    }

    async fn lost_inner(&self, why: DisconnectReason) {
        *self.inner.conn.lock().await = None;
        let waiters: Vec<_> = self
            .inner
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        for (_, w) in waiters {
            let _ = w.reply.send(Err(disconnected()));
        }
        let _ = self.inner.up.send(Some(why));
        if !self.inner.reconnect {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            let mut wait = Duration::from_millis(200);
            loop {
                tokio::time::sleep(wait).await;
                match handshake(&me.inner.path).await {
                    Ok((stream, welcome)) => {
                        *me.inner.user.lock().unwrap_or_else(|e| e.into_inner()) = welcome.user;
                        *me.inner.role.lock().unwrap_or_else(|e| e.into_inner()) = welcome.role;
                        me.inner
                            .server_pid
                            .store(u64::from(welcome.pid), Ordering::Relaxed);
                        me.attach(stream).await;
                        // Whatever happened while away is re-read by the subscribers.
                        let _ = me.inner.events.send(reload_event());
                        return;
                    }
                    Err(e @ (ConnectError::Refused(_) | ConnectError::PermissionDenied { .. })) => {
                        tracing::error!(message = %e, "the restarted server refused this console");
                        let why = match &e {
                            ConnectError::PermissionDenied { .. } => {
                                DisconnectReason::PermissionDenied(e.to_string())
                            }
                            _ => DisconnectReason::Refused(e.to_string()),
                        };
                        let _ = me.inner.up.send(Some(why));
                        wait = Duration::from_secs(5);
                    }
                    Err(_) => wait = (wait * 2).min(Duration::from_secs(2)),
                }
            }
        });
    }

    /// Sends one request and waits for its reply.
    pub async fn call(&self, req: Request) -> Result<Raw, ServiceError> {
        self.call_io(req, CallIo::default()).await
    }

    /// Sends one request with its bulk data (`io.input`, uploaded after the call) and waits for
    /// its reply; bulk data the server sends goes to `io.out`.
    pub async fn call_io(&self, req: Request, io: CallIo) -> Result<Raw, ServiceError> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let line = serde_json::to_string(&ClientMsg::Call { id, req })
            .map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))?;
        let sender = {
            let conn = self.inner.conn.lock().await;
            match conn.as_ref() {
                Some(c) => c.tx.clone(),
                None => return Err(disconnected()),
            }
        };
        self.inner
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                id,
                Waiting {
                    reply: tx,
                    parts: String::new(),
                    data: io.out,
                },
            );
        let forget = || {
            self.inner
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
        };
        if sender.send(line).await.is_err() {
            forget();
            return Err(disconnected());
        }
        if let Some(mut input) = io.input {
            while let Some(data) = input.recv().await {
                let frame = serde_json::to_string(&ClientMsg::Data { id, data })
                    .map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))?;
                if sender.send(frame).await.is_err() {
                    forget();
                    return Err(disconnected());
                }
            }
            let end = serde_json::to_string(&ClientMsg::End { id }).unwrap_or_default();
            if sender.send(end).await.is_err() {
                forget();
                return Err(disconnected());
            }
        }
        rx.await.unwrap_or_else(|_| Err(disconnected()))
    }

    /// Closes the connection (no reconnection).
    pub async fn close(&self) {
        if let Some(c) = self.inner.conn.lock().await.take() {
            c.reader.abort();
        }
    }
}

fn null() -> Raw {
    serde_json::value::RawValue::from_string("null".into()).unwrap_or_else(|_| unreachable_null())
}

fn unreachable_null() -> Raw {
    // `null` is valid JSON; this branch cannot be taken.
    serde_json::value::to_raw_value(&()).expect("null")
}

fn disconnected() -> ServiceError {
    ServiceError::new(
        ErrorKind::Disconnected,
        "shukka サーバーとの接続が切れました (再接続を待っています)",
    )
}
