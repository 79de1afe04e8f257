//! Delivery of a batch's entries to a sink (Firehose's PutRecordBatch, OpenSearch's `_bulk`):
//! the call limits, retries, and what could not be delivered.
//!
//! Entries go out in calls within the sink's [`CallLimits`]. A call can fail whole (throttling, a
//! network error) or in part (a 200 response with per-entry results). Only the entries that
//! failed are sent again, with capped exponential backoff and full jitter, while attempts and the
//! invocation's time allow. Errors that retrying cannot fix (the stream does not exist, access
//! denied) stop at once. An entry the destination refuses for its content (OpenSearch's mapping
//! errors) is not sent again: it is reported apart, for the caller to keep elsewhere.
//!
//! With several delivery streams ([`deliver_spread`]), each stream gets its own calls, retries
//! and backoff, all at the same time: a stream that throttles does not hold back the others. What
//! a stream still has not taken at the end (refused, throttled past the retries, hung) is then
//! sent to the streams that took everything they were given, so one broken stream among healthy
//! ones costs no document.

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

/// What one call may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    pub max_entries: usize,
    pub max_bytes: usize,
}

/// PutRecordBatch's limits.
pub const FIREHOSE_CALL_LIMITS: CallLimits =
    CallLimits { max_entries: MAX_ENTRIES_PER_CALL, max_bytes: MAX_BYTES_PER_CALL };

/// What became of one entry of a call that was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryResult {
    Delivered,
    /// The destination holds it already (a document created earlier with the same id).
    AlreadyThere,
    /// Not taken this time (throttled, a passing error): worth sending again.
    Retry(String),
    /// Refused for what it holds (a mapping error): sending it again cannot help.
    Refused(String),
}

/// Why a whole call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// Throttling, a 5xx, a timeout or a connection problem: worth another attempt.
    Retryable(String),
    /// The request cannot succeed as it is (missing stream, no permission, bad input).
    Permanent(String),
}

/// Something that takes batches of entries: Firehose, OpenSearch, or a test fake.
pub trait RecordBatchSink {
    /// What one call may hold.
    fn limits(&self) -> CallLimits {
        FIREHOSE_CALL_LIMITS
    }

    /// Sends `entries`; when the call is answered, one result per entry.
    fn send_batch(&self, entries: &[&[u8]]) -> impl Future<Output = Result<Vec<EntryResult>, CallError>>;
}

/// What delivery achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Indices (into the entries given) that never got through, in order.
    pub undelivered: Vec<usize>,
    /// Entries the destination took, those it already held included.
    pub delivered: usize,
    /// Of `delivered`, those the destination already held (created by an earlier attempt).
    pub already_there: usize,
    /// Indices of the entries refused for their content, with the reason, in order: not
    /// undelivered, not delivered; the caller keeps them elsewhere.
    pub refused: Vec<(usize, String)>,
    /// Entries sent again after a failure (each re-send counts).
    pub retried: usize,
    /// Entries a stream did not take that were sent to another one (several streams only).
    pub rerouted: usize,
    pub calls: usize,
    /// The last error seen, for the log.
    pub last_error: Option<String>,
}

/// Delivers every entry it can before `deadline`.
///
/// The deadline holds inside a round too: no call starts within the policy's safety margin of it,
/// and every call is cut off when it would run into that margin (a hung endpoint, the SDK's own
/// timeouts being longer). Entries whose call was cut off or never made are undelivered, so the
/// caller answers in time with what is left to do.
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
        let mut out_of_time = false;
        for chunk in chunks(&pending, entries, sink.limits()) {
            let time_for_call = time_before_margin(deadline, policy.safety_margin);
            if out_of_time || time_for_call.is_zero() {
                out_of_time = true;
                report.last_error.get_or_insert_with(|| "not sent: the invocation's time ran out".into());
                failed.extend_from_slice(chunk);
                continue;
            }
            let data: Vec<&[u8]> = chunk.iter().map(|&index| entries[index]).collect();
            report.calls += 1;
            let answer = tokio::time::timeout(time_for_call, sink.send_batch(&data)).await;
            match answer {
                Ok(Ok(results)) => {
                    for (position, &index) in chunk.iter().enumerate() {
                        // A response without an answer for an entry counts as a failure for it.
                        match results.get(position) {
                            Some(EntryResult::Delivered) => report.delivered += 1,
                            Some(EntryResult::AlreadyThere) => {
                                report.delivered += 1;
                                report.already_there += 1;
                            }
                            Some(EntryResult::Retry(code)) => {
                                report.last_error = Some(code.clone());
                                failed.push(index);
                            }
                            Some(EntryResult::Refused(reason)) => {
                                report.last_error = Some(reason.clone());
                                report.refused.push((index, reason.clone()));
                            }
                            None => failed.push(index),
                        }
                    }
                }
                Ok(Err(CallError::Retryable(error))) => {
                    report.last_error = Some(error);
                    failed.extend_from_slice(chunk);
                }
                Ok(Err(CallError::Permanent(error))) => {
                    report.last_error = Some(error);
                    permanent.extend_from_slice(chunk);
                }
                Err(_elapsed) => {
                    report.last_error = Some(format!(
                        "no answer within the invocation's time (the call was cut off after {:.1} s)",
                        time_for_call.as_secs_f64()
                    ));
                    out_of_time = true;
                    failed.extend_from_slice(chunk);
                }
            }
        }
        pending = failed;
        if pending.is_empty() || out_of_time || attempt >= policy.max_attempts {
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
    report.refused.sort_unstable_by_key(|&(index, _)| index);
    report
}

