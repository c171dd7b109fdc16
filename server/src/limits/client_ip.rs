//! The client's IP address as the limits count it.
//!
//! Without a configured header it is the TCP peer's address. Behind a reverse proxy, set
//! `limits.client_ip_header` to the header the proxy writes (e.g. `X-Forwarded-For` or
//! `X-Real-IP`): its last entry is the address the proxy itself saw, the only one not written
//! by the client. Only configure it when every request comes through that proxy; otherwise a
//! client could name any address. A request without the header (or with an unreadable one)
//! counts under its TCP peer.
//!
//! IPv6 addresses are cut to their /64, the block one subscriber usually gets; IPv4-mapped
//! IPv6 addresses count as the IPv4 address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use actix_web::HttpRequest;

/// The client IP of `req`, under `trusted_header` (lower case) when set.
pub(crate) fn client_ip(req: &HttpRequest, trusted_header: Option<&str>) -> IpAddr {
    let from_header = trusted_header
        .and_then(|name| req.headers().get(name))
        .and_then(|value| value.to_str().ok())
        .and_then(last_address);
    let ip = from_header
        .or_else(|| req.peer_addr().map(|peer| peer.ip()))
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    counted(ip)
}

/// The last address of a comma-separated list, with or without a port.
fn last_address(value: &str) -> Option<IpAddr> {
    let last = value.rsplit(',').next()?.trim();
    last.parse::<IpAddr>()
        .ok()
        .or_else(|| last.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The address a limit counts: IPv4 as it is, IPv6 by its /64.
fn counted(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mask = !0u128 << 64;
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use actix_web::test::TestRequest;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_peer_counts_unless_a_trusted_header_names_the_client() {
        let req = TestRequest::default()
            .peer_addr("192.0.2.7:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "203.0.113.9, 198.51.100.4"))
            .to_http_request();
        // Not configured: the header is the client's word and counts for nothing.
        assert_eq!(client_ip(&req, None), ip("192.0.2.7"));
        // Configured: the last entry, the one the proxy wrote.
        assert_eq!(client_ip(&req, Some("x-forwarded-for")), ip("198.51.100.4"));
        // Configured but absent or unreadable: the peer.
        assert_eq!(client_ip(&req, Some("x-real-ip")), ip("192.0.2.7"));
        let garbage = TestRequest::default()
            .peer_addr("192.0.2.7:5000".parse().unwrap())
            .insert_header(("x-real-ip", "not an address"))
            .to_http_request();
        assert_eq!(client_ip(&garbage, Some("x-real-ip")), ip("192.0.2.7"));
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(counted(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(counted(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(last_address("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
    }
}
