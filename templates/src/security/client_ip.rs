//! The client's IP address, which the per-IP rate limit is keyed by.
//!
//! It is the address of the TCP peer (axum's `ConnectInfo`, see `security::serve`),
//! unless that peer is a proxy named in `TRUSTED_PROXIES`: then, and only then,
//! `X-Forwarded-For` is read, from the right (the entry the trusted proxy
//! appended) leftwards, skipping further trusted proxies. The first untrusted
//! address is the client. Entries to the left of it were written by the client
//! and could say anything, so they are never used: a client cannot pick the
//! bucket it is counted in by sending the header itself.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::Request;
use ipnet::IpNet;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client address of `request`, trusting `X-Forwarded-For` only from
/// `trusted_proxies`. `None` when the server was not started with connect info
/// (only in unit tests that call the router directly).
pub fn client_ip<B>(request: &Request<B>, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()?
        .0
        .ip();
    Some(resolve(peer, request, trusted_proxies))
}

fn resolve<B>(peer: IpAddr, request: &Request<B>, trusted_proxies: &[IpNet]) -> IpAddr {
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    // Every header line, in order, as one list (RFC 9110 §5.3).
    let entries: Vec<&str> = request
        .headers()
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        let Some(ip) = parse_entry(entry) else {
            // Garbage written by someone: stop at the last address we trust.
            break;
        };
        client = ip;
        if !trusted(&ip) {
            break;
        }
    }
    client.to_canonical()
}

/// An `X-Forwarded-For` entry: an IP address, possibly with a port
/// (`192.0.2.1:1234`, `[2001:db8::1]:1234`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, forwarded: &[&str]) -> Request<()> {
        let mut request = Request::new(());
        for value in forwarded {
            request
                .headers_mut()
                .append(X_FORWARDED_FOR, value.parse().unwrap());
        }
        request
            .extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        request
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|net| net.parse().unwrap()).collect()
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let req = request("203.0.113.9:5000", &["198.51.100.1"]);
        assert_eq!(client_ip(&req, &[]), ip("203.0.113.9"));
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let req = request("203.0.113.9:5000", &["10.0.0.1"]);
        assert_eq!(client_ip(&req, &nets(&["10.0.0.0/8"])), ip("203.0.113.9"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_entry_is_the_client() {
        let proxies = nets(&["10.0.0.0/8"]);
        // The client sent a forged first entry; the proxy appended the real one.
        let req = request("10.0.0.2:443", &["1.1.1.1, 198.51.100.7"]);
        assert_eq!(client_ip(&req, &proxies), ip("198.51.100.7"));
        // Two proxies, the header split over two lines.
        let req = request("10.0.0.2:443", &["198.51.100.7", "10.0.0.3"]);
        assert_eq!(client_ip(&req, &proxies), ip("198.51.100.7"));
        // With a port and IPv6.
        let req = request("10.0.0.2:443", &["[2001:db8::1]:4711"]);
        assert_eq!(client_ip(&req, &proxies), ip("2001:db8::1"));
    }

    #[test]
    fn garbage_or_no_header_from_a_trusted_proxy_counts_as_the_proxy() {
        let proxies = nets(&["10.0.0.2/32"]);
        assert_eq!(
            client_ip(&request("10.0.0.2:1", &["not-an-ip"]), &proxies),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_ip(&request("10.0.0.2:1", &[]), &proxies),
            ip("10.0.0.2")
        );
    }
}
