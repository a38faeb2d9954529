//! Where requests go: the engine in this process, or a `shukka serve` over its socket. The
//! console and the CLI talk only to this; both ways answer the same typed [`Reply`].

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::domain::{Actor, InstructionSummary};
use crate::engine::Engine;
use crate::server::client::{DisconnectReason, RemoteClient};
use crate::service::{
    CallIo, Caller, ErrorKind, FromReply, Reply, Request, Role, ServiceError, execute, expect_rows,
    unexpected,
};
use crate::store::{StoreEvent, backup};

#[derive(Clone)]
pub enum Backend {
    /// This process owns the store.
    Local { engine: Engine, caller: Caller },
    /// A `shukka serve` owns it; requests go over its socket.
    Remote(RemoteClient),
}

impl Backend {
    pub fn local(engine: Engine, actor: Actor) -> Backend {
        Backend::Local {
            engine,
            caller: Caller::owner(actor),
        }
    }

    /// What this backend's user may do.
    pub fn role(&self) -> Role {
        match self {
            Backend::Local { caller, .. } => caller.role,
            Backend::Remote(c) => c.role(),
        }
    }

    /// One request; the answer as the engine typed it (no serde in one process).
    pub async fn call(&self, req: Request) -> Result<Reply, ServiceError> {
        self.call_io(req, CallIo::default()).await
    }

    /// A call with bulk data going out (`io.out` receives it) or coming in (`io.input` is
    /// drained).
    pub async fn call_io(&self, req: Request, io: CallIo) -> Result<Reply, ServiceError> {
        match self {
            Backend::Local { engine, caller } => execute(engine, caller, req, io).await,
            Backend::Remote(c) => {
                let raw = c.call_io(req, io).await?;
                serde_json::from_str(raw.get()).map_err(|e| {
                    ServiceError::new(ErrorKind::Internal, format!("unexpected answer: {e}"))
                })
            }
        }
    }

    /// A request whose answer is `T`; an answer of another kind is an error that says so.
    pub async fn get<T: FromReply>(&self, req: Request) -> Result<T, ServiceError> {
        T::from_reply(self.call(req).await?)
    }

    /// A backup, written by `sink` in this process (as this process's user), piece by piece.
    pub async fn backup(
        &self,
        include_secrets: bool,
        mut sink: impl FnMut(&str) -> std::io::Result<()>,
    ) -> Result<backup::BackupSummary, ServiceError> {
        let (tx, mut rx) = mpsc::channel::<String>(4);
        let call = self.call_io(
            Request::Backup { include_secrets },
            CallIo {
                out: Some(tx),
                input: None,
            },
        );
        tokio::pin!(call);
        let mut write_error: Option<std::io::Error> = None;
        let mut write = |p: &str, e: &mut Option<std::io::Error>| {
            if e.is_none()
                && let Err(err) = sink(p)
            {
                *e = Some(err);
            }
        };
        let answer = loop {
            tokio::select! {
                piece = rx.recv() => match piece {
                    Some(p) => write(&p, &mut write_error),
                    None => break (&mut call).await,
                },
                r = &mut call => {
                    // The call is done: what it sent is waiting in the channel.
                    while let Some(p) = rx.recv().await {
                        write(&p, &mut write_error);
                    }
                    break r;
                }
            }
        };
        if let Some(e) = write_error {
            return Err(ServiceError::new(
                ErrorKind::Refused,
                format!("the backup could not be written: {e}"),
            ));
        }
        backup_summary(answer?)
    }

