//! Japanese postal codes, phone numbers and widths as people and futureshop write them:
//! `530-4622`, `5304622`, `５３０－４６２２` are one postal code; `03-1234-5678` and
//! `0312345678` one phone number. Values are stored as received; comparison and display go
//! through here.

/// Full-width ASCII (`０-９`, `Ａ-Ｚ`, `－`, the ideographic space) as half-width, and the
/// dashes people type between digits as `-` (not the long vowel mark ー, which belongs to
/// words like コーポ).
pub fn fold_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' => '-',
            c => c,
        })
        .collect()
}

/// The digits of a value, after width folding (`〒530-4622` → `5304622`).
pub fn digits(s: &str) -> String {
    fold_width(s).chars().filter(char::is_ascii_digit).collect()
}

/// A postal code's 7 digits, or None when it is not one.
pub fn postal_digits(s: &str) -> Option<String> {
    let d = digits(s);
    (d.len() == 7).then_some(d)
}

/// `〒530-4622` for any way of writing a postal code; anything else as it is.
pub fn postal_display(s: &str) -> String {
    match postal_digits(s) {
        Some(d) => format!("〒{}-{}", &d[..3], &d[3..]),
        None if s.trim().is_empty() => String::new(),
        None => s.trim().to_string(),
    }
}

/// A phone number for comparison: its digits (`+81` becomes a leading 0).
pub fn phone_digits(s: &str) -> String {
    let folded = fold_width(s);
    let t = folded.trim();
    let d = digits(t);
    if let Some(rest) = t.strip_prefix("+81") {
        let rest = digits(rest);
        return format!("0{}", rest.trim_start_matches('0'));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postal_codes_in_every_form() {
        for s in [
            "530-4622",
            "5304622",
            "〒530-4622",
            "５３０－４６２２",
            " 530ー4622 ",
        ] {
            assert_eq!(postal_digits(s).as_deref(), Some("5304622"), "{s:?}");
            assert_eq!(postal_display(s), "〒530-4622", "{s:?}");
        }
        assert_eq!(postal_digits("123"), None);
        assert_eq!(postal_display(""), "");
        assert_eq!(postal_display("不明"), "不明");
    }

    #[test]
    fn phones_compare_by_digits() {
        assert_eq!(phone_digits("03-1234-5678"), "0312345678");
        assert_eq!(phone_digits("０３（１２３４）５６７８"), "0312345678");
        assert_eq!(phone_digits("+81 90-1234-5678"), "09012345678");
        assert_eq!(fold_width("ＡＢＣ　１"), "ABC 1");
    }
}
