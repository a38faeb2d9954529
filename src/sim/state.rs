//! The simulator's shop: orders, products, issued tokens, received updates, and the logic of
//! every endpoint, independent of HTTP.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::catalog::{self, SimProduct};
use super::faults::{Faults, RateLimiter};
use super::order::{self, Behaviour, OrderSpec, SimItem, SimOrder};
use crate::time::{fmt_fs, now_jst, parse_fs_date, parse_fs_datetime};

/// One set of credentials the simulator accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopCreds {
    pub shop_key: String,
    pub client_id: String,
    pub client_secret: String,
}

/// The credentials of the simulator's default shop (the demo's).
pub const DEMO_SHOP_KEY: &str = "demo-shop";
pub const DEMO_CLIENT_ID: &str = "demo-client";
pub const DEMO_SECRET: &str = "demo-secret";

impl Default for ShopCreds {
    fn default() -> Self {
        ShopCreds {
            shop_key: DEMO_SHOP_KEY.into(),
            client_id: DEMO_CLIENT_ID.into(),
            client_secret: DEMO_SECRET.into(),
        }
    }
}

/// An API-level error answer: status plus futureshop-style `{code, message}` body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
}

struct IssuedToken {
    shop_key: String,
    expires: Instant,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestRecord {
    pub method: String,
    /// Path and query exactly as received.
    pub uri: String,
    pub status: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingReceived {
    pub order_no: String,
    pub shipment_no: i64,
    pub invoice_no: Option<String>,
    pub shipping_date: Option<String>,
    pub expected_arrival: Option<String>,
    /// `None` when accepted, else the result code given back.
    pub code: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryReceived {
    pub product_no: String,
    pub vertical_no: String,
    pub horizontal_no: String,
    pub count: Value,
    pub code: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub page_size: usize,
    pub inventory_page_size: usize,
    pub token_ttl_secs: u64,
    pub max_order_nos: usize,
    pub shops: Vec<ShopCreds>,
    /// New orders per minute created by the live clock (0 = none).
    pub new_orders_per_min: f64,
    /// The URL clients reach the simulator by (behind a proxy): `nextUrl`s start with it.
    /// Without it they follow the request's `Host`.
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(skip)]
    pub behaviour: Behaviour,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            page_size: 100,
            inventory_page_size: 100,
            token_ttl_secs: 3600,
            max_order_nos: 500,
            shops: vec![ShopCreds::default()],
            new_orders_per_min: 0.0,
            public_url: None,
            behaviour: Behaviour::default(),
        }
    }
}

type OrderKey = (NaiveDateTime, String);

pub struct SimState {
    pub settings: Settings,
    /// Scheme + authority of the simulator's own address: `nextUrl`s use it when a request
    /// says nothing usable about how it reached the simulator.
    pub public_base: String,
    /// `http` or `https`.
    pub scheme: &'static str,
    orders: BTreeMap<OrderKey, SimOrder>,
    index: HashMap<String, OrderKey>,
    scheduled: BTreeSet<(NaiveDateTime, String)>,
    products: Vec<SimProduct>,
    next_seq: u64,
    tokens: HashMap<String, IssuedToken>,
    pub faults: Faults,
    limiter: RateLimiter,
    rng: StdRng,
    fault_rng: StdRng,
    /// Decides repeat customers, apart from `rng` so that shops without them stay the same.
    repeat_rng: StdRng,
    last_order: Option<String>,
    requests: Vec<RequestRecord>,
    request_total: u64,
    shipping_received: Vec<ShippingReceived>,
    inventory_received: Vec<InventoryReceived>,
    arrivals: f64,
}

const REQUEST_LOG_CAP: usize = 200_000;

impl SimState {
    /// Seeds a shop with `orders` orders spread over the `days` before `now`.
    pub fn seeded(
        seed: u64,
        orders: usize,
        days: u32,
        now: NaiveDateTime,
        settings: Settings,
    ) -> SimState {
        let mut rng = StdRng::seed_from_u64(seed);
        let products = catalog::generate(&mut rng, now);
        let from = now - chrono::Duration::days(i64::from(days.max(1)));
        let to = now - chrono::Duration::seconds(30);
        let mut times: Vec<NaiveDateTime> = (0..orders)
            .map(|_| order::order_time(&mut rng, from, to))
            .collect();
        times.sort();
        let mut st = SimState {
            settings,
            public_base: String::new(),
            scheme: "http",
            orders: BTreeMap::new(),
            index: HashMap::new(),
            scheduled: BTreeSet::new(),
            products,
            next_seq: 1,
            tokens: HashMap::new(),
            faults: Faults::default(),
            limiter: RateLimiter::default(),
            rng,
            fault_rng: StdRng::seed_from_u64(seed ^ 0x5eed_fa17),
            repeat_rng: StdRng::seed_from_u64(seed ^ 0x0d0b_1e0d),
            last_order: None,
            requests: Vec::new(),
            request_total: 0,
            shipping_received: Vec::new(),
            inventory_received: Vec::new(),
            arrivals: 0.0,
        };
        for t in times {
            st.generate_order(t, now);
        }
        st
    }

