//! Seeded Japanese names, addresses and phone numbers for simulated customers.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::futureshop::prefecture::PREFECTURES;

const FAMILY: &[(&str, &str)] = &[
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("山崎", "ヤマザキ"),
    ("森", "モリ"),
    ("池田", "イケダ"),
    ("橋本", "ハシモト"),
    ("阿部", "アベ"),
    ("石川", "イシカワ"),
    ("山下", "ヤマシタ"),
    ("中島", "ナカジマ"),
    ("石井", "イシイ"),
    ("小川", "オガワ"),
    ("前田", "マエダ"),
    ("岡田", "オカダ"),
    ("長谷川", "ハセガワ"),
    ("藤田", "フジタ"),
    ("後藤", "ゴトウ"),
    ("近藤", "コンドウ"),
    ("村上", "ムラカミ"),
    ("遠藤", "エンドウ"),
    ("青木", "アオキ"),
    ("坂本", "サカモト"),
    ("金城", "キンジョウ"),
    ("比嘉", "ヒガ"),
    ("東海林", "ショウジ"),
    ("五十嵐", "イガラシ"),
];

const GIVEN: &[(&str, &str)] = &[
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("翔", "ショウ"),
    ("陽菜", "ヒナ"),
    ("大輔", "ダイスケ"),
    ("美咲", "ミサキ"),
    ("健一", "ケンイチ"),
    ("由美子", "ユミコ"),
    ("蓮", "レン"),
    ("結衣", "ユイ"),
    ("拓也", "タクヤ"),
    ("さくら", "サクラ"),
    ("誠", "マコト"),
    ("恵", "メグミ"),
    ("直樹", "ナオキ"),
    ("愛", "アイ"),
    ("悠真", "ユウマ"),
    ("葵", "アオイ"),
    ("和也", "カズヤ"),
    ("真由美", "マユミ"),
    ("隆", "タカシ"),
    ("智子", "トモコ"),
    ("湊", "ミナト"),
    ("芽依", "メイ"),
    ("修", "オサム"),
    ("千尋", "チヒロ"),
    ("ひろし", "ヒロシ"),
    ("ゆかり", "ユカリ"),
];

const TOWNS: &[&str] = &[
    "本町",
    "中央",
    "栄町",
    "緑町",
    "旭町",
    "幸町",
    "春日",
    "桜台",
    "若葉",
    "東町",
    "西町",
    "南町",
    "北町",
    "宮前",
    "城南",
    "新町",
    "駅前",
    "大手町",
    "元町",
    "港町",
];

const BUILDINGS: &[&str] = &[
    "コーポ青空",
    "メゾン桜",
    "グランドハイツ",
    "サンシャインマンション",
    "ハイツ若葉",
    "レジデンス中央",
    "パークサイド",
    "ヴィラ緑",
    "シャトー本町",
    "ライオンズマンション",
];

#[derive(Clone, Debug)]
pub struct SimPerson {
    pub last_name: String,
    pub first_name: String,
    pub last_name_kana: String,
    pub first_name_kana: String,
    pub postal_code: String,
    pub prefecture: String,
    pub address1: String,
    pub address2: String,
    pub address3: String,
    pub phone: String,
    pub mail: String,
    /// `UNSPECIFIED`, `MALE`, `FEMALE`.
    pub gender: &'static str,
    pub birthday: Option<chrono::NaiveDate>,
}

/// Prefecture weights roughly follow population, so Tokyo, Kanagawa and Osaka dominate.
fn pick_prefecture<R: Rng>(rng: &mut R) -> usize {
    const HEAVY: &[(&str, u32)] = &[
        ("TOKYO", 14),
        ("KANAGAWA", 9),
        ("OSAKA", 9),
        ("AICHI", 7),
        ("SAITAMA", 7),
        ("CHIBA", 6),
        ("HYOGO", 5),
        ("HOKKAIDO", 5),
        ("FUKUOKA", 5),
    ];
    let light_total = (PREFECTURES.len() - HEAVY.len()) as u32 * 2;
    let heavy_total: u32 = HEAVY.iter().map(|(_, w)| w).sum();
    let mut roll = rng.gen_range(0..heavy_total + light_total);
    for (token, w) in HEAVY {
        if roll < *w {
            return PREFECTURES
                .iter()
                .position(|p| p.token == *token)
                .unwrap_or(0);
        }
        roll -= w;
    }
    let light: Vec<usize> = (0..PREFECTURES.len())
        .filter(|i| !HEAVY.iter().any(|(t, _)| *t == PREFECTURES[*i].token))
        .collect();
    light[(roll / 2) as usize % light.len()]
}

pub fn person<R: Rng>(rng: &mut R) -> SimPerson {
    let (ln, lk) = *FAMILY.choose(rng).unwrap_or(&FAMILY[0]);
    let (gn, gk) = *GIVEN.choose(rng).unwrap_or(&GIVEN[0]);
    let pref = &PREFECTURES[pick_prefecture(rng)];
    let town = TOWNS.choose(rng).unwrap_or(&TOWNS[0]);
    let chome = rng.gen_range(1..=5);
    let address3 = if rng.gen_bool(0.45) {
        format!(
            "{} {}{:02}号室",
            BUILDINGS.choose(rng).unwrap_or(&BUILDINGS[0]),
            rng.gen_range(1..=12),
            rng.gen_range(1..=15)
        )
    } else {
        String::new()
    };
    let mobile = rng.gen_bool(0.7);
    let phone = if mobile {
        format!(
            "0{}0-{:04}-{:04}",
            [7, 8, 9][rng.gen_range(0..3)],
            rng.gen_range(0..10000),
            rng.gen_range(0..10000)
        )
    } else {
        format!(
            "0{}-{:04}-{:04}",
            rng.gen_range(3..99),
            rng.gen_range(0..10000),
            rng.gen_range(0..10000)
        )
    };
    let mail = format!(
        "{}{}@example.jp",
        ["user", "shop", "kaimono", "mail", "info"][rng.gen_range(0..5)],
        rng.gen_range(100..99999)
    );
    SimPerson {
        last_name: ln.into(),
        first_name: gn.into(),
        last_name_kana: lk.into(),
        first_name_kana: gk.into(),
        // futureshop writes postal codes with the hyphen.
        postal_code: format!("{}-{:04}", pref.postal_prefix, rng.gen_range(0..10000)),
        prefecture: pref.token.into(),
        address1: format!("{}{}", pref.city, town),
        address2: format!(
            "{}-{}-{}",
            chome,
            rng.gen_range(1..30),
            rng.gen_range(1..20)
        ),
        address3,
        phone,
        mail,
        gender: ["UNSPECIFIED", "UNSPECIFIED", "FEMALE", "MALE"][rng.gen_range(0..4)],
        birthday: rng.gen_bool(0.5).then(|| {
            chrono::NaiveDate::from_ymd_opt(
                rng.gen_range(1940..2006),
                rng.gen_range(1..=12),
                rng.gen_range(1..=28),
            )
            .unwrap_or_default()
        }),
    }
}
