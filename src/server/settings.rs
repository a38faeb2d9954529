//! `DATA/serve.toml`: the server's settings that belong to the data directory, so that a
//! server started in the background by a console keeps the group its owner set up.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const FILE: &str = "serve.toml";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSettings {
    /// Members may connect and work the queues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Members may also change the setup (they must be members of `group` too, to reach the
    /// socket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_group: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--admin-group needs --group (admins reach the socket as members of the group)")]
    AdminWithoutGroup,
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

impl ServeSettings {
    /// The stored settings (none stored: no group).
    pub fn load(dir: &Path) -> Result<ServeSettings, SettingsError> {
        let p = path(dir);
        match std::fs::read_to_string(&p) {
            Ok(text) => toml::from_str(&text).map_err(|e| SettingsError::Read {
                path: p,
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ServeSettings::default()),
            Err(e) => Err(SettingsError::Read {
                path: p,
                detail: e.to_string(),
            }),
        }
    }

    /// Writes the settings (owner-only), replacing the file atomically.
    pub fn save(&self, dir: &Path) -> Result<(), SettingsError> {
        let p = path(dir);
        let err = |source| SettingsError::Write {
            path: p.clone(),
            source,
        };
        let text = toml::to_string(self).unwrap_or_default();
        let tmp = dir.join(".serve.toml.tmp");
        {
            use std::io::Write;
            let mut f = crate::store::create_private_file(&tmp).map_err(err)?;
            f.write_all(
                format!("# written by `shukka serve`; see docs/server.md\n{text}").as_bytes(),
            )
            .and_then(|_| f.sync_all())
            .map_err(err)?;
        }
        std::fs::rename(&tmp, &p).map_err(err)
    }

    /// What `shukka serve` runs with: the flags when given (and then stored), else what is
    /// stored. `no_group` forgets the stored groups.
    pub fn resolve(
        dir: &Path,
        group: Option<String>,
        admin_group: Option<String>,
        no_group: bool,
    ) -> Result<ServeSettings, SettingsError> {
        let stored = ServeSettings::load(dir)?;
        let wanted = if no_group {
            ServeSettings::default()
        } else if group.is_some() || admin_group.is_some() {
            ServeSettings {
                group: group.or(stored.group.clone()),
                admin_group,
            }
        } else {
            stored.clone()
        };
        if wanted.admin_group.is_some() && wanted.group.is_none() {
            return Err(SettingsError::AdminWithoutGroup);
        }
        if wanted != stored {
            wanted.save(dir)?;
        }
        Ok(wanted)
    }
}
