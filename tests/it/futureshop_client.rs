//! The futureshop client against the simulator on loopback: paging, auth, faults, batching.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use shukka::futureshop::{
    Client, FsError, InventoryUpdate, OrderQuery, PaymentType, ShippingUpdate, StockCount,
};
use shukka::sim::{Faults, NewOrder, ScriptedFault, ShopCreds};

use crate::common::*;

#[tokio::test]
async fn paging_follows_next_url_verbatim_over_many_pages() {
    let sim = start_sim(250, 40).await;
    let c = client(&sim);
    let mut pager = c.search_orders(&everything()).expect("pager");
    let mut urls = Vec::new();
    let mut seen = HashSet::new();
    while let Some(page) = pager.next_page().await.expect("page") {
        urls.push(page.url.clone());
        for o in page.items {
            assert!(seen.insert(o.order_no.clone()), "duplicate {}", o.order_no);
        }
    }
    assert_eq!(seen.len(), 250);
    assert_eq!(urls.len(), 7, "250 orders at 40 per page");
    // Each page after the first is exactly the nextUrl the simulator sent for the previous one.
    for pair in urls.windows(2) {
        let params: Vec<(String, String)> = pair[0]
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let body = sim
            .with_state(|s| s.search_orders(&params))
            .expect("search");
        let next = body["nextUrl"]
            .as_str()
            .expect("nextUrl on a non-last page");
        assert_eq!(pair[1].as_str(), next, "nextUrl followed verbatim");
    }
    // And the simulator received exactly those URIs, nothing re-appended.
    let received: Vec<String> = sim.with_state(|s| {
        s.requests()
            .iter()
            .filter(|r| r.uri.starts_with("/admin-api/v1/shipping"))
            .map(|r| r.uri.clone())
            .collect()
    });
    let expected: Vec<String> = urls
        .iter()
        .map(|u| format!("{}?{}", u.path(), u.query().unwrap_or("")))
        .collect();
    assert_eq!(received, expected);
    // The last page carries no nextUrl.
    assert!(!sim.with_state(|s| {
        let params: Vec<(String, String)> = urls[6]
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        s.search_orders(&params)
            .expect("last")
            .get("nextUrl")
            .is_some()
    }));
}

#[tokio::test]
async fn token_expiry_mid_paging_reauthenticates_without_gaps_or_duplicates() {
    let sim = start_sim(300, 50).await;
    let c = client(&sim);
    let mut pager = c.search_orders(&everything()).expect("pager");
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(page) = pager.next_page().await.expect("page") {
        pages += 1;
        seen.extend(page.items.into_iter().map(|o| o.order_no));
        if pages == 2 {
            sim.with_state(|s| s.expire_tokens());
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 300);
    assert_eq!(unique.len(), 300);
    let all: HashSet<String> = sim.with_state(|s| s.all_order_nos()).into_iter().collect();
    assert_eq!(unique.into_iter().cloned().collect::<HashSet<_>>(), all);
    let statuses: Vec<(String, u16)> = sim.with_state(|s| {
        s.requests()
            .iter()
            .map(|r| (r.uri.clone(), r.status))
            .collect()
    });
    let token_requests = statuses.iter().filter(|(u, _)| u == "/oauth/token").count();
    let unauthorized = statuses.iter().filter(|(_, st)| *st == 401).count();
    assert_eq!(token_requests, 2, "one initial token, one after expiry");
    assert_eq!(unauthorized, 1, "exactly one rejected call, then retried");
}

#[tokio::test]
async fn retry_after_on_429_is_honoured() {
    let sim = start_sim(10, 100).await;
    let c = client(&sim);
    c.test_connection().await.expect("token");
    sim.set_faults(Faults {
        fail_next: vec![ScriptedFault {
            status: 429,
            retry_after: Some(1),
            path_prefix: Some("/admin-api/".into()),
        }],
        ..Faults::default()
    });
    let started = Instant::now();
    let (orders, _) = c
        .search_orders(&everything())
        .expect("pager")
        .collect_all()
        .await
        .expect("succeeds after the 429");
    assert_eq!(orders.len(), 10);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited at least the Retry-After of 1 s (waited {:?})",
        started.elapsed()
    );
    let statuses: Vec<u16> = sim.with_state(|s| s.requests().iter().map(|r| r.status).collect());
    assert_eq!(statuses, vec![200, 429, 200]);
}

