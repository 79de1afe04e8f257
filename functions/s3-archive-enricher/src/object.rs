//! One S3 object as a stream of lines: GetObject's body read in chunks, gunzipped on the way when
//! it is gzip (any number of members, as `cat a.gz b.gz` and logrotate's `delaycompress` make),
//! never held whole in memory. Lines are split as `enrich-logs` splits them (the core's
//! [`LineBuffer`], with the same line cap).
//!
//! Gzip is recognised by its magic bytes, not by the key's suffix. A text object is resumed with a
//! Range request from the line where the last invocation stopped; a gzip stream cannot be entered
//! in the middle, so it is read again from the start and the lines before that offset are skipped
//! (decompression is a small part of the cost of a line). Either way the request carries the ETag
//! seen first (`If-Match`): an object that changed in between is not resumed.

use std::io;
use std::pin::Pin;
use std::time::SystemTime;

use async_compression::tokio::bufread::GzipDecoder;
use aws_clients::http_status;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use enrichment::{LineBuffer, LineSpan, MAX_LINE_BYTES, Timestamp};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

use crate::event::{Continuation, ObjectRef};

/// Bytes read from S3 (and from the decoder) at a time; the line buffer starts at this size.
const CHUNK: usize = 256 * 1024;
/// An object whose first this-many bytes of text hold a NUL byte is not a log.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// Why an object (or the rest of it) could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// No such key, bucket or version.
    Missing(String),
    /// Access denied, archived in a Glacier storage class, or changed since it was first read:
    /// trying again does not help.
    Refused(String),
    /// Throttling, a server error, a broken connection: another attempt may succeed.
    Retryable(String),
    /// The gzip data is corrupt or truncated; the lines before the damage were read.
    Damaged(String),
    /// Not text: a NUL byte at the start.
    Binary(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(reason)
            | Self::Refused(reason)
            | Self::Retryable(reason)
            | Self::Damaged(reason)
            | Self::Binary(reason) => f.write_str(reason),
        }
    }
}

/// Opens objects with the function's S3 client.
#[derive(Debug, Clone)]
pub struct ObjectReader {
    client: Client,
}

impl ObjectReader {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// Starts reading `object`, or its rest from where `resume` says. Skipping to that place in
    /// a gzip object stops at `skip_until`, so the invocation still answers in time.
    pub async fn open(
        &self,
        object: &ObjectRef,
        resume: Option<&Continuation>,
        skip_until: SystemTime,
    ) -> Result<ObjectLines, ReadError> {
        let mut request = self
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .set_if_match(resume.and_then(|resume| resume.etag.clone()));
        // Resuming inside the text (rather than starting over after a failed first read).
        let inside = resume.filter(|resume| resume.offset > 0);
        let offset = inside.map_or(0, |resume| resume.offset);
        let gzip_known = inside.map(|resume| resume.gzip);
        if gzip_known == Some(false) {
            request = request.range(format!("bytes={offset}-"));
        }
        let output = match request.send().await {
            Ok(output) => output,
            // A text object resumed exactly at its end: nothing is left.
            Err(error) if gzip_known == Some(false) && http_status(&error) == Some(416) => {
                let etag = resume.and_then(|resume| resume.etag.clone()).unwrap_or_default();
                return Ok(ObjectLines::empty(offset, etag));
            }
            Err(error) => return Err(classify(&error, object)),
        };
        let etag = output.e_tag().unwrap_or_default().to_owned();
        let last_modified = output
            .last_modified()
            .and_then(|time| time.to_millis().ok())
            .and_then(Timestamp::from_unix_millis);
        let mut body = BufReader::with_capacity(CHUNK, output.body.into_async_read());
        let gzip = match gzip_known {
            Some(gzip) => gzip,
            None => {
                body.fill_buf().await.map_err(|error| body_error(&error, false))?.starts_with(&[0x1f, 0x8b])
            }
        };
        let input: Pin<Box<dyn AsyncRead + Send>> = if gzip {
            let mut decoder = GzipDecoder::new(body);
            decoder.multiple_members(true);
            Box::pin(decoder)
        } else {
            Box::pin(body)
        };
        let start = if gzip { 0 } else { offset };
        let mut lines = ObjectLines {
            input,
            lines: LineBuffer::new(CHUNK, MAX_LINE_BYTES).starting_at(start),
            at_end: false,
            error: None,
            etag,
            gzip,
            last_modified,
        };
        if inside.is_none() {
            lines.refuse_binary().await?;
        } else if gzip {
            lines.skip_to(offset, skip_until).await?;
        }
        Ok(lines)
    }
}

/// The lines of one object, read as they are asked for.
pub struct ObjectLines {
    input: Pin<Box<dyn AsyncRead + Send>>,
    lines: LineBuffer,
    at_end: bool,
    /// Why reading stopped before the end, once it has.
    error: Option<ReadError>,
    pub etag: String,
    pub gzip: bool,
    /// When the object was written: the time of documents whose line carries none.
    pub last_modified: Option<Timestamp>,
}

