//! The events the function accepts, and its answers.
//!
//! - S3 event notifications (`ObjectCreated:*`), straight from the bucket or in SQS messages;
//! - EventBridge's `Object Created` events (a bucket with EventBridge notifications on);
//! - S3 Batch Operations "Invoke AWS Lambda function" tasks, schema 1.0 and 2.0;
//! - the function's own continuation of an object it could not finish in one invocation.
//!
//! Object keys come URL-encoded (form style: `+` for a space) in S3 notifications and Batch
//! Operations tasks, and as they are in EventBridge events; [`ObjectRef::key`] is always the key
//! itself.

use percent_encoding::percent_decode_str;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// One object to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

impl ObjectRef {
    /// `s3://bucket/key`: the documents' `log.file.path`.
    pub fn path(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// How far an object got, so that another invocation goes on from there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Continuation {
    #[serde(flatten)]
    pub object: ObjectRef,
    /// The object's ETag when it was first read: a changed object is not resumed. (Unknown when
    /// even the first read failed.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    pub gzip: bool,
    /// Where the next line starts, in the object's uncompressed text.
    pub offset: u64,
    /// Lines delivered by the invocations before.
    pub lines_before: u64,
    /// The `#Fields:` line of a CloudFront standard log in force at `offset`: the header is at
    /// the object's start, which the next invocation does not read again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Random, given when the continuation is sent: a copy of the same continuation (an `Invoke`
    /// retried after a timeout) has the same id, and is read once (see `claims`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// What the function was invoked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveEvent {
    /// S3 event notifications or EventBridge events: objects to read, nobody waits for an answer
    /// (Lambda invokes asynchronously).
    Objects(Vec<ObjectRef>),
    /// S3 notifications in SQS messages: a message whose object fails is reported for SQS to
    /// deliver again.
    Sqs(Vec<SqsMessage>),
    BatchOperations(BatchOperationsEvent),
    Continuation(Continuation),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsMessage {
    pub message_id: String,
    /// The objects of the notification it carries (none for S3's `s3:TestEvent`), or why its body
    /// is not an S3 event notification: that message alone is reported back, its batch-mates are
    /// read as usual.
    pub objects: Result<Vec<ObjectRef>, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOperationsEvent {
    /// `"1.0"` or `"2.0"`, answered back as it came.
    pub invocation_schema_version: String,
    pub invocation_id: String,
    pub tasks: Vec<BatchTask>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchTask {
    pub task_id: String,
    pub object: ObjectRef,
}

/// Why an event is refused: Lambda records the invocation as failed, with this message.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("{ACCEPTED}")]
    NotAccepted,
    #[error("a continuation event that cannot be read: {0}")]
    Continuation(#[source] serde_json::Error),
    #[error("S3 Batch Operations invocationSchemaVersion {0:?}: expected \"1.0\" or \"2.0\"")]
    SchemaVersion(String),
    #[error("an S3 Batch Operations task without s3Bucket or s3BucketArn (task {0})")]
    TaskWithoutBucket(String),
    /// An event of an accepted kind whose fields are not as AWS documents them.
    #[error("{kind} that cannot be read: {source}")]
    Malformed {
        kind: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl<'de> Deserialize<'de> for ArchiveEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        ArchiveEvent::from_json(value).map_err(D::Error::custom)
    }
}

/// What an event that is none of the accepted ones is told.
const ACCEPTED: &str = "expected an S3 event notification (Records[].s3), SQS messages carrying \
    them, an EventBridge \"Object Created\" event, an S3 Batch Operations task event \
    (invocationSchemaVersion 1.0 or 2.0) or this function's continuation";

/// Reads `value` as `T`, an event of the kind named.
fn typed<T: DeserializeOwned>(value: Value, kind: &'static str) -> Result<T, EventError> {
    serde_json::from_value(value).map_err(|source| EventError::Malformed { kind, source })
}

impl ArchiveEvent {
    /// Tells the event apart by its top-level keys, then reads it as its kind.
    pub fn from_json(value: Value) -> Result<Self, EventError> {
        if let Some(continuation) = value.get("continuation") {
            return Continuation::deserialize(continuation)
                .map(ArchiveEvent::Continuation)
                .map_err(EventError::Continuation);
        }
        if let Some(version) = value.get("invocationSchemaVersion").and_then(Value::as_str) {
            if version != "1.0" && version != "2.0" {
                return Err(EventError::SchemaVersion(version.to_owned()));
            }
            let event: BatchOperationsInput = typed(value, "an S3 Batch Operations event")?;
            return event.into_event().map(ArchiveEvent::BatchOperations);
        }
        if value.get("source").and_then(Value::as_str) == Some("aws.s3") {
            let event: EventBridgeEvent = typed(value, "an EventBridge S3 event")?;
            let created = event.detail_type == "Object Created";
            let object = ObjectRef {
                bucket: event.detail.bucket.name,
                key: event.detail.object.key,
                version_id: event.detail.object.version_id,
            };
            return Ok(ArchiveEvent::Objects(if created { vec![object] } else { Vec::new() }));
        }
        let from_sqs = match value.get("Records").and_then(Value::as_array) {
            None => return Err(EventError::NotAccepted),
            Some(records) => records
                .iter()
                .any(|record| record.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")),
        };
        if from_sqs {
            let event: SqsEvent = typed(value, "an SQS event")?;
            return Ok(ArchiveEvent::Sqs(event.records.into_iter().map(SqsRecord::into_message).collect()));
        }
        typed::<Notification>(value, "an S3 event notification")?.created_objects().map(ArchiveEvent::Objects)
    }
}

/// A key as S3 notifications and Batch Operations write it: URL-encoded, `+` for a space.
pub fn decode_key(encoded: &str) -> String {
    let spaced = encoded.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// An S3 event notification, as S3 sends it to Lambda, SQS or SNS.
#[derive(Debug, Deserialize)]
struct Notification {
    #[serde(rename = "Records")]
    records: Option<Vec<NotificationRecord>>,
    /// `s3:TestEvent` when a notification is configured; no records then.
    #[serde(rename = "Event")]
    event: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotificationRecord {
    #[serde(default)]
    event_name: String,
    s3: NotificationEntity,
}

#[derive(Debug, Deserialize)]
struct NotificationEntity {
    bucket: BucketName,
    object: NotificationObject,
}

#[derive(Debug, Deserialize)]
struct BucketName {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotificationObject {
    /// URL-encoded.
    key: String,
    version_id: Option<String>,
}

impl Notification {
    /// The created objects (other event names are not archives to read).
    fn created_objects(self) -> Result<Vec<ObjectRef>, EventError> {
        if self.event.as_deref() == Some("s3:TestEvent") {
            return Ok(Vec::new());
        }
        let records = self.records.ok_or(EventError::NotAccepted)?;
        let mut objects = Vec::new();
        for record in records {
            let NotificationEntity { bucket, object } = record.s3;
            if !record.event_name.starts_with("ObjectCreated:") {
                let (event_name, bucket, key) = (&record.event_name, &bucket.name, &object.key);
                tracing::info!(event_name, bucket, key, "not an ObjectCreated notification: skipped");
                continue;
            }
            objects.push(ObjectRef {
                bucket: bucket.name,
                key: decode_key(&object.key),
                version_id: object.version_id,
            });
        }
        Ok(objects)
    }
}

#[derive(Debug, Deserialize)]
struct SqsEvent {
    #[serde(rename = "Records")]
    records: Vec<SqsRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SqsRecord {
    message_id: String,
    body: String,
}

/// An SNS notification delivered to SQS without raw message delivery (S3 → SNS → SQS fan-out):
/// the S3 notification is its `Message`.
#[derive(Debug, Deserialize)]
struct SnsEnvelope {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Message")]
    message: String,
}

impl SqsRecord {
    fn into_message(self) -> SqsMessage {
        let objects = Self::notification(&self.body)
            .and_then(|notification| notification.created_objects().map_err(|error| error.to_string()))
            .map_err(|reason| format!("its body is not an S3 event notification: {reason}"));
        SqsMessage { objects, message_id: self.message_id }
    }

    fn notification(body: &str) -> Result<Notification, String> {
        if let Ok(sns) = serde_json::from_str::<SnsEnvelope>(body)
            && sns.kind == "Notification"
        {
            return serde_json::from_str(&sns.message).map_err(|error| format!("its SNS Message: {error}"));
        }
        serde_json::from_str(body).map_err(|error| error.to_string())
    }
}

/// EventBridge's `Object Created` (and other S3) events: keys as they are, not URL-encoded.
#[derive(Debug, Deserialize)]
struct EventBridgeEvent {
    #[serde(rename = "detail-type", default)]
    detail_type: String,
    detail: EventBridgeDetail,
}

#[derive(Debug, Deserialize)]
struct EventBridgeDetail {
    bucket: BucketName,
    object: EventBridgeObject,
}

#[derive(Debug, Deserialize)]
struct EventBridgeObject {
    key: String,
    #[serde(rename = "version-id")]
    version_id: Option<String>,
}

/// S3 Batch Operations' task event, schema 1.0 or 2.0.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchOperationsInput {
    invocation_schema_version: String,
    invocation_id: String,
    tasks: Vec<BatchTaskInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchTaskInput {
    task_id: String,
    /// URL-encoded.
    s3_key: String,
    s3_version_id: Option<String>,
    /// 2.0 names the bucket by name...
    s3_bucket: Option<String>,
    /// ...1.0 by ARN.
    s3_bucket_arn: Option<String>,
}

impl BatchOperationsInput {
    fn into_event(self) -> Result<BatchOperationsEvent, EventError> {
        let tasks = self
            .tasks
            .into_iter()
            .map(|task| {
                let bucket = match (task.s3_bucket, &task.s3_bucket_arn) {
                    (Some(bucket), _) => bucket,
                    (None, Some(arn)) => arn.rsplit(':').next().unwrap_or(arn).to_owned(),
                    (None, None) => return Err(EventError::TaskWithoutBucket(task.task_id)),
                };
                let object =
                    ObjectRef { bucket, key: decode_key(&task.s3_key), version_id: task.s3_version_id };
                Ok(BatchTask { task_id: task.task_id, object })
            })
            .collect::<Result<_, _>>()?;
        Ok(BatchOperationsEvent {
            invocation_schema_version: self.invocation_schema_version,
            invocation_id: self.invocation_id,
            tasks,
        })
    }
}

/// The event with which the function continues an object in a new invocation of itself.
#[derive(Debug, Serialize)]
pub struct ContinuationEvent<'a> {
    pub continuation: &'a Continuation,
}

/// How one object ended, as S3 Batch Operations names results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResultCode {
    Succeeded,
    /// S3 Batch Operations tries the task again.
    TemporaryFailure,
    PermanentFailure,
}

/// The answer to a Batch Operations event: one result per task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchOperationsResponse {
    pub invocation_schema_version: String,
    pub treat_missing_keys_as: ResultCode,
    pub invocation_id: String,
    pub results: Vec<TaskResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    pub task_id: String,
    pub result_code: ResultCode,
    /// Shown in the job's completion report.
    pub result_string: String,
}

/// The answer to the other events: one result per object (Lambda keeps it for a synchronous
/// caller such as `cargo lambda invoke`), and for SQS the messages to deliver again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectsResponse {
    pub results: Vec<ObjectResult>,
    #[serde(rename = "batchItemFailures", skip_serializing_if = "Option::is_none")]
    pub batch_item_failures: Option<Vec<BatchItemFailure>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectResult {
    pub object: String,
    pub result_code: ResultCode,
    pub result_string: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ArchiveResponse {
    BatchOperations(BatchOperationsResponse),
    Objects(ObjectsResponse),
    /// A continuation's answer: its one object's result, as [`ObjectsResponse`] writes it.
    Continued(ContinuedResponse),
}

/// The answer to a continuation, and the offset it was to resume from (for the error that keeps
/// a failed continuation in the on-failure queue; not part of the JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContinuedResponse {
    #[serde(flatten)]
    pub response: ObjectsResponse,
    #[serde(skip)]
    pub offset: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_text(path: &str) -> String {
        std::fs::read_to_string(format!("{}/../../tests/events/{path}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    fn event(path: &str) -> ArchiveEvent {
        serde_json::from_str(&event_text(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    fn object(bucket: &str, key: &str, version_id: Option<&str>) -> ObjectRef {
        ObjectRef { bucket: bucket.into(), key: key.into(), version_id: version_id.map(Into::into) }
    }

    /// A message whose body is not an S3 notification is that message's problem only; one that
    /// came through SNS (S3 → SNS → SQS, without raw delivery) is read from its `Message`.
    #[test]
    fn each_sqs_message_is_read_on_its_own() {
        let good = event_text("s3-sqs-object-created.json");
        let mut event: serde_json::Value = serde_json::from_str(&good).unwrap();
        let notification = event["Records"][0]["body"].as_str().unwrap().to_owned();
        let template = event["Records"][0].clone();
        let message = |id: &str, body: String| {
            let mut record = template.clone();
            record["messageId"] = id.into();
            record["body"] = body.into();
            record
        };
        let sns = serde_json::json!({"Type": "Notification", "MessageId": "5d3b", "TopicArn":
            "arn:aws:sns:eu-west-1:123456789012:archives", "Message": notification})
        .to_string();
        event["Records"] = serde_json::json!([
            message("poisoned", "not json at all".into()),
            message("other-json", r#"{"hello": "world"}"#.into()),
            message("through-sns", sns),
            message("direct", notification.clone()),
        ]);
        let ArchiveEvent::Sqs(messages) = ArchiveEvent::from_json(event).unwrap() else { panic!("not SQS") };
        let archive = object("weblogs-archive", "apache/access_log-20261101 (web 1).gz", None);
        assert_eq!(messages.len(), 4);
        for (message, id) in messages.iter().zip(["poisoned", "other-json"]) {
            assert_eq!(message.message_id, id);
            let reason = message.objects.as_ref().unwrap_err();
            assert!(reason.starts_with("its body is not an S3 event notification: "), "{reason}");
        }
        assert_eq!(messages[2].objects, Ok(vec![archive.clone()]));
        assert_eq!(messages[3].objects, Ok(vec![archive]));
    }

    #[test]
    fn every_accepted_event_names_its_objects_with_decoded_keys() {
        let archive = "apache/access_log-20261101 (web 1).gz";
        assert_eq!(
            event("s3-object-created.json"),
            ArchiveEvent::Objects(vec![object("weblogs-archive", archive, None)])
        );
        assert_eq!(
            event("s3-eventbridge-object-created.json"),
            ArchiveEvent::Objects(vec![object("weblogs-archive", archive, None)])
        );
        // A versioned bucket's event names the version, which is then the one read.
        let versioned = serde_json::json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {
            "bucket": {"name": "b"}, "object": {"key": "k", "version-id": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"}}});
        assert_eq!(
            ArchiveEvent::from_json(versioned).unwrap(),
            ArchiveEvent::Objects(vec![object("b", "k", Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"))])
        );
        let ArchiveEvent::Sqs(messages) = event("s3-sqs-object-created.json") else { panic!("not SQS") };
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].objects, Ok(vec![object("weblogs-archive", archive, None)]));
        assert_eq!(messages[1].objects, Ok(vec![]), "S3's test event names no object");
        for (file, version) in
            [("s3-batch-operations-1.0.json", "1.0"), ("s3-batch-operations-2.0.json", "2.0")]
        {
            let ArchiveEvent::BatchOperations(batch) = event(file) else { panic!("{file}: not a batch") };
            assert_eq!(batch.invocation_schema_version, version);
            assert_eq!(batch.tasks.len(), 2, "{file}");
            assert_eq!(batch.tasks[0].object, object("weblogs-archive", archive, None), "{file}");
            assert_eq!(batch.tasks[1].object.key, "apache/access_log-20261102.gz", "{file}");
        }
    }

    #[test]
    fn other_events_are_refused_with_what_is_accepted() {
        for bad in [r#"{}"#, r#"{"Records": "x"}"#, r#"[1, 2]"#, r#"{"invocationSchemaVersion": "3.0"}"#] {
            let error = serde_json::from_str::<ArchiveEvent>(bad).unwrap_err().to_string();
            assert!(error.contains("expected"), "{bad}: {error}");
        }
        let removed = r#"{"Records": [{"eventName": "ObjectRemoved:Delete",
            "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]}"#;
        assert_eq!(serde_json::from_str::<ArchiveEvent>(removed).unwrap(), ArchiveEvent::Objects(Vec::new()));
    }

    #[test]
    fn keys_are_decoded_as_s3_encodes_them() {
        assert_eq!(decode_key("logs/a+b%2Bc%3D%C3%A9.gz"), "logs/a b+c=é.gz");
    }

    #[test]
    fn a_continuation_reads_back_what_was_written() {
        let continuation = Continuation {
            object: object("b", "k y", Some("v1")),
            etag: Some("\"abc\"".into()),
            gzip: true,
            offset: 123,
            lines_before: 7,
            id: Some("5f0c7a8e1d2b4c6a9e8f7d6c5b4a3928".into()),
            header: Some("#Fields: date time c-ip".into()),
        };
        let json = serde_json::json!({ "continuation": continuation });
        assert_eq!(
            serde_json::from_value::<ArchiveEvent>(json).unwrap(),
            ArchiveEvent::Continuation(continuation)
        );
    }
}
