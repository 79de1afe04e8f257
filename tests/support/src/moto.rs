//! `MotoServer`: a real moto server (the AWS protocols, with Firehose delivering to S3
//! synchronously) from the project's venv, on 127.0.0.1, stopped by process id when dropped.
//! `make test-tools` (part of `make test`) installs it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::repo;

pub const REGION: &str = "eu-west-1";

#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    port: u16,
}

impl MotoServer {
    pub fn start() -> Self {
        let binary = repo(".venv/bin/moto_server");
        assert!(binary.exists(), "{} is missing: run `make test-tools` (`make test` does)", binary.display());
        // Port 0: the system gives moto a free port as it binds, and moto's server names it on
        // stderr. (A port found free beforehand can be taken by a parallel test's moto, whose
        // requests then reach the wrong server, or one that another test stops.)
        let mut child = Command::new(binary)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (port_sender, port_receiver) = mpsc::channel();
        // Reads stderr for as long as moto runs: it logs every request there, and a full pipe
        // would stop it.
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(port) = line.split("Running on http://127.0.0.1:").nth(1) {
                    let _ = port_sender.send(port.trim().parse::<u16>().ok());
                }
            }
        });
        let port = match port_receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(port)) => port,
            other => {
                let _ = child.kill();
                panic!("moto did not say which port it listens on: {other:?}");
            }
        };
        Self { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `binary` as a user runs it on their machine, against this server: test credentials, the
    /// region and the endpoint in its environment, and nothing else (no profile, no instance
    /// metadata, none of the machine's AWS configuration).
    pub fn machine_command(&self, binary: &str) -> Command {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", REGION)
            .env("AWS_ENDPOINT_URL", self.url())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
        command
    }

    /// One request to moto, with an Authorization header whose scope names the region (moto keeps
    /// resources per region; it does not check signatures).
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        service: &str,
    ) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=test/20261121/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n",
            self.port,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let status =
            String::from_utf8_lossy(&response[..split]).split_whitespace().nth(1).unwrap().parse().unwrap();
        let headers = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
        let mut body = response[split + 4..].to_vec();
        if headers.contains("transfer-encoding: chunked") {
            body = dechunk(&body);
        }
        (status, body)
    }

    pub fn create_bucket(&self, bucket: &str) {
        let config = format!(
            "<CreateBucketConfiguration><LocationConstraint>{REGION}</LocationConstraint></CreateBucketConfiguration>"
        );
        let (status, body) = self.request("PUT", &format!("/{bucket}"), &[], config.as_bytes(), "s3");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }

    /// Puts `body` as `bucket`/`key` (the key is sent percent-encoded).
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        let path = format!("/{bucket}/{}", encode_key(key));
        let (status, response) = self.request("PUT", &path, &[], body, "s3");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&response));
    }

    /// A DirectPut Firehose stream delivering to `bucket`.
    pub fn create_direct_put_stream(&self, stream: &str, bucket: &str) {
        let body = json!({
            "DeliveryStreamName": stream,
            "DeliveryStreamType": "DirectPut",
            "ExtendedS3DestinationConfiguration": {
                "RoleARN": "arn:aws:iam::123456789012:role/firehose-delivery",
                "BucketARN": format!("arn:aws:s3:::{bucket}"),
                "Prefix": "enriched/",
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
            },
        });
        let headers = [
            ("X-Amz-Target", "Firehose_20150804.CreateDeliveryStream"),
            ("Content-Type", "application/x-amz-json-1.1"),
        ];
        let (status, response) = self.request("POST", "/", &headers, body.to_string().as_bytes(), "firehose");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&response));
        let _: Value = serde_json::from_slice(&response).unwrap();
    }

    /// One call of the Kinesis API (JSON 1.1); its answer.
    fn kinesis(&self, operation: &str, body: &Value) -> Value {
        let target = format!("Kinesis_20131202.{operation}");
        let headers = [("X-Amz-Target", target.as_str()), ("Content-Type", "application/x-amz-json-1.1")];
        let (status, response) = self.request("POST", "/", &headers, body.to_string().as_bytes(), "kinesis");
        assert_eq!(status, 200, "{operation}: {}", String::from_utf8_lossy(&response));
        serde_json::from_slice(&response).unwrap_or(Value::Null)
    }

    /// A Kinesis data stream of one shard.
    pub fn create_stream(&self, stream: &str) {
        self.kinesis("CreateStream", &json!({"StreamName": stream, "ShardCount": 1}));
    }

    /// Puts `data` as one record; its sequence number.
    pub fn put_record(&self, stream: &str, data: &[u8]) -> String {
        use base64::Engine as _;
        let data = base64::engine::general_purpose::STANDARD.encode(data);
        let put =
            self.kinesis("PutRecord", &json!({"StreamName": stream, "PartitionKey": "web-1", "Data": data}));
        put["SequenceNumber"].as_str().unwrap().to_owned()
    }

    /// Puts each of `records` as one record, in one PutRecords call (at most 500).
    pub fn put_records(&self, stream: &str, records: &[Vec<u8>]) {
        use base64::Engine as _;
        let entries: Vec<Value> = records
            .iter()
            .map(|data| json!({"Data": base64::engine::general_purpose::STANDARD.encode(data), "PartitionKey": "web-1"}))
            .collect();
        let put = self.kinesis("PutRecords", &json!({"StreamName": stream, "Records": entries}));
        assert_eq!(put["FailedRecordCount"], 0, "{put}");
    }

    /// Every record of the stream's first shard, as GetRecords returns them (`Data` base64,
    /// `ApproximateArrivalTimestamp` in seconds), with the shard's id.
    pub fn shard_records(&self, stream: &str) -> (String, Vec<Value>) {
        let shard = "shardId-000000000000";
        let iterator = self.kinesis(
            "GetShardIterator",
            &json!({"StreamName": stream, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
        );
        let page =
            self.kinesis("GetRecords", &json!({"ShardIterator": iterator["ShardIterator"], "Limit": 10000}));
        (shard.to_owned(), page["Records"].as_array().cloned().unwrap_or_default())
    }

    /// The object `bucket`/`key`, if there is one.
    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let (status, body) = self.request("GET", &format!("/{bucket}/{}", encode_key(key)), &[], b"", "s3");
        match status {
            200 => Some(body),
            404 => None,
            other => panic!("GET {bucket}/{key}: {other} {}", String::from_utf8_lossy(&body)),
        }
    }

    /// The keys of every object in `bucket`, in order.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let (status, listing) =
            self.request("GET", &format!("/{bucket}?list-type=2&max-keys=100000"), &[], b"", "s3");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&listing));
        let listing = String::from_utf8(listing).unwrap();
        listing.split("<Key>").skip(1).map(|rest| rest.split("</Key>").next().unwrap().to_owned()).collect()
    }

    /// The contents of every object in `bucket`.
    pub fn objects(&self, bucket: &str) -> Vec<Vec<u8>> {
        self.keys(bucket)
            .into_iter()
            .map(|key| {
                let (status, object) = self.request("GET", &format!("/{bucket}/{key}"), &[], b"", "s3");
                assert_eq!(status, 200);
                object
            })
            .collect()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A key as a URL path: every byte but unreserved ones and `/` percent-encoded.
fn encode_key(key: &str) -> String {
    key.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 4 + size..];
    }
}
