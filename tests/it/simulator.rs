//! The simulator on its own: filters, validation, shapes, control API, faults.

use serde_json::{Value, json};
use shukka::futureshop::Order;
use shukka::sim::NewOrder;

use crate::common::*;

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn date_filters_are_inclusive_and_validated() {
    let sim = start_sim(0, 100).await;
    for d in [
        "2026-01-01T10:00:00",
        "2026-01-01T11:00:00",
        "2026-01-01T12:00:00",
    ] {
        sim.with_state(|s| {
            s.create_order(NewOrder {
                date: Some(d.into()),
                ..NewOrder::default()
            })
        })
        .expect("created");
    }
    let found = |start: &str, end: &str| -> usize {
        let body = sim
            .with_state(|s| {
                s.search_orders(&params(&[("orderDateStart", start), ("orderDateEnd", end)]))
            })
            .expect("ok");
        body["orderList"].as_array().map(Vec::len).unwrap_or(0)
    };
    assert_eq!(found("2026-01-01T10:00:00", "2026-01-01T12:00:00"), 3);
    assert_eq!(found("2026-01-01T10:00:01", "2026-01-01T11:59:59"), 1);
    assert_eq!(found("2026-01-01T11:00:00", "2026-01-01T11:00:00"), 1);
    let err = sim
        .with_state(|s| s.search_orders(&params(&[("orderDateStart", "2026/01/01")])))
        .expect_err("bad format");
    assert_eq!((err.status, err.code), (400, "InvalidDateFormat"));
    // Over HTTP, with a real token, the same error is a 400 with the code in the body.
    let c = client(&sim);
    c.test_connection().await.expect("token");
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth("demo-client", Some("demo-secret"))
        .header("X-SHOP-KEY", "demo-shop")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let resp = http
        .get(format!(
            "{}/admin-api/v1/shipping?orderDateStart=yesterday",
            sim.base_url()
        ))
        .bearer_auth(token["access_token"].as_str().expect("token"))
        .header("X-SHOP-KEY", "demo-shop")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["code"], "InvalidDateFormat");
}

