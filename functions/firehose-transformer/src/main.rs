//! `firehose-transformer`: wires the Lambda runtime to the handler, nothing else. The settings are
//! read and the GeoIP databases opened once, before the first invocation.

use firehose_transformer::TransformHandler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_shell::Error> {
    lambda_shell::init_tracing();
    let function = lambda_shell::start(|startup| Ok(TransformHandler::from_startup(startup)))?;
    lambda_shell::run(function).await
}
