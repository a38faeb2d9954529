//! What a carrier's software accepts: JIS X 0208 (and half-width ASCII/kana) in CP932, byte
//! limits counted in CP932, and no formula or control character in a cell. Every change made
//! to fit is reported, so the operator sees what the label will say.

use encoding_rs::SHIFT_JIS;

/// Characters outside JIS X 0208 that have a usual stand-in (the Yamato FAQ's list, NEC and
/// IBM extensions, and look-alike punctuation).
const REPLACE: &[(char, &str)] = &[
    ('𠮷', "吉"),
    ('𠷡', "百合"),
    ('繫', "繋"),
    ('䑓', "臺"),
    ('髙', "高"),
    ('﨑', "崎"),
    ('德', "徳"),
    ('濵', "濱"),
    ('栁', "柳"),
    ('瀨', "瀬"),
    ('\u{a0}', " "),
    ('¢', "￠"),
    ('£', "￡"),
    ('¬', "￢"),
    ('‖', "∥"),
    ('～', "〜"),
    ('−', "－"),
    ('—', "―"),
    ('①', "(1)"),
    ('②', "(2)"),
    ('③', "(3)"),
    ('④', "(4)"),
    ('⑤', "(5)"),
    ('⑥', "(6)"),
    ('⑦', "(7)"),
    ('⑧', "(8)"),
    ('⑨', "(9)"),
    ('⑩', "(10)"),
    ('㈱', "(株)"),
    ('㈲', "(有)"),
    ('№', "No."),
    ('℡', "TEL"),
    ('Ⅰ', "I"),
    ('Ⅱ', "II"),
    ('Ⅲ', "III"),
    ('Ⅳ', "IV"),
    ('Ⅴ', "V"),
    ('㎡', "m2"),
];

/// The stand-in for a character nothing else can replace (JIS X 0208's own 〓, げた).
pub const GETA: char = '〓';

/// One non-ASCII character in CP932, as encoding_rs encodes it alone (CP932 is stateless, so
/// a text's bytes are its characters' bytes end to end).
#[derive(Clone, Copy)]
enum Cp932 {
    One(u8),
    Two(u8, u8),
    Unmappable,
}

/// Characters already encoded (encoding_rs finds a kanji by a linear search of its table:
/// without this, the label file's text was a fifth of an export). Bounded, since the texts
/// come from customers: past the bound a character is encoded again each time.
const CACHE_MAX: usize = 8192;

fn cp932_char(c: char) -> Cp932 {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static CACHE: RefCell<HashMap<char, Cp932>> = RefCell::new(HashMap::new());
    }
    if let Some(e) = CACHE.with(|m| m.borrow().get(&c).copied()) {
        return e;
    }
    let mut buf = [0u8; 4];
    let (bytes, _, unmappable) = SHIFT_JIS.encode(c.encode_utf8(&mut buf));
    let e = match (unmappable, bytes.as_ref()) {
        (false, [b]) => Cp932::One(*b),
        (false, [a, b]) => Cp932::Two(*a, *b),
        _ => Cp932::Unmappable,
    };
    CACHE.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < CACHE_MAX {
            m.insert(c, e);
        }
    });
    e
}

/// Whether a character is JIS X 0208 or JIS X 0201 in CP932 (the NEC and IBM extensions and
/// the user area of CP932 are refused by B2 and e飛伝).
fn is_jis(c: char) -> bool {
    if c.is_ascii() {
        return !c.is_ascii_control();
    }
    match cp932_char(c) {
        Cp932::One(b) => (0xA1..=0xDF).contains(&b),
        Cp932::Two(a, b) => {
            let code = u16::from(a) << 8 | u16::from(b);
            // Rows 1–8 (symbols, kana, Greek, Cyrillic), then kanji levels 1 and 2.
            (0x8140..=0x84BE).contains(&code)
                || (0x889F..=0x9FFC).contains(&code)
                || (0xE040..=0xEAA4).contains(&code)
        }
        Cp932::Unmappable => false,
    }
}

/// Bytes of `s` in CP932 (each character as it will be written).
pub fn cp932_len(s: &str) -> usize {
    s.chars()
        .map(|c| {
            if c.is_ascii() || ('\u{ff61}'..='\u{ff9f}').contains(&c) {
                1
            } else {
                2
            }
        })
        .sum()
}

/// `s` made writable for a carrier: every character JIS X 0208 (or replaced, each replacement
/// noted once), no control characters, and a leading `= + - @` (a formula to a spreadsheet)
/// turned full-width.
pub fn to_carrier_text(s: &str, notes: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.push(' ');
            continue;
        }
        if is_jis(c) {
            out.push(c);
            continue;
        }
        match REPLACE.iter().find(|(from, _)| *from == c) {
            Some((_, to)) if to.chars().all(is_jis) => {
                note(notes, format!("「{c}」→「{to}」"));
                out.push_str(to);
            }
            _ => {
                note(notes, format!("「{c}」→「{GETA}」"));
                out.push(GETA);
            }
        }
    }
    if let Some(first) = out.chars().next()
        && matches!(first, '=' | '+' | '-' | '@')
    {
        let wide = char::from_u32(first as u32 + 0xfee0).unwrap_or(first);
        out.replace_range(..first.len_utf8(), &wide.to_string());
    }
    out
}

fn note(notes: &mut Vec<String>, n: String) {
    if !notes.contains(&n) {
        notes.push(n);
    }
}

