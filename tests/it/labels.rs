//! 送り状: golden label files per carrier (exact CP932 bytes), the round trip against the
//! simulator (export → the carrier's issued-data file → import → 出荷済み → 出荷実績連携 sends
//! each tracking number once), every guard and refusal, and the delivery decision.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use shukka::domain::*;
use shukka::engine::Engine;
use shukka::engine::labels::{ExportRequest, ImportRequest};
use shukka::futureshop::Amounts;
use shukka::labels::charset::{decode, encode_cp932};
use shukka::labels::{LabelSettings, Profile, RowOutcome};

use crate::common::*;

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).expect("date")
}

fn at() -> chrono::DateTime<chrono::FixedOffset> {
    day(11, 30)
        .and_hms_opt(10, 0, 0)
        .expect("time")
        .and_local_timezone(shukka::time::jst())
        .single()
        .expect("jst")
}

fn address(name: &str, pref: &str, addr: &str, phone: &str, postal: &str) -> Address {
    Address {
        name: name.into(),
        name_kana: String::new(),
        postal_code: postal.into(),
        prefecture: pref.into(),
        address: addr.into(),
        phone: phone.into(),
    }
}

fn item(sku: &str, name: &str, count: i64) -> Item {
    Item {
        sku_no: sku.into(),
        name: name.into(),
        count,
        price: 1_000,
        ..Item::default()
    }
}

fn dest(n: i64, a: Address, method: &str, items: Vec<Item>) -> Destination {
    Destination {
        shipment_no: n,
        address: a,
        delivery_method: method.into(),
        items,
        ..Destination::default()
    }
}

pub(crate) fn instruction(
    order_no: &str,
    payment: &str,
    total: i64,
    dests: Vec<Destination>,
) -> Instruction {
    Instruction {
        id: 0,
        version: 0,
        auth_id: 1,
        order_no: order_no.into(),
        converter_id: 18026,
        ship_from_id: None,
        order_date: Some(day(11, 29).and_hms_opt(9, 0, 0).expect("t")),
        order_type: Some("NORMAL".into()),
        buyer: dests[0].address.clone(),
        buyer_mail: "buyer@example.jp".into(),
        destinations: dests,
        payment_type: Some(payment.into()),
        amounts: Amounts {
            grand_total: total,
            tax_total: total / 11,
            ..Amounts::default()
        },
        payment: if payment == "COD" {
            PaymentFlag::NotRequired
        } else {
            PaymentFlag::Paid
        },
        status: Status::Ready,
        hold_reasons: Default::default(),
        notes: None,
        shop_memo: None,
        detail: DetailState::Fetched,
        tracking: None,
        upstream: Upstream::Idle,
        cancelled_after_shipment: false,
        late_cancel_ack: None,
        bundle: None,
        bundle_never: Default::default(),
        upstream_status: None,
        trace: Vec::new(),
        created_at: at(),
        updated_at: at(),
        updated_by: "test".into(),
        intake: None,
        raw: RawJson::from_value(&serde_json::json!({ "orderNo": order_no })),
    }
}

