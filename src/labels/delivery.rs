//! 配送方法の判定: for each shipment, a carrier profile and one of its services, decided by the
//! shop's rules (data: `[[delivery]]` in the setup file), then adjusted for what the service
//! can do — COD, cool, capacity — and the customer's time wish turned into the carrier's code.
//! Every shipment gets exactly one outcome: a label, no label (store pickup), or a hold reason.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::profile::Profile;
pub use crate::domain::{CoolKind, DeliveryDecision};
use crate::domain::{Destination, Instruction};

/// The shop's delivery settings (stored; the setup file's `[[delivery]]`, `[delivery_default]`,
/// `[carriers.*]` and `[label_profiles.*]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LabelSettings {
    pub rules: Vec<DeliveryRule>,
    /// A time wish no slot matches holds the shipment (配達時間帯不明); false: the label is
    /// printed without a time (noted on the shipment).
    pub unknown_time_hold: bool,
    /// Where a shipment no rule matches goes; none: it is held (配送方法未判定).
    pub default: Option<Target>,
    /// Payment types collected on delivery (COD); default `COD`.
    pub cod_payments: Vec<String>,
    /// Per carrier: the shop's account values (`billing_customer_code`, `freight_no`, …).
    pub carriers: BTreeMap<String, BTreeMap<String, String>>,
    /// Profiles the shop added or adjusted (by id; they win over the built-in ones).
    pub profiles: Vec<Profile>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub carrier: String,
    pub service: String,
}

impl Default for LabelSettings {
    fn default() -> Self {
        LabelSettings {
            rules: Vec::new(),
            unknown_time_hold: true,
            default: None,
            cod_payments: Vec::new(),
            carriers: BTreeMap::new(),
            profiles: Vec::new(),
        }
    }
}

/// One rule: the first that matches decides. Every condition given must hold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryRule {
    pub name: String,
    /// futureshop's delivery service name, exactly.
    pub service_name: Option<String>,
    /// … or containing this.
    pub service_name_contains: Option<String>,
    /// The payment type is one of these (`COD`, `FREGI_CREDIT_CARD`, …).
    pub payment: Vec<String>,
    /// The shipment is (or is not) cool.
    pub cool: Option<bool>,
    /// At most this many items in the shipment.
    pub max_items: Option<i64>,
    pub carrier: String,
    pub service: String,
    /// The cool kind when the shipment is cool: `chilled` (冷蔵, default) or `frozen` (冷凍).
    pub cool_kind: Option<CoolKind>,
}

/// The outcome for one shipment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Label(DeliveryDecision),
    /// Never labelled by shukka (store pickup, shipped in futureshop).
    NoLabel(String),
    /// Held, with this reason (配達時間帯不明, …).
    Hold(String),
    /// The shop has no delivery settings: nothing is decided (labels decide at export).
    Unconfigured,
}

/// The hold reason of a time wish no slot of the carrier matches.
pub const TIME_UNKNOWN: &str = "配達時間帯不明";
/// The hold reason of a shipment no rule decides.
pub const METHOD_UNKNOWN: &str = "配送方法未判定";

impl LabelSettings {
    pub fn is_configured(&self) -> bool {
        !self.rules.is_empty() || self.default.is_some()
    }

    /// The profile `id`: the shop's own, else the built-in one.
    pub fn profile(&self, id: &str) -> Option<&Profile> {
        self.profiles
            .iter()
            .find(|p| p.id == id)
            .or_else(|| Profile::builtin_ref(id))
    }

    /// Every profile: built-in ones, replaced or joined by the shop's.
    pub fn all_profiles(&self) -> Vec<Profile> {
        let mut all = Profile::builtins();
        for p in &self.profiles {
            match all.iter_mut().find(|x| x.id == p.id) {
                Some(x) => *x = p.clone(),
                None => all.push(p.clone()),
            }
        }
        all
    }

    fn is_cod(&self, i: &Instruction) -> bool {
        let pt = i.payment_type.as_deref().unwrap_or("");
        if self.cod_payments.is_empty() {
            pt == "COD"
        } else {
            self.cod_payments.iter().any(|p| p == pt)
        }
    }

