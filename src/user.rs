//! The Unix user behind an action (the actor in the audit log).

/// The name of the user running this process.
pub fn current_user() -> String {
    user_name(nix::unistd::geteuid().as_raw())
}

/// The login name of `uid`, or `uid:N` when it has none.
pub fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => format!("uid:{uid}"),
    }
}
