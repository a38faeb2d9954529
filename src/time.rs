//! Time in futureshop's terms: naive local times in JST (UTC+9, no daylight saving).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

/// futureshop's wire format for date-times: `yyyy-mm-ddThh:mm:ss`, no offset.
pub const FS_DATETIME: &str = "%Y-%m-%dT%H:%M:%S";
/// futureshop's wire format for dates.
pub const FS_DATE: &str = "%Y-%m-%d";

pub fn jst() -> FixedOffset {
    // 9 h is always a valid offset.
    FixedOffset::east_opt(9 * 3600).expect("valid JST offset")
}

/// Now, as futureshop would write it (JST wall clock).
pub fn now_jst() -> NaiveDateTime {
    Utc::now().with_timezone(&jst()).naive_local()
}

pub fn to_jst(t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&jst()).naive_local()
}

pub fn fmt_fs(t: NaiveDateTime) -> String {
    t.format(FS_DATETIME).to_string()
}

pub fn parse_fs_datetime(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s.trim(), FS_DATETIME).ok()
}

pub fn parse_fs_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), FS_DATE).ok()
}

/// Parses what an operator may type on the command line: a full futureshop date-time, a date
/// (midnight), or `yyyy-mm-dd hh:mm[:ss]`.
pub fn parse_user_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Some(t) = parse_fs_datetime(s) {
        return Some(t);
    }
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t);
        }
    }
    parse_fs_date(s).and_then(|d| d.and_hms_opt(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_datetime_forms() {
        let want = NaiveDate::from_ymd_opt(2026, 1, 2)
            .and_then(|d| d.and_hms_opt(3, 4, 0))
            .expect("date");
        assert_eq!(parse_user_datetime("2026-01-02T03:04:00"), Some(want));
        assert_eq!(parse_user_datetime("2026-01-02 03:04"), Some(want));
        assert_eq!(
            parse_user_datetime("2026-01-02"),
            NaiveDate::from_ymd_opt(2026, 1, 2).and_then(|d| d.and_hms_opt(0, 0, 0))
        );
        assert_eq!(parse_user_datetime("02/01/2026"), None);
    }
}
