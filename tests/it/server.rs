//! Several operators at once: `shukka serve` and its clients over the Unix socket.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use shukka::backend::Backend;
use shukka::domain::*;
use shukka::server::client::{ConnectError, RemoteClient};
use shukka::server::{self, ServeOptions};
use shukka::service::{ErrorKind, InstructionDetail, Request};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::common::*;

/// A data dir with the guide applied and `orders` fetched, then a server on it.
async fn served(orders: usize) -> (shukka::sim::SimHandle, tempfile::TempDir, server::Server) {
    let sim = start_sim(orders, 100).await;
    let (engine, dir) = engine_with_setup(&sim).await;
    let line = run(&engine, range_robot(&engine)).await;
    assert_eq!(line.state, RunState::Done);
    drop(engine);
    // The engine's store must be closed before the server opens it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let srv = start_server(dir.path()).await;
    (sim, dir, srv)
}

async fn start_server(dir: &std::path::Path) -> server::Server {
    for _ in 0..50 {
        match server::start(dir, ServeOptions::default()).await {
            Ok(s) => return s,
            Err(server::ServeError::Store(shukka::store::StoreError::Locked(_))) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("server: {e}"),
        }
    }
    panic!("store stayed locked")
}

async fn client(dir: &std::path::Path) -> RemoteClient {
    RemoteClient::connect(&server::socket_path(dir), true, true)
        .await
        .expect("connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_clients_see_the_same_queues_and_each_others_actions() {
    let (_sim, dir, srv) = served(40).await;
    let a = client(dir.path()).await;
    let b = client(dir.path()).await;
    let qa: Vec<InstructionSummary> = Backend::Remote(a.clone())
        .get(Request::Summaries { status: None })
        .await
        .expect("a");
    let qb: Vec<InstructionSummary> = Backend::Remote(b.clone())
        .get(Request::Summaries { status: None })
        .await
        .expect("b");
    assert_eq!(qa, qb);
    assert!(!qa.is_empty());
    let target = qa
        .iter()
        .find(|s| s.status == Status::Ready)
        .expect("a ready one")
        .clone();
    let mut events_b = b.subscribe();
    let started = Instant::now();
    let held: Instruction = Backend::Remote(a.clone())
        .get(Request::Hold {
            id: target.id,
            version: Some(target.version),
            reason: "住所確認".into(),
        })
        .await
        .expect("hold");
    assert_eq!(held.status, Status::Held);
    // The other console learns it from the event stream, with what it needs to update.
    let seen = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            let ev = events_b.recv().await.expect("event");
            for c in &ev.changes {
                if let shukka::store::Change::Instruction(s) = c
                    && s.id == target.id
                {
                    return (**s).clone();
                }
            }
        }
    })
    .await
    .expect("b sees a's action within 1 s");
    assert_eq!(seen.status, Status::Held);
    assert_eq!(seen.hold_reasons, vec!["住所確認".to_string()]);
    eprintln!("action → other client's event: {:?}", started.elapsed());
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_conflicting_actions_exactly_one_applies() {
    let (_sim, dir, srv) = served(20).await;
    let clients: Vec<RemoteClient> =
        futures::future::join_all((0..6).map(|_| client(dir.path()))).await;
    let all: Vec<InstructionSummary> = Backend::Remote(clients[0].clone())
        .get(Request::Summaries {
            status: Some(Status::Ready),
        })
        .await
        .expect("list");
    let t = all[0].clone();
    let results = futures::future::join_all(clients.iter().enumerate().map(|(n, c)| {
        let b = Backend::Remote(c.clone());
        let req = if n % 2 == 0 {
            Request::Hold {
                id: t.id,
                version: Some(t.version),
                reason: format!("op{n}"),
            }
        } else {
            Request::Cancel {
                id: t.id,
                version: Some(t.version),
                reason: format!("op{n}"),
            }
        };
        async move { b.call(req).await }
    }))
    .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let conflicts: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(ok, 1, "{results:?}");
    assert_eq!(conflicts.len(), 5);
    for c in conflicts {
        assert_eq!(c.kind, ErrorKind::Conflict);
        assert!(
            c.message.contains("変更しました"),
            "says who changed it: {}",
            c.message
        );
    }
    let d: InstructionDetail = Backend::Remote(clients[1].clone())
        .get(Request::Instruction { id: t.id })
        .await
        .expect("detail");
    assert_eq!(d.instruction.version, t.version + 1);
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_actor_is_the_peer_credential_and_cannot_be_claimed() {
    let (_sim, dir, srv) = served(10).await;
    let me = shukka::user::current_user();
    // A raw client that tries to claim another name in its hello.
    let stream = tokio::net::UnixStream::connect(server::socket_path(dir.path()))
        .await
        .expect("connect");
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    w.write_all(
        format!(
            "{{\"t\":\"hello\",\"protocol\":{},\"version\":\"x\",\"user\":\"佐藤\"}}\n",
            shukka::server::protocol::PROTOCOL
        )
        .as_bytes(),
    )
    .await
    .expect("write");
    let welcome = lines.next_line().await.expect("read").expect("line");
    assert!(welcome.contains(&format!("\"user\":\"{me}\"")), "{welcome}");
    let any: Vec<InstructionSummary> = Backend::Remote(client(dir.path()).await)
        .get(Request::Summaries {
            status: Some(Status::Ready),
        })
        .await
        .expect("list");
    let t = &any[0];
    let call = serde_json::json!({"t": "call", "id": 1, "req": {"op": "hold", "id": t.id, "version": t.version, "reason": "確認"}});
    w.write_all(format!("{call}\n").as_bytes())
        .await
        .expect("write");
    let reply = lines.next_line().await.expect("read").expect("line");
    assert!(reply.contains("\"ok\""), "{reply}");
    let history: Vec<AuditEntry> = Backend::Remote(client(dir.path()).await)
        .get(Request::History { id: t.id })
        .await
        .expect("history");
    let last = history.last().expect("entry");
    assert_eq!(last.action, "保留");
    assert_eq!(
        last.actor,
        Actor::Operator(me.clone()),
        "who held it has a true answer"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn the_socket_is_owner_only_or_group_with_the_option() {
    let dir = tempfile::tempdir().expect("tmp");
    let srv = server::start(dir.path(), ServeOptions::default())
        .await
        .expect("serve");
    let mode = std::fs::metadata(server::socket_path(dir.path()))
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "owner-only by default");
    assert_eq!(
        std::fs::metadata(dir.path())
            .expect("meta")
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    srv.shutdown().await;
    assert!(
        !server::socket_path(dir.path()).exists(),
        "removed on shutdown"
    );

    let gid = nix::unistd::getegid();
    let group = nix::unistd::Group::from_gid(gid)
        .expect("lookup")
        .expect("group")
        .name;
    let srv = server::start(
        dir.path(),
        ServeOptions {
            group: Some(group),
            ..Default::default()
        },
    )
    .await
    .expect("serve");
    let meta = std::fs::metadata(server::socket_path(dir.path())).expect("meta");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), gid.as_raw());
    assert_eq!(
        std::fs::metadata(dir.path())
            .expect("meta")
            .permissions()
            .mode()
            & 0o777,
        0o710,
        "group may traverse, not list"
    );
    srv.shutdown().await;
    let err = server::start(
        dir.path(),
        ServeOptions {
            group: Some("no-such-group-xyz".into()),
            ..Default::default()
        },
    )
    .await
    .err()
    .expect("refused");
    assert!(err.to_string().contains("no-such-group-xyz"));
}

#[tokio::test]
async fn a_client_of_another_protocol_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tmp");
    let srv = server::start(dir.path(), ServeOptions::default())
        .await
        .expect("serve");
    let stream = tokio::net::UnixStream::connect(server::socket_path(dir.path()))
        .await
        .expect("connect");
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    w.write_all(b"{\"t\":\"hello\",\"protocol\":999,\"version\":\"9.9.9\"}\n")
        .await
        .expect("write");
    let line = lines.next_line().await.expect("read").expect("line");
    assert!(
        line.contains("refused") && line.contains("protocol mismatch") && line.contains("9.9.9"),
        "{line}"
    );
    assert!(
        lines.next_line().await.expect("read").is_none(),
        "then the server closes"
    );
    // A client talking to something that is not a shukka server of its version.
    let fake_dir = tempfile::tempdir().expect("tmp");
    let path = server::socket_path(fake_dir.path());
    let listener = tokio::net::UnixListener::bind(&path).expect("bind");
    tokio::spawn(async move {
        if let Ok((s, _)) = listener.accept().await {
            let (r, mut w) = s.into_split();
            let mut l = BufReader::new(r).lines();
            let _ = l.next_line().await;
            let _ = w
                .write_all(b"{\"t\":\"refused\",\"message\":\"protocol mismatch: server 2\"}\n")
                .await;
        }
    });
    match RemoteClient::connect(&path, false, false).await {
        Err(ConnectError::Refused(m)) => assert!(m.contains("protocol mismatch")),
        Err(other) => panic!("unexpected {other}"),
        Ok(_) => panic!("a different protocol must be refused"),
    }
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn misbehaving_clients_do_not_affect_the_server() {
    let (_sim, dir, srv) = served(10).await;
    let path = server::socket_path(dir.path());
    for garbage in [
        &b"not json at all\n"[..],
        b"{\"t\":\"call\"}\n",
        b"\xff\xfe\n",
        b"{\"t\":\"hello\"",
    ] {
        let mut s = tokio::net::UnixStream::connect(&path)
            .await
            .expect("connect");
        let _ = s.write_all(garbage).await;
        drop(s);
    }
    // A client that subscribes and then vanishes mid-stream.
    let gone = client(dir.path()).await;
    gone.close().await;
    let ok = client(dir.path()).await;
    let counts: shukka::store::Counts = Backend::Remote(ok)
        .get(Request::Counts)
        .await
        .expect("still serving");
    assert!(counts.instructions() > 0);
    srv.shutdown().await;
}

/// The server as a child process, killed with SIGKILL and restarted: the console's client
/// reconnects by itself and its view matches the store again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_killed_and_restarted_the_client_reconnects_and_resynchronises() {
    let sim = start_sim(30, 100).await;
    let (engine, dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    drop(engine);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_shukka"))
            .arg("--data-dir")
            .arg(dir.path())
            .arg("serve")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("serve")
    };
    let wait_socket = || async {
        for _ in 0..100 {
            if RemoteClient::connect(&server::socket_path(dir.path()), false, false)
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server did not come up");
    };
    let mut child = spawn();
    wait_socket().await;
    let console = client(dir.path()).await;
    let mut link = console.connection();
    let mut events = console.subscribe();
    let backend = Backend::Remote(console.clone());
    let before: Vec<InstructionSummary> = backend
        .get(Request::Summaries { status: None })
        .await
        .expect("list");

    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    tokio::time::timeout(Duration::from_secs(5), async {
        while link.borrow().is_none() {
            link.changed().await.expect("watch");
        }
    })
    .await
    .expect("the client notices");
    let err = backend
        .call(Request::Counts)
        .await
        .expect_err("server is down");
    assert_eq!(err.kind, ErrorKind::Disconnected);

    // Meanwhile another process changes the store (the first server is gone, the socket is stale).
    {
        let store = shukka::store::Store::open(dir.path()).expect("reopens after SIGKILL");
        let e = shukka::engine::Engine::new(store).expect("engine");
        let first = before
            .iter()
            .find(|s| s.status == Status::Ready)
            .expect("ready");
        e.hold(first.id, None, "サーバー停止中に保留", &operator())
            .expect("hold");
    }
    let mut child = spawn();
    tokio::time::timeout(Duration::from_secs(10), async {
        while link.borrow().is_some() {
            link.changed().await.expect("watch");
        }
    })
    .await
    .expect("the client reconnects by itself");
    // It is told to reload, and the reload shows the current store. (The new server's
    // scheduler may take up the run the kill interrupted: its events can come first.)
    let reload = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let ev = events.recv().await.expect("recv");
            if ev.changes.contains(&shukka::store::Change::Reload) {
                break ev;
            }
        }
    })
    .await
    .expect("a reload is asked for");
    let after: Vec<InstructionSummary> = backend
        .get(Request::Summaries { status: None })
        .await
        .expect("list");
    let held: Vec<&InstructionSummary> =
        after.iter().filter(|s| s.status == Status::Held).collect();
    assert_eq!(held.len(), 1);
    assert_eq!(
        held[0].hold_reasons,
        vec!["サーバー停止中に保留".to_string()]
    );
    // A console app fed by this client converges to the same view.
    let mut app = shukka::tui::app::App::new(
        shukka::tui::text::text(shukka::tui::text::Lang::Ja),
        shukka::tui::theme::Theme { color: false },
        false,
    );
    app.update(shukka::tui::app::AppEvent::Summaries(Ok(before.clone())));
    app.update(shukka::tui::app::AppEvent::Store(reload));
    app.update(shukka::tui::app::AppEvent::Summaries(
        backend.summaries().await,
    ));
    for s in &after {
        assert_eq!(
            app.data.orders.row(s.id).map(|r| r.summary()).as_ref(),
            Some(s)
        );
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let status = child.wait().expect("wait");
    assert!(status.success(), "SIGTERM shuts down cleanly: {status:?}");
    assert!(!server::socket_path(dir.path()).exists());
}

