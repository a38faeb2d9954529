//! A local simulator of futureshop's admin API (`shukka sim`): seeded, realistic shop data,
//! the same auth and paging as futureshop, fault injection, and a `/__sim/` control API.
//!
//! What is assumed rather than documented by futureshop is listed in
//! `docs/futureshop-simulator.md`.

mod catalog;
pub mod faults;
mod http;
mod order;
mod people;
pub mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::{Faults, ScriptedFault};
pub use order::Behaviour;
pub use state::{
    DEMO_CLIENT_ID, DEMO_SECRET, DEMO_SHOP_KEY, InventoryReceived, NewOrder, RequestRecord,
    Settings, ShippingReceived, ShopCreds, SimState,
};

use crate::futureshop::{ClientOptions, Credentials, FsConfig};
use crate::secret::Secret;
use crate::time::now_jst;

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub addr: SocketAddr,
    pub seed: u64,
    /// Orders present at start.
    pub orders: usize,
    /// The initial orders are spread over this many days before now.
    pub days: u32,
    pub settings: Settings,
    pub faults: Faults,
    /// The reference "now" for generating the initial data (default: the real clock).
    pub now: Option<NaiveDateTime>,
    /// Serve HTTPS with a certificate made for 127.0.0.1 and localhost (self-signed; see
    /// [`SimHandle::certificate_pem`]). Real futureshop clients speak only HTTPS.
    pub tls: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 1,
            orders: 300,
            days: 7,
            settings: Settings::default(),
            faults: Faults::default(),
            now: None,
            tls: false,
        }
    }
}

/// A self-signed certificate for the simulator, and its key, as PEM.
struct SelfSigned {
    cert_pem: String,
    key_pem: String,
}

fn self_signed() -> std::io::Result<SelfSigned> {
    let c = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".into()])
        .map_err(std::io::Error::other)?;
    Ok(SelfSigned {
        cert_pem: c.cert.pem(),
        key_pem: c.signing_key.serialize_pem(),
    })
}

/// The simulated shop's state, shareable with tasks (it does not keep the server running).
#[derive(Clone)]
pub struct SimControl(http::Shared);

impl SimControl {
    pub fn with_state<R>(&self, f: impl FnOnce(&mut SimState) -> R) -> R {
        f(&mut http::lock(&self.0))
    }
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    pub addr: SocketAddr,
    state: http::Shared,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    clock: JoinHandle<()>,
    /// The HTTPS certificate (PEM), when serving TLS.
    certificate: Option<String>,
}

/// Binds and starts the simulator. The server and its live clock run as tokio tasks.
pub async fn start(cfg: SimConfig) -> std::io::Result<SimHandle> {
    let now = cfg.now.unwrap_or_else(now_jst);
    let mut st = SimState::seeded(cfg.seed, cfg.orders, cfg.days, now, cfg.settings);
    st.faults = cfg.faults;
    let listener = tokio::net::TcpListener::bind(cfg.addr).await?;
    let addr = listener.local_addr()?;
    let scheme = if cfg.tls { "https" } else { "http" };
    st.scheme = scheme;
    st.public_base = format!("{scheme}://{addr}");
    let state: http::Shared = Arc::new(Mutex::new(st));
    let app = http::router(state.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let certificate = if cfg.tls { Some(self_signed()?) } else { None };
    let server = match &certificate {
        None => tokio::spawn(async move {
            let serve = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "simulator server stopped");
            }
        }),
        Some(c) => {
            let config = axum_server::tls_rustls::RustlsConfig::from_pem(
                c.cert_pem.clone().into_bytes(),
                c.key_pem.clone().into_bytes(),
            )
            .await?;
            let std_listener = listener.into_std()?;
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                let _ = rx.await;
                stopper.graceful_shutdown(Some(Duration::from_secs(2)));
            });
            let server = axum_server::from_tcp_rustls(std_listener, config)?.handle(handle);
            tokio::spawn(async move {
                if let Err(e) = server
                    .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                    .await
                {
                    tracing::error!(error = %e, "simulator server stopped");
                }
            })
        }
    };
    let clock_state = state.clone();
    let clock = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut last = std::time::Instant::now();
        loop {
            tick.tick().await;
            let elapsed = last.elapsed();
            last = std::time::Instant::now();
            http::lock(&clock_state).tick(now_jst(), elapsed);
        }
    });
    Ok(SimHandle {
        addr,
        state,
        shutdown: Some(tx),
        server: Some(server),
        clock,
        certificate: certificate.map(|c| c.cert_pem),
    })
}

impl SimHandle {
    pub fn base_url(&self) -> String {
        let scheme = if self.certificate.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The certificate a client must trust to reach an HTTPS simulator (PEM).
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate.as_deref()
    }

    /// Runs `f` on the shop's state (tests play the shop through this, or through `/__sim/`).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut SimState) -> R) -> R {
        f(&mut http::lock(&self.state))
    }

    /// The shop's state for a task beside the simulator (the demo's own shop actions).
    pub fn control(&self) -> SimControl {
        SimControl(self.state.clone())
    }

    pub fn set_faults(&self, faults: Faults) {
        self.with_state(|s| s.faults = faults);
    }

    /// Client settings for the first shop, with the given pacing and fast retries.
    pub fn client_config(&self, pacing: Duration) -> FsConfig {
        let creds = self.with_state(|s| s.settings.shops[0].clone());
        FsConfig {
            credentials: Credentials {
                shop_key: creds.shop_key,
                client_id: creds.client_id,
                client_secret: Secret::new(creds.client_secret),
            },
            base_url: url::Url::parse(&self.base_url()).unwrap_or_else(|_| {
                // The address came from a bound socket; it always forms a URL.
                url::Url::parse("http://127.0.0.1/").expect("static URL")
            }),
            options: ClientOptions {
                pacing,
                backoff_base: Duration::from_millis(20),
                backoff_max: Duration::from_secs(5),
                timeout: Duration::from_secs(10),
                extra_roots: self
                    .certificate
                    .iter()
                    .map(|c| c.clone().into_bytes())
                    .collect(),
                ..ClientOptions::default()
            },
        }
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.clock.abort();
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.clock.abort();
    }
}
