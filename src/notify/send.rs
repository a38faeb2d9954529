//! Delivering one digest over one channel. Errors never carry the secret: a webhook URL is the
//! secret, so HTTP errors are reported without their URL.

use std::time::Duration;

use super::{Channel, Digest, NotifyTarget, SmtpTls};
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{0} has no secret stored: run `shukka setup apply` with its *_env or *_file")]
    NoSecret(String),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("the receiver answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("mail: {0}")]
    Mail(String),
    #[error("command: {0}")]
    Command(String),
}

const TIMEOUT: Duration = Duration::from_secs(20);

/// What the receiver said, for the log ("HTTP 200", "250 OK", "exit 0").
pub async fn deliver(
    target: &NotifyTarget,
    secret: Option<&Secret>,
    d: &Digest,
) -> Result<String, SendError> {
    let need = || {
        secret
            .filter(|s| !s.is_empty())
            .ok_or_else(|| SendError::NoSecret(target.name.clone()))
    };
    match &target.channel {
        Channel::Webhook => post_json(need()?.expose(), d).await,
        Channel::Slack => {
            #[derive(serde::Serialize)]
            struct Slack<'a> {
                text: &'a str,
            }
            // Slack reads `<!channel>` and `<@U…>` in text: what came from an order is escaped
            // as Slack asks (&, <, >), so it can never ping anyone.
            let text = d
                .text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            post_json(need()?.expose(), &Slack { text: &text }).await
        }
        Channel::Chatwork { room_id, api_base } => {
            let url = format!(
                "{}/rooms/{}/messages",
                api_base.trim_end_matches('/'),
                urlencode(room_id)
            );
            let body = format!("[info][title]{}[/title]{}[/info]", d.subject, d.text);
            let r = client()?
                .post(url)
                .header("X-ChatWorkToken", need()?.expose())
                .form(&[("body", body.as_str())])
                .send()
                .await
                .map_err(http)?;
            answer(r).await
        }
        Channel::Smtp {
            host,
            port,
            tls,
            username,
            from,
            to,
        } => mail(host, *port, *tls, username, secret, from, to, d).await,
        Channel::Command { argv } => command(argv, d).await,
    }
}

fn client() -> Result<reqwest::Client, SendError> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(http)
}

/// An HTTP error without its URL (the URL may be the secret).
fn http(e: reqwest::Error) -> SendError {
    SendError::Http(e.without_url().to_string())
}

async fn post_json<T: serde::Serialize>(url: &str, body: &T) -> Result<String, SendError> {
    let r = client()?.post(url).json(body).send().await.map_err(http)?;
    answer(r).await
}

async fn answer(r: reqwest::Response) -> Result<String, SendError> {
    let status = r.status();
    if status.is_success() {
        return Ok(format!("HTTP {}", status.as_u16()));
    }
    let body = r.text().await.unwrap_or_default();
    Err(SendError::Status {
        status: status.as_u16(),
        body: crate::sanitize::sanitize(&body.chars().take(200).collect::<String>()).into_owned(),
    })
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)] // the fields of one Channel::Smtp
async fn mail(
    host: &str,
    port: u16,
    tls: SmtpTls,
    username: &str,
    password: Option<&Secret>,
    from: &str,
    to: &[String],
    d: &Digest,
) -> Result<String, SendError> {
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let m = |e: &dyn std::fmt::Display| SendError::Mail(e.to_string());
    let mut b = Message::builder()
        .from(from.parse().map_err(|e| m(&e))?)
        .subject(d.subject.clone());
    for t in to {
        b = b.to(t.parse().map_err(|e| m(&e))?);
    }
    let msg = b
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(d.text.clone())
        .map_err(|e| m(&e))?;
    let builder = match tls {
        SmtpTls::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(|e| m(&e))?
        }
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(|e| m(&e))?,
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
    };
    let mut builder = builder.port(port).timeout(Some(TIMEOUT));
    if !username.is_empty() {
        let pw = password.map(|p| p.expose().to_string()).unwrap_or_default();
        builder = builder.credentials(Credentials::new(username.to_string(), pw));
    }
    let r = builder.build().send(msg).await.map_err(|e| m(&e))?;
    Ok(format!("SMTP {}", r.code()))
}

async fn command(argv: &[String], d: &Digest) -> Result<String, SendError> {
    use tokio::io::AsyncWriteExt;
    let c = |e: &dyn std::fmt::Display| SendError::Command(e.to_string());
    let Some((prog, args)) = argv.split_first() else {
        return Err(SendError::Command("no command given".into()));
    };
    let json = serde_json::to_vec(d).map_err(|e| c(&e))?;
    let mut child = tokio::process::Command::new(prog)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| c(&format!("{prog}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&json).await.map_err(|e| c(&e))?;
    }
    let out = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| c(&"did not finish within 20 s"))?
        .map_err(|e| c(&e))?;
    if out.status.success() {
        Ok("exit 0".into())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(SendError::Command(format!(
            "{}: {}",
            out.status,
            crate::sanitize::sanitize(&err.chars().take(200).collect::<String>())
        )))
    }
}
