//! Secrets at rest: sealed with a key file that only the server's user can read.
//!
//! The client secret (and, later, webhook URLs and SMTP passwords) is kept in the store's
//! `secrets` tree sealed with XChaCha20-Poly1305 under `DATA/secret.key` (32 random bytes,
//! owner-only, created on first use). A copied store, or a stray copy of `store/db`, carries no
//! usable secret without that file. The tree key is the associated data, so a sealed value moved
//! to another record does not open.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

/// Sealed values start with this, so that plain values of older builds are recognised (and
/// sealed on the next open).
const MAGIC: &[u8; 4] = b"SKS1";
const NONCE: usize = 24;

pub const KEY_FILE: &str = "secret.key";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("cannot read or create the secret key {path}: {detail}")]
    KeyFile { path: PathBuf, detail: String },
    #[error(
        "a stored secret cannot be opened with {path} (the key file is missing or is not the one it was sealed with): enter the secret again"
    )]
    Open { path: PathBuf },
}

/// The key, loaded once. `Debug` never shows it.
pub struct SealKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(********)")
    }
}

pub fn key_path(dir: &Path) -> PathBuf {
    dir.join(KEY_FILE)
}

/// Reads the key file, if there is one. A key file that others may read is made owner-only.
pub fn load(dir: &Path) -> Result<Option<SealKey>, SealError> {
    use std::os::unix::fs::PermissionsExt;
    let path = key_path(dir);
    let err = |detail: String| SealError::KeyFile {
        path: path.clone(),
        detail,
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(e.to_string())),
    };
    if let Ok(meta) = std::fs::metadata(&path)
        && meta.permissions().mode() & 0o077 != 0
    {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| err(e.to_string()))?;
    }
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| err(format!("expected 32 bytes, found {}", bytes.len())))?;
    Ok(Some(SealKey::from_bytes(&key)))
}

/// The key file, created (owner-only, never replacing an existing one) when there is none.
pub fn load_or_create(dir: &Path) -> Result<SealKey, SealError> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(k) = load(dir)? {
        return Ok(k);
    }
    let path = key_path(dir);
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path);
    match created {
        Ok(mut f) => {
            f.write_all(&key)
                .and_then(|_| f.sync_all())
                .map_err(|e| SealError::KeyFile {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
            Ok(SealKey::from_bytes(&key))
        }
        // Created meanwhile by someone else: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            load(dir)?.ok_or(SealError::KeyFile {
                path,
                detail: "vanished while being created".into(),
            })
        }
        Err(e) => Err(SealError::KeyFile {
            path,
            detail: e.to_string(),
        }),
    }
}

impl SealKey {
    fn from_bytes(key: &[u8; 32]) -> SealKey {
        SealKey {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce cannot fail for in-memory data.
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            .unwrap_or_default();
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE + ct.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// The plain value, or None when `sealed` was not sealed with this key for `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let body = sealed.strip_prefix(MAGIC.as_slice())?;
        if body.len() < NONCE {
            return None;
        }
        let (nonce, ct) = body.split_at(NONCE);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .ok()
    }
}

pub fn is_sealed(value: &[u8]) -> bool {
    value.starts_with(MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_record() {
        let dir = tempfile::tempdir().expect("tmp");
        let k = load_or_create(dir.path()).expect("key");
        let sealed = k.seal(b"auth/1", b"demo-secret");
        assert!(is_sealed(&sealed));
        assert!(!sealed.windows(11).any(|w| w == b"demo-secret"));
        assert_eq!(
            k.open(b"auth/1", &sealed).as_deref(),
            Some(&b"demo-secret"[..])
        );
        assert_eq!(k.open(b"auth/2", &sealed), None, "bound to its record");
        let other = tempfile::tempdir().expect("tmp");
        let k2 = load_or_create(other.path()).expect("key");
        assert_eq!(k2.open(b"auth/1", &sealed), None, "bound to its key");
        // The key file is owner-only and reused.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key_path(dir.path()))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = load_or_create(dir.path()).expect("key");
        assert_eq!(
            again.open(b"auth/1", &sealed).as_deref(),
            Some(&b"demo-secret"[..])
        );
        assert_eq!(format!("{again:?}"), "SealKey(********)");
    }
}
