//! Errors of the futureshop client. None of them ever contains the client secret or a token:
//! they are built from status codes, endpoint names and excerpts of futureshop's answers.

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error(
        "futureshop refused the token request (HTTP {status}{detail}): check the shop key, client ID and client secret"
    )]
    TokenRefused { status: u16, detail: String },

    #[error(
        "futureshop rejected the access token for {endpoint} even after a fresh token was fetched (HTTP 401{detail})"
    )]
    Unauthorized { endpoint: String, detail: String },

    #[error("futureshop refused {endpoint} (HTTP {status}{detail})")]
    Rejected {
        endpoint: String,
        status: u16,
        code: Option<String>,
        detail: String,
    },

    #[error("order {0} does not exist in futureshop (HTTP 404)")]
    OrderNotFound(String),

    #[error("{endpoint} failed after {attempts} attempt(s): {last}")]
    RetriesExhausted {
        endpoint: String,
        attempts: u32,
        last: String,
    },

    #[error("futureshop sent a malformed response to {endpoint}: {detail}")]
    Malformed { endpoint: String, detail: String },

    #[error("cannot build the request for {endpoint}: {detail}")]
    BadRequest { endpoint: String, detail: String },
}

impl FsError {
    /// True when the cause is on futureshop's side or the network and a later run may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, FsError::RetriesExhausted { .. })
    }
}

/// ` (code: message)` from a futureshop error body, or a short excerpt of an unknown body.
pub(crate) fn describe_body(body: &str) -> (Option<String>, String) {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return (None, String::new());
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(trimmed) {
        let code = v
            .get("code")
            .or_else(|| v.get("error"))
            .and_then(|c| c.as_str())
            .map(str::to_string);
        let message = v
            .get("message")
            .or_else(|| v.get("error_description"))
            .and_then(|m| m.as_str())
            .map(str::to_string);
        let detail = match (&code, &message) {
            (Some(c), Some(m)) => format!(": {c}: {m}"),
            (Some(c), None) => format!(": {c}"),
            (None, Some(m)) => format!(": {m}"),
            (None, None) => format!(": {}", excerpt(trimmed)),
        };
        return (code, detail);
    }
    (None, format!(": {}", excerpt(trimmed)))
}

pub(crate) fn excerpt(s: &str) -> String {
    const MAX: usize = 160;
    let clean: String = crate::sanitize::sanitize(s).into_owned();
    if clean.chars().count() <= MAX {
        clean
    } else {
        let cut: String = clean.chars().take(MAX).collect();
        format!("{cut}…")
    }
}
