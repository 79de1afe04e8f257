//! `%{FORMAT}t` with strftime(3) conversions (`%{%Y-%m-%dT%H:%M:%S %z}t`, `%{%d/%b/%Y %T}t`),
//! compiled once and read back from the line.
//!
//! Apache writes these with the C locale's names and zero-padded numbers, so each conversion has a
//! fixed shape. A time is read straight from the line (it may contain spaces, so it is not found
//! by the literal after it). Without `%z` the offset is unknown: the time is read as UTC, which is
//! what servers on EC2 and ECS run in. A format without a full date (`%H:%M:%S` alone) is read and
//! not used: the document then gets the time the line was received.

use super::time::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(u8),
    /// `%n`, `%t`: one whitespace byte.
    Space,
    Year4,
    Year2,
    Century,
    Month,
    MonthAbbreviation,
    MonthName,
    Day,
    /// `%e`: the day, space-padded.
    DaySpacePadded,
    DayOfYear,
    Hour24,
    Hour12,
    AmPm,
    Minute,
    Second,
    /// `%a`, `%A`, `%u`, `%w`, `%U`, `%W`, `%V`, `%G`, `%g`: read and not needed.
    Letters,
    Digits,
    Offset,
    ZoneName,
    EpochSeconds,
}

/// A compiled strftime format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimePattern {
    parts: Vec<Part>,
    /// It has a date (year, month and day, or year and day of year) or epoch seconds.
    complete: bool,
    /// `end:`: the time the request ended, used only when the line has no other time.
    pub end: bool,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl TimePattern {
    /// Compiles the text between `%{` and `}t`; an unknown conversion is an error naming it.
    pub fn compile(spec: &str, end: bool) -> Result<Self, String> {
        let mut parts = Vec::new();
        compile_into(spec.as_bytes(), &mut parts, 0)?;
        let has = |part: &Part| parts.contains(part);
        let year = has(&Part::Year4) || has(&Part::Year2);
        let month = has(&Part::Month) || has(&Part::MonthAbbreviation) || has(&Part::MonthName);
        let day = has(&Part::Day) || has(&Part::DaySpacePadded);
        let complete = has(&Part::EpochSeconds) || (year && ((month && day) || has(&Part::DayOfYear)));
        Ok(Self { parts, complete, end })
    }

    /// Reads the time at `line[pos..]`: where it ends and what it says. `None` when the text does
    /// not have the format's shape or is not a valid time.
    pub fn read(&self, line: &[u8], pos: usize) -> Option<(usize, ReadTime)> {
        let mut fields = Fields::default();
        let mut at = pos;
        for part in &self.parts {
            at = read_part(part, line, at, &mut fields)?;
        }
        let time = if self.complete { Some(fields.timestamp()?) } else { None };
        let offset_seconds = self.parts.contains(&Part::Offset).then_some(fields.offset_seconds);
        Some((at, ReadTime { time, offset_seconds }))
    }
}

/// What one strftime time said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadTime {
    /// The instant, when the format has a date (read as UTC when it has no `%z`).
    pub time: Option<Timestamp>,
    /// The UTC offset, when the format has `%z`: a `%{%z}t` of its own applies to the line's time.
    pub offset_seconds: Option<i64>,
}

/// What the parts of a time said.
#[derive(Default)]
struct Fields {
    year: Option<i64>,
    century: Option<i64>,
    year_in_century: Option<i64>,
    month: Option<u32>,
    day: Option<u32>,
    day_of_year: Option<u32>,
    hour: u32,
    pm: Option<bool>,
    minute: u32,
    second: u32,
    offset_seconds: i64,
    epoch: Option<i64>,
}

impl Fields {
    fn timestamp(&self) -> Option<Timestamp> {
        if let Some(epoch) = self.epoch {
            return Timestamp::from_unix_millis(epoch.checked_mul(1000)?);
        }
        let year = match (self.year, self.century, self.year_in_century) {
            (Some(year), _, _) => year,
            (None, Some(century), Some(year)) => century * 100 + year,
            // POSIX: 69-99 are 1969-1999, 00-68 are 2000-2068.
            (None, None, Some(year)) => year + if year < 69 { 2000 } else { 1900 },
            _ => return None,
        };
        let hour = match self.pm {
            None => self.hour,
            Some(pm) if (1..=12).contains(&self.hour) => self.hour % 12 + if pm { 12 } else { 0 },
            Some(_) => return None,
        };
        let (month, day) = match (self.month, self.day, self.day_of_year) {
            (Some(month), Some(day), _) => (month, day),
            (_, _, Some(day_of_year)) => month_and_day(year, day_of_year)?,
            _ => return None,
        };
        Timestamp::from_civil(year, month, day, hour, self.minute, self.second, self.offset_seconds)
    }
}

