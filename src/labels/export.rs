//! One label row per shipment, in a profile's layout, and the file they make: values made
//! writable for the carrier (JIS X 0208, byte limits, addresses split, phone and postal code
//! normalised), each change a warning, and a shipment the layout cannot express refused with
//! the reason instead of a file the carrier rejects.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::charset::{cp932_len, cut_bytes, encode_cp932, split_bytes, to_carrier_text};
use super::delivery::{CoolKind, DeliveryDecision};
use super::profile::{FieldName, FileEncoding, Profile};
use crate::domain::{Destination, Instruction, ShipFrom};
use crate::futureshop::prefecture::prefecture_ja;
use crate::normalize::{digits, fold_width, postal_digits};

/// What one row is built from.
pub struct RowInput<'a> {
    pub instruction: &'a Instruction,
    pub destination: &'a Destination,
    pub decision: &'a DeliveryDecision,
    pub ship_from: Option<&'a ShipFrom>,
    /// The shop's account values for this carrier.
    pub account: &'a BTreeMap<String, String>,
    pub ship_date: NaiveDate,
    /// The cash to collect on this shipment (0 when none).
    pub cod_amount: i64,
    pub cod_tax: i64,
}

/// A built row and what was changed to make it fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub key: String,
    pub cells: Vec<String>,
    pub warnings: Vec<String>,
}

/// One exported shipment, as the report lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedShipment {
    pub order_no: String,
    pub shipment_no: i64,
    pub key: String,
    pub service: String,
    pub warnings: Vec<String>,
}

/// A shipment (or an order) left out of the file, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub order_no: String,
    pub shipment_no: Option<i64>,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportReport {
    pub carrier: String,
    pub carrier_name: String,
    pub file_name: String,
    pub exported: Vec<ExportedShipment>,
    pub skipped: Vec<Skipped>,
    /// Instructions moved from 出荷待ち to 出荷作業中.
    pub started: u64,
    /// Bytes of the file.
    pub bytes: u64,
}

/// The prefecture's Japanese name (futureshop sends `TOKYO`), or the token as it is.
fn pref_name(token: &str) -> String {
    prefecture_ja(token)
        .map(str::to_string)
        .unwrap_or_else(|| token.trim().to_string())
}

/// The full address, the prefecture first when the layout has no column for it.
fn full_address(pref: &str, address: &str, with_pref: bool) -> String {
    let pref = pref_name(pref);
    let address = address.trim();
    if with_pref && !address.starts_with(&pref) {
        format!("{pref}{address}")
    } else {
        address.to_string()
    }
}

/// A postal code as `NNN-NNNN`, or None when it is not one.
fn postal(s: &str) -> Option<String> {
    postal_digits(s).map(|d| format!("{}-{}", &d[..3], &d[3..]))
}

/// A phone number with digits and hyphens only, within `max` bytes (hyphens go first), or
/// None when it has too few digits to be one.
fn phone(s: &str, max: Option<usize>) -> Option<String> {
    let folded = fold_width(s);
    let kept: String = folded
        .trim()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    let n = digits(&kept).len();
    if !(10..=11).contains(&n) {
        return None;
    }
    match max {
        Some(m) if kept.len() > m => Some(digits(&kept)),
        _ => Some(kept),
    }
}

/// The label's 品名: the shop's fixed one, else the first item and how many more.
fn item_name(i: &RowInput<'_>) -> String {
    if let Some(n) = i.account.get("item_name").filter(|n| !n.trim().is_empty()) {
        return n.trim().to_string();
    }
    let items = &i.destination.items;
    match items.first() {
        Some(first) if items.len() > 1 => format!("{} 他{}点", first.name.trim(), items.len() - 1),
        Some(first) => first.name.trim().to_string(),
        None => String::new(),
    }
}

