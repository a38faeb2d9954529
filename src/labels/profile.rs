//! A carrier profile: everything shukka knows about one carrier's label software, as data —
//! the import layout it expects (columns, each from a field or a constant, with byte limits),
//! the encoding, the services and their codes, the time-slot table, the cool codes, and where
//! the issued-data file keeps the join key and the tracking number. The four built in are TOML
//! files next to this one; a shop may add or adjust one in its setup file. Every layout is a
//! best reading of public material (docs/labels.md): a shop should test one file with its
//! carrier first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The built-in profiles (B2クラウド, e飛伝Ⅲ, ゆうプリR, クリックポスト).
pub const BUILTIN: [(&str, &str); 4] = [
    ("b2", include_str!("profiles/b2.toml")),
    ("ehiden3", include_str!("profiles/ehiden3.toml")),
    ("yupri", include_str!("profiles/yupri.toml")),
    ("clickpost", include_str!("profiles/clickpost.toml")),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub encoding: FileEncoding,
    /// A header row first (the carrier's template expects one).
    pub header: bool,
    #[serde(default)]
    pub key: KeyFormat,
    #[serde(default = "ymd_slash")]
    pub date_format: String,
    /// The services (送り状種類, スピード指定, …) by shukka's name for them.
    pub services: BTreeMap<String, Service>,
    pub default_service: String,
    /// A COD order on a service that cannot collect moves to this one.
    #[serde(default)]
    pub cod_service: Option<String>,
    /// A shipment over the service's capacity moves to this one.
    #[serde(default)]
    pub overflow_service: Option<String>,
    /// A cool shipment on a service that cannot be cool moves to this one.
    #[serde(default)]
    pub cool_service: Option<String>,
    #[serde(default)]
    pub cool: CoolCodes,
    /// Values of the `cod_flag` field.
    #[serde(default)]
    pub cod_flag: Flag,
    /// The time-slot table: the first pattern matching the customer's text gives the code.
    /// Empty: the carrier takes no time wish.
    #[serde(default)]
    pub times: Vec<TimeSlot>,
    /// The code for "no time wished".
    #[serde(default)]
    pub no_time: String,
    /// How the recipient's and sender's address is spread over the address columns: the byte
    /// limit (in the file's encoding) of each part.
    #[serde(default)]
    pub address: AddressSplit,
    /// Byte limits of the name parts.
    #[serde(default)]
    pub name_parts: Vec<usize>,
    pub columns: Vec<Column>,
    pub import: ImportLayout,
}

fn ymd_slash() -> String {
    "%Y/%m/%d".into()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileEncoding {
    /// Shift_JIS as Windows writes it (CP932); JIS X 0208 characters only are written.
    #[default]
    Cp932,
    Utf8,
}

/// The join key written into the label file and read back from the issued-data file:
/// the order number and the shipment number, digits only by default (`100000020732` + `001`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyFormat {
    pub shipment_digits: usize,
    /// Between the order number and the shipment number (empty by default: some carriers
    /// allow alphanumerics only).
    pub separator: String,
    pub max_len: usize,
}

