//! The client address behind trusted proxies, found the way Apache's mod_remoteip does.
//!
//! Start at `%h`. While the current address is a trusted proxy and `X-Forwarded-For` entries
//! remain, step to the right-most remaining entry (the one the proxy itself appended). Stop at the
//! first address that is not trusted, or at an entry that is not an IP address (`unknown`, junk):
//! the client is then the last address reached. Clients can write anything into the header, so
//! only entries appended by trusted proxies are ever believed.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::settings::{SettingError, TRUSTED_PROXIES};

/// The networks whose `X-Forwarded-For` entries are believed. Empty: the client is `%h`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
}

impl TrustedProxies {
    /// Comma-separated CIDRs; a bare address is a single host (`/32`, `/128`).
    pub fn parse(value: &str) -> Result<Self, SettingError> {
        let networks = value
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| {
                        SettingError::new(
                            TRUSTED_PROXIES,
                            value,
                            format!("{entry:?} is not a CIDR; expected comma-separated CIDRs like 10.0.0.0/8, 2600:1f00::/24"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { networks })
    }

    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.networks.iter().any(|net| net.contains(&ip))
    }

    /// The client address for a request from `remote` carrying `forwarded_for`.
    pub fn client(&self, remote: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let mut current = remote.to_canonical();
        let Some(chain) = forwarded_for else { return current };
        let mut entries = chain.rsplit(',');
        while self.contains(current) {
            match entries.next().and_then(forwarded_address) {
                Some(next) => current = next,
                None => break,
            }
        }
        current
    }
}

/// An `X-Forwarded-For` entry as an address: `1.2.3.4`, `1.2.3.4:8080`, `2001:db8::1`,
/// `[2001:db8::1]:443`. Anything else (`unknown`, `_hidden`, junk) is not.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    let host = match entry.strip_prefix('[') {
        Some(bracketed) => bracketed.split_once(']').map(|(host, _)| host)?,
        None => entry.split_once(':').map(|(host, _)| host)?,
    };
    host.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(value: &str) -> TrustedProxies {
        TrustedProxies::parse(value).unwrap()
    }

    #[test]
    fn walks_from_the_right_through_trusted_proxies() {
        let trusted = proxies("10.0.0.0/8, 192.168.0.0/16, 2600:1f00::/24, 127.0.0.1");
        let cases = [
            ("no header", "10.0.0.1", None, "10.0.0.1"),
            ("untrusted remote: header ignored", "81.2.69.142", Some("1.2.3.4"), "81.2.69.142"),
            ("one proxy", "10.0.0.1", Some("203.0.113.7"), "203.0.113.7"),
            ("chain of proxies", "10.0.0.1", Some("81.2.69.142, 192.168.1.5, 10.1.1.1"), "81.2.69.142"),
            (
                "spoofed left entries are not believed",
                "10.0.0.1",
                Some("6.6.6.6, 81.2.69.142"),
                "81.2.69.142",
            ),
            ("all trusted: left-most", "10.0.0.1", Some("10.9.9.9, 10.8.8.8"), "10.9.9.9"),
            ("ipv6 proxy", "2600:1f00::5", Some("2a02:cf40::1"), "2a02:cf40::1"),
            ("ipv4 with port", "10.0.0.1", Some("203.0.113.9:8080"), "203.0.113.9"),
            ("bracketed ipv6 with port", "10.0.0.1", Some("[2001:db8::2]:4711"), "2001:db8::2"),
            ("unknown stops the walk", "10.0.0.1", Some("81.2.69.142, unknown"), "10.0.0.1"),
            (
                "junk stops at the last good address",
                "10.0.0.1",
                Some("81.2.69.142, junk, 10.2.2.2"),
                "10.2.2.2",
            ),
            (
                "the capture's hostile chain",
                "127.0.0.1",
                Some("unknown, [2001:db8::2]:4711, 203.0.113.9:8080"),
                "203.0.113.9",
            ),
            ("empty entries stop", "10.0.0.1", Some(" , "), "10.0.0.1"),
            ("zone ids are not addresses", "10.0.0.1", Some("fe80::1%eth0"), "10.0.0.1"),
            ("ipv4-mapped remote", "::ffff:10.0.0.1", Some("81.2.69.142"), "81.2.69.142"),
            (
                "huge chain",
                "10.0.0.1",
                Some(&*format!("{}81.2.69.142", "10.0.0.1, ".repeat(10_000))),
                "81.2.69.142",
            ),
        ];
        for (name, remote, chain, expected) in cases {
            let client = trusted.client(remote.parse().unwrap(), chain);
            assert_eq!(client.to_string(), expected, "{name}");
        }
    }

    #[test]
    fn without_trusted_proxies_the_client_is_the_remote_address() {
        let none = TrustedProxies::default();
        assert!(none.is_empty());
        assert_eq!(none.client("10.0.0.1".parse().unwrap(), Some("81.2.69.142")).to_string(), "10.0.0.1");
    }

    #[test]
    fn parsing() {
        assert_eq!(proxies(""), TrustedProxies::default());
        assert!(proxies("10.1.2.3/8").contains("10.200.0.1".parse().unwrap()), "host bits are dropped");
        assert!(proxies("::1").contains("::1".parse().unwrap()));
        let error = TrustedProxies::parse("10.0.0.0/8, 300.0.0.0/8").unwrap_err().to_string();
        assert!(error.starts_with("invalid TRUSTED_PROXIES (--trusted-proxies) value \"10.0.0.0/8, 300.0.0.0/8\": \"300.0.0.0/8\" is not a CIDR"), "{error}");
    }
}
