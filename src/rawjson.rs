//! A JSON document kept as text: received, stored and re-served byte for byte, parsed only when
//! someone asks for a field. futureshop orders are kept this way so that no field is lost and
//! no time is spent rebuilding them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// See the module documentation.
#[derive(Clone)]
pub struct RawJson(pub Box<serde_json::value::RawValue>);

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for RawJson {}

impl RawJson {
    pub fn from_value(v: &serde_json::Value) -> RawJson {
        let text = serde_json::to_string(v).unwrap_or_else(|_| "null".into());
        RawJson::from_text(text)
    }

    pub fn from_text(text: String) -> RawJson {
        match serde_json::value::RawValue::from_string(text) {
            Ok(r) => RawJson(r),
            Err(_) => RawJson(
                serde_json::value::RawValue::from_string("null".into())
                    .unwrap_or_else(|_| unreachable_null()),
            ),
        }
    }

    pub fn get(&self) -> &str {
        self.0.get()
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.0.get()).unwrap_or(serde_json::Value::Null)
    }

    pub fn from_raw(r: &serde_json::value::RawValue) -> RawJson {
        RawJson(r.to_owned())
    }
}

fn unreachable_null() -> Box<serde_json::value::RawValue> {
    // "null" is always valid JSON.
    serde_json::value::to_raw_value(&()).expect("null is valid JSON")
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({} bytes)", self.0.get().len())
    }
}

/// In JSON the document is embedded as itself; in binary formats (the store's records) it is
/// a string.
impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            self.0.serialize(s)
        } else {
            s.serialize_str(self.0.get())
        }
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            Ok(RawJson(Box::<serde_json::value::RawValue>::deserialize(d)?))
        } else {
            let text = String::deserialize(d)?;
            serde_json::value::RawValue::from_string(text)
                .map(RawJson)
                .map_err(serde::de::Error::custom)
        }
    }
}