/// The fixed shop of the golden files: every case a label file has to handle.
fn golden_instructions() -> Vec<Instruction> {
    let tokyo = || {
        address(
            "山田 太郎",
            "TOKYO",
            "千代田区千代田1-1",
            "090-1234-5678",
            "1000001",
        )
    };
    let mut v = vec![
        // 1. Plain 宅配便.
        instruction(
            "100000000001",
            "FREGI_CREDIT_CARD",
            3_300,
            vec![dest(
                1,
                tokyo(),
                "宅配便",
                vec![item("TSHIRT-RED-M", "Tシャツ 赤 M", 1)],
            )],
        ),
        // 2. COD: the amount with the COD fee.
        instruction(
            "100000000002",
            "COD",
            5_480,
            vec![dest(
                1,
                address(
                    "佐藤 花子",
                    "OSAKA",
                    "大阪市北区梅田3-1-1",
                    "06-6345-1234",
                    "530-0001",
                ),
                "宅配便",
                vec![item("MUG-001", "マグカップ 白", 2)],
            )],
        ),
    ];
    // 3. Cool, a date wish and a time slot.
    let mut cool = dest(
        1,
        address(
            "鈴木 一郎",
            "KYOTO",
            "京都市下京区烏丸通七条下る",
            "075-123-4567",
            "600-8216",
        ),
        "クール便",
        vec![item("CAKE-01", "チーズケーキ", 1)],
    );
    cool.cool = true;
    cool.requested_date = Some(day(12, 5));
    cool.requested_time = Some("14時～16時".into());
    v.push(instruction(
        "100000000003",
        "FREGI_CREDIT_CARD",
        4_320,
        vec![cool],
    ));
    // 4. 午前中.
    let mut morning = dest(
        1,
        tokyo(),
        "宅配便",
        vec![item("BAG-L", "トートバッグ L", 1)],
    );
    morning.requested_time = Some("午前中".into());
    v.push(instruction(
        "100000000004",
        "BANK_TRANSFER",
        12_800,
        vec![morning],
    ));
    // 5. Two destinations: two rows, one key each.
    v.push(instruction(
        "100000000005",
        "FREGI_CREDIT_CARD",
        9_900,
        vec![
            dest(
                1,
                address(
                    "高橋 美咲",
                    "AICHI",
                    "名古屋市中村区名駅1-1-4",
                    "052-123-4567",
                    "450-0002",
                ),
                "宅配便",
                vec![item("TEA-GREEN-100", "緑茶 100g", 2)],
            ),
            dest(
                2,
                address(
                    "高橋 健",
                    "FUKUOKA",
                    "福岡市博多区博多駅中央街1-1",
                    "092-123-4567",
                    "812-0012",
                ),
                "宅配便",
                vec![item("TEA-BLACK-50", "紅茶 50g", 1)],
            ),
        ],
    ));
    // 6. An address longer than the carrier's columns.
    v.push(instruction("100000000006", "FREGI_CREDIT_CARD", 2_200, vec![dest(1, address("長谷川 あいうえおかきくけこさしすせそ", "HOKKAIDO", "札幌市中央区北一条西二丁目一番地 札幌市役所本庁舎 ファクトリーホール 十五階 総務課分室 受付窓口前の宅配ボックス", "011-211-2111", "060-8611"), "宅配便", vec![item("MUG-002", "マグカップ 黒", 1)])]));
    // 7. Characters outside JIS X 0208.
    v.push(instruction(
        "100000000007",
        "FREGI_CREDIT_CARD",
        1_980,
        vec![dest(
            1,
            address(
                "𠮷田 髙子",
                "KANAGAWA",
                "横浜市西区みなとみらい2-3-1 ①号棟",
                "045-123-4567",
                "220-0012",
            ),
            "宅配便",
            vec![item("TSHIRT-BLU-L", "Tシャツ 青 L 🎁", 1)],
        )],
    ));
    // 8. Store pickup: never a label.
    let mut pickup = dest(
        1,
        tokyo(),
        "店舗受取",
        vec![item("MUG-001", "マグカップ 白", 1)],
    );
    pickup.store_pickup = true;
    v.push(instruction(
        "100000000008",
        "FREGI_CREDIT_CARD",
        1_500,
        vec![pickup],
    ));
    // 9. No phone number: not exported, said why.
    v.push(instruction(
        "100000000009",
        "FREGI_CREDIT_CARD",
        1_500,
        vec![dest(
            1,
            address("電話 なし", "TOKYO", "港区芝公園4-2-8", "", "105-0011"),
            "宅配便",
            vec![item("MUG-001", "マグカップ 白", 1)],
        )],
    ));
    v
}

fn accounts() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut c = BTreeMap::new();
    c.insert(
        "b2".to_string(),
        BTreeMap::from([
            (
                "billing_customer_code".to_string(),
                "012345678901".to_string(),
            ),
            ("freight_no".to_string(), "01".to_string()),
        ]),
    );
    c.insert(
        "ehiden3".to_string(),
        BTreeMap::from([("customer_code".to_string(), "123456789012".to_string())]),
    );
    c
}

/// An engine with the golden shop: a ship-from, credentials, the accounts and instructions.
pub(crate) fn golden_engine() -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let engine = engine_in(dir.path());
    let sf = engine
        .save_ship_from(
            ShipFrom {
                id: 0,
                name: "出荷テスト商店".into(),
                postal_code: "1500001".into(),
                prefecture: "東京都".into(),
                address: "渋谷区神宮前1-2-3".into(),
                phone: "03-1234-5678".into(),
            },
            &operator(),
        )
        .expect("ship-from");
    engine
        .save_auth(
            ApiAuth {
                name: "本店".into(),
                api: "futureshop".into(),
                ship_from_id: Some(sf.id),
                shop_key: "demo-shop".into(),
                client_id: "demo-client".into(),
                endpoint: "http://127.0.0.1:9".into(),
                pacing_ms: 0,
                ..Default::default()
            },
            None,
            &operator(),
        )
        .expect("auth");
    engine
        .set_label_settings(
            &LabelSettings {
                carriers: accounts(),
                ..Default::default()
            },
            &operator(),
        )
        .expect("settings");
    engine
        .store()
        .write(|t| {
            for mut i in golden_instructions() {
                i.ship_from_id = Some(sf.id);
                t.insert_instruction(i)?;
            }
            Ok::<_, shukka::store::StoreError>(())
        })
        .expect("instructions");
    (engine, dir)
}

