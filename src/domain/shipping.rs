//! Shipping a shipment: the delivery decision (carrier, service, time code) and the label
//! exported for it (送り状発行済), kept on each destination.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoolKind {
    #[default]
    Chilled,
    Frozen,
}

/// The decision for one shipment, kept on it and shown in its detail and rule trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryDecision {
    pub carrier: String,
    pub service: String,
    /// The service's name and code in the carrier's software.
    pub service_label: String,
    pub service_code: String,
    pub cool: Option<CoolKind>,
    pub cod: bool,
    /// The carrier's time-slot code ("" when none was wished).
    pub time_code: String,
    /// Which rule decided ("既定" for the default).
    pub rule: String,
    /// What was adjusted and why (ネコポス → 宅急便 over capacity, …).
    pub notes: Vec<String>,
}

impl DeliveryDecision {
    /// One line for the rule trace and the detail view.
    pub fn describe(&self) -> String {
        let mut s = format!("{} {} ({})", self.carrier, self.service_label, self.rule);
        if self.cod {
            s.push_str(" 代引");
        }
        match self.cool {
            Some(CoolKind::Chilled) => s.push_str(" 冷蔵"),
            Some(CoolKind::Frozen) => s.push_str(" 冷凍"),
            None => {}
        }
        if !self.time_code.is_empty() {
            s.push_str(&format!(" 時間帯 {}", self.time_code));
        }
        for n in &self.notes {
            s.push_str(&format!(" / {n}"));
        }
        s
    }
}

/// A label exported for a shipment (送り状発行済): exporting it again needs `--again`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelRecord {
    pub carrier: String,
    /// The file it went into.
    pub file: String,
    pub key: String,
    pub at: DateTime<FixedOffset>,
    pub actor: String,
}