    fn generate_order(&mut self, date: NaiveDateTime, now: NaiveDateTime) -> String {
        let seq = self.next_seq;
        self.next_seq += 1;
        let o = order::generate(
            &mut self.rng,
            OrderSpec {
                seq,
                date,
                now,
                catalog: &self.products,
                behaviour: self.settings.behaviour,
            },
        );
        let mut o = o;
        let rate = self.settings.behaviour.repeat_rate;
        if rate > 0.0 && self.repeat_rng.gen_bool(rate.min(1.0)) {
            let prev = self
                .last_order
                .as_deref()
                .and_then(|n| self.order(n))
                .cloned();
            if let Some(prev) = prev
                && prev.status != "CANCELLED"
                && !prev.shipments.iter().any(order::SimShipment::shipped)
            {
                order::repeat_customer(&mut self.repeat_rng, &mut o, &prev);
            }
        }
        let no = self.insert(o);
        self.last_order = Some(no.clone());
        no
    }

    fn insert(&mut self, mut o: SimOrder) -> String {
        // futureshop times have whole seconds; the cursor relies on it.
        o.date = whole_seconds(o.date);
        o.date_last_updated = whole_seconds(o.date_last_updated);
        let no = o.order_no.clone();
        let key = (o.date, no.clone());
        for at in [o.pay_at, o.cancel_at].into_iter().flatten() {
            self.scheduled.insert((at, no.clone()));
        }
        self.index.insert(no.clone(), key.clone());
        self.orders.insert(key, o);
        no
    }

    pub fn order(&self, no: &str) -> Option<&SimOrder> {
        self.index.get(no).and_then(|k| self.orders.get(k))
    }

    fn order_mut(&mut self, no: &str) -> Option<&mut SimOrder> {
        let k = self.index.get(no)?;
        self.orders.get_mut(k)
    }

    pub fn order_count(&self) -> usize {
        self.orders.len()
    }

    pub fn products(&self) -> &[SimProduct] {
        &self.products
    }

    pub fn all_order_nos(&self) -> Vec<String> {
        self.orders.values().map(|o| o.order_no.clone()).collect()
    }

    // ------------------------------------------------------------------------------------
    // The live clock

    /// Advances the shop to `now`: new orders arrive, customers pay, the shop cancels.
    /// `elapsed` is the time since the previous tick (for the arrival rate).
    pub fn tick(&mut self, now: NaiveDateTime, elapsed: Duration) -> usize {
        let mut changed = 0;
        while let Some(first) = self.scheduled.first().cloned() {
            if first.0 > now {
                break;
            }
            self.scheduled.remove(&first);
            if let Some(o) = self.order_mut(&first.1)
                && order::advance(o, now)
            {
                changed += 1;
            }
        }
        self.arrivals += self.settings.new_orders_per_min * elapsed.as_secs_f64() / 60.0;
        while self.arrivals >= 1.0 {
            self.arrivals -= 1.0;
            self.generate_order(now, now);
            changed += 1;
        }
        changed
    }

    /// Adds `count` orders dated now (load tests, demo bursts). Returns their numbers.
    pub fn generate_now(&mut self, count: usize) -> Vec<String> {
        let now = now_jst();
        (0..count).map(|_| self.generate_order(now, now)).collect()
    }

    // ------------------------------------------------------------------------------------
    // Requests bookkeeping and faults

    pub fn record(&mut self, method: &str, uri: &str, status: u16) {
        self.request_total += 1;
        if self.requests.len() >= REQUEST_LOG_CAP {
            self.requests.drain(..REQUEST_LOG_CAP / 2);
        }
        self.requests.push(RequestRecord {
            method: method.to_string(),
            uri: uri.to_string(),
            status,
        });
    }

    pub fn requests(&self) -> &[RequestRecord] {
        &self.requests
    }

    pub fn request_total(&self) -> u64 {
        self.request_total
    }

    pub fn clear_requests(&mut self) {
        self.requests.clear();
    }

