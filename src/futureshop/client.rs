//! The futureshop admin API client: token cache, pacing, retries, paging and batch updates.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use url::Url;

use super::config::FsConfig;
use super::error::{FsError, describe_body, excerpt};
use super::models::{InventoryUpdate, ItemResult, Order, Product, ShippingUpdate, StockCount};
use crate::secret::Secret;
use crate::time::fmt_fs;

pub const TOKEN_PATH: &str = "/oauth/token";
pub const SHIPPING_SEARCH_PATH: &str = "/admin-api/v1/shipping";
pub const SHIPPING_STATUS_PATH: &str = "/admin-api/v1/shipping/status";
pub const ORDERS_PATH: &str = "/admin-api/v1/orders";
pub const INVENTORY_PATH: &str = "/admin-api/v1/inventory";
/// futureshop's documented maximum for batch updates.
pub const BATCH_LIMIT: usize = 100;

/// A client for one shop. Cheap to clone: clones share the token cache, the pacing clock and
/// the request counter, so all work for one shop is paced together.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: FsConfig,
    http: reqwest::Client,
    token: Mutex<Option<CachedToken>>,
    last_request: Mutex<Option<Instant>>,
    requests: AtomicU64,
}

struct CachedToken {
    value: Secret,
    renew_at: Instant,
    lifetime: Duration,
}

