//! Alerts that reach people: Slack, Chatwork and generic webhooks to a local HTTP receiver,
//! mail to an in-process SMTP server, a local command; one digest per target per window,
//! retries with backoff while a receiver fails, alerts that survive the process, the watch over
//! failing robots, and no secret in any log, answer or backup.

use std::sync::{Arc, Mutex};

use shukka::domain::*;
use shukka::engine::Engine;
use shukka::notify::{AlertKind, Channel, NotifySettings, NotifyTarget, SmtpTls};
use shukka::secret::Secret;

use crate::common::*;

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Got {
    path: String,
    token: Option<String>,
    body: String,
}

type Shared = (Arc<Mutex<Vec<Got>>>, Arc<std::sync::atomic::AtomicUsize>);

/// A local HTTP receiver; the first `fail_first` requests get 503.
async fn receiver(fail_first: usize) -> (String, Arc<Mutex<Vec<Got>>>) {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, Uri};
    let got: Arc<Mutex<Vec<Got>>> = Arc::default();
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let state = (got.clone(), seen);
    let app =
        axum::Router::new()
            .fallback(
                move |State((got, seen)): State<Shared>,
                      uri: Uri,
                      headers: HeaderMap,
                      body: String| async move {
                    let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if n < fail_first {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    got.lock().expect("lock").push(Got {
                        path: uri.path().to_string(),
                        token: headers
                            .get("x-chatworktoken")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string),
                        body,
                    });
                    StatusCode::OK
                },
            )
            .with_state(state);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (format!("http://{addr}"), got)
}

fn target(name: &str, channel: Channel) -> NotifyTarget {
    NotifyTarget {
        name: name.into(),
        channel,
        events: Vec::new(),
        en: false,
        digest_secs: 1,
        retry_secs: 1,
    }
}

fn alert(kind: AlertKind, no: &str) -> shukka::notify::Alert {
    shukka::notify::Alert::new(
        kind,
        format!("テスト {no}: 対処してください"),
        format!("test {no}: do something"),
        vec![no.to_string()],
    )
}

fn engine() -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    (engine_in(dir.path()), dir)
}

#[tokio::test]
async fn notify_slack_chatwork_and_webhook_get_their_own_bodies() {
    let (base, got) = receiver(0).await;
    let (engine, _dir) = engine();
    let slack_url = format!("{base}/services/T000/B000/slack-secret-path");
    let hook_url = format!("{base}/hook/generic-secret-path");
    // A window wide enough that a loaded machine still sends the next alert inside it.
    let wide = |t: NotifyTarget| NotifyTarget {
        digest_secs: 3,
        ..t
    };
    let settings = NotifySettings {
        targets: vec![
            wide(target("slack", Channel::Slack)),
            wide(target(
                "chatwork",
                Channel::Chatwork {
                    room_id: "12345".into(),
                    api_base: format!("{base}/v2"),
                },
            )),
            NotifyTarget {
                events: vec![AlertKind::LateCancel],
                en: true,
                ..wide(target("hook", Channel::Webhook))
            },
        ],
        ..Default::default()
    };
    engine
        .set_notify(
            &settings,
            vec![
                Some(Secret::new(&slack_url)),
                Some(Secret::new("cw-token-secret")),
                Some(Secret::new(&hook_url)),
            ],
            &operator(),
        )
        .expect("targets");
    engine
        .raise(alert(AlertKind::IntakeError, "100000000001"))
        .expect("raise");
    engine
        .raise(alert(AlertKind::LateCancel, "100000000002"))
        .expect("raise");
    engine
        .raise(shukka::notify::Alert::new(
            AlertKind::IntakeError,
            "品番 <!channel> & <@U123> が商品マスタにありません".into(),
            "SKU <!channel> is unknown".into(),
            vec!["100000000003".into()],
        ))
        .expect("raise");
    let sent = engine.notify_once().await.expect("pass");
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
    let got = got.lock().expect("lock").clone();
    let slack = got
        .iter()
        .find(|g| g.path.ends_with("slack-secret-path"))
        .expect("slack");
    let v: serde_json::Value = serde_json::from_str(&slack.body).expect("slack json");
    let text = v["text"].as_str().expect("text");
    assert!(
        text.contains("通知 3 件")
            && text.contains("100000000001")
            && text.contains("[出荷後キャンセル]"),
        "{text}"
    );
    assert!(
        text.contains("&lt;!channel&gt; &amp; &lt;@U123&gt;") && !text.contains("<!channel>"),
        "nobody is pinged by an order's text: {text}"
    );
    let cw = got
        .iter()
        .find(|g| g.path == "/v2/rooms/12345/messages")
        .expect("chatwork");
    assert_eq!(cw.token.as_deref(), Some("cw-token-secret"));
    assert!(cw.body.starts_with("body="), "a form: {}", cw.body);
    let hook = got
        .iter()
        .find(|g| g.path.ends_with("generic-secret-path"))
        .expect("hook");
    let d: shukka::notify::Digest = serde_json::from_str(&hook.body).expect("typed digest");
    assert_eq!(d.alerts.len(), 1, "only the events it asked for");
    assert_eq!(d.alerts[0].kind, AlertKind::LateCancel);
    assert!(d.text.contains("test 100000000002"), "English: {}", d.text);

    // Nothing new: nothing sent. One new alert within the window: held, then sent after it.
    assert!(engine.notify_once().await.expect("pass").is_empty());
    engine
        .raise(alert(AlertKind::IntakeError, "100000000003"))
        .expect("raise");
    let now = engine.notify_once().await.expect("pass");
    assert!(now.is_empty(), "within the digest window: {now:?}");
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let later = engine.notify_once().await.expect("pass");
    let names: Vec<&str> = later.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(
        names,
        ["slack", "chatwork"],
        "the hook does not want intake errors"
    );
    assert!(later.iter().all(|s| s.alerts == 1));
}

