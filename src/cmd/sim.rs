//! `shukka sim`: run the simulator in the foreground until Ctrl-C.

use std::io::Write;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, eyre};

use crate::cli::SimArgs;
use crate::sim::{self, Behaviour, Faults, Settings, ShopCreds, SimConfig};
use crate::time::parse_user_datetime;

pub fn config_from_args(a: &SimArgs) -> Result<SimConfig> {
    let now = match &a.now {
        Some(s) => Some(
            parse_user_datetime(s)
                .ok_or_else(|| eyre!("--now {s:?} is not a date-time like 2026-11-01T12:00:00"))?,
        ),
        None => None,
    };
    if !(0.0..=1.0).contains(&a.error_rate) || !(0.0..=1.0).contains(&a.unknown_sku_rate) {
        return Err(eyre!(
            "--error-rate and --unknown-sku-rate must be between 0 and 1"
        ));
    }
    Ok(SimConfig {
        addr: a.addr,
        seed: a.seed,
        orders: a.orders,
        days: a.days,
        settings: Settings {
            page_size: a.page_size.max(1),
            inventory_page_size: a.page_size.max(1),
            public_url: a.public_url.clone(),
            token_ttl_secs: a.token_ttl.max(1),
            new_orders_per_min: a.new_orders_per_min.max(0.0),
            shops: vec![ShopCreds {
                shop_key: a.shop_key.clone(),
                client_id: a.client_id.clone(),
                client_secret: a.client_secret.clone(),
            }],
            behaviour: Behaviour {
                payment_delay: chrono::Duration::seconds(a.payment_delay_secs.max(1) as i64),
                unknown_sku_rate: a.unknown_sku_rate,
                ..Behaviour::default()
            },
            ..Settings::default()
        },
        faults: Faults {
            maintenance: a.maintenance,
            error_rate: a.error_rate,
            latency_ms: a.latency_ms,
            rate_limit: a.rate_limit,
            rate_burst: 1,
            ..Faults::default()
        },
        now,
        tls: a.tls,
    })
}

pub async fn run(a: SimArgs) -> Result<()> {
    let cfg = config_from_args(&a)?;
    if let Some(p) = &a.public_url {
        crate::futureshop::config::parse_base("--public-url", p).map_err(|e| eyre!("{e}"))?;
    }
    let handle = sim::start(cfg)
        .await
        .wrap_err_with(|| format!("cannot listen on {}", a.addr))?;
    if let (Some(file), Some(pem)) = (&a.tls_cert, handle.certificate_pem()) {
        crate::output::file::write_new(file, true, pem.as_bytes())?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", handle.base_url())?;
    if let Some(file) = &a.tls_cert {
        writeln!(
            out,
            "# certificate to trust: {} (e.g. SSL_CERT_FILE={0} or FUTURESHOP_CA_FILE={0})",
            file.display()
        )?;
    }
    writeln!(
        out,
        "# {} orders seeded (seed {}); use the client with:",
        a.orders, a.seed
    )?;
    writeln!(out, "export FUTURESHOP_API_BASE={}", handle.base_url())?;
    writeln!(out, "export FUTURESHOP_SHOP_KEY={}", a.shop_key)?;
    writeln!(out, "export FUTURESHOP_CLIENT_ID={}", a.client_id)?;
    if a.client_secret == "demo-secret" {
        writeln!(out, "export FUTURESHOP_CLIENT_SECRET=demo-secret")?;
    } else {
        writeln!(
            out,
            "export FUTURESHOP_CLIENT_SECRET=...   # the value given to --client-secret"
        )?;
    }
    writeln!(out, "export FUTURESHOP_PACING_MS=0")?;
    writeln!(
        out,
        "# control API: {}/__sim/stats  (Ctrl-C stops)",
        handle.base_url()
    )?;
    out.flush()?;
    drop(out);
    tokio::signal::ctrl_c()
        .await
        .wrap_err("waiting for Ctrl-C")?;
    tokio::time::timeout(Duration::from_secs(5), handle.shutdown())
        .await
        .ok();
    Ok(())
}
