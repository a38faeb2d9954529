//! 配送方法の判定: every shipment gets exactly one outcome — a label decision the service can
//! carry out, no label (store pickup), or a hold reason — whatever the rules and the order
//! (property test); the setup file's rules decide at intake and show in the rule trace; a time
//! wish no slot matches holds the shipment (配達時間帯不明).

use proptest::prelude::*;
use shukka::domain::*;
use shukka::engine::SetupFile;
use shukka::labels::delivery::{DeliveryRule, Target, item_units};
use shukka::labels::{LabelSettings, Outcome, Profile};

use crate::common::*;

const METHODS: [&str; 6] = [
    "宅配便",
    "メール便",
    "クール便",
    "店舗受取",
    "ゆうパケット",
    "特急便",
];
const PAYMENTS: [&str; 4] = ["COD", "FREGI_CREDIT_CARD", "BANK_TRANSFER", "ATODENE"];
const TIMES: [&str; 9] = [
    "",
    "午前中",
    "14時～16時",
    "１６時－１８時",
    "19-21",
    "12時～14時",
    "夕方ごろ",
    "指定なし",
    "18時～21時",
];
const NAMES: [&str; 4] = [
    "Tシャツ [M便 1/2]",
    "マグカップ",
    "靴下 [M便 1/4]",
    "ポスター [M便 1/1]",
];
const CARRIERS: [&str; 4] = ["b2", "ehiden3", "yupri", "clickpost"];

fn rule() -> impl Strategy<Value = DeliveryRule> {
    (
        prop::option::of(0..METHODS.len()),
        prop::option::of(any::<bool>()),
        prop::option::of(1i64..4),
        0..CARRIERS.len(),
        any::<u8>(),
    )
        .prop_map(|(m, cool, max, c, s)| {
            let carrier = CARRIERS[c];
            let p = Profile::builtin(carrier).expect("profile");
            let services: Vec<&String> = p.services.keys().collect();
            DeliveryRule {
                name: format!("rule-{c}-{s}"),
                service_name: m.map(|m| METHODS[m].to_string()),
                cool,
                max_items: max,
                carrier: carrier.into(),
                service: services[usize::from(s) % services.len()].clone(),
                ..Default::default()
            }
        })
}

