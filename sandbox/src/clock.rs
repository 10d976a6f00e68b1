//! Time helpers: the two services' timestamp formats and ISO 8601 parsing.
//!
//! Notion shows `created_time`/`last_edited_time` rounded down to the minute with
//! milliseconds (`2025-08-07T17:11:00.000Z`); PostHog shows microseconds
//! (`2025-06-02T09:14:31.512088Z`). The sandbox keeps exact instants internally and only
//! rounds when rendering, so ordering by creation stays exact.

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Now, in UTC.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Rounds down to the minute.
pub fn to_minute(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(UtcOffset::UTC);
    at.replace_time(Time::from_hms(at.hour(), at.minute(), 0).unwrap_or(Time::MIDNIGHT))
}

fn ymd_hms(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Notion's form: minute precision, `.000Z`.
pub fn notion(at: OffsetDateTime) -> String {
    format!("{}.000Z", ymd_hms(to_minute(at)))
}

/// PostHog's form: microseconds, `Z`.
pub fn posthog(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!("{}.{:06}Z", ymd_hms(at), at.microsecond())
}

/// Parses an ISO 8601 date (`2025-01-31`) as midnight UTC.
pub fn parse_date(text: &str) -> Option<OffsetDateTime> {
    let mut parts = text.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day_text = parts.next()?;
    if parts.next().is_some() || day_text.len() != 2 {
        return None;
    }
    let day: u8 = day_text.parse().ok()?;
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    Some(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc())
}

/// Parses an ISO 8601 date-time. Accepts RFC 3339 (`…Z`, `…+02:00`) and the offset-less
/// forms `2021-12-01T10:23` and `2021-12-01T10:23:05` (taken as UTC, as PostHog does).
pub fn parse_datetime(text: &str) -> Option<OffsetDateTime> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(at);
    }
    let (date, clock) = text.split_once('T')?;
    let date = parse_date(date)?;
    let mut fields = clock.split(':');
    let hour: u8 = fields.next()?.parse().ok()?;
    let minute: u8 = fields.next()?.parse().ok()?;
    let second: u8 = match fields.next() {
        Some(s) => s.split('.').next()?.parse().ok()?,
        None => 0,
    };
    if fields.next().is_some() {
        return None;
    }
    Some(date.replace_time(Time::from_hms(hour, minute, second).ok()?))
}

/// Parses either a date or a date-time. The flag tells which one it was.
pub fn parse_date_or_datetime(text: &str) -> Option<(OffsetDateTime, bool)> {
    if let Some(date) = parse_date(text) {
        return Some((date, true));
    }
    parse_datetime(text).map(|at| (at, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notion_timestamps_are_rounded_to_the_minute() {
        let at = parse_datetime("2025-08-07T17:11:07.504Z").unwrap();
        assert_eq!(notion(at), "2025-08-07T17:11:00.000Z");
        let at = parse_datetime("2025-08-07T10:11:07.504-07:00").unwrap();
        assert_eq!(notion(at), "2025-08-07T17:11:00.000Z");
    }

    #[test]
    fn posthog_timestamps_carry_microseconds() {
        let at = parse_datetime("2025-06-02T09:14:31.512088Z").unwrap();
        assert_eq!(posthog(at), "2025-06-02T09:14:31.512088Z");
    }

    #[test]
    fn parses_dates_and_short_datetimes() {
        assert_eq!(
            notion(parse_date("2025-01-31").unwrap()),
            "2025-01-31T00:00:00.000Z"
        );
        assert!(parse_date("2025-02-30").is_none());
        assert!(parse_date("2025-1-3").is_none());
        assert_eq!(
            posthog(parse_datetime("2021-12-01T10:23").unwrap()),
            "2021-12-01T10:23:00.000000Z"
        );
        assert_eq!(
            parse_date_or_datetime("2025-01-31").map(|p| p.1),
            Some(true)
        );
        assert!(parse_date_or_datetime("yesterday").is_none());
    }
}
