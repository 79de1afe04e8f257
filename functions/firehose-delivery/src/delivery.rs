//! Delivery to Firehose with PutRecordBatch: API limits, retries, and what could not be delivered.
//!
//! Entries go out in calls of at most [`MAX_ENTRIES_PER_CALL`] entries and [`MAX_BYTES_PER_CALL`]
//! bytes. A call can fail whole (throttling, a network error) or in part (a 200 response with
//! `FailedPutCount` and per-entry error codes). Only the entries that failed are sent again, with
//! capped exponential backoff and full jitter, while attempts and the invocation's time allow.
//! Errors that retrying cannot fix (the stream does not exist, access denied) stop at once.
//!
//! With several delivery streams ([`deliver_spread`]), each stream gets its own calls, retries
//! and backoff, all at the same time: a stream that throttles does not hold back the others.

use std::future::Future;
use std::time::{Duration, SystemTime};

use crate::settings::RetryPolicy;
use enrichment::DocumentLimit;

/// PutRecordBatch's limits.
pub const MAX_ENTRIES_PER_CALL: usize = 500;
pub const MAX_BYTES_PER_CALL: usize = 4 * 1024 * 1024;
pub const MAX_ENTRY_BYTES: usize = 1000 * 1024;

/// What keeps each document an entry Firehose accepts: the record limit, less the entry's newline.
/// Over it, the enricher writes the document smaller (tagged `_truncated`), never rejected.
pub fn document_limit() -> DocumentLimit {
    DocumentLimit {
        max_bytes: MAX_ENTRY_BYTES - 1,
        name: format!("Firehose's {MAX_ENTRY_BYTES}-byte record limit"),
    }
}

/// Why a whole call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// Throttling, a 5xx, a timeout or a connection problem: worth another attempt.
    Retryable(String),
    /// The request cannot succeed as it is (missing stream, no permission, bad input).
    Permanent(String),
}

/// Something that takes PutRecordBatch calls: the AWS SDK client, or a test fake.
pub trait RecordBatchSink {
    /// Sends `entries`; on a 200 response, one element per entry: `None` when it was accepted,
    /// `Some(error code)` when it failed.
    fn put_record_batch(
        &self,
        entries: &[&[u8]],
    ) -> impl Future<Output = Result<Vec<Option<String>>, CallError>>;
}

/// What delivery achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Indices (into the entries given) that never got through, in order.
    pub undelivered: Vec<usize>,
    pub delivered: usize,
    /// Entries sent again after a failure (each re-send counts).
    pub retried: usize,
    pub calls: usize,
    /// The last error seen, for the log.
    pub last_error: Option<String>,
}

/// Delivers every entry it can before `deadline`.
pub async fn deliver<S: RecordBatchSink>(
    sink: &S,
    entries: &[&[u8]],
    policy: &RetryPolicy,
    deadline: SystemTime,
) -> DeliveryReport {
    let mut report = DeliveryReport::default();
    let mut pending: Vec<usize> = (0..entries.len()).collect();
    let mut permanent: Vec<usize> = Vec::new();
    let mut attempt = 0;
    while !pending.is_empty() {
        attempt += 1;
        let mut failed = Vec::new();
        for chunk in chunks(&pending, entries) {
            let data: Vec<&[u8]> = chunk.iter().map(|&index| entries[index]).collect();
            report.calls += 1;
            match sink.put_record_batch(&data).await {
                Ok(results) => {
                    for (position, &index) in chunk.iter().enumerate() {
                        // A response without an answer for an entry counts as a failure for it.
                        match results.get(position) {
                            Some(None) => report.delivered += 1,
                            Some(Some(code)) => {
                                report.last_error = Some(code.clone());
                                failed.push(index);
                            }
                            None => failed.push(index),
                        }
                    }
                }
                Err(CallError::Retryable(error)) => {
                    report.last_error = Some(error);
                    failed.extend_from_slice(chunk);
                }
                Err(CallError::Permanent(error)) => {
                    report.last_error = Some(error);
                    permanent.extend_from_slice(chunk);
                }
            }
        }
        pending = failed;
        if pending.is_empty() || attempt >= policy.max_attempts {
            break;
        }
        let delay = backoff(policy, attempt);
        let enough_time =
            SystemTime::now().checked_add(delay + policy.safety_margin).is_some_and(|after| after < deadline);
        if !enough_time {
            break;
        }
        tokio::time::sleep(delay).await;
        report.retried += pending.len();
    }
    report.undelivered = pending;
    report.undelivered.extend(permanent);
    report.undelivered.sort_unstable();
    report
}