/// The time from now until `margin` before `deadline`; zero when that is already past.
fn time_before_margin(deadline: SystemTime, margin: Duration) -> Duration {
    deadline
        .checked_sub(margin)
        .and_then(|cutoff| cutoff.duration_since(SystemTime::now()).ok())
        .unwrap_or_default()
}

/// Delivers entry `i` to `sinks[stream_of[i]]`, every stream at once, each as [`deliver`] does;
/// then what a stream did not take goes, spread evenly, to the streams that took all of theirs (one
/// more pass, within the same deadline). The report is the sum, with indices into `entries`.
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
    let (mut total, healthy) = deliver_to_streams(sinks, entries, stream_of, policy, deadline).await;
    if total.undelivered.is_empty() || healthy.is_empty() {
        return total;
    }
    let left: Vec<usize> = std::mem::take(&mut total.undelivered);
    tracing::warn!(
        entries = left.len(),
        last_error = total.last_error.as_deref().unwrap_or(""),
        "a delivery stream did not take its entries: sent to the others"
    );
    let left_entries: Vec<&[u8]> = left.iter().map(|&index| entries[index]).collect();
    let rerouted_to: Vec<usize> = (0..left.len()).map(|position| healthy[position % healthy.len()]).collect();
    let (second, _) = deliver_to_streams(sinks, &left_entries, &rerouted_to, policy, deadline).await;
    total.rerouted = left.len();
    total.undelivered = second.undelivered.iter().map(|&position| left[position]).collect();
    total.delivered += second.delivered;
    total.already_there += second.already_there;
    total.refused.extend(second.refused.into_iter().map(|(position, reason)| (left[position], reason)));
    total.refused.sort_unstable_by_key(|&(index, _)| index);
    total.retried += second.retried;
    total.calls += second.calls;
    total.last_error = second.last_error.or(total.last_error);
    total
}

/// Each stream's entries delivered at once; the summed report, and the streams that were given
/// entries and took them all.
async fn deliver_to_streams<S: RecordBatchSink>(
    sinks: &[S],
    entries: &[&[u8]],
    stream_of: &[usize],
    policy: &RetryPolicy,
    deadline: SystemTime,
) -> (DeliveryReport, Vec<usize>) {
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
    let mut healthy = Vec::new();
    for (stream, (report, (_, positions))) in reports.into_iter().zip(&streams).enumerate() {
        if report.undelivered.is_empty() && report.delivered > 0 {
            healthy.push(stream);
        }
        total.undelivered.extend(report.undelivered.iter().map(|&local| positions[local]));
        total.delivered += report.delivered;
        total.already_there += report.already_there;
        total.refused.extend(report.refused.into_iter().map(|(local, reason)| (positions[local], reason)));
        total.retried += report.retried;
        total.calls += report.calls;
        total.last_error = report.last_error.or(total.last_error);
    }
    total.undelivered.sort_unstable();
    total.refused.sort_unstable_by_key(|&(index, _)| index);
    (total, healthy)
}

/// Full jitter: a random delay up to the capped exponential step.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exponential = policy.base_delay.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    let cap = exponential.min(policy.max_delay);
    cap.mul_f64(fastrand::f64())
}