#[tokio::test]
async fn notify_retries_with_backoff_and_never_logs_the_secret() {
    let (base, got) = receiver(2).await;
    let (engine, dir) = engine();
    let url = format!("{base}/services/secret-token-in-the-url");
    engine
        .set_notify(
            &NotifySettings {
                targets: vec![NotifyTarget {
                    retry_secs: 2,
                    ..target("slack", Channel::Slack)
                }],
                ..Default::default()
            },
            vec![Some(Secret::new(&url))],
            &operator(),
        )
        .expect("targets");
    engine
        .raise(alert(AlertKind::UploadError, "100000000009"))
        .expect("raise");
    let first = engine.notify_once().await.expect("pass");
    assert!(first[0].result.is_err(), "{first:?}");
    // Before the retry time: not tried.
    assert!(engine.notify_once().await.expect("pass").is_empty());
    let view = engine.notify_targets().expect("targets");
    assert_eq!(view[0].state.failures, 1);
    assert_eq!(view[0].pending, 1, "still queued");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let second = engine.notify_once().await.expect("pass");
    assert!(second[0].result.is_err(), "503 again");
    assert_eq!(engine.notify_targets().expect("t")[0].state.failures, 2);
    // The second wait is twice the first: 4 s.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert!(
        engine.notify_once().await.expect("pass").is_empty(),
        "backoff: 4 s now"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    let third = engine.notify_once().await.expect("pass");
    assert!(third[0].result.is_ok(), "{third:?}");
    assert_eq!(got.lock().expect("lock").len(), 1, "delivered once");
    assert_eq!(engine.notify_targets().expect("t")[0].pending, 0);

    // Every attempt is in the audit log, and the secret in none of it.
    let audit = engine.store().audit(100).expect("audit");
    let attempts: Vec<_> = audit
        .iter()
        .filter(|a| a.action.starts_with("通知"))
        .collect();
    assert_eq!(
        attempts.iter().filter(|a| a.action == "通知失敗").count(),
        2
    );
    assert_eq!(
        attempts.iter().filter(|a| a.action == "通知送信").count(),
        1
    );
    let all = serde_json::to_string(&audit).expect("json");
    assert!(!all.contains("secret-token-in-the-url"), "{all}");
    let view = serde_json::to_string(&engine.notify_targets().expect("t")).expect("json");
    assert!(!view.contains("secret-token-in-the-url"));
    // A backup without secrets does not carry it; one with them does.
    let mut scratch = tempfile::tempfile().expect("scratch");
    let mut out = Vec::new();
    shukka::store::backup::write(engine.store(), false, &mut scratch, &mut out).expect("backup");
    assert!(!String::from_utf8_lossy(&out).contains("secret-token-in-the-url"));
    let mut scratch = tempfile::tempfile().expect("scratch");
    let mut with = Vec::new();
    shukka::store::backup::write(engine.store(), true, &mut scratch, &mut with).expect("backup");
    assert!(String::from_utf8_lossy(&with).contains("secret-token-in-the-url"));
    // Nor on disk in the clear.
    drop(engine);
    for e in walk(dir.path()) {
        let bytes = std::fs::read(&e).expect("read");
        assert!(
            !String::from_utf8_lossy(&bytes).contains("secret-token-in-the-url"),
            "{} holds the secret",
            e.display()
        );
    }
}

