//! The built `firehose-transformer` binary, real `main` and all, driven through the Lambda Runtime
//! API by `LocalRuntimeApi`, an in-test stand-in for Lambda's own endpoint on 127.0.0.1 (the real
//! service cannot run here). Its answers must equal the library handler's, it must write one EMF
//! line per invocation, and a gzip bomb must not raise its peak memory.
#![allow(clippy::unwrap_used)] // a test that cannot set itself up should stop right there

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

mod support;

use support::repo;

use aws_lambda_events::event::firehose::KinesisFirehoseEvent;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

#[derive(Default)]
struct State {
    pending: VecDeque<(String, Vec<u8>)>,
    responses: HashMap<String, Vec<u8>>,
    errors: Vec<String>,
}

/// A minimal Lambda Runtime API: hands out queued events on `GET .../invocation/next` and records
/// what the function posts back. HTTP/1.1 with keep-alive, one thread per connection.
struct LocalRuntimeApi {
    address: String,
    state: Arc<(Mutex<State>, Condvar)>,
}

impl LocalRuntimeApi {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        Self { address, state }
    }

    fn enqueue(&self, request_id: &str, event: &[u8]) {
        let (lock, ready) = &*self.state;
        lock.lock().unwrap().pending.push_back((request_id.to_owned(), event.to_vec()));
        ready.notify_all();
    }

    /// Waits for the responses to `ids` (or an error) for at most `timeout`.
    fn wait_for(&self, ids: &[String], timeout: Duration) -> HashMap<String, Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let (lock, changed) = &*self.state;
        let mut state = lock.lock().unwrap();
        loop {
            assert!(state.errors.is_empty(), "the function reported errors: {:?}", state.errors);
            if ids.iter().all(|id| state.responses.contains_key(id)) {
                return state.responses.clone();
            }
            let left =
                deadline.checked_duration_since(Instant::now()).expect("timed out waiting for responses");
            state = changed.wait_timeout(state, left).unwrap().0;
        }
    }
}

fn serve(stream: TcpStream, state: &(Mutex<State>, Condvar)) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut content_length = 0;
        let mut chunked = false;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => content_length = value.trim().parse().unwrap(),
                "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
                _ => {}
            }
        }
        let body = if chunked { read_chunked(&mut reader) } else { read_exact(&mut reader, content_length) };
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap(), parts.next().unwrap());
        let (lock, changed) = state;
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let (id, event) = {
                let mut state = lock.lock().unwrap();
                loop {
                    if let Some(next) = state.pending.pop_front() {
                        break next;
                    }
                    state = changed.wait(state).unwrap();
                }
            };
            let deadline =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
                    + 60_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: \
                 arn:aws:lambda:eu-west-1:123456789012:function:firehose-transformer\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-6740a1b2-0123456789abcdef01234567;Sampled=0\r\n\
                 Content-Length: {}\r\n\r\n",
                event.len()
            );
            writer.write_all(head.as_bytes()).unwrap();
            writer.write_all(&event).unwrap();
        } else {
            let mut state = lock.lock().unwrap();
            let segments: Vec<&str> = path.split('/').collect();
            match segments.as_slice() {
                [.., "invocation", id, "response"] => {
                    state.responses.insert((*id).to_owned(), body);
                }
                _ => state.errors.push(format!("{method} {path}: {}", String::from_utf8_lossy(&body))),
            }
            changed.notify_all();
            writer.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n").unwrap();
        }
        writer.flush().unwrap();
    }
}

fn read_exact(reader: &mut impl Read, length: usize) -> Vec<u8> {
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    body
}

fn read_chunked(reader: &mut impl BufRead) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).unwrap();
        let size = usize::from_str_radix(size.trim().split(';').next().unwrap(), 16).unwrap();
        let mut chunk = read_exact(reader, size + 2);
        chunk.truncate(size);
        body.extend_from_slice(&chunk);
        if size == 0 {
            return body;
        }
    }
}

fn demo_database_files() -> (PathBuf, PathBuf) {
    let (city, asn) = geoip_testdata::demo_databases(geoip_testdata::DEMO_SOURCE).unwrap();
    let dir = std::env::temp_dir().join(format!("firehose-runtime-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Demo-City.mmdb"), city).unwrap();
    std::fs::write(dir.join("Demo-ASN.mmdb"), asn).unwrap();
    (dir.join("Demo-City.mmdb"), dir.join("Demo-ASN.mmdb"))
}

