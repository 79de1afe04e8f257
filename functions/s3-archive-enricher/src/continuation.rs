//! Going on with an object in another invocation: the function invokes itself asynchronously
//! (`InvocationType: Event`) with `{"continuation": …}`, which says where the next line starts.
//!
//! Why this way, rather than answering S3 Batch Operations `TemporaryFailure` and resuming on its
//! retry: a retried task carries nothing but the task itself, so the offset would have to be kept
//! somewhere else (a table, a tag the function may write), and S3 event notifications have no
//! retry that carries state at all. An asynchronous invocation carries the offset in its event,
//! works the same for every trigger, and when it fails for good Lambda keeps the event (with the
//! offset) in the function's on-failure queue, from which it can be sent again.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use crate::event::{Continuation, ContinuationEvent};

/// Why an object could not be continued.
#[derive(Debug, thiserror::Error)]
#[error("invoking {function_name} to continue: {reason}")]
pub struct ContinueError {
    pub function_name: String,
    /// What the Lambda API answered (or why it could not be reached).
    pub reason: String,
}

/// Lambda's Invoke API on this function (its name and version from Lambda's
/// `AWS_LAMBDA_FUNCTION_NAME` and `AWS_LAMBDA_FUNCTION_VERSION`).
#[derive(Debug, Clone)]
pub struct LambdaContinuer {
    pub client: aws_clients::lambda::Client,
    pub function_name: String,
    pub qualifier: Option<String>,
}

impl LambdaContinuer {
    /// Starts the invocation that continues an object.
    pub async fn continue_with(&self, continuation: &Continuation) -> Result<(), ContinueError> {
        let payload =
            serde_json::to_vec(&ContinuationEvent { continuation }).expect("a continuation is plain data");
        self.client
            .invoke()
            .function_name(&self.function_name)
            .set_qualifier(self.qualifier.clone())
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| ContinueError {
                function_name: self.function_name.clone(),
                reason: aws_sdk_lambda::error::DisplayErrorContext(error).to_string(),
            })
    }
}
