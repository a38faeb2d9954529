//! Lenient field deserializers for futureshop JSON.
//!
//! Real payloads write absent values as `""`, some counters as strings (`"4"`), and money as
//! integers. Each helper here accepts every shape seen in the wild and never fails on a
//! recoverable oddity, so one unusual field cannot make an order disappear.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::time::{parse_fs_date, parse_fs_datetime};

/// A string field where `""`, `null` and absence all mean "none". Numbers are accepted and
/// rendered as text (orderNo has been seen as both).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(value_to_opt_string(v.as_ref()))
}

/// Like [`opt_string`] but `""` when absent, for text fields that are simply blank.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_string(d)?.unwrap_or_default())
}

pub fn value_to_opt_string(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

/// An integer that may arrive as a number, a numeric string (`"4"`, `" 1,200 "`), `""` or
/// `null`. Anything unparseable is `None` rather than an error.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(value_to_opt_i64(v.as_ref()))
}

/// Like [`opt_i64`] with 0 for absent values (money totals).
pub fn i64_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(opt_i64(d)?.unwrap_or(0))
}

pub fn value_to_opt_i64(v: Option<&Value>) -> Option<i64> {
    match v {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f.round() as i64)),
        Some(Value::String(s)) => {
            let cleaned: String = s.trim().chars().filter(|c| *c != ',').collect();
            if cleaned.is_empty() {
                None
            } else {
                cleaned
                    .parse::<i64>()
                    .ok()
                    .or_else(|| cleaned.parse::<f64>().ok().map(|f| f.round() as i64))
            }
        }
        _ => None,
    }
}

/// A boolean that may arrive as `true`, `"true"`, `1`, `"1"`, or be absent/blank (false).
pub fn bool_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::Bool(b)) => b,
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0) != 0,
        Some(Value::String(s)) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1"),
        _ => false,
    })
}

/// A `yyyy-mm-ddThh:mm:ss` date-time; `""`/null/unparseable → `None`.
pub fn opt_datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
    Ok(opt_string(d)?.and_then(|s| {
        parse_fs_datetime(&s).or_else(|| parse_fs_date(&s).and_then(|d| d.and_hms_opt(0, 0, 0)))
    }))
}

/// A `yyyy-mm-dd` date; a full date-time is accepted and truncated; `""` → `None`.
pub fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    Ok(opt_string(d)?
        .and_then(|s| parse_fs_date(&s).or_else(|| parse_fs_datetime(&s).map(|t| t.date()))))
}

/// A list that may be absent, `null` or `""` (all → empty). Elements that fail to parse are
/// skipped only where the caller opted in through [`vec_skip_bad`].
pub fn vec_or_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrBlank<T> {
        List(Vec<T>),
        Other(#[allow(dead_code)] Value),
    }
    Ok(match Option::<ListOrBlank<T>>::deserialize(d)? {
        Some(ListOrBlank::List(v)) => v,
        _ => Vec::new(),
    })
}

/// An object that may be absent, `null` or `""` (→ default).
pub fn obj_or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    let v = Option::<Value>::deserialize(d)?;
    match v {
        Some(v @ Value::Object(_)) => T::deserialize(v).map_err(serde::de::Error::custom),
        _ => Ok(T::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct Probe {
        #[serde(default, deserialize_with = "opt_string")]
        s: Option<String>,
        #[serde(default, deserialize_with = "opt_i64")]
        n: Option<i64>,
        #[serde(default, deserialize_with = "i64_or_zero")]
        z: i64,
        #[serde(default, deserialize_with = "bool_lenient")]
        b: bool,
        #[serde(default, deserialize_with = "opt_datetime")]
        t: Option<NaiveDateTime>,
        #[serde(default, deserialize_with = "opt_date")]
        d: Option<NaiveDate>,
        #[serde(default, deserialize_with = "vec_or_empty")]
        l: Vec<i64>,
    }

    fn probe(json: &str) -> Probe {
        serde_json::from_str(json).expect("lenient parse never fails on these")
    }

    #[test]
    fn empty_string_means_absent() {
        let p = probe(r#"{"s":"","n":"","z":"","b":"","t":"","d":"","l":""}"#);
        assert_eq!(p.s, None);
        assert_eq!(p.n, None);
        assert_eq!(p.z, 0);
        assert!(!p.b);
        assert_eq!(p.t, None);
        assert_eq!(p.d, None);
        assert!(p.l.is_empty());
    }

    #[test]
    fn missing_and_null_mean_absent() {
        let p = probe(r#"{"s":null,"n":null,"t":null,"l":null}"#);
        assert_eq!(p.s, None);
        assert_eq!(p.n, None);
        assert_eq!(p.t, None);
        let p = probe("{}");
        assert_eq!(p.z, 0);
    }

    #[test]
    fn counters_as_strings() {
        let p = probe(r#"{"n":"4","z":" 1,200 ","s":100000020732}"#);
        assert_eq!(p.n, Some(4));
        assert_eq!(p.z, 1200);
        assert_eq!(p.s.as_deref(), Some("100000020732"));
        assert_eq!(probe(r#"{"n":"abc"}"#).n, None);
        assert_eq!(probe(r#"{"n":12.0}"#).n, Some(12));
    }

    #[test]
    fn booleans_in_several_shapes() {
        assert!(probe(r#"{"b":true}"#).b);
        assert!(probe(r#"{"b":"true"}"#).b);
        assert!(probe(r#"{"b":1}"#).b);
        assert!(!probe(r#"{"b":"false"}"#).b);
    }

    #[test]
    fn dates_and_datetimes() {
        let p = probe(r#"{"t":"2021-07-07T21:16:17","d":"2021-07-10"}"#);
        assert_eq!(
            p.t.map(|t| t.to_string()).as_deref(),
            Some("2021-07-07 21:16:17")
        );
        assert_eq!(p.d.map(|d| d.to_string()).as_deref(), Some("2021-07-10"));
        // A date where a datetime is expected, and the reverse, are both kept.
        let p = probe(r#"{"t":"2021-07-07","d":"2021-07-10T01:02:03"}"#);
        assert!(p.t.is_some());
        assert_eq!(p.d.map(|d| d.to_string()).as_deref(), Some("2021-07-10"));
        // Garbage is absent, not an error.
        assert_eq!(probe(r#"{"t":"yesterday"}"#).t, None);
    }
}
