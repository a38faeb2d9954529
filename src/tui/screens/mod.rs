//! The console's screens, one file each, each owning its state, its keys (`on_action`) and its
//! drawing (`render`). They read the shared data through [`Ctx`] and answer through [`Out`];
//! the app routes between them.

pub mod dashboard;
pub mod detail;
pub mod log;
pub mod orders;
pub mod robots;
pub mod setup;

pub use dashboard::DashboardScreen;
pub use detail::DetailScreen;
pub use log::LogScreen;
pub use orders::OrdersScreen;
pub use robots::RobotsScreen;
pub use setup::SetupScreen;

use super::context::Ctx;
use super::text::Text;

/// "synced …" as shown, coarse enough that an idle screen does not change for minutes.
pub fn sync_text(cx: &Ctx) -> String {
    let st = cx.data.sync_state(cx.now);
    let t = cx.text;
    let mut s = match st.last_ok {
        None => t.never_synced.to_string(),
        Some(at) => {
            // Counted in wall-clock minutes, so the label changes exactly on the minute — the
            // one moment an idle screen is repainted — not at a phase set by the last run.
            let minutes = cx.now.timestamp().div_euclid(60) - at.timestamp().div_euclid(60);
            format!("{} {}", t.synced, age(t, minutes * 60))
        }
    };
    if st.failing {
        s = format!("{s} [{}]", t.failing);
    } else if st.stale {
        s = format!("{s} [{}]", t.stale);
    }
    s
}

/// Minute granularity: the text changes at most once a minute.
pub fn age(t: &Text, secs: i64) -> String {
    let secs = secs.max(0);
    if secs < 60 {
        t.within_minute.to_string()
    } else if secs < 3600 {
        format!("{}{}", secs / 60, t.minutes_ago)
    } else if secs < 86400 {
        format!("{}{}", secs / 3600, t.hours_ago)
    } else {
        format!("{}{}", secs / 86400, t.days_ago)
    }
}
