//! The events Lambda hands the functions: the fields the handlers use, read without panicking.
//!
//! These are the project's own types rather than `aws_lambda_events`': fuzzing found that its
//! timestamp decoders can panic on hostile values (an assertion and an unchecked multiplication
//! inside serde), which would crash the function before the handler runs. A record's `data` stays
//! base64 text until the handler decodes it, so broken base64 fails that record only.
//!
//! Their strings borrow from the event's JSON (a JSON string with escapes in it is copied, as
//! `Cow::Owned`): a batch of 10,000 records is read without a copy of each record's data.

mod firehose;
mod kinesis;

pub use firehose::{FirehoseRecord, TransformationRequest};
pub use kinesis::{KinesisEvent, KinesisEventRecord, KinesisRecord};
