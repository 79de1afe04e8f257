//! `replay-failed-batches`: the Kinesis ranges of kinesis-enricher's on-failure queue, read back
//! from the stream, enriched and delivered (to Firehose, or with `DELIVERY=opensearch` to the
//! domain's `_bulk`) by kinesis-enricher's own code.

use std::process::ExitCode;

use aws_clients::signed::{SignedClient, SignedService};
use clap::Parser;
use enrichment::Enricher;
use enrichment::databases::{GeoIpSetupError, open_geoip};
use enrichment::settings::SettingError;
use firehose_delivery::{
    DELIVERY_STREAM_NAME, DeliverySettings, Destination, DirectDelivery, FirehoseSink, Sink,
};
use kinesis_enricher::{KinesisHandler, RecordEnricher};
use lambda_shell::settings::Settings;
use replay_failed_batches::{ReplayError, Replayer};

/// Replays the batches kinesis-enricher gave up on: each message of its on-failure queue names a
/// shard and a range of sequence numbers; the range is read back from the stream while the stream
/// still holds it, enriched and delivered exactly as the function does, and the message deleted
/// once every document is delivered. Expired or failing ranges are reported and kept.
///
/// The enrichment and delivery settings are the function's environment variables (LOG_FORMAT,
/// GEOIP_CITY_DB, GEOIP_ASN_DB, TRUSTED_PROXIES, IP_ANONYMIZATION, KEEP_ORIGINAL,
/// DELIVERY_MAX_ATTEMPTS, ...; DELIVERY=opensearch with OPENSEARCH_ENDPOINT and
/// FAILED_DOCUMENTS_BUCKET sends to the domain, with the ids the function gives, so a replayed
/// document that is there already is not indexed twice); AWS credentials and region come from the
/// usual AWS configuration (profile, SSO, environment).
///
/// Exit status: 0 when nothing is left in the queue, 2 when messages were kept, 1 on an error.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The on-failure queue (the stack's output FailedBatchQueueUrl)
    #[arg(long, env = "FAILED_BATCH_QUEUE_URL")]
    queue_url: String,
    /// The Firehose delivery stream(s) the function writes to (its DELIVERY_STREAM_NAME: one name,
    /// or several separated by commas, spread over as the function does); not with
    /// DELIVERY=opensearch
    #[arg(long)]
    delivery_stream_name: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(kept) if kept > 0 => ExitCode::from(2),
        Ok(_) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("replay-failed-batches: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What stops a run before or while it reads the queue.
#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error(transparent)]
    Setting(#[from] SettingError),
    #[error(transparent)]
    GeoIp(#[from] GeoIpSetupError),
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

/// The number of messages kept in the queue.
async fn run(args: Args) -> Result<usize, RunError> {
    let lookup = |name: &str| std::env::var(name).ok();
    let settings = Settings::from_lookup(lookup)?;
    let delivery = DeliverySettings::from_lookup(|name: &str| match name {
        name if name == DELIVERY_STREAM_NAME.env => {
            args.delivery_stream_name.clone().or_else(|| lookup(name))
        }
        name => lookup(name),
    })?;
    let opened = open_geoip(&settings.geoip)?;
    for warning in &opened.warnings {
        eprintln!("warning: {warning}");
    }
    let records = RecordEnricher::new(
        Enricher::new(settings.enrichment, opened.geoip),
        settings.max_decompressed_bytes,
    );

    let aws = aws_clients::machine::config().await;
    let handler = match delivery.destination {
        Destination::Firehose(names) => {
            let firehose =
                aws_clients::firehose::configure(aws_sdk_firehose::config::Builder::from(&aws)).build();
            let sinks = FirehoseSink::for_streams(firehose, names).into_iter().map(Sink::Firehose).collect();
            KinesisHandler::spread(records, delivery.retry, sinks)
        }
        Destination::OpenSearch(direct) => {
            let client = SignedClient::from_machine(Some(&direct.endpoint), SignedService::OpenSearch, &aws);
            let s3 = SignedClient::from_machine(None, SignedService::S3, &aws);
            let direct = DirectDelivery::new(direct, client, s3, "replay-failed-batches");
            KinesisHandler::delivering_directly(records, delivery.retry, direct)
        }
    };
    let mut replayer = Replayer::new(
        aws_sdk_sqs::Client::new(&aws),
        aws_sdk_kinesis::Client::new(&aws),
        handler,
        args.queue_url,
    );
    let report = replayer.run().await?;
    println!("{report}");
    Ok(report.kept())
}
