//! CSV cells a spreadsheet will not run. A cell that begins with `=`, `+`, `-`, `@`, a tab or a
//! carriage return is read as a formula by Excel and LibreOffice (`=HYPERLINK(…)` in a customer
//! name is an attack on whoever opens the file); such a cell gets a leading `'`, which the
//! spreadsheet shows as text. Plain numbers (`-500`) are left alone: they are not formulas.
//! `--raw-csv` writes cells unchanged, for programs that read the file.

use std::borrow::Cow;

/// How cells are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CellMode {
    /// Formula-like cells neutralised (the default).
    #[default]
    Safe,
    /// Cells exactly as they are.
    Raw,
}

/// The cell as it is written in `mode`.
pub fn cell(text: &str, mode: CellMode) -> Cow<'_, str> {
    if mode == CellMode::Raw || !is_formula_like(text) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(format!("'{text}"))
}

pub fn is_formula_like(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if !matches!(first, '=' | '+' | '-' | '@' | '\t' | '\r') {
        return false;
    }
    // A number (with an optional sign and decimals) is data, not a formula.
    let number = text.strip_prefix(['-', '+']).is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
            && rest.chars().next().is_some_and(|c| c.is_ascii_digit())
    });
    !number
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_numbers_kept() {
        for bad in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "=",
        ] {
            assert_eq!(cell(bad, CellMode::Safe), format!("'{bad}"), "{bad:?}");
            assert_eq!(cell(bad, CellMode::Raw), bad);
        }
        for fine in [
            "-500",
            "+81",
            "1,200",
            "-3.5",
            "山田 太郎",
            "",
            "a=b",
            "0120-000-000",
        ] {
            assert_eq!(cell(fine, CellMode::Safe), fine, "{fine:?}");
        }
    }
}