#[tokio::test]
async fn status_filters_select_paid_and_shipped() {
    let sim = start_sim(0, 100).await;
    let mk = |paid| {
        sim.with_state(|s| {
            s.create_order(NewOrder {
                paid: Some(paid),
                payment_type: Some("BANK_TRANSFER".into()),
                ..NewOrder::default()
            })
        })
        .expect("created")
    };
    let paid = mk(true)["orderNo"].as_str().expect("no").to_string();
    let unpaid = mk(false)["orderNo"].as_str().expect("no").to_string();
    let nos = |body: Value| -> Vec<String> {
        body["orderList"]
            .as_array()
            .expect("list")
            .iter()
            .map(|o| o["orderNo"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let r = sim
        .with_state(|s| s.search_orders(&params(&[("paymentStatus", "received")])))
        .expect("ok");
    assert_eq!(nos(r), vec![paid.clone()]);
    let r = sim
        .with_state(|s| s.search_orders(&params(&[("paymentStatus", "notReceived")])))
        .expect("ok");
    assert_eq!(nos(r), vec![unpaid.clone()]);
    sim.with_state(|s| s.update_shipping(&json!({"orderList": [{"orderNo": paid, "shipmentList": [{"shipmentNo": 1, "shippingInfo": {"invoiceNo": "1", "shippingDate": "2026-11-01"}}]}]}))).expect("ship");
    let r = sim
        .with_state(|s| s.search_orders(&params(&[("shippingStatus", "shipped")])))
        .expect("ok");
    assert_eq!(nos(r), vec![paid.clone()]);
    let r = sim
        .with_state(|s| s.search_orders(&params(&[("shippingStatus", "notShipped")])))
        .expect("ok");
    assert_eq!(nos(r), vec![unpaid.clone()]);
    let r = sim
        .with_state(|s| s.search_orders(&params(&[("orderNo", &format!("{unpaid},{paid}"))])))
        .expect("ok");
    assert_eq!(nos(r).len(), 2);
    assert!(
        sim.with_state(|s| s.search_orders(&params(&[("shippingStatus", "maybe")])))
            .is_err()
    );
}

#[tokio::test]
async fn list_and_detail_shapes_differ_as_in_futureshop() {
    let sim = start_sim(20, 100).await;
    let body = sim.with_state(|s| s.search_orders(&[])).expect("ok");
    let list = &body["orderList"][0];
    let no = list["orderNo"].as_str().expect("no").to_string();
    let detail = sim.with_state(|s| s.order_detail(&no)).expect("detail");
    let ls = &list["shipmentList"][0];
    let ds = &detail["shipmentList"][0];
    assert!(
        ls["addressInfo"].get("postalCode").is_some() && ls["addressInfo"].get("zipCode").is_none()
    );
    assert!(
        ds["addressInfo"].get("zipCode").is_some() && ds["addressInfo"].get("postalCode").is_none()
    );
    assert!(ls.get("shippingInfo").is_some() && ds.get("shippingInfo").is_none());
    assert!(ds.get("shipped").is_some() && ds.get("deliveryServiceName").is_some());
    assert!(list.get("paymentStatus").is_none() && detail.get("paymentStatus").is_some());
    assert_eq!(
        detail["bundleDiscountTotal"], "",
        "absent values are empty strings"
    );
    assert!(
        detail["buyerInfo"]["orderCount"].is_string(),
        "counters arrive as strings"
    );
    // Both parse into the same order.
    let a = Order::from_list_json(list.clone()).expect("list");
    let b = Order::from_detail_json(detail.clone()).expect("detail");
    assert_eq!(a.order_no, b.order_no);
    assert_eq!(a.is_paid(), b.is_paid());
    assert_eq!(
        a.shipments[0].address.postal_code,
        b.shipments[0].address.postal_code
    );
    assert_eq!(a.amounts.grand_total, b.amounts.grand_total);
    assert_eq!(
        sim.with_state(|s| s.order_detail("000000000000"))
            .expect_err("404")
            .status,
        404
    );
}

#[tokio::test]
async fn seeded_data_is_realistic_and_deterministic() {
    let a = start_sim(400, 100).await;
    let b = start_sim(400, 100).await;
    let names = |sim: &shukka::sim::SimHandle| -> Vec<String> {
        let body = sim.with_state(|s| s.search_orders(&[])).expect("ok");
        body["orderList"]
            .as_array()
            .expect("list")
            .iter()
            .map(|o| {
                format!(
                    "{}{}",
                    o["buyerInfo"]["lastName"].as_str().unwrap_or(""),
                    o["paymentType"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    assert_eq!(names(&a), names(&b), "same seed, same shop");
    let c = client(&a);
    let (orders, bad) = c
        .search_orders(&everything())
        .expect("pager")
        .collect_all()
        .await
        .expect("ok");
    assert!(bad.is_empty());
    assert_eq!(orders.len(), 400);
    let prefs: std::collections::HashSet<_> = orders
        .iter()
        .map(|o| o.shipments[0].address.prefecture.clone())
        .collect();
    assert!(
        prefs.len() >= 20,
        "orders across many prefectures: {}",
        prefs.len()
    );
    let types: std::collections::HashSet<_> = orders
        .iter()
        .filter_map(|o| o.payment_type.clone())
        .collect();
    assert!(types.len() >= 6, "several payment types: {types:?}");
    assert!(
        orders.iter().any(|o| o.shipments.len() > 1),
        "some orders ship to several addresses"
    );
    assert!(
        orders.iter().any(|o| o.is_cancelled()),
        "some are cancelled"
    );
    assert!(orders.iter().any(|o| o.is_paid()) && orders.iter().any(|o| !o.is_paid()));
    // The list shape has no per-line preorder flag; the order type says it.
    assert!(
        orders
            .iter()
            .any(|o| o.order_type == Some(shukka::futureshop::OrderType::Preorder)),
        "some preorder orders"
    );
    assert!(
        orders
            .iter()
            .all(|o| o.buyer.last_name.chars().all(|c| !c.is_ascii())),
        "Japanese names"
    );
}

#[tokio::test]
async fn prepaid_orders_get_paid_and_new_orders_arrive_over_time() {
    let sim = start_sim_with(0, |s| {
        s.new_orders_per_min = 600.0;
        s.behaviour.payment_delay = chrono::Duration::seconds(1);
    })
    .await;
    let before = sim.with_state(|s| s.order_count());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let after = sim.with_state(|s| s.order_count());
    assert!(after > before, "orders keep arriving");
    // A prepaid order scheduled to be paid soon is paid once the clock passes.
    let now = shukka::time::now_jst();
    sim.with_state(|s| {
        s.tick(
            now + chrono::Duration::seconds(30),
            std::time::Duration::ZERO,
        )
    });
    let body = sim
        .with_state(|s| s.search_orders(&params(&[("paymentStatus", "notReceived")])))
        .expect("ok");
    for o in body["orderList"].as_array().expect("list") {
        let pt = o["paymentType"].as_str().unwrap_or("");
        assert!(
            !matches!(pt, "BANK_TRANSFER" | "FREGI_CONVENI" | "POSTAL_TRANSFER")
                || o["status"] == "CANCELLED",
            "prepaid orders are paid (or given up) once their delay has passed: {pt}"
        );
    }
}

#[tokio::test]
async fn control_api_plays_the_shop_over_http_and_is_loopback_only() {
    let sim = start_sim(3, 100).await;
    let http = reqwest::Client::new();
    let base = sim.base_url();
    let created: Value = http.post(format!("{base}/__sim/orders"))
        .json(&json!({"payment_type": "BANK_TRANSFER", "paid": false, "skus": ["NOPE-1"], "last_name": "\u{1b}]0;x\u{7}"}))
        .send().await.expect("send").json().await.expect("json");
    let no = created["orderNo"].as_str().expect("no").to_string();
    assert_eq!(
        created["shipmentList"][0]["productList"][0]["skuNo"],
        "NOPE-1"
    );
    assert_eq!(created["buyerInfo"]["lastName"], "\u{1b}]0;x\u{7}");
    let paid: Value = http
        .post(format!("{base}/__sim/orders/{no}/pay"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(paid["paymentStatus"], "RECEIVED");
    let cancelled: Value = http
        .post(format!("{base}/__sim/orders/{no}/cancel"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(cancelled["status"], "CANCELLED");
    let faults: Value = http
        .put(format!("{base}/__sim/faults"))
        .json(&json!({"latency_ms": 5}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(faults["latency_ms"], 5);
    let stats: Value = http
        .get(format!("{base}/__sim/stats"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["orders"], 4);
    let expired: Value = http
        .post(format!("{base}/__sim/tokens/expire"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(expired["expired"].is_number());
    // The futureshop endpoints require auth; the control API does not (but loopback only).
    assert_eq!(
        http.get(format!("{base}/admin-api/v1/shipping"))
            .send()
            .await
            .expect("send")
            .status(),
        401
    );
}

#[tokio::test]
async fn batch_endpoints_refuse_more_than_100_items() {
    let sim = start_sim(0, 100).await;
    let orders: Vec<Value> = (0..101)
        .map(|i| json!({"orderNo": format!("{i:012}"), "shipmentList": []}))
        .collect();
    let err = sim
        .with_state(|s| s.update_shipping(&json!({ "orderList": orders })))
        .expect_err("too many");
    assert_eq!(err.status, 400);
    let products: Vec<Value> = (0..101)
        .map(|i| json!({"productNo": format!("P{i}"), "inventoryInfo": {}}))
        .collect();
    assert!(
        sim.with_state(|s| s.update_inventory(&json!({ "productList": products })))
            .is_err()
    );
    let err = sim.with_state(|s| s.update_shipping(&json!({"orderList": [{"orderNo": "1", "shipmentList": [{"shipmentNo": 1, "shippingInfo": {"invoiceNo": "1", "shippingDate": "28/11/2026"}}]}]}))).expect_err("bad date");
    assert_eq!(err.code, "InvalidDateFormat");
}
