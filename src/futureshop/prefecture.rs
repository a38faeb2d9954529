//! The 47 prefectures: futureshop's romanised token (`TOKYO`), the Japanese name, and (for the
//! simulator) a capital city and a postal-code prefix. The token list is inferred from the one
//! value seen in real payloads (`TOKYO`); unknown tokens are shown as they are.

pub struct Prefecture {
    pub token: &'static str,
    pub name_ja: &'static str,
    pub city: &'static str,
    pub postal_prefix: &'static str,
}

pub const PREFECTURES: &[Prefecture] = &[
    Prefecture {
        token: "HOKKAIDO",
        name_ja: "北海道",
        city: "札幌市中央区",
        postal_prefix: "060",
    },
    Prefecture {
        token: "AOMORI",
        name_ja: "青森県",
        city: "青森市",
        postal_prefix: "030",
    },
    Prefecture {
        token: "IWATE",
        name_ja: "岩手県",
        city: "盛岡市",
        postal_prefix: "020",
    },
    Prefecture {
        token: "MIYAGI",
        name_ja: "宮城県",
        city: "仙台市青葉区",
        postal_prefix: "980",
    },
    Prefecture {
        token: "AKITA",
        name_ja: "秋田県",
        city: "秋田市",
        postal_prefix: "010",
    },
    Prefecture {
        token: "YAMAGATA",
        name_ja: "山形県",
        city: "山形市",
        postal_prefix: "990",
    },
    Prefecture {
        token: "FUKUSHIMA",
        name_ja: "福島県",
        city: "福島市",
        postal_prefix: "960",
    },
    Prefecture {
        token: "IBARAKI",
        name_ja: "茨城県",
        city: "水戸市",
        postal_prefix: "310",
    },
    Prefecture {
        token: "TOCHIGI",
        name_ja: "栃木県",
        city: "宇都宮市",
        postal_prefix: "320",
    },
    Prefecture {
        token: "GUNMA",
        name_ja: "群馬県",
        city: "前橋市",
        postal_prefix: "371",
    },
    Prefecture {
        token: "SAITAMA",
        name_ja: "埼玉県",
        city: "さいたま市浦和区",
        postal_prefix: "330",
    },
    Prefecture {
        token: "CHIBA",
        name_ja: "千葉県",
        city: "千葉市中央区",
        postal_prefix: "260",
    },
    Prefecture {
        token: "TOKYO",
        name_ja: "東京都",
        city: "渋谷区",
        postal_prefix: "150",
    },
    Prefecture {
        token: "KANAGAWA",
        name_ja: "神奈川県",
        city: "横浜市西区",
        postal_prefix: "220",
    },
    Prefecture {
        token: "NIIGATA",
        name_ja: "新潟県",
        city: "新潟市中央区",
        postal_prefix: "950",
    },
    Prefecture {
        token: "TOYAMA",
        name_ja: "富山県",
        city: "富山市",
        postal_prefix: "930",
    },
    Prefecture {
        token: "ISHIKAWA",
        name_ja: "石川県",
        city: "金沢市",
        postal_prefix: "920",
    },
    Prefecture {
        token: "FUKUI",
        name_ja: "福井県",
        city: "福井市",
        postal_prefix: "910",
    },
    Prefecture {
        token: "YAMANASHI",
        name_ja: "山梨県",
        city: "甲府市",
        postal_prefix: "400",
    },
    Prefecture {
        token: "NAGANO",
        name_ja: "長野県",
        city: "長野市",
        postal_prefix: "380",
    },
    Prefecture {
        token: "GIFU",
        name_ja: "岐阜県",
        city: "岐阜市",
        postal_prefix: "500",
    },
    Prefecture {
        token: "SHIZUOKA",
        name_ja: "静岡県",
        city: "静岡市葵区",
        postal_prefix: "420",
    },
    Prefecture {
        token: "AICHI",
        name_ja: "愛知県",
        city: "名古屋市中区",
        postal_prefix: "460",
    },
    Prefecture {
        token: "MIE",
        name_ja: "三重県",
        city: "津市",
        postal_prefix: "514",
    },
    Prefecture {
        token: "SHIGA",
        name_ja: "滋賀県",
        city: "大津市",
        postal_prefix: "520",
    },
    Prefecture {
        token: "KYOTO",
        name_ja: "京都府",
        city: "京都市中京区",
        postal_prefix: "604",
    },
    Prefecture {
        token: "OSAKA",
        name_ja: "大阪府",
        city: "大阪市北区",
        postal_prefix: "530",
    },
    Prefecture {
        token: "HYOGO",
        name_ja: "兵庫県",
        city: "神戸市中央区",
        postal_prefix: "650",
    },
    Prefecture {
        token: "NARA",
        name_ja: "奈良県",
        city: "奈良市",
        postal_prefix: "630",
    },
    Prefecture {
        token: "WAKAYAMA",
        name_ja: "和歌山県",
        city: "和歌山市",
        postal_prefix: "640",
    },
    Prefecture {
        token: "TOTTORI",
        name_ja: "鳥取県",
        city: "鳥取市",
        postal_prefix: "680",
    },
    Prefecture {
        token: "SHIMANE",
        name_ja: "島根県",
        city: "松江市",
        postal_prefix: "690",
    },
    Prefecture {
        token: "OKAYAMA",
        name_ja: "岡山県",
        city: "岡山市北区",
        postal_prefix: "700",
    },
    Prefecture {
        token: "HIROSHIMA",
        name_ja: "広島県",
        city: "広島市中区",
        postal_prefix: "730",
    },
    Prefecture {
        token: "YAMAGUCHI",
        name_ja: "山口県",
        city: "山口市",
        postal_prefix: "753",
    },
    Prefecture {
        token: "TOKUSHIMA",
        name_ja: "徳島県",
        city: "徳島市",
        postal_prefix: "770",
    },
    Prefecture {
        token: "KAGAWA",
        name_ja: "香川県",
        city: "高松市",
        postal_prefix: "760",
    },
    Prefecture {
        token: "EHIME",
        name_ja: "愛媛県",
        city: "松山市",
        postal_prefix: "790",
    },
    Prefecture {
        token: "KOCHI",
        name_ja: "高知県",
        city: "高知市",
        postal_prefix: "780",
    },
    Prefecture {
        token: "FUKUOKA",
        name_ja: "福岡県",
        city: "福岡市博多区",
        postal_prefix: "812",
    },
    Prefecture {
        token: "SAGA",
        name_ja: "佐賀県",
        city: "佐賀市",
        postal_prefix: "840",
    },
    Prefecture {
        token: "NAGASAKI",
        name_ja: "長崎県",
        city: "長崎市",
        postal_prefix: "850",
    },
    Prefecture {
        token: "KUMAMOTO",
        name_ja: "熊本県",
        city: "熊本市中央区",
        postal_prefix: "860",
    },
    Prefecture {
        token: "OITA",
        name_ja: "大分県",
        city: "大分市",
        postal_prefix: "870",
    },
    Prefecture {
        token: "MIYAZAKI",
        name_ja: "宮崎県",
        city: "宮崎市",
        postal_prefix: "880",
    },
    Prefecture {
        token: "KAGOSHIMA",
        name_ja: "鹿児島県",
        city: "鹿児島市",
        postal_prefix: "890",
    },
    Prefecture {
        token: "OKINAWA",
        name_ja: "沖縄県",
        city: "那覇市",
        postal_prefix: "900",
    },
];

/// Japanese name for a prefecture token; accepts a Japanese name too (some shops send it).
pub fn prefecture_ja(token: &str) -> Option<&'static str> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static BY_NAME: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let map = BY_NAME.get_or_init(|| {
        PREFECTURES
            .iter()
            .flat_map(|p| [(p.token, p.name_ja), (p.name_ja, p.name_ja)])
            .collect()
    });
    if let Some(ja) = map.get(token) {
        return Some(ja);
    }
    // Lower-case tokens are accepted too (rare: the exact token is the common case).
    PREFECTURES
        .iter()
        .find(|p| p.token.eq_ignore_ascii_case(token))
        .map(|p| p.name_ja)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup() {
        assert_eq!(PREFECTURES.len(), 47);
        assert_eq!(prefecture_ja("TOKYO"), Some("東京都"));
        assert_eq!(prefecture_ja("okinawa"), Some("沖縄県"));
        assert_eq!(prefecture_ja("大阪府"), Some("大阪府"));
        assert_eq!(prefecture_ja("ATLANTIS"), None);
    }
}