fn export(engine: &Engine, carrier: &str, again: bool) -> (Vec<u8>, shukka::labels::ExportReport) {
    engine
        .export_labels(
            &ExportRequest {
                carrier: carrier.into(),
                again,
                file_name: format!("{carrier}.csv"),
                ship_date: Some(day(12, 1)),
                ..Default::default()
            },
            &operator(),
        )
        .expect("export")
}

fn golden_path(carrier: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/labels")
        .join(format!("{carrier}.csv"))
}

/// The exact bytes of each carrier's file for the golden shop; `SHUKKA_UPDATE_GOLDEN=1`
/// writes them (review the diff: they are what the carrier's software will read).
#[test]
fn labels_golden_files_per_carrier() {
    for carrier in ["b2", "ehiden3", "yupri", "clickpost"] {
        let (engine, _dir) = golden_engine();
        let (bytes, report) = export(&engine, carrier, false);
        let path = golden_path(carrier);
        if std::env::var_os("SHUKKA_UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
            std::fs::write(&path, &bytes).expect("write golden");
        }
        let golden = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (run with SHUKKA_UPDATE_GOLDEN=1)", path.display())
        });
        // Decoded: CP932, CRLF, and what each case must show.
        let (text, enc) = decode(&bytes).expect("decodes");
        assert_eq!(enc, "CP932", "{carrier}");
        assert!(
            !text.contains("\n") || text.split('\n').all(|l| l.is_empty() || l.ends_with('\r')),
            "{carrier}: CRLF line ends"
        );
        assert!(
            !text.contains("𠮷")
                && !text.contains("髙")
                && !text.contains('①')
                && !text.contains('🎁')
        );
        assert!(text.contains("吉田"), "{carrier}: 𠮷 → 吉");
        assert!(
            !text.contains("100000000008"),
            "{carrier}: no label for a store pickup"
        );
        let skipped: Vec<&str> = report.skipped.iter().map(|s| s.order_no.as_str()).collect();
        assert!(skipped.contains(&"100000000008"), "{carrier}: {skipped:?}");
        // クリックポスト's layout has no phone; every other carrier needs one.
        if carrier != "clickpost" {
            assert!(
                !text.contains("100000000009"),
                "{carrier}: no label without a phone"
            );
            let phone = report
                .skipped
                .iter()
                .find(|s| s.order_no == "100000000009")
                .expect("skipped");
            assert!(phone.reason.contains("電話番号"), "{}", phone.reason);
        }
        let non_jis = report
            .exported
            .iter()
            .find(|e| e.order_no == "100000000007")
            .expect("exported");
        assert!(
            non_jis
                .warnings
                .iter()
                .any(|w| w.contains("𠮷") && w.contains("吉")),
            "the replacement is listed: {:?}",
            non_jis.warnings
        );
        // Byte for byte.
        assert!(
            bytes == golden,
            "{carrier}: the file differs from {}:\n{text}",
            path.display()
        );
        // Every row has the profile's column count.
        let p = Profile::builtin(carrier).expect("profile");
        let mut rd = csv::ReaderBuilder::new()
            .has_headers(p.header)
            .flexible(true)
            .from_reader(text.as_bytes());
        for r in rd.records() {
            assert_eq!(r.expect("row").len(), p.columns.len(), "{carrier}");
        }
    }
    // Carrier-specific codes in the B2 file.
    let (engine, _dir) = golden_engine();
    let (bytes, _) = export(&engine, "b2", false);
    let (text, _) = decode(&bytes).expect("decodes");
    let rows = b2_rows(&text);
    let row = |no: &str, ship: i64| {
        rows.iter()
            .find(|r| r[0] == format!("{no}{ship:03}"))
            .unwrap_or_else(|| panic!("{no}/{ship} in {text}"))
            .clone()
    };
    assert_eq!(row("100000000001", 1)[1], "0", "発払い");
    assert_eq!(row("100000000002", 1)[1], "2", "COD → コレクト");
    assert_eq!(row("100000000002", 1)[33], "5480", "the amount to collect");
    assert_eq!(row("100000000003", 1)[2], "2", "冷蔵");
    assert_eq!(row("100000000003", 1)[5], "2026/12/05", "the date wish");
    assert_eq!(row("100000000003", 1)[6], "1416");
    assert_eq!(row("100000000004", 1)[6], "0812", "午前中");
    assert_eq!(
        row("100000000005", 2)[15],
        "高橋 健",
        "the second destination has its own row"
    );
    assert_eq!(row("100000000001", 1)[4], "2026/12/01", "出荷予定日");
    assert_eq!(row("100000000001", 1)[10], "100-0001");
    assert_eq!(row("100000000001", 1)[39], "012345678901");
    let long = row("100000000006", 1);
    assert!(shukka::labels::charset::cp932_len(&long[11]) <= 64);
    assert!(
        !long[12].is_empty(),
        "the address spills into アパートマンション名"
    );
    assert!(shukka::labels::charset::cp932_len(&long[12]) <= 32);
}

