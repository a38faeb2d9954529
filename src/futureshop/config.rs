//! How to reach one futureshop shop: credentials, base URL and client behaviour.

use std::time::Duration;

use url::Url;

use crate::secret::Secret;

/// The three credentials futureshop issues per shop. The secret is a [`Secret`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub shop_key: String,
    pub client_id: String,
    pub client_secret: Secret,
}

/// Tunables of the client. Defaults follow the only public working client (1 s pacing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// Minimum spacing between two requests to the same shop. 0 is allowed (simulator).
    pub pacing: Duration,
    /// Attempts per request, including the first one.
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// A cached token is renewed this long before it expires.
    pub token_margin: Duration,
    /// How many orderNo values go into one search request.
    pub order_no_chunk: usize,
    /// Certificates (PEM) to trust besides the system's: a test server's or the simulator's
    /// (`shukka sim --tls --tls-cert FILE`; `FUTURESHOP_CA_FILE=FILE` for `shukka fs`).
    pub extra_roots: Vec<Vec<u8>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            pacing: Duration::from_secs(1),
            max_attempts: 6,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
            token_margin: Duration::from_secs(60),
            order_no_chunk: 100,
            extra_roots: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsConfig {
    pub credentials: Credentials,
    /// Scheme + host (+ port), e.g. `https://api.admin.future-shop.net` or `http://127.0.0.1:8080`.
    pub base_url: Url,
    pub options: ClientOptions,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{0} is not set: set it in the environment (see `shukka fs --help`)")]
    Missing(&'static str),
    #[error("{var} is not a valid {what}: {value:?}")]
    Invalid {
        var: &'static str,
        what: &'static str,
        value: String,
    },
}

pub const ENV_SHOP_KEY: &str = "FUTURESHOP_SHOP_KEY";
pub const ENV_CLIENT_ID: &str = "FUTURESHOP_CLIENT_ID";
pub const ENV_CLIENT_SECRET: &str = "FUTURESHOP_CLIENT_SECRET";
pub const ENV_API_DOMAIN: &str = "FUTURESHOP_API_DOMAIN";
pub const ENV_API_BASE: &str = "FUTURESHOP_API_BASE";
pub const ENV_PACING_MS: &str = "FUTURESHOP_PACING_MS";
pub const ENV_CA_FILE: &str = "FUTURESHOP_CA_FILE";

impl FsConfig {
    /// Reads the same variables as the public Ruby client, plus `FUTURESHOP_API_BASE` (a full
    /// base URL, which wins over the domain) and `FUTURESHOP_PACING_MS`.
    pub fn from_env() -> Result<FsConfig, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<FsConfig, ConfigError> {
        let need = |k: &'static str| {
            get(k)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing(k))
        };
        let credentials = Credentials {
            shop_key: need(ENV_SHOP_KEY)?,
            client_id: need(ENV_CLIENT_ID)?,
            client_secret: Secret::new(need(ENV_CLIENT_SECRET)?),
        };
        let base_url = match get(ENV_API_BASE).filter(|v| !v.trim().is_empty()) {
            Some(base) => parse_base(ENV_API_BASE, &base)?,
            None => base_from_domain(ENV_API_DOMAIN, &need(ENV_API_DOMAIN)?)?,
        };
        let mut options = ClientOptions::default();
        if let Some(ms) = get(ENV_PACING_MS).filter(|v| !v.trim().is_empty()) {
            let ms: u64 = ms.trim().parse().map_err(|_| ConfigError::Invalid {
                var: ENV_PACING_MS,
                what: "number of milliseconds",
                value: ms.clone(),
            })?;
            options.pacing = Duration::from_millis(ms);
        }
        if let Some(file) = get(ENV_CA_FILE).filter(|v| !v.trim().is_empty()) {
            let pem = std::fs::read(file.trim()).map_err(|_| ConfigError::Invalid {
                var: ENV_CA_FILE,
                what: "readable certificate file (PEM)",
                value: file.clone(),
            })?;
            options.extra_roots.push(pem);
        }
        Ok(FsConfig {
            credentials,
            base_url,
            options,
        })
    }
}

/// `host[:port]` → `https://host[:port]`, as futureshop issues API domains.
pub fn base_from_domain(var: &'static str, domain: &str) -> Result<Url, ConfigError> {
    let d = domain.trim().trim_end_matches('/');
    let d = d.strip_prefix("https://").unwrap_or(d);
    if d.is_empty() || d.contains('/') || d.contains("://") {
        return Err(ConfigError::Invalid {
            var,
            what: "API domain (host or host:port)",
            value: domain.to_string(),
        });
    }
    parse_base(var, &format!("https://{d}"))
}

pub fn parse_base(var: &'static str, base: &str) -> Result<Url, ConfigError> {
    let invalid = || ConfigError::Invalid {
        var,
        what: "base URL (http[s]://host[:port])",
        value: base.to_string(),
    };
    let url = Url::parse(base.trim()).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn base_wins_over_domain() {
        let cfg = FsConfig::from_lookup(env(&[
            (ENV_SHOP_KEY, "shop"),
            (ENV_CLIENT_ID, "id"),
            (ENV_CLIENT_SECRET, "s3cret"),
            (ENV_API_DOMAIN, "api.example.jp"),
            (ENV_API_BASE, "http://127.0.0.1:8080"),
        ]))
        .expect("config");
        assert_eq!(cfg.base_url.as_str(), "http://127.0.0.1:8080/");
        assert!(!format!("{cfg:?}").contains("s3cret"));
    }

    #[test]
    fn domain_means_https() {
        let cfg = FsConfig::from_lookup(env(&[
            (ENV_SHOP_KEY, "shop"),
            (ENV_CLIENT_ID, "id"),
            (ENV_CLIENT_SECRET, "s"),
            (ENV_API_DOMAIN, "api.example.jp:8443"),
        ]))
        .expect("config");
        assert_eq!(cfg.base_url.as_str(), "https://api.example.jp:8443/");
    }

    #[test]
    fn missing_secret_is_named() {
        let err = FsConfig::from_lookup(env(&[
            (ENV_SHOP_KEY, "shop"),
            (ENV_CLIENT_ID, "id"),
            (ENV_API_DOMAIN, "x"),
        ]))
        .expect_err("must fail");
        assert_eq!(err, ConfigError::Missing(ENV_CLIENT_SECRET));
    }

    #[test]
    fn bad_pacing_and_base() {
        let base = [
            (ENV_SHOP_KEY, "shop"),
            (ENV_CLIENT_ID, "id"),
            (ENV_CLIENT_SECRET, "s"),
        ];
        let mut with_base = base.to_vec();
        with_base.push((ENV_API_BASE, "ftp://x"));
        assert!(matches!(
            FsConfig::from_lookup(env(&with_base)),
            Err(ConfigError::Invalid { .. })
        ));
        let mut with_pacing = base.to_vec();
        with_pacing.push((ENV_API_BASE, "http://127.0.0.1:1"));
        with_pacing.push((ENV_PACING_MS, "fast"));
        assert!(matches!(
            FsConfig::from_lookup(env(&with_pacing)),
            Err(ConfigError::Invalid { .. })
        ));
    }
}
