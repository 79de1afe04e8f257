//! Log timestamps: Apache's `%t` text in any UTC offset in, RFC 3339 UTC with milliseconds out.
//!
//! Hand-written because it runs once per line: a fixed-layout parse and the civil-calendar
//! arithmetic below (Howard Hinnant's `days_from_civil`) cost a few nanoseconds and never allocate.

use std::cell::Cell;

/// An instant, in milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    millis: i64,
}

/// A calendar date and time of day in UTC, for index names and formatting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcDateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millisecond: u32,
}

thread_local! {
    /// The last `%t` text parsed and its instant: the lines of a busy log share their second, so
    /// most lines skip the calendar arithmetic (a pure function's memo, hence per thread).
    static LAST_CLF: Cell<Option<([u8; 26], Timestamp)>> = const { Cell::new(None) };
    /// The last timestamp written and its text, for the same reason.
    static LAST_RFC3339: Cell<Option<(Timestamp, [u8; 24])>> = const { Cell::new(None) };
}

const MILLIS_PER_DAY: i64 = 86_400_000;
/// 0000-01-01 to 9999-12-31: what RFC 3339's four-digit year can show.
const MIN_MILLIS: i64 = -62_167_219_200_000;
const MAX_MILLIS: i64 = 253_402_300_799_999;

