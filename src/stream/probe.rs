//! Why a network input could not be opened, in words: GStreamer's HTTP source reports only
//! "Internal data stream error" for a refused connection or an unknown host, so when a URL
//! input fails, metapix tries the connection itself and names what went wrong.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long one connection attempt may take at most.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The host and port a `scheme://[user@]host[:port]/...` URL connects to (the scheme's
/// default port when none is given), or None for a URL without a host.
pub fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme {
        "http" => 80,
        "https" => 443,
        "rtsp" => 554,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default,
    };
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// Tries to reach `url`'s server for at most `limit` (and 3 s); returns why that fails, or
/// None if it answers (then the trouble is further on, and GStreamer's own message is the
/// one to show).
pub fn unreachable_reason(url: &str, limit: Duration) -> Option<String> {
    let (host, port) = host_port(url)?;
    let addrs: Vec<_> = match (host.as_str(), port).to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(e) => return Some(format!("cannot resolve host {host} ({e})")),
    };
    let mut last = None;
    for addr in &addrs {
        let timeout = limit.min(CONNECT_TIMEOUT).max(Duration::from_millis(1));
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(_) => return None,
            Err(e) => last = Some(e),
        }
    }
    let why = last.map_or("no address".to_string(), |e| e.to_string().to_lowercase());
    Some(format!("no connection to {host}:{port} ({why})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn urls_give_their_host_and_port() {
        let hp = |u| host_port(u).map(|(h, p)| (h.to_string(), p));
        let pair = |h: &str, p| Some((h.to_string(), p));
        assert_eq!(hp("http://example.com/a.mp4"), pair("example.com", 80));
        assert_eq!(
            hp("https://example.com:8443/x?y=1"),
            pair("example.com", 8443)
        );
        assert_eq!(
            hp("rtsp://user:pw@cam.local/stream"),
            pair("cam.local", 554)
        );
        assert_eq!(hp("rtsp://[::1]:8554/metapix"), pair("::1", 8554));
        assert_eq!(hp("http://host:notaport/"), None);
        assert_eq!(hp("http:///path"), None);
        assert_eq!(hp("file:///tmp/a.mp4"), None);
    }

    #[test]
    fn a_closed_port_is_named_and_an_open_one_is_not() {
        let open = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = open.local_addr().unwrap().port();
        assert_eq!(
            unreachable_reason(&format!("http://127.0.0.1:{port}/"), CONNECT_TIMEOUT),
            None
        );
        drop(open);
        let why =
            unreachable_reason(&format!("http://127.0.0.1:{port}/x.mp4"), CONNECT_TIMEOUT).unwrap();
        assert!(
            why.starts_with(&format!("no connection to 127.0.0.1:{port}")),
            "{why}"
        );
        let why = unreachable_reason("http://no-such-host.invalid/x.mp4", CONNECT_TIMEOUT).unwrap();
        assert!(
            why.starts_with("cannot resolve host no-such-host.invalid"),
            "{why}"
        );
    }
}
