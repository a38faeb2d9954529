//! Pseudo-terminal tests of the real binary (style guide §10 item 12(d)): `shukka demo` and
//! `shukka` (the console) run in a pty of a fixed size, their output is parsed with `vt100`, keys
//! are typed into the pty, and after `q` the terminal must be restored (main screen, cursor
//! shown, raw mode off). The calm-output test measures the bytes the console writes while idle
//! and per key press.
//!
//! A console started on a data directory may start `shukka serve` there in the background; each
//! test stops that server when its `Pty` is dropped. `SHUKKA_PTY_TRACE=1` prints the screen at
//! every point a test waited for.
//!
//! No panic test: nothing outside the process can make the console panic on its UI thread, and
//! no panic trigger is added to the product for a test; `src/tui/terminal.rs` restores in its
//! panic hook and its guard.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use crate::common::*;

const ROWS: u16 = 40;
const COLS: u16 = 120;
const BIN: &str = env!("CARGO_BIN_EXE_shukka");

/// Local-mode termios flags (`c_lflag`), to check raw mode from the master side.
#[cfg(target_os = "linux")]
const ICANON: u64 = 0o000_002;
#[cfg(target_os = "linux")]
const ECHO: u64 = 0o000_010;
#[cfg(not(target_os = "linux"))]
const ICANON: u64 = 0x100;
#[cfg(not(target_os = "linux"))]
const ECHO: u64 = 0x8;

/// What the reader thread collected.
struct Output {
    bytes: Vec<u8>,
    parser: vt100::Parser,
    /// The screen as of the last whole frame: the console draws each frame as a synchronized
    /// update, and a wait must never match a screen half old and half new (a read can end
    /// in the middle of a frame).
    frame: vt100::Screen,
    in_update: bool,
    last_data: Instant,
    eof: bool,
}

const BEGIN_UPDATE: &[u8] = b"\x1b[?2026h";
const END_UPDATE: &[u8] = b"\x1b[?2026l";

impl Output {
    /// Takes in what the reader read: parsed in pieces cut after each synchronized-update
    /// mark (a mark may straddle two reads), the frame kept whenever no update is open.
    fn take(&mut self, chunk: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(chunk);
        let mut from = start;
        for end in start + 1..=self.bytes.len() {
            let seen = &self.bytes[..end];
            let mark = if seen.ends_with(BEGIN_UPDATE) {
                Some(true)
            } else if seen.ends_with(END_UPDATE) {
                Some(false)
            } else {
                None
            };
            if let Some(open) = mark {
                self.parser.process(&self.bytes[from..end]);
                from = end;
                self.in_update = open;
                if !open {
                    self.frame = self.parser.screen().clone();
                }
            }
        }
        self.parser.process(&self.bytes[from..]);
        if !self.in_update {
            self.frame = self.parser.screen().clone();
        }
        self.last_data = Instant::now();
    }
}

/// One process in a pseudo-terminal. Dropping it kills the process if it is still running.
struct Pty {
    name: String,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    out: Arc<Mutex<Output>>,
    /// `c_lflag` of the pty before the process started (cooked mode).
    cooked_lflag: Option<u64>,
    /// The console's data directory: a `shukka serve` it started there is stopped on drop.
    data_dir: Option<PathBuf>,
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(dir) = &self.data_dir {
            stop_servers(dir);
        }
    }
}

