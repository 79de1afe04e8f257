//! `kinesis-enricher`: wires the Lambda runtime to the handler, nothing else. Configuration, the
//! GeoIP databases and the Firehose client are set up once, before the first invocation.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use kinesis_enricher::{BatchResponse, KinesisEvent, process, start};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use tokio::sync::Mutex;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // JSON when the function's log format is JSON (AWS_LAMBDA_LOG_FORMAT), text otherwise.
    lambda_runtime::tracing::init_default_subscriber();
    let (settings, enricher, sink, warnings) =
        start(|name| std::env::var(name).ok()).inspect_err(|error| {
            tracing::error!(%error, "configuration error: the function cannot start");
        })?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let state = Arc::new((Mutex::new(enricher), settings, sink));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<KinesisEvent>| {
        let state = Arc::clone(&state);
        async move {
            let (enricher, settings, sink) = &*state;
            let started = Instant::now();
            let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(event.context.deadline);
            let (response, summary) =
                process(&mut *enricher.lock().await, settings, sink, &event.payload, deadline).await;
            let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            tracing::info!(
                records = summary.records,
                events = summary.events,
                control_messages = summary.control_messages,
                unreadable_records = summary.unreadable_records,
                parse_failures = summary.parse_failures,
                geoip_misses = summary.geoip_misses,
                truncated = summary.truncated,
                delivered = summary.delivered,
                retried_entries = summary.retried_entries,
                failed_entries = summary.failed_entries,
                reported_failures = summary.reported_failures,
                calls = summary.calls,
                duration_ms,
                "invocation"
            );
            // EMF goes to stdout as its own line; CloudWatch Logs extracts the metrics from it.
            let now_ms = enrichment::Timestamp::now().unix_millis();
            println!("{}", settings.metrics.line(now_ms, &summary.metrics(duration_ms)));
            Ok::<BatchResponse, Error>(response)
        }
    }))
    .await
}