fn shipment() -> impl Strategy<Value = (Destination, usize)> {
    (
        0..METHODS.len(),
        any::<bool>(),
        0..TIMES.len(),
        prop::collection::vec((0..NAMES.len(), 1i64..3), 1..4),
        any::<bool>(),
        0..PAYMENTS.len(),
    )
        .prop_map(|(m, cool, t, items, date, pay)| {
            (
                Destination {
                    shipment_no: 1,
                    delivery_method: METHODS[m].into(),
                    store_pickup: METHODS[m] == "店舗受取",
                    cool,
                    requested_time: (!TIMES[t].is_empty()).then(|| TIMES[t].to_string()),
                    requested_date: date
                        .then(|| chrono::NaiveDate::from_ymd_opt(2026, 12, 9).expect("d")),
                    items: items
                        .into_iter()
                        .map(|(n, count)| Item {
                            sku_no: format!("SKU-{n}"),
                            name: NAMES[n].into(),
                            count,
                            ..Item::default()
                        })
                        .collect(),
                    ..Destination::default()
                },
                pay,
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn every_shipment_gets_exactly_one_decision_it_can_carry_out(
        rules in prop::collection::vec(rule(), 0..4),
        default in prop::option::of(0..CARRIERS.len()),
        (d, pay) in shipment(),
    ) {
        let settings = LabelSettings {
            rules,
            default: default.map(|c| Target {
                carrier: CARRIERS[c].into(),
                service: Profile::builtin(CARRIERS[c]).expect("p").default_service,
            }),
            ..Default::default()
        };
        let i = crate::labels::instruction("100000000001", PAYMENTS[pay], 1_000, vec![d.clone()]);
        let outcome = settings.decide(&i, &d, None);
        match &outcome {
            Outcome::NoLabel(_) => prop_assert!(d.store_pickup),
            Outcome::Unconfigured => prop_assert!(!settings.is_configured()),
            Outcome::Hold(reason) => {
                prop_assert!(!d.store_pickup);
                prop_assert!(!reason.is_empty());
            }
            Outcome::Label(dec) => {
                prop_assert!(!d.store_pickup);
                let p = settings.profile(&dec.carrier).expect("its profile");
                let svc = &p.services[&dec.service];
                prop_assert_eq!(&svc.code, &dec.service_code);
                // What the service is asked to do, it can do.
                prop_assert!(!dec.cod || svc.cod, "COD on {}", svc.label);
                prop_assert_eq!(dec.cod, PAYMENTS[pay] == "COD");
                prop_assert!(!d.cool || svc.cool, "cool on {}", svc.label);
                let units: f64 = d.items.iter().map(|it| item_units(&it.name) * it.count as f64).sum();
                prop_assert!(svc.max_units.is_none_or(|m| units <= m + 1e-9), "{units} units in {}", svc.label);
                // The time code is one of the carrier's, or none.
                prop_assert!(
                    dec.time_code == p.no_time || p.times.iter().any(|t| t.code == dec.time_code),
                    "time code {:?}", dec.time_code
                );
                if d.requested_time.as_deref().is_some_and(|t| t == "夕方ごろ") {
                    prop_assert!(p.times.is_empty(), "an unknown wish is never silently dropped");
                }
            }
        }
        // And the same through the intake hook: one trace line, or one hold reason.
        let mut held = i.clone();
        let said = shukka::engine::labels::decide_delivery(
            &settings,
            &mut held,
            shukka::engine::now(),
            (0, "test"),
        );
        match outcome {
            Outcome::Unconfigured => prop_assert!(said.is_empty()),
            Outcome::Hold(_) => {
                prop_assert_eq!(held.hold_reasons.len(), 1);
                prop_assert!(held.destinations[0].delivery.is_none());
            }
            Outcome::Label(_) => {
                prop_assert!(held.hold_reasons.is_empty());
                prop_assert!(held.destinations[0].delivery.is_some());
            }
            Outcome::NoLabel(_) => prop_assert!(held.hold_reasons.is_empty()),
        }
    }
}

/// The setup file's rules decide at intake: shown on the shipment and in the rule trace; a
/// wish no slot of the carrier matches is a hold reason.
#[tokio::test]
async fn the_setup_files_delivery_rules_decide_at_intake() {
    use shukka::sim::NewOrder;
    let sim = start_sim(0, 50).await;
    let sku = sim.with_state(|s| s.products()[0].skus[0].sku_no.clone());
    let mk = |o: NewOrder| {
        let v = sim.with_state(|s| s.create_order(o)).expect("order");
        v["orderNo"].as_str().expect("orderNo").to_string()
    };
    let mail = mk(NewOrder {
        skus: vec![sku.clone()],
        payment_type: Some("FREGI_CREDIT_CARD".into()),
        delivery_service_name: Some("メール便".into()),
        ..Default::default()
    });
    let cod = mk(NewOrder {
        skus: vec![sku.clone()],
        payment_type: Some("COD".into()),
        preferred_delivery_time: Some("午前中".into()),
        ..Default::default()
    });
    let vague = mk(NewOrder {
        skus: vec![sku.clone()],
        payment_type: Some("FREGI_CREDIT_CARD".into()),
        preferred_delivery_time: Some("夕方ごろ".into()),
        ..Default::default()
    });
    let dir = tempfile::tempdir().expect("tmp");
    let engine = engine_in(dir.path());
    let text = format!(
        "{}\n{}",
        setup_toml(&sim, "UNUSED"),
        r#"
[carriers.b2]
billing_customer_code = "012345678901"
freight_no = "01"

[[delivery]]
name = "メール便はネコポス"
service_name = "メール便"
carrier = "b2"
service = "nekopos"

[delivery_default]
carrier = "b2"
"#
    );
    let file = SetupFile::parse(&text).expect("setup file");
    let report = engine
        .apply_setup(
            &file,
            shukka::secret::Secret::new("demo-secret"),
            &operator(),
        )
        .await
        .expect("setup");
    assert!(
        report.steps.iter().any(|(s, _)| s == "送り状設定"),
        "{:?}",
        report.steps
    );
    run(&engine, range_robot(&engine)).await;
    let find = |no: &str| engine.find_order(no).expect("instruction");
    let m = find(&mail);
    let dec = m.destinations[0].delivery.clone().expect("decided");
    assert_eq!(
        (dec.carrier.as_str(), dec.service.as_str()),
        ("b2", "nekopos")
    );
    assert_eq!(dec.rule, "メール便はネコポス");
    assert!(
        m.trace
            .iter()
            .any(|t| t.decision.contains("配送方法") && t.decision.contains("ネコポス"))
    );
    let c = find(&cod);
    let dec = c.destinations[0].delivery.clone().expect("decided");
    assert_eq!(dec.service, "collect", "COD → コレクト");
    assert_eq!(dec.time_code, "0812");
    let v = find(&vague);
    assert_eq!(v.status, Status::Held);
    assert!(
        v.hold_reasons.contains("配達時間帯不明"),
        "{:?}",
        v.hold_reasons
    );
    assert!(v.trace.iter().any(|t| t.decision.contains("夕方ごろ")));
    // Applying the same file again changes nothing.
    let again = engine
        .apply_setup(
            &file,
            shukka::secret::Secret::new("demo-secret"),
            &operator(),
        )
        .await
        .expect("setup");
    assert!(
        again
            .steps
            .iter()
            .any(|(s, d)| s == "送り状設定" && d == "変更なし"),
        "{:?}",
        again.steps
    );
}

/// A shop adjusts a built-in profile in its setup file (`base = "b2"`): its own time table and
/// a service; a broken one is refused when the file is read.
#[test]
fn a_shop_adjusts_a_profile_in_its_setup_file() {
    let base = r#"
[ship_from]
name = "x"
postal_code = "1500001"
prefecture = "東京都"
address = "渋谷区"
phone = "03-1234-5678"

[futureshop]
name = "本店"
shop_key = "k"
client_id = "c"
client_secret_env = "X"
api_base = "http://127.0.0.1:9"
"#;
    let text = format!(
        "{base}{}",
        r#"
[label_profiles.b2]
base = "b2"
name = "B2 (当店用)"
[[label_profiles.b2.times]]
pattern = "夕方"
code = "1618"
[label_profiles.b2.services.takkyubin60]
label = "宅急便60"
code = "0"
cool = true
"#
    );
    let f = SetupFile::parse(&text).expect("parses");
    let s = f.label_settings().expect("settings").expect("some");
    let p = s.profile("b2").expect("b2");
    assert_eq!(p.name, "B2 (当店用)");
    assert_eq!(
        p.times.len(),
        1,
        "the shop's table replaces the built-in one"
    );
    assert!(
        p.services.contains_key("takkyubin60") && p.services.contains_key("nekopos"),
        "services merge"
    );
    assert_eq!(
        p.columns.len(),
        Profile::builtin("b2").expect("b2").columns.len()
    );
    let broken =
        format!("{base}\n[[delivery]]\nname = \"x\"\ncarrier = \"b2\"\nservice = \"teleport\"\n");
    let err = SetupFile::parse(&broken).expect_err("unknown service");
    assert!(err.contains("teleport") && err.contains("nekopos"), "{err}");
    let broken = format!("{base}\n[label_profiles.mine]\nbase = \"nosuch\"\n");
    assert!(
        SetupFile::parse(&broken)
            .expect_err("unknown base")
            .contains("nosuch")
    );
}

/// The example setup file of the docs parses, and its 送り状 part decides as it says: メール便
/// goes ネコポス (two items are over its capacity: 宅急便, noted), COD goes 宅急便コレクト.
#[test]
fn delivery_the_example_setup_file_parses_and_decides_as_documented() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/setup.toml");
    let text = std::fs::read_to_string(path).expect("examples/setup.toml");
    let f = SetupFile::parse(&text).expect("the example parses");
    let s = f
        .label_settings()
        .expect("valid")
        .expect("送り状 is set up");
    assert_eq!(s.carriers["b2"]["billing_customer_code"], "012345678901");
    let mut i = crate::labels::instruction(
        "100000000001",
        "FREGI_CREDIT_CARD",
        1_000,
        vec![Destination {
            shipment_no: 1,
            delivery_method: "メール便".into(),
            items: vec![Item {
                count: 1,
                ..Item::default()
            }],
            ..Destination::default()
        }],
    );
    let decided = |i: &Instruction| match s.decide(i, &i.destinations[0], None) {
        Outcome::Label(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(decided(&i).service, "nekopos");
    i.destinations[0].items[0].count = 2;
    let d = decided(&i);
    assert_eq!(d.service, "hatsubarai", "over ネコポス's capacity");
    assert!(!d.notes.is_empty(), "and said so: {d:?}");
    i.destinations[0].delivery_method = "宅配便".into();
    i.payment_type = Some("COD".into());
    let d = decided(&i);
    assert_eq!((d.service.as_str(), d.cod), ("collect", true), "{d:?}");
}
