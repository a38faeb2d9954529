//! Who may do what: decided from the socket's peer credentials and the Unix groups the server
//! was told about, never from anything a client sends.

use nix::unistd::{Gid, Group, Uid, User};

use crate::service::Role;

/// A Unix group by name and id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedGroup {
    pub name: String,
    pub gid: Gid,
}

impl NamedGroup {
    pub fn lookup(name: &str) -> Option<NamedGroup> {
        Group::from_name(name).ok().flatten().map(|g| NamedGroup {
            name: g.name,
            gid: g.gid,
        })
    }
}

#[derive(Clone, Debug)]
pub struct Access {
    /// The server's own user.
    pub owner: u32,
    /// Members may connect and work the queues.
    pub group: Option<NamedGroup>,
    /// Members may also change the setup.
    pub admin_group: Option<NamedGroup>,
}

impl Access {
    pub fn new(group: Option<NamedGroup>, admin_group: Option<NamedGroup>) -> Access {
        Access {
            owner: nix::unistd::geteuid().as_raw(),
            group,
            admin_group,
        }
    }

    /// The role of `uid`, or None when it may not use this server at all.
    pub fn role(&self, uid: u32) -> Option<Role> {
        if uid == self.owner {
            return Some(Role::Owner);
        }
        if self
            .admin_group
            .as_ref()
            .is_some_and(|g| is_member(uid, g.gid))
        {
            return Some(Role::Admin);
        }
        if self.group.as_ref().is_some_and(|g| is_member(uid, g.gid)) {
            return Some(Role::Operator);
        }
        None
    }
}

/// Whether `uid` belongs to `gid` (as primary or supplementary group, as the group database
/// says now — a member removed from the group loses access at the next connection).
pub fn is_member(uid: u32, gid: Gid) -> bool {
    let Ok(Some(user)) = User::from_uid(Uid::from_raw(uid)) else {
        return false;
    };
    if user.gid == gid {
        return true;
    }
    let Ok(name) = std::ffi::CString::new(user.name) else {
        return false;
    };
    nix::unistd::getgrouplist(&name, user.gid).is_ok_and(|groups| groups.contains(&gid))
}