/// The data rows of a B2 file (the header dropped).
fn b2_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("row").iter().map(str::to_string).collect())
        .collect()
}

/// The carrier's issued-data file for a B2 export: every row with a 12-digit 伝票番号 in
/// column 4 (as 発行済データ → 外部ファイルに出力 writes it).
pub(crate) fn b2_issued(text: &str, first: u64, header: bool) -> (Vec<u8>, Vec<(String, String)>) {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut issued = Vec::new();
    for (n, r) in rd.records().enumerate() {
        let mut cells: Vec<String> = r.expect("row").iter().map(str::to_string).collect();
        if n == 0 {
            if header {
                w.write_record(&cells).expect("header");
            }
            continue;
        }
        let tracking = format!("{:012}", first + n as u64);
        cells[3] = tracking.clone();
        issued.push((cells[0].clone(), tracking));
        w.write_record(&cells).expect("row");
    }
    let utf8 = w.into_inner().expect("csv");
    (
        encode_cp932(&String::from_utf8(utf8).expect("utf8")),
        issued,
    )
}

#[test]
fn labels_export_marks_and_never_exports_twice_without_again() {
    let (engine, _dir) = golden_engine();
    let (_, first) = export(&engine, "b2", false);
    assert_eq!(first.exported.len(), 8, "{:?}", first.skipped);
    assert_eq!(first.started, 7, "instructions moved to 出荷作業中");
    let i = engine.find_order("100000000005").expect("order");
    assert_eq!(i.status, Status::InProgress);
    assert!(i.destinations.iter().all(|d| {
        d.label
            .as_ref()
            .is_some_and(|l| l.carrier == "b2" && l.file == "b2.csv")
    }));
    let history = engine.store().audit_for(i.id).expect("history");
    assert!(
        history
            .iter()
            .any(|h| h.action == "送り状発行" && h.reason.contains("b2.csv"))
    );
    // The guard: nothing is exported twice without --again (出荷作業中 is taken when named).
    let (bytes, again) = engine
        .export_labels(
            &ExportRequest {
                carrier: "b2".into(),
                status: Some(Status::InProgress),
                file_name: "second.csv".into(),
                ship_date: Some(day(12, 1)),
                ..Default::default()
            },
            &operator(),
        )
        .expect("export");
    assert!(again.exported.is_empty(), "{:?}", again.exported);
    assert!(
        again
            .skipped
            .iter()
            .all(|s| s.reason.contains("送り状発行済") && s.reason.contains("--again")),
        "{:?}",
        again.skipped
    );
    let (text, _) = decode(&bytes).expect("decodes");
    assert_eq!(text.lines().count(), 1, "header only");
    // With --again they are exported again (a reprint), and recorded with the new file.
    let (_, reprint) = engine
        .export_labels(
            &ExportRequest {
                carrier: "b2".into(),
                status: Some(Status::InProgress),
                again: true,
                file_name: "reprint.csv".into(),
                ship_date: Some(day(12, 1)),
                ..Default::default()
            },
            &operator(),
        )
        .expect("export");
    assert_eq!(reprint.exported.len(), 8);
    let i = engine.find_order("100000000001").expect("order");
    assert_eq!(
        i.destinations[0].label.as_ref().map(|l| l.file.as_str()),
        Some("reprint.csv")
    );
    // A missing account value refuses the rows, saying where to set it.
    let (engine, _dir) = golden_engine();
    engine
        .set_label_settings(&LabelSettings::default(), &operator())
        .expect("settings");
    let (_, r) = export(&engine, "b2", false);
    assert!(r.exported.is_empty());
    assert!(
        r.skipped
            .iter()
            .any(|s| s.reason.contains("[carriers.b2]")
                && s.reason.contains("billing_customer_code")),
        "{:?}",
        r.skipped
    );
    assert_eq!(
        engine.find_order("100000000001").expect("o").status,
        Status::Ready,
        "nothing marked"
    );
}