#[tokio::test]
async fn rate_limited_simulator_is_eventually_fully_read() {
    let sim = start_sim(120, 20).await;
    sim.set_faults(Faults {
        rate_limit: Some(20.0),
        rate_burst: 1,
        ..Faults::default()
    });
    let c = client(&sim);
    let (orders, _) = c
        .search_orders(&everything())
        .expect("pager")
        .collect_all()
        .await
        .expect("all pages despite 429s");
    assert_eq!(orders.len(), 120);
}

#[tokio::test]
async fn maintenance_503_then_recovery() {
    let sim = start_sim(30, 10).await;
    sim.with_state(|s| s.faults.maintenance = true);
    let c = client_with(&sim, |cfg| {
        cfg.options.max_attempts = 30;
        cfg.options.backoff_base = Duration::from_millis(20);
        cfg.options.backoff_max = Duration::from_millis(100);
    });
    let task = tokio::spawn({
        let c = c.clone();
        async move {
            c.search_orders(&everything())
                .expect("pager")
                .collect_all()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let failed = sim.with_state(|s| {
        s.requests()
            .iter()
            .filter(|r| r.status == 503 && r.uri == "/oauth/token")
            .count()
    });
    assert!(
        failed >= 1,
        "the token endpoint is down during maintenance too"
    );
    sim.with_state(|s| s.faults.maintenance = false);
    let (orders, _) = task
        .await
        .expect("join")
        .expect("recovers after maintenance");
    assert_eq!(orders.len(), 30);
}

#[tokio::test]
async fn transient_503s_are_retried_then_succeed() {
    let sim = start_sim(30, 10).await;
    let scripted = |status| ScriptedFault {
        status,
        retry_after: None,
        path_prefix: None,
    };
    sim.set_faults(Faults {
        fail_next: vec![scripted(503), scripted(503), scripted(502)],
        ..Faults::default()
    });
    let c = client(&sim);
    let (orders, _) = c
        .search_orders(&everything())
        .expect("pager")
        .collect_all()
        .await
        .expect("recovers");
    assert_eq!(orders.len(), 30);
    let failures = sim.with_state(|s| s.requests().iter().filter(|r| r.status >= 500).count());
    assert_eq!(failures, 3);
}

#[tokio::test]
async fn maintenance_longer_than_the_client_waits_is_a_clear_error() {
    let sim = start_sim(5, 10).await;
    sim.with_state(|s| {
        s.faults.maintenance = true;
        s.faults.maintenance_retry_after = Some(3600);
    });
    let err = client(&sim)
        .test_connection()
        .await
        .expect_err("maintenance");
    let msg = err.to_string();
    assert!(matches!(err, FsError::RetriesExhausted { .. }), "{err:?}");
    assert!(msg.contains("503") && msg.contains("maintenance"), "{msg}");
}

#[tokio::test]
async fn too_many_failures_give_a_typed_error_naming_the_endpoint() {
    let sim = start_sim(5, 10).await;
    let c = client_with(&sim, |cfg| cfg.options.max_attempts = 3);
    c.test_connection().await.expect("token");
    sim.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let err = c
        .search_orders(&everything())
        .expect("pager")
        .collect_all()
        .await
        .expect_err("every answer is a 5xx");
    match &err {
        FsError::RetriesExhausted {
            endpoint, attempts, ..
        } => {
            assert_eq!(endpoint, "GET /admin-api/v1/shipping");
            assert_eq!(*attempts, 3);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn malformed_json_is_a_typed_error_and_returns_no_data() {
    let sim = start_sim(20, 100).await;
    let c = client(&sim);
    c.test_connection().await.expect("token");
    sim.with_state(|s| s.faults.malformed_next = 1);
    let mut pager = c.search_orders(&everything()).expect("pager");
    let err = pager.next_page().await.expect_err("broken body");
    assert!(matches!(err, FsError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("malformed"));
}

#[tokio::test]
async fn wrong_credentials_say_the_token_request_was_refused() {
    let sim = start_sim(5, 100).await;
    for tweak in [
        (|cfg: &mut shukka::futureshop::FsConfig| cfg.credentials.client_secret = "nope".into())
            as fn(&mut shukka::futureshop::FsConfig),
        |cfg| cfg.credentials.client_id = "someone-else".into(),
        |cfg| cfg.credentials.shop_key = "other-shop".into(),
    ] {
        let c = client_with(&sim, tweak);
        let err = c.test_connection().await.expect_err("refused");
        assert!(
            matches!(err, FsError::TokenRefused { status: 401, .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("refused the token request"), "{msg}");
        assert!(msg.contains("client secret"), "tells what to check: {msg}");
        // The same failure on a data call.
        let err = c
            .search_orders(&everything())
            .expect("pager")
            .collect_all()
            .await
            .expect_err("refused");
        assert!(matches!(err, FsError::TokenRefused { .. }));
    }
}

#[tokio::test]
async fn a_token_is_bound_to_its_shop_key() {
    let sim = start_sim_with(5, |s| {
        s.shops.push(ShopCreds {
            shop_key: "shop-b".into(),
            client_id: "client-b".into(),
            client_secret: "secret-b".into(),
        })
    })
    .await;
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
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
    let access = token["access_token"].as_str().expect("token").to_string();
    let call = |key: &'static str| {
        http.get(format!("{}/admin-api/v1/shipping", sim.base_url()))
            .bearer_auth(&access)
            .header("X-SHOP-KEY", key)
            .send()
    };
    assert_eq!(call("demo-shop").await.expect("send").status(), 200);
    assert_eq!(call("shop-b").await.expect("send").status(), 401);
    let bad_grant = http
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth("demo-client", Some("demo-secret"))
        .header("X-SHOP-KEY", "demo-shop")
        .form(&[("grant_type", "password")])
        .send()
        .await
        .expect("send");
    assert_eq!(bad_grant.status(), 400);
}

#[tokio::test]
async fn secret_and_tokens_never_appear_in_debug_display_or_errors() {
    let sim = start_sim_with(5, |s| s.token_ttl_secs = 3600).await;
    let secret = "demo-secret";
    let cfg = sim.client_config(Duration::ZERO);
    let c = Client::new(cfg.clone()).expect("client");
    c.test_connection().await.expect("token");
    let mut texts = vec![
        format!("{cfg:?}"),
        format!("{c:?}"),
        format!("{:?}", cfg.credentials),
    ];
    // Every error variant the client can produce, from real failures.
    let mut errors: Vec<FsError> = Vec::new();
    errors.push(
        client_with(&sim, |c| c.credentials.shop_key = "x".into())
            .test_connection()
            .await
            .expect_err("refused"),
    );
    errors.push(
        client_with(&sim, |c| {
            c.base_url = url::Url::parse("http://127.0.0.1:9/").expect("url");
            c.options.max_attempts = 2;
        })
        .test_connection()
        .await
        .expect_err("no server"),
    );
    errors.push(c.get_order("999999999999").await.expect_err("404"));
    sim.with_state(|s| s.faults.malformed_next = 1);
    errors.push(c.get_order("100000000001").await.expect_err("malformed"));
    sim.with_state(|s| {
        s.faults.fail_next = vec![ScriptedFault {
            status: 400,
            retry_after: None,
            path_prefix: None,
        }]
    });
    errors.push(c.get_order("100000000001").await.expect_err("400"));
    // A server that expires every token at once: 401 even after re-authentication.
    sim.with_state(|s| s.settings.token_ttl_secs = 0);
    c.forget_token().await;
    errors.push(c.get_order("100000000001").await.expect_err("401"));
    let kinds: HashSet<&str> = errors
        .iter()
        .map(|e| match e {
            FsError::TokenRefused { .. } => "refused",
            FsError::RetriesExhausted { .. } => "exhausted",
            FsError::OrderNotFound(_) => "notfound",
            FsError::Malformed { .. } => "malformed",
            FsError::Rejected { .. } => "rejected",
            FsError::Unauthorized { .. } => "unauthorized",
            FsError::BadRequest { .. } => "bad",
        })
        .collect();
    assert_eq!(kinds.len(), 6, "{errors:?}");
    for e in &errors {
        texts.push(format!("{e}"));
        texts.push(format!("{e:?}"));
    }
    let tokens = sim.with_state(|s| s.tokens_issued());
    assert!(!tokens.is_empty());
    for t in &texts {
        assert!(!t.contains(secret), "secret leaked: {t}");
        for tok in &tokens {
            assert!(!t.contains(tok.as_str()), "token leaked: {t}");
        }
    }
}

#[tokio::test]
async fn shipping_updates_are_batched_by_100_and_mapped_back() {
    let sim = start_sim(0, 100).await;
    let mut nos = Vec::new();
    for i in 0..250 {
        let order = sim.with_state(|s| {
            s.create_order(NewOrder {
                store_pickup: i == 123,
                ..NewOrder::default()
            })
        });
        nos.push(
            order.expect("created")["orderNo"]
                .as_str()
                .expect("no")
                .to_string(),
        );
    }
    let updates: Vec<ShippingUpdate> = nos
        .iter()
        .enumerate()
        .map(|(i, no)| ShippingUpdate {
            order_no: no.clone(),
            shipment_no: 1,
            invoice_no: format!("1234-5678-{i:04}"),
            shipping_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 28),
            expected_arrival: chrono::NaiveDate::from_ymd_opt(2026, 11, 30),
        })
        .collect();
    let c = client(&sim);
    let results = c.update_shipping(&updates).await;
    assert_eq!(results.len(), 250);
    let posts = sim.with_state(|s| {
        s.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.uri == "/admin-api/v1/shipping/status")
            .count()
    });
    assert_eq!(posts, 3, "100 + 100 + 50");
    for (i, r) in results.iter().enumerate() {
        assert_eq!(
            r.key,
            format!("{}/1", nos[i]),
            "results come back in input order"
        );
        if i == 123 {
            assert!(!r.accepted);
            assert_eq!(r.code.as_deref(), Some("CannotUpdateStorePickup"));
        } else {
            assert!(r.accepted, "{r:?}");
        }
    }
    let shipped = sim.with_state(|s| s.order(&nos[0]).map(|o| o.shipped()));
    assert_eq!(shipped, Some(true));
    assert_eq!(sim.with_state(|s| s.shipping_received().len()), 250);
}

#[tokio::test]
async fn shipping_results_for_a_failed_chunk_say_why() {
    let sim = start_sim(3, 100).await;
    let c = client_with(&sim, |cfg| cfg.options.max_attempts = 2);
    c.test_connection().await.expect("token");
    sim.with_state(|s| s.faults.error_rate = 1.0);
    let results = c
        .update_shipping(&[ShippingUpdate {
            order_no: "100000000001".into(),
            shipment_no: 1,
            invoice_no: "X".into(),
            shipping_date: None,
            expected_arrival: None,
        }])
        .await;
    assert!(!results[0].accepted);
    assert!(
        results[0]
            .message
            .as_deref()
            .unwrap_or("")
            .contains("failed after 2")
    );
}

#[tokio::test]
async fn unknown_payment_type_round_trips() {
    let sim = start_sim(0, 100).await;
    let created = sim
        .with_state(|s| {
            s.create_order(NewOrder {
                payment_type: Some("QUANTUM_PAY".into()),
                ..NewOrder::default()
            })
        })
        .expect("created");
    let no = created["orderNo"].as_str().expect("no").to_string();
    let c = client(&sim);
    let (orders, bad) = c
        .search_orders(&everything())
        .expect("pager")
        .collect_all()
        .await
        .expect("ok");
    assert!(bad.is_empty());
    let o = &orders[0];
    assert_eq!(
        o.payment_type,
        Some(PaymentType::Other("QUANTUM_PAY".into()))
    );
    assert_eq!(o.raw.to_value()["paymentType"], "QUANTUM_PAY");
    // Through our own serialization and back, unchanged.
    let stored = serde_json::to_string(o).expect("ser");
    let back: shukka::futureshop::Order = serde_json::from_str(&stored).expect("de");
    assert_eq!(&back, o);
    let detail = c.get_order(&no).await.expect("detail");
    assert_eq!(
        detail.payment_type,
        Some(PaymentType::Other("QUANTUM_PAY".into()))
    );
}

#[tokio::test]
async fn order_no_lists_are_chunked_with_raw_commas() {
    let sim = start_sim(250, 100).await;
    let nos = sim.with_state(|s| s.all_order_nos());
    let c = client_with(&sim, |cfg| cfg.options.order_no_chunk = 100);
    let q = OrderQuery {
        order_nos: nos.clone(),
        ..OrderQuery::default()
    };
    let (orders, _) = c
        .search_orders(&q)
        .expect("pager")
        .collect_all()
        .await
        .expect("ok");
    assert_eq!(orders.len(), 250);
    let uris: Vec<String> = sim.with_state(|s| {
        s.requests()
            .iter()
            .filter(|r| r.uri.starts_with("/admin-api/v1/shipping"))
            .map(|r| r.uri.clone())
            .collect()
    });
    assert_eq!(uris.len(), 3);
    assert!(
        uris[0].contains("orderNo=100000000001,100000000002,"),
        "{}",
        uris[0]
    );
}

#[tokio::test]
async fn inventory_search_pages_and_updates_apply() {
    let sim = start_sim_with(0, |s| s.inventory_page_size = 5).await;
    let c = client(&sim);
    let mut pager = c.search_inventory(&[]).expect("pager");
    let mut products = Vec::new();
    while let Some(page) = pager.next_page().await.expect("page") {
        assert!(page.items.len() <= 5);
        products.extend(page.items);
    }
    let expected = sim.with_state(|s| s.products().len());
    assert_eq!(products.len(), expected);
    assert!(pager.pages_read() >= 4);
    let ids: HashSet<_> = products.iter().map(|p| p.product_no.clone()).collect();
    assert_eq!(ids.len(), expected);
    // An update: a set, a delta, and an unknown product.
    let first = &products[0];
    let sku = &first.skus[0];
    let results = c
        .update_inventory(&[
            InventoryUpdate {
                product_no: first.product_no.clone(),
                vertical_no: sku.vertical_no.clone(),
                horizontal_no: sku.horizontal_no.clone(),
                count: StockCount::Set(50),
            },
            InventoryUpdate {
                product_no: "NOPE-1".into(),
                vertical_no: String::new(),
                horizontal_no: String::new(),
                count: StockCount::Delta(-1),
            },
        ])
        .await;
    assert!(results[0].accepted);
    assert_eq!(results[1].code.as_deref(), Some("ProductNotFound"));
    let now = sim.with_state(|s| s.products()[0].skus[0].count);
    assert_eq!(now, 50);
    let delta = [InventoryUpdate {
        product_no: first.product_no.clone(),
        vertical_no: sku.vertical_no.clone(),
        horizontal_no: sku.horizontal_no.clone(),
        count: StockCount::Delta(-3),
    }];
    assert!(c.update_inventory(&delta).await[0].accepted);
    assert_eq!(sim.with_state(|s| s.products()[0].skus[0].count), 47);
    let sent = sim.with_state(|s| s.inventory_received().to_vec());
    assert_eq!(
        sent.last().map(|r| r.count.clone()),
        Some(serde_json::json!("-3"))
    );
}

#[tokio::test]
async fn pacing_spaces_requests() {
    let sim = start_sim(50, 10).await;
    let c = Client::new(sim.client_config(Duration::from_millis(150))).expect("client");
    let started = Instant::now();
    let (orders, _) = c
        .search_orders(&everything())
        .expect("pager")
        .collect_all()
        .await
        .expect("ok");
    assert_eq!(orders.len(), 50);
    // 1 token + 5 pages = 6 requests → at least 5 gaps of 150 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(750),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(c.requests_sent(), 6);
}