/// Builds the row of one shipment; Err is why it cannot be exported.
pub fn build_row(p: &Profile, input: &RowInput<'_>) -> Result<Row, String> {
    let i = input.instruction;
    let d = input.destination;
    let dec = input.decision;
    let mut warnings = Vec::new();
    let key = p.key(&i.order_no, d.shipment_no);
    if key.len() > p.key.max_len || !key.is_ascii() {
        return Err(format!(
            "管理番号 {key} が {} 文字を超えます",
            p.key.max_len
        ));
    }
    let Some(sender) = input.ship_from else {
        return Err("発送元がありません: 出荷指示に発送元を設定してください".into());
    };
    // Text that goes on the label, made writable once; what was replaced is said per field.
    let mut text = |label: &str, s: &str| -> String {
        let mut notes = Vec::new();
        let t = to_carrier_text(s, &mut notes);
        if !notes.is_empty() {
            warnings.push(format!("{label}: {}", notes.join(" ")));
        }
        t
    };
    let a = &d.address;
    let recipient_name = text("お届け先名", &a.name);
    let recipient_kana = text("お届け先名カナ", &a.name_kana);
    let recipient_address = text(
        "お届け先住所",
        &full_address(&a.prefecture, &a.address, p.address.prefecture_in_address),
    );
    let sender_name = text("ご依頼主名", &sender.name);
    let sender_address = text(
        "ご依頼主住所",
        &full_address(
            &sender.prefecture,
            &sender.address,
            p.address.prefecture_in_address,
        ),
    );
    let item = text("品名", &item_name(input));
    let (r_parts, r_rest) = split_bytes(&recipient_address, &p.address.recipient);
    if !r_rest.is_empty() {
        warnings.push(format!("お届け先住所が長すぎるため「{r_rest}」を省略"));
    }
    let (s_parts, s_rest) = split_bytes(&sender_address, &p.address.sender);
    if !s_rest.is_empty() {
        warnings.push(format!("ご依頼主住所が長すぎるため「{s_rest}」を省略"));
    }
    let name_limits = if p.name_parts.is_empty() {
        vec![usize::MAX / 2]
    } else {
        p.name_parts.clone()
    };
    let (n_parts, n_rest) = split_bytes(&recipient_name, &name_limits);
    if !n_rest.is_empty() {
        warnings.push(format!("お届け先名が長すぎるため「{n_rest}」を省略"));
    }
    let date = |d: Option<NaiveDate>| {
        d.map(|d| d.format(&p.date_format).to_string())
            .unwrap_or_default()
    };
    let service_takes_date = p.services.get(&dec.service).is_none_or(|s| s.date);
    let mut cells = Vec::with_capacity(p.columns.len());
    for c in &p.columns {
        let field = c.value.as_deref().and_then(FieldName::parse);
        let max = c.max_bytes;
        let value: String = match (&field, &c.text) {
            (_, Some(t)) => t.clone(),
            (None, None) => String::new(),
            (Some(f), _) => match f {
                FieldName::Key => key.clone(),
                FieldName::OrderNo => i.order_no.clone(),
                FieldName::ServiceCode => dec.service_code.clone(),
                FieldName::CoolCode => match dec.cool {
                    None => p.cool.none.clone(),
                    Some(CoolKind::Chilled) => p.cool.chilled.clone(),
                    Some(CoolKind::Frozen) => p.cool.frozen.clone(),
                },
                FieldName::CodFlag => {
                    if dec.cod {
                        p.cod_flag.yes.clone()
                    } else {
                        p.cod_flag.no.clone()
                    }
                }
                FieldName::ShipDate => date(Some(input.ship_date)),
                FieldName::DeliveryDate => {
                    if service_takes_date {
                        date(d.requested_date)
                    } else {
                        String::new()
                    }
                }
                FieldName::TimeCode => dec.time_code.clone(),
                FieldName::RecipientPhone => phone(&a.phone, max)
                    .ok_or_else(|| format!("お届け先電話番号「{}」が使えません", a.phone.trim()))?,
                FieldName::RecipientPostal => postal(&a.postal_code).ok_or_else(|| {
                    format!("お届け先郵便番号「{}」が不正です", a.postal_code.trim())
                })?,
                FieldName::RecipientPrefecture => pref_name(&a.prefecture),
                FieldName::RecipientAddress(n) => r_parts.get(n - 1).cloned().unwrap_or_default(),
                FieldName::RecipientName(n) => n_parts.get(n - 1).cloned().unwrap_or_default(),
                FieldName::RecipientKana => recipient_kana.clone(),
                FieldName::SenderPhone => phone(&sender.phone, max).ok_or_else(|| {
                    format!("発送元の電話番号「{}」が使えません", sender.phone.trim())
                })?,
                FieldName::SenderPostal => postal(&sender.postal_code).ok_or_else(|| {
                    format!(
                        "発送元の郵便番号「{}」が不正です",
                        sender.postal_code.trim()
                    )
                })?,
                FieldName::SenderPrefecture => pref_name(&sender.prefecture),
                FieldName::SenderAddress(n) => s_parts.get(n - 1).cloned().unwrap_or_default(),
                FieldName::SenderName => sender_name.clone(),
                FieldName::ItemName => item.clone(),
                FieldName::ItemNameKey => {
                    // The key is never cut: the name gives way.
                    let room = max.unwrap_or(usize::MAX / 2).saturating_sub(key.len() + 1);
                    let name = cut_bytes(&item, room).trim_end();
                    if name.is_empty() {
                        key.clone()
                    } else {
                        format!("{name} {key}")
                    }
                }
                FieldName::ItemCount => d.items.iter().map(|it| it.count).sum::<i64>().to_string(),
                FieldName::CodAmount => {
                    if dec.cod {
                        input.cod_amount.to_string()
                    } else {
                        String::new()
                    }
                }
                FieldName::CodTax => {
                    if dec.cod {
                        input.cod_tax.to_string()
                    } else {
                        String::new()
                    }
                }
                FieldName::Account(name) => input
                    .account
                    .get(name)
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default(),
            },
        };
        let value = match max {
            Some(m) if cp932_len(&value) > m => {
                let cut = cut_bytes(&value, m).to_string();
                warnings.push(format!(
                    "{}: {m} バイトを超えるため「{}」を省略",
                    c.header,
                    &value[cut.len()..]
                ));
                cut
            }
            _ => value,
        };
        if c.required && value.trim().is_empty() {
            return Err(match field {
                Some(FieldName::Account(name)) => format!(
                    "{} がありません: setup ファイルの [carriers.{}] に {name} を設定してください",
                    c.header, p.id
                ),
                _ => format!("{} がありません", c.header),
            });
        }
        cells.push(value);
    }
    Ok(Row {
        key,
        cells,
        warnings,
    })
}

/// The file of `rows`: the header when the profile has one, CRLF line ends, quoted where
/// needed, in the profile's encoding.
pub fn write_file(p: &Profile, rows: &[Row]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::with_capacity(rows.len() * 300 + 1024));
    // Writing to memory cannot fail.
    if p.header {
        let _ = w.write_record(p.columns.iter().map(|c| c.header.as_str()));
    }
    for r in rows {
        let _ = w.write_record(&r.cells);
    }
    let bytes = w.into_inner().unwrap_or_default();
    match p.encoding {
        FileEncoding::Utf8 => bytes,
        FileEncoding::Cp932 => encode_cp932(&String::from_utf8_lossy(&bytes)),
    }
}