impl std::fmt::Debug for ObjectLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectLines")
            .field("etag", &self.etag)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

impl ObjectLines {
    fn empty(offset: u64, etag: String) -> Self {
        Self {
            input: Box::pin(tokio::io::empty()),
            lines: LineBuffer::new(1, MAX_LINE_BYTES).starting_at(offset),
            at_end: true,
            error: None,
            etag,
            gzip: false,
            last_modified: None,
        }
    }

    /// The next line, `None` at the end of the object or where reading failed
    /// ([`error`](Self::error) says which). Damaged gzip data ends the text: the part of a line
    /// before the damage is its last line. A broken connection ends it before the line it cut.
    pub async fn next_line(&mut self) -> Option<LineSpan> {
        loop {
            if let Some(line) = self.lines.next_line(self.at_end) {
                return Some(line);
            }
            if self.at_end || self.error.is_some() {
                return None;
            }
            self.read().await;
        }
    }

    /// The bytes of the line just handed out.
    pub fn bytes(&self, line: LineSpan) -> &[u8] {
        self.lines.bytes(line)
    }

    /// Why reading stopped early, if it did.
    pub fn error(&self) -> Option<&ReadError> {
        self.error.as_ref()
    }

    /// Where the next line starts in the object's text, when that is known (not inside a line over
    /// the cap, whose rest is being skipped).
    pub fn next_line_offset(&self) -> Option<u64> {
        self.lines.next_line_offset()
    }

    /// Where another invocation must start so that no line is missed (see
    /// [`LineBuffer::resume_offset`]).
    pub fn resume_offset(&self) -> u64 {
        self.lines.resume_offset()
    }

    /// True once every line has been handed out.
    pub fn finished(&self) -> bool {
        self.at_end && self.error.is_none()
    }

    async fn read(&mut self) {
        match self.input.read(self.lines.spare()).await {
            Ok(0) => self.at_end = true,
            Ok(read) => self.lines.filled(read),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                let error = body_error(&error, self.gzip);
                // The text before damage is all there is; a cut connection's partial line is read
                // again by the next attempt.
                self.at_end = matches!(error, ReadError::Damaged(_));
                self.error = Some(error);
            }
        }
    }

    /// Reads the first [`SNIFF_BYTES`] of text and refuses a NUL byte in them.
    async fn refuse_binary(&mut self) -> Result<(), ReadError> {
        while self.lines.unread().len() < SNIFF_BYTES && !self.at_end && self.error.is_none() {
            self.read().await;
        }
        let head = &self.lines.unread()[..self.lines.unread().len().min(SNIFF_BYTES)];
        if let Some(position) = memchr::memchr(0, head) {
            let what = if self.gzip { "gunzipped text" } else { "text" };
            return Err(ReadError::Binary(format!(
                "not a text log: a NUL byte at offset {position} of its {what}"
            )));
        }
        Ok(())
    }

    /// Skips the lines before `offset` (a gzip object resumed), unless `until` comes first.
    async fn skip_to(&mut self, offset: u64, until: SystemTime) -> Result<(), ReadError> {
        let mut skipped: u64 = 0;
        while self.next_line_offset().is_none_or(|next| next < offset) {
            skipped += 1;
            if skipped.is_multiple_of(4096) && SystemTime::now() >= until {
                let reached = self.resume_offset();
                return Err(ReadError::Retryable(format!(
                    "out of time while skipping to byte {offset} of the text (at byte {reached})"
                )));
            }
            if self.next_line().await.is_none() {
                return Err(self.error.clone().unwrap_or_else(|| {
                    ReadError::Refused(format!(
                        "the object ends before offset {offset}, where it was to resume"
                    ))
                }));
            }
        }
        Ok(())
    }
}

/// What a failed GetObject means for the object.
fn classify(error: &SdkError<GetObjectError>, object: &ObjectRef) -> ReadError {
    let path = object.path();
    let detail = aws_sdk_s3::error::DisplayErrorContext(error).to_string();
    let code = error.code().unwrap_or("");
    match (http_status(error), code) {
        (_, "NoSuchKey" | "NoSuchBucket" | "NoSuchVersion") | (Some(404), _) => {
            ReadError::Missing(format!("{path} does not exist ({code}): {detail}"))
        }
        (_, "InvalidObjectState") => {
            ReadError::Refused(format!("{path} is archived (Glacier storage class): restore it first"))
        }
        (Some(412), _) => ReadError::Refused(format!("{path} changed since it was first read: not resumed")),
        (Some(403), _) => ReadError::Refused(format!("{path}: access denied: {detail}")),
        (Some(status), _) if status >= 500 || status == 429 => {
            ReadError::Retryable(format!("{path}: {detail}"))
        }
        (None, _) => ReadError::Retryable(format!("{path}: {detail}")),
        _ if code == "SlowDown" => ReadError::Retryable(format!("{path}: {detail}")),
        _ => ReadError::Refused(format!("{path}: {detail}")),
    }
}