    /// A restore from `lines` (read in this process, as this process's user).
    pub async fn restore(
        &self,
        force: bool,
        mut lines: impl Iterator<Item = std::io::Result<String>> + Send + 'static,
    ) -> Result<backup::BackupSummary, ServiceError> {
        let (tx, rx) = mpsc::channel::<String>(4);
        let feeder = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut piece = String::new();
            for line in lines.by_ref() {
                piece.push_str(&line?);
                piece.push('\n');
                if piece.len() >= crate::server::protocol::PART / 2
                    && tx.blocking_send(std::mem::take(&mut piece)).is_err()
                {
                    return Ok(());
                }
            }
            if !piece.is_empty() {
                let _ = tx.blocking_send(piece);
            }
            Ok(())
        });
        let answer = self
            .call_io(
                Request::Restore { force },
                CallIo {
                    out: None,
                    input: Some(rx),
                },
            )
            .await;
        match feeder.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(ServiceError::new(
                    ErrorKind::Refused,
                    format!("the backup file could not be read: {e}"),
                ));
            }
            Err(e) => return Err(ServiceError::new(ErrorKind::Internal, e.to_string())),
        }
        backup_summary(answer?)
    }

    /// A label file: its bytes (written by the caller, as the caller's user) and the report.
    pub async fn export_labels(
        &self,
        req: crate::engine::labels::ExportRequest,
    ) -> Result<(Vec<u8>, crate::labels::ExportReport), ServiceError> {
        use base64::Engine as _;
        let (tx, mut rx) = mpsc::channel::<String>(4);
        let call = self.call_io(
            Request::ExportLabels { req },
            CallIo {
                out: Some(tx),
                input: None,
            },
        );
        tokio::pin!(call);
        let mut bytes = Vec::new();
        let mut bad: Option<String> = None;
        let take = |piece: String, bytes: &mut Vec<u8>, bad: &mut Option<String>| {
            match base64::engine::general_purpose::STANDARD.decode(piece.trim()) {
                Ok(b) => bytes.extend_from_slice(&b),
                Err(e) => *bad = Some(e.to_string()),
            }
        };
        let answer = loop {
            tokio::select! {
                piece = rx.recv() => match piece {
                    Some(p) => take(p, &mut bytes, &mut bad),
                    None => break (&mut call).await,
                },
                r = &mut call => {
                    while let Some(p) = rx.recv().await {
                        take(p, &mut bytes, &mut bad);
                    }
                    break r;
                }
            }
        };
        let report = crate::labels::ExportReport::from_reply(answer?)?;
        if let Some(e) = bad {
            return Err(ServiceError::new(
                ErrorKind::Internal,
                format!("the label file arrived damaged: {e}"),
            ));
        }
        Ok((bytes, report))
    }

    /// Sends a carrier's issued-data file (read by the caller) to be registered.
    pub async fn import_tracking(
        &self,
        req: crate::engine::labels::ImportRequest,
        bytes: Vec<u8>,
    ) -> Result<crate::labels::ImportReport, ServiceError> {
        use base64::Engine as _;
        let (tx, rx) = mpsc::channel::<String>(4);
        let feeder = tokio::spawn(async move {
            for piece in bytes.chunks(crate::service::DATA_PIECE) {
                let text = base64::engine::general_purpose::STANDARD.encode(piece);
                if tx.send(text).await.is_err() {
                    break;
                }
            }
        });
        let answer = self
            .call_io(
                Request::ImportTracking { req },
                CallIo {
                    out: None,
                    input: Some(rx),
                },
            )
            .await;
        let _ = feeder.await;
        crate::labels::ImportReport::from_reply(answer?)
    }

    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<StoreEvent>> {
        match self {
            Backend::Local { engine, .. } => engine.subscribe(),
            Backend::Remote(c) => c.subscribe(),
        }
    }

    /// Every instruction summary (the console's first load; typed, without a JSON round trip
    /// when local).
    pub async fn summaries(&self) -> Result<Vec<InstructionSummary>, ServiceError> {
        match self {
            Backend::Local { engine, .. } => {
                let store = engine.store().clone();
                tokio::task::spawn_blocking(move || store.summaries(None))
                    .await
                    .map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))?
                    .map_err(ServiceError::from)
            }
            Backend::Remote(_) => {
                expect_rows(self.call(Request::Summaries { status: None }).await?)
            }
        }
    }

    /// Connection state, with why it is down (always up for a local backend).
    pub fn connection(&self) -> Option<tokio::sync::watch::Receiver<Option<DisconnectReason>>> {
        match self {
            Backend::Local { .. } => None,
            Backend::Remote(c) => Some(c.connection()),
        }
    }
}

fn backup_summary(r: Reply) -> Result<backup::BackupSummary, ServiceError> {
    match r {
        Reply::Backup(s) => Ok(s),
        other => Err(unexpected("Backup", &other)),
    }
}
