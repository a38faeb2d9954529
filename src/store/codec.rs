//! How records are compressed: zstd with a dictionary trained on orders. Instruction records
//! (MessagePack with field names, so that a field added later reads as its default) and the
//! summaries kept beside them share most of their text — our field names, futureshop's JSON
//! keys, prefectures, service names — so a dictionary takes an instruction record of ~6 KB to
//! ~400 bytes (lz4 alone, schema 3's records, still read, left ~3 KB) and a summary of ~470
//! bytes of JSON to about a quarter.
//!
//! The dictionaries are data in the binary (`*.zdict`, trained from the seeded simulator by
//! `SHUKKA_UPDATE_DICT=1 cargo test --test it store_dictionary`, which writes `*.zdict.new`
//! beside a shipped one). They are never changed in place: a record names its dictionary by
//! its tag byte, so a better dictionary later is a new tag (and a new `Dict`), and records of
//! the old one stay readable.

use std::cell::RefCell;
use std::sync::OnceLock;

/// A dictionary, and the tag byte of the records compressed with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dict {
    /// Instruction records (tag 3).
    Instruction,
    /// Instruction summaries (tag 4).
    Summary,
}

const INSTRUCTION_DICT: &[u8] = include_bytes!("instruction.zdict");
const SUMMARY_DICT: &[u8] = include_bytes!("summary.zdict");

impl Dict {
    pub const ALL: [Dict; 2] = [Dict::Instruction, Dict::Summary];

    pub fn tag(self) -> u8 {
        match self {
            Dict::Instruction => 3,
            Dict::Summary => 4,
        }
    }

    pub fn bytes(self) -> &'static [u8] {
        match self {
            Dict::Instruction => INSTRUCTION_DICT,
            Dict::Summary => SUMMARY_DICT,
        }
    }

    /// Where a maintainer's training writes it.
    pub fn file_name(self) -> &'static str {
        match self {
            Dict::Instruction => "instruction.zdict",
            Dict::Summary => "summary.zdict",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// zstd's level: 3 is its default — most of the gain comes from the dictionary.
const LEVEL: i32 = 3;

/// A record is never larger than this once decompressed (a futureshop order is a few KB; a
/// damaged size field must not make us allocate gigabytes).
const MAX_RECORD: u64 = 64 * 1024 * 1024;

type Enc = zstd::dict::EncoderDictionary<'static>;
type Dec = zstd::dict::DecoderDictionary<'static>;

fn encoder_dict(d: Dict) -> &'static Enc {
    static D: [OnceLock<Enc>; 2] = [OnceLock::new(), OnceLock::new()];
    D[d.slot()].get_or_init(|| Enc::copy(d.bytes(), LEVEL))
}

fn decoder_dict(d: Dict) -> &'static Dec {
    static D: [OnceLock<Dec>; 2] = [OnceLock::new(), OnceLock::new()];
    D[d.slot()].get_or_init(|| Dec::copy(d.bytes()))
}

type Compressors = [Option<zstd::bulk::Compressor<'static>>; 2];
type Decompressors = [Option<zstd::bulk::Decompressor<'static>>; 2];

thread_local! {
    static COMPRESSORS: RefCell<Compressors> = const { RefCell::new([None, None]) };
    static DECOMPRESSORS: RefCell<Decompressors> = const { RefCell::new([None, None]) };
}

/// `bytes` compressed with `d` (without the tag byte).
pub fn compress(d: Dict, bytes: &[u8]) -> Result<Vec<u8>, String> {
    COMPRESSORS.with(|c| {
        let mut c = c.borrow_mut();
        let slot = &mut c[d.slot()];
        if slot.is_none() {
            *slot = Some(
                zstd::bulk::Compressor::with_prepared_dictionary(encoder_dict(d))
                    .map_err(|e| e.to_string())?,
            );
        }
        match slot.as_mut() {
            Some(c) => c.compress(bytes).map_err(|e| e.to_string()),
            None => Err("no compressor".into()),
        }
    })
}

/// The bytes [`compress`] was given.
pub fn decompress(d: Dict, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let size = zstd::zstd_safe::get_frame_content_size(bytes)
        .map_err(|_| "not a zstd frame".to_string())?
        .ok_or_else(|| "the frame has no size".to_string())?;
    if size > MAX_RECORD {
        return Err(format!("a record of {size} bytes"));
    }
    DECOMPRESSORS.with(|c| {
        let mut c = c.borrow_mut();
        let slot = &mut c[d.slot()];
        if slot.is_none() {
            *slot = Some(
                zstd::bulk::Decompressor::with_prepared_dictionary(decoder_dict(d))
                    .map_err(|e| e.to_string())?,
            );
        }
        match slot.as_mut() {
            Some(c) => c
                .decompress(bytes, size as usize)
                .map_err(|e| e.to_string()),
            None => Err("no decompressor".into()),
        }
    })
}

/// A dictionary of at most `max_size` bytes trained from sample records (maintainers: see
/// the module documentation).
pub fn train(samples: &[Vec<u8>], max_size: usize) -> Result<Vec<u8>, String> {
    zstd::dict::from_samples(samples, max_size).map_err(|e| e.to_string())
}
