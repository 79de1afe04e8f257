//! `IP_ANONYMIZATION=truncate`: client addresses cut to their /24 (IPv4) or /48 (IPv6) network.
//!
//! The raw line (`event.original`) holds the same addresses, in `%h`, in an `X-Forwarded-For`
//! chain, anywhere in a line that did not parse; every address in it is truncated too, so turning
//! anonymization on never leaves a full address in a document.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The /24 network of an IPv4 address, the /48 of an IPv6 address.
pub fn truncate(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => {
            let [a, b, c, ..] = v6.segments();
            IpAddr::V6(Ipv6Addr::new(a, b, c, 0, 0, 0, 0, 0))
        }
    }
}

/// `text` with every IPv4 or IPv6 address in it truncated.
pub fn truncate_addresses_in(text: &str) -> Cow<'_, str> {
    let is_address_char = |c: char| c.is_ascii_hexdigit() || c == '.' || c == ':';
    let mut replaced: Option<String> = None;
    let mut copied_up_to = 0;
    let mut search_from = 0;
    while let Some(offset) = text[search_from..].find(is_address_char) {
        let run_start = search_from + offset;
        let run_len = text[run_start..].find(|c: char| !is_address_char(c)).unwrap_or(text.len() - run_start);
        search_from = run_start + run_len;
        let Some((start, len, ip)) = address_in(&text[run_start..search_from]) else {
            continue;
        };
        let out = replaced.get_or_insert_with(|| String::with_capacity(text.len()));
        out.push_str(&text[copied_up_to..run_start + start]);
        out.push_str(&truncate(ip).to_string());
        copied_up_to = run_start + start + len;
    }
    match replaced {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied_up_to..]);
            Cow::Owned(out)
        }
    }
}

/// The address in a run of address characters: the whole run, or the run without a sentence's
/// final dot, a `:port` after an IPv4 address, or a `:` before one. (offset, length, address)
fn address_in(run: &str) -> Option<(usize, usize, IpAddr)> {
    let run = run.trim_end_matches('.');
    if let Ok(ip) = run.parse() {
        return Some((0, run.len(), ip));
    }
    if !run.contains('.') {
        return None;
    }
    let (start, v4) = match run.rfind(':') {
        Some(colon) if run[colon + 1..].contains('.') => (colon + 1, &run[colon + 1..]),
        Some(colon) => {
            let before_port = &run[..colon];
            let start = before_port.rfind(':').map_or(0, |c| c + 1);
            (start, &before_port[start..])
        }
        None => (0, run),
    };
    v4.parse::<Ipv4Addr>().ok().map(|ip| (start, v4.len(), IpAddr::V4(ip)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_to_the_network() {
        let cases = [
            ("81.2.69.142", "81.2.69.0"),
            ("2a02:cf40:1234:5678::1", "2a02:cf40:1234::"),
            ("::1", "::"),
            ("10.0.0.255", "10.0.0.0"),
        ];
        for (ip, expected) in cases {
            assert_eq!(truncate(ip.parse().unwrap()).to_string(), expected, "{ip}");
        }
    }

    #[test]
    fn truncates_every_address_in_a_line() {
        let cases = [
            ("no address", "GET / HTTP/1.1", "GET / HTTP/1.1"),
            (
                "host and chain",
                r#"203.0.113.77, 2001:db8:1:2::9 81.2.69.142 - - [21/Nov/2026:06:45:50 +0100] "GET / HTTP/1.1" 200 5"#,
                r#"203.0.113.0, 2001:db8:1:: 81.2.69.0 - - [21/Nov/2026:06:45:50 +0100] "GET / HTTP/1.1" 200 5"#,
            ),
            (
                "address with port",
                "unknown, [2001:db8:5:6::2]:4711, 203.0.113.9:8080",
                "unknown, [2001:db8:5::]:4711, 203.0.113.0:8080",
            ),
            (
                "times and hex words stay",
                "21/Nov/2026:06:45:50 cafe:beef dead.beef",
                "21/Nov/2026:06:45:50 cafe:beef dead.beef",
            ),
            ("unparsed line", "garbage from 81.2.69.142!", "garbage from 81.2.69.0!"),
            ("end of a sentence", "seen from 81.2.69.142.", "seen from 81.2.69.0."),
            ("after a colon", "client:81.2.69.142 ok", "client:81.2.69.0 ok"),
            ("mapped ipv6", "::ffff:81.2.69.142", "::"),
        ];
        for (name, line, expected) in cases {
            assert_eq!(truncate_addresses_in(line), expected, "{name}");
        }
    }
}
