//! `s3-archive-enricher`: wires the Lambda runtime to the handler, nothing else. The settings, the
//! GeoIP databases and the S3, Firehose and Lambda clients are set up once, before the first
//! invocation.

// The handler's future nests the SDK's (S3, Firehose, Lambda) deeply enough for rustc's layout
// computation to pass its default depth.
#![recursion_limit = "256"]

use s3_archive_enricher::ArchiveHandler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_shell::Error> {
    lambda_shell::init_tracing();
    let function = lambda_shell::start(ArchiveHandler::from_startup)?;
    lambda_shell::run(function).await
}