fn walk(d: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn notify_an_alert_survives_the_process_and_goes_out_after_a_restart() {
    let (base, got) = receiver(0).await;
    let dir = tempfile::tempdir().expect("tmp");
    {
        let engine = engine_in(dir.path());
        engine
            .set_notify(
                &NotifySettings {
                    targets: vec![target("hook", Channel::Webhook)],
                    ..Default::default()
                },
                vec![Some(Secret::new(format!("{base}/h")))],
                &operator(),
            )
            .expect("targets");
        engine
            .raise(alert(AlertKind::LateCancel, "100000000004"))
            .expect("raise");
        // Gone before any pass ran.
    }
    let engine = engine_in(dir.path());
    let sent = engine.notify_once().await.expect("pass");
    assert_eq!(sent.len(), 1);
    assert!(got.lock().expect("lock")[0].body.contains("100000000004"));
}

/// A minimal SMTP server: records each message's DATA.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = l.local_addr().expect("addr").port();
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let g = got.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let g = g.clone();
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = BufReader::new(r);
                let _ = w.write_all(b"220 test ESMTP\r\n").await;
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        break;
                    }
                    let cmd = line.trim_end().to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                        b"250 test\r\n"
                    } else if cmd.starts_with("DATA") {
                        let _ = w.write_all(b"354 go\r\n").await;
                        let mut data = String::new();
                        loop {
                            let mut l = String::new();
                            if r.read_line(&mut l).await.unwrap_or(0) == 0 || l == ".\r\n" {
                                break;
                            }
                            data.push_str(&l);
                        }
                        g.lock().expect("lock").push(data);
                        b"250 queued\r\n"
                    } else if cmd.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = w.write_all(reply).await;
                }
            });
        }
    });
    (port, got)
}

#[tokio::test]
async fn notify_mail_over_smtp_and_a_local_command() {
    let (port, mails) = smtp_server().await;
    let (engine, dir) = engine();
    let out = dir.path().join("command-got.json");
    engine
        .set_notify(
            &NotifySettings {
                targets: vec![
                    target(
                        "mail",
                        Channel::Smtp {
                            host: "127.0.0.1".into(),
                            port,
                            tls: SmtpTls::None,
                            username: String::new(),
                            from: "shukka@example.jp".into(),
                            to: vec!["ops@example.jp".into()],
                        },
                    ),
                    target(
                        "cmd",
                        Channel::Command {
                            argv: vec![
                                "/bin/sh".into(),
                                "-c".into(),
                                format!("cat > '{}'", out.display()),
                            ],
                        },
                    ),
                ],
                ..Default::default()
            },
            vec![None, None],
            &operator(),
        )
        .expect("targets");
    engine
        .raise(alert(AlertKind::ImportRefused, "100000000005"))
        .expect("raise");
    let sent = engine.notify_once().await.expect("pass");
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
    let mails = mails.lock().expect("lock").clone();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("ops@example.jp"), "{}", mails[0]);
    assert!(mails[0].contains("Subject:"), "{}", mails[0]);
    let json = std::fs::read_to_string(&out).expect("the command's stdin");
    let d: shukka::notify::Digest = serde_json::from_str(&json).expect("digest");
    assert_eq!(d.alerts[0].orders, ["100000000005"]);
    // The test command of the CLI path: a message now.
    let said = engine.notify_test("mail", &operator()).await.expect("test");
    assert!(said.contains("SMTP 250"), "{said}");
    assert!(engine.notify_test("nosuch", &operator()).await.is_err());
}

/// The watch: a robot failing three runs in a row is one alert (not one per run). (Alerts of
/// engine events are queued with their change: tests/it/late_cancel.rs.)
#[tokio::test]
async fn notify_the_watch_and_engine_events_raise_alerts() {
    let sim = start_sim(0, 50).await;
    let (engine, _dir) = engine_with_setup(&sim).await;
    let (base, got) = receiver(0).await;
    engine
        .set_notify(
            &NotifySettings {
                targets: vec![target("hook", Channel::Webhook)],
                failures_in_a_row: 3,
                ..Default::default()
            },
            vec![Some(Secret::new(format!("{base}/h")))],
            &operator(),
        )
        .expect("targets");
    // futureshop goes away: the fetch fails three times.
    let range = range_robot(&engine);
    sim.set_faults(shukka::sim::Faults {
        maintenance: true,
        ..Default::default()
    });
    for _ in 0..4 {
        let line = run(&engine, range).await;
        assert_eq!(line.state, RunState::Failed, "{line:?}");
        engine.notify_once().await.expect("pass");
    }
    sim.set_faults(shukka::sim::Faults::default());
    engine.notify_once().await.expect("pass");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    engine.notify_once().await.expect("pass");
    let bodies: Vec<String> = got
        .lock()
        .expect("lock")
        .iter()
        .map(|g| g.body.clone())
        .collect();
    let failing = bodies
        .iter()
        .map(|b| b.matches("robot_failing").count())
        .sum::<usize>();
    assert_eq!(failing, 1, "one alert for the streak: {bodies:?}");
}