/// 20 subscribed clients while 10,000 orders are synced: every client receives every event,
/// and the sync is not slowed much (the ratio is printed, not asserted: timing is measured in
/// benchmarks).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_subscribed_clients_receive_every_event_of_a_large_sync() {
    let sim = start_sim(10_000, 100).await;
    let mut times = Vec::new();
    for clients in [0usize, 20] {
        let (engine, dir) = engine_with_setup(&sim).await;
        let range = range_robot(&engine);
        // Only the measured run: the scheduled robots would fetch the same orders meanwhile.
        for r in engine.store().linkage_robots().expect("robots") {
            if r.id != range {
                engine
                    .set_linkage_enabled(r.id, false, &operator())
                    .expect("disable");
            }
        }
        drop(engine);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let srv = start_server(dir.path()).await;
        let published = Arc::new(AtomicU64::new(0));
        let mut source = srv.engine.subscribe();
        let p = published.clone();
        let counter = tokio::spawn(async move {
            while source.recv().await.is_ok() {
                p.fetch_add(1, Ordering::Relaxed);
            }
        });
        let mut receivers = Vec::new();
        for _ in 0..clients {
            let c = client(dir.path()).await;
            let mut rx = c.subscribe();
            let n = Arc::new(AtomicU64::new(0));
            let m = n.clone();
            receivers.push((
                c,
                n,
                tokio::spawn(async move {
                    while let Ok(ev) = rx.recv().await {
                        assert!(
                            !ev.changes.contains(&shukka::store::Change::Reload),
                            "a client lagged"
                        );
                        m.fetch_add(1, Ordering::Relaxed);
                    }
                }),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let base = published.load(Ordering::Relaxed);
        let caller = client(dir.path()).await;
        let started = Instant::now();
        let line: RunLogEntry = Backend::Remote(caller)
            .get(Request::RunRobot {
                id: range,
                range: None,
            })
            .await
            .expect("sync");
        let took = started.elapsed();
        assert_eq!(
            line.success + line.failure,
            open_orders(&sim) as u64,
            "{line:?}"
        );
        times.push(took);
        // Let the last events drain.
        let total = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let want = published.load(Ordering::Relaxed) - base;
                if receivers
                    .iter()
                    .all(|(_, n, _)| n.load(Ordering::Relaxed) >= want)
                {
                    return want;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("every client receives every event");
        if clients > 0 {
            assert!(
                total >= 100,
                "one event per committed page at least: {total}"
            );
            let counts: BTreeMap<u64, usize> = receivers
                .iter()
                .map(|(_, n, _)| (n.load(Ordering::Relaxed), 1))
                .collect();
            eprintln!(
                "events published during the sync: {total}; received per client: {:?}",
                counts.keys().collect::<Vec<_>>()
            );
        }
        for (c, _, t) in receivers {
            c.close().await;
            t.abort();
        }
        counter.abort();
        srv.shutdown().await;
    }
    eprintln!(
        "sync of 10,000 orders: {:?} without clients, {:?} with 20 subscribed clients (ratio {:.2})",
        times[0],
        times[1],
        times[1].as_secs_f64() / times[0].as_secs_f64()
    );
}