impl Default for KeyFormat {
    fn default() -> Self {
        KeyFormat {
            shipment_digits: 3,
            separator: String::new(),
            max_len: 20,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub label: String,
    pub code: String,
    /// Can collect cash on delivery.
    #[serde(default)]
    pub cod: bool,
    /// Can be cool (冷蔵・冷凍).
    #[serde(default)]
    pub cool: bool,
    /// Capacity in units (`[M便 1/2]` in a product name is half a unit); none: unlimited.
    #[serde(default)]
    pub max_units: Option<f64>,
    /// Takes a delivery date wish.
    #[serde(default = "yes")]
    pub date: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoolCodes {
    pub none: String,
    pub chilled: String,
    pub frozen: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Flag {
    pub yes: String,
    pub no: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSlot {
    /// A regular expression over the customer's text, after full-width letters and digits
    /// are folded to half-width.
    pub pattern: String,
    pub code: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AddressSplit {
    pub recipient: Vec<usize>,
    pub sender: Vec<usize>,
    /// The prefecture starts the address (else it has a column of its own).
    pub prefecture_in_address: bool,
}

impl Default for AddressSplit {
    fn default() -> Self {
        AddressSplit {
            recipient: vec![64],
            sender: vec![64],
            prefecture_in_address: true,
        }
    }
}

/// One column of the carrier's import layout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub header: String,
    /// Where the value comes from (a field, see [`FieldName`]); none: `text`, or empty.
    #[serde(default)]
    pub value: Option<String>,
    /// A constant value.
    #[serde(default)]
    pub text: Option<String>,
    /// Longest value in bytes of the file's encoding; longer text is cut (and said so).
    #[serde(default)]
    pub max_bytes: Option<usize>,
    /// A shipment without this value is not exported (listed with the reason).
    #[serde(default)]
    pub required: bool,
}

/// Where the tracking number comes back: by header name when the file has a header row, by
/// position (1-based) when it has none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportLayout {
    pub key_headers: Vec<String>,
    pub key_column: usize,
    pub tracking_headers: Vec<String>,
    pub tracking_column: usize,
    #[serde(default)]
    pub date_headers: Vec<String>,
    #[serde(default)]
    pub date_column: Option<usize>,
    /// Tracking numbers are this many digits (a check, not a rule: hyphens are dropped).
    #[serde(default)]
    pub tracking_digits: Vec<usize>,
    /// A regular expression whose first group is the key within the key column (when the
    /// key shares its column with other text).
    #[serde(default)]
    pub key_pattern: Option<String>,
}

/// What a column can hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldName {
    Key,
    OrderNo,
    ServiceCode,
    CoolCode,
    CodFlag,
    ShipDate,
    DeliveryDate,
    TimeCode,
    RecipientPhone,
    RecipientPostal,
    RecipientPrefecture,
    /// The n-th part (1-based) of the recipient's address as split by the profile.
    RecipientAddress(usize),
    RecipientName(usize),
    RecipientKana,
    SenderPhone,
    SenderPostal,
    SenderPrefecture,
    SenderAddress(usize),
    SenderName,
    ItemName,
    /// The item name followed by the key (for layouts without a management-number column).
    ItemNameKey,
    ItemCount,
    CodAmount,
    CodTax,
    /// A value of the shop's carrier account (`[carriers.b2] billing_customer_code = …`).
    Account(String),
}

impl FieldName {
    pub fn parse(s: &str) -> Option<FieldName> {
        use FieldName::*;
        let part = |prefix: &str| -> Option<usize> {
            s.strip_prefix(prefix)
                .and_then(|n| n.parse().ok())
                .filter(|n| *n >= 1)
        };
        if let Some(a) = s.strip_prefix("account.") {
            return (!a.is_empty()).then(|| Account(a.to_string()));
        }
        if let Some(n) = part("recipient_address_") {
            return Some(RecipientAddress(n));
        }
        if let Some(n) = part("sender_address_") {
            return Some(SenderAddress(n));
        }
        if let Some(n) = part("recipient_name_") {
            return Some(RecipientName(n));
        }
        Some(match s {
            "key" => Key,
            "order_no" => OrderNo,
            "service_code" => ServiceCode,
            "cool_code" => CoolCode,
            "cod_flag" => CodFlag,
            "ship_date" => ShipDate,
            "delivery_date" => DeliveryDate,
            "time_code" => TimeCode,
            "recipient_phone" => RecipientPhone,
            "recipient_postal" => RecipientPostal,
            "recipient_prefecture" => RecipientPrefecture,
            "recipient_name" => RecipientName(1),
            "recipient_kana" => RecipientKana,
            "sender_phone" => SenderPhone,
            "sender_postal" => SenderPostal,
            "sender_prefecture" => SenderPrefecture,
            "sender_name" => SenderName,
            "item_name" => ItemName,
            "item_name_key" => ItemNameKey,
            "item_count" => ItemCount,
            "cod_amount" => CodAmount,
            "cod_tax" => CodTax,
            _ => return None,
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProfileError {
    #[error("label profile {id}: {why}")]
    Invalid { id: String, why: String },
    #[error("label profile: {0}")]
    Toml(String),
}

impl Profile {
    /// Parses and checks one profile's TOML.
    pub fn parse(text: &str) -> Result<Profile, ProfileError> {
        let p: Profile = toml::from_str(text).map_err(|e| ProfileError::Toml(e.to_string()))?;
        p.check()?;
        Ok(p)
    }

    /// A profile that cannot produce a file the carrier takes is refused when loaded, not
    /// when the first label is due.
    pub fn check(&self) -> Result<(), ProfileError> {
        let bad = |why: String| ProfileError::Invalid {
            id: self.id.clone(),
            why,
        };
        if self.id.is_empty()
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad("id must be ASCII letters, digits, - or _".into()));
        }
        for s in [
            Some(&self.default_service),
            self.cod_service.as_ref(),
            self.overflow_service.as_ref(),
            self.cool_service.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            if !self.services.contains_key(s) {
                return Err(bad(format!("service {s:?} is not in [services]")));
            }
        }
        for t in &self.times {
            regex::Regex::new(&t.pattern)
                .map_err(|e| bad(format!("time pattern {:?}: {e}", t.pattern)))?;
        }
        for c in &self.columns {
            if let Some(v) = &c.value
                && FieldName::parse(v).is_none()
            {
                return Err(bad(format!("column {:?}: unknown value {v:?}", c.header)));
            }
            if c.value.is_some() && c.text.is_some() {
                return Err(bad(format!(
                    "column {:?}: value and text are exclusive",
                    c.header
                )));
            }
        }
        if self.columns.is_empty() {
            return Err(bad("no columns".into()));
        }
        for c in [
            Some(self.import.key_column),
            Some(self.import.tracking_column),
            self.import.date_column,
        ]
        .into_iter()
        .flatten()
        {
            if c == 0 || c > 200 {
                return Err(bad(format!("import column {c} out of range (1-based)")));
            }
        }
        if let Some(p) = &self.import.key_pattern {
            let re = regex::Regex::new(p).map_err(|e| bad(format!("key_pattern: {e}")))?;
            if re.captures_len() < 2 {
                return Err(bad("key_pattern needs a group (…) around the key".into()));
            }
        }
        Ok(())
    }

    /// The built-in profile `id`.
    pub fn builtin(id: &str) -> Option<Profile> {
        Profile::builtin_ref(id).cloned()
    }

    /// The built-in profile `id`, parsed once per process (parsing checks every pattern).
    pub fn builtin_ref(id: &str) -> Option<&'static Profile> {
        static PARSED: std::sync::OnceLock<Vec<Profile>> = std::sync::OnceLock::new();
        PARSED
            .get_or_init(|| {
                BUILTIN
                    .iter()
                    .filter_map(|(_, text)| Profile::parse(text).ok())
                    .collect()
            })
            .iter()
            .find(|p| p.id == id)
    }

    /// Every built-in profile.
    pub fn builtins() -> Vec<Profile> {
        BUILTIN
            .iter()
            .filter_map(|(id, _)| Profile::builtin_ref(id).cloned())
            .collect()
    }

    /// The join key of a shipment.
    pub fn key(&self, order_no: &str, shipment_no: i64) -> String {
        let w = self.key.shipment_digits;
        format!(
            "{order_no}{}{:0w$}",
            self.key.separator,
            shipment_no.max(0),
            w = w
        )
    }

    /// The order number and shipment number of a key read back.
    pub fn parse_key(&self, key: &str) -> Option<(String, i64)> {
        let key = key.trim();
        let w = self.key.shipment_digits;
        let (order, ship) = if self.key.separator.is_empty() {
            if key.len() <= w || !key.is_ascii() {
                return None;
            }
            key.split_at(key.len() - w)
        } else {
            key.rsplit_once(self.key.separator.as_str())?
        };
        let n: i64 = ship.parse().ok()?;
        (!order.is_empty()).then(|| (order.to_string(), n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_profiles_parse_and_check() {
        for (id, text) in BUILTIN {
            let p = Profile::parse(text).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(p.id, id);
        }
    }

    #[test]
    fn keys_round_trip() {
        let p = Profile::builtin("b2").expect("b2");
        let k = p.key("100000020732", 1);
        assert_eq!(k, "100000020732001");
        assert_eq!(p.parse_key(&k), Some(("100000020732".into(), 1)));
        assert_eq!(p.parse_key("12"), None);
    }
}
