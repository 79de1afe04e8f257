//! `LocalRuntimeApi`: a stand-in for Lambda's Runtime API (the HTTP interface a function's `main`
//! polls), so the real binary can be run and invoked in tests. It hands out queued events on
//! `GET /2018-06-01/runtime/invocation/next` and records what the function posts back.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::http::{HttpServer, Response};

#[derive(Default)]
struct State {
    pending: VecDeque<(String, Vec<u8>, u64)>,
    responses: HashMap<String, Vec<u8>>,
    errors: Vec<String>,
}

pub struct LocalRuntimeApi {
    server: HttpServer,
    state: Arc<(Mutex<State>, Condvar)>,
}

impl std::fmt::Debug for LocalRuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRuntimeApi").field("address", &self.server.address).finish_non_exhaustive()
    }
}

impl LocalRuntimeApi {
    pub fn start() -> Self {
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let shared = Arc::clone(&state);
        let server = HttpServer::start(move |request| {
            let (lock, changed) = &*shared;
            if request.method == "GET" && request.path.ends_with("/runtime/invocation/next") {
                let (id, event, timeout_ms) = {
                    let mut state = lock.lock().unwrap();
                    loop {
                        if let Some(next) = state.pending.pop_front() {
                            break next;
                        }
                        state = changed.wait(state).unwrap();
                    }
                };
                let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
                    + u128::from(timeout_ms);
                return Response::new(200, event)
                    .header("Content-Type", "application/json")
                    .header("Lambda-Runtime-Aws-Request-Id", id)
                    .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
                    .header(
                        "Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:eu-west-1:123456789012:function:test",
                    )
                    .header("Lambda-Runtime-Trace-Id", "Root=1-6740a1b2-0123456789abcdef01234567;Sampled=0");
            }
            let mut state = lock.lock().unwrap();
            let segments: Vec<&str> = request.path.split('/').collect();
            match segments.as_slice() {
                [.., "invocation", id, "response"] => {
                    state.responses.insert((*id).to_owned(), request.body);
                }
                _ => state.errors.push(format!(
                    "{} {}: {}",
                    request.method,
                    request.path,
                    String::from_utf8_lossy(&request.body)
                )),
            }
            changed.notify_all();
            Response::new(202, Vec::new())
        });
        Self { server, state }
    }

    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> &str {
        &self.server.address
    }

    /// Queues an invocation with a 60-second deadline.
    pub fn enqueue(&self, request_id: &str, event: &[u8]) {
        self.enqueue_with_timeout(request_id, event, Duration::from_secs(60));
    }

    pub fn enqueue_with_timeout(&self, request_id: &str, event: &[u8], timeout: Duration) {
        let (lock, ready) = &*self.state;
        let millis = u64::try_from(timeout.as_millis()).unwrap();
        lock.lock().unwrap().pending.push_back((request_id.to_owned(), event.to_vec(), millis));
        ready.notify_all();
    }

    /// Waits for the responses to `ids` for at most `timeout`; panics on a reported error.
    pub fn wait_for(&self, ids: &[&str], timeout: Duration) -> HashMap<String, Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let (lock, changed) = &*self.state;
        let mut state = lock.lock().unwrap();
        loop {
            assert!(state.errors.is_empty(), "the function reported errors: {:?}", state.errors);
            if ids.iter().all(|id| state.responses.contains_key(*id)) {
                return state.responses.clone();
            }
            let left =
                deadline.checked_duration_since(Instant::now()).expect("timed out waiting for responses");
            state = changed.wait_timeout(state, left).unwrap().0;
        }
    }

    /// Waits for the next error the function reports (`POST …/error`) for at most `timeout`, and
    /// takes it: "METHOD PATH: BODY".
    pub fn take_error(&self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let (lock, changed) = &*self.state;
        let mut state = lock.lock().unwrap();
        loop {
            if !state.errors.is_empty() {
                return state.errors.remove(0);
            }
            let left =
                deadline.checked_duration_since(Instant::now()).expect("timed out waiting for an error");
            state = changed.wait_timeout(state, left).unwrap().0;
        }
    }

    /// Environment variables a Lambda runtime reads, pointed at this endpoint.
    pub fn lambda_environment(&self, function_name: &str) -> Vec<(String, String)> {
        [
            ("AWS_LAMBDA_RUNTIME_API", self.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", function_name),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/21/[$LATEST]0123456789abcdef"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{function_name}")),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_REGION", "eu-west-1"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }
}