/// `[[notify]]` in the setup file: secrets only from the environment or a file, events and
/// kinds checked with what is allowed, and applying it stores the targets.
#[tokio::test]
async fn notify_setup_file_sections_are_checked_and_applied() {
    use shukka::engine::SetupFile;
    let sim = start_sim(0, 10).await;
    let base = setup_toml(&sim, "UNUSED");
    let with = |extra: &str| format!("{base}\n{extra}");
    let bad = SetupFile::parse(&with(
        "[[notify]]\nname = \"x\"\nkind = \"slack\"\nurl = \"https://hooks.slack.com/services/T/B/C\"\n",
    ))
    .expect_err("a URL in the file");
    assert!(bad.contains("url_env"), "{bad}");
    assert!(
        !bad.contains("hooks.slack.com/services/T/B/C"),
        "the secret is not echoed: {bad}"
    );
    let bad = SetupFile::parse(&with(
        "[[notify]]\nname = \"x\"\nkind = \"slack\"\nurl_env = \"V\"\nevents = [\"everything\"]\n",
    ))
    .expect_err("unknown event");
    assert!(bad.contains("late_cancel"), "{bad}");
    let bad = SetupFile::parse(&with("[[notify]]\nname = \"x\"\nkind = \"pager\"\n"))
        .expect_err("unknown kind");
    assert!(bad.contains("chatwork"), "{bad}");
    let ok = with(
        r#"[[notify]]
name = "ops"
kind = "slack"
url_env = "SHUKKA_TEST_SLACK_URL"
events = ["late_cancel", "robot_failing"]

[[notify]]
name = "mail"
kind = "smtp"
host = "127.0.0.1"
port = 2525
tls = "none"
from = "shukka@example.jp"
to = ["ops@example.jp"]
lang = "en"

[notify_watch]
failures_in_a_row = 5
"#,
    );
    let f = SetupFile::parse(&ok).expect("parses");
    let s = f.notify_settings().expect("valid").expect("some");
    assert_eq!(s.targets.len(), 2);
    assert_eq!(s.failures_in_a_row, 5);
    assert_eq!(
        s.targets[0].events,
        [AlertKind::LateCancel, AlertKind::RobotFailing]
    );
    assert!(s.targets[1].en);
    // SAFETY: the variable is this test's own.
    unsafe {
        std::env::set_var(
            "SHUKKA_TEST_SLACK_URL",
            "https://example.invalid/secret-url",
        )
    };
    let secrets = f
        .notify_secrets(std::path::Path::new("."))
        .expect("secrets");
    assert_eq!(
        secrets[0].as_ref().map(|s| s.expose()),
        Some("https://example.invalid/secret-url")
    );
    assert!(secrets[1].is_none(), "no password: no login");
    assert!(
        !format!("{:?}", secrets[0]).contains("secret-url"),
        "Debug is redacted"
    );
}

/// A command target runs a program as the server's user: an admin (who may change the rest of
/// the setup) may not set one; the server's own user may.
#[tokio::test]
async fn notify_a_command_target_is_for_the_servers_own_user_only() {
    use shukka::service::{CallIo, Caller, ErrorKind, Request, Role, execute};
    let sim = start_sim(0, 10).await;
    let (engine, _dir) = engine_with_setup(&sim).await;
    let file = format!(
        "{}\n[[notify]]\nname = \"script\"\nkind = \"command\"\ncommand = [\"/bin/true\"]\n",
        setup_toml(&sim, "UNUSED")
    );
    let req = || Request::ApplySetup {
        file: file.clone(),
        secret: "demo-secret".into(),
        notify_secrets: vec![None],
    };
    let admin = Caller {
        actor: Actor::Operator("admin1".into()),
        role: Role::Admin,
    };
    let err = execute(&engine, &admin, req(), CallIo::default())
        .await
        .expect_err("an admin may not");
    assert_eq!(err.kind, ErrorKind::Forbidden, "{err}");
    assert!(
        engine.notify_settings().expect("s").targets.is_empty(),
        "nothing stored"
    );
    let owner = Caller::owner(operator());
    execute(&engine, &owner, req(), CallIo::default())
        .await
        .expect("the owner may");
    assert_eq!(engine.notify_settings().expect("s").targets.len(), 1);
}
