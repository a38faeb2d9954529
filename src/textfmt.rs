//! Plain-text tables for the command line, measured in display cells (CJK is two cells wide)
//! and sanitized: remote text never reaches the terminal with control characters in it.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use crate::sanitize::sanitize;

pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    right: Vec<bool>,
}

impl Table {
    pub fn new<S: AsRef<str>>(headers: &[S]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.as_ref().to_string()).collect(),
            rows: Vec::new(),
            right: vec![false; headers.len()],
        }
    }

    /// Right-aligns the given columns (numbers, money).
    pub fn align_right(mut self, cols: &[usize]) -> Table {
        for c in cols {
            if let Some(r) = self.right.get_mut(*c) {
                *r = true;
            }
        }
        self
    }

    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        self.rows.push(
            cells
                .iter()
                .map(|c| truncate(&sanitize(c.as_ref()), 40))
                .collect(),
        );
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(width(c));
            }
        }
        let mut out = String::new();
        let line = |cells: &[String], out: &mut String| {
            let mut parts = Vec::with_capacity(n);
            for (i, width) in widths.iter().enumerate() {
                let c = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = width.saturating_sub(self::width(c));
                let last = i + 1 == n;
                parts.push(if self.right[i] {
                    format!("{}{c}", " ".repeat(pad))
                } else if last {
                    c.to_string()
                } else {
                    format!("{c}{}", " ".repeat(pad))
                });
            }
            out.push_str(parts.join("  ").trim_end());
            out.push('\n');
        };
        line(&self.headers, &mut out);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        line(&rule, &mut out);
        for r in &self.rows {
            line(r, &mut out);
        }
        out
    }
}

/// Display cells of `s`, one grapheme cluster at a time (as a terminal buffer draws it).
pub fn width(s: &str) -> usize {
    s.graphemes(true).map(UnicodeWidthStr::width).sum()
}

/// Cuts `s` to at most `max` display cells, whole grapheme clusters only, marking the cut
/// with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut kept: Vec<&str> = Vec::new();
    let mut next = None;
    let mut w = 0;
    for g in s.graphemes(true) {
        let gw = g.width();
        if w + gw + 1 > max {
            next = Some(g);
            break;
        }
        kept.push(g);
        w += gw;
    }
    // Never a cut inside a number: "…40" for 403 would read as another figure. The whole
    // number goes (with its sign or currency mark) and the ellipsis says something is missing.
    if next.is_some_and(in_number) && kept.last().is_some_and(|g| in_number(g)) {
        while kept.last().is_some_and(|g| in_number(g)) {
            kept.pop();
        }
        while kept
            .last()
            .is_some_and(|g| matches!(*g, "¥" | "-" | "+" | "#"))
        {
            kept.pop();
        }
    }
    let mut out: String = kept.concat();
    out.push('…');
    out
}

/// Part of a figure: a digit (ASCII or full-width) or a separator inside one.
fn in_number(g: &str) -> bool {
    let mut c = g.chars();
    match (c.next(), c.next()) {
        (Some(ch), None) => {
            ch.is_ascii_digit() || ('０'..='９').contains(&ch) || ",.:".contains(ch)
        }
        _ => false,
    }
}

/// Yen with thousands separators: `¥12,345`.
pub fn yen(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-¥{out}")
    } else {
        format!("¥{out}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_by_display_width() {
        let mut t = Table::new(&["名前", "n"]).align_right(&[1]);
        t.row(&["山田太郎", "1"]);
        t.row(&["abc", "100"]);
        let out = t.render();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[2], "山田太郎    1");
        assert_eq!(lines[3], "abc       100");
    }

    #[test]
    fn cells_are_sanitized_and_truncated() {
        let mut t = Table::new(&["x"]);
        t.row(&["\u{1b}]0;pwned\u{7}"]);
        assert!(!t.render().contains('\u{1b}'));
        assert_eq!(truncate("あいうえお", 5), "あい…");
        // A number is never cut: it goes whole.
        assert_eq!(truncate("受注数 403", 8), "受注数 …");
        assert_eq!(truncate("出荷指示 100000000015", 14), "出荷指示 …");
        assert_eq!(truncate("合計 ¥12,800", 10), "合計 …");
    }

    #[test]
    fn yen_formatting() {
        assert_eq!(yen(0), "¥0");
        assert_eq!(yen(1234567), "¥1,234,567");
        assert_eq!(yen(-500), "-¥500");
    }
}
