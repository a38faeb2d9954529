//! The wire protocol between `shukka serve` and its clients: one JSON object per line over a
//! Unix socket. A client says hello with its protocol version; a server of another version
//! refuses it with a message instead of misbehaving.

use serde::{Deserialize, Serialize};

use crate::service::{Request, ServiceError};
use crate::store::StoreEvent;

/// Bumped whenever a message or a request changes shape.
pub const PROTOCOL: u32 = 1;

/// The socket's file name inside the data directory.
pub const SOCKET: &str = "shukka.sock";

/// Longest accepted line (a full instruction list for a very large store fits).
pub const MAX_LINE: usize = 512 * 1024 * 1024;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // one per request, parsed and dropped at once
pub enum ClientMsg {
    /// First message. The user is never part of it: the server takes it from the socket's
    /// peer credentials.
    Hello {
        protocol: u32,
        version: String,
    },
    Call {
        id: u64,
        req: Request,
    },
    /// Start receiving every committed change.
    Subscribe,
}

/// What the server sends.
#[derive(Debug)]
pub enum ServerMsg {
    Welcome {
        protocol: u32,
        version: String,
        user: String,
    },
    Refused {
        message: String,
    },
    /// `ok` is the answer's JSON as produced, passed through without being parsed (a full
    /// instruction list can be tens of megabytes).
    Reply {
        id: u64,
        ok: Option<Raw>,
        err: Option<ServiceError>,
    },
    Event {
        event: StoreEvent,
    },
    /// The client fell behind and missed events: it must reload.
    Lagged {
        missed: u64,
    },
    /// The server is shutting down.
    Bye {
        message: String,
    },
}

pub type Raw = Box<serde_json::value::RawValue>;

/// The wire form of a server message: one flat object tagged by `t` (flat, because raw JSON
/// values cannot live inside serde's internally tagged enums).
#[derive(Default, Serialize, Deserialize)]
struct Frame {
    t: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ok: Option<Raw>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    err: Option<ServiceError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<StoreEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    protocol: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    missed: Option<u64>,
}

impl ServerMsg {
    pub fn encode(self) -> String {
        let f = match self {
            ServerMsg::Welcome {
                protocol,
                version,
                user,
            } => Frame {
                t: "welcome".into(),
                protocol: Some(protocol),
                version: Some(version),
                user: Some(user),
                ..Frame::default()
            },
            ServerMsg::Refused { message } => Frame {
                t: "refused".into(),
                message: Some(message),
                ..Frame::default()
            },
            ServerMsg::Reply { id, ok, err } => Frame {
                t: "reply".into(),
                id: Some(id),
                ok,
                err,
                ..Frame::default()
            },
            ServerMsg::Event { event } => Frame {
                t: "event".into(),
                event: Some(event),
                ..Frame::default()
            },
            ServerMsg::Lagged { missed } => Frame {
                t: "lagged".into(),
                missed: Some(missed),
                ..Frame::default()
            },
            ServerMsg::Bye { message } => Frame {
                t: "bye".into(),
                message: Some(message),
                ..Frame::default()
            },
        };
        serde_json::to_string(&f).unwrap_or_default()
    }

    pub fn decode(line: &str) -> Result<ServerMsg, String> {
        let f: Frame = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let need = |what: &str| format!("{} message without {what}", f.t);
        Ok(match f.t.as_str() {
            "welcome" => ServerMsg::Welcome {
                protocol: f.protocol.ok_or_else(|| need("protocol"))?,
                version: f.version.unwrap_or_default(),
                user: f.user.ok_or_else(|| need("user"))?,
            },
            "refused" => ServerMsg::Refused {
                message: f.message.unwrap_or_default(),
            },
            "reply" => ServerMsg::Reply {
                id: f.id.ok_or_else(|| need("id"))?,
                ok: f.ok,
                err: f.err,
            },
            "event" => ServerMsg::Event {
                event: f.event.ok_or_else(|| need("event"))?,
            },
            "lagged" => ServerMsg::Lagged {
                missed: f.missed.unwrap_or(0),
            },
            "bye" => ServerMsg::Bye {
                message: f.message.unwrap_or_default(),
            },
            other => return Err(format!("unknown message {other:?}")),
        })
    }
}

pub fn version_refusal(theirs: u32, their_version: &str) -> String {
    format!(
        "protocol mismatch: this shukka server (version {}, protocol {PROTOCOL}) cannot serve a client of version {their_version} (protocol {theirs}); run the same shukka version for the server and the console (stop the server with `kill $(pidof shukka)` or restart it after upgrading)",
        env!("CARGO_PKG_VERSION")
    )
}
