//! `kinesis-enricher`: wires the Lambda runtime to the handler, nothing else. The settings, the
//! GeoIP databases and the Firehose client are set up once, before the first invocation.

use kinesis_enricher::KinesisHandler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_shell::Error> {
    lambda_shell::init_tracing();
    let function = lambda_shell::start(KinesisHandler::from_startup)?;
    lambda_shell::run(function).await
}
