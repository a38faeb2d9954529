//! Setup records: 発送元, API認証設定, 商品マスタ.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// 発送元: the sender block printed on labels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipFrom {
    pub id: u64,
    pub name: String,
    pub postal_code: String,
    pub prefecture: String,
    pub address: String,
    pub phone: String,
}

impl ShipFrom {
    /// The fields a label cannot do without that are empty, named in Japanese and English.
    pub fn missing_fields(&self) -> Vec<[&'static str; 2]> {
        let mut m = Vec::new();
        for (v, name) in [
            (&self.name, ["名称", "name"]),
            (&self.postal_code, ["郵便番号", "postal code"]),
            (&self.prefecture, ["都道府県", "prefecture"]),
            (&self.address, ["住所", "address"]),
            (&self.phone, ["電話番号", "phone"]),
        ] {
            if v.trim().is_empty() {
                m.push(name);
            }
        }
        m
    }
}

/// API認証設定 for futureshop. The secret is stored apart (see `Store::secret`) and never part
/// of this record.
fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiAuth {
    pub id: u64,
    pub name: String,
    /// Always "futureshop" today.
    pub api: String,
    pub ship_from_id: Option<u64>,
    pub shop_key: String,
    pub client_id: String,
    /// `host[:port]` (HTTPS) as futureshop issues it, or a full base URL (`http://127.0.0.1:8080`).
    pub endpoint: String,
    /// Spacing between requests in milliseconds (futureshop: 1000; the simulator allows 0).
    pub pacing_ms: u64,
    /// Read each new order's detail (受注取得API): the customer's note, delivery instructions,
    /// gift labels and product options come only with it. Off: one request per page instead
    /// of one per new order, and those fields stay empty.
    #[serde(default = "yes")]
    pub fetch_details: bool,
    pub has_secret: bool,
    pub last_test: Option<ConnectionTest>,
}

impl Default for ApiAuth {
    fn default() -> Self {
        ApiAuth {
            id: 0,
            name: String::new(),
            api: String::new(),
            ship_from_id: None,
            shop_key: String::new(),
            client_id: String::new(),
            endpoint: String::new(),
            pacing_ms: 0,
            fetch_details: true,
            has_secret: false,
            last_test: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTest {
    pub at: DateTime<FixedOffset>,
    pub ok: bool,
    pub message: String,
    /// The outcome in English, for a console in English (empty in records of older builds).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message_en: String,
}

/// 商品マスタ: one SKU (品番) the warehouse knows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductMaster {
    pub sku_no: String,
    pub name: String,
    pub stock: i64,
    /// futureshop's product number and variation codes, when known (needed for 在庫連携).
    pub product_no: Option<String>,
    pub vertical_no: String,
    pub horizontal_no: String,
    /// Where it came from: "futureshop", "csv", "manual".
    pub source: String,
}