    /// The decision for shipment `d` of `i`. With `carrier`, that carrier is used whatever the
    /// rules say (an export for one carrier), keeping the rule's service when it is that
    /// carrier's.
    pub fn decide(&self, i: &Instruction, d: &Destination, carrier: Option<&str>) -> Outcome {
        if d.store_pickup {
            return Outcome::NoLabel("店舗受取: 送り状は発行しません".into());
        }
        if d.shipped_in_futureshop.is_some() {
            return Outcome::NoLabel("futureshop で出荷済み".into());
        }
        let cod = self.is_cod(i);
        let matched = self.rules.iter().find(|r| rule_matches(r, i, d, cod));
        let (target, rule_name, cool_kind) = match (matched, &self.default, carrier) {
            (Some(r), _, _) => (
                Target {
                    carrier: r.carrier.clone(),
                    service: r.service.clone(),
                },
                r.name.clone(),
                r.cool_kind,
            ),
            (None, Some(t), _) => (t.clone(), "既定".to_string(), None),
            (None, None, Some(c)) => match self.profile(c) {
                Some(p) => (
                    Target {
                        carrier: c.to_string(),
                        service: p.default_service.clone(),
                    },
                    "既定".to_string(),
                    None,
                ),
                None => {
                    return Outcome::Hold(format!("{METHOD_UNKNOWN}: 配送業者 {c} がありません"));
                }
            },
            (None, None, None) => {
                if self.is_configured() {
                    return Outcome::Hold(format!(
                        "{METHOD_UNKNOWN}: 「{}」に合うルールがありません",
                        d.delivery_method
                    ));
                }
                return Outcome::Unconfigured;
            }
        };
        let mut notes = Vec::new();
        let (carrier, service) = match carrier {
            Some(c) if c != target.carrier => {
                let Some(p) = self.profile(c) else {
                    return Outcome::Hold(format!("{METHOD_UNKNOWN}: 配送業者 {c} がありません"));
                };
                notes.push(format!("判定は {}: {c} で出力", target.carrier));
                (c.to_string(), p.default_service.clone())
            }
            _ => (target.carrier.clone(), target.service.clone()),
        };
        let Some(profile) = self.profile(&carrier) else {
            return Outcome::Hold(format!("{METHOD_UNKNOWN}: 配送業者 {carrier} がありません"));
        };
        decide_with(
            profile,
            &service,
            &rule_name,
            d,
            cod,
            cool_kind,
            self.unknown_time_hold,
            notes,
        )
    }
}

fn rule_matches(r: &DeliveryRule, i: &Instruction, d: &Destination, cod: bool) -> bool {
    let name = d.delivery_method.trim();
    r.service_name.as_ref().is_none_or(|n| n.trim() == name)
        && r.service_name_contains
            .as_ref()
            .is_none_or(|n| name.contains(n.trim()))
        && (r.payment.is_empty()
            || r.payment
                .iter()
                .any(|p| Some(p.as_str()) == i.payment_type.as_deref() || (p == "COD" && cod)))
        && r.cool.is_none_or(|c| c == d.cool)
        && r.max_items
            .is_none_or(|m| d.items.iter().map(|it| it.count).sum::<i64>() <= m)
}

/// The units an item takes of a small service: `[M便 a/b]` in its name is a/b; an item
/// without the tag counts as a whole unit (a bigger box rather than a refused ネコポス).
pub fn item_units(name: &str) -> f64 {
    let Some(start) = name.find("[M便") else {
        return 1.0;
    };
    let tag = &name[start + "[M便".len()..];
    let Some(end) = tag.find(']') else {
        return 1.0;
    };
    let frac = crate::normalize::fold_width(&tag[..end]);
    let mut it = frac.trim().split('/');
    match (
        it.next().and_then(|a| a.trim().parse::<f64>().ok()),
        it.next().and_then(|b| b.trim().parse::<f64>().ok()),
    ) {
        (Some(a), Some(b)) if b > 0.0 && a >= 0.0 => a / b,
        _ => 1.0,
    }
}

