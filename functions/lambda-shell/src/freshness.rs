//! How fresh a batch's lines are when the function is done with them: the age of each document's
//! `@timestamp` (the line's own time), its median and maximum, as EMF metrics (`LagMedian`,
//! `LagMax`). With Firehose's buffer and the index's refresh after it, they are the first part
//! of the time from a line written to a document searchable.

use enrichment::Timestamp;

/// The times of a batch's documents, kept until their ages are taken.
#[derive(Debug, Default, Clone)]
pub struct LineTimes {
    millis: Vec<i64>,
}

/// The ages of a batch's documents, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAges {
    /// Documents measured.
    pub lines: u64,
    pub median_ms: u64,
    pub max_ms: u64,
}

impl LineTimes {
    pub fn clear(&mut self) {
        self.millis.clear();
    }

    pub fn push(&mut self, time: Timestamp) {
        self.millis.push(time.unix_millis());
    }

    /// The documents' ages at `now`; `None` without documents. A time after `now` (a server
    /// whose clock is ahead) is an age of 0.
    pub fn ages(&mut self, now: Timestamp) -> Option<LineAges> {
        let lines = self.millis.len();
        // The median age is `now` less the median time; the largest, less the earliest.
        let (earlier, &mut median, _) = self.millis.select_nth_unstable(lines.checked_sub(1)? / 2);
        let earliest = earlier.iter().copied().min().unwrap_or(median);
        let age = |time: i64| u64::try_from(now.unix_millis().saturating_sub(time)).unwrap_or(0);
        Some(LineAges { lines: lines as u64, median_ms: age(median), max_ms: age(earliest) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(millis).unwrap()
    }

    #[test]
    fn median_and_largest_age() {
        let mut times = LineTimes::default();
        assert_eq!(times.ages(at(10_000)), None, "no documents, no ages");
        for millis in [9_000, 4_000, 8_000, 9_500, 7_000] {
            times.push(at(millis));
        }
        assert_eq!(times.ages(at(10_000)), Some(LineAges { lines: 5, median_ms: 2_000, max_ms: 6_000 }));
        // A line stamped after `now` is not older than nothing.
        times.clear();
        times.push(at(12_000));
        assert_eq!(times.ages(at(10_000)), Some(LineAges { lines: 1, median_ms: 0, max_ms: 0 }));
        times.push(at(1_000));
        assert_eq!(times.ages(at(10_000)), Some(LineAges { lines: 2, median_ms: 9_000, max_ms: 9_000 }));
    }
}
