//! Terminal-safe rendering of text that came from outside (futureshop, CSV files, operators).
//!
//! Control characters (C0, DEL, C1) are replaced by visible placeholders, so an escape sequence in
//! a customer name is shown as text instead of being interpreted by the terminal.

use std::borrow::Cow;

/// Returns `s` with every control character replaced by a visible placeholder:
/// `ESC` → `␛`, other C0 characters → their Unicode "control picture" (`␇`, `␀`, …),
/// DEL → `␡`, C1 characters (U+0080–U+009F, which some terminals treat as CSI/OSC) → `<U+009B>`.
/// Bidi overrides are also neutralised so text cannot reorder the rest of a line.
/// Newlines and tabs become `␊`/`␉` too: one field must stay on one line.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_safe(&mut out, c);
    }
    Cow::Owned(out)
}

/// Like [`sanitize`] but keeps newlines, for multi-line notes shown in a detail view.
pub fn sanitize_multiline(s: &str) -> String {
    s.split('\n')
        .map(|line| sanitize(line.strip_suffix('\r').unwrap_or(line)).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

fn push_safe(out: &mut String, c: char) {
    match c {
        '\u{1b}' => out.push('␛'),
        '\u{7f}' => out.push('␡'),
        c if (c as u32) < 0x20 => {
            // U+2400 + code is the "control picture" for every C0 character.
            out.push(char::from_u32(0x2400 + c as u32).unwrap_or('�'));
        }
        c if c.is_control() || is_bidi_control(c) => {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let s = "山田 太郎 🎁";
        assert!(matches!(sanitize(s), Cow::Borrowed(_)));
        assert_eq!(sanitize(s), s);
    }

    #[test]
    fn escape_sequences_become_visible() {
        let hostile = "\u{1b}]0;x\u{07}\u{1b}[2J名前";
        let safe = sanitize(hostile);
        assert_eq!(safe, "␛]0;x␇␛[2J名前");
        assert!(!safe.chars().any(|c| c.is_control()));
    }

    #[test]
    fn c1_and_bidi_are_neutralised() {
        let safe = sanitize("a\u{9b}31mb\u{202e}c");
        assert_eq!(safe, "a<U+009B>31mb<U+202E>c");
    }

    #[test]
    fn newlines_and_tabs_in_single_line_fields() {
        assert_eq!(sanitize("a\nb\tc\r"), "a␊b␉c␍");
        assert_eq!(sanitize_multiline("a\r\nb\u{1b}"), "a\nb␛");
    }
}
