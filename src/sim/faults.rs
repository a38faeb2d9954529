//! Fault injection: maintenance, rate limiting, random server errors, latency, broken bodies and
//! scripted one-off failures. Everything can be changed while the simulator runs.

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// 503 on every endpoint, the token endpoint included.
    pub maintenance: bool,
    /// `Retry-After` sent with maintenance 503s (none by default: futureshop's is unknown).
    pub maintenance_retry_after: Option<u64>,
    /// Probability of a random 500/502/503 on any API request.
    pub error_rate: f64,
    /// Added to every API answer.
    pub latency_ms: u64,
    /// Requests per second allowed per shop key (token bucket); `None` = unlimited.
    pub rate_limit: Option<f64>,
    /// Bucket size for `rate_limit` (at least 1).
    pub rate_burst: u32,
    /// The next N successful API answers have a broken JSON body.
    pub malformed_next: u32,
    /// One-off failures, consumed in order by the next matching requests.
    pub fail_next: Vec<ScriptedFault>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptedFault {
    pub status: u16,
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Only requests whose path starts with this are affected (all when absent).
    #[serde(default)]
    pub path_prefix: Option<String>,
}

/// Token buckets for `Faults::rate_limit`, one per shop key.
#[derive(Default)]
pub struct RateLimiter {
    buckets: HashMap<String, (f64, Instant)>,
}

impl RateLimiter {
    /// Takes one token; on refusal returns the whole seconds to wait (at least 1).
    pub fn take(&mut self, key: &str, rate: f64, burst: u32) -> Result<(), u64> {
        let burst = f64::from(burst.max(1));
        let now = Instant::now();
        let (tokens, last) = self.buckets.entry(key.to_string()).or_insert((burst, now));
        let elapsed = now.duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * rate).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - *tokens) / rate.max(1e-6)).ceil();
            Err((wait as u64).max(1))
        }
    }
}
