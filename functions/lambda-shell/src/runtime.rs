//! The invocation loop every function's `main` runs after start-up ([`crate::start`]): handle,
//! then one INFO line and one EMF line per invocation.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Instant, SystemTime};

use enrichment::Timestamp;
use futures_util::FutureExt;
use serde::Deserialize;
use tracing::Instrument;

use crate::emf::MetricsTarget;
use crate::runtime_api::{Invocation, RuntimeApi};
use crate::startup::Function;
use crate::summary::InvocationSummary;

/// What stops the runtime loop: the Runtime API cannot be reached or answers nonsense.
pub type Error = lambda_runtime_api_client::BoxError;

/// A function's handler: one event in, one response and a summary out. It never fails: what
/// cannot be processed is in the response (a `ProcessingFailed` record, a batch item failure).
pub trait Handler: Send + 'static {
    /// The event, read from the invocation's JSON; it may borrow from it.
    type Event<'a>: Deserialize<'a>;
    type Response: Send;
    type Summary: InvocationSummary;

    /// Handles one event; `deadline` is when Lambda stops the invocation.
    fn handle(
        &mut self,
        event: &Self::Event<'_>,
        deadline: SystemTime,
    ) -> impl Future<Output = (Self::Response, Self::Summary)>;

    /// When the invocation should be reported to Lambda as failed (so that Lambda tries an
    /// asynchronous event again): why. By default never.
    fn invocation_error(response: &Self::Response) -> Option<String> {
        let _ = response;
        None
    }

    /// The response's JSON, as Lambda hands it to the invoker.
    fn response_json(response: Self::Response) -> Vec<u8>;
}

/// Logs through `tracing` to stdout, as JSON when the function's log format is JSON
/// (`AWS_LAMBDA_LOG_FORMAT`), as text otherwise, at the level of Lambda's advanced logging
/// controls (`AWS_LAMBDA_LOG_LEVEL`), else `RUST_LOG`'s, else INFO. The lines are those of
/// `lambda_runtime_api_client::tracing::init_default_subscriber`, with a level instead of its
/// `EnvFilter` (whose per-target directives nothing here needs, and whose regex engine features
/// made every regular expression of the process, woothee's too, compile to a full DFA).
pub fn init_tracing() {
    let level = ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"].iter().find_map(|name| std::env::var(name).ok());
    let subscriber = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(log_level(level.as_deref()))
        .with_writer(std::io::stdout);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    if json { subscriber.json().init() } else { subscriber.init() }
}

/// A log level by its name (`DEBUG`, `warn`, ...); INFO when there is none or it is not one.
fn log_level(name: Option<&str>) -> tracing_subscriber::filter::LevelFilter {
    name.and_then(|name| name.parse().ok()).unwrap_or(tracing_subscriber::filter::LevelFilter::INFO)
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::filter::LevelFilter;

    use super::log_level;

    #[test]
    fn the_log_level_is_lambdas_name_for_it_or_info() {
        for (name, level) in [
            (Some("DEBUG"), LevelFilter::DEBUG),
            (Some("warn"), LevelFilter::WARN),
            (Some("TRACE"), LevelFilter::TRACE),
            (Some("ERROR"), LevelFilter::ERROR),
            (Some("kinesis_enricher=debug"), LevelFilter::INFO),
            (None, LevelFilter::INFO),
        ] {
            assert_eq!(log_level(name), level, "{name:?}");
        }
    }
}

/// An invocation whose JSON is not the function's event: Lambda records it as a failed invocation.
#[derive(Debug, thiserror::Error)]
#[error("failed to deserialize the incoming data into the function's payload type: {0}")]
struct EventError(String);

/// Reads the event from the bytes Lambda sent, borrowing its strings from them. The body is checked
/// as UTF-8 once, as a whole: read from bytes, serde_json would check every string on its own, a
/// call per field of every record.
fn read_event<'a, H: Handler>(body: &'a [u8]) -> Result<H::Event<'a>, EventError> {
    let text =
        std::str::from_utf8(body).map_err(|error| EventError(format!("the event is not UTF-8: {error}")))?;
    serde_json::from_str(text).map_err(|error| EventError(error.to_string()))
}

/// How one invocation ended.
enum Outcome {
    Answered(Vec<u8>),
    Failed { error_type: &'static str, message: String },
}

/// Runs the Lambda runtime loop against this environment's Runtime API (`AWS_LAMBDA_RUNTIME_API`):
/// see [`serve`].
pub async fn run<H: Handler>(function: Function<H>) -> Result<(), Error> {
    serve(RuntimeApi::from_env(), function).await
}

/// Serves invocations from `api` until it fails: each event to `handler`, then its summary logged
/// (INFO) and its metrics written to stdout (EMF), where CloudWatch Logs extracts them. A handler
/// that panics fails that invocation only, as a handler error does; the next one is served.
pub async fn serve<H: Handler>(api: RuntimeApi, function: Function<H>) -> Result<(), Error> {
    let Function { mut handler, metrics } = function;
    loop {
        let invocation = api.next().await?;
        invocation.set_trace_environment();
        let span = invocation.span();
        let outcome = AssertUnwindSafe(invoke(&mut handler, &metrics, &invocation))
            .catch_unwind()
            .instrument(span.clone())
            .await
            .unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|text| (*text).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "the handler panicked".to_owned());
                Outcome::Failed { error_type: "Panic", message }
            });
        match outcome {
            Outcome::Answered(json) => api.respond(&invocation, json).await?,
            Outcome::Failed { error_type, message } => {
                span.in_scope(|| tracing::error!(error_type, "{message}"));
                api.fail(&invocation, error_type, &message).await?;
            }
        }
    }
}

/// One invocation: the event read straight from the bytes Lambda sent (its strings borrowed from
/// them), handled, summarized, answered.
async fn invoke<H: Handler>(handler: &mut H, metrics: &MetricsTarget, invocation: &Invocation) -> Outcome {
    let started = Instant::now();
    let event = match read_event::<H>(&invocation.body) {
        Ok(event) => event,
        Err(error) => return Outcome::Failed { error_type: "InvalidEvent", message: error.to_string() },
    };
    let (response, summary) = handler.handle(&event, invocation.deadline).await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    summary.log(duration_ms);
    let now_ms = Timestamp::now().unix_millis();
    println!("{}", metrics.line(now_ms, &summary.metrics(duration_ms)));
    match H::invocation_error(&response) {
        Some(message) => Outcome::Failed { error_type: "InvocationFailed", message },
        None => Outcome::Answered(H::response_json(response)),
    }
}
