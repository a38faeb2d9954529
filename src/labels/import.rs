//! Reading a carrier's issued-data file back: CP932 or UTF-8, with or without a header row,
//! which profile it is (when not told), and per row the join key, the tracking number and the
//! ship date — or why the row cannot be used (a tracking number Excel turned into `2.01E+10`
//! is refused with what to do, never registered as a number).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::charset::decode;
use super::delivery::pattern_capture;
use super::profile::Profile;

/// One data row of the file, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadRow {
    /// The file's line number (1-based, the header counted).
    pub line: usize,
    pub key: String,
    pub tracking: String,
    pub ship_date: Option<NaiveDate>,
    /// Why the row cannot be used, when it cannot.
    pub problem: Option<String>,
}

/// A file read with one profile.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadFile {
    pub profile: Profile,
    pub encoding: &'static str,
    pub header: bool,
    pub rows: Vec<ReadRow>,
}

/// What one row of an import became.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowOutcome {
    /// The tracking number was stored (the instruction is 出荷済み once every shipment has one).
    Registered {
        shipped: bool,
    },
    /// The same number was stored already: nothing to do.
    Unchanged,
    Refused(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedRow {
    pub line: usize,
    pub key: String,
    pub order_no: String,
    pub shipment_no: Option<i64>,
    pub tracking: String,
    pub outcome: RowOutcome,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub carrier: String,
    pub carrier_name: String,
    pub encoding: String,
    pub header: bool,
    pub dry_run: bool,
    pub rows: Vec<ImportedRow>,
    pub registered: u64,
    pub unchanged: u64,
    pub refused: u64,
    /// Instructions that became 出荷済み.
    pub shipped: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    #[error(
        "the file is neither UTF-8 nor CP932 (Shift_JIS): use the file the carrier's software wrote, unopened by a spreadsheet"
    )]
    Encoding,
    #[error("the file is not CSV: {0}")]
    Csv(String),
    #[error("the file has no rows")]
    Empty,
    #[error(
        "which carrier's file this is cannot be told ({0}): give --carrier b2, ehiden3, yupri or clickpost"
    )]
    Unknown(String),
}

