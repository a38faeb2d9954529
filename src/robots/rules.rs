//! User-defined rules of processing robots: conditions on a field and actions, stored as data.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::msg::Msg;

use crate::domain::Instruction;
use crate::futureshop::prefecture::prefecture_ja;

crate::named_enum! {
    /// A field of an instruction a condition can look at.
    pub enum Field {
        OrderNo = "受注コード",
        PaymentType = "支払方法",
        PaymentFlag = "入金フラグ",
        Total = "合計金額",
        ItemCount = "商品点数",
        OrderType = "受注種別",
        BuyerName = "注文者氏名",
        RecipientName = "配送先氏名",
        PostalCode = "郵便番号",
        Prefecture = "都道府県",
        Address = "住所",
        DeliveryMethod = "配送方法",
        RequestedDate = "配送希望日",
        RequestedTime = "配送希望時間帯",
        Sku = "品番",
        ProductName = "商品名",
        Notes = "備考",
        ShopMemo = "ショップメモ",
        DeliveryInstructions = "配送指示",
        GiftLabel = "のし・ラッピング",
        ProductOption = "商品オプション",
        JanCode = "JANコード",
        Phone = "電話番号",
    }
}

impl Field {
    /// Postal codes and phone numbers compare by their digits (`150-0001`, `1500001` and
    /// `１５０－０００１` are one postal code), other fields as written.
    pub fn compares_digits(self) -> bool {
        matches!(self, Field::PostalCode | Field::Phone)
    }

    /// Fields a `SetField` action may write.
    pub fn settable(self) -> bool {
        matches!(
            self,
            Field::DeliveryMethod | Field::RequestedDate | Field::RequestedTime | Field::Notes
        )
    }

    /// The values of this field on an instruction. Fields that exist per destination or per
    /// item yield several values; a prefecture yields both its token and its Japanese name.
    pub fn values(self, i: &Instruction) -> Vec<String> {
        let per_dest = |f: &dyn Fn(&crate::domain::Destination) -> String| -> Vec<String> {
            i.destinations.iter().map(f).collect()
        };
        match self {
            Field::OrderNo => vec![i.order_no.clone()],
            Field::PaymentType => vec![i.payment_type.clone().unwrap_or_default()],
            Field::PaymentFlag => vec![i.payment.name().to_string()],
            Field::Total => vec![i.amounts.grand_total.to_string()],
            Field::ItemCount => vec![i.item_count().to_string()],
            Field::OrderType => vec![i.order_type.clone().unwrap_or_default()],
            Field::BuyerName => vec![i.buyer.name.clone()],
            Field::RecipientName => per_dest(&|d| d.address.name.clone()),
            Field::PostalCode => per_dest(&|d| d.address.postal_code.clone()),
            Field::Prefecture => i
                .destinations
                .iter()
                .flat_map(|d| {
                    let token = d.address.prefecture.clone();
                    let ja = prefecture_ja(&token).map(str::to_string);
                    std::iter::once(token).chain(ja)
                })
                .collect(),
            Field::Address => per_dest(&|d| d.address.address.clone()),
            Field::DeliveryMethod => per_dest(&|d| d.delivery_method.clone()),
            Field::RequestedDate => {
                per_dest(&|d| d.requested_date.map(|x| x.to_string()).unwrap_or_default())
            }
            Field::RequestedTime => per_dest(&|d| d.requested_time.clone().unwrap_or_default()),
            Field::Sku => i.skus().map(str::to_string).collect(),
            Field::ProductName => i
                .destinations
                .iter()
                .flat_map(|d| d.items.iter().map(|x| x.name.clone()))
                .collect(),
            Field::Notes => vec![i.notes.clone().unwrap_or_default()],
            Field::ShopMemo => vec![i.shop_memo.clone().unwrap_or_default()],
            Field::DeliveryInstructions => {
                per_dest(&|d| d.instructions.clone().unwrap_or_default())
            }
            Field::GiftLabel => per_dest(&|d| d.gift_label.clone().unwrap_or_default()),
            Field::ProductOption => i
                .destinations
                .iter()
                .flat_map(|d| d.items.iter().flat_map(|x| &x.options))
                .map(|o| format!("{}: {}", o.name, o.value))
                .collect(),
            Field::JanCode => i
                .destinations
                .iter()
                .flat_map(|d| d.items.iter().map(|x| x.jan_code.clone()))
                .collect(),
            Field::Phone => per_dest(&|d| d.address.phone.clone()),
        }
    }
}

crate::named_enum! {
    /// Comparison operators, as コマースロボ names them.
    pub enum Op {
        Equals = "全一致",
        Contains = "部分一致",
        StartsWith = "前方一致",
        EndsWith = "後方一致",
        NotEquals = "ではない",
        /// Inclusive; numbers compare as numbers, anything else as text.
        AtLeast = "以上",
        AtMost = "以下",
    }
}