    /// Decides whether a request fails before reaching its handler. Returns the error status,
    /// an optional Retry-After, and a message.
    pub fn pre_fault(
        &mut self,
        path: &str,
        shop_key: &str,
    ) -> Option<(u16, Option<u64>, &'static str)> {
        if self.faults.maintenance {
            return Some((503, self.faults.maintenance_retry_after, "Maintenance"));
        }
        if let Some(pos) = self
            .faults
            .fail_next
            .iter()
            .position(|f| f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p)))
        {
            let f = self.faults.fail_next.remove(pos);
            return Some((f.status, f.retry_after, "ScriptedFault"));
        }
        if let Some(rate) = self.faults.rate_limit {
            let burst = self.faults.rate_burst;
            if let Err(wait) = self.limiter.take(shop_key, rate, burst) {
                return Some((429, Some(wait), "TooManyRequests"));
            }
        }
        if self.faults.error_rate > 0.0
            && self
                .fault_rng
                .gen_bool(self.faults.error_rate.clamp(0.0, 1.0))
        {
            let status = [500, 502, 503][self.fault_rng.gen_range(0..3)];
            return Some((status, None, "InternalError"));
        }
        None
    }

    /// True (and consumes one) when the next answer body should be broken.
    pub fn take_malformed(&mut self) -> bool {
        if self.faults.malformed_next > 0 {
            self.faults.malformed_next -= 1;
            true
        } else {
            false
        }
    }

    // ------------------------------------------------------------------------------------
    // Auth

    pub fn issue_token(
        &mut self,
        client_id: &str,
        client_secret: &str,
        shop_key: &str,
        grant_type: &str,
    ) -> Result<Value, ApiError> {
        if grant_type != "client_credentials" {
            return Err(ApiError::bad(
                "unsupported_grant_type",
                "grant_type must be client_credentials",
            ));
        }
        let ok = self.settings.shops.iter().any(|s| {
            s.client_id == client_id && s.client_secret == client_secret && s.shop_key == shop_key
        });
        if !ok {
            return Err(ApiError::new(
                401,
                "invalid_client",
                "client authentication failed",
            ));
        }
        let token: String = (0..40)
            .map(|_| {
                let n = self.fault_rng.gen_range(0..36u32);
                char::from_digit(n, 36).unwrap_or('x')
            })
            .collect();
        let ttl = self.settings.token_ttl_secs;
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                shop_key: shop_key.to_string(),
                expires: Instant::now() + Duration::from_secs(ttl),
            },
        );
        Ok(json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl}))
    }

    pub fn check_bearer(
        &self,
        token: Option<&str>,
        shop_key: Option<&str>,
    ) -> Result<(), ApiError> {
        let unauthorized = |m: &str| ApiError::new(401, "Unauthorized", m);
        let token = token.ok_or_else(|| unauthorized("missing bearer token"))?;
        let shop_key = shop_key.ok_or_else(|| unauthorized("missing X-SHOP-KEY"))?;
        let t = self
            .tokens
            .get(token)
            .ok_or_else(|| unauthorized("unknown access token"))?;
        if t.shop_key != shop_key {
            return Err(unauthorized("access token was issued for another shop"));
        }
        if Instant::now() >= t.expires {
            return Err(unauthorized("access token expired"));
        }
        Ok(())
    }

    /// Every access token issued so far (tests check that none of them leaks).
    pub fn tokens_issued(&self) -> Vec<String> {
        self.tokens.keys().cloned().collect()
    }

    /// Expires every issued token now.
    pub fn expire_tokens(&mut self) -> usize {
        let now = Instant::now();
        for t in self.tokens.values_mut() {
            t.expires = now;
        }
        self.tokens.len()
    }

    /// Where `nextUrl`s of a request that came with this `Host` header point.
    pub fn base_for(&self, host: Option<&str>) -> String {
        if let Some(p) = &self.settings.public_url {
            return p.trim_end_matches('/').to_string();
        }
        // Only a plain host[:port] is echoed back; anything else falls back to our address.
        let plausible = |h: &str| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        };
        match host.filter(|h| plausible(h)) {
            Some(h) => format!("{}://{h}", self.scheme),
            None => self.public_base.clone(),
        }
    }

    // ------------------------------------------------------------------------------------
    // Order search

    /// `GET /admin-api/v1/shipping`, with `nextUrl`s on the simulator's own address.
    pub fn search_orders(&self, params: &[(String, String)]) -> Result<Value, ApiError> {
        self.search_orders_from(params, &self.public_base)
    }

    /// `GET /admin-api/v1/shipping`. `params` are the decoded query pairs; `base` is the scheme
    /// and authority the client reached the simulator by (its `nextUrl`s point there).
    pub fn search_orders_from(
        &self,
        params: &[(String, String)],
        base: &str,
    ) -> Result<Value, ApiError> {
        let get = |k: &str| {
            params
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.as_str())
        };
        let parse_dt = |k: &str| -> Result<Option<NaiveDateTime>, ApiError> {
            match get(k) {
                None | Some("") => Ok(None),
                Some(v) => parse_fs_datetime(v).map(Some).ok_or_else(|| {
                    ApiError::bad(
                        "InvalidDateFormat",
                        format!("{k} must be yyyy-mm-ddThh:mm:ss"),
                    )
                }),
            }
        };
        let start = parse_dt("orderDateStart")?;
        let end = parse_dt("orderDateEnd")?;
        let shipping = match get("shippingStatus") {
            None | Some("") => None,
            Some("notShipped") => Some(false),
            Some("shipped") => Some(true),
            Some(_) => {
                return Err(ApiError::bad(
                    "InvalidParameter",
                    "shippingStatus must be notShipped or shipped",
                ));
            }
        };
        let payment = match get("paymentStatus") {
            None | Some("") => None,
            Some("notReceived") => Some(false),
            Some("received") => Some(true),
            Some(_) => {
                return Err(ApiError::bad(
                    "InvalidParameter",
                    "paymentStatus must be notReceived or received",
                ));
            }
        };
        let order_nos: Option<Vec<&str>> = get("orderNo").filter(|v| !v.is_empty()).map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        });
        if let Some(nos) = &order_nos
            && nos.len() > self.settings.max_order_nos
        {
            return Err(ApiError::bad(
                "TooManyOrderNo",
                format!(
                    "at most {} orderNo values per request",
                    self.settings.max_order_nos
                ),
            ));
        }
        let after: Option<OrderKey> = match get("cursor") {
            None | Some("") => None,
            Some(c) => Some(
                decode_cursor(c)
                    .ok_or_else(|| ApiError::bad("InvalidParameter", "cursor is not valid"))?,
            ),
        };
        let matches = |o: &SimOrder| {
            start.is_none_or(|s| o.date >= s)
                && end.is_none_or(|e| o.date <= e)
                && shipping.is_none_or(|s| o.shipped() == s)
                && payment.is_none_or(|p| o.paid() == p)
        };
        let page_size = self.settings.page_size.max(1);
        let mut page: Vec<&SimOrder> = Vec::with_capacity(page_size + 1);
        match &order_nos {
            Some(nos) => {
                let mut keys: Vec<&OrderKey> =
                    nos.iter().filter_map(|n| self.index.get(*n)).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    if after.as_ref().is_some_and(|a| k <= a) {
                        continue;
                    }
                    if let Some(o) = self.orders.get(k)
                        && matches(o)
                    {
                        page.push(o);
                        if page.len() > page_size {
                            break;
                        }
                    }
                }
            }
            None => {
                use std::ops::Bound;
                let lower = match (&after, start) {
                    (Some(a), _) => Bound::Excluded(a.clone()),
                    (None, Some(s)) => Bound::Included((s, String::new())),
                    (None, None) => Bound::Unbounded,
                };
                for (_, o) in self.orders.range((lower, Bound::Unbounded)) {
                    if end.is_some_and(|e| o.date > e) {
                        break;
                    }
                    if matches(o) {
                        page.push(o);
                        if page.len() > page_size {
                            break;
                        }
                    }
                }
            }
        }
        let has_more = page.len() > page_size;
        page.truncate(page_size);
        let mut body =
            json!({ "orderList": page.iter().map(|o| o.list_json()).collect::<Vec<_>>() });
        if has_more && let Some(last) = page.last() {
            let cursor = encode_cursor(&(last.date, last.order_no.clone()));
            body["nextUrl"] = json!(next_url(base, "/admin-api/v1/shipping", params, &cursor));
        }
        Ok(body)
    }

    pub fn order_detail(&self, no: &str) -> Result<Value, ApiError> {
        self.order(no)
            .map(SimOrder::detail_json)
            .ok_or_else(|| ApiError::new(404, "OrderNotFound", format!("order {no} not found")))
    }

    // ------------------------------------------------------------------------------------
    // 発送API

    pub fn update_shipping(&mut self, body: &Value) -> Result<Value, ApiError> {
        let list = body
            .get("orderList")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::bad("InvalidParameter", "orderList is required"))?;
        if list.len() > 100 {
            return Err(ApiError::bad(
                "InvalidParameter",
                "orderList holds at most 100 orders",
            ));
        }
        // Validate the whole request first: a schema error rejects it entirely.
        for o in list {
            let no_ok = o
                .get("orderNo")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            let shipments = o.get("shipmentList").and_then(Value::as_array);
            if !no_ok || shipments.is_none() {
                return Err(ApiError::bad(
                    "InvalidParameter",
                    "orderNo and shipmentList are required",
                ));
            }
            for s in shipments.into_iter().flatten() {
                let info = s.get("shippingInfo").and_then(Value::as_object);
                let Some(info) = info else {
                    return Err(ApiError::bad(
                        "InvalidParameter",
                        "shippingInfo is required",
                    ));
                };
                if s.get("shipmentNo").and_then(Value::as_i64).is_none() {
                    return Err(ApiError::bad(
                        "InvalidParameter",
                        "shipmentNo must be a number",
                    ));
                }
                match info.get("invoiceNo") {
                    Some(Value::String(s)) if s.len() <= 100 => {}
                    Some(Value::String(_)) => {
                        return Err(ApiError::bad(
                            "InvalidParameter",
                            "invoiceNo is at most 100 bytes",
                        ));
                    }
                    _ => {
                        return Err(ApiError::bad(
                            "InvalidParameter",
                            "invoiceNo key is required",
                        ));
                    }
                }
                for k in ["expectedArrival", "shippingDate"] {
                    if let Some(v) = info.get(k) {
                        let s = v.as_str().unwrap_or("?");
                        if !s.is_empty() && parse_fs_date(s).is_none() {
                            return Err(ApiError::bad(
                                "InvalidDateFormat",
                                format!("{k} must be yyyy-mm-dd"),
                            ));
                        }
                    }
                }
            }
        }
        let now = now_jst();
        let mut results = Vec::new();
        for o in list {
            let no = o["orderNo"].as_str().unwrap_or_default().to_string();
            for s in o["shipmentList"].as_array().into_iter().flatten() {
                let sn = s["shipmentNo"].as_i64().unwrap_or(0);
                let info = &s["shippingInfo"];
                let text = |k: &str| info.get(k).and_then(Value::as_str).map(str::to_string);
                let code = self.apply_shipping(&no, sn, info, now);
                self.shipping_received.push(ShippingReceived {
                    order_no: no.clone(),
                    shipment_no: sn,
                    invoice_no: text("invoiceNo"),
                    shipping_date: text("shippingDate"),
                    expected_arrival: text("expectedArrival"),
                    code: code.map(str::to_string),
                });
                results.push(json!({
                    "orderNo": no, "shipmentNo": sn,
                    "code": code.unwrap_or("Success"),
                    "message": code.map(result_message).unwrap_or(""),
                }));
            }
        }
        Ok(json!({ "results": results }))
    }

    fn apply_shipping(
        &mut self,
        no: &str,
        sn: i64,
        info: &Value,
        now: NaiveDateTime,
    ) -> Option<&'static str> {
        let Some(o) = self.order_mut(no) else {
            return Some("OrderNotFound");
        };
        if o.status == "CANCELLED" {
            return Some("CannotUpdateCancelledOrder");
        }
        let Some(s) = o.shipments.iter_mut().find(|s| s.shipment_no == sn) else {
            return Some("ShipmentNotFound");
        };
        if s.store_pickup {
            return Some("CannotUpdateStorePickup");
        }
        let text = |k: &str| info.get(k).and_then(Value::as_str);
        if let Some(v) = text("invoiceNo") {
            s.invoice_no = v.to_string();
        }
        if let Some(v) = text("expectedArrival") {
            s.expected_arrival = parse_fs_date(v);
        }
        if let Some(v) = text("shippingDate") {
            s.shipping_date = parse_fs_date(v);
        }
        o.date_last_updated = now;
        None
    }

    pub fn shipping_received(&self) -> &[ShippingReceived] {
        &self.shipping_received
    }

    // ------------------------------------------------------------------------------------
    // Inventory

    pub fn search_inventory(&self, params: &[(String, String)]) -> Result<Value, ApiError> {
        self.search_inventory_from(params, &self.public_base)
    }

    /// `GET /admin-api/v1/inventory`, `nextUrl`s on `base` (see [`Self::search_orders_from`]).
    pub fn search_inventory_from(
        &self,
        params: &[(String, String)],
        base: &str,
    ) -> Result<Value, ApiError> {
        let get = |k: &str| {
            params
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.as_str())
        };
        let list = |k: &str| -> Option<Vec<String>> {
            get(k)
                .filter(|v| !v.is_empty())
                .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
        };
        let dt = |k: &str| -> Result<Option<NaiveDateTime>, ApiError> {
            match get(k) {
                None | Some("") => Ok(None),
                Some(v) => parse_fs_datetime(v).map(Some).ok_or_else(|| {
                    ApiError::bad(
                        "InvalidDateFormat",
                        format!("{k} must be yyyy-mm-ddThh:mm:ss"),
                    )
                }),
            }
        };
        let types = list("types").unwrap_or_else(|| vec!["regular".into()]);
        for t in &types {
            if !matches!(t.as_str(), "regular" | "preorder" | "planned" | "realstore") {
                return Err(ApiError::bad(
                    "InvalidParameter",
                    format!("unknown type {t}"),
                ));
            }
        }
        let product_nos = list("productNo");
        let jans = list("janCode");
        let (start, end) = (dt("createDateStart")?, dt("createDateEnd")?);
        let after: i64 = match get("cursor") {
            None | Some("") => i64::MIN,
            Some(c) => c
                .parse()
                .map_err(|_| ApiError::bad("InvalidParameter", "cursor is not valid"))?,
        };
        let size = self.settings.inventory_page_size.max(1);
        let mut page: Vec<&SimProduct> = self
            .products
            .iter()
            .filter(|p| p.id > after)
            .filter(|p| {
                product_nos
                    .as_ref()
                    .is_none_or(|l| l.contains(&p.product_no))
            })
            .filter(|p| {
                jans.as_ref()
                    .is_none_or(|l| p.skus.iter().any(|s| l.contains(&s.jan_code)))
            })
            .filter(|p| {
                start.is_none_or(|s| p.date_created >= s) && end.is_none_or(|e| p.date_created <= e)
            })
            .take(size + 1)
            .collect();
        let has_more = page.len() > size;
        page.truncate(size);
        let products: Vec<Value> = page.iter().map(|p| product_json(p, &types)).collect();
        let mut body = json!({ "productList": products });
        if has_more && let Some(last) = page.last() {
            body["nextUrl"] = json!(next_url(
                base,
                "/admin-api/v1/inventory",
                params,
                &last.id.to_string()
            ));
        }
        Ok(body)
    }

    pub fn update_inventory(&mut self, body: &Value) -> Result<Value, ApiError> {
        let list = body
            .get("productList")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::bad("InvalidParameter", "productList is required"))?;
        if list.len() > 100 {
            return Err(ApiError::bad(
                "InvalidParameter",
                "productList holds at most 100 products",
            ));
        }
        for p in list {
            let no = p.get("productNo").and_then(Value::as_str).unwrap_or("");
            if no.is_empty()
                || no.len() > 32
                || p.get("inventoryInfo").and_then(Value::as_object).is_none()
            {
                return Err(ApiError::bad(
                    "InvalidParameter",
                    "productNo (≤32) and inventoryInfo are required",
                ));
            }
            for e in regular_entries(p) {
                if parse_count(e.get("count")).is_none() {
                    return Err(ApiError::bad(
                        "InvalidParameter",
                        "count must be a number or \"+n\"/\"-n\"",
                    ));
                }
            }
        }
        let mut results = Vec::new();
        for p in list {
            let no = p["productNo"].as_str().unwrap_or_default().to_string();
            let has_other = p["inventoryInfo"].get("preorder").is_some()
                || p["inventoryInfo"].get("plannedList").is_some();
            let product_idx = self.products.iter().position(|x| x.product_no == no);
            for e in regular_entries(p) {
                let v = e
                    .get("verticalNo")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let h = e
                    .get("horizontalNo")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let count = parse_count(e.get("count"));
                let code = match product_idx {
                    None => Some("ProductNotFound"),
                    Some(i) => match self.products[i]
                        .skus
                        .iter_mut()
                        .find(|s| s.vertical_no == v && s.horizontal_no == h)
                    {
                        None => Some("StockNotFound"),
                        Some(sku) => {
                            match count {
                                Some(Count::Set(n)) => sku.count = n,
                                Some(Count::Delta(d)) => sku.count = (sku.count + d).max(0),
                                None => {}
                            }
                            None
                        }
                    },
                };
                self.inventory_received.push(InventoryReceived {
                    product_no: no.clone(),
                    vertical_no: v.clone(),
                    horizontal_no: h.clone(),
                    count: e.get("count").cloned().unwrap_or(Value::Null),
                    code: code.map(str::to_string),
                });
                results.push(json!({
                    "productNo": no, "verticalNo": v, "horizontalNo": h,
                    "code": code.unwrap_or("Success"), "message": code.map(result_message).unwrap_or(""),
                }));
            }
            if has_other && product_idx.is_some_and(|i| !self.products[i].preorder_enabled) {
                results.push(json!({"productNo": no, "verticalNo": "", "horizontalNo": "", "code": "StockNotFound",
                    "message": result_message("StockNotFound")}));
            }
        }
        Ok(json!({ "results": results }))
    }

    pub fn inventory_received(&self) -> &[InventoryReceived] {
        &self.inventory_received
    }

    // ------------------------------------------------------------------------------------
    // The shop's own actions (control API)

    pub fn mark_paid(&mut self, no: &str) -> Result<Value, ApiError> {
        let now = now_jst();
        let o = self.order_mut(no).ok_or_else(|| not_found(no))?;
        o.receipt_date = Some(now.date());
        o.pay_at = None;
        o.date_last_updated = now;
        Ok(o.detail_json())
    }

    pub fn cancel(&mut self, no: &str) -> Result<Value, ApiError> {
        let now = now_jst();
        let o = self.order_mut(no).ok_or_else(|| not_found(no))?;
        o.status = "CANCELLED".into();
        o.pay_at = None;
        o.cancel_at = None;
        o.date_last_updated = now;
        Ok(o.detail_json())
    }

    pub fn set_status(&mut self, no: &str, status: &str) -> Result<Value, ApiError> {
        let now = now_jst();
        let o = self.order_mut(no).ok_or_else(|| not_found(no))?;
        o.status = status.to_string();
        if status == "COMPLETED" {
            o.date_processed = Some(now);
        }
        o.date_last_updated = now;
        Ok(o.detail_json())
    }

    /// The shop ships a shipment in its admin screen (not through the API): `shipment` None
    /// ships them all. Returns the order in the detail shape.
    pub fn ship_in_admin(
        &mut self,
        no: &str,
        shipment: Option<i64>,
        invoice_no: Option<String>,
    ) -> Result<Value, ApiError> {
        let now = now_jst();
        let o = self
            .order_mut(no)
            .ok_or_else(|| ApiError::new(404, "OrderNotFound", format!("order {no} not found")))?;
        for s in &mut o.shipments {
            if shipment.is_none_or(|n| n == s.shipment_no) && s.shipping_date.is_none() {
                s.shipping_date = Some(now.date());
                s.invoice_no = invoice_no
                    .clone()
                    .unwrap_or_else(|| format!("9{:011}", s.shipment_no));
            }
        }
        o.date_last_updated = now;
        self.order_detail(no)
    }

    pub fn create_order(&mut self, req: NewOrder) -> Result<Value, ApiError> {
        let now = now_jst();
        let date = match &req.date {
            Some(d) => parse_fs_datetime(d).ok_or_else(|| {
                ApiError::bad("InvalidDateFormat", "date must be yyyy-mm-ddThh:mm:ss")
            })?,
            None => now,
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut o = order::generate(
            &mut self.rng,
            OrderSpec {
                seq,
                date,
                now: date,
                catalog: &self.products,
                behaviour: Behaviour {
                    unknown_sku_rate: 0.0,
                    store_pickup_rate: 0.0,
                    cancel_rate: 0.0,
                    ..self.settings.behaviour
                },
            },
        );
        o.pay_at = None;
        o.cancel_at = None;
        if let Some(prev) = req.repeat_of.as_deref() {
            let prev = self
                .order(prev)
                .cloned()
                .ok_or_else(|| ApiError::bad("NotFound", "repeat_of: no such order"))?;
            if !order::repeat_customer(&mut self.repeat_rng, &mut o, &prev) {
                return Err(ApiError::bad(
                    "InvalidRepeat",
                    "repeat_of: that order is not one parcel to an address",
                ));
            }
        }
        if let Some(pt) = req.payment_type {
            o.payment_charge = if pt == "COD" { 330 } else { 0 };
            o.payment_type = pt;
        }
        o.receipt_date = match req.paid {
            Some(true) => Some(date.date()),
            Some(false) => None,
            None => o.receipt_date,
        };
        if req.cancelled {
            o.status = "CANCELLED".into();
        }
        if let Some(status) = req.status {
            o.status = status;
        }
        if !req.skus.is_empty() {
            let items: Vec<SimItem> = req
                .skus
                .iter()
                .map(|sku| {
                    let found = self
                        .products
                        .iter()
                        .find_map(|p| p.skus.iter().find(|s| s.sku_no == *sku).map(|s| (p, s)));
                    match found {
                        Some((p, s)) => SimItem {
                            product_no: p.product_no.clone(),
                            sku_no: s.sku_no.clone(),
                            jan_code: s.jan_code.clone(),
                            name: p.name.clone(),
                            vertical_name: s.vertical_name.clone(),
                            horizontal_name: s.horizontal_name.clone(),
                            price: p.unit_price,
                            count: 1,
                            preorder: false,
                            options: Vec::new(),
                        },
                        None => SimItem {
                            product_no: String::new(),
                            sku_no: sku.clone(),
                            jan_code: String::new(),
                            name: format!("未登録商品 {sku}"),
                            vertical_name: String::new(),
                            horizontal_name: String::new(),
                            price: 1000,
                            count: 1,
                            preorder: false,
                            options: Vec::new(),
                        },
                    }
                })
                .collect();
            if let Some(s) = o.shipments.first_mut() {
                s.items = items;
            }
            o.shipments.truncate(1);
        }
        if let Some(n) = req.shipments
            && n > o.shipments.len()
        {
            while o.shipments.len() < n {
                let mut extra = o.shipments[0].clone();
                extra.shipment_no = o.shipments.len() as i64 + 1;
                o.shipments.push(extra);
            }
        }
        if req.store_pickup {
            for s in &mut o.shipments {
                s.store_pickup = true;
                s.delivery_service_name = "店舗受取".into();
                s.postage = 0;
            }
        }
        if let Some(name) = req.last_name {
            o.buyer.last_name = name.clone();
            for s in &mut o.shipments {
                s.address.last_name = name.clone();
            }
        }
        if let Some(name) = req.first_name {
            o.buyer.first_name = name.clone();
            for s in &mut o.shipments {
                s.address.first_name = name.clone();
            }
        }
        if let Some(c) = req.communication {
            o.communication = c;
        }
        if let Some(t) = req.instructions {
            for s in &mut o.shipments {
                s.instructions = t.clone();
            }
        }
        if let Some(g) = req.gift_label {
            for s in &mut o.shipments {
                s.gift_label = g.clone();
                s.gift_charge = if g.is_empty() { 0 } else { 220 };
            }
        }
        if let Some(d) = req.delivery_service_name {
            for s in &mut o.shipments {
                s.delivery_service_name = d.clone();
            }
        }
        if let Some(t) = req.preferred_delivery_time {
            for s in &mut o.shipments {
                s.preferred_delivery_time = t.clone();
            }
        }
        if let Some(c) = req.cool {
            for s in &mut o.shipments {
                s.cool = c;
            }
        }
        if let Some(p) = req.postal_code {
            o.buyer.postal_code = p.clone();
            for s in &mut o.shipments {
                s.address.postal_code = p.clone();
            }
        }
        for no in &req.shipped_shipments {
            if let Some(s) = o.shipments.iter_mut().find(|s| s.shipment_no == *no) {
                s.shipping_date = Some(now.date());
                s.invoice_no = format!("4{:011}", o.order_no.len() as i64 * 1000 + no);
            }
        }
        o.extra = req.extra;
        o.date_last_updated = now;
        let no = self.insert(o);
        self.order_detail(&no)
    }
}