#[allow(clippy::too_many_arguments)] // one decision's inputs, named where they are used
fn decide_with(
    p: &Profile,
    service: &str,
    rule: &str,
    d: &Destination,
    cod: bool,
    cool_kind: Option<CoolKind>,
    hold_unknown_time: bool,
    mut notes: Vec<String>,
) -> Outcome {
    let mut key = service.to_string();
    if !p.services.contains_key(&key) {
        return Outcome::Hold(format!(
            "{METHOD_UNKNOWN}: {} にサービス {key} がありません",
            p.id
        ));
    }
    // Capacity.
    let units: f64 = d
        .items
        .iter()
        .map(|it| item_units(&it.name) * it.count.max(0) as f64)
        .sum();
    if let Some(max) = p.services[&key].max_units
        && units > max + 1e-9
    {
        match &p.overflow_service {
            Some(o) => {
                notes.push(format!(
                    "{} に入りきらない ({units:.2} 口) → {}",
                    p.services[&key].label, p.services[o].label
                ));
                key = o.clone();
            }
            None => {
                return Outcome::Hold(format!(
                    "{METHOD_UNKNOWN}: {} に入りきらない ({units:.2} 口)",
                    p.services[&key].label
                ));
            }
        }
    }
    // Cool.
    if d.cool && !p.services[&key].cool {
        match &p.cool_service {
            Some(c) if p.services[c].cool => {
                notes.push(format!(
                    "クール便は {} 不可 → {}",
                    p.services[&key].label, p.services[c].label
                ));
                key = c.clone();
            }
            _ => {
                return Outcome::Hold(format!(
                    "{METHOD_UNKNOWN}: {} はクール便を扱えません",
                    p.name
                ));
            }
        }
    }
    // Cash on delivery.
    if cod && !p.services[&key].cod {
        match &p.cod_service {
            Some(c) if p.services[c].cod && (!d.cool || p.services[c].cool) => {
                notes.push(format!(
                    "代金引換は {} 不可 → {}",
                    p.services[&key].label, p.services[c].label
                ));
                key = c.clone();
            }
            _ => {
                return Outcome::Hold(format!(
                    "{METHOD_UNKNOWN}: {} は代金引換を扱えません",
                    p.name
                ));
            }
        }
    }
    // The time wish.
    let wish = d.requested_time.as_deref().map(str::trim).unwrap_or("");
    let time_code = if wish.is_empty() {
        p.no_time.clone()
    } else if p.times.is_empty() {
        notes.push(format!("時間帯指定不可: 「{wish}」は印字されません"));
        p.no_time.clone()
    } else {
        let folded = crate::normalize::fold_width(wish);
        match p
            .times
            .iter()
            .find(|t| pattern_matches(&t.pattern, &folded))
        {
            Some(t) => t.code.clone(),
            None if hold_unknown_time => {
                return Outcome::Hold(format!("{TIME_UNKNOWN}: 「{wish}」"));
            }
            None => {
                notes.push(format!("{TIME_UNKNOWN}: 「{wish}」は印字されません"));
                p.no_time.clone()
            }
        }
    };
    if d.requested_date.is_some() && !p.services[&key].date {
        notes.push(format!(
            "お届け希望日は {} では指定できません",
            p.services[&key].label
        ));
    }
    let svc = &p.services[&key];
    Outcome::Label(DeliveryDecision {
        carrier: p.id.clone(),
        service: key.clone(),
        service_label: svc.label.clone(),
        service_code: svc.code.clone(),
        cool: d.cool.then(|| cool_kind.unwrap_or_default()),
        cod,
        time_code,
        rule: rule.to_string(),
        notes,
    })
}

/// A time-slot pattern against a text, the pattern compiled once per process (profiles were
/// checked when loaded, so a pattern that does not compile is simply no match).
pub fn pattern_matches(pattern: &str, text: &str) -> bool {
    cached_regex(pattern).is_some_and(|re| re.is_match(text))
}

/// The first group of `pattern` in `text` (the whole match when it has no group).
pub fn pattern_capture(pattern: &str, text: &str) -> Option<String> {
    let re = cached_regex(pattern)?;
    let c = re.captures(text)?;
    c.get(1)
        .or_else(|| c.get(0))
        .map(|m| m.as_str().to_string())
}

/// A compiled pattern, compiled once per process (a profile's patterns are checked when it is
/// loaded; an invalid one here matches nothing).
fn cached_regex(pattern: &str) -> Option<regex::Regex> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    cache
        .entry(pattern.to_string())
        .or_insert_with(|| regex::Regex::new(pattern).ok())
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m_bin_tags_give_units() {
        assert_eq!(item_units("Tシャツ [M便 1/2]"), 0.5);
        assert_eq!(item_units("マグ [M便 １/３]"), 1.0 / 3.0);
        assert_eq!(item_units("マグカップ"), 1.0);
        assert_eq!(item_units("壊れた [M便 x/0]"), 1.0);
    }
}