fn spawn_function(api: &LocalRuntimeApi, env: &[(&str, &Path)], extra: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_firehose-transformer"));
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "firehose-transformer")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/21/[$LATEST]0123456789abcdef")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/firehose-transformer")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_REGION", "eu-west-1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, path) in env {
        command.env(name, path);
    }
    command.envs(extra.iter().copied());
    command.spawn().unwrap()
}

/// Peak resident memory of a process, from /proc.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// 1 GiB of zeros in ~1 MiB of gzip, in a Firehose request of its own.
fn gzip_bomb_event() -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    std::io::copy(&mut std::io::repeat(0).take(1 << 30), &mut encoder).unwrap();
    let bomb = encoder.finish().unwrap();
    let event = json!({
        "invocationId": "bomb",
        "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/weblogs-enriched",
        "region": "eu-west-1",
        "records": [{"recordId": "bomb-1", "approximateArrivalTimestamp": 1_795_239_470_000_i64, "data": BASE64.encode(bomb)}],
    });
    serde_json::to_vec(&event).unwrap()
}

#[test]
fn the_binary_answers_like_the_handler_through_the_runtime_api() {
    let (city, asn) = demo_database_files();
    let api = LocalRuntimeApi::start();
    let names = [
        "firehose-apache-lines.json",
        "firehose-kinesis-agent-json.json",
        "firehose-cloudwatch-logs.json",
        "firehose-bad-records.json",
    ];
    let mut ids = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let id = format!("request-{index}");
        api.enqueue(&id, &std::fs::read(repo(&format!("tests/events/{name}"))).unwrap());
        ids.push(id);
    }
    let mut child = spawn_function(&api, &[("GEOIP_CITY_DB", &city), ("GEOIP_ASN_DB", &asn)], &[]);
    let responses = api.wait_for(&ids, Duration::from_secs(60));
    let before_bomb = peak_rss_kib(child.id());
    api.enqueue("request-bomb", &gzip_bomb_event());
    let bomb_response =
        api.wait_for(&["request-bomb".to_owned()], Duration::from_secs(60))["request-bomb"].clone();
    let after_bomb = peak_rss_kib(child.id());
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();

    // The same answers as the library handler gives in-process.
    let mut handler = support::demo_transformer();
    for (id, name) in ids.iter().zip(names) {
        let event: KinesisFirehoseEvent =
            serde_json::from_slice(&std::fs::read(repo(&format!("tests/events/{name}"))).unwrap()).unwrap();
        let expected = serde_json::to_value(handler.handle(&event).0).unwrap();
        let actual: Value = serde_json::from_slice(&responses[id]).unwrap();
        assert_eq!(actual, expected, "{name}");
    }

    // The bomb: ProcessingFailed, and no more memory than before it (well under the 128 MB function).
    let bomb: Value = serde_json::from_slice(&bomb_response).unwrap();
    assert_eq!(bomb["records"][0]["result"], "ProcessingFailed");
    assert!(after_bomb < 64 * 1024, "peak RSS {after_bomb} KiB after the bomb (before: {before_bomb} KiB)");
    eprintln!("peak RSS before the bomb {before_bomb} KiB, after {after_bomb} KiB");

    // One EMF line per invocation on stdout, with the counts of each request.
    let stdout = String::from_utf8(output.stdout).unwrap();
    let emf: Vec<Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|value| value.get("_aws").is_some())
        .collect();
    let records_in: Vec<f64> = emf.iter().map(|m| m["RecordsIn"].as_f64().unwrap()).collect();
    assert_eq!(records_in, [12.0, 5.0, 3.0, 7.0, 1.0], "{stdout}");
    assert_eq!(emf[3]["MultiEventRecords"], 1.0);
    assert_eq!(emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "WeblogEnrichment");
    // And one INFO summary per invocation, as JSON (AWS_LAMBDA_LOG_FORMAT=JSON).
    let summaries = stdout
        .lines()
        .filter(|line| line.contains("\"invocation\"") && line.contains("\"records_in\""))
        .count();
    assert_eq!(summaries, 5, "{stdout}");
}

#[test]
fn a_bad_setting_stops_the_function_with_the_setting_named() {
    let api = LocalRuntimeApi::start();
    let mut child = spawn_function(&api, &[], &[("LOG_FORMAT", "combinded"), ("GEOIP_OPTIONAL", "true")]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the function kept running with a bad setting");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    let mut logs = String::new();
    child.stdout.take().unwrap().read_to_string(&mut logs).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    assert!(logs.contains("invalid LOG_FORMAT (--format) value \\\"combinded\\\""), "{logs}");
}
