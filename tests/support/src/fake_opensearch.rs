//! `FakeOpenSearch`: a stand-in for an OpenSearch Service domain's `_bulk` endpoint on 127.0.0.1
//! (no OpenSearch server runs in the tests). It answers as the documented API does: per-item
//! results (201 created, 409 `version_conflict_engine_exception` for an id the index holds, 429
//! `es_rejected_execution_exception`, 400 `mapper_parsing_exception`), 413 for a body over its
//! request limit, 403 for a request that is not SigV4-signed for `es` (or for every request, to
//! play a role the domain does not admit), 503 for whole calls when told. It takes gzip bodies
//! (`Content-Encoding: gzip`) and keeps every created document by index and id.

use std::collections::{BTreeMap, HashSet};
use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::http::{HttpServer, Response};

/// What to break. Documents are picked by a substring of their text.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The first this-many calls are answered 503 whole.
    pub unavailable_calls: usize,
    /// A document containing one of these is rejected with 429 the first time it is sent.
    pub throttle_once: Vec<String>,
    /// A document containing one of these is refused with 400 `mapper_parsing_exception`.
    pub refuse: Vec<String>,
    /// Every call is answered 403, as a domain answers a role its access policy does not admit.
    pub forbidden: bool,
    /// The domain's request limit (`http.max_content_length`); none: 100 MiB.
    pub max_body_bytes: Option<usize>,
}

#[derive(Debug, Default)]
pub struct Observed {
    /// Created documents by (index, id).
    pub documents: BTreeMap<(String, String), Vec<u8>>,
    /// When each document was created (its `_bulk` request answered).
    pub created_at: BTreeMap<(String, String), SystemTime>,
    pub calls: usize,
    /// Per call that was read: the body's size as sent, and whether it was gzip.
    pub bodies: Vec<(usize, bool)>,
    pub created: usize,
    pub conflicts: usize,
    pub throttled_items: usize,
    pub refused_items: usize,
    /// Calls answered 403, 413 or 503.
    pub refused_calls: Vec<u16>,
    /// The credential scope of each signed call (`<key>/<date>/<region>/<service>/aws4_request`).
    pub credential_scopes: Vec<String>,
    throttled: HashSet<Vec<u8>>,
}

#[derive(Debug)]
pub struct FakeOpenSearch {
    server: HttpServer,
    observed: Arc<Mutex<Observed>>,
}

impl FakeOpenSearch {
    pub fn start(faults: Faults) -> Self {
        let observed = Arc::new(Mutex::new(Observed::default()));
        let shared = Arc::clone(&observed);
        let server = HttpServer::start(move |request| {
            let error = |status: u16, kind: &str, reason: &str| {
                Response::new(
                    status,
                    json!({"error": {"type": kind, "reason": reason}, "status": status}).to_string(),
                )
                .header("Content-Type", "application/json")
            };
            let mut observed = shared.lock().unwrap();
            observed.calls += 1;
            if request.method != "POST" || request.path != "/_bulk" {
                return error(400, "illegal_argument_exception", "only POST /_bulk is faked here");
            }
            let scope = request
                .header("authorization")
                .and_then(|value| value.strip_prefix("AWS4-HMAC-SHA256 Credential="))
                .and_then(|value| value.split(',').next())
                .map(str::to_owned);
            let signed_for_es = scope.as_deref().is_some_and(|scope| scope.ends_with("/es/aws4_request"));
            if faults.forbidden || !signed_for_es {
                observed.refused_calls.push(403);
                return Response::new(
                    403,
                    json!({"message": "User: arn:aws:sts::123456789012:assumed-role/kinesis-enricher/kinesis-enricher is not authorized to perform: es:ESHttpPost"}).to_string(),
                );
            }
            observed.credential_scopes.extend(scope);
            if observed.calls <= faults.unavailable_calls {
                observed.refused_calls.push(503);
                return error(503, "unavailable", "the domain is processing a change");
            }
            let limit = faults.max_body_bytes.unwrap_or(100 << 20);
            if request.body.len() > limit {
                observed.refused_calls.push(413);
                return Response::new(
                    413,
                    json!({"Message": format!("Request size exceeded {limit} bytes")}).to_string(),
                );
            }
            let gzip =
                request.header("content-encoding").is_some_and(|value| value.eq_ignore_ascii_case("gzip"));
            observed.bodies.push((request.body.len(), gzip));
            let body = if gzip {
                let mut body = Vec::new();
                flate2::read::MultiGzDecoder::new(&request.body[..]).read_to_end(&mut body).unwrap();
                body
            } else {
                request.body
            };
            let lines: Vec<&[u8]> =
                body.split(|&byte| byte == b'\n').filter(|line| !line.is_empty()).collect();
            if !lines.len().is_multiple_of(2) {
                return error(
                    400,
                    "illegal_argument_exception",
                    "The bulk request must be terminated by a newline",
                );
            }
            let contains = |document: &[u8], needles: &[String]| {
                let text = String::from_utf8_lossy(document);
                needles.iter().any(|needle| text.contains(needle.as_str()))
            };
            let mut errors = false;
            let items: Vec<Value> = lines
                .chunks(2)
                .map(|pair| {
                    let (action, document) = (pair[0], pair[1]);
                    let action: Value = serde_json::from_slice(action).unwrap_or(Value::Null);
                    let target = &action["create"];
                    let index = target["_index"].as_str().unwrap_or("").to_owned();
                    let id = target["_id"].as_str().unwrap_or("").to_owned();
                    let item = |status: u16, error: Option<(&str, String)>| {
                        let mut item = json!({"_index": index, "_id": id, "status": status});
                        if let Some((kind, reason)) = error {
                            item["error"] = json!({"type": kind, "reason": reason});
                        }
                        json!({"create": item})
                    };
                    if target.is_null() || index.is_empty() || id.is_empty() {
                        errors = true;
                        return item(
                            400,
                            Some((
                                "action_request_validation_exception",
                                "not a create with an index and an id".into(),
                            )),
                        );
                    }
                    if serde_json::from_slice::<Value>(document).is_err()
                        || contains(document, &faults.refuse)
                    {
                        errors = true;
                        observed.refused_items += 1;
                        return item(
                            400,
                            Some((
                                "mapper_parsing_exception",
                                "failed to parse field [source.ip] of type [ip] in document".into(),
                            )),
                        );
                    }
                    if contains(document, &faults.throttle_once)
                        && observed.throttled.insert(document.to_vec())
                    {
                        errors = true;
                        observed.throttled_items += 1;
                        return item(
                            429,
                            Some((
                                "es_rejected_execution_exception",
                                "rejected execution of coordinating operation".into(),
                            )),
                        );
                    }
                    let key = (index.clone(), id.clone());
                    if observed.documents.contains_key(&key) {
                        errors = true;
                        observed.conflicts += 1;
                        return item(
                            409,
                            Some((
                                "version_conflict_engine_exception",
                                format!(
                                    "[{id}]: version conflict, document already exists (current version [1])"
                                ),
                            )),
                        );
                    }
                    observed.created_at.insert(key.clone(), SystemTime::now());
                    observed.documents.insert(key, document.to_vec());
                    observed.created += 1;
                    item(201, None)
                })
                .collect();
            Response::new(200, json!({"took": 3, "errors": errors, "items": items}).to_string())
                .header("Content-Type", "application/json")
        });
        Self { server, observed }
    }

    /// For `OPENSEARCH_ENDPOINT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn observed<T>(&self, look: impl FnOnce(&Observed) -> T) -> T {
        look(&self.observed.lock().unwrap())
    }
}
