//! `firehose-transformer`: wires the Lambda runtime to the handler, nothing else. The settings are
//! read and the GeoIP databases opened once, before the first invocation.

use firehose_transformer::Transformer;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_shell::Error> {
    lambda_shell::init_tracing();
    let handler = lambda_shell::start(|environment| Transformer::from_lookup(environment))?;
    lambda_shell::run(handler).await
}
