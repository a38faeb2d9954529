//! Messages for operators in both console languages.
//!
//! The engine explains its refusals in Japanese (the CLI, the logs and the audit log use that
//! text) and in English for a console started with `--lang en`. Both are written where the
//! message is made, so that the word order and the values stay right in each language.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Msg {
    pub ja: String,
    /// Empty when there is no English wording (a message from an older server, or text that
    /// came from elsewhere): readers fall back to `ja`.
    #[serde(default)]
    pub en: String,
}

impl Msg {
    pub fn new(ja: impl Into<String>, en: impl Into<String>) -> Msg {
        Msg {
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// The same text in both languages (English text from a library, a file path, …).
    pub fn same(text: impl Into<String>) -> Msg {
        let text = text.into();
        Msg {
            en: text.clone(),
            ja: text,
        }
    }
}

/// The Japanese text: what the CLI prints and the audit log keeps.
impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ja)
    }
}

impl std::error::Error for Msg {}

/// Shorthand: `msg!("…{x}…", "…{x}…")` formats both texts with the same values.
#[macro_export]
macro_rules! msg {
    ($ja:expr, $en:expr $(,)?) => {
        $crate::msg::Msg::new(format!($ja), format!($en))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_japanese_and_both_are_formatted() {
        let id = 7;
        let m = msg!("ID:{id} はありません", "ID:{id} does not exist");
        assert_eq!(m.to_string(), "ID:7 はありません");
        assert_eq!(m.en, "ID:7 does not exist");
        assert_eq!(Msg::same("x").ja, Msg::same("x").en);
    }
}
