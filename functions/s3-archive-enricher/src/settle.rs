//! How one object's reading in this invocation ends: a result code as S3 Batch Operations names
//! it, the text shown for it, and where another invocation goes on, if anywhere. A pure function
//! of what happened ([`ObjectRun`]), so every way of ending is table-tested.

use crate::event::{Continuation, ObjectRef, ResultCode};
use crate::object::ReadError;

/// How one object's reading ended in this invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectEnd {
    /// Every line delivered.
    Finished,
    /// Stopped before the end; the rest starts at `offset`. `failure` says why, if not the clock.
    Stopped { offset: u64, failure: Option<String> },
    /// Cannot be read (any further); the lines before were delivered.
    Failed(ReadError),
}

/// One object's run in this invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRun {
    /// Lines delivered in this invocation.
    pub delivered: u64,
    pub etag: Option<String>,
    pub gzip: bool,
    pub end: ObjectEnd,
    /// The CloudFront standard log `#Fields:` line in force where the run stopped.
    pub header: Option<String>,
}

/// What an object's run comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub code: ResultCode,
    /// The result string (S3 Batch Operations' completion report, the answer's `resultString`).
    pub text: String,
    /// Lines delivered from the object so far, by this invocation and those before.
    pub lines_delivered: u64,
    /// The invocation that goes on with the rest, when there is a rest worth going on with.
    pub continuation: Option<Continuation>,
}

/// Settles `object`'s run, `resume` being where this invocation started, if it continued one.
///
/// - every line delivered: `Succeeded`;
/// - stopped by the clock, or by a failure after lines of this invocation were delivered:
///   `Succeeded`, continued from the first line not delivered;
/// - stopped by a failure before any line of this invocation was delivered: `TemporaryFailure`,
///   not continued: the caller's own retry (S3 Batch Operations, SQS, Lambda's asynchronous retry)
///   starts where this invocation did;
/// - unreadable (missing, not text, damaged gzip, refused): `PermanentFailure`.
pub fn settle(object: &ObjectRef, resume: Option<&Continuation>, run: &ObjectRun) -> Settled {
    let lines_before = resume.map_or(0, |resume| resume.lines_before);
    let total = lines_before + run.delivered;
    let path = object.path();
    let continuation = |offset: u64| Continuation {
        object: object.clone(),
        etag: run.etag.clone(),
        gzip: run.gzip,
        offset,
        lines_before: total,
        id: None,
        header: run.header.clone(),
    };
    let (code, text, continuation) = match &run.end {
        ObjectEnd::Finished => (ResultCode::Succeeded, format!("{total} lines delivered from {path}"), None),
        ObjectEnd::Failed(error) => {
            (ResultCode::PermanentFailure, format!("{error}; {total} lines before it delivered"), None)
        }
        ObjectEnd::Stopped { offset, failure: None } => {
            let text = format!(
                "{total} lines delivered; the rest (from byte {offset} of the text) continues in another invocation"
            );
            (ResultCode::Succeeded, text, Some(continuation(*offset)))
        }
        ObjectEnd::Stopped { offset, failure: Some(reason) } if run.delivered == 0 => {
            let text = format!("{reason}; nothing delivered from byte {offset}, worth another attempt");
            (ResultCode::TemporaryFailure, text, None)
        }
        ObjectEnd::Stopped { offset, failure: Some(reason) } => {
            let text = format!(
                "{total} lines delivered, then: {reason}; the rest (from byte {offset}) continues in another invocation"
            );
            (ResultCode::Succeeded, text, Some(continuation(*offset)))
        }
    };
    Settled { code, text, lines_delivered: total, continuation }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object() -> ObjectRef {
        ObjectRef { bucket: "b".into(), key: "logs/a.gz".into(), version_id: Some("v1".into()) }
    }

    fn run(delivered: u64, end: ObjectEnd) -> ObjectRun {
        ObjectRun { delivered, etag: Some("\"e\"".into()), gzip: true, end, header: None }
    }

    fn continued(offset: u64, lines_before: u64) -> Option<Continuation> {
        Some(Continuation {
            object: object(),
            etag: Some("\"e\"".into()),
            gzip: true,
            offset,
            lines_before,
            id: None,
            header: None,
        })
    }

    fn stopped(offset: u64, failure: Option<&str>) -> ObjectEnd {
        ObjectEnd::Stopped { offset, failure: failure.map(Into::into) }
    }

    #[test]
    fn every_end_of_an_object_has_its_result_and_continuation() {
        use ResultCode::*;
        let earlier = Continuation { lines_before: 100, offset: 5_000, ..continued(0, 0).unwrap() };
        let missing = ObjectEnd::Failed(ReadError::Missing("s3://b/logs/a.gz does not exist".into()));
        let damaged = ObjectEnd::Failed(ReadError::Damaged("gzip data corrupt".into()));
        // (case, resumed from, run, code, text, continuation)
        type Case<'a> =
            (&'a str, Option<&'a Continuation>, ObjectRun, ResultCode, &'a str, Option<Continuation>);
        let cases: Vec<Case> = vec![
            (
                "finished",
                None,
                run(7, ObjectEnd::Finished),
                Succeeded,
                "7 lines delivered from s3://b/logs/a.gz",
                None,
            ),
            (
                "finished, continued",
                Some(&earlier),
                run(7, ObjectEnd::Finished),
                Succeeded,
                "107 lines delivered from s3://b/logs/a.gz",
                None,
            ),
            (
                "the clock",
                Some(&earlier),
                run(7, stopped(9_000, None)),
                Succeeded,
                "107 lines delivered; the rest (from byte 9000 of the text) continues in another invocation",
                continued(9_000, 107),
            ),
            (
                "the clock before any line",
                None,
                run(0, stopped(0, None)),
                Succeeded,
                "0 lines delivered; the rest (from byte 0 of the text) continues in another invocation",
                continued(0, 0),
            ),
            (
                "a failure after lines were delivered",
                None,
                run(3, stopped(120, Some("2 documents not delivered: throttled"))),
                Succeeded,
                "3 lines delivered, then: 2 documents not delivered: throttled; the rest (from byte 120) continues in another invocation",
                continued(120, 3),
            ),
            (
                "a failure before any line of this invocation",
                Some(&earlier),
                run(0, stopped(5_000, Some("connection reset"))),
                TemporaryFailure,
                "connection reset; nothing delivered from byte 5000, worth another attempt",
                None,
            ),
            (
                "missing",
                None,
                run(0, missing),
                PermanentFailure,
                "s3://b/logs/a.gz does not exist; 0 lines before it delivered",
                None,
            ),
            (
                "damaged after readable lines",
                Some(&earlier),
                run(4, damaged),
                PermanentFailure,
                "gzip data corrupt; 104 lines before it delivered",
                None,
            ),
        ];
        for (case, resume, run, code, text, continuation) in cases {
            let settled = settle(&object(), resume, &run);
            assert_eq!(settled.code, code, "{case}");
            assert_eq!(settled.text, text, "{case}");
            assert_eq!(settled.continuation, continuation, "{case}");
            assert_eq!(
                settled.lines_delivered,
                resume.map_or(0, |r| r.lines_before) + run.delivered,
                "{case}"
            );
        }
    }
}