fn compile_into(spec: &[u8], parts: &mut Vec<Part>, depth: u8) -> Result<(), String> {
    let mut i = 0;
    while i < spec.len() {
        if spec[i] != b'%' {
            parts.push(Part::Literal(spec[i]));
            i += 1;
            continue;
        }
        // glibc flags and widths (`%-d`, `%_H`, `%4Y`) change the padding Apache writes.
        let Some(&conversion) = spec.get(i + 1) else {
            return Err("a time format that ends in `%`".into());
        };
        i += 2;
        // The C locale's composite conversions, spelled out.
        let expansion: Option<&[u8]> = match conversion {
            b'T' => Some(b"%H:%M:%S"),
            b'D' => Some(b"%m/%d/%y"),
            b'F' => Some(b"%Y-%m-%d"),
            b'R' => Some(b"%H:%M"),
            b'r' => Some(b"%I:%M:%S %p"),
            b'c' => Some(b"%a %b %e %H:%M:%S %Y"),
            b'x' => Some(b"%m/%d/%y"),
            b'X' => Some(b"%H:%M:%S"),
            _ => None,
        };
        if let Some(expansion) = expansion {
            if depth > 1 {
                return Err("a time format nested too deep".into());
            }
            compile_into(expansion, parts, depth + 1)?;
            continue;
        }
        parts.push(match conversion {
            b'%' => Part::Literal(b'%'),
            b'n' | b't' => Part::Space,
            b'Y' => Part::Year4,
            b'y' => Part::Year2,
            b'C' => Part::Century,
            b'm' => Part::Month,
            b'b' | b'h' => Part::MonthAbbreviation,
            b'B' => Part::MonthName,
            b'd' => Part::Day,
            b'e' => Part::DaySpacePadded,
            b'j' => Part::DayOfYear,
            b'H' => Part::Hour24,
            b'I' => Part::Hour12,
            b'p' => Part::AmPm,
            b'M' => Part::Minute,
            b'S' => Part::Second,
            b'a' | b'A' => Part::Letters,
            b'u' | b'w' | b'U' | b'W' | b'V' | b'G' | b'g' => Part::Digits,
            b'z' => Part::Offset,
            b'Z' => Part::ZoneName,
            b's' => Part::EpochSeconds,
            other => {
                return Err(format!(
                    "unsupported strftime conversion %{} in a %{{..}}t time format",
                    char::from(other)
                ));
            }
        });
    }
    Ok(())
}

fn read_part(part: &Part, line: &[u8], at: usize, fields: &mut Fields) -> Option<usize> {
    let rest = line.get(at..)?;
    let number = |width: usize| -> Option<u32> {
        let digits = rest.get(..width)?;
        digits.iter().try_fold(0u32, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0')))
    };
    let run = |accept: fn(&u8) -> bool| rest.iter().take_while(|b| accept(b)).count();
    Some(match part {
        Part::Literal(byte) => {
            (rest.first() == Some(byte)).then_some(())?;
            at + 1
        }
        Part::Space => {
            rest.first().filter(|b| b.is_ascii_whitespace())?;
            at + 1
        }
        Part::Year4 => {
            fields.year = Some(i64::from(number(4)?));
            at + 4
        }
        Part::Year2 => {
            fields.year_in_century = Some(i64::from(number(2)?));
            at + 2
        }
        Part::Century => {
            fields.century = Some(i64::from(number(2)?));
            at + 2
        }
        Part::Month => {
            fields.month = Some(number(2).filter(|m| (1..=12).contains(m))?);
            at + 2
        }
        Part::MonthAbbreviation | Part::MonthName => {
            let letters = run(u8::is_ascii_alphabetic);
            let name = rest.get(..letters)?;
            let index = MONTHS.iter().position(|month| {
                let month = month.as_bytes();
                if *part == Part::MonthAbbreviation {
                    name.eq_ignore_ascii_case(&month[..3])
                } else {
                    name.eq_ignore_ascii_case(month)
                }
            })?;
            fields.month = Some(u32::try_from(index).ok()? + 1);
            at + letters
        }
        Part::Day => {
            fields.day = Some(number(2)?);
            at + 2
        }
        Part::DaySpacePadded => {
            let day = match rest.first() {
                Some(b' ') => {
                    rest.get(1..2)?.first().filter(|b| b.is_ascii_digit()).map(|b| u32::from(b - b'0'))?
                }
                _ => number(2)?,
            };
            fields.day = Some(day);
            at + 2
        }
        Part::DayOfYear => {
            fields.day_of_year = Some(number(3)?);
            at + 3
        }
        Part::Hour24 | Part::Hour12 => {
            fields.hour = number(2)?;
            at + 2
        }
        Part::AmPm => {
            let text = rest.get(..2)?;
            fields.pm = Some(match text {
                _ if text.eq_ignore_ascii_case(b"AM") => false,
                _ if text.eq_ignore_ascii_case(b"PM") => true,
                _ => return None,
            });
            at + 2
        }
        Part::Minute => {
            fields.minute = number(2)?;
            at + 2
        }
        Part::Second => {
            fields.second = number(2)?;
            at + 2
        }
        Part::Letters => at + Some(run(u8::is_ascii_alphabetic)).filter(|&n| n > 0)?,
        Part::Digits => at + Some(run(u8::is_ascii_digit)).filter(|&n| n > 0)?,
        Part::Offset => {
            let sign = match rest.first()? {
                b'+' => 1,
                b'-' => -1,
                // glibc writes `Z` for no zone in some builds.
                b'Z' => return Some(at + 1),
                _ => return None,
            };
            let hours = rest.get(1..3).and_then(parse_two)?;
            let colon = usize::from(rest.get(3) == Some(&b':'));
            let minutes = rest.get(3 + colon..5 + colon).and_then(parse_two)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            fields.offset_seconds = sign * i64::from(hours * 3600 + minutes * 60);
            at + 5 + colon
        }
        // A zone name cannot be resolved without a time-zone database; `%z` carries the offset.
        Part::ZoneName => at + Some(run(u8::is_ascii_alphabetic)).filter(|&n| n > 0)?,
        Part::EpochSeconds => {
            let digits = run(u8::is_ascii_digit);
            let text = std::str::from_utf8(rest.get(..digits)?).ok()?;
            fields.epoch = Some(text.parse().ok()?);
            at + digits
        }
    })
}

fn parse_two(digits: &[u8]) -> Option<u32> {
    match digits {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
        }
        _ => None,
    }
}