/// The longest start of `s` within `max` CP932 bytes (whole characters).
pub fn cut_bytes(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        let w = cp932_len(c.encode_utf8(&mut [0u8; 4]));
        if used + w > max {
            return &s[..i];
        }
        used += w;
    }
    s
}

/// Spreads `s` over parts of `limits` bytes each, breaking at a space when one is near the
/// limit. Returns the parts and what did not fit (empty when everything did).
pub fn split_bytes(s: &str, limits: &[usize]) -> (Vec<String>, String) {
    let mut rest = s.trim();
    let mut parts = Vec::with_capacity(limits.len());
    for (n, max) in limits.iter().enumerate() {
        if rest.is_empty() {
            parts.push(String::new());
            continue;
        }
        if cp932_len(rest) <= *max || n + 1 == limits.len() {
            let part = cut_bytes(rest, *max);
            parts.push(part.trim().to_string());
            rest = rest[part.len()..].trim_start();
            continue;
        }
        let cut = cut_bytes(rest, *max);
        // Break at the last space of the cut when it keeps at least half of the part.
        let at = cut
            .char_indices()
            .rev()
            .find(|(_, c)| *c == ' ' || *c == '\u{3000}')
            .map(|(i, _)| i)
            .filter(|i| cp932_len(&cut[..*i]) * 2 >= *max);
        let part = match at {
            Some(i) => &cut[..i],
            None => cut,
        };
        parts.push(part.trim().to_string());
        rest = rest[part.len()..].trim_start();
    }
    (parts, rest.to_string())
}

/// The file's bytes in CP932 (every character was made writable before).
pub fn encode_cp932(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c as u8);
            continue;
        }
        match cp932_char(c) {
            Cp932::One(b) => out.push(b),
            Cp932::Two(a, b) => out.extend_from_slice(&[a, b]),
            // What encoding_rs writes for a character CP932 lacks.
            Cp932::Unmappable => out.extend_from_slice(format!("&#{};", c as u32).as_bytes()),
        }
    }
    out
}

/// A file's text: UTF-8 (with or without a byte-order mark) when it is valid UTF-8, else
/// CP932; None when it is neither.
pub fn decode(bytes: &[u8]) -> Option<(String, &'static str)> {
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(body) {
        return Some((s.to_string(), "UTF-8"));
    }
    // Without BOM sniffing: a file starting FF FE is not UTF-16 to a label tool.
    let (text, malformed) = SHIFT_JIS.decode_without_bom_handling(bytes);
    (!malformed).then(|| (text.into_owned(), "CP932"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cached_encoder_writes_what_encoding_rs_writes() {
        // Every character of the BMP and a few beyond (kanji of both levels, kana of both
        // widths, NEC and IBM extensions, unmappable ones as encoding_rs writes them), twice:
        // the second pass is answered from the cache, past its bound too.
        let text: String = (0x20u32..0x3_0000)
            .step_by(3)
            .filter_map(char::from_u32)
            .filter(|c| !c.is_control())
            .collect();
        for _ in 0..2 {
            assert_eq!(encode_cp932(&text), SHIFT_JIS.encode(&text).0.into_owned());
        }
        let mixed = "〒150-0001 東京都渋谷区神宮前１－２－３ ｱｲｳ ①髙﨑 𠮷田 🎁 \\ ~";
        assert_eq!(encode_cp932(mixed), SHIFT_JIS.encode(mixed).0.into_owned());
    }

    #[test]
    fn characters_outside_jis_x_0208_are_replaced_and_listed() {
        let mut notes = Vec::new();
        let t = to_carrier_text("𠮷田 髙橋①🎁", &mut notes);
        assert_eq!(t, "吉田 高橋(1)〓");
        assert_eq!(notes.len(), 4, "{notes:?}");
        let mut notes = Vec::new();
        assert_eq!(to_carrier_text("=SUM(A1)", &mut notes), "＝SUM(A1)");
        assert_eq!(to_carrier_text("山田\t太郎", &mut notes), "山田 太郎");
        assert_eq!(to_carrier_text("ｱｲｳ 東京都", &mut notes), "ｱｲｳ 東京都");
        assert!(notes.is_empty());
    }

    #[test]
    fn byte_limits_split_at_spaces_and_report_the_rest() {
        assert_eq!(cp932_len("東京都abc"), 9);
        assert_eq!(cut_bytes("あいうえお", 5), "あい");
        let (parts, rest) = split_bytes(
            "東京都千代田区千代田1-1 サンプルマンション 301号室",
            &[32, 32],
        );
        assert_eq!(parts[0], "東京都千代田区千代田1-1");
        assert_eq!(parts[1], "サンプルマンション 301号室");
        assert!(rest.is_empty());
        let (_, rest) = split_bytes(&"あ".repeat(40), &[32, 32]);
        assert_eq!(rest, "あ".repeat(8));
    }

    #[test]
    fn files_decode_as_utf8_or_cp932() {
        let sjis = encode_cp932("お客様管理番号,伝票番号\r\n");
        assert_eq!(decode(&sjis).map(|d| d.1), Some("CP932"));
        assert_eq!(
            decode("\u{feff}お客様管理番号".as_bytes()).map(|d| d.0),
            Some("お客様管理番号".into())
        );
        assert_eq!(decode(&[0x82, 0xff, 0xff]), None);
    }
}
