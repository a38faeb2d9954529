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

/// A name or e-mail for comparison: width folded, without spaces, ASCII lower-cased
/// (`山田　太郎` and `山田 太郎` are one name; `Taro@Example.jp` and `taro@example.jp` one mail).
pub fn name_key(s: &str) -> String {
    fold_width(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// An address for comparison: `東京都千代田区丸の内１丁目２番３号 コーポ１０１`,
/// `東京都千代田区丸の内1-2-3コーポ101` and `…丸の内一丁目2番地3 コーポ101` are one address.
/// Width is folded, spaces dropped, 丁目/番地/番/号 and the dashes people type between numbers
/// (including ー and の) become `-`; kanji numbers before 丁目/番地/番/号 become digits.
pub fn address_key(s: &str) -> String {
    let folded: Vec<char> = fold_width(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut out = String::with_capacity(folded.len());
    let mut i = 0;
    let is_num = |c: char| c.is_ascii_digit();
    while i < folded.len() {
        let c = folded[i];
        // Kanji numbers directly before a block word (一丁目, 十二番地).
        if kanji_digit(c).is_some() {
            let start = i;
            let mut j = i;
            while j < folded.len() && kanji_digit(folded[j]).is_some() {
                j += 1;
            }
            if block_word_at(&folded, j).is_some() {
                out.push_str(&kanji_number(&folded[start..j]).to_string());
                i = j;
                continue;
            }
        }
        if let Some(len) = block_word_at(&folded, i)
            && out.chars().last().is_some_and(is_num)
        {
            out.push('-');
            i += len;
            continue;
        }
        let prev_num = out.chars().last().is_some_and(is_num);
        let next_num = folded.get(i + 1).copied().is_some_and(is_num);
        if prev_num && next_num && matches!(c, '-' | 'ー' | 'ｰ' | 'の') {
            out.push('-');
            i += 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    // `1-2-3-` (号 at the end) and `1--2` (番地 followed by a dash) are `1-2-3` and `1-2`.
    let mut clean = String::with_capacity(out.len());
    for c in out.chars() {
        if c == '-' && clean.ends_with('-') {
            continue;
        }
        clean.push(c);
    }
    let mut chars: Vec<char> = clean.chars().collect();
    // A dash left before a non-number (`3-コーポ`) or at the end says nothing.
    let mut k = 0;
    while k < chars.len() {
        if chars[k] == '-' && chars.get(k + 1).is_none_or(|n| !n.is_ascii_digit()) {
            chars.remove(k);
        } else {
            k += 1;
        }
    }
    chars.into_iter().collect()
}

/// The length of 丁目 / 番地 / 番 / 号 starting at `i`, if one does.
fn block_word_at(s: &[char], i: usize) -> Option<usize> {
    let at = |k: usize| s.get(i + k).copied();
    match (at(0), at(1)) {
        (Some('丁'), Some('目')) => Some(2),
        (Some('番'), Some('地')) => Some(2),
        (Some('番'), _) | (Some('号'), _) => Some(1),
        _ => None,
    }
}

fn kanji_digit(c: char) -> Option<u32> {
    "〇一二三四五六七八九十"
        .chars()
        .position(|k| k == c)
        .map(|p| p as u32)
}

/// 一 → 1, 十二 → 12, 二十三 → 23, 三〇 → 30.
fn kanji_number(s: &[char]) -> u32 {
    let mut total = 0;
    let mut current = 0;
    for c in s {
        match kanji_digit(*c) {
            Some(10) => {
                total += current.max(1) * 10;
                current = 0;
            }
            Some(d) => current = current * 10 + d,
            None => {}
        }
    }
    total + current
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

    #[test]
    fn addresses_in_every_form() {
        let want = "東京都千代田区丸の内1-2-3コーポ101";
        for s in [
            "東京都千代田区丸の内1-2-3 コーポ101",
            "東京都千代田区丸の内１－２－３　コーポ１０１",
            "東京都千代田区丸の内1丁目2番3号 コーポ101",
            "東京都千代田区丸の内一丁目2番地3 コーポ101",
            "東京都千代田区丸の内1丁目2-3コーポ101",
            "東京都千代田区丸の内1ー2ー3 コーポ101",
            "東京都千代田区丸の内1の2の3 コーポ101",
        ] {
            assert_eq!(address_key(s), want, "{s:?}");
        }
        // Different numbers stay different; コーポ keeps its ー.
        assert_ne!(address_key("丸の内1-2-3"), address_key("丸の内1-2-4"));
        assert_eq!(address_key("十二丁目3番"), "12-3");
        assert_eq!(address_key("二十三番地"), "23");
        assert_eq!(address_key("コーポ"), "コーポ");
        assert_eq!(name_key("山田　太郎"), name_key("山田 太郎"));
        assert_eq!(name_key("Taro@Example.JP"), "taro@example.jp");
    }
}
