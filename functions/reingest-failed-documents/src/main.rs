//! `reingest-failed-documents`: the documents of Firehose's failed-record files, sent back
//! through the delivery stream.

use std::process::ExitCode;

use clap::Parser;
use enrichment::settings::SettingError;
use firehose_delivery::{FirehoseSink, RetryPolicy, delivery_stream_names};
use reingest_failed_documents::{ReingestError, Reingester};

/// Sends the documents Firehose gave up on back through the delivery stream: each failed-record
/// file under the prefix (Firehose writes them after its retry duration; `rawData` is the
/// document) is read, its documents put into the stream, and the file deleted once all of them
/// are taken; a file partly taken keeps only the documents left. Malformed files, and records the
/// processor refused, are reported and kept. Fix what made OpenSearch refuse them first: the
/// reason is printed per file.
///
/// DELIVERY_MAX_ATTEMPTS, DELIVERY_BASE_BACKOFF_MS and DELIVERY_MAX_BACKOFF_MS set the retries as
/// for the functions; AWS credentials and region come from the usual AWS configuration.
///
/// Exit status: 0 when no file is left, 2 when files were kept, 1 on an error.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The backup bucket (the stack's output BackupBucketName)
    #[arg(long, env = "BACKUP_BUCKET_NAME")]
    bucket: String,
    /// Where Firehose writes the failed-record files
    #[arg(long, default_value = "failed/")]
    prefix: String,
    /// The Firehose delivery stream(s) to send the documents to (one name, or several separated by
    /// commas, spread over evenly: the stack's output DeliveryStreamNames)
    #[arg(long, env = "DELIVERY_STREAM_NAME")]
    delivery_stream_name: String,
    /// Read and report only: nothing is sent, deleted or rewritten
    #[arg(long)]
    dry_run: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(kept) if kept > 0 => ExitCode::from(2),
        Ok(_) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("reingest-failed-documents: {message}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error(transparent)]
    Setting(#[from] SettingError),
    #[error(transparent)]
    Reingest(#[from] ReingestError),
}

/// The number of files kept.
async fn run(args: Args) -> Result<usize, RunError> {
    let retry = RetryPolicy::from_lookup(|name| std::env::var(name).ok())?;
    let names = delivery_stream_names(&args.delivery_stream_name)?;
    let aws = aws_clients::machine::config().await;
    let firehose = aws_clients::firehose::configure(aws_sdk_firehose::config::Builder::from(&aws)).build();
    // A local endpoint (moto, MinIO) addresses buckets by path.
    let path_style = aws.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&aws).force_path_style(path_style).build(),
    );
    let reingester =
        Reingester::new(s3, FirehoseSink::for_streams(firehose, names), retry, args.bucket, args.prefix);
    let reingester = if args.dry_run { reingester.dry_run() } else { reingester };
    let report = reingester.run().await?;
    println!("{report}");
    Ok(report.kept())
}
