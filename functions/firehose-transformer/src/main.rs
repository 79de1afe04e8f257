//! `firehose-transformer`: wires the Lambda runtime to the handler, nothing else.
//! Configuration is read and the GeoIP databases are opened once, before the first invocation.

use std::future::ready;
use std::time::Instant;

use firehose_transformer::{TransformationRequest, TransformationResponse, Transformer};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // JSON when the function's log format is JSON (AWS_LAMBDA_LOG_FORMAT), text otherwise.
    lambda_runtime::tracing::init_default_subscriber();
    let (mut transformer, warnings) = Transformer::from_env().inspect_err(|error| {
        tracing::error!(%error, "configuration error: the function cannot start");
    })?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    lambda_runtime::run(service_fn(move |event: LambdaEvent<TransformationRequest>| {
        let started = Instant::now();
        let (response, summary) = transformer.handle(&event.payload);
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(
            records_in = summary.records_in,
            ok = summary.ok,
            dropped = summary.dropped,
            processing_failed = summary.processing_failed,
            undecodable = summary.undecodable,
            multi_event = summary.multi_event,
            over_response_limit = summary.over_response_limit,
            parse_failures = summary.parse_failures,
            geoip_misses = summary.geoip_misses,
            bytes_in = summary.bytes_in,
            bytes_out = summary.bytes_out,
            duration_ms,
            "invocation"
        );
        // EMF goes to stdout as its own line; CloudWatch Logs extracts the metrics from it.
        let now_ms = enrichment::Timestamp::now().unix_millis();
        println!("{}", transformer.metrics_target().line(now_ms, &summary.metrics(duration_ms)));
        ready(Ok::<TransformationResponse, Error>(response))
    }))
    .await
}
