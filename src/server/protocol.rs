//! The wire protocol between `shukka serve` and its clients: one JSON object per line over a
//! Unix socket. A client says hello with its protocol version; a server of another version
//! refuses it with a message instead of misbehaving.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ServerMsg {
    Welcome {
        protocol: u32,
        version: String,
        user: String,
    },
    Refused {
        message: String,
    },
    Reply {
        id: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ok: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
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

pub fn version_refusal(theirs: u32, their_version: &str) -> String {
    format!(
        "protocol mismatch: this shukka server (version {}, protocol {PROTOCOL}) cannot serve a client of version {their_version} (protocol {theirs}); run the same shukka version for the server and the console (stop the server with `kill $(pidof shukka)` or restart it after upgrading)",
        env!("CARGO_PKG_VERSION")
    )
}
