//! Any bytes, through every built-in format and a compiled LogFormat with many directives: one
//! valid JSON document, never a panic.
#![no_main]

use enrichment::{Enricher, EventContext, Timestamp, TrustedProxies};
use enrichment::settings::{EnrichmentSettings, FormatChoice, IpAnonymization};
use libfuzzer_sys::fuzz_target;

const FORMATS: [&str; 9] = [
    "auto",
    "common",
    "combined",
    "vhost_combined",
    "kinesis-agent-json",
    r#"%{X-Forwarded-For}i %a %h %l %u %{msec}t "%r" %>s %s %b %O %I %D %T %v %V %p "%U" %q %m %H "%{Referer}i" "%{User-Agent}i" %%"#,
    r#"%h [%{%Y-%m-%dT%H:%M:%S}t.%{usec_frac}t%{%z}t] %{end:%d/%b/%Y %T %z}t "%U%q" %200t %!200u %>{s}!200T"#,
    r#"%t %h %{SSL_PROTOCOL}x %{SSL_CIPHER}x "%r" %b"#,
    r#"%{%a %b %e %H:%M:%S %Y}t %{sec}t.%{msec_frac}t %{%j %I %p %Z}t "%r""#,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, line)) = data.split_first() else { return };
    let config = EnrichmentSettings {
        format: FormatChoice::parse(FORMATS[usize::from(selector) % FORMATS.len()]).expect("valid format"),
        anonymization: if selector & 0x80 != 0 { IpAnonymization::Truncate } else { IpAnonymization::None },
        keep_original: selector & 0x40 != 0,
        trusted_proxies: TrustedProxies::parse("10.0.0.0/8, ::1").expect("valid"),
    };
    let context =
        EventContext { event_id: Some("fuzz"), received_at: Timestamp::from_unix_millis(0).expect("epoch"), log_origin: None };
    let mut out = Vec::new();
    Enricher::new(config, None).enrich_line(line, &context, &mut out);
    assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok(), "invalid JSON document");
});