#[tokio::test]
async fn labels_round_trip_export_import_upload_and_every_guard() {
    let sim = start_sim(40, 50).await;
    let (engine, _dir) = engine_with_setup(&sim).await;
    engine
        .set_label_settings(
            &LabelSettings {
                carriers: accounts(),
                ..Default::default()
            },
            &operator(),
        )
        .expect("settings");
    run(&engine, range_robot(&engine)).await;
    let ready = engine.store().ids_in(Status::Ready).expect("ready").len();
    assert!(ready >= 5, "{ready} ready");
    let (bytes, report) = export(&engine, "b2", false);
    assert!(!report.exported.is_empty());
    let (text, _) = decode(&bytes).expect("cp932");
    let (issued, numbers) = b2_issued(&text, 400_000_000_000, true);
    assert_eq!(numbers.len(), report.exported.len());

    // A dry run changes nothing and says what would happen.
    let dry = engine
        .import_tracking(
            &issued,
            &ImportRequest {
                dry_run: true,
                ..Default::default()
            },
            &operator(),
        )
        .expect("dry run");
    assert_eq!(dry.carrier, "b2", "told from the header");
    assert_eq!(dry.registered as usize, numbers.len());
    assert!(
        engine
            .store()
            .ids_in(Status::Shipped)
            .expect("shipped")
            .is_empty()
    );

    let done = engine
        .import_tracking(&issued, &ImportRequest::default(), &operator())
        .expect("import");
    assert_eq!(done.registered as usize, numbers.len(), "{:?}", done.rows);
    assert_eq!(done.refused, 0);
    let shipped = engine.store().ids_in(Status::Shipped).expect("shipped");
    assert_eq!(shipped.len() as u64, done.shipped);
    for (key, tracking) in &numbers {
        let (no, ship) = Profile::builtin("b2")
            .expect("b2")
            .parse_key(key)
            .expect("key");
        let i = engine.find_order(&no).expect("order");
        let d = i
            .destinations
            .iter()
            .find(|d| d.shipment_no == ship)
            .expect("dest");
        assert_eq!(d.tracking_no.as_deref(), Some(tracking.as_str()));
        if i.destinations
            .iter()
            .filter(|d| d.is_open())
            .all(|d| d.tracking_no.is_some())
        {
            assert_eq!(i.status, Status::Shipped);
            assert!(matches!(i.upstream, Upstream::Pending));
        }
        let history = engine.store().audit_for(i.id).expect("history");
        assert!(
            history
                .iter()
                .any(|h| h.action == "送り状番号取込" && h.reason.contains(tracking.as_str()))
        );
    }
    // Re-import: every row a no-op.
    let again = engine
        .import_tracking(&issued, &ImportRequest::default(), &operator())
        .expect("import");
    assert_eq!(again.unchanged as usize, numbers.len());
    assert_eq!(again.registered, 0);

    // 出荷実績連携 sends each shipment's number once, for the right shipmentNo.
    let tracking_robot = engine
        .store()
        .linkage_robots()
        .expect("robots")
        .into_iter()
        .find(|r| r.role == Some(shukka::robots::linkage::RobotRole::EasyTracking))
        .expect("tracking robot")
        .id;
    run(&engine, tracking_robot).await;
    run(&engine, tracking_robot).await;
    let received = sim.with_state(|s| s.shipping_received().to_vec());
    for (key, tracking) in &numbers {
        let (no, ship) = Profile::builtin("b2")
            .expect("b2")
            .parse_key(key)
            .expect("key");
        let got: Vec<_> = received
            .iter()
            .filter(|r| r.order_no == no && r.shipment_no == ship)
            .collect();
        assert_eq!(got.len(), 1, "{no}/{ship} sent once: {got:?}");
        assert_eq!(got[0].invoice_no.as_deref(), Some(tracking.as_str()));
    }
}

