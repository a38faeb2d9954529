//! Key layout of the `data` tree. One tree with one-byte prefixes, so that every logical write
//! (a fetched page, an operator action) is a single atomic sled batch. (Schema 1 also had `s`,
//! `o` and `E` index keys; schema 2 keeps those indexes in memory.)

pub const INSTRUCTION: u8 = b'i';
pub const SUMMARY: u8 = b'v';
pub const INTAKE: u8 = b'e';
pub const PRODUCT: u8 = b'p';
pub const SHIP_FROM: u8 = b'f';
pub const AUTH: u8 = b'a';
pub const CONVERTER: u8 = b'C';
pub const PROCESSING: u8 = b'P';
pub const LINKAGE: u8 = b'L';
pub const CONFIG: u8 = b'c';
pub const CURSOR: u8 = b'k';
pub const RUN: u8 = b'l';
pub const AUDIT: u8 = b'h';
pub const AUDIT_BY_INSTRUCTION: u8 = b'H';
pub const META: u8 = b'm';
/// Instructions whose order detail is still to be read (value: the API認証設定 id).
pub const DETAIL_PENDING: u8 = b'd';
/// Alerts waiting for (or already given to) their notification targets, by sequence.
pub const ALERT: u8 = b'n';
/// Per notification target: what it was sent last and when it may be tried again.
pub const NOTIFY_STATE: u8 = b'N';
/// 同梱 groups, by id.
pub const BUNDLE: u8 = b'b';
/// Instructions changed since the index snapshot was saved (empty values): an open after a
/// crash reads the snapshot and then only these, instead of every summary.
pub const DIRTY: u8 = b'D';

pub fn id_key(prefix: u8, id: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(prefix);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

pub fn str_key(prefix: u8, s: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + s.len());
    k.push(prefix);
    k.extend_from_slice(s.as_bytes());
    k
}

pub fn audit_instruction_key(instruction_id: u64, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(AUDIT_BY_INSTRUCTION);
    k.extend_from_slice(&instruction_id.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn be_u64(bytes: &[u8]) -> Option<u64> {
    let arr: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Some(u64::from_be_bytes(arr))
}