/// The result of a successful token request (the token itself is not exposed).
#[derive(Clone, Debug)]
pub struct TokenInfo {
    pub token_type: String,
    pub expires_in: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("cfg", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

/// Filters of the order search (受注検索API). All optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderQuery {
    pub order_date_start: Option<NaiveDateTime>,
    pub order_date_end: Option<NaiveDateTime>,
    pub shipping_status: Option<ShippingFilter>,
    pub payment_status: Option<PaymentFilter>,
    pub order_nos: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShippingFilter {
    NotShipped,
    Shipped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentFilter {
    NotReceived,
    Received,
}

/// One page of a list endpoint. Items that could not be understood are returned apart, with
/// their raw JSON, so the caller can keep them (取込エラー) instead of losing them.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub unreadable: Vec<Unreadable>,
    /// The URL this page was fetched from.
    pub url: Url,
    pub has_more: bool,
}

#[derive(Clone, Debug)]
pub struct Unreadable {
    pub raw: Value,
    pub reason: String,
}

/// Follows `nextUrl` links of a list endpoint, one page per call.
pub struct Pager<T> {
    client: Client,
    endpoint: &'static str,
    list_key: &'static str,
    parse: fn(&RawValue) -> Result<T, String>,
    starts: VecDeque<Url>,
    next: Option<Url>,
    seen: HashSet<String>,
    pages: usize,
}

impl<T> Pager<T> {
    /// The next page, or `None` when every page has been read.
    pub async fn next_page(&mut self) -> Result<Option<Page<T>>, FsError> {
        let url = match self.next.take() {
            Some(u) => u,
            None => match self.starts.pop_front() {
                Some(u) => u,
                None => return Ok(None),
            },
        };
        if !self.seen.insert(url.as_str().to_string()) {
            return Err(FsError::Malformed {
                endpoint: self.endpoint.to_string(),
                detail: format!(
                    "nextUrl repeats a page already read ({url}); stopping to avoid a loop"
                ),
            });
        }
        let body = self
            .client
            .send_text(Method::GET, url.clone(), None)
            .await?;
        let malformed = |detail: String| FsError::Malformed {
            endpoint: self.endpoint.to_string(),
            detail,
        };
        // The page's fields stay as text; each element is parsed from its own text, and that
        // text is what gets stored.
        let map: HashMap<String, Box<RawValue>> = serde_json::from_str(&body).map_err(|e| {
            malformed(format!(
                "expected a JSON object ({e}); the answer starts with: {}",
                excerpt(&body)
            ))
        })?;
        let list: Vec<&RawValue> = match map.get(self.list_key).map(|r| r.get().trim()) {
            None | Some("null") | Some("\"\"") => Vec::new(),
            Some(text) => serde_json::from_str(text)
                .map_err(|_| malformed(format!("`{}` is not a list", self.list_key)))?,
        };
        let next = match map
            .get("nextUrl")
            .map(|r| serde_json::from_str::<Value>(r.get()))
        {
            None | Some(Ok(Value::Null)) => None,
            Some(Ok(Value::String(s))) if s.trim().is_empty() => None,
            Some(Ok(Value::String(s))) => Some(self.client.resolve_next(self.endpoint, &s)?),
            Some(_) => return Err(malformed("`nextUrl` is not a string".into())),
        };
        let mut items = Vec::with_capacity(list.len());
        let mut unreadable = Vec::new();
        for raw in list {
            match (self.parse)(raw) {
                Ok(item) => items.push(item),
                Err(reason) => unreadable.push(Unreadable {
                    raw: serde_json::from_str(raw.get()).unwrap_or(Value::Null),
                    reason,
                }),
            }
        }
        self.next = next;
        self.pages += 1;
        Ok(Some(Page {
            items,
            unreadable,
            url,
            has_more: self.next.is_some() || !self.starts.is_empty(),
        }))
    }

    pub fn pages_read(&self) -> usize {
        self.pages
    }

    /// Reads every remaining page.
    pub async fn collect_all(mut self) -> Result<(Vec<T>, Vec<Unreadable>), FsError> {
        let mut items = Vec::new();
        let mut bad = Vec::new();
        while let Some(page) = self.next_page().await? {
            items.extend(page.items);
            bad.extend(page.unreadable);
        }
        Ok((items, bad))
    }
}

impl Client {
    pub fn new(cfg: FsConfig) -> Result<Client, FsError> {
        let bad = |detail: String| FsError::BadRequest {
            endpoint: "client".into(),
            detail,
        };
        let mut builder = reqwest::Client::builder()
            .timeout(cfg.options.timeout)
            .connect_timeout(cfg.options.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("shukka/", env!("CARGO_PKG_VERSION")));
        for pem in &cfg.options.extra_roots {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| bad(format!("a trusted certificate is not PEM: {e}")))?;
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let http = builder.build().map_err(|e| bad(e.to_string()))?;
        Ok(Client {
            inner: Arc::new(Inner {
                cfg,
                http,
                token: Mutex::new(None),
                last_request: Mutex::new(None),
                requests: AtomicU64::new(0),
            }),
        })
    }

    pub fn config(&self) -> &FsConfig {
        &self.inner.cfg
    }

    /// HTTP requests sent so far (token requests and retries included).
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// Requests a fresh token (a connection test). The token is cached for later calls.
    pub async fn test_connection(&self) -> Result<TokenInfo, FsError> {
        let mut slot = self.inner.token.lock().await;
        *slot = None;
        let (token, info) = self.request_token().await?;
        *slot = Some(token);
        Ok(info)
    }

    /// Forgets the cached token (the next call fetches a new one).
    pub async fn forget_token(&self) {
        *self.inner.token.lock().await = None;
    }

    // ----------------------------------------------------------------------------------------
    // Endpoints

    /// 受注検索API: every order matching `query`, page by page. An `orderNo` list is split into
    /// chunks of `order_no_chunk`, each paged on its own.
    pub fn search_orders(&self, query: &OrderQuery) -> Result<Pager<Order>, FsError> {
        let mut base: Vec<(&str, String)> = Vec::new();
        if let Some(t) = query.order_date_start {
            base.push(("orderDateStart", fmt_fs(t)));
        }
        if let Some(t) = query.order_date_end {
            base.push(("orderDateEnd", fmt_fs(t)));
        }
        if let Some(s) = query.shipping_status {
            base.push((
                "shippingStatus",
                match s {
                    ShippingFilter::NotShipped => "notShipped",
                    ShippingFilter::Shipped => "shipped",
                }
                .into(),
            ));
        }
        if let Some(p) = query.payment_status {
            base.push((
                "paymentStatus",
                match p {
                    PaymentFilter::NotReceived => "notReceived",
                    PaymentFilter::Received => "received",
                }
                .into(),
            ));
        }
        let mut starts = VecDeque::new();
        if query.order_nos.is_empty() {
            starts.push_back(self.url_with_query(SHIPPING_SEARCH_PATH, &base, None)?);
        } else {
            let chunk = self.inner.cfg.options.order_no_chunk.max(1);
            for nos in query.order_nos.chunks(chunk) {
                starts.push_back(self.url_with_query(SHIPPING_SEARCH_PATH, &base, Some(nos))?);
            }
        }
        Ok(self.pager(
            SHIPPING_SEARCH_PATH,
            "orderList",
            Order::from_list_text,
            starts,
        ))
    }

    /// 受注取得API: one order in the detail shape.
    pub async fn get_order(&self, order_no: &str) -> Result<Order, FsError> {
        let endpoint = format!("{ORDERS_PATH}/{{orderNo}}");
        let mut url = self.url(ORDERS_PATH)?;
        url.path_segments_mut()
            .map_err(|_| FsError::BadRequest {
                endpoint: endpoint.clone(),
                detail: "base URL cannot carry a path".into(),
            })?
            .pop_if_empty()
            .push(order_no);
        match self.send_text(Method::GET, url, None).await {
            Ok(text) => {
                let raw: Box<RawValue> =
                    serde_json::from_str(&text).map_err(|e| FsError::Malformed {
                        endpoint: endpoint.clone(),
                        detail: format!("{e}; the answer starts with: {}", excerpt(&text)),
                    })?;
                Order::from_detail_text(&raw)
                    .map_err(|detail| FsError::Malformed { endpoint, detail })
            }
            Err(FsError::Rejected { status: 404, .. }) => {
                Err(FsError::OrderNotFound(order_no.to_string()))
            }
            Err(e) => Err(e),
        }
    }

    /// 在庫検索API: every product (regular stock), page by page.
    pub fn search_inventory(&self, product_nos: &[String]) -> Result<Pager<Product>, FsError> {
        let mut params = vec![("types", "regular".to_string())];
        if !product_nos.is_empty() {
            params.push(("productNo", product_nos.join(",")));
        }
        let url = self.url_with_query(INVENTORY_PATH, &params, None)?;
        Ok(self.pager(
            INVENTORY_PATH,
            "productList",
            Product::from_text,
            VecDeque::from([url]),
        ))
    }

    /// 発送API: tracking numbers and ship dates, ≤100 orders per request. Returns one result per
    /// update, in the given order. A chunk that could not be sent at all marks its items failed
    /// with the error, and the other chunks are still sent.
    pub async fn update_shipping(&self, updates: &[ShippingUpdate]) -> Vec<ItemResult> {
        // Group shipments by order: the API takes one element per order.
        let mut by_order: BTreeMap<&str, Vec<&ShippingUpdate>> = BTreeMap::new();
        let mut order_seq: Vec<&str> = Vec::new();
        for u in updates {
            let e = by_order.entry(u.order_no.as_str()).or_default();
            if e.is_empty() {
                order_seq.push(u.order_no.as_str());
            }
            e.push(u);
        }
        let mut outcome: BTreeMap<String, ItemResult> = BTreeMap::new();
        for chunk in order_seq.chunks(BATCH_LIMIT) {
            let order_list: Vec<Value> = chunk
                .iter()
                .map(|no| {
                    let shipments: Vec<Value> = by_order[no]
                        .iter()
                        .map(|u| {
                            let mut info = serde_json::Map::new();
                            info.insert("invoiceNo".into(), json!(u.invoice_no));
                            if let Some(d) = u.expected_arrival {
                                info.insert("expectedArrival".into(), json!(d.to_string()));
                            }
                            if let Some(d) = u.shipping_date {
                                info.insert("shippingDate".into(), json!(d.to_string()));
                            }
                            json!({"shipmentNo": u.shipment_no, "shippingInfo": info})
                        })
                        .collect();
                    json!({"orderNo": no, "shipmentList": shipments})
                })
                .collect();
            let keys: Vec<String> = chunk
                .iter()
                .flat_map(|no| by_order[no].iter().map(|u| shipping_key(u)))
                .collect();
            let body = json!({ "orderList": order_list });
            let sent = match self.url(SHIPPING_STATUS_PATH) {
                Ok(url) => self.send_json(Method::POST, url, Some(body)).await,
                Err(e) => Err(e),
            };
            let result_key = |r: &Value| {
                let no = r.get("orderNo").and_then(value_as_text).unwrap_or_default();
                let sn = r
                    .get("shipmentNo")
                    .and_then(value_as_text)
                    .unwrap_or_default();
                format!("{no}/{sn}")
            };
            record_batch(&mut outcome, keys, sent, result_key);
        }
        updates
            .iter()
            .map(|u| {
                let key = shipping_key(u);
                outcome.get(&key).cloned().unwrap_or_else(|| ItemResult {
                    key,
                    accepted: false,
                    answered: false,
                    code: None,
                    message: Some("not sent".into()),
                })
            })
            .collect()
    }

    /// 在庫更新API: stock counts, ≤100 products per request. One result per update.
    pub async fn update_inventory(&self, updates: &[InventoryUpdate]) -> Vec<ItemResult> {
        let mut by_product: BTreeMap<&str, Vec<&InventoryUpdate>> = BTreeMap::new();
        let mut seq: Vec<&str> = Vec::new();
        for u in updates {
            let e = by_product.entry(u.product_no.as_str()).or_default();
            if e.is_empty() {
                seq.push(u.product_no.as_str());
            }
            e.push(u);
        }
        let mut outcome: BTreeMap<String, ItemResult> = BTreeMap::new();
        for chunk in seq.chunks(BATCH_LIMIT) {
            let product_list: Vec<Value> = chunk
                .iter()
                .map(|no| {
                    let list: Vec<Value> = by_product[no]
                        .iter()
                        .map(|u| {
                            let count = match u.count {
                                StockCount::Set(n) => json!(n),
                                StockCount::Delta(n) if n >= 0 => json!(format!("+{n}")),
                                StockCount::Delta(n) => json!(format!("{n}")),
                            };
                            json!({"verticalNo": u.vertical_no, "horizontalNo": u.horizontal_no, "count": count})
                        })
                        .collect();
                    json!({"productNo": no, "inventoryInfo": {"regular": {"inventoryList": list}}})
                })
                .collect();
            let keys: Vec<String> = chunk
                .iter()
                .flat_map(|no| by_product[no].iter().map(|u| inventory_key(u)))
                .collect();
            let sent = match self.url(INVENTORY_PATH) {
                Ok(url) => {
                    self.send_json(
                        Method::POST,
                        url,
                        Some(json!({"productList": product_list})),
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            let result_key = |r: &Value| {
                let get = |k: &str| r.get(k).and_then(value_as_text).unwrap_or_default();
                format!(
                    "{}/{}/{}",
                    get("productNo"),
                    get("verticalNo"),
                    get("horizontalNo")
                )
            };
            record_batch(&mut outcome, keys, sent, result_key);
        }
        updates
            .iter()
            .map(|u| {
                let key = inventory_key(u);
                outcome.get(&key).cloned().unwrap_or_else(|| ItemResult {
                    key,
                    accepted: false,
                    answered: false,
                    code: None,
                    message: Some("not sent".into()),
                })
            })
            .collect()
    }

    // ----------------------------------------------------------------------------------------
    // Plumbing

    fn pager<T>(
        &self,
        endpoint: &'static str,
        list_key: &'static str,
        parse: fn(&RawValue) -> Result<T, String>,
        starts: VecDeque<Url>,
    ) -> Pager<T> {
        Pager {
            client: self.clone(),
            endpoint,
            list_key,
            parse,
            starts,
            next: None,
            seen: HashSet::new(),
            pages: 0,
        }
    }

    fn url(&self, path: &str) -> Result<Url, FsError> {
        self.inner
            .cfg
            .base_url
            .join(path)
            .map_err(|e| FsError::BadRequest {
                endpoint: path.to_string(),
                detail: e.to_string(),
            })
    }

    fn url_with_query(
        &self,
        path: &'static str,
        params: &[(&str, String)],
        order_nos: Option<&[String]>,
    ) -> Result<Url, FsError> {
        let mut url = self.url(path)?;
        let mut q: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        if let Some(nos) = order_nos {
            // Elements encoded, commas raw — as the working Ruby client sends them.
            let list: Vec<String> = nos.iter().map(|n| encode(n)).collect();
            q.push(format!("orderNo={}", list.join(",")));
        }
        if !q.is_empty() {
            url.set_query(Some(&q.join("&")));
        }
        Ok(url)
    }

    /// `nextUrl` as given; a relative one is resolved against the base. A link to another
    /// host is refused: following it would send our token there.
    fn resolve_next(&self, endpoint: &str, next: &str) -> Result<Url, FsError> {
        let base = &self.inner.cfg.base_url;
        let url =
            Url::parse(next)
                .or_else(|_| base.join(next))
                .map_err(|e| FsError::Malformed {
                    endpoint: endpoint.to_string(),
                    detail: format!("nextUrl is not a URL ({e}): {}", excerpt(next)),
                })?;
        if url.origin() != base.origin() {
            return Err(FsError::Malformed {
                endpoint: endpoint.to_string(),
                detail: format!(
                    "nextUrl points to another host ({}); refusing to send credentials there",
                    url.origin().ascii_serialization()
                ),
            });
        }
        Ok(url)
    }

    async fn pace(&self) {
        let pacing = self.inner.cfg.options.pacing;
        let mut last = self.inner.last_request.lock().await;
        if let Some(prev) = *last {
            let due = prev + pacing;
            let now = Instant::now();
            if due > now {
                tokio::time::sleep(due - now).await;
            }
        }
        *last = Some(Instant::now());
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let o = &self.inner.cfg.options;
        let exp = o.backoff_base.saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1).min(20))
                .unwrap_or(u32::MAX),
        );
        let capped = exp.min(o.backoff_max);
        // Jitter between 50 % and 100 % of the delay, so that clients do not retry in step.
        let factor: f64 = rand::thread_rng().gen_range(0.5..=1.0);
        capped.mul_f64(factor)
    }

    async fn bearer(&self) -> Result<Secret, FsError> {
        let mut slot = self.inner.token.lock().await;
        if let Some(t) = slot.as_ref()
            && Instant::now() < t.renew_at
        {
            return Ok(t.value.clone());
        }
        let (token, _) = self.request_token().await?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    /// Drops the cached token if it is still `used` (another task may have renewed it).
    async fn invalidate(&self, used: &Secret) {
        let mut slot = self.inner.token.lock().await;
        if slot.as_ref().is_some_and(|t| &t.value == used) {
            *slot = None;
        }
    }

    async fn request_token(&self) -> Result<(CachedToken, TokenInfo), FsError> {
        let endpoint = format!("POST {TOKEN_PATH}");
        let url = self.url(TOKEN_PATH)?;
        let creds = &self.inner.cfg.credentials;
        let max = self.inner.cfg.options.max_attempts.max(1);
        let mut last = String::new();
        for attempt in 1..=max {
            self.pace().await;
            let started = Instant::now();
            let res = self
                .inner
                .http
                .post(url.clone())
                .basic_auth(&creds.client_id, Some(creds.client_secret.expose()))
                .header("X-SHOP-KEY", &creds.shop_key)
                .header("Accept", "application/json")
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await;
            let retry_after = match res {
                Err(e) => {
                    last = transport_error(&e);
                    None
                }
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = retry_after(&resp);
                    let body = resp.text().await.unwrap_or_default();
                    if status.is_success() {
                        let info = parse_token(&body).map_err(|detail| FsError::Malformed {
                            endpoint: endpoint.clone(),
                            detail,
                        })?;
                        let (value, token_type, lifetime) = info;
                        let margin = self.inner.cfg.options.token_margin.min(lifetime / 2);
                        let token = CachedToken {
                            value,
                            renew_at: started + lifetime.saturating_sub(margin),
                            lifetime,
                        };
                        tracing::debug!(lifetime_s = lifetime.as_secs(), "token acquired");
                        let lifetime = token.lifetime;
                        return Ok((
                            token,
                            TokenInfo {
                                token_type,
                                expires_in: lifetime,
                            },
                        ));
                    }
                    if !retryable(status) {
                        let (_, detail) = describe_body(&body);
                        return Err(FsError::TokenRefused {
                            status: status.as_u16(),
                            detail,
                        });
                    }
                    let (_, detail) = describe_body(&body);
                    last = format!("HTTP {}{detail}", status.as_u16());
                    retry_after
                }
            };
            if attempt < max {
                self.wait_before_retry(&endpoint, attempt, retry_after, &mut last)
                    .await?;
            }
        }
        Err(FsError::RetriesExhausted {
            endpoint,
            attempts: max,
            last,
        })
    }

    async fn wait_before_retry(
        &self,
        endpoint: &str,
        attempt: u32,
        retry_after: Option<Duration>,
        last: &mut String,
    ) -> Result<(), FsError> {
        let max_wait = self.inner.cfg.options.backoff_max;
        let wait = match retry_after {
            Some(ra) if ra > max_wait => {
                return Err(FsError::RetriesExhausted {
                    endpoint: endpoint.to_string(),
                    attempts: attempt,
                    last: format!(
                        "{last}; futureshop asks to wait {} s (longer than the {} s this client waits; maintenance?)",
                        ra.as_secs(),
                        max_wait.as_secs()
                    ),
                });
            }
            // Honour Retry-After, with a little jitter on top.
            Some(ra) => ra + ra.mul_f64(rand::thread_rng().gen_range(0.0..0.1)),
            None => self.backoff(attempt),
        };
        tracing::info!(endpoint, attempt, wait_ms = wait.as_millis() as u64, reason = %last, "retrying");
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Sends one API call and parses the JSON answer.
    async fn send_json(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<Value, FsError> {
        let endpoint = format!("{method} {}", url.path());
        let text = self.send_text(method, url, body).await?;
        let text = if text.trim().is_empty() {
            "{}"
        } else {
            text.as_str()
        };
        serde_json::from_str(text).map_err(|e| FsError::Malformed {
            endpoint,
            detail: format!("{e}; the answer starts with: {}", excerpt(text)),
        })
    }

    /// Sends one API call with pacing, retries and one re-authentication on 401. Returns the
    /// body of a successful answer, checked to be well-formed JSON.
    async fn send_text(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<String, FsError> {
        let endpoint = format!("{method} {}", url.path());
        let max = self.inner.cfg.options.max_attempts.max(1);
        let mut reauthenticated = false;
        let mut last = String::new();
        let mut attempt = 0;
        while attempt < max {
            attempt += 1;
            let token = self.bearer().await?;
            self.pace().await;
            let mut req = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose())
                .header("X-SHOP-KEY", &self.inner.cfg.credentials.shop_key)
                .header("Accept", "application/json")
                .header("Content-Type", "application/json");
            if let Some(b) = &body {
                req = req.body(b.to_string());
            }
            let retry_after = match req.send().await {
                Err(e) => {
                    last = transport_error(&e);
                    None
                }
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = retry_after(&resp);
                    let text = match resp.text().await {
                        Ok(t) => t,
                        Err(e) => {
                            last = format!("reading the answer failed: {}", transport_error(&e));
                            if attempt < max {
                                self.wait_before_retry(&endpoint, attempt, None, &mut last)
                                    .await?;
                            }
                            continue;
                        }
                    };
                    tracing::debug!(%endpoint, status = status.as_u16(), "futureshop answered");
                    if status.is_success() {
                        if !text.trim().is_empty()
                            && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&text)
                        {
                            return Err(FsError::Malformed {
                                endpoint,
                                detail: format!("{e}; the answer starts with: {}", excerpt(&text)),
                            });
                        }
                        return Ok(text);
                    }
                    let (code, detail) = describe_body(&text);
                    if status == StatusCode::UNAUTHORIZED {
                        if reauthenticated {
                            return Err(FsError::Unauthorized { endpoint, detail });
                        }
                        reauthenticated = true;
                        self.invalidate(&token).await;
                        attempt -= 1; // a re-authentication is not a failed attempt
                        continue;
                    }
                    if !retryable(status) {
                        return Err(FsError::Rejected {
                            endpoint,
                            status: status.as_u16(),
                            code,
                            detail,
                        });
                    }
                    last = format!("HTTP {}{detail}", status.as_u16());
                    retry_after
                }
            };
            if attempt < max {
                self.wait_before_retry(&endpoint, attempt, retry_after, &mut last)
                    .await?;
            }
        }
        Err(FsError::RetriesExhausted {
            endpoint,
            attempts: max,
            last,
        })
    }
}

fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

fn transport_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "transport error"
    };
    // reqwest's Display includes the URL (never credentials) and the cause.
    let mut msg = format!("{kind}: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    excerpt(&msg)
}

fn parse_token(body: &str) -> Result<(Secret, String, Duration), String> {
    let v: Value =
        serde_json::from_str(body).map_err(|e| format!("token answer is not JSON: {e}"))?;
    let token = v
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("token answer has no access_token")?;
    let token_type = v
        .get("token_type")
        .and_then(Value::as_str)
        .unwrap_or("Bearer")
        .to_string();
    let expires_in = super::lenient::value_to_opt_i64(v.get("expires_in"))
        .filter(|n| *n > 0)
        .unwrap_or(3600);
    Ok((
        Secret::new(token),
        token_type,
        Duration::from_secs(expires_in as u64),
    ))
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn value_as_text(v: &Value) -> Option<String> {
    super::lenient::value_to_opt_string(Some(v))
}

fn shipping_key(u: &ShippingUpdate) -> String {
    format!("{}/{}", u.order_no, u.shipment_no)
}

fn inventory_key(u: &InventoryUpdate) -> String {
    format!("{}/{}/{}", u.product_no, u.vertical_no, u.horizontal_no)
}

/// Records the per-item results of one batch request. Items listed in `results` with a code
/// other than success are refused; items not listed were accepted (futureshop reports failures
/// per item; whether it also lists successes is not documented, and both are handled).
fn record_batch(
    outcome: &mut BTreeMap<String, ItemResult>,
    keys: Vec<String>,
    sent: Result<Value, FsError>,
    result_key: impl Fn(&Value) -> String,
) {
    match sent {
        Ok(v) => {
            let mut listed: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
            if let Some(results) = v.get("results").and_then(Value::as_array) {
                for r in results {
                    let code = r
                        .get("code")
                        .and_then(value_as_text)
                        .filter(|c| !is_success_code(c));
                    let message = r.get("message").and_then(value_as_text);
                    listed.insert(result_key(r), (code, message));
                }
            }
            for key in keys {
                let (code, message) = listed.remove(&key).unwrap_or((None, None));
                outcome.insert(
                    key.clone(),
                    ItemResult {
                        key,
                        accepted: code.is_none(),
                        answered: true,
                        code,
                        message,
                    },
                );
            }
        }
        Err(e) => {
            let (code, msg) = match &e {
                FsError::Rejected { code, .. } => (code.clone(), e.to_string()),
                _ => (None, e.to_string()),
            };
            for key in keys {
                outcome.insert(
                    key.clone(),
                    ItemResult {
                        key,
                        accepted: false,
                        answered: false,
                        code: code.clone(),
                        message: Some(msg.clone()),
                    },
                );
            }
        }
    }
}

fn is_success_code(c: &str) -> bool {
    c.is_empty() || c.eq_ignore_ascii_case("success") || c.eq_ignore_ascii_case("ok")
}
