//! Sends the documents Firehose gave up on back through the delivery stream. After its retry
//! duration (the stack's two hours) Firehose writes the documents OpenSearch did not take to the
//! backup bucket's `failed/` prefix, one failed-record file per buffer, where they expire by the
//! bucket's lifecycle rule; once the cause is fixed (a mapping conflict, blocked writes, a domain
//! down for hours) this brings them back.
//!
//! File by file, in key order: read it ([`FailedFile`]), put its documents into the delivery
//! stream(s) with the functions' own delivery loop (PutRecordBatch limits, retries, backoff,
//! several streams), and only then delete it. A file whose documents were not all taken is
//! rewritten with only those left, so the next run sends each document that got through no second
//! time. A malformed file, or one the lifecycle rule removed meanwhile, is reported and kept
//! (nothing of a malformed file is sent). A second run over what a complete run left finds nothing.
//!
//! Documents are at-least-once across a run that dies between delivery and the file's deletion or
//! rewrite: the next run sends that file's documents again.

pub mod failed_file;

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use aws_clients::describe;
use aws_sdk_s3::primitives::ByteStream;
use firehose_delivery::{RecordBatchSink, RetryPolicy, deliver_spread};

pub use crate::failed_file::{FailedFile, MalformedFile};

/// The time one file's delivery may take, retries included.
const FILE_TIME: Duration = Duration::from_secs(300);
/// The largest object read: the most a failed-record file holds, compressed or not.
const MAX_OBJECT_BYTES: i64 = failed_file::MAX_FILE_BYTES as i64;
/// Distinct errors named per file in the report.
const ERRORS_SHOWN: usize = 3;

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every document was taken by the delivery stream; the file is deleted.
    Reingested { documents: usize },
    /// Dry run: what would be sent.
    WouldReingest { documents: usize },
    /// Some documents were not taken; the file now holds only those.
    Partly { delivered: usize, left: usize, last_error: String },
    /// Not one of Firehose's failed-record files of documents; kept, nothing sent.
    Malformed(MalformedFile),
    /// The object was gone when it was read (the bucket's lifecycle rule expired it).
    Expired(String),
    /// Not read, not delivered, or not deleted or rewritten; kept.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub key: String,
    pub outcome: Outcome,
    /// Why Firehose had given up on the file's documents: (error code, message) and how many.
    pub errors: Vec<(String, String, usize)>,
}

/// What a run did, file by file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub files: Vec<FileReport>,
}

impl Report {
    /// Files left in the bucket with documents not brought back (partly delivered, malformed,
    /// expired, failed).
    pub fn kept(&self) -> usize {
        self.files
            .iter()
            .filter(|file| {
                !matches!(file.outcome, Outcome::Reingested { .. } | Outcome::WouldReingest { .. })
            })
            .count()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mut reingested, mut documents, mut partly, mut malformed, mut expired, mut failed) =
            (0, 0, 0, 0, 0, 0);
        // A dry run's files and documents: to send, none sent.
        let (mut to_reingest, mut to_send) = (0, 0);
        for file in &self.files {
            let key = &file.key;
            match &file.outcome {
                Outcome::Reingested { documents: d } => {
                    reingested += 1;
                    documents += d;
                    write!(f, "reingested {key}: {d} documents; file deleted")?;
                }
                Outcome::WouldReingest { documents: d } => {
                    to_reingest += 1;
                    to_send += d;
                    write!(f, "would reingest {key}: {d} documents")?;
                }
                Outcome::Partly { delivered, left, last_error } => {
                    partly += 1;
                    documents += delivered;
                    write!(
                        f,
                        "partly {key}: {delivered} documents delivered, {left} not ({last_error}); \
                         the file now holds the {left} left"
                    )?;
                }
                Outcome::Malformed(reason) => {
                    malformed += 1;
                    write!(f, "malformed {key}: {reason}; kept, nothing sent")?;
                }
                Outcome::Expired(reason) => {
                    expired += 1;
                    write!(f, "expired {key}: {reason}")?;
                }
                Outcome::Failed(reason) => {
                    failed += 1;
                    write!(f, "failed {key}: {reason}; kept")?;
                }
            }
            for (code, message, count) in file.errors.iter().take(ERRORS_SHOWN) {
                write!(f, "\n  {count} had failed with {code}: {message}")?;
            }
            if file.errors.len() > ERRORS_SHOWN {
                write!(f, "\n  and {} other errors", file.errors.len() - ERRORS_SHOWN)?;
            }
            writeln!(f)?;
        }
        write!(f, "{} files: ", self.files.len())?;
        if to_reingest > 0 {
            write!(f, "{to_reingest} to reingest ({to_send} documents, none sent: dry run), ")?;
        }
        write!(
            f,
            "{reingested} reingested ({documents} documents sent), {partly} partly, \
             {malformed} malformed, {expired} expired, {failed} failed"
        )
    }
}

/// What stops a run: the bucket cannot be listed.
#[derive(Debug, thiserror::Error)]
pub enum ReingestError {
    #[error("cannot list s3://{bucket}/{prefix}: {reason}")]
    List { bucket: String, prefix: String, reason: String },
}

/// The backup bucket and the delivery stream(s).
#[derive(Debug)]
pub struct Reingester<S: RecordBatchSink> {
    s3: aws_sdk_s3::Client,
    sinks: Vec<S>,
    retry: RetryPolicy,
    bucket: String,
    prefix: String,
    dry_run: bool,
}

