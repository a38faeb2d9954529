//! The simulated shop's product catalogue: products with variations (SKUs), JAN codes, prices
//! and stock, generated from a seed.

use chrono::NaiveDateTime;
use rand::Rng;

#[derive(Clone, Debug)]
pub struct SimProduct {
    pub id: i64,
    pub product_no: String,
    pub name: String,
    pub unit_price: i64,
    pub cool: bool,
    pub preorder_enabled: bool,
    pub date_created: NaiveDateTime,
    pub skus: Vec<SimSku>,
}

#[derive(Clone, Debug)]
pub struct SimSku {
    pub sku_no: String,
    pub vertical_no: String,
    pub horizontal_no: String,
    pub vertical_name: String,
    pub horizontal_name: String,
    pub jan_code: String,
    pub count: i64,
    pub preorder_count: Option<i64>,
}

struct Template {
    code: &'static str,
    name: &'static str,
    price: i64,
    cool: bool,
    preorder: bool,
    /// (branch code, label) for the vertical axis (e.g. size); empty = no axis.
    vertical: &'static [(&'static str, &'static str)],
    horizontal: &'static [(&'static str, &'static str)],
}

const SIZES: &[(&str, &str)] = &[("S", "S"), ("M", "M"), ("L", "L")];
const COLORS: &[(&str, &str)] = &[("01", "ホワイト"), ("02", "ネイビー"), ("03", "グレー")];
const WEIGHTS: &[(&str, &str)] = &[("100", "100g"), ("200", "200g")];
const TOWEL: &[(&str, &str)] = &[("01", "生成り"), ("02", "藍"), ("03", "桜"), ("04", "若草")];

const TEMPLATES: &[Template] = &[
    Template {
        code: "TEA",
        name: "有機ほうじ茶 ティーバッグ",
        price: 864,
        cool: false,
        preorder: false,
        vertical: WEIGHTS,
        horizontal: &[],
    },
    Template {
        code: "SEN",
        name: "静岡深蒸し煎茶 特上",
        price: 1620,
        cool: false,
        preorder: false,
        vertical: WEIGHTS,
        horizontal: &[],
    },
    Template {
        code: "MAT",
        name: "宇治抹茶 石臼挽き 30g",
        price: 2160,
        cool: false,
        preorder: false,
        vertical: &[],
        horizontal: &[],
    },
    Template {
        code: "TWL",
        name: "今治タオル フェイスタオル",
        price: 1320,
        cool: false,
        preorder: false,
        vertical: &[],
        horizontal: TOWEL,
    },
    Template {
        code: "BTW",
        name: "今治タオル バスタオル",
        price: 3300,
        cool: false,
        preorder: false,
        vertical: &[],
        horizontal: TOWEL,
    },
    Template {
        code: "TSH",
        name: "オーガニックコットン Tシャツ",
        price: 4290,
        cool: false,
        preorder: false,
        vertical: SIZES,
        horizontal: COLORS,
    },
    Template {
        code: "SCK",
        name: "和紙糸ソックス",
        price: 1100,
        cool: false,
        preorder: false,
        vertical: SIZES,
        horizontal: COLORS,
    },
    Template {
        code: "MUG",
        name: "有田焼 マグカップ",
        price: 2750,
        cool: false,
        preorder: false,
        vertical: &[],
        horizontal: &[("01", "藍染付"), ("02", "白磁")],
    },
    Template {
        code: "CHP",
        name: "若狭塗 箸 夫婦セット",
        price: 3850,
        cool: false,
        preorder: false,
        vertical: &[],
        horizontal: &[],
    },
    Template {
        code: "CHO",
        name: "生チョコレート 抹茶",
        price: 1944,
        cool: true,
        preorder: false,
        vertical: &[],
        horizontal: &[],
    },
    Template {
        code: "CHS",
        name: "北海道チーズケーキ",
        price: 2592,
        cool: true,
        preorder: false,
        vertical: &[],
        horizontal: &[],
    },
    Template {
        code: "MNT",
        name: "紀州南高梅 はちみつ梅",
        price: 2980,
        cool: false,
        preorder: false,
        vertical: &[("500", "500g"), ("1K", "1kg")],
        horizontal: &[],
    },
    Template {
        code: "RIC",
        name: "新潟県産コシヒカリ",
        price: 4980,
        cool: false,
        preorder: true,
        vertical: &[("2K", "2kg"), ("5K", "5kg")],
        horizontal: &[],
    },
    Template {
        code: "SOY",
        name: "木桶仕込み醤油 720ml",
        price: 1080,
        cool: false,
        preorder: false,
        vertical: &[],
        horizontal: &[],
    },
    Template {
        code: "MIS",
        name: "信州手作り味噌",
        price: 1296,
        cool: false,
        preorder: false,
        vertical: &[("500", "500g"), ("1K", "1kg")],
        horizontal: &[],
    },
    Template {
        code: "CAL",
        name: "2027年 和紙カレンダー",
        price: 2200,
        cool: false,
        preorder: true,
        vertical: &[],
        horizontal: &[],
    },
    Template {
        code: "BAG",
        name: "帆布トートバッグ",
        price: 5940,
        cool: false,
        preorder: false,
        vertical: &[],
        horizontal: &[("01", "生成り"), ("02", "黒"), ("03", "カーキ")],
    },
    Template {
        code: "SOP",
        name: "米ぬか石けん",
        price: 660,
        cool: false,
        preorder: false,
        vertical: &[],
        horizontal: &[],
    },
    Template {
        code: "INC",
        name: "お香 白檀 スティック",
        price: 1650,
        cool: false,
        preorder: false,
        vertical: &[],
        horizontal: &[],
    },
    Template {
        code: "FUR",
        name: "風呂敷 綿 二巾",
        price: 2420,
        cool: false,
        preorder: false,
        vertical: &[],
        horizontal: &[("01", "唐草"), ("02", "青海波"), ("03", "麻の葉")],
    },
    Template {
        code: "GFT",
        name: "ギフトセット 煎茶と和菓子",
        price: 5400,
        cool: false,
        preorder: false,
        vertical: &[],
        horizontal: &[],
    },
    Template {
        code: "YOK",
        name: "本練り羊羹 5本入",
        price: 3240,
        cool: false,
        preorder: false,
        vertical: &[],
        horizontal: &[],
    },
];

