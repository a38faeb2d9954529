//! 同梱候補を保留: which instructions may travel in one parcel, and how they are grouped.
//! Pure logic: the engine runs it after each fetch and keeps the groups (see
//! `engine/bundle.rs`); the rules are in docs/setup.md (同梱).

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::{Instruction, Status};
use crate::normalize::{address_key, fold_width, name_key, phone_digits, postal_digits};

/// What must be equal for two instructions to share a parcel, each part normalised so that
/// the ways people write one address compare equal.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BundleKey {
    pub auth_id: u64,
    pub buyer_name: String,
    pub buyer_mail: String,
    pub recipient_name: String,
    pub postal: String,
    pub phone: String,
    pub prefecture: String,
    pub address: String,
    /// Carrier, service, time code and cool as decided (or the service name and cool flag
    /// when no delivery rules are set), with the wished date and time.
    pub delivery: String,
    pub payment_type: String,
    /// のし・ラッピング and its charge.
    pub gift: String,
}

/// The payment type whose amount the carrier collects: never merged (the amounts of two
/// orders are never added up).
pub const COD: &str = "COD";

/// Why an instruction cannot be in any group, in words for the operator; None when it may.
pub fn exclusion(i: &Instruction) -> Option<String> {
    if !matches!(
        i.status,
        Status::AwaitingPayment | Status::Held | Status::Ready
    ) {
        return Some(format!("{} の出荷指示は同梱しません", i.status));
    }
    if i.cancelled_after_shipment {
        return Some("出荷後キャンセルの出荷指示は同梱しません".into());
    }
    if i.destinations.iter().any(|d| d.label.is_some()) {
        return Some("送り状発行済の出荷指示は同梱しません".into());
    }
    if i.destinations.iter().any(|d| d.tracking_no.is_some()) {
        return Some("送り状番号が登録済みの出荷指示は同梱しません".into());
    }
    let open: Vec<_> = i.open_destinations().collect();
    match open.as_slice() {
        [] => return Some("出荷する配送先がありません".into()),
        [d] if d.store_pickup => return Some("店舗受取は同梱しません".into()),
        [_] => {}
        _ => return Some("配送先が複数ある注文は同梱しません".into()),
    }
    if i.payment_type.as_deref() == Some(COD) {
        return Some("代金引換は同梱しません (代引金額を合算しないため)".into());
    }
    None
}

/// The key of an instruction that may be in a group.
pub fn key(i: &Instruction) -> Option<BundleKey> {
    if exclusion(i).is_some() {
        return None;
    }
    let d = i.open_destinations().next()?;
    let a = &d.address;
    let delivery = match &d.delivery {
        Some(dec) => format!(
            "{}|{}|{}|{:?}",
            dec.carrier, dec.service, dec.time_code, dec.cool
        ),
        None => format!("{}|cool={}", fold_width(d.delivery_method.trim()), d.cool),
    };
    let wish = format!(
        "{}|{}",
        d.requested_date.map(|x| x.to_string()).unwrap_or_default(),
        d.requested_time
            .as_deref()
            .map(name_key)
            .unwrap_or_default()
    );
    Some(BundleKey {
        auth_id: i.auth_id,
        buyer_name: name_key(&i.buyer.name),
        buyer_mail: name_key(&i.buyer_mail),
        recipient_name: name_key(&a.name),
        postal: postal_digits(&a.postal_code).unwrap_or_else(|| name_key(&a.postal_code)),
        phone: phone_digits(&a.phone),
        prefecture: a.prefecture.trim().to_string(),
        address: address_key(&a.address),
        delivery: format!("{delivery}|{wish}"),
        payment_type: i.payment_type.clone().unwrap_or_default(),
        gift: format!(
            "{}|{}",
            d.gift_label.as_deref().map(name_key).unwrap_or_default(),
            d.gift_charge
        ),
    })
}