/// An error while reading the body: bad gzip data, or the connection.
fn body_error(error: &io::Error, gzip: bool) -> ReadError {
    let gzip_data = matches!(error.kind(), io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof);
    if gzip && gzip_data {
        ReadError::Damaged(format!("gzip data corrupt or truncated: {error}"))
    } else {
        ReadError::Retryable(format!("reading the object failed: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::types::error::NoSuchKey;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn object() -> ObjectRef {
        ObjectRef { bucket: "b".into(), key: "logs/a.gz".into(), version_id: None }
    }

    /// A GetObject answer with this status and error code.
    fn answered(status: u16, code: &str) -> SdkError<GetObjectError> {
        let response = Response::new(StatusCode::try_from(status).expect("a status"), SdkBody::empty());
        let meta = ErrorMetadata::builder().code(code).message("from S3").build();
        let error = match code {
            "NoSuchKey" => GetObjectError::NoSuchKey(NoSuchKey::builder().meta(meta).build()),
            _ => GetObjectError::generic(meta),
        };
        SdkError::service_error(error, response)
    }

    fn kind(error: &ReadError) -> &'static str {
        match error {
            ReadError::Missing(_) => "Missing",
            ReadError::Refused(_) => "Refused",
            ReadError::Retryable(_) => "Retryable",
            ReadError::Damaged(_) => "Damaged",
            ReadError::Binary(_) => "Binary",
        }
    }

    #[test]
    fn get_object_failures_are_classified_by_what_another_attempt_can_do() {
        let cases = [
            (404, "NoSuchKey", "Missing", "s3://b/logs/a.gz does not exist (NoSuchKey)"),
            (404, "NoSuchBucket", "Missing", "does not exist (NoSuchBucket)"),
            (404, "", "Missing", "does not exist"),
            (403, "InvalidObjectState", "Refused", "is archived (Glacier storage class): restore it first"),
            (412, "PreconditionFailed", "Refused", "changed since it was first read: not resumed"),
            (403, "AccessDenied", "Refused", "access denied"),
            (503, "SlowDown", "Retryable", "SlowDown"),
            (500, "InternalError", "Retryable", "InternalError"),
            (429, "TooManyRequests", "Retryable", "TooManyRequests"),
            (400, "SlowDown", "Retryable", "SlowDown"),
            (400, "InvalidRequest", "Refused", "InvalidRequest"),
        ];
        for (status, code, expected, text) in cases {
            let error = classify(&answered(status, code), &object());
            assert_eq!(kind(&error), expected, "{status} {code}: {error}");
            assert!(error.to_string().contains(text), "{status} {code}: {error}");
        }
        // No answer at all (a timeout, a refused connection): worth another attempt.
        let io = std::io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        let unanswered = SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        assert_eq!(kind(&classify(&unanswered, &object())), "Retryable");
    }

    #[test]
    fn a_body_that_breaks_off_is_damaged_gzip_or_a_broken_connection() {
        let cases = [
            (io::ErrorKind::InvalidData, true, "Damaged"),
            (io::ErrorKind::UnexpectedEof, true, "Damaged"),
            (io::ErrorKind::InvalidData, false, "Retryable"),
            (io::ErrorKind::ConnectionReset, true, "Retryable"),
            (io::ErrorKind::ConnectionReset, false, "Retryable"),
        ];
        for (error_kind, gzip, expected) in cases {
            let error = body_error(&io::Error::new(error_kind, "cut"), gzip);
            assert_eq!(kind(&error), expected, "{error_kind:?}, gzip {gzip}");
        }
    }

    /// The lines of `text`, as an object's body would hand them out.
    fn lines_of(text: Vec<u8>) -> ObjectLines {
        ObjectLines {
            input: Box::pin(std::io::Cursor::new(text)),
            lines: LineBuffer::new(CHUNK, MAX_LINE_BYTES),
            at_end: false,
            error: None,
            etag: "\"e\"".into(),
            gzip: true,
            last_modified: None,
        }
    }

    fn run<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("a runtime").block_on(future)
    }

    #[test]
    fn skipping_to_where_a_gzip_object_resumes_stops_at_its_deadline() {
        let text = b"0123456789\n".repeat(20_000);
        let offset = 15_000 * 11;
        let far = SystemTime::now() + std::time::Duration::from_secs(60);
        let mut lines = lines_of(text.clone());
        run(lines.skip_to(offset, far)).unwrap();
        assert_eq!(lines.next_line_offset(), Some(offset), "on time: at the line to resume from");

        let mut lines = lines_of(text);
        let error = run(lines.skip_to(offset, SystemTime::now())).unwrap_err();
        assert_eq!(kind(&error), "Retryable");
        assert!(
            error.to_string().starts_with(&format!("out of time while skipping to byte {offset}")),
            "{error}"
        );
    }
}