/// A value Excel wrote in exponent form (`2.01E+10`): its digits are lost.
fn exponent_form(s: &str) -> bool {
    let t = s.trim();
    let Some((mantissa, exp)) = t.split_once(['e', 'E']) else {
        return false;
    };
    let exp = exp.trim_start_matches('+');
    !mantissa.is_empty()
        && mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
        && !exp.is_empty()
        && exp.chars().all(|c| c.is_ascii_digit())
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let t = s.trim();
    let day = t.split([' ', 'T']).next().unwrap_or(t);
    ["%Y/%m/%d", "%Y-%m-%d", "%Y%m%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(day, f).ok())
}

/// Where a profile's key, tracking number and date are in this file: by header when the first
/// row names them, else by position. None when the file does not fit the profile.
/// Where a file's columns are: named by a header row, or at the profile's positions.
struct Columns {
    header: bool,
    key: usize,
    tracking: usize,
    date: Option<usize>,
}

fn locate(p: &Profile, first: &[String]) -> Option<Columns> {
    let find = |names: &[String]| {
        first.iter().position(|h| {
            names
                .iter()
                .any(|n| n.trim() == h.trim().trim_start_matches('\u{feff}'))
        })
    };
    if let (Some(k), Some(t)) = (
        find(&p.import.key_headers),
        find(&p.import.tracking_headers),
    ) {
        return Some(Columns {
            header: true,
            key: k,
            tracking: t,
            date: find(&p.import.date_headers),
        });
    }
    let k = p.import.key_column.checked_sub(1)?;
    let t = p.import.tracking_column.checked_sub(1)?;
    if first.len() <= k.max(t) {
        return None;
    }
    let key = extract_key(p, &first[k])?;
    p.parse_key(&key)?;
    Some(Columns {
        header: false,
        key: k,
        tracking: t,
        date: p.import.date_column.and_then(|c| c.checked_sub(1)),
    })
}

/// The key within its cell (after the profile's pattern), digits and the separator only.
fn extract_key(p: &Profile, cell: &str) -> Option<String> {
    let cell = cell.trim();
    let raw = match &p.import.key_pattern {
        Some(pat) => pattern_capture(pat, cell)?,
        None => cell.to_string(),
    };
    let k = raw.trim().to_string();
    (!k.is_empty()).then_some(k)
}

/// Reads `bytes` with `profile`, or with the first built-in profile the file fits.
pub fn read(
    bytes: &[u8],
    profiles: &[Profile],
    wanted: Option<&str>,
) -> Result<ReadFile, ReadError> {
    let (text, encoding) = decode(bytes).ok_or(ReadError::Encoding)?;
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records: Vec<Vec<String>> = Vec::new();
    for r in rd.records() {
        let r = r.map_err(|e| ReadError::Csv(e.to_string()))?;
        records.push(r.iter().map(str::to_string).collect());
    }
    let first = records
        .iter()
        .find(|r| r.iter().any(|c| !c.trim().is_empty()))
        .ok_or(ReadError::Empty)?
        .clone();
    let candidates: Vec<&Profile> = match wanted {
        Some(id) => profiles.iter().filter(|p| p.id == id).collect(),
        None => profiles.iter().collect(),
    };
    if candidates.is_empty() {
        return Err(ReadError::Unknown(format!(
            "no profile {:?}",
            wanted.unwrap_or("")
        )));
    }
    let fits: Vec<(&Profile, Columns)> = candidates
        .iter()
        .filter_map(|p| locate(p, &first).map(|l| (*p, l)))
        .collect();
    // A header names the carrier; several positional fits are ambiguous.
    let chosen = fits
        .iter()
        .find(|(_, l)| l.header)
        .or_else(|| (fits.len() == 1).then(|| &fits[0]))
        .or_else(|| (wanted.is_some()).then(|| fits.first()).flatten());
    let Some((profile, cols)) = chosen else {
        return Err(ReadError::Unknown(if fits.is_empty() {
            "no profile's key and tracking columns fit its first row".into()
        } else {
            format!(
                "it fits {}",
                fits.iter()
                    .map(|(p, _)| p.id.as_str())
                    .collect::<Vec<_>>()
                    .join(" and ")
            )
        }));
    };
    let mut rows = Vec::new();
    let skip = usize::from(cols.header);
    for (n, r) in records.iter().enumerate().skip(skip) {
        if r.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |i: usize| r.get(i).map(|s| s.trim()).unwrap_or("");
        let key_cell = cell(cols.key);
        let tracking_cell = cell(cols.tracking);
        let mut problem = None;
        let key = match extract_key(profile, key_cell) {
            Some(k) => k,
            None => {
                problem = Some(format!("管理番号がありません (「{key_cell}」)"));
                String::new()
            }
        };
        let tracking: String = tracking_cell
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | '\u{3000}'))
            .collect();
        if problem.is_none() {
            if exponent_form(tracking_cell) {
                problem = Some(format!(
                    "送り状番号「{tracking_cell}」は表計算ソフトで指数表記に変わり、桁が失われています: 運送会社のシステムから書き出したままのファイルを使ってください"
                ));
            } else if tracking.is_empty() {
                problem = Some("送り状番号が空です (未発行の送り状)".into());
            } else if !tracking.chars().all(|c| c.is_ascii_alphanumeric()) {
                problem = Some(format!("送り状番号「{tracking_cell}」が不正です"));
            }
        }
        rows.push(ReadRow {
            line: n + 1,
            key,
            tracking,
            ship_date: cols.date.and_then(|c| r.get(c)).and_then(|s| parse_date(s)),
            problem,
        });
    }
    Ok(ReadFile {
        profile: (*profile).clone(),
        encoding,
        header: cols.header,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponent_forms_are_seen() {
        assert!(exponent_form("2.01E+10"));
        assert!(exponent_form("4.5e11"));
        assert!(!exponent_form("201234567890"));
        assert!(!exponent_form("E+10"));
    }
}
