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

/// Encodes one character in CP932, when it is JIS X 0208 or JIS X 0201 there (the NEC and
/// IBM extensions and the user area of CP932 are refused by B2 and e飛伝).
fn jis_bytes(c: char) -> Option<Vec<u8>> {
    if c.is_ascii() {
        return (!c.is_ascii_control()).then(|| vec![c as u8]);
    }
    let mut buf = [0u8; 4];
    let (bytes, _, unmappable) = SHIFT_JIS.encode(c.encode_utf8(&mut buf));
    if unmappable {
        return None;
    }
    match bytes.as_ref() {
        [b] if (0xA1..=0xDF).contains(b) => Some(vec![*b]),
        [a, b] => {
            let code = u16::from(*a) << 8 | u16::from(*b);
            // Rows 1–8 (symbols, kana, Greek, Cyrillic), then kanji levels 1 and 2.
            let jis = (0x8140..=0x84BE).contains(&code)
                || (0x889F..=0x9FFC).contains(&code)
                || (0xE040..=0xEAA4).contains(&code);
            jis.then(|| vec![*a, *b])
        }
        _ => None,
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
        if jis_bytes(c).is_some() {
            out.push(c);
            continue;
        }
        match REPLACE.iter().find(|(from, _)| *from == c) {
            Some((_, to)) if to.chars().all(|t| jis_bytes(t).is_some()) => {
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
    let (bytes, _, _) = SHIFT_JIS.encode(text);
    bytes.into_owned()
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
