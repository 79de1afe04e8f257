//! `FaultyFirehose`: a fake Firehose PutRecordBatch endpoint (awsJson1_1 on 127.0.0.1) that
//! injects the failures the real service produces under load and moto never does: whole calls
//! throttled, entries failing once inside a 200 response, entries failing every time. It rejects
//! calls over the API limits, like Firehose, and records them as violations for the test to see.
//! It can hold several delivery streams, throttle one of them, and enforce a per-stream quota in
//! bytes per second (Firehose's DirectPut quota is 5 MiB/s per stream by default) the way the
//! service does: a call over the quota is throttled whole. And it can stop answering (hang).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::http::{HttpServer, Response};

/// What to break. Entries are picked by a substring of their data.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The first this-many calls are throttled whole (`ServiceUnavailableException`).
    pub throttled_calls: usize,
    /// An entry containing one of these fails the first time it is sent.
    pub fail_once: Vec<String>,
    /// An entry containing one of these fails every time.
    pub fail_always: Vec<String>,
    /// The delivery streams that exist; none given: [`STREAM`].
    pub streams: Vec<String>,
    /// Every call to these streams is throttled.
    pub throttled_streams: Vec<String>,
    /// Each stream takes at most this many bytes of entries per second; a call that would go over
    /// is throttled whole.
    pub bytes_per_second: Option<usize>,
    /// Every call after the first this-many gets no answer at all: the connection stays open and
    /// silent (a hung endpoint), for longer than any test waits.
    pub hang_after_calls: Option<usize>,
    /// Every call is answered only after this long (a slow endpoint).
    pub answer_after: Duration,
}

#[derive(Debug, Default)]
pub struct Observed {
    /// Data of every accepted entry, in order of acceptance.
    pub accepted: Vec<Vec<u8>>,
    /// The stream of each entry of `accepted`.
    pub accepted_streams: Vec<String>,
    /// Calls throttled by the quota of `bytes_per_second` or `throttled_streams`.
    pub quota_throttled_calls: usize,
    /// Per stream: the start of the current second and the bytes accepted in it.
    windows: HashMap<String, (Instant, usize)>,
    pub calls: usize,
    /// (entries, bytes) of each call that was not throttled.
    pub call_sizes: Vec<(usize, usize)>,
    /// Calls over PutRecordBatch's limits.
    pub violations: Vec<String>,
    seen: HashSet<Vec<u8>>,
}

#[derive(Debug)]
pub struct FaultyFirehose {
    server: HttpServer,
    observed: Arc<Mutex<Observed>>,
}

pub const STREAM: &str = "weblogs-enriched";

impl FaultyFirehose {
    pub fn start(faults: Faults) -> Self {
        let observed = Arc::new(Mutex::new(Observed::default()));
        let shared = Arc::clone(&observed);
        let server = HttpServer::start(move |request| {
            let error = |status: u16, kind: &str, message: &str| {
                Response::new(status, json!({"__type": kind, "message": message}).to_string())
                    .header("Content-Type", "application/x-amz-json-1.1")
                    .header("x-amzn-ErrorType", kind)
            };
            if request.header("X-Amz-Target") != Some("Firehose_20150804.PutRecordBatch") {
                return error(400, "UnknownOperationException", "only PutRecordBatch is faked here");
            }
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let calls = {
                let mut observed = shared.lock().unwrap();
                observed.calls += 1;
                observed.calls
            };
            if faults.hang_after_calls.is_some_and(|answered| calls > answered) {
                std::thread::sleep(Duration::from_secs(600));
            }
            std::thread::sleep(faults.answer_after);
            let stream = body["DeliveryStreamName"].as_str().unwrap_or("").to_owned();
            let exists =
                if faults.streams.is_empty() { stream == STREAM } else { faults.streams.contains(&stream) };
            if !exists {
                return error(400, "ResourceNotFoundException", &format!("Firehose {stream} not found"));
            }
            let entries: Vec<Vec<u8>> = body["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|record| BASE64.decode(record["Data"].as_str().unwrap()).unwrap())
                .collect();
            let mut observed = shared.lock().unwrap();
            if observed.calls <= faults.throttled_calls {
                return error(503, "ServiceUnavailableException", "Slow down.");
            }
            let bytes: usize = entries.iter().map(Vec::len).sum();
            if faults.throttled_streams.contains(&stream)
                || !observed.within_quota(&stream, bytes, faults.bytes_per_second)
            {
                observed.quota_throttled_calls += 1;
                return error(503, "ServiceUnavailableException", "Slow down.");
            }
            if entries.len() > 500 || bytes > 4 * 1024 * 1024 || entries.iter().any(|e| e.len() > 1000 * 1024)
            {
                let violation = format!("{} entries, {bytes} bytes", entries.len());
                observed.violations.push(violation.clone());
                return error(400, "InvalidArgumentException", &violation);
            }
            observed.call_sizes.push((entries.len(), bytes));
            let contains = |data: &[u8], needles: &[String]| {
                let text = String::from_utf8_lossy(data);
                needles.iter().any(|needle| text.contains(needle.as_str()))
            };
            let mut failed = 0;
            let responses: Vec<Value> = entries
                .into_iter()
                .map(|data| {
                    let first_time = observed.seen.insert(data.clone());
                    if contains(&data, &faults.fail_always)
                        || (first_time && contains(&data, &faults.fail_once))
                    {
                        failed += 1;
                        json!({"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."})
                    } else {
                        observed.accepted.push(data);
                        observed.accepted_streams.push(stream.clone());
                        json!({"RecordId": format!("{:064}", observed.accepted.len())})
                    }
                })
                .collect();
            Response::new(
                200,
                json!({"FailedPutCount": failed, "Encrypted": false, "RequestResponses": responses})
                    .to_string(),
            )
            .header("Content-Type", "application/x-amz-json-1.1")
        });
        Self { server, observed }
    }

    /// For `AWS_ENDPOINT_URL_FIREHOSE`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn observed<T>(&self, look: impl FnOnce(&Observed) -> T) -> T {
        look(&self.observed.lock().unwrap())
    }
}

impl Observed {
    /// Whether `stream` may take `bytes` more in the current second; if so they are counted.
    fn within_quota(&mut self, stream: &str, bytes: usize, quota: Option<usize>) -> bool {
        let Some(quota) = quota else { return true };
        let now = Instant::now();
        let window = self.windows.entry(stream.to_owned()).or_insert((now, 0));
        if now.duration_since(window.0) >= Duration::from_secs(1) {
            *window = (now, 0);
        }
        if window.1 + bytes > quota {
            return false;
        }
        window.1 += bytes;
        true
    }
}
