//! Enums whose variants have Japanese names — statuses, 入金フラグ, run states, robot actions,
//! rule fields and operators. Each name is written once: the macro makes it the serde name, the
//! display text, `name()`, `parse()` and the `ALL` list.

/// `named_enum! { pub enum Status { Ready = "出荷待ち", … } }`. Attributes on the enum and its
/// variants pass through; Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize and Deserialize are
/// derived.
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            /// The name operators know it by.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The variant of this name (surrounding spaces ignored).
            pub fn from_name(s: &str) -> Option<$name> {
                let s = s.trim();
                Self::ALL.into_iter().find(|v| v.name() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}