#[test]
fn labels_import_refuses_what_it_must_and_says_why() {
    let (engine, _dir) = golden_engine();
    let (bytes, _) = export(&engine, "b2", false);
    let (text, _) = decode(&bytes).expect("cp932");
    let (_, numbers) = b2_issued(&text, 500_000_000_000, true);
    let key = |no: &str| format!("{no}001");
    let num = |no: &str| {
        numbers
            .iter()
            .find(|(k, _)| *k == key(no))
            .map(|(_, t)| t.clone())
            .expect("number")
    };
    // Instruction 2 is cancelled after its label was printed; 7 was shipped in futureshop.
    let two = engine.find_order("100000000002").expect("2");
    engine
        .cancel(two.id, Some(two.version), "お客様都合", &operator())
        .expect("cancel");
    engine
        .store()
        .write(|t| {
            let id = t.instruction_id(1, "100000000007")?.expect("7");
            let mut i = t.instruction(id)?.expect("7");
            let v = i.version;
            i.destinations[0].shipped_in_futureshop = Some(UpstreamShipment {
                invoice_no: "999".into(),
                shipping_date: Some(day(11, 30)),
                seen_at: at(),
            });
            t.update_instruction(v, i)?;
            Ok::<_, shukka::store::StoreError>(())
        })
        .expect("shipped outside");
    // 1 registered first with its own number; the file then brings another one.
    let first = format!(
        "お客様管理番号,送り状種類,クール区分,伝票番号\r\n{},0,0,{}\r\n",
        key("100000000001"),
        num("100000000001")
    );
    let r = engine
        .import_tracking(first.as_bytes(), &ImportRequest::default(), &operator())
        .expect("import");
    assert_eq!(r.registered, 1, "UTF-8 with a header is read: {:?}", r.rows);
    let lines = [
        format!("{},0,0,111111111111", key("100000000001")), // another number stored
        format!("{},2,0,{}", key("100000000002"), num("100000000002")), // cancelled
        format!("{},0,0,{}", key("100000000007"), num("100000000007")), // shipped outside
        format!("{},0,0,2.01E+11", key("100000000004")),     // Excel exponent
        format!("{},0,0,{}", key("100000000003"), num("100000000003")), // the same key twice…
        format!("{},0,0,{}", key("100000000003"), num("100000000003")), // …is refused
        "999999999999001,0,0,123456789012".to_string(),      // unknown key
        format!("{},0,0,", key("100000000006")),             // no number yet
        format!("{},0,0,{}", key("100000000005"), num("100000000005")), // fine
    ];
    let body = format!("{}\r\n", lines.join("\r\n"));
    let r = engine
        .import_tracking(
            &encode_cp932(&body),
            &ImportRequest {
                carrier: Some("b2".into()),
                ..Default::default()
            },
            &operator(),
        )
        .expect("import");
    assert!(!r.header, "no header row: positions 1 and 4");
    let outcome = |line: usize| {
        r.rows
            .iter()
            .find(|x| x.line == line)
            .map(|x| x.outcome.clone())
            .expect("row")
    };
    let refused = |line: usize, says: &str| match outcome(line) {
        RowOutcome::Refused(why) => assert!(why.contains(says), "line {line}: {why}"),
        other => panic!("line {line}: {other:?}"),
    };
    refused(1, "別の送り状番号");
    refused(2, "キャンセル");
    refused(3, "futureshop で出荷済み");
    refused(4, "指数表記");
    refused(5, "重複");
    refused(6, "重複");
    refused(7, "出荷指示がありません");
    refused(8, "空");
    assert_eq!(
        outcome(9),
        RowOutcome::Registered { shipped: false },
        "one of two destinations"
    );
    assert_eq!((r.registered, r.refused), (1, 8));
    // Nothing refused was written.
    assert_eq!(
        engine.find_order("100000000001").expect("1").destinations[0]
            .tracking_no
            .as_deref(),
        Some(num("100000000001").as_str())
    );
    assert_eq!(
        engine.find_order("100000000002").expect("2").destinations[0].tracking_no,
        None
    );
    assert_eq!(
        engine.find_order("100000000003").expect("3").destinations[0].tracking_no,
        None
    );
    let five = engine.find_order("100000000005").expect("5");
    assert_eq!(
        five.status,
        Status::InProgress,
        "waits for its second destination"
    );
    // A file of another kind entirely is refused with what to do.
    let err = engine
        .import_tracking(
            b"\xff\xfe\x00garbage",
            &ImportRequest::default(),
            &operator(),
        )
        .expect_err("not a label file");
    assert!(err.to_string().contains("CP932"), "{err}");
}