/// Why `a` and `b` may not share a parcel, or None when they may.
pub fn why_not(a: &Instruction, b: &Instruction) -> Option<String> {
    for i in [a, b] {
        if let Some(why) = exclusion(i) {
            return Some(format!("受注 {}: {why}", i.order_no));
        }
    }
    if a.bundle_never.contains(&b.id) || b.bundle_never.contains(&a.id) {
        return Some("同梱しないと決めた組み合わせです".into());
    }
    let (ka, kb) = (key(a)?, key(b)?);
    let checks: [(bool, &str); 11] = [
        (
            ka.auth_id == kb.auth_id,
            "API認証設定 (ショップ) が違います",
        ),
        (ka.buyer_name == kb.buyer_name, "注文者の名前が違います"),
        (
            ka.buyer_mail == kb.buyer_mail,
            "注文者のメールアドレスが違います",
        ),
        (
            ka.recipient_name == kb.recipient_name,
            "配送先の名前が違います",
        ),
        (ka.postal == kb.postal, "配送先の郵便番号が違います"),
        (ka.phone == kb.phone, "配送先の電話番号が違います"),
        (ka.prefecture == kb.prefecture, "配送先の都道府県が違います"),
        (ka.address == kb.address, "配送先の住所が違います"),
        (
            ka.delivery == kb.delivery,
            "配送方法 (運送会社・サービス・日時指定・クール) が違います",
        ),
        (ka.payment_type == kb.payment_type, "支払方法が違います"),
        (ka.gift == kb.gift, "のし・ラッピングが違います"),
    ];
    checks
        .iter()
        .find(|(same, _)| !same)
        .map(|(_, why)| (*why).to_string())
}

/// One instruction as the grouping sees it.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub id: u64,
    pub key: BundleKey,
    /// Its 同梱しない partners.
    pub never: BTreeSet<u64>,
    /// The open group it is in already, if any.
    pub bundle: Option<u64>,
}

/// A group to propose: new (`existing` None) or an open one that gains members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub existing: Option<u64>,
    /// Every member after the change, in the candidates' order.
    pub members: Vec<u64>,
    pub added: Vec<u64>,
}

/// Groups candidates of equal key. Members of an open group stay in it and gain the free
/// candidates of their key that are compatible with all of them; the other free ones form
/// new groups of two or more, in the candidates' order (oldest first), never with a pair
/// an operator declined.
pub fn propose(cands: &[Candidate]) -> Vec<Proposal> {
    let mut by_key: BTreeMap<&BundleKey, Vec<&Candidate>> = BTreeMap::new();
    for c in cands {
        by_key.entry(&c.key).or_default().push(c);
    }
    let fits = |c: &Candidate, group: &[&Candidate]| {
        group
            .iter()
            .all(|g| !g.never.contains(&c.id) && !c.never.contains(&g.id))
    };
    let mut out = Vec::new();
    for (_, list) in by_key {
        let mut groups: Vec<(Option<u64>, Vec<&Candidate>, Vec<u64>)> = Vec::new();
        let mut existing: BTreeMap<u64, usize> = BTreeMap::new();
        for c in list.iter().filter(|c| c.bundle.is_some()) {
            let b = c.bundle.unwrap_or_default();
            let at = *existing.entry(b).or_insert_with(|| {
                groups.push((Some(b), Vec::new(), Vec::new()));
                groups.len() - 1
            });
            groups[at].1.push(c);
        }
        for c in list.iter().filter(|c| c.bundle.is_none()) {
            match groups.iter_mut().find(|g| fits(c, &g.1)) {
                Some(g) => {
                    g.1.push(c);
                    g.2.push(c.id);
                }
                None => groups.push((None, vec![c], vec![c.id])),
            }
        }
        for (existing, members, added) in groups {
            let grows = existing.is_some() && !added.is_empty();
            let new = existing.is_none() && members.len() >= 2;
            if grows || new {
                out.push(Proposal {
                    existing,
                    members: members.iter().map(|c| c.id).collect(),
                    added,
                });
            }
        }
    }
    out
}

/// What a group's members share, for the operator.
pub fn basis(i: &Instruction) -> String {
    let d = i.open_destinations().next();
    let recipient = d.map(|d| d.address.name.as_str()).unwrap_or("");
    let postal = d
        .map(|d| crate::normalize::postal_display(&d.address.postal_code))
        .unwrap_or_default();
    let delivery = d
        .map(|d| match &d.delivery {
            Some(dec) => format!("{} {}", dec.carrier, dec.service_label),
            None => d.delivery_method.clone(),
        })
        .unwrap_or_default();
    format!(
        "{} → {} {} / {} / {}",
        i.buyer.name,
        recipient,
        postal,
        delivery,
        i.payment_type.as_deref().unwrap_or("-")
    )
}