impl<S: RecordBatchSink> Reingester<S> {
    pub fn new(
        s3: aws_sdk_s3::Client,
        sinks: Vec<S>,
        retry: RetryPolicy,
        bucket: String,
        prefix: String,
    ) -> Self {
        Self { s3, sinks, retry, bucket, prefix, dry_run: false }
    }

    /// The same, reading and reporting only: nothing sent, deleted or rewritten.
    pub fn dry_run(self) -> Self {
        Self { dry_run: true, ..self }
    }

    /// Every file under the prefix, once, in key order.
    pub async fn run(&self) -> Result<Report, ReingestError> {
        let mut report = Report::default();
        for key in self.keys().await? {
            report.files.push(self.reingest(key).await);
        }
        Ok(report)
    }

    async fn keys(&self) -> Result<Vec<String>, ReingestError> {
        let mut keys = Vec::new();
        let mut pages =
            self.s3.list_objects_v2().bucket(&self.bucket).prefix(&self.prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| ReingestError::List {
                bucket: self.bucket.clone(),
                prefix: self.prefix.clone(),
                reason: describe(&error),
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key())
                    .filter(|key| !key.ends_with('/'))
                    .map(str::to_owned),
            );
        }
        keys.sort();
        Ok(keys)
    }

    async fn reingest(&self, key: String) -> FileReport {
        let object = match self.read(&key).await {
            Ok(object) => object,
            Err(outcome) => return FileReport { key, outcome, errors: Vec::new() },
        };
        let file = match FailedFile::parse(&object) {
            Ok(file) => file,
            Err(malformed) => {
                return FileReport { key, outcome: Outcome::Malformed(malformed), errors: Vec::new() };
            }
        };
        let errors = error_counts(&file);
        let documents = file.records.len();
        if self.dry_run {
            return FileReport { key, outcome: Outcome::WouldReingest { documents }, errors };
        }
        let entries: Vec<&[u8]> = file.records.iter().map(|record| record.document.as_slice()).collect();
        let stream_of: Vec<usize> = (0..entries.len()).map(|index| index % self.sinks.len()).collect();
        let delivery =
            deliver_spread(&self.sinks, &entries, &stream_of, &self.retry, SystemTime::now() + FILE_TIME)
                .await;
        let outcome = if delivery.undelivered.is_empty() {
            match self.s3.delete_object().bucket(&self.bucket).key(&key).send().await {
                Ok(_) => Outcome::Reingested { documents },
                Err(error) => Outcome::Failed(format!(
                    "all {documents} documents delivered, but the file could not be deleted ({}): \
                     the next run sends them again",
                    describe(&error)
                )),
            }
        } else {
            let left = delivery.undelivered.len();
            let delivered = documents - left;
            let last_error = delivery.last_error.unwrap_or_else(|| "no answer".into());
            let rewritten = self
                .s3
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .body(ByteStream::from(file.with_only(&delivery.undelivered)))
                .send()
                .await;
            match rewritten {
                Ok(_) => Outcome::Partly { delivered, left, last_error },
                Err(error) => Outcome::Failed(format!(
                    "{delivered} of {documents} documents delivered ({last_error}), but the file could not be \
                     rewritten with the {left} left ({}): the next run sends all {documents} again",
                    describe(&error)
                )),
            }
        };
        FileReport { key, outcome, errors }
    }

    /// The object's bytes, or what to report instead.
    async fn read(&self, key: &str) -> Result<Vec<u8>, Outcome> {
        let object = self.s3.get_object().bucket(&self.bucket).key(key).send().await.map_err(|error| {
            let no_such_key = error.as_service_error().is_some_and(|service| service.is_no_such_key());
            if no_such_key {
                Outcome::Expired(
                    "the object was gone when it was read (the bucket's lifecycle rule expires failed \
                     documents after BackupRetentionDays)"
                        .into(),
                )
            } else {
                Outcome::Failed(format!("cannot read it: {}", describe(&error)))
            }
        })?;
        if object.content_length().unwrap_or(0) > MAX_OBJECT_BYTES {
            return Err(Outcome::Malformed(MalformedFile::TooLarge(failed_file::MAX_FILE_BYTES)));
        }
        match object.body.collect().await {
            Ok(data) => Ok(data.into_bytes().to_vec()),
            Err(error) => Err(Outcome::Failed(format!("cannot read it: {error}"))),
        }
    }
}

/// The file's (error code, message) pairs, most frequent first.
fn error_counts(file: &FailedFile) -> Vec<(String, String, usize)> {
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for record in &file.records {
        if !(record.error_code.is_empty() && record.error_message.is_empty()) {
            *counts.entry((&record.error_code, &record.error_message)).or_default() += 1;
        }
    }
    let mut errors: Vec<(String, String, usize)> = counts
        .into_iter()
        .map(|((code, message), count)| (code.to_owned(), shortened(message), count))
        .collect();
    errors.sort_by_key(|error| std::cmp::Reverse(error.2));
    errors
}

/// A message cut to a line's length, at a character boundary.
fn shortened(message: &str) -> String {
    const LIMIT: usize = 200;
    match message.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}...", &message[..end]),
        None => message.to_owned(),
    }
}
