//! The simulator's HTTP surface: futureshop's endpoints (with auth and faults) and the
//! `/__sim/` control endpoints (loopback only, no auth).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};

use super::faults::Faults;
use super::state::{ApiError, NewOrder, SimState};

pub type Shared = Arc<Mutex<SimState>>;

pub fn lock(s: &Shared) -> MutexGuard<'_, SimState> {
    // A panic in one handler must not take the whole simulator down.
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = if self.status == 401 && self.code == "invalid_client" {
            json!({"error": self.code, "error_description": self.message})
        } else {
            json!({"code": self.code, "message": self.message})
        };
        (status, axum::Json(body)).into_response()
    }
}

pub fn router(state: Shared) -> Router {
    let api = Router::new()
        .route("/oauth/token", post(token))
        .route("/admin-api/v1/shipping", get(search_orders))
        .route("/admin-api/v1/shipping/status", post(update_shipping))
        .route("/admin-api/v1/orders/{order_no}", get(order_detail))
        .route(
            "/admin-api/v1/inventory",
            get(search_inventory).post(update_inventory),
        )
        .layer(middleware::from_fn_with_state(state.clone(), api_layer));
    let control = Router::new()
        .route("/__sim/orders", post(ctl_create_order))
        .route("/__sim/orders/generate", post(ctl_generate))
        .route("/__sim/orders/{order_no}", get(ctl_order))
        .route("/__sim/orders/{order_no}/pay", post(ctl_pay))
        .route("/__sim/orders/{order_no}/cancel", post(ctl_cancel))
        .route("/__sim/orders/{order_no}/complete", post(ctl_complete))
        .route("/__sim/orders/{order_no}/hold", post(ctl_hold))
        .route("/__sim/orders/{order_no}/ship", post(ctl_ship))
        .route("/__sim/faults", get(ctl_get_faults).put(ctl_put_faults))
        .route("/__sim/tokens/expire", post(ctl_expire_tokens))
        .route("/__sim/received/shipping", get(ctl_received_shipping))
        .route("/__sim/received/inventory", get(ctl_received_inventory))
        .route(
            "/__sim/requests",
            get(ctl_requests).delete(ctl_clear_requests),
        )
        .route("/__sim/stats", get(ctl_stats))
        .layer(middleware::from_fn(loopback_only));
    api.merge(control).with_state(state)
}

/// Faults, auth and the request log, in that order, for every futureshop endpoint.
async fn api_layer(State(sim): State<Shared>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let uri = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let path = req.uri().path().to_string();
    let shop_key = header_str(req.headers(), "x-shop-key");
    let latency = lock(&sim).faults.latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let fault = lock(&sim).pre_fault(&path, shop_key.as_deref().unwrap_or(""));
    if let Some((status, retry_after, code)) = fault {
        let mut resp = (
            StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            axum::Json(json!({"code": code, "message": "simulated fault"})),
        )
            .into_response();
        if let Some(ra) = retry_after
            && let Ok(v) = HeaderValue::from_str(&ra.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        lock(&sim).record(&method, &uri, status);
        return resp;
    }
    if path != "/oauth/token" {
        let bearer = header_str(req.headers(), "authorization")
            .and_then(|a| a.strip_prefix("Bearer ").map(str::to_string));
        let auth = lock(&sim).check_bearer(bearer.as_deref(), shop_key.as_deref());
        if let Err(e) = auth {
            lock(&sim).record(&method, &uri, 401);
            return e.into_response();
        }
    }
    let resp = next.run(req).await;
    let status = resp.status();
    let resp = if status.is_success() && lock(&sim).take_malformed() {
        // A body cut short, as a broken proxy or a crash mid-answer would produce.
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"orderList\": [{\"orderNo\": \"1000",
        )
            .into_response()
    } else {
        resp
    };
    lock(&sim).record(&method, &uri, status.as_u16());
    resp
}

async fn loopback_only(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    if !peer.ip().is_loopback() {
        return (
            StatusCode::FORBIDDEN,
            "the /__sim/ control API answers loopback clients only",
        )
            .into_response();
    }
    next.run(req).await
}

fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

fn query_pairs(req_query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req_query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn json_body(req: Request) -> Result<Value, ApiError> {
    let ct = header_str(req.headers(), "content-type").unwrap_or_default();
    if !ct.starts_with("application/json") {
        return Err(ApiError::bad(
            "InvalidContentType",
            "Content-Type must be application/json",
        ));
    }
    let bytes = to_bytes(req.into_body(), 8 * 1024 * 1024)
        .await
        .map_err(|_| ApiError::bad("InvalidParameter", "body too large or unreadable"))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad("InvalidJson", format!("body is not JSON: {e}")))
}

// ------------------------------------------------------------------------------------------
// futureshop endpoints