/// What a test or script may ask the shop to create. Everything else is generated.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewOrder {
    pub payment_type: Option<String>,
    pub paid: Option<bool>,
    pub cancelled: bool,
    pub status: Option<String>,
    /// SKUs of the first shipment, one unit each. Unknown SKUs are allowed (that is the point).
    pub skus: Vec<String>,
    pub shipments: Option<usize>,
    pub store_pickup: bool,
    /// `yyyy-mm-ddThh:mm:ss` (default now).
    pub date: Option<String>,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub communication: Option<String>,
    /// 配送指示 on every shipment.
    pub instructions: Option<String>,
    /// のし・ラッピング on every shipment.
    pub gift_label: Option<String>,
    /// Buyer's and recipients' postal code, as futureshop would write it.
    pub postal_code: Option<String>,
    /// Shipments already shipped in the shop's admin screen.
    pub shipped_shipments: Vec<i64>,
    /// 配送方法 (deliveryServiceName) of every shipment.
    pub delivery_service_name: Option<String>,
    /// お届け希望時間帯 (preferredDeliveryTime) of every shipment, as the customer chose it.
    pub preferred_delivery_time: Option<String>,
    /// Every shipment cool (isCoolDelivery).
    pub cool: Option<bool>,
    /// The customer of this order orders again: same buyer, recipient (address written
    /// another way), payment type and delivery wishes.
    pub repeat_of: Option<String>,
    /// Extra or overriding fields (dotted paths reach nested ones), served as given.
    pub extra: serde_json::Map<String, Value>,
}