impl Timestamp {
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        (MIN_MILLIS..=MAX_MILLIS).contains(&millis).then_some(Self { millis })
    }

    /// From fractional milliseconds (event fields): `None` when not finite or out of range.
    pub fn from_unix_millis_f64(millis: f64) -> Option<Self> {
        // `as` saturates, and the range check then rejects what saturated.
        millis.is_finite().then(|| Self::from_unix_millis(millis as i64)).flatten()
    }

    pub fn unix_millis(self) -> i64 {
        self.millis
    }

    /// The current time, for documents whose line carries none.
    pub fn now() -> Self {
        let since_epoch =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let millis = i64::try_from(since_epoch.as_millis()).unwrap_or(MAX_MILLIS);
        Self { millis: millis.clamp(MIN_MILLIS, MAX_MILLIS) }
    }

    /// Parses Apache's `%t` body (`21/Nov/2026:00:37:50 -0500`, without the brackets).
    pub fn parse_clf(text: &[u8]) -> Option<Self> {
        let text = <&[u8; 26]>::try_from(text).ok()?;
        if let Some((last_text, last)) = LAST_CLF.get()
            && last_text == *text
        {
            return Some(last);
        }
        let parsed = Self::parse_clf_uncached(text)?;
        LAST_CLF.set(Some((*text, parsed)));
        Some(parsed)
    }

    fn parse_clf_uncached(text: &[u8; 26]) -> Option<Self> {
        // dd/Mon/yyyy:HH:MM:SS +hhmm
        if text[2] != b'/'
            || text[6] != b'/'
            || text[11] != b':'
            || text[14] != b':'
            || text[17] != b':'
            || text[20] != b' '
        {
            return None;
        }
        let day = digits(&text[0..2])?;
        let month = month_number(&text[3..6])?;
        let year = digits(&text[7..11])?;
        let hour = digits(&text[12..14])?;
        let minute = digits(&text[15..17])?;
        let second = digits(&text[18..20])?;
        let offset_sign = match text[21] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let offset_hours = digits(&text[22..24])?;
        let offset_minutes = digits(&text[24..26])?;
        if day == 0
            || day > days_in_month(i64::from(year), month)
            || hour > 23
            || minute > 59
            || second > 60
            || offset_hours > 23
            || offset_minutes > 59
        {
            return None;
        }
        let local_seconds = days_from_civil(i64::from(year), month, day) * 86_400
            + i64::from(hour * 3600 + minute * 60 + second);
        let offset_seconds = offset_sign * i64::from(offset_hours * 3600 + offset_minutes * 60);
        Self::from_unix_millis((local_seconds - offset_seconds) * 1000)
    }

    /// A local date and time at `offset_seconds` east of UTC; `None` for a date or time that does
    /// not exist (31 February, 24:00).
    pub fn from_civil(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        offset_seconds: i64,
    ) -> Option<Self> {
        if !(0..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let local_seconds =
            days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
        Self::from_unix_millis((local_seconds - offset_seconds).checked_mul(1000)?)
    }

    /// `seconds` later (or earlier).
    pub fn plus_seconds(self, seconds: i64) -> Option<Self> {
        Self::from_unix_millis(self.millis.checked_add(seconds.checked_mul(1000)?)?)
    }

    /// `millis` later (a `%{msec_frac}t` added to the second it belongs to).
    pub fn plus_millis(self, millis: u32) -> Option<Self> {
        Self::from_unix_millis(self.millis.checked_add(i64::from(millis))?)
    }

    /// Parses an epoch number in the given unit (`%{sec}t`, `%{msec}t`, `%{usec}t`).
    pub fn parse_epoch(text: &[u8], units_per_milli: EpochUnit) -> Option<Self> {
        let value = parse_u64(text)?;
        let millis = match units_per_milli {
            EpochUnit::Seconds => value.checked_mul(1000)?,
            EpochUnit::Millis => value,
            EpochUnit::Micros => value / 1000,
        };
        Self::from_unix_millis(i64::try_from(millis).ok()?)
    }

    pub fn to_utc(self) -> UtcDateTime {
        let days = self.millis.div_euclid(MILLIS_PER_DAY);
        let in_day = u32::try_from(self.millis.rem_euclid(MILLIS_PER_DAY)).unwrap_or(0);
        let (year, month, day) = civil_from_days(days);
        UtcDateTime {
            year,
            month,
            day,
            hour: in_day / 3_600_000,
            minute: in_day / 60_000 % 60,
            second: in_day / 1000 % 60,
            millisecond: in_day % 1000,
        }
    }

    /// Appends `2026-11-21T05:37:48.000Z`. Every timestamp is in years 0000-9999, so the text is
    /// always these 24 bytes; filling them in place costs a fifth of formatting each number.
    pub fn write_rfc3339(self, out: &mut Vec<u8>) {
        if let Some((last, text)) = LAST_RFC3339.get()
            && last == self
        {
            out.extend_from_slice(&text);
            return;
        }
        let text = self.rfc3339();
        LAST_RFC3339.set(Some((self, text)));
        out.extend_from_slice(&text);
    }

    fn rfc3339(self) -> [u8; 24] {
        let t = self.to_utc();
        let mut text = *b"0000-00-00T00:00:00.000Z";
        let mut put = |end: usize, mut value: u32, width: usize| {
            for i in (end - width..end).rev() {
                // A digit: `value % 10` is below 10.
                text[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(4, u32::try_from(t.year).unwrap_or(0), 4);
        put(7, t.month, 2);
        put(10, t.day, 2);
        put(13, t.hour, 2);
        put(16, t.minute, 2);
        put(19, t.second, 2);
        put(23, t.millisecond, 3);
        text
    }
}

/// The unit of an epoch time directive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpochUnit {
    Seconds,
    Millis,
    Micros,
}

/// A non-empty run of ASCII digits that fits in u64.
pub fn parse_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    text.iter().try_fold(0u64, |acc, &b| {
        let digit = char::from(b).to_digit(10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

fn digits(text: &[u8]) -> Option<u32> {
    u32::try_from(parse_u64(text)?).ok()
}

/// The number of a date or time part of known width (`2026`, `07`): a plain loop, cheaper than
/// [`parse_u64`]'s overflow checks on the few digits of a date.
pub fn date_part(text: &[u8]) -> Option<u32> {
    let mut number = 0;
    for &byte in text {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        number = number * 10 + u32::from(digit);
    }
    Some(number)
}

fn month_number(name: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] =
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    let index = MONTHS.iter().position(|m| m.as_slice() == name)?;
    u32::try_from(index + 1).ok()
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub(super) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = u32::try_from(day_of_year - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc3339(ts: Timestamp) -> String {
        let mut out = Vec::new();
        ts.write_rfc3339(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn converts_every_offset_to_utc() {
        let cases = [
            ("utc", "21/Nov/2026:05:37:48 +0000", "2026-11-21T05:37:48.000Z"),
            ("new york", "21/Nov/2026:00:37:50 -0500", "2026-11-21T05:37:50.000Z"),
            ("kolkata half hour", "21/Nov/2026:11:07:52 +0530", "2026-11-21T05:37:52.000Z"),
            ("chatham +13:45", "21/Nov/2026:19:22:54 +1345", "2026-11-21T05:37:54.000Z"),
            ("st johns -03:30", "21/Nov/2026:02:07:56 -0330", "2026-11-21T05:37:56.000Z"),
            ("kiritimati +14", "21/Nov/2026:19:37:58 +1400", "2026-11-21T05:37:58.000Z"),
            ("crosses midnight backwards", "01/Jan/2027:03:00:00 +0500", "2026-12-31T22:00:00.000Z"),
            ("crosses a leap day", "29/Feb/2024:23:30:00 -0100", "2024-03-01T00:30:00.000Z"),
            ("apache docs example", "10/Oct/2000:13:55:36 -0700", "2000-10-10T20:55:36.000Z"),
            ("epoch", "01/Jan/1970:00:00:00 +0000", "1970-01-01T00:00:00.000Z"),
            ("before epoch", "31/Dec/1969:23:59:59 +0000", "1969-12-31T23:59:59.000Z"),
        ];
        for (name, text, expected) in cases {
            let ts = Timestamp::parse_clf(text.as_bytes()).unwrap_or_else(|| panic!("{name}: no parse"));
            assert_eq!(rfc3339(ts), expected, "{name}");
        }
    }

    #[test]
    fn repeated_and_alternating_times_reuse_nothing_stale() {
        let first = "21/Nov/2026:05:37:48 +0000";
        let second = "21/Nov/2026:05:37:48 +0100";
        let sequence = [first, first, second, first, "30/Feb/2024:00:00:00 +0000", second, second];
        let expected = [
            Some("2026-11-21T05:37:48.000Z"),
            Some("2026-11-21T05:37:48.000Z"),
            Some("2026-11-21T04:37:48.000Z"),
            Some("2026-11-21T05:37:48.000Z"),
            None,
            Some("2026-11-21T04:37:48.000Z"),
            Some("2026-11-21T04:37:48.000Z"),
        ];
        for (text, expected) in sequence.iter().zip(expected) {
            assert_eq!(Timestamp::parse_clf(text.as_bytes()).map(rfc3339).as_deref(), expected, "{text}");
        }
        let plus_one_ms = Timestamp::from_unix_millis(1_795_239_468_001).unwrap();
        assert_eq!(rfc3339(plus_one_ms), "2026-11-21T05:37:48.001Z");
    }

    #[test]
    fn rejects_impossible_dates() {
        let cases = [
            ("30 february", "30/Feb/2024:00:00:00 +0000"),
            ("29 february, not leap", "29/Feb/2023:00:00:00 +0000"),
            ("day zero", "00/Jan/2024:00:00:00 +0000"),
            ("hour 24", "01/Jan/2024:24:00:00 +0000"),
            ("minute 60", "01/Jan/2024:00:60:00 +0000"),
            ("unknown month", "01/Foo/2024:00:00:00 +0000"),
            ("lowercase month", "01/jan/2024:00:00:00 +0000"),
            ("offset without sign", "01/Jan/2024:00:00:00 0000"),
            ("offset minutes 60", "01/Jan/2024:00:00:00 +0060"),
            ("short", "01/Jan/2024:00:00:00"),
            ("letters in year", "01/Jan/20x4:00:00:00 +0000"),
            ("empty", ""),
        ];
        for (name, text) in cases {
            assert_eq!(Timestamp::parse_clf(text.as_bytes()), None, "{name}");
        }
    }

    #[test]
    fn civil_arithmetic_round_trips_over_four_centuries() {
        for days in (-146_097 * 3..146_097 * 2).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn epoch_units() {
        let ts = Timestamp::parse_epoch(b"1795239468", EpochUnit::Seconds).unwrap();
        assert_eq!(rfc3339(ts), "2026-11-21T05:37:48.000Z");
        let ts = Timestamp::parse_epoch(b"1795239468123", EpochUnit::Millis).unwrap();
        assert_eq!(rfc3339(ts), "2026-11-21T05:37:48.123Z");
        let ts = Timestamp::parse_epoch(b"1795239468123456", EpochUnit::Micros).unwrap();
        assert_eq!(rfc3339(ts), "2026-11-21T05:37:48.123Z");
        assert_eq!(Timestamp::parse_epoch(b"99999999999999999999", EpochUnit::Seconds), None);
        assert_eq!(Timestamp::parse_epoch(b"12a", EpochUnit::Seconds), None);
    }

    #[test]
    fn fractional_milliseconds() {
        assert_eq!(
            Timestamp::from_unix_millis_f64(1_795_239_470_000.7).map(Timestamp::unix_millis),
            Some(1_795_239_470_000)
        );
        for hostile in [f64::NAN, f64::INFINITY, 1e300, -1e300] {
            assert_eq!(Timestamp::from_unix_millis_f64(hostile), None, "{hostile}");
        }
    }

    #[test]
    fn parse_u64_bounds() {
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"-1"), None);
    }
}
