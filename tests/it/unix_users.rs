//! Real Unix users for the tests where permissions are the point: a group of operators, an
//! admin group, a member of each and an outsider. Created with useradd/groupadd when the tests
//! run as root (CI does), removed when the fixture is dropped; without root the tests that need
//! them say so and skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

/// useradd and userdel lock /etc/passwd: one at a time within this process.
static ACCOUNTS: Mutex<()> = Mutex::new(());

#[derive(Clone, Debug)]
pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// A directory of the user's own (0700), for files it writes.
    pub home: PathBuf,
}

pub struct Users {
    /// Operators: may connect and work the queues.
    pub group: String,
    /// Admins: may change the setup too.
    pub admin_group: String,
    /// A member of `group`.
    pub op2: TestUser,
    /// In no group.
    pub op3: TestUser,
    /// A member of `group` and `admin_group`.
    pub admin: TestUser,
    _homes: tempfile::TempDir,
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn run(cmd: &str, args: &[&str]) {
    let _g = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
    for attempt in 0..20 {
        let out = Command::new(cmd).args(args).output().expect(cmd);
        if out.status.success() {
            return;
        }
        let err = String::from_utf8_lossy(&out.stderr);
        // Another process holding the account files' lock: try again shortly.
        if attempt < 19 && (err.contains("lock") || err.contains("try again")) {
            std::thread::sleep(std::time::Duration::from_millis(100));
            continue;
        }
        panic!("{cmd} {args:?}: {err}");
    }
}

fn user(name: &str, homes: &Path) -> TestUser {
    let u = nix::unistd::User::from_name(name)
        .expect("lookup")
        .expect("user exists");
    let home = homes.join(name);
    std::fs::create_dir(&home).expect("home");
    nix::unistd::chown(&home, Some(u.uid), Some(u.gid)).expect("chown home");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    TestUser {
        name: name.to_string(),
        uid: u.uid.as_raw(),
        gid: u.gid.as_raw(),
        home,
    }
}

impl Users {
    /// The users, or None (with a message) when not root.
    pub fn create(test: &str) -> Option<Users> {
        if !is_root() {
            eprintln!("skipped {test}: creating Unix users needs root (CI runs as root)");
            return None;
        }
        // Short, unique names (Unix names are at most 32 characters).
        let tag = format!(
            "{:x}{:x}",
            std::process::id() % 0xffff,
            rand_tag() % 0x00ff_ffff
        );
        let group = format!("shkg{tag}");
        let admin_group = format!("shka{tag}");
        run("groupadd", &[&group]);
        run("groupadd", &[&admin_group]);
        let (op2, op3, admin) = (
            format!("shko{tag}"),
            format!("shkx{tag}"),
            format!("shkd{tag}"),
        );
        run(
            "useradd",
            &["-M", "-N", "-s", "/bin/sh", "-G", &group, &op2],
        );
        run("useradd", &["-M", "-N", "-s", "/bin/sh", &op3]);
        run(
            "useradd",
            &[
                "-M",
                "-N",
                "-s",
                "/bin/sh",
                "-G",
                &format!("{group},{admin_group}"),
                &admin,
            ],
        );
        let homes = tempfile::Builder::new()
            .prefix("shukka-homes-")
            .tempdir()
            .expect("homes");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(homes.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod homes");
        }
        Some(Users {
            op2: user(&op2, homes.path()),
            op3: user(&op3, homes.path()),
            admin: user(&admin, homes.path()),
            group,
            admin_group,
            _homes: homes,
        })
    }
}

impl Drop for Users {
    fn drop(&mut self) {
        for u in [&self.op2, &self.op3, &self.admin] {
            run("userdel", &[&u.name]);
        }
        run("groupdel", &[&self.group]);
        run("groupdel", &[&self.admin_group]);
    }
}

fn rand_tag() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish()
}

/// The shukka binary where every user may run it (the build directory may sit under /root).
pub fn shared_binary() -> &'static Path {
    static BIN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &BIN.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("shukka-bin-")
            .tempdir()
            .expect("bin dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let bin = dir.path().join("shukka");
        std::fs::copy(env!("CARGO_BIN_EXE_shukka"), &bin).expect("copy the binary");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        (dir, bin)
    })
    .1
}

/// Runs `program args` as `user` (its uid, primary group and supplementary groups).
pub fn as_user(user: &TestUser, program: &Path, args: &[&str]) -> Output {
    Command::new("setpriv")
        .arg(format!("--reuid={}", user.uid))
        .arg(format!("--regid={}", user.gid))
        .arg("--init-groups")
        .arg("--")
        .arg(program)
        .args(args)
        .env("HOME", &user.home)
        .env("NO_COLOR", "1")
        .env_remove("SHUKKA_DATA_DIR")
        .current_dir(&user.home)
        .output()
        .expect("setpriv runs")
}

/// `shukka --data-dir DIR args…` as `user`.
pub fn shukka_as(user: &TestUser, dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--data-dir", dir.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    as_user(user, shared_binary(), &all)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