/// Stops the servers listening in `dir`: a console started without one runs `shukka serve` in
/// the background (in a session of its own, so it outlives the console and the test). Each Unix
/// socket in the directory is asked for its peer's pid, which gets SIGTERM (SIGKILL after 10 s).
fn stop_servers(dir: &Path) {
    use nix::sys::signal::{Signal, kill};
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    use nix::unistd::Pid;
    use std::os::unix::fs::FileTypeExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if !e.file_type().is_ok_and(|t| t.is_socket()) {
            continue;
        }
        let Ok(stream) = std::os::unix::net::UnixStream::connect(e.path()) else {
            continue;
        };
        let Ok(cred) = getsockopt(&stream, PeerCredentials) else {
            continue;
        };
        drop(stream);
        let pid = Pid::from_raw(cred.pid());
        if pid.as_raw() <= 1 || pid == nix::unistd::getpid() {
            continue;
        }
        let _ = kill(pid, Signal::SIGTERM);
        let end = Instant::now() + Duration::from_secs(10);
        // Gone, or a zombie (the server is not our child: its reaper is whoever adopted it).
        let alive = |pid: Pid| {
            kill(pid, None).is_ok()
                && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|st| {
                    st.rsplit(')')
                        .next()
                        .is_some_and(|r| r.trim_start().starts_with('Z'))
                })
        };
        while alive(pid) {
            if Instant::now() > end {
                let _ = kill(pid, Signal::SIGKILL);
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

fn lflag(master: &dyn MasterPty) -> Option<u64> {
    master
        .get_termios()
        .map(|t| u64::from(t.local_flags.bits()))
}

impl Pty {
    /// Starts the binary with `args` in a fresh ROWS×COLS pty.
    fn spawn(name: &str, args: &[&str], envs: &[(&str, &str)]) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let cooked_lflag = lflag(pair.master.as_ref());
        let mut cmd = CommandBuilder::new(BIN);
        cmd.args(args);
        for var in ["SHUKKA_DATA_DIR", "NO_COLOR", "RUST_LOG", "COLORTERM"] {
            cmd.env_remove(var);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env("LANG", "C.UTF-8");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.cwd(std::env::temp_dir());
        let child = pair.slave.spawn_command(cmd).expect("spawn in pty");
        // Only the child holds the slave now: the reader sees EOF when it exits.
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let writer = pair.master.take_writer().expect("writer");
        let parser = vt100::Parser::new(nz(ROWS), nz(COLS), 0);
        let out = Arc::new(Mutex::new(Output {
            bytes: Vec::new(),
            frame: parser.screen().clone(),
            parser,
            in_update: false,
            last_data: Instant::now(),
            eof: false,
        }));
        let shared = Arc::clone(&out);
        thread::Builder::new()
            .name(format!("pty-reader-{name}"))
            .spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    let n = reader.read(&mut buf).unwrap_or(0);
                    let mut o = shared.lock().unwrap_or_else(|e| e.into_inner());
                    if n == 0 {
                        o.eof = true;
                        break;
                    }
                    o.take(&buf[..n]);
                }
            })
            .expect("reader thread");
        Pty {
            name: name.to_string(),
            master: pair.master,
            writer,
            child,
            out,
            cooked_lflag,
            data_dir: None,
        }
    }

    fn out(&self) -> MutexGuard<'_, Output> {
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn screen_text(&self) -> String {
        self.out().frame.contents()
    }

    fn row(&self, r: u16) -> String {
        self.out()
            .frame
            .rows(0, COLS)
            .nth(usize::from(r))
            .unwrap_or_default()
    }

    fn len(&self) -> usize {
        self.out().bytes.len()
    }

    fn bytes_since(&self, from: usize) -> Vec<u8> {
        self.out().bytes[from..].to_vec()
    }

    fn send(&mut self, keys: &str) {
        self.writer
            .write_all(keys.as_bytes())
            .expect("write to pty");
        self.writer.flush().expect("flush pty");
    }

    /// Sends keys one write at a time, so that each is its own terminal event.
    fn type_keys(&mut self, keys: &str) {
        for c in keys.chars() {
            let mut b = [0u8; 4];
            self.send(c.encode_utf8(&mut b));
            thread::sleep(Duration::from_millis(15));
        }
    }

    /// Polls the parsed screen until `ok` holds; on timeout, fails with the screen.
    /// `SHUKKA_PTY_TRACE=1` prints the screen each time a wait succeeds.
    fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&vt100::Screen) -> bool) {
        let end = Instant::now() + timeout;
        loop {
            {
                let o = self.out();
                if ok(&o.frame) {
                    if std::env::var_os("SHUKKA_PTY_TRACE").is_some() {
                        eprintln!("[{}] {what}:\n{}", self.name, o.frame.contents());
                    }
                    return;
                }
                if Instant::now() > end || o.eof {
                    panic!(
                        "[{}] timed out waiting for {what}{}; screen:\n{}",
                        self.name,
                        if o.eof {
                            " (the process closed the terminal)"
                        } else {
                            ""
                        },
                        o.frame.contents()
                    );
                }
            }
            thread::sleep(Duration::from_millis(25));
        }
    }

    fn wait_text(&self, needles: &[&str], timeout: Duration) {
        let what = format!("{needles:?}");
        self.wait_for(&what, timeout, |s| {
            let t = s.contents();
            needles.iter().all(|n| t.contains(n))
        });
    }

    /// Waits until nothing was written for `quiet`.
    fn wait_quiet(&self, quiet: Duration, timeout: Duration) {
        let end = Instant::now() + timeout;
        loop {
            let last = self.out().last_data;
            if last.elapsed() >= quiet {
                return;
            }
            assert!(
                Instant::now() < end,
                "[{}] the terminal output never settled within {timeout:?}",
                self.name
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the output to grow past `from`, then to settle: the bytes of one frame.
    fn frame_after(&self, from: usize) -> usize {
        let end = Instant::now() + Duration::from_secs(10);
        while self.len() == from {
            assert!(Instant::now() < end, "[{}] no frame was drawn", self.name);
            thread::sleep(Duration::from_millis(5));
        }
        self.wait_quiet(Duration::from_millis(150), Duration::from_secs(10));
        self.len() - from
    }

    fn wait_exit(&mut self, timeout: Duration) -> portable_pty::ExitStatus {
        let end = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                // Drain what the process wrote before exiting.
                let drained = Instant::now() + Duration::from_secs(5);
                while !self.out().eof && Instant::now() < drained {
                    thread::sleep(Duration::from_millis(10));
                }
                return st;
            }
            assert!(
                Instant::now() < end,
                "[{}] did not exit within {timeout:?}; screen:\n{}",
                self.name,
                self.screen_text()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn lflag(&self) -> Option<u64> {
        lflag(self.master.as_ref())
    }

    /// The console is in raw mode now (this proves the termios check sees the child's mode).
    fn assert_raw(&self) {
        let Some(l) = self.lflag() else {
            eprintln!(
                "[{}] the pty exposes no termios; raw mode not checked",
                self.name
            );
            return;
        };
        assert_eq!(
            l & (ICANON | ECHO),
            0,
            "[{}] raw mode: ICANON and ECHO off",
            self.name
        );
    }

    /// After exit: main screen, cursor shown, raw mode off, and the restoring sequences sent.
    fn assert_restored(&self, exit_bytes: &[u8]) {
        {
            let o = self.out();
            let s = &o.frame;
            assert!(
                !s.alternate_screen(),
                "[{}] still on the alternate screen",
                self.name
            );
            assert!(
                !s.hide_cursor(),
                "[{}] the cursor is still hidden",
                self.name
            );
        }
        assert!(
            contains(exit_bytes, b"\x1b[?1049l"),
            "[{}] leaves the alternate screen at exit",
            self.name
        );
        assert!(
            contains(exit_bytes, b"\x1b[?25h"),
            "[{}] shows the cursor at exit",
            self.name
        );
        match (self.lflag(), self.cooked_lflag) {
            (Some(after), Some(before)) => {
                assert_eq!(
                    after & (ICANON | ECHO),
                    ICANON | ECHO,
                    "[{}] raw mode is off: {after:#o}",
                    self.name
                );
                assert_eq!(
                    after, before,
                    "[{}] local modes as before the console started",
                    self.name
                );
            }
            _ => eprintln!(
                "[{}] the pty exposes no termios; checked the exit sequences only",
                self.name
            ),
        }
    }

    /// Terminal queries a bare pty (or a slow SSH link) cannot answer (§10 item 14).
    fn assert_no_terminal_queries(&self) {
        let o = self.out();
        for q in [&b"\x1b[6n"[..], b"\x1b[c", b"\x1b[>c", b"\x1b[?u"] {
            assert!(
                !contains(&o.bytes, q),
                "[{}] queried the terminal with {q:?}",
                self.name
            );
        }
    }
}

fn nz(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).expect("non-zero size")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// What the console writes during `window` of idleness. The window is placed within one
/// wall-clock minute: the sync age ("同期 N分前") changes on the minute, a real change.
fn idle_output(p: &Pty, window: Duration) -> Vec<u8> {
    within_one_minute(window);
    let from = p.len();
    thread::sleep(window);
    p.bytes_since(from)
}

/// Waits until a window of `len` starting now ends before the next wall-clock minute.
fn within_one_minute(len: Duration) {
    let into_minute = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() % 60_000)
            .unwrap_or(0)
    };
    // A second of margin on both sides.
    while !(1_000..60_000 - len.as_millis() - 1_000).contains(&into_minute()) {
        thread::sleep(Duration::from_millis(100));
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Order numbers (`1000` + 8 digits) on a line of the screen.
fn order_nos(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let n: String = chars[start..i].iter().collect();
            if n.len() == 12 && n.starts_with("1000") {
                out.push(n);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The table rows of the 出荷指示 screen: (order number, whole line).
fn table_rows(s: &vt100::Screen) -> Vec<(String, String)> {
    s.rows(0, COLS)
        .filter(|l| l.starts_with('│'))
        .filter_map(|l| order_nos(&l).into_iter().next().map(|n| (n, l)))
        .collect()
}

/// The queue counts of the dashboard's キュー panel (left part of the screen).
fn dashboard_total(s: &vt100::Screen) -> usize {
    let names = [
        "入金確認",
        "保留",
        "出荷待ち",
        "出荷作業中",
        "出荷済み",
        "キャンセル",
        "取込エラー",
        "実績連携エラー",
    ];
    s.rows(0, COLS * 55 / 100)
        .filter(|l| {
            names
                .iter()
                .any(|n| l.trim_start_matches(['│', ' ']).starts_with(n))
        })
        .filter_map(|l| {
            l.trim_end()
                .trim_end_matches('│')
                .split_whitespace()
                .last()
                .and_then(|n| n.parse::<usize>().ok())
        })
        .sum()
}

/// The count shown on a queue tab of the 出荷指示 screen (` 出荷待ち 42 `).
fn queue_tab_count(s: &vt100::Screen, queue: &str) -> Option<usize> {
    let line = s
        .rows(0, COLS)
        .find(|l| l.contains("入金確認") && l.contains("出荷待ち") && !l.contains('│'))?;
    let mut words = line.split_whitespace();
    words.find(|w| *w == queue)?;
    words.next()?.parse().ok()
}

/// The filter line of the 出荷指示 screen: `絞り込み: TEXT   (n)`.
fn filter_line(s: &vt100::Screen) -> Option<(String, usize)> {
    let line = s
        .rows(0, COLS)
        .find(|l| l.trim_start().starts_with("絞り込み:"))?;
    let (text, count) = line
        .trim_start()
        .strip_prefix("絞り込み:")?
        .rsplit_once('(')?;
    let n = count.split(')').next()?.trim().parse().ok()?;
    Some((text.trim().to_string(), n))
}

/// The number of matches the filter line shows.
fn filter_count(s: &vt100::Screen) -> Option<usize> {
    filter_line(s).map(|(_, n)| n)
}

// ----------------------------------------------------------------------------------------
// A data directory where nothing changes: setup applied, orders fetched, robots disabled.

struct Prepared {
    dir: PathBuf,
    /// Orders the fetch takes in (the simulator's unshipped ones).
    orders: usize,
    _sim: shukka::sim::SimHandle,
    _rt: tokio::runtime::Runtime,
    _tmp: tempfile::TempDir,
}

fn cli(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("SHUKKA_DATA_DIR")
        .env("FS_TEST_SECRET", "demo-secret")
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "shukka {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// 150 orders fetched once (133 of them 出荷待ち), then every linkage robot disabled, so the
/// console's scheduler has nothing to do.
fn calm_data_dir() -> Prepared {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let sim = rt.block_on(start_sim(150, 100));
    let orders = open_orders(&sim);
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("data");
    let setup = tmp.path().join("setup.toml");
    std::fs::write(&setup, setup_toml(&sim, "FS_TEST_SECRET")).expect("write setup");
    cli(&dir, &["setup", "apply", setup.to_str().expect("path")]);
    cli(&dir, &["sync", "--once"]);
    let list: serde_json::Value =
        serde_json::from_str(&cli(&dir, &["robots", "list", "--format", "json"]))
            .expect("robots json");
    let linkage = list["linkage"].as_array().expect("linkage robots");
    assert!(!linkage.is_empty());
    for l in linkage {
        let id = l["robot"]["id"].as_u64().expect("robot id");
        cli(&dir, &["robots", "disable", &id.to_string()]);
    }
    Prepared {
        dir,
        orders,
        _sim: sim,
        _rt: rt,
        _tmp: tmp,
    }
}

fn console(name: &str, dir: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Pty {
    let d = dir.to_str().expect("utf-8 path");
    let mut args = vec!["--data-dir", d];
    args.extend_from_slice(extra);
    let mut p = Pty::spawn(name, &args, envs);
    p.data_dir = Some(dir.to_path_buf());
    p
}

/// Opens 出荷指示 and waits for a full page of 出荷待ち rows.
fn open_full_list(p: &mut Pty) {
    p.send("2");
    p.wait_for("a full page of 出荷待ち rows", secs(20), |s| {
        queue_tab_count(s, "出荷待ち").is_some()
            && s.contents().contains("受注コード")
            && table_rows(s).len() >= usize::from(ROWS) - 8
    });
}

// ----------------------------------------------------------------------------------------

#[test]
fn demo_dashboard_tabs_filter_quit_and_the_terminal_is_restored() {
    let started = Instant::now();
    let mut p = Pty::spawn(
        "demo",
        &[
            "demo",
            "--orders",
            "80",
            "--orders-per-min",
            "6",
            "--seed",
            "3",
        ],
        &[("NO_COLOR", "1")],
    );
    p.wait_for("the dashboard with non-zero queue counts", secs(30), |s| {
        let t = s.contents();
        s.alternate_screen()
            && t.contains("ダッシュボード")
            && t.contains("キュー")
            && dashboard_total(s) > 0
    });
    p.assert_raw();

    // 2 出荷指示: queue tabs, header, rows.
    p.send("2");
    p.wait_for("出荷指示 with rows", secs(15), |s| {
        let t = s.contents();
        // The queue tabs tell this screen from the dashboard's 新着 pane.
        queue_tab_count(s, "出荷待ち").is_some()
            && t.contains("受注コード")
            && table_rows(s).len() > 3
    });
    let (before, ready) = {
        let o = p.out();
        (table_rows(&o.frame), queue_tab_count(&o.frame, "出荷待ち"))
    };
    let ready = ready.expect("出荷待ち count on the queue tabs");
    let (no, first_line) = before[0].clone();

    // Filter by order number: exactly that row; Esc clears.
    p.send("/");
    p.wait_text(&["絞り込み:"], secs(10));
    p.type_keys(&no);
    p.wait_for("only the filtered order", secs(10), |s| {
        let rows = table_rows(s);
        filter_line(s) == Some((no.clone(), 1)) && rows.len() == 1 && rows[0].0 == no
    });
    p.send("\x1b");
    p.wait_for("the filter cleared", secs(10), |s| {
        filter_count(s).is_none() && table_rows(s).len() > 3
    });

    // Filter by the customer's family name (typed as UTF-8 through the terminal).
    let after_no = first_line
        .split(no.as_str())
        .nth(1)
        .expect("row after the number");
    let family = after_no
        .split_whitespace()
        .nth(2) // date, time, then the name
        .expect("customer name")
        .to_string();
    assert!(
        !family.is_ascii() && !family.contains('…'),
        "a whole Japanese name: {family:?} in {first_line:?}"
    );
    p.send("/");
    p.wait_text(&["絞り込み:"], secs(10));
    p.type_keys(&family);
    p.wait_for("rows of that customer only", secs(10), |s| {
        let rows = table_rows(s);
        let Some((text, n)) = filter_line(s) else {
            return false;
        };
        text == family
            && n >= 1
            && n < ready
            && (n > 20 || rows.len() == n)
            && rows.iter().all(|(_, l)| l.contains(family.as_str()))
            && rows.iter().any(|(o, _)| *o == no)
    });
    p.send("\x1b");
    p.wait_for("the filter cleared", secs(10), |s| {
        filter_count(s).is_none() && table_rows(s).len() > 3
    });

    // 3 ロボット, 4 セットアップ (7/7 once the setup ran and the first fetch is done), 5 ログ.
    p.send("3");
    p.wait_text(&["変換ロボット", "処理ロボット", "連携ロボット"], secs(10));
    p.send("4");
    p.wait_text(&["セットアップ 7/7"], secs(30));
    p.send("5");
    p.wait_text(&["APIログ"], secs(10));

    let at_quit = p.len();
    p.send("q");
    let status = p.wait_exit(secs(20));
    assert!(status.success(), "exit status {status:?}");
    p.assert_restored(&p.bytes_since(at_quit));
    p.assert_no_terminal_queries();
    eprintln!("demo pty test: {:?}", started.elapsed());
}

/// The setup progress `N` of `セットアップ N/7`, where the screen shows it.
fn setup_done(s: &vt100::Screen) -> Option<usize> {
    let t = s.contents();
    t.match_indices("セットアップ ").find_map(|(at, m)| {
        let rest = &t[at + m.len()..];
        let (n, total) = rest.split_once('/')?;
        total.starts_with('7').then_some(())?;
        n.parse().ok()
    })
}

/// `shukka demo --fresh`: nothing is set up, and the setup guide is walked in the console with
/// Enter (and `y` to confirm) alone — each ✗ leads to its form or to the guide's step, the
/// cursor moves on by itself, and the last step's test fetch brings 7/7.
#[test]
fn demo_fresh_walks_the_setup_guide_to_7_of_7_by_keys() {
    let started = Instant::now();
    let mut p = Pty::spawn(
        "demo-fresh",
        &[
            "demo",
            "--fresh",
            "--orders",
            "40",
            "--orders-per-min",
            "0",
            "--seed",
            "5",
        ],
        &[("NO_COLOR", "1")],
    );
    p.wait_text(&["ダッシュボード", "セットアップ: 0/7"], secs(30));
    p.send("4");
    p.wait_for("the guide at 0/7", secs(15), |s| setup_done(s) == Some(0));
    let mut done = 0;
    let mut keys = 0;
    while done < 7 {
        assert!(keys < 20, "too many keys for the guide");
        p.send("\r");
        keys += 1;
        // Enter opened a form (prefilled with the demo shop: Enter saves it) or a confirm
        // dialog for the guide's step (y runs it).
        p.wait_for("a form or a confirm dialog", secs(15), |s| {
            let t = s.contents();
            t.contains("Enter 保存") || t.contains("実行 (y)")
        });
        let form = p.screen_text().contains("Enter 保存");
        p.send(if form { "\r" } else { "y" });
        keys += 1;
        let before = done;
        p.wait_for("the next item ✓", secs(60), |s| {
            setup_done(s).is_some_and(|n| n > before)
                && !s.contents().contains("Enter 保存")
                && !s.contents().contains("実行 (y)")
        });
        done = setup_done(&p.out().frame.clone()).unwrap_or(before);
    }
    p.wait_text(&["セットアップ 7/7"], secs(30));
    // The orders the test fetch took in are there.
    p.send("1");
    p.wait_for("orders on the dashboard", secs(30), |s| {
        dashboard_total(s) > 0
    });
    p.send("q");
    let status = p.wait_exit(secs(20));
    assert!(status.success(), "exit status {status:?}");
    eprintln!(
        "demo --fresh pty test: {keys} keys, {:?}",
        started.elapsed()
    );
}

/// Idle means no output to the terminal at all; a cursor move costs a small frame.
#[test]
fn calm_console_writes_nothing_when_idle_and_little_per_key() {
    let started = Instant::now();
    let data = calm_data_dir();
    let prepared = started.elapsed();
    let mut p = console("calm", &data.dir, &[], &[]);
    p.wait_for("the dashboard with the fetched orders", secs(20), |s| {
        s.contents().contains("キュー") && dashboard_total(s) >= data.orders
    });
    p.wait_quiet(Duration::from_millis(1500), secs(20));

    let written = idle_output(&p, secs(3));
    let idle = written.len();
    println!("calm console: {idle} bytes written in 3 s idle (dashboard)");
    assert_eq!(
        idle,
        0,
        "idle wrote to the terminal: {:?}",
        String::from_utf8_lossy(&written)
    );

    open_full_list(&mut p);
    p.wait_quiet(Duration::from_millis(500), secs(10));
    let idle = idle_output(&p, secs(3)).len();
    println!("calm console: {idle} bytes written in 3 s idle (出荷指示, full list)");
    assert_eq!(idle, 0, "idle wrote to the terminal");

    // The first page, to compare with what the terminal shows after it scrolled.
    let first_page: Vec<String> = table_rows(&p.out().frame)
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    // j: the cursor moves down one row (no scrolling).
    let mut moves = Vec::new();
    for _ in 0..8 {
        let from = p.len();
        p.send("j");
        moves.push(p.frame_after(from));
        // Each frame is one synchronized update: a terminal never shows half of it.
        let bytes = p.bytes_since(from);
        assert!(
            bytes.starts_with(BEGIN_UPDATE) && bytes.ends_with(END_UPDATE),
            "a frame outside a synchronized update: {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
    // Bring the cursor to the last visible row, then each j scrolls the table by one row.
    let height = usize::from(ROWS) - 3 - 1 - 2 - 1; // chrome, queue tabs, borders, header
    let from = p.len();
    p.send(&"j".repeat(height - 1 - moves.len()));
    p.frame_after(from);
    let mut scrolls = Vec::new();
    for _ in 0..5 {
        let from = p.len();
        p.send("j");
        scrolls.push(p.frame_after(from));
    }
    // The table scrolled five rows (the terminal moved the lines: a scroll region): what it
    // shows is the first page moved up by five, line for line, and five rows that follow.
    let scrolled: Vec<String> = table_rows(&p.out().frame)
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert_eq!(scrolled.len(), first_page.len(), "{scrolled:#?}");
    assert_eq!(
        &scrolled[..scrolled.len() - 5],
        &first_page[5..],
        "the scrolled screen is the first page moved up by five"
    );
    let nos: Vec<String> = scrolled
        .iter()
        .filter_map(|l| order_nos(l).into_iter().next())
        .collect();
    assert!(nos.windows(2).all(|w| w[0] != w[1]), "{nos:?}");
    println!("calm console: bytes per j (cursor move): {moves:?}");
    println!("calm console: bytes per j (table scrolls one row): {scrolls:?}");
    // Issue 16 §6: ≤ 4 KB per j, also when the table scrolls (the terminal moves the lines).
    for n in moves.iter().chain(&scrolls) {
        assert!(*n <= 4096, "one j press wrote {n} bytes (budget 4 KB)");
    }

    // The full help lists the changing actions (the --read-only test checks they vanish).
    p.send("?");
    p.wait_text(&["キー操作", "保留", "キャンセル", "(確認あり)"], secs(10));
    p.send("\x1b");
    p.wait_quiet(Duration::from_millis(300), secs(10));

    let at_quit = p.len();
    p.send("q");
    let status = p.wait_exit(secs(20));
    assert!(status.success(), "exit status {status:?}");
    p.assert_restored(&p.bytes_since(at_quit));
    p.assert_no_terminal_queries();
    eprintln!(
        "calm pty test: {:?} (data dir prepared in {prepared:?})",
        started.elapsed()
    );
}

/// The 10-second idle window for the performance notes (slow, so run on demand:
/// `cargo test --test it -- --ignored --nocapture calm_console_idle_10s`).
#[test]
#[ignore]
fn calm_console_idle_10s_window() {
    let data = calm_data_dir();
    let mut p = console("idle10", &data.dir, &[], &[]);
    open_full_list(&mut p);
    p.wait_quiet(Duration::from_millis(1500), secs(20));
    let idle = idle_output(&p, secs(10)).len();
    println!("calm console: {idle} bytes written in 10 s idle (出荷指示, full list)");
    assert_eq!(idle, 0);
    p.send("q");
    assert!(p.wait_exit(secs(20)).success());
}

#[test]
fn read_only_console_has_no_changing_keys() {
    let data = calm_data_dir();
    let mut p = console(
        "read-only",
        &data.dir,
        &["--read-only"],
        &[("NO_COLOR", "1")],
    );
    p.wait_text(&["閲覧専用", "キュー"], secs(20));
    // The first clock tick (after 1 s) draws an empty frame (25 bytes): let it pass.
    p.wait_quiet(Duration::from_millis(1500), secs(20));
    open_full_list(&mut p);

    let hints = p.row(ROWS - 1);
    assert!(hints.contains("絞り込み"), "hint bar: {hints}");
    for gone in ["保留", "出荷済み", "キャンセル"] {
        assert!(!hints.contains(gone), "hint bar offers {gone}: {hints}");
    }

    // The help popup covers the body (rows 1 ..= ROWS-3); its last line is the command help.
    p.send("?");
    p.wait_text(&["キー操作", ":q 終了"], secs(10));
    let body: Vec<String> = (1..ROWS - 2).map(|r| p.row(r)).collect();
    for gone in [
        "保留",
        "キャンセル",
        "出荷済み",
        "出荷作業開始",
        "(確認あり)",
    ] {
        assert!(
            body.iter().all(|l| !l.contains(gone)),
            "help offers {gone}:\n{}",
            body.join("\n")
        );
    }
    p.send("\x1b");
    p.wait_for("the help closed", secs(10), |s| {
        !s.contents().contains("キー操作")
    });
    p.wait_quiet(Duration::from_millis(500), secs(10));

    // H (hold) does nothing at all: no popup, no message, not a byte written. (Not across a
    // minute boundary: the sync age repaints on the minute.)
    let sec = chrono::Local::now().timestamp() % 60;
    if sec >= 57 {
        thread::sleep(Duration::from_secs((61 - sec) as u64));
        p.wait_quiet(Duration::from_millis(500), secs(10));
    }
    let screen = p.screen_text();
    let from = p.len();
    p.send("H");
    thread::sleep(Duration::from_millis(800));
    assert_eq!(
        p.len(),
        from,
        "H changed the screen: {:?}",
        String::from_utf8_lossy(&p.bytes_since(from))
    );
    assert_eq!(p.screen_text(), screen);

    let at_quit = p.len();
    p.send("q");
    let status = p.wait_exit(secs(20));
    assert!(status.success(), "exit status {status:?}");
    p.assert_restored(&p.bytes_since(at_quit));
}

/// A second console on a data directory that is already open.
///
/// Two behaviours, by design of the code base at the time of writing (the server was landing):
/// - store-in-the-console (before `shukka serve`): the second process cannot open the locked
///   store and must exit with a clear message naming another shukka process;
/// - server (a console connects to the data directory's `shukka serve`, starting it if needed):
///   the second console opens the same dashboard and quits cleanly.
///
/// A second console on the same data directory works (through the server the first one
/// started) instead of failing on the store's lock.
#[test]
fn second_console_on_same_data_dir() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("data");
    let mut first = console("first", &dir, &[], &[("NO_COLOR", "1")]);
    first.wait_text(&["ダッシュボード", "キュー"], secs(20));
    first.wait_quiet(Duration::from_millis(500), secs(10));

    let mut second = console("second", &dir, &[], &[("NO_COLOR", "1")]);
    second.wait_text(&["ダッシュボード", "キュー", "未同期"], secs(20));
    second.send("4");
    second.wait_text(&["セットアップ ", "API認証設定: -"], secs(10));
    let at_quit = second.len();
    second.send("q");
    let status = second.wait_exit(secs(20));
    assert!(status.success(), "second console exit status {status:?}");
    second.assert_restored(&second.bytes_since(at_quit));

    // The first console is unaffected.
    first.send("4");
    first.wait_text(&["セットアップ ", "API認証設定: -"], secs(10));
    let at_quit = first.len();
    first.send("q");
    assert!(first.wait_exit(secs(20)).success());
    first.assert_restored(&first.bytes_since(at_quit));
}

/// A console on a data directory whose store another process holds (here: this test process)
/// says so clearly and leaves the terminal as it was.
#[test]
fn console_on_a_locked_data_dir_says_so() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("data");
    let held = shukka::store::Store::open(&dir).expect("store opens");
    let mut p = console("locked", &dir, &[], &[("NO_COLOR", "1")]);
    let status = p.wait_exit(secs(25));
    let said = String::from_utf8_lossy(&p.bytes_since(0)).into_owned();
    assert!(!status.success(), "{said}");
    assert!(
        said.contains("in use by another shukka process"),
        "a clear message: {said:?}"
    );
    assert!(!p.out().frame.alternate_screen());
    drop(held);
}