/// The month and day of the `day_of_year`th day (1-based) of `year`.
fn month_and_day(year: i64, day_of_year: u32) -> Option<(u32, u32)> {
    let mut remaining = day_of_year;
    for month in 1..=12 {
        let days = super::time::days_in_month(year, month);
        if remaining >= 1 && remaining <= days {
            return Some((month, remaining));
        }
        remaining = remaining.checked_sub(days)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(spec: &str, text: &str) -> Option<(usize, Option<String>)> {
        let pattern = TimePattern::compile(spec, false).unwrap();
        pattern.read(text.as_bytes(), 0).map(|(end, read)| {
            (
                end,
                read.time.map(|t| {
                    let mut out = Vec::new();
                    t.write_rfc3339(&mut out);
                    String::from_utf8(out).unwrap()
                }),
            )
        })
    }

    #[test]
    fn formats_apache_users_write() {
        let cases = [
            ("%Y-%m-%dT%H:%M:%S", "2026-11-21T05:37:48", "2026-11-21T05:37:48.000Z"),
            ("%Y-%m-%dT%H:%M:%S%z", "2026-11-21T06:37:48+0100", "2026-11-21T05:37:48.000Z"),
            ("%Y-%m-%d %H:%M:%S %z", "2019-05-05 20:49:14 +0000", "2019-05-05T20:49:14.000Z"),
            ("%d/%b/%Y %T", "21/Nov/2026 05:37:48", "2026-11-21T05:37:48.000Z"),
            ("%d/%b/%Y:%H:%M:%S %z", "21/Nov/2026:00:37:48 -0500", "2026-11-21T05:37:48.000Z"),
            ("%F %T", "2026-11-21 05:37:48", "2026-11-21T05:37:48.000Z"),
            ("%a, %d %B %Y %r %Z", "Sat, 21 November 2026 05:37:48 AM UTC", "2026-11-21T05:37:48.000Z"),
            ("%c", "Sat Nov  1 05:37:48 2026", "2026-11-01T05:37:48.000Z"),
            ("%D %I:%M %p", "11/21/26 12:05 PM", "2026-11-21T12:05:00.000Z"),
            ("%Y-%j", "2024-366", "2024-12-31T00:00:00.000Z"),
            ("%s", "1795239468", "2026-11-21T05:37:48.000Z"),
            ("%Y-%m-%dT%H:%M:%S%z", "2026-11-21T06:37:48+01:00", "2026-11-21T05:37:48.000Z"),
        ];
        for (spec, text, expected) in cases {
            assert_eq!(read(spec, text), Some((text.len(), Some(expected.to_owned()))), "{spec} {text}");
        }
    }

    #[test]
    fn a_time_without_a_date_is_read_but_not_used() {
        assert_eq!(read("%H:%M:%S", "05:37:48 rest"), Some((8, None)));
    }

    #[test]
    fn text_of_another_shape_is_not_a_time() {
        for (spec, text) in [
            ("%Y-%m-%d", "2026-13-01"),
            ("%Y-%m-%d", "2026-02-30"),
            ("%d/%b/%Y", "21/Foo/2026"),
            ("%F %H:%M", "2026-11-21 5:37"),
            ("%Y-%m-%d%z", "2026-11-21+2500"),
            ("%Y-%m-%d %I %p", "2026-11-21 13 PM"),
            ("%F %T", "2026-11-21 24:00:00"),
            ("%Y-%j", "2026-366"),
            ("%s", "99999999999999999999999"),
            ("%Y", ""),
        ] {
            let pattern = TimePattern::compile(spec, false).unwrap();
            assert_eq!(pattern.read(text.as_bytes(), 0).map(|(_, read)| read.time), None, "{spec} {text}");
        }
    }

    #[test]
    fn unknown_conversions_are_named() {
        assert_eq!(
            TimePattern::compile("%Y %Q", false).unwrap_err(),
            "unsupported strftime conversion %Q in a %{..}t time format"
        );
        assert!(TimePattern::compile("%Y %", false).is_err());
    }
}