enum Count {
    Set(i64),
    Delta(i64),
}

fn parse_count(v: Option<&Value>) -> Option<Count> {
    match v? {
        Value::Number(n) => n.as_i64().map(Count::Set),
        Value::String(s) => {
            let s = s.trim();
            if s.len() > 10 {
                return None;
            }
            if let Some(d) = s.strip_prefix('+') {
                d.parse().ok().map(Count::Delta)
            } else if s.starts_with('-') {
                s.parse().ok().map(Count::Delta)
            } else {
                s.parse().ok().map(Count::Set)
            }
        }
        _ => None,
    }
}

fn regular_entries(p: &Value) -> Vec<&Value> {
    p.get("inventoryInfo")
        .and_then(|i| i.get("regular"))
        .and_then(|r| r.get("inventoryList"))
        .and_then(Value::as_array)
        .map(|l| l.iter().collect())
        .unwrap_or_default()
}

fn product_json(p: &SimProduct, types: &[String]) -> Value {
    let entries = |pre: bool| -> Vec<Value> {
        p.skus
            .iter()
            .filter(|s| !pre || s.preorder_count.is_some())
            .map(|s| json!({
                "skuNo": s.sku_no, "verticalNo": s.vertical_no, "horizontalNo": s.horizontal_no,
                "janCode": s.jan_code, "count": if pre { s.preorder_count.unwrap_or(0) } else { s.count },
            }))
            .collect()
    };
    let mut info = serde_json::Map::new();
    if types.iter().any(|t| t == "regular") {
        info.insert("regular".into(), json!({"inventoryList": entries(false)}));
    }
    if types.iter().any(|t| t == "preorder") && p.preorder_enabled {
        info.insert("preorder".into(), json!({"inventoryList": entries(true)}));
    }
    json!({
        "id": p.id, "url": format!("https://shop.example.jp/c/{}", p.product_no),
        "productNo": p.product_no, "name": p.name, "visible": true, "unitPrice": p.unit_price,
        "taxEnabled": true, "taxRate": 10, "coolDeliveryEnabled": p.cool,
        "mailDeliveryEnabled": false, "inventoryEnabled": true,
        "variationEnabled": p.skus.len() > 1, "preorderEnabled": p.preorder_enabled,
        "plannedStockEnabled": false, "type": "REGULAR", "dateCreated": fmt_fs(p.date_created),
        "inventoryInfo": info,
    })
}