impl Op {
    /// Compares one field value with the condition's value.
    pub fn test(self, actual: &str, expected: &str) -> bool {
        match self {
            Op::Equals => actual == expected,
            Op::Contains => actual.contains(expected),
            Op::StartsWith => actual.starts_with(expected),
            Op::EndsWith => actual.ends_with(expected),
            Op::NotEquals => actual != expected,
            Op::AtLeast => compare(actual, expected).is_some_and(|o| o.is_ge()),
            Op::AtMost => compare(actual, expected).is_some_and(|o| o.is_le()),
        }
    }
}

fn number(s: &str) -> Option<f64> {
    let cleaned: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | '¥' | '円'))
        .collect();
    // Plain decimals only: f64's parser also takes "1e3", "inf" and "NaN", which are text here.
    if cleaned.is_empty()
        || !cleaned
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '+' | '-'))
    {
        return None;
    }
    cleaned.parse().ok()
}

/// Numbers as numbers; otherwise text (which orders yyyy-mm-dd dates correctly). An empty
/// value never satisfies 以上/以下.
fn compare(actual: &str, expected: &str) -> Option<std::cmp::Ordering> {
    if actual.trim().is_empty() {
        return None;
    }
    match (number(actual), number(expected)) {
        (Some(a), Some(b)) => a.partial_cmp(&b),
        _ => Some(actual.cmp(expected)),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub field: Field,
    pub op: Op,
    pub value: String,
}

impl Condition {
    /// A multi-valued field matches a positive operator when any value does, and ではない
    /// when no value equals.
    pub fn matches(&self, i: &Instruction) -> bool {
        let mut values = self.field.values(i);
        let mut expected = std::borrow::Cow::Borrowed(self.value.as_str());
        if self.field.compares_digits() {
            let digits = crate::normalize::digits(&self.value);
            if !digits.is_empty() {
                expected = std::borrow::Cow::Owned(digits);
                for v in &mut values {
                    *v = crate::normalize::digits(v);
                }
            }
        }
        match self.op {
            Op::NotEquals => values.iter().all(|v| v != expected.as_ref()),
            op => values.iter().any(|v| op.test(v, &expected)),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} 「{}」", self.field, self.op, self.value)
    }
}

/// What a user rule does when its conditions hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleAction {
    #[serde(rename = "項目を設定")]
    SetField { field: Field, value: String },
    #[serde(rename = "発送元を設定")]
    SetShipFrom { ship_from_id: u64 },
    #[serde(rename = "配送方法を設定")]
    SetDeliveryMethod { method: String },
    #[serde(rename = "保留理由を追加")]
    AddHoldReason { reason: String },
    #[serde(rename = "取込拒否")]
    RefuseIntake { reason: String },
}

impl fmt::Display for RuleAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleAction::SetField { field, value } => write!(f, "{field}を「{value}」に設定"),
            RuleAction::SetShipFrom { ship_from_id } => {
                write!(f, "発送元を ID:{ship_from_id} に設定")
            }
            RuleAction::SetDeliveryMethod { method } => write!(f, "配送方法を「{method}」に設定"),
            RuleAction::AddHoldReason { reason } => write!(f, "保留理由「{reason}」を追加"),
            RuleAction::RefuseIntake { reason } => write!(f, "取込拒否「{reason}」"),
        }
    }
}

/// A user-defined rule: all (or any) conditions, then every action in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRule {
    pub conditions: Vec<Condition>,
    /// true: 全ての条件 (AND); false: いずれかの条件 (OR).
    #[serde(default = "yes")]
    pub match_all: bool,
    pub actions: Vec<RuleAction>,
}

fn yes() -> bool {
    true
}

impl UserRule {
    pub fn matches(&self, i: &Instruction) -> bool {
        if self.conditions.is_empty() {
            return true;
        }
        if self.match_all {
            self.conditions.iter().all(|c| c.matches(i))
        } else {
            self.conditions.iter().any(|c| c.matches(i))
        }
    }

    /// Problems that make the rule unusable, for a clear refusal when it is saved.
    pub fn validate(&self) -> Result<(), Msg> {
        if self.actions.is_empty() {
            return Err(Msg::new("アクションがありません", "The rule has no action"));
        }
        for a in &self.actions {
            if let RuleAction::SetField { field, .. } = a
                && !field.settable()
            {
                return Err(crate::msg!(
                    "{field} は設定できない項目です (設定できるのは 配送方法・配送希望日・配送希望時間帯・備考)",
                    "{field} cannot be set (these can: 配送方法, 配送希望日, 配送希望時間帯, 備考)"
                ));
            }
            if let RuleAction::SetField {
                field: Field::RequestedDate,
                value,
            } = a
                && !value.is_empty()
                && crate::time::parse_fs_date(value).is_none()
            {
                return Err(crate::msg!(
                    "配送希望日「{value}」は yyyy-mm-dd ではありません",
                    "配送希望日 \"{value}\" is not a yyyy-mm-dd date"
                ));
            }
        }
        Ok(())
    }
}
