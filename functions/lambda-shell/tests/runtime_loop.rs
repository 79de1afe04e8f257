//! The runtime loop against a local Runtime API: events in as Lambda sends them, answers and
//! errors out as Lambda reads them, and a failure of one invocation never stops the next.
#![allow(clippy::unwrap_used)] // a test that cannot set itself up should stop right there

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use lambda_shell::emf::MetricsTarget;
use lambda_shell::{Function, Handler, RuntimeApi};
use serde::Deserialize;
use serde_json::{Value, json};
use test_support::runtime_api::LocalRuntimeApi;

lambda_shell::invocation_summary! {
    struct Summary {
        calls => "Calls": Count,
    }
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow)]
    text: Cow<'a, str>,
    #[serde(default)]
    panic: bool,
    #[serde(default)]
    fail: bool,
}

/// Echoes what it was given and what the loop told it.
struct Echo {
    calls: u64,
}

impl Handler for Echo {
    type Event<'a> = Event<'a>;
    type Response = Value;
    type Summary = Summary;

    async fn handle(&mut self, event: &Self::Event<'_>, deadline: SystemTime) -> (Value, Summary) {
        self.calls += 1;
        assert!(!event.panic, "asked to panic");
        let left = deadline.duration_since(SystemTime::now()).unwrap_or_default();
        let response = json!({
            "text": event.text,
            "borrowed": matches!(event.text, Cow::Borrowed(_)),
            "fail": event.fail,
            "calls": self.calls,
            "secondsLeft": left.as_secs(),
            "traceId": std::env::var("_X_AMZN_TRACE_ID").ok(),
        });
        (response, Summary { calls: 1 })
    }

    fn invocation_error(response: &Value) -> Option<String> {
        (response["fail"] == true).then(|| format!("asked to fail after {}", response["text"]))
    }

    fn response_json(response: Value) -> Vec<u8> {
        serde_json::to_vec(&response).unwrap()
    }
}

fn serve_in_background(api: &LocalRuntimeApi) {
    let api = RuntimeApi::at(api.address()).unwrap();
    let metrics = MetricsTarget { namespace: "Test".into(), function_name: "echo".into() };
    let function = Function { handler: Echo { calls: 0 }, metrics };
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(lambda_shell::serve(api, function)).unwrap();
    });
}

#[test]
fn each_invocation_is_answered_or_failed_on_its_own() {
    let api = LocalRuntimeApi::start();
    serve_in_background(&api);
    let wait = Duration::from_secs(30);

    api.enqueue("first", br#"{"text": "hello"}"#);
    let first: Value = serde_json::from_slice(&api.wait_for(&["first"], wait)["first"]).unwrap();
    assert_eq!(first["text"], "hello");
    assert_eq!(first["borrowed"], true, "strings without escapes are read in place");
    assert_eq!(first["calls"], 1);
    assert!((58..=60).contains(&first["secondsLeft"].as_u64().unwrap()), "the deadline header: {first}");
    assert_eq!(first["traceId"], "Root=1-6740a1b2-0123456789abcdef01234567;Sampled=0");

    api.enqueue("panics", br#"{"text": "x", "panic": true}"#);
    let error = api.take_error(wait);
    assert!(error.starts_with("POST /2018-06-01/runtime/invocation/panics/error: "), "{error}");
    let body: Value = serde_json::from_str(error.split_once(": ").unwrap().1).unwrap();
    assert_eq!(body, json!({"errorType": "Panic", "errorMessage": "asked to panic"}));

    api.enqueue("not-json", b"{\"text\": ");
    let error = api.take_error(wait);
    assert!(error.starts_with("POST /2018-06-01/runtime/invocation/not-json/error: "), "{error}");
    assert!(error.contains(r#""errorType":"InvalidEvent""#), "{error}");
    assert!(
        error.contains("failed to deserialize the incoming data into the function's payload type"),
        "{error}"
    );

    api.enqueue("not-utf8", b"{\"text\": \"caf\xe9\"}");
    let error = api.take_error(wait);
    assert!(error.contains(r#""errorType":"InvalidEvent""#), "{error}");
    assert!(
        error.contains("the event is not UTF-8: invalid utf-8 sequence of 1 bytes from index 13"),
        "{error}"
    );

    api.enqueue("fails", br#"{"text": "escaped \"quotes\"", "fail": true}"#);
    let error = api.take_error(wait);
    let body: Value = serde_json::from_str(error.split_once(": ").unwrap().1).unwrap();
    assert_eq!(
        body,
        json!({"errorType": "InvocationFailed", "errorMessage": r#"asked to fail after "escaped \"quotes\"""#})
    );

    // The handler's state survived the panic; every invocation reached it once.
    api.enqueue("last", br#"{"text": "again"}"#);
    let last: Value = serde_json::from_slice(&api.wait_for(&["last"], wait)["last"]).unwrap();
    assert_eq!((last["text"].as_str(), last["calls"].as_u64()), (Some("again"), Some(4)));
}