async fn token(State(sim): State<Shared>, headers: HeaderMap, body: Body) -> Response {
    let bytes = to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let grant = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let (id, secret) = header_str(&headers, "authorization")
        .and_then(|a| a.strip_prefix("Basic ").map(str::to_string))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .unwrap_or_default();
    let shop = header_str(&headers, "x-shop-key").unwrap_or_default();
    match lock(&sim).issue_token(&id, &secret, &shop, &grant) {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn search_orders(State(sim): State<Shared>, req: Request) -> Response {
    let params = query_pairs(req.uri().query());
    let host = header_str(req.headers(), "host");
    let st = lock(&sim);
    let base = st.base_for(host.as_deref());
    respond(st.search_orders_from(&params, &base))
}

async fn order_detail(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    respond(lock(&sim).order_detail(&no))
}

async fn update_shipping(State(sim): State<Shared>, req: Request) -> Response {
    match json_body(req).await {
        Ok(body) => respond(lock(&sim).update_shipping(&body)),
        Err(e) => e.into_response(),
    }
}

async fn search_inventory(State(sim): State<Shared>, req: Request) -> Response {
    let params = query_pairs(req.uri().query());
    let host = header_str(req.headers(), "host");
    let st = lock(&sim);
    let base = st.base_for(host.as_deref());
    respond(st.search_inventory_from(&params, &base))
}

async fn update_inventory(State(sim): State<Shared>, req: Request) -> Response {
    match json_body(req).await {
        Ok(body) => respond(lock(&sim).update_inventory(&body)),
        Err(e) => e.into_response(),
    }
}

fn respond(r: Result<Value, ApiError>) -> Response {
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

// ------------------------------------------------------------------------------------------
// Control endpoints

async fn ctl_create_order(State(sim): State<Shared>, body: axum::Json<NewOrder>) -> Response {
    respond(lock(&sim).create_order(body.0))
}

#[derive(serde::Deserialize)]
struct GenerateReq {
    count: usize,
}

async fn ctl_generate(State(sim): State<Shared>, body: axum::Json<GenerateReq>) -> Response {
    let nos = lock(&sim).generate_now(body.count.min(1_000_000));
    axum::Json(json!({ "orderNos": nos })).into_response()
}

async fn ctl_order(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    respond(lock(&sim).order_detail(&no))
}

async fn ctl_pay(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    respond(lock(&sim).mark_paid(&no))
}

async fn ctl_cancel(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    respond(lock(&sim).cancel(&no))
}

async fn ctl_complete(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    respond(lock(&sim).set_status(&no, "COMPLETED"))
}

async fn ctl_hold(State(sim): State<Shared>, Path(no): Path<String>) -> Response {
    respond(lock(&sim).set_status(&no, "ON_HOLD"))
}

#[derive(serde::Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ShipReq {
    shipment_no: Option<i64>,
    invoice_no: Option<String>,
}

async fn ctl_ship(
    State(sim): State<Shared>,
    Path(no): Path<String>,
    body: Option<axum::Json<ShipReq>>,
) -> Response {
    let r = body.map(|b| b.0).unwrap_or_default();
    respond(lock(&sim).ship_in_admin(&no, r.shipment_no, r.invoice_no))
}

async fn ctl_get_faults(State(sim): State<Shared>) -> Response {
    axum::Json(lock(&sim).faults.clone()).into_response()
}

async fn ctl_put_faults(State(sim): State<Shared>, body: axum::Json<Faults>) -> Response {
    lock(&sim).faults = body.0.clone();
    axum::Json(body.0).into_response()
}

async fn ctl_expire_tokens(State(sim): State<Shared>) -> Response {
    let n = lock(&sim).expire_tokens();
    axum::Json(json!({ "expired": n })).into_response()
}

async fn ctl_received_shipping(State(sim): State<Shared>) -> Response {
    axum::Json(lock(&sim).shipping_received().to_vec()).into_response()
}

async fn ctl_received_inventory(State(sim): State<Shared>) -> Response {
    axum::Json(lock(&sim).inventory_received().to_vec()).into_response()
}

async fn ctl_requests(State(sim): State<Shared>) -> Response {
    axum::Json(lock(&sim).requests().to_vec()).into_response()
}

async fn ctl_clear_requests(State(sim): State<Shared>) -> Response {
    lock(&sim).clear_requests();
    StatusCode::NO_CONTENT.into_response()
}

async fn ctl_stats(State(sim): State<Shared>) -> Response {
    let st = lock(&sim);
    axum::Json(json!({
        "orders": st.order_count(),
        "requests": st.request_total(),
        "shippingUpdates": st.shipping_received().len(),
        "inventoryUpdates": st.inventory_received().len(),
    }))
    .into_response()
}