/// Delivers entry `i` to `sinks[stream_of[i]]`, every stream at once, each as [`deliver`] does;
/// the report is the sum of theirs, with indices into `entries`.
pub async fn deliver_spread<S: RecordBatchSink>(
    sinks: &[S],
    entries: &[&[u8]],
    stream_of: &[usize],
    policy: &RetryPolicy,
    deadline: SystemTime,
) -> DeliveryReport {
    if let [sink] = sinks {
        return deliver(sink, entries, policy, deadline).await;
    }
    // For each stream: its entries and where each one is in `entries`.
    let mut streams: Vec<(Vec<&[u8]>, Vec<usize>)> = vec![(Vec::new(), Vec::new()); sinks.len()];
    for (index, (&entry, &stream)) in entries.iter().zip(stream_of).enumerate() {
        streams[stream].0.push(entry);
        streams[stream].1.push(index);
    }
    let reports = futures_util::future::join_all(
        sinks.iter().zip(&streams).map(|(sink, (entries, _))| deliver(sink, entries, policy, deadline)),
    )
    .await;
    let mut total = DeliveryReport::default();
    for (report, (_, positions)) in reports.into_iter().zip(&streams) {
        total.undelivered.extend(report.undelivered.iter().map(|&local| positions[local]));
        total.delivered += report.delivered;
        total.retried += report.retried;
        total.calls += report.calls;
        total.last_error = report.last_error.or(total.last_error);
    }
    total.undelivered.sort_unstable();
    total
}

/// Full jitter: a random delay up to the capped exponential step.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exponential = policy.base_delay.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    let cap = exponential.min(policy.max_delay);
    cap.mul_f64(fastrand::f64())
}

/// Consecutive groups of `indices` within the call limits.
fn chunks<'a>(indices: &'a [usize], entries: &[&[u8]]) -> Vec<&'a [usize]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (position, &index) in indices.iter().enumerate() {
        let size = entries[index].len();
        if position > start && (position - start == MAX_ENTRIES_PER_CALL || bytes + size > MAX_BYTES_PER_CALL)
        {
            chunks.push(&indices[start..position]);
            start = position;
            bytes = 0;
        }
        bytes += size;
    }
    if start < indices.len() {
        chunks.push(&indices[start..]);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_both_limits() {
        let small_entry = [b'x'; 100];
        let small: Vec<&[u8]> = vec![&small_entry; 1_201];
        let indices: Vec<usize> = (0..small.len()).collect();
        let sizes: Vec<usize> = chunks(&indices, &small).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [500, 500, 201]);

        let big_entry = vec![b'x'; MAX_ENTRY_BYTES];
        let big: Vec<&[u8]> = vec![&big_entry; 9];
        let indices: Vec<usize> = (0..big.len()).collect();
        let chunked = chunks(&indices, &big);
        assert_eq!(chunked.iter().map(|c| c.len()).collect::<Vec<_>>(), [4, 4, 1]);
        for chunk in chunked {
            assert!(chunk.iter().map(|&i| big[i].len()).sum::<usize>() <= MAX_BYTES_PER_CALL);
        }
        assert!(chunks(&[], &big).is_empty());
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let policy = RetryPolicy::default();
        for attempt in 1..20 {
            let delay = backoff(&policy, attempt);
            assert!(delay <= policy.max_delay);
            assert!(delay <= policy.base_delay * 2u32.pow((attempt - 1).min(10)));
        }
    }
}
