//! What every function's `main` does, written once: start-up (settings, databases, warnings and
//! configuration errors logged) and the invocation loop (handle, then one INFO line and one EMF
//! line per invocation).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use enrichment::settings::DatabaseAge;
use enrichment::{StartupError, Timestamp};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::sync::Mutex;

use crate::emf::{MetricsTarget, Unit};
use crate::summary::InvocationSummary;

/// A function's handler: one event in, one response and a summary out. It never fails: what
/// cannot be processed is in the response (a `ProcessingFailed` record, a batch item failure).
pub trait Handler: Send + 'static {
    /// The event, read from the invocation's JSON; it may borrow from it.
    type Event<'a>: Deserialize<'a>;
    type Response: Serialize + Send;
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

    /// Where the EMF metrics go.
    fn metrics_target(&self) -> &MetricsTarget;

    /// The GeoIP databases' ages at `now`, reported once at start-up.
    fn database_ages(&self, now: Timestamp) -> Vec<DatabaseAge>;
}

/// Logs through `tracing` as JSON when the function's log format is JSON (`AWS_LAMBDA_LOG_FORMAT`),
/// as text otherwise.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// Builds the handler once, before the first invocation, from the environment: `build` reads the
/// settings through the lookup it is given and returns warnings to log. A configuration error is
/// logged at ERROR and returned, which stops the function. The GeoIP databases' ages are logged
/// (INFO) and written as EMF metrics, once per execution environment. Freed memory is kept for the
/// next invocation from here on ([`crate::memory`]).
pub fn start<H: Handler>(
    build: impl FnOnce(&dyn Fn(&str) -> Option<String>) -> Result<(H, Vec<String>), StartupError>,
) -> Result<H, StartupError> {
    crate::memory::keep_freed_memory();
    let environment = |name: &str| std::env::var(name).ok();
    let (handler, warnings) = build(&environment).inspect_err(|error| {
        tracing::error!(%error, "configuration error: the function cannot start");
    })?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let now = Timestamp::now();
    let ages = handler.database_ages(now);
    for age in &ages {
        tracing::info!("{age}");
    }
    if let Some(line) = database_age_metrics(handler.metrics_target(), &ages, now) {
        println!("{line}");
    }
    Ok(handler)
}

/// The EMF line of the databases' ages (`GeoIpCityDatabaseAgeDays`, `GeoIpAsnDatabaseAgeDays`),
/// if there is a database.
pub fn database_age_metrics(target: &MetricsTarget, ages: &[DatabaseAge], now: Timestamp) -> Option<String> {
    let metrics: Vec<(&'static str, f64, Unit)> = ages
        .iter()
        .map(|age| {
            let name =
                if age.kind == "City" { "GeoIpCityDatabaseAgeDays" } else { "GeoIpAsnDatabaseAgeDays" };
            (name, age.age_days, Unit::None)
        })
        .collect();
    (!metrics.is_empty()).then(|| target.line(now.unix_millis(), &metrics))
}

/// An invocation whose JSON is not the function's event: Lambda records it as a failed invocation.
#[derive(Debug, thiserror::Error)]
#[error("failed to deserialize the incoming data into the function's payload type: {0}")]
struct EventError(#[from] serde_json::Error);

/// Reads an event from the invocation's JSON. The runtime hands the JSON over as it came
/// (`RawValue`) and the event is read here, borrowing its strings from it: no copy of each
/// record's data, and no path tracked for every field as the runtime's own reading does.
fn read_event<'a, H: Handler>(json: &'a RawValue) -> Result<H::Event<'a>, EventError> {
    Ok(serde_json::from_str(json.get())?)
}

/// Runs the Lambda runtime loop: each event to `handler`, then its summary logged (INFO) and its
/// metrics written to stdout (EMF), where CloudWatch Logs extracts them.
pub async fn run<H: Handler>(handler: H) -> Result<(), Error> {
    // Lambda sends one event at a time: the lock is never contended.
    let handler = Arc::new(Mutex::new(handler));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let handler = Arc::clone(&handler);
        async move {
            let mut handler = handler.lock().await;
            let started = Instant::now();
            let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(event.context.deadline);
            let payload = read_event::<H>(&event.payload)?;
            let (response, summary) = handler.handle(&payload, deadline).await;
            let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            summary.log(duration_ms);
            let now_ms = Timestamp::now().unix_millis();
            println!("{}", handler.metrics_target().line(now_ms, &summary.metrics(duration_ms)));
            if let Some(error) = H::invocation_error(&response) {
                return Err(Error::from(error));
            }
            Ok::<H::Response, Error>(response)
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn database_ages_are_one_emf_line_and_none_without_databases() {
        let target =
            MetricsTarget { namespace: "WeblogEnrichment".into(), function_name: "kinesis-enricher".into() };
        let now = Timestamp::from_unix_millis(1_795_000_000_000).unwrap();
        assert_eq!(database_age_metrics(&target, &[], now), None);
        let age = |kind, age_days| DatabaseAge {
            kind,
            database_type: format!("GeoLite2-{kind}"),
            built: now,
            age_days,
        };
        let line = database_age_metrics(&target, &[age("City", 2.5), age("ASN", 3.0)], now).unwrap();
        let line: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            (line["GeoIpCityDatabaseAgeDays"].as_f64(), line["GeoIpAsnDatabaseAgeDays"].as_f64()),
            (Some(2.5), Some(3.0))
        );
        assert_eq!(line["_aws"]["Timestamp"], 1_795_000_000_000_i64);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "GeoIpCityDatabaseAgeDays", "Unit": "None"}, {"Name": "GeoIpAsnDatabaseAgeDays", "Unit": "None"}])
        );
        assert_eq!(line["FunctionName"], "kinesis-enricher");
    }
}