pub fn generate<R: Rng>(rng: &mut R, created_base: NaiveDateTime) -> Vec<SimProduct> {
    TEMPLATES
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let product_no = format!("{}-{:03}", t.code, i + 1);
            let verticals: Vec<(&str, &str)> = if t.vertical.is_empty() {
                vec![("", "")]
            } else {
                t.vertical.to_vec()
            };
            let horizontals: Vec<(&str, &str)> = if t.horizontal.is_empty() {
                vec![("", "")]
            } else {
                t.horizontal.to_vec()
            };
            let mut skus = Vec::new();
            for (vn, vl) in &verticals {
                for (hn, hl) in &horizontals {
                    let suffix: String = [*vn, *hn]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join("-");
                    let sku_no = if suffix.is_empty() {
                        product_no.clone()
                    } else {
                        format!("{product_no}-{suffix}")
                    };
                    skus.push(SimSku {
                        sku_no,
                        vertical_no: vn.to_string(),
                        horizontal_no: hn.to_string(),
                        vertical_name: vl.to_string(),
                        horizontal_name: hl.to_string(),
                        // Many shops leave janCode empty.
                        jan_code: if rng.gen_bool(0.45) {
                            format!("45{:011}", rng.gen_range(0..100_000_000_000i64))
                        } else {
                            String::new()
                        },
                        count: rng.gen_range(0..=300),
                        preorder_count: t.preorder.then(|| rng.gen_range(10..=100)),
                    });
                }
            }
            SimProduct {
                id: 6 + i as i64,
                product_no,
                name: t.name.to_string(),
                unit_price: t.price,
                cool: t.cool,
                preorder_enabled: t.preorder,
                date_created: created_base - chrono::Duration::days(400 - i as i64 * 7),
                skus,
            }
        })
        .collect()
}