fn result_message(code: &str) -> &'static str {
    match code {
        "CannotUpdateStorePickup" => "店舗受取の配送先は更新できません",
        "CannotUpdateCancelledOrder" => "キャンセルされた受注は更新できません",
        "OrderNotFound" => "受注が見つかりません",
        "ShipmentNotFound" => "配送先が見つかりません",
        "ProductNotFound" => "商品が見つかりません",
        "StockNotFound" => "在庫が見つかりません",
        _ => "",
    }
}

fn whole_seconds(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::Timelike;
    t.with_nanosecond(0).unwrap_or(t)
}

fn not_found(no: &str) -> ApiError {
    ApiError::new(404, "OrderNotFound", format!("order {no} not found"))
}

fn encode_cursor(k: &OrderKey) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{}", fmt_fs(k.0), k.1))
}

fn decode_cursor(c: &str) -> Option<OrderKey> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (d, no) = s.split_once('|')?;
    Some((parse_fs_datetime(d)?, no.to_string()))
}

/// An absolute `nextUrl`: every search parameter of this request, and the cursor.
fn next_url(base: &str, path: &str, params: &[(String, String)], cursor: &str) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.iter().filter(|(k, _)| k != "cursor") {
        ser.append_pair(k, v);
    }
    ser.append_pair("cursor", cursor);
    format!("{}{}?{}", base.trim_end_matches('/'), path, ser.finish())
}
