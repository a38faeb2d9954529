//! JSON for terminals and pipes: serde_json escapes only C0 controls, so customer data could
//! carry C1 controls (U+0080–U+009F, some terminals act on them) or bidirectional overrides
//! (U+202A–U+202E, U+2066–U+2069: "Trojan Source" text that reads differently from what it is)
//! straight to the screen. Those, and the other invisible format characters below, are
//! written as `\uXXXX` escapes: the JSON means the same, and nothing hides.

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};

fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}'
        | '\u{feff}')
}

struct Safe<F>(F);

macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $name<W: ?Sized + io::Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            self.0.$name(w $(, $arg)*)
        })*
    };
}

impl<F: Formatter> Formatter for Safe<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if needs_escape(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                write!(w, "\\u{:04x}", u32::from(c))?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    delegate! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        end_object_key();
        begin_object_value();
        end_object_value();
    }
}

/// Pretty JSON with the characters above escaped.
pub fn to_string_pretty<T: Serialize + ?Sized>(v: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(1024);
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, Safe(PrettyFormatter::with_indent(b"  ")));
    v.serialize(&mut ser)?;
    // serde_json writes valid UTF-8.
    Ok(String::from_utf8(out).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c1_and_bidi_controls_are_escaped_and_the_value_is_unchanged() {
        let name = "山田\u{85}太郎\u{202e}gpj.exe\u{2066}x\u{2069}";
        let v = serde_json::json!({"customer": name, "n": [1, 2]});
        let text = to_string_pretty(&v).expect("json");
        for c in ['\u{85}', '\u{202e}', '\u{2066}', '\u{2069}'] {
            assert!(!text.contains(c), "{c:?} raw in {text}");
        }
        assert!(
            text.contains("\\u0085") && text.contains("\\u202e"),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).expect("parses");
        assert_eq!(back["customer"], name);
        assert_eq!(
            text,
            serde_json::to_string_pretty(&v)
                .expect("plain")
                .replace('\u{85}', "\\u0085")
                .replace('\u{202e}', "\\u202e")
                .replace('\u{2066}', "\\u2066")
                .replace('\u{2069}', "\\u2069")
        );
    }
}
