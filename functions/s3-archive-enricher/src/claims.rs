//! One continuation, one reader. An asynchronous `Invoke` whose attempt timed out after Lambda had
//! queued the event is sent again by the SDK's retry, and Lambda's own queue may hand an event over
//! twice: two invocations would then read the same rest of an object and deliver it twice. Each
//! continuation carries a random id, and the invocation that reads it first claims it with a
//! conditional write of a small marker object (`If-None-Match: *`, `CONTINUATION_CLAIMS`); any
//! other invocation with the same id finds the claim and leaves the object alone.
//!
//! The marker says how far the claim goes:
//! - `running until <ms>`: the claimer's deadline. A claimer that died (timeout, out of memory)
//!   cannot run past it, so Lambda's retry of the same event, which comes later, takes the claim
//!   over (`If-Match` on the marker's ETag, so only one taker wins);
//! - `done`: the continuation was read (and handed on, if the object goes on); later copies are
//!   duplicates for good.
//!
//! A continuation that fails its invocation releases its claim (the marker is deleted), so that
//! Lambda's retry, or the event sent again by hand from the on-failure queue, reads it. Markers
//! expire with a lifecycle rule on their prefix. When the markers cannot be read or written, the
//! continuation is read anyway (a WARN says so): a claim only ever prevents duplicates, it never
//! holds back the only copy.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_clients::{describe, http_status};
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use enrichment::settings::{Setting, SettingError, non_blank};

/// `s3://bucket/prefix`: where the claims' markers are written. Unset: continuations are not
/// claimed.
pub const CONTINUATION_CLAIMS: Setting = Setting::env_only("CONTINUATION_CLAIMS");

/// Where the markers go, and the S3 client that writes them.
#[derive(Debug, Clone)]
pub struct ContinuationClaims {
    client: Client,
    bucket: String,
    prefix: String,
}

/// What claiming a continuation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This invocation reads it.
    Ours,
    /// Another invocation read it, or is reading it now: this copy is a duplicate.
    Taken(String),
}

const DONE: &str = "done";
const RUNNING_UNTIL: &str = "running until ";

