//! The wire protocol between `shukka serve` and its clients: one JSON object per line over a
//! Unix socket. A client says hello with its protocol version; a server of another version
//! refuses it with a message instead of misbehaving.
//!
//! Lines are bounded both ways. A client's line is at most [`MAX_CLIENT_LINE`]; a large
//! answer is split by the server into `part` frames of at most [`PART`] bytes each, followed by
//! the `reply`, so no side ever has to hold an unbounded line because the other said so. Bulk
//! data that is not an answer (a backup on its way to the client's file, a backup on its way to
//! a restore) travels as `data` frames of the same size.

use serde::{Deserialize, Serialize};

use crate::service::{Request, Role, ServiceError};
use crate::store::StoreEvent;

/// Bumped whenever a message or a request changes shape.
pub const PROTOCOL: u32 = 2;

/// The socket's file name inside the data directory.
pub const SOCKET: &str = "shukka.sock";

/// Longest line the server reads from a client. Requests are small; bulk data comes in
/// `data` frames of at most [`PART`] bytes (plus the JSON around them).
pub const MAX_CLIENT_LINE: usize = 4 * 1024 * 1024;

/// Longest line a client reads from the server: a part, a data frame, or an event (one
/// committed page of orders).
pub const MAX_SERVER_LINE: usize = 32 * 1024 * 1024;

/// Size of one `part` or `data` payload.
pub const PART: usize = 1024 * 1024;

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
    /// A piece of the upload that belongs to call `id` (a restore).
    Data {
        id: u64,
        data: String,
    },
    /// The upload of call `id` is complete.
    End {
        id: u64,
    },
}

/// The part of a client line read before the whole of it: a call whose request does not parse
/// still has an id to answer.
#[derive(Deserialize)]
pub struct Envelope {
    pub t: String,
    #[serde(default)]
    pub id: Option<u64>,
}

/// What the server sends.
#[derive(Debug)]
pub enum ServerMsg {
    Welcome {
        protocol: u32,
        version: String,
        user: String,
        /// What this user may do (decided by the server from the peer credentials).
        role: Role,
        /// The server's process id, so that an operator can stop exactly it.
        pid: u32,
    },
    Refused {
        message: String,
    },
    /// `ok` is the answer's JSON as produced, passed through without being parsed. When the
    /// answer was sent in `parts` frames, `ok` is absent and `parts` says how many.
    Reply {
        id: u64,
        ok: Option<Raw>,
        err: Option<ServiceError>,
        parts: Option<u64>,
    },
    /// A piece of the answer text of call `id`.
    Part {
        id: u64,
        data: String,
    },
    /// Bulk data of call `id` (a backup on its way to the client's file).
    Data {
        id: u64,
        data: String,
    },
    Event {
        event: StoreEvent,
    },
    /// The client fell behind and missed events: it must reload.
    Lagged {
        missed: u64,
    },
    /// The server is shutting down, or is closing this connection (the message says why).
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
    parts: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<StoreEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    protocol: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
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
                role,
                pid,
            } => Frame {
                t: "welcome".into(),
                protocol: Some(protocol),
                version: Some(version),
                user: Some(user),
                role: Some(role),
                pid: Some(pid),
                ..Frame::default()
            },
            ServerMsg::Refused { message } => Frame {
                t: "refused".into(),
                message: Some(message),
                ..Frame::default()
            },
            ServerMsg::Reply { id, ok, err, parts } => Frame {
                t: "reply".into(),
                id: Some(id),
                ok,
                err,
                parts,
                ..Frame::default()
            },
            ServerMsg::Part { id, data } => Frame {
                t: "part".into(),
                id: Some(id),
                data: Some(data),
                ..Frame::default()
            },
            ServerMsg::Data { id, data } => Frame {
                t: "data".into(),
                id: Some(id),
                data: Some(data),
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
                role: f.role.ok_or_else(|| need("role"))?,
                pid: f.pid.unwrap_or(0),
            },
            "refused" => ServerMsg::Refused {
                message: f.message.unwrap_or_default(),
            },
            "reply" => ServerMsg::Reply {
                id: f.id.ok_or_else(|| need("id"))?,
                ok: f.ok,
                err: f.err,
                parts: f.parts,
            },
            "part" => ServerMsg::Part {
                id: f.id.ok_or_else(|| need("id"))?,
                data: f.data.ok_or_else(|| need("data"))?,
            },
            "data" => ServerMsg::Data {
                id: f.id.ok_or_else(|| need("id"))?,
                data: f.data.ok_or_else(|| need("data"))?,
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

/// Splits `text` into pieces of at most `max` bytes, at character boundaries.
pub fn split_text(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(max.max(4));
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (head, tail) = rest.split_at(end);
        out.push(head);
        rest = tail;
    }
    out
}

pub fn version_refusal(theirs: u32, their_version: &str) -> String {
    let pid = std::process::id();
    format!(
        "protocol mismatch: this shukka server (version {}, protocol {PROTOCOL}, pid {pid}) cannot serve a client of version {their_version} (protocol {theirs}); run the same shukka version for the server and the console: stop this server with `kill {pid}` (your consoles stay open and reconnect) and start it again after upgrading",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_text_keeps_characters_whole() {
        let s = "出荷".repeat(1000);
        let parts = split_text(&s, 1000);
        assert!(parts.iter().all(|p| p.len() <= 1000));
        assert_eq!(parts.concat(), s);
        assert!(split_text("", 10).is_empty());
    }
}
