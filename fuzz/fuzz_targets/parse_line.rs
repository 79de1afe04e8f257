//! Any bytes, through every built-in format, compiled LogFormats with many directives, nginx
//! log_formats in each escape mode, both error logs, ALB lines, CloudFront records and CloudFront
//! standard log files (the input read as a file of lines, headers first): one valid JSON document
//! per line but a header line (none), never a panic. The enrichers are built once per format and
//! option set and kept between inputs, as a function keeps its one (its caches then see many lines
//! too); each input is a new file. With both options set the enricher also has shaping rules of
//! every kind (drop and sample, texts the raw-line search finds, a regular expression, networks,
//! statuses, crawler categories) and redacts e-mail addresses: a line left out writes nothing.
#![no_main]

use std::cell::RefCell;

use enrichment::settings::{EnrichmentSettings, FormatChoice, IpAnonymization};
use enrichment::{Enricher, EventContext, Timestamp, TrustedProxies};
use libfuzzer_sys::fuzz_target;

const FORMATS: [&str; 20] = [
    "auto",
    "common",
    "combined",
    "vhost_combined",
    "kinesis-agent-json",
    r#"%{X-Forwarded-For}i %a %h %l %u %{msec}t "%r" %>s %s %b %O %I %D %T %v %V %p "%U" %q %m %H "%{Referer}i" "%{User-Agent}i" %%"#,
    r#"%h [%{%Y-%m-%dT%H:%M:%S}t.%{usec_frac}t%{%z}t] %{end:%d/%b/%Y %T %z}t "%U%q" %200t %!200u %>{s}!200T"#,
    r#"%t %h %{SSL_PROTOCOL}x %{SSL_CIPHER}x "%r" %b"#,
    r#"%{%a %b %e %H:%M:%S %Y}t %{sec}t.%{msec_frac}t %{%j %I %p %Z}t "%r""#,
    // nginx, in each escape mode (scripts/fuzz.sh seeds them with tests/data/nginx/).
    r#"'$remote_addr - $remote_user [$time_local] "$request" ' '$status $body_bytes_sent "$http_referer" ' '"$http_user_agent" "$http_x_forwarded_for"'"#,
    r#"escape=json '$remote_addr [$time_local] "$request" $status "$http_user_agent" "$http_referer"'"#,
    r#"escape=none '$remote_addr [$time_local] "$request" $status "$http_user_agent" "$http_referer"'"#,
    r#"'$remote_addr [$time_iso8601] $msec "$request_method $uri$is_args$args $server_protocol" $request_uri $status rt=$request_time urt="$upstream_response_time" ua=$upstream_addr us=$upstream_status ${host}:$server_port'"#,
    r#"escape=json '{"msec":"$msec","time_iso8601":"$time_iso8601","remote_addr":"$remote_addr","request":"$request","status":$status,"body_bytes_sent":"$body_bytes_sent","request_time":$request_time,"http_user_agent":"$http_user_agent","upstream":{"addr":"$upstream_addr","status":"$upstream_status"}}'"#,
    // The error logs (seeded with the captures' error.log files).
    "nginx_error",
    "apache_error",
    // Application Load Balancer lines (seeded with tests/data/alb/).
    "alb",
    // CloudFront real-time records, by the default list and by a short one (tests/data/cloudfront/).
    "cloudfront-realtime",
    "cloudfront-realtime:timestamp,c-ip,sc-status,cs-method,cs-uri-stem,cs-user-agent,x-edge-result-type,origin-fbl,time-taken",
    // CloudFront standard log files, header and lines (tests/data/cloudfront/standard-*.log).
    "cloudfront",
];

/// The format whose inputs are whole files (the others' are one line each).
const FILE_FORMAT: usize = 19;

thread_local! {
    /// One enricher per format and per (anonymize, keep original) pair, built when first asked for.
    static ENRICHERS: RefCell<Vec<Option<Enricher>>> = RefCell::new((0..FORMATS.len() * 4).map(|_| None).collect());
}

/// Rules of every kind, for the enrichers with both options set.
const DROP_WHEN: &str = "user_agent.original ^= ELB-HealthChecker/; url.path = /health,/healthz; \
     source.ip in 10.0.0.0/8 and url.path ^= /internal/; http.response.status_code = 5xx and url.query $= =1; \
     crawler.category = monitoring; user_agent.original ~ (?i)probe; destination.domain = status.example.com";
const SAMPLE_WHEN: &str = "1/3: url.path ~ \\.(css|png)$; 1/2: http.request.method = HEAD,OPTIONS";

fn enricher(format: usize, anonymize: bool, keep_original: bool) -> Enricher {
    let shaped = anonymize && keep_original;
    let rules = [("DROP_WHEN", DROP_WHEN), ("SAMPLE_WHEN", SAMPLE_WHEN), ("REDACT_EMAILS", "true")];
    let lookup = |name: &str| rules.iter().find(|(n, _)| shaped && *n == name).map(|(_, v)| (*v).to_owned());
    let settings = EnrichmentSettings {
        format: FormatChoice::parse(FORMATS[format]).expect("valid format"),
        anonymization: if anonymize { IpAnonymization::Truncate } else { IpAnonymization::None },
        keep_original,
        trusted_proxies: TrustedProxies::parse("10.0.0.0/8, ::1").expect("valid"),
        ..EnrichmentSettings::from_lookup(lookup).expect("valid rules")
    };
    Enricher::new(settings, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, line)) = data.split_first() else { return };
    let format = usize::from(selector) % FORMATS.len();
    let (anonymize, keep_original) = (selector & 0x80 != 0, selector & 0x40 != 0);
    let slot = format * 4 + usize::from(anonymize) * 2 + usize::from(keep_original);
    let context = EventContext {
        event_id: Some("fuzz"),
        received_at: Timestamp::from_unix_millis(0).expect("epoch"),
        log_origin: None, cloud: None,
    };
    let lines: Vec<&[u8]> =
        if format == FILE_FORMAT { line.split(|&b| b == b'\n').collect() } else { vec![line] };
    ENRICHERS.with_borrow_mut(|enrichers| {
        let enricher = enrichers[slot].get_or_insert_with(|| enricher(format, anonymize, keep_original));
        enricher.start_file(None, None);
        for line in lines {
            let mut out = Vec::new();
            let outcome = enricher.enrich_line(line, &context, &mut out);
            if !outcome.has_document() {
                assert!(out.is_empty(), "a header line, or a line the rules left out, wrote a document");
            } else {
                assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok(), "invalid JSON document");
            }
        }
    });
});