impl ContinuationClaims {
    /// The claims `CONTINUATION_CLAIMS` names, if it is set.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        client: Client,
    ) -> Result<Option<Self>, SettingError> {
        let Some(value) = non_blank(lookup, CONTINUATION_CLAIMS) else { return Ok(None) };
        let refuse = || {
            SettingError::new(
                CONTINUATION_CLAIMS,
                &value,
                "s3://BUCKET/PREFIX: a bucket the function may write markers to, and a key prefix",
            )
        };
        let location = value.trim().strip_prefix("s3://").ok_or_else(refuse)?;
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if bucket.is_empty() {
            return Err(refuse());
        }
        let prefix =
            if prefix.is_empty() || prefix.ends_with('/') { prefix.to_owned() } else { format!("{prefix}/") };
        Ok(Some(Self { client, bucket: bucket.to_owned(), prefix }))
    }

    fn key(&self, id: &str) -> String {
        format!("{}{id}", self.prefix)
    }

    /// Claims continuation `id` for an invocation that ends at `deadline`.
    pub async fn claim(&self, id: &str, deadline: SystemTime) -> Result<Claim, String> {
        let running = format!("{RUNNING_UNTIL}{}", unix_millis(deadline));
        match self.put(id, &running, Precondition::Absent).await {
            Ok(()) => return Ok(Claim::Ours),
            Err(PutError::Precondition) => {}
            Err(PutError::Other(error)) => return Err(error),
        }
        let (marker, etag) = self.read(id).await?;
        let taken_until =
            marker.strip_prefix(RUNNING_UNTIL).and_then(|millis| millis.trim().parse::<u128>().ok());
        match taken_until {
            // Its claimer's deadline has passed: it died without a word. Take it over.
            Some(until) if until < unix_millis(SystemTime::now()) => {
                match self.put(id, &running, Precondition::Unchanged(etag)).await {
                    Ok(()) => Ok(Claim::Ours),
                    Err(PutError::Precondition) => {
                        Ok(Claim::Taken("taken over by another invocation".into()))
                    }
                    Err(PutError::Other(error)) => Err(error),
                }
            }
            Some(_) => Ok(Claim::Taken("another invocation is reading it".into())),
            None if marker == DONE => Ok(Claim::Taken("already read".into())),
            None => Err(format!("marker {} holds {marker:?}", self.key(id))),
        }
    }

    /// Continuation `id` was read (and handed on, if the object goes on): later copies are
    /// duplicates.
    pub async fn finish(&self, id: &str) -> Result<(), String> {
        self.put(id, DONE, Precondition::None).await.map_err(|error| match error {
            PutError::Precondition => "the marker changed meanwhile".to_owned(),
            PutError::Other(error) => error,
        })
    }

    /// Continuation `id` failed: its claim is given up, for a retry to read it.
    pub async fn release(&self, id: &str) -> Result<(), String> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.key(id))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| describe(&error))
    }

    async fn put(&self, id: &str, body: &str, precondition: Precondition) -> Result<(), PutError> {
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(id))
            .content_type("text/plain")
            .body(ByteStream::from(body.as_bytes().to_vec()));
        request = match precondition {
            Precondition::None => request,
            Precondition::Absent => request.if_none_match("*"),
            Precondition::Unchanged(etag) => request.if_match(etag),
        };
        match request.send().await {
            Ok(_) => Ok(()),
            // 412: the condition does not hold; 409: another conditional write on the key raced it.
            Err(error)
                if matches!(http_status(&error), Some(412 | 409))
                    || error.code() == Some("PreconditionFailed") =>
            {
                Err(PutError::Precondition)
            }
            Err(error) => Err(PutError::Other(describe(&error))),
        }
    }

    /// The marker's text and ETag.
    async fn read(&self, id: &str) -> Result<(String, String), String> {
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key(id))
            .send()
            .await
            .map_err(|error| describe(&error))?;
        let etag = output.e_tag().unwrap_or_default().to_owned();
        let bytes = output.body.collect().await.map_err(|error| error.to_string())?.into_bytes();
        Ok((String::from_utf8_lossy(&bytes).into_owned(), etag))
    }
}

/// A new continuation's id: 128 random bits, in hex.
pub fn new_id() -> String {
    format!("{:032x}", fastrand::u128(..))
}

enum Precondition {
    None,
    Absent,
    Unchanged(String),
}

enum PutError {
    Precondition,
    Other(String),
}

fn unix_millis(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH).map(|since| since.as_millis()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::config::{BehaviorVersion, Region};

    use super::*;

    fn client() -> Client {
        Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .http_client(aws_clients::https_client())
                .region(Region::new("eu-west-1"))
                .build(),
        )
    }

    fn claims(value: &str) -> Result<Option<ContinuationClaims>, SettingError> {
        let value = value.to_owned();
        ContinuationClaims::from_lookup(
            move |name| (name == CONTINUATION_CLAIMS.env).then(|| value.clone()),
            client(),
        )
    }

    #[test]
    fn the_setting_names_a_bucket_and_a_prefix() {
        assert!(claims("").unwrap().is_none(), "unset or blank: no claims");
        for (value, bucket, key) in [
            ("s3://weblogs-backup/continuations", "weblogs-backup", "continuations/abc"),
            ("s3://weblogs-backup/a/b/", "weblogs-backup", "a/b/abc"),
            ("s3://weblogs-backup", "weblogs-backup", "abc"),
        ] {
            let claims = claims(value).unwrap().unwrap();
            assert_eq!((claims.bucket.as_str(), claims.key("abc").as_str()), (bucket, key), "{value}");
        }
        for bad in ["weblogs-backup/continuations", "s3:///continuations", "https://weblogs-backup/x"] {
            let error = claims(bad).unwrap_err().to_string();
            assert!(
                error.contains("CONTINUATION_CLAIMS") && error.contains(bad) && error.contains("s3://BUCKET"),
                "{error}"
            );
        }
    }

    #[test]
    fn ids_are_random_and_hex() {
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        assert!(a.len() == 32 && a.bytes().all(|byte| byte.is_ascii_hexdigit()), "{a}");
    }
}