/// "From 出荷待ち to 出荷済み for 300 orders with two files and two commands": the CLI writes
/// the label file itself (owner-only, in DATA/labels/ by default, never over a file), and
/// reads the carrier's file itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_cli_two_files_two_commands_for_300_orders() {
    use std::os::unix::fs::PermissionsExt;
    let sim = start_sim_with(0, |s| s.page_size = 100).await;
    let sku = sim.with_state(|s| s.products()[0].skus[0].sku_no.clone());
    for _ in 0..300 {
        sim.with_state(|s| {
            s.create_order(shukka::sim::NewOrder {
                payment_type: Some("FREGI_CREDIT_CARD".into()),
                paid: Some(true),
                skus: vec![sku.clone()],
                ..Default::default()
            })
        })
        .expect("order");
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("data");
    let setup = tmp.path().join("setup.toml");
    std::fs::write(
        &setup,
        format!(
            "{}\n[carriers.b2]\nbilling_customer_code = \"012345678901\"\nfreight_no = \"01\"\n",
            setup_toml(&sim, "FS_TEST_SECRET")
        ),
    )
    .expect("write");
    let out = shukka(&dir, &["setup", "apply", setup.to_str().expect("path")]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = shukka(&dir, &["sync", "--once"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ready = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).lines().count();
    let before = ready(&shukka(&dir, &["orders", "--status", "出荷待ち", "--format", "csv"]).await);
    let all = shukka(&dir, &["orders", "--format", "csv"]).await;
    assert!(
        before > 300,
        "300 orders ready (+ the header): {before}\n{}",
        String::from_utf8_lossy(&all.stdout)
            .lines()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Through a server, as an operator's SSH session would: the file travels as data.
    let server = shukka::server::start(&dir, shukka::server::ServeOptions::default())
        .await
        .expect("server");
    // Command 1: the label file.
    let out = shukka(&dir, &["labels", "export", "--carrier", "b2"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("300 件を"), "{stdout}");
    let file = std::fs::read_dir(dir.join("labels"))
        .expect("DATA/labels")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .expect("the label file");
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "owner-only");
    // Never over an existing file.
    let out = shukka(
        &dir,
        &[
            "labels",
            "export",
            "--carrier",
            "b2",
            "--output",
            file.to_str().expect("p"),
        ],
    )
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
    // Not into the store's own directory.
    let out = shukka(
        &dir,
        &[
            "labels",
            "export",
            "--carrier",
            "b2",
            "--output",
            dir.join("store/x.csv").to_str().expect("p"),
        ],
    )
    .await;
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // --labels-dir: elsewhere is fine (a reprint of one order there); inside the data
    // directory other than DATA/labels/ is refused before anything is marked.
    let shared = tmp.path().join("shared-labels");
    let first = file.clone();
    let (t, _) = decode(&std::fs::read(&first).expect("read")).expect("cp932");
    let one = t.lines().nth(1).expect("a row")[..12].to_string();
    let out = shukka(
        &dir,
        &[
            "--labels-dir",
            shared.to_str().expect("p"),
            "labels",
            "export",
            "--carrier",
            "b2",
            "--status",
            "出荷作業中",
            "--order",
            &one,
            "--again",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(&shared).expect("shared").count(), 1);
    let out = shukka(
        &dir,
        &[
            "--labels-dir",
            dir.join("store").to_str().expect("p"),
            "labels",
            "export",
            "--carrier",
            "b2",
        ],
    )
    .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("data directory"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The carrier issues the labels: its file comes back with the numbers.
    let (text, _) = decode(&std::fs::read(&file).expect("read")).expect("cp932");
    let (issued, numbers) = b2_issued(&text, 300_000_000_000, true);
    assert_eq!(numbers.len(), 300);
    let back = tmp.path().join("発行済データ.csv");
    std::fs::write(&back, issued).expect("write");
    // Command 2: the tracking numbers.
    let out = shukka(&dir, &["labels", "import", back.to_str().expect("p")]).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("登録 300 件・変更なし 0 件・拒否 0 件 (出荷済みへ 300 件)"),
        "{stdout}"
    );
    let shipped =
        ready(&shukka(&dir, &["orders", "--status", "出荷済み", "--format", "csv"]).await);
    assert_eq!(shipped, 301, "300 出荷済み (+ the header)");
    // Again: a no-op, said so.
    let out = shukka(&dir, &["labels", "import", back.to_str().expect("p")]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("変更なし 300 件"));
    server.shutdown().await;
}

/// 出荷後キャンセル: an instruction futureshop cancelled after its work started keeps its place
/// (workflow §2), but never gets a label, again or first, nor a tracking number.
#[test]
fn labels_a_late_cancellation_is_never_labelled_nor_registered() {
    let (engine, _dir) = golden_engine();
    let (bytes, _) = export(&engine, "b2", false);
    let (text, _) = decode(&bytes).expect("cp932");
    let (issued, _) = b2_issued(&text, 600_000_000_000, true);
    // Order 1 is cancelled in futureshop after its label was printed; order 4 before any label.
    for no in ["100000000001", "100000000004"] {
        engine
            .store()
            .write(|t| {
                let id = t.instruction_id(1, no)?.expect("order");
                let mut i = t.instruction(id)?.expect("order");
                let v = i.version;
                i.cancelled_after_shipment = true;
                if no == "100000000004" {
                    i.destinations[0].label = None;
                }
                t.update_instruction(v, i)?;
                Ok::<_, shukka::store::StoreError>(())
            })
            .expect("late cancel");
    }
    let (_, again) = engine
        .export_labels(
            &ExportRequest {
                carrier: "b2".into(),
                status: Some(Status::InProgress),
                again: true,
                file_name: "again.csv".into(),
                ..Default::default()
            },
            &operator(),
        )
        .expect("export");
    assert!(!again.exported.is_empty(), "the others are reprinted");
    for no in ["100000000001", "100000000004"] {
        assert!(
            !again.exported.iter().any(|e| e.order_no == no),
            "{no} exported"
        );
        assert!(
            again
                .skipped
                .iter()
                .any(|s| s.order_no == no && s.reason.contains("出荷後キャンセル")),
            "{no}: {:?}",
            again.skipped
        );
    }
    let r = engine
        .import_tracking(&issued, &ImportRequest::default(), &operator())
        .expect("import");
    let row = r
        .rows
        .iter()
        .find(|row| row.key == "100000000001001")
        .expect("row of order 1");
    assert!(
        matches!(&row.outcome, RowOutcome::Refused(why) if why.contains("キャンセル")),
        "{row:?}"
    );
    let one = engine.find_order("100000000001").expect("1");
    assert!(one.destinations[0].tracking_no.is_none());
    assert_ne!(one.status, Status::Shipped);
}

/// A trial import says what the real one will do, however long the file: a later row sees
/// what an earlier one would have registered (the two shipments of one order 500 rows apart).
#[test]
fn labels_a_trial_import_of_a_long_file_says_what_the_real_one_does() {
    let (engine, _dir) = golden_engine();
    let (bytes, _) = export(&engine, "b2", false);
    let (text, _) = decode(&bytes).expect("cp932");
    let (_, numbers) = b2_issued(&text, 700_000_000_000, true);
    let num = |k: &str| {
        numbers
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, t)| t.clone())
            .expect("number")
    };
    let mut lines = vec!["お客様管理番号,送り状種類,クール区分,伝票番号".to_string()];
    lines.push(format!("100000000005001,0,0,{}", num("100000000005001")));
    for n in 0..520 {
        lines.push(format!("9{:011}001,0,0,{:012}", n, 800_000_000_000u64 + n));
    }
    lines.push(format!("100000000005002,0,0,{}", num("100000000005002")));
    let body = encode_cp932(&format!("{}\r\n", lines.join("\r\n")));
    let outcome = |dry_run: bool| {
        let r = engine
            .import_tracking(
                &body,
                &ImportRequest {
                    dry_run,
                    ..Default::default()
                },
                &operator(),
            )
            .expect("import");
        r.rows
            .iter()
            .find(|row| row.key == "100000000005002")
            .map(|row| row.outcome.clone())
            .expect("the last row")
    };
    let trial = outcome(true);
    assert_eq!(
        trial,
        RowOutcome::Registered { shipped: true },
        "trial: {trial:?}"
    );
    assert_eq!(
        outcome(false),
        trial,
        "the real run did what the trial said"
    );
}