/// Consecutive groups of `indices` within the call limits.
fn chunks<'a>(indices: &'a [usize], entries: &[&[u8]], limits: CallLimits) -> Vec<&'a [usize]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (position, &index) in indices.iter().enumerate() {
        let size = entries[index].len();
        if position > start && (position - start == limits.max_entries || bytes + size > limits.max_bytes) {
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
        let sizes: Vec<usize> =
            chunks(&indices, &small, FIREHOSE_CALL_LIMITS).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [500, 500, 201]);

        let big_entry = vec![b'x'; MAX_ENTRY_BYTES];
        let big: Vec<&[u8]> = vec![&big_entry; 9];
        let indices: Vec<usize> = (0..big.len()).collect();
        let chunked = chunks(&indices, &big, FIREHOSE_CALL_LIMITS);
        assert_eq!(chunked.iter().map(|c| c.len()).collect::<Vec<_>>(), [4, 4, 1]);
        for chunk in chunked {
            assert!(chunk.iter().map(|&i| big[i].len()).sum::<usize>() <= MAX_BYTES_PER_CALL);
        }
        assert!(chunks(&[], &big, FIREHOSE_CALL_LIMITS).is_empty());
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

/// The delivery loop against `ScriptedSink`, a fake PutRecordBatch that answers each call as its
/// script says and records what it was sent (the real endpoint cannot be made to fail on cue).
#[cfg(test)]
mod loop_tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use super::*;

    /// How one call is answered.
    #[derive(Debug, Clone)]
    enum Answer {
        /// A 200 answer: these positions of the call's entries fail with this code.
        Failing(Vec<usize>, &'static str),
        /// A 200 answer with fewer results than entries.
        Short,
        /// A 200 answer with these results, in order.
        Results(Vec<EntryResult>),
        Retryable,
        Permanent,
        /// No answer at all, ever (a hung endpoint).
        Hang,
    }

    /// A fake PutRecordBatch: the next scripted answer per call (everything accepted once the
    /// script is used up), every call's entries recorded.
    #[derive(Debug, Default)]
    struct ScriptedSink {
        script: RefCell<VecDeque<Answer>>,
        calls: RefCell<Vec<Vec<Vec<u8>>>>,
    }

    impl ScriptedSink {
        fn new(script: impl IntoIterator<Item = Answer>) -> Self {
            Self { script: RefCell::new(script.into_iter().collect()), calls: RefCell::default() }
        }

        /// Every entry sent, call by call, as text.
        fn sent(&self) -> Vec<Vec<String>> {
            let calls = self.calls.borrow();
            calls
                .iter()
                .map(|call| call.iter().map(|entry| String::from_utf8_lossy(entry).into_owned()).collect())
                .collect()
        }
    }

    impl RecordBatchSink for ScriptedSink {
        async fn send_batch(&self, entries: &[&[u8]]) -> Result<Vec<EntryResult>, CallError> {
            self.calls.borrow_mut().push(entries.iter().map(|entry| entry.to_vec()).collect());
            let answer = self.script.borrow_mut().pop_front();
            match answer {
                None => Ok(vec![EntryResult::Delivered; entries.len()]),
                Some(Answer::Failing(positions, code)) => Ok((0..entries.len())
                    .map(|position| match positions.contains(&position) {
                        true => EntryResult::Retry(code.to_owned()),
                        false => EntryResult::Delivered,
                    })
                    .collect()),
                Some(Answer::Short) => Ok(vec![EntryResult::Delivered; entries.len() / 2]),
                Some(Answer::Results(results)) => Ok(results),
                Some(Answer::Retryable) => {
                    Err(CallError::Retryable("ServiceUnavailableException: slow down".into()))
                }
                Some(Answer::Permanent) => {
                    Err(CallError::Permanent("ResourceNotFoundException: no stream".into()))
                }
                Some(Answer::Hang) => std::future::pending().await,
            }
        }
    }

    fn quick() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            safety_margin: Duration::from_millis(10),
        }
    }

    fn far() -> SystemTime {
        SystemTime::now() + Duration::from_secs(60)
    }

    fn entries(names: &[&'static str]) -> Vec<&'static [u8]> {
        names.iter().map(|name| name.as_bytes()).collect()
    }

    fn run<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    #[test]
    fn only_the_entries_that_failed_are_sent_again() {
        let sink = ScriptedSink::new([Answer::Failing(vec![1, 3], "ServiceUnavailableException: slow down")]);
        let report = run(deliver(&sink, &entries(&["a", "b", "c", "d"]), &quick(), far()));
        assert_eq!(sink.sent(), [vec!["a", "b", "c", "d"], vec!["b", "d"]]);
        assert_eq!(
            report,
            DeliveryReport {
                undelivered: vec![],
                delivered: 4,
                already_there: 0,
                refused: vec![],
                retried: 2,
                rerouted: 0,
                calls: 2,
                last_error: Some("ServiceUnavailableException: slow down".into()),
            }
        );
    }

    #[test]
    fn entries_already_there_count_as_delivered_and_refused_ones_are_not_sent_again() {
        let sink = ScriptedSink::new([Answer::Results(vec![
            EntryResult::Delivered,
            EntryResult::AlreadyThere,
            EntryResult::Refused("mapper_parsing_exception: failed to parse [source.ip]".into()),
            EntryResult::Retry("es_rejected_execution_exception: queue full".into()),
        ])]);
        let report = run(deliver(&sink, &entries(&["a", "b", "c", "d"]), &quick(), far()));
        assert_eq!(sink.sent(), [vec!["a", "b", "c", "d"], vec!["d"]]);
        assert_eq!((report.delivered, report.already_there, report.retried), (3, 1, 1));
        assert_eq!(report.refused, [(2, "mapper_parsing_exception: failed to parse [source.ip]".to_owned())]);
        assert!(report.undelivered.is_empty());
    }

    #[test]
    fn a_sink_s_own_limits_cut_the_calls() {
        struct Small(ScriptedSink);
        impl RecordBatchSink for Small {
            fn limits(&self) -> CallLimits {
                CallLimits { max_entries: 3, max_bytes: 5 }
            }
            async fn send_batch(&self, entries: &[&[u8]]) -> Result<Vec<EntryResult>, CallError> {
                self.0.send_batch(entries).await
            }
        }
        let sink = Small(ScriptedSink::new([]));
        run(deliver(&sink, &entries(&["a", "b", "c", "d", "eeee", "ffffff"]), &quick(), far()));
        assert_eq!(sink.0.sent(), [vec!["a", "b", "c"], vec!["d", "eeee"], vec!["ffffff"]]);
    }

    #[test]
    fn an_answer_without_a_result_for_an_entry_fails_that_entry() {
        let sink = ScriptedSink::new([Answer::Short]);
        let report = run(deliver(&sink, &entries(&["a", "b", "c", "d"]), &quick(), far()));
        assert_eq!(sink.sent(), [vec!["a", "b", "c", "d"], vec!["c", "d"]]);
        assert_eq!((report.delivered, report.undelivered.len()), (4, 0));
    }

    #[test]
    fn a_whole_call_that_can_succeed_later_is_retried_until_the_attempts_run_out() {
        let sink = ScriptedSink::new(std::iter::repeat_n(Answer::Retryable, 10));
        let report = run(deliver(&sink, &entries(&["a", "b"]), &quick(), far()));
        assert_eq!(sink.sent().len(), 4, "max_attempts calls");
        assert_eq!(report.undelivered, [0, 1]);
        assert_eq!((report.delivered, report.retried, report.calls), (0, 6, 4));
        assert!(report.last_error.is_some_and(|error| error.contains("ServiceUnavailable")));
    }

    #[test]
    fn a_permanent_error_is_not_retried_and_the_other_chunks_still_go() {
        // 501 entries: two calls; the first is refused for good, the second goes through.
        let many: Vec<&[u8]> = vec![b"x"; MAX_ENTRIES_PER_CALL + 1];
        let sink = ScriptedSink::new([Answer::Permanent]);
        let report = run(deliver(&sink, &many, &quick(), far()));
        assert_eq!(sink.sent().iter().map(Vec::len).collect::<Vec<_>>(), [500, 1]);
        assert_eq!(report.undelivered, (0..500).collect::<Vec<_>>());
        assert_eq!((report.delivered, report.retried, report.calls), (1, 0, 2));
        assert!(report.last_error.is_some_and(|error| error.contains("ResourceNotFound")));
    }

    #[test]
    fn nothing_starts_inside_the_safety_margin() {
        let policy = RetryPolicy { safety_margin: Duration::from_secs(3), ..quick() };
        let sink = ScriptedSink::new([]);
        let report =
            run(deliver(&sink, &entries(&["a", "b"]), &policy, SystemTime::now() + Duration::from_secs(2)));
        assert_eq!((report.delivered, report.calls, report.undelivered.len()), (0, 0, 2));
        // Inside the margin already: no call starts, everything is left for the caller to report.
        let sink = ScriptedSink::new([]);
        let report = run(deliver(&sink, &entries(&["a"]), &quick(), SystemTime::now()));
        assert_eq!((report.delivered, report.calls, report.undelivered.len()), (0, 0, 1));
        assert!(sink.sent().is_empty());
    }

    #[test]
    fn a_call_that_never_answers_is_cut_off_before_the_deadline_and_the_rest_is_not_sent() {
        // Three calls' worth; the first hangs. It is cut off at the margin, the two chunks after
        // it are not started, and everything comes back undelivered while time remains.
        let many: Vec<&[u8]> = vec![b"x"; 2 * MAX_ENTRIES_PER_CALL + 1];
        let policy = RetryPolicy { safety_margin: Duration::from_millis(700), ..quick() };
        let deadline = SystemTime::now() + Duration::from_millis(1_000);
        let sink = ScriptedSink::new([Answer::Hang]);
        let report = run(deliver(&sink, &many, &policy, deadline));
        assert!(SystemTime::now() < deadline, "answered before the deadline");
        assert_eq!(sink.sent().len(), 1, "no call after the cut-off one");
        assert_eq!(report.undelivered, (0..many.len()).collect::<Vec<_>>());
        assert_eq!((report.delivered, report.calls, report.retried), (0, 1, 0));
        assert!(
            report.last_error.is_some_and(|error| error.contains("no answer within the invocation's time"))
        );
    }

    #[test]
    fn a_hung_stream_does_not_hold_back_the_others() {
        let sinks = [ScriptedSink::new([Answer::Hang]), ScriptedSink::new([])];
        let policy = RetryPolicy { safety_margin: Duration::from_millis(700), ..quick() };
        let deadline = SystemTime::now() + Duration::from_millis(1_000);
        let report = run(deliver_spread(&sinks, &entries(&["a", "b", "c"]), &[0, 1, 0], &policy, deadline));
        assert!(SystemTime::now() < deadline);
        // The hung stream's two were cut off at the margin, inside which no call starts: they
        // are not rerouted, and come back undelivered in time.
        assert_eq!((report.undelivered, report.delivered), (vec![0, 2], 1));
    }

    #[test]
    fn spread_entries_go_to_their_stream_and_come_back_as_indices_of_all() {
        let throttled = ScriptedSink::new(std::iter::repeat_n(Answer::Retryable, 10));
        let flaky = ScriptedSink::new([Answer::Failing(vec![0], "InternalFailure: once")]);
        let fine = ScriptedSink::new([]);
        let sinks = [throttled, flaky, fine];
        let all = entries(&["a", "b", "c", "d", "e", "f"]);
        let stream_of = [1, 0, 2, 1, 0, 2];
        let report = run(deliver_spread(&sinks, &all, &stream_of, &quick(), far()));
        assert_eq!(sinks[0].sent(), vec![vec!["b", "e"]; 4]);
        // Then the throttled stream's two go to the streams that took all of theirs, one each.
        assert_eq!(sinks[1].sent(), [vec!["a", "d"], vec!["a"], vec!["b"]]);
        assert_eq!(sinks[2].sent(), [vec!["c", "f"], vec!["e"]]);
        assert!(report.undelivered.is_empty());
        assert_eq!((report.delivered, report.calls, report.rerouted), (6, 9, 2));
        assert_eq!(report.retried, 6 + 1);
    }

    #[test]
    fn what_no_healthy_stream_is_left_to_take_stays_undelivered() {
        let refusing = ScriptedSink::new(std::iter::repeat_n(Answer::Permanent, 10));
        let throttled = ScriptedSink::new(std::iter::repeat_n(Answer::Retryable, 10));
        let sinks = [refusing, throttled];
        let report = run(deliver_spread(&sinks, &entries(&["a", "b", "c"]), &[0, 1, 0], &quick(), far()));
        assert_eq!(report.undelivered, [0, 1, 2], "as indices of all");
        assert_eq!((report.delivered, report.rerouted), (0, 0));
        assert_eq!(sinks[0].sent(), [vec!["a", "c"]], "a refusal is not retried");
    }

    #[test]
    fn a_refusing_stream_loses_nothing_when_another_is_healthy() {
        let sinks = [ScriptedSink::new([Answer::Permanent]), ScriptedSink::new([])];
        let report =
            run(deliver_spread(&sinks, &entries(&["a", "b", "c", "d"]), &[0, 1, 0, 1], &quick(), far()));
        assert_eq!(sinks[1].sent(), [vec!["b", "d"], vec!["a", "c"]]);
        assert_eq!((report.undelivered.len(), report.delivered, report.rerouted), (0, 4, 2));
        assert!(report.last_error.is_some_and(|error| error.contains("ResourceNotFound")), "still told");
    }

    #[test]
    fn one_stream_is_delivered_without_spreading() {
        let sink = [ScriptedSink::new([])];
        let report = run(deliver_spread(&sink, &entries(&["a", "b"]), &[0, 0], &quick(), far()));
        assert_eq!(sink[0].sent(), [vec!["a", "b"]]);
        assert_eq!(report.delivered, 2);
    }
}
