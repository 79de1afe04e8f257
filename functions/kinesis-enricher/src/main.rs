//! `kinesis-enricher`: wires the Lambda runtime to the handler, nothing else. The settings, the
//! GeoIP databases and the Firehose client are set up once, before the first invocation.

use kinesis_enricher::KinesisEnricher;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_shell::Error> {
    lambda_shell::init_tracing();
    let handler = lambda_shell::start(|environment| KinesisEnricher::from_lookup(environment))?;
    lambda_shell::run(handler).await
}
