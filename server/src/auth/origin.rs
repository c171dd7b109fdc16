//! Web origins (`scheme://host[:port]`): parsing, comparison, and the two checks built on them.
//!
//! - A site's allow-list decides which pages may use its widget: every widget request and the
//!   visitor's WebSocket upgrade must carry an allowed `Origin` ([`require_allowed`]), so
//!   another site cannot act for the visitor (cross-site WebSocket hijacking).
//! - An agent's session cookie counts at the agent upgrade only from this server's own pages
//!   ([`same_origin`]), since browsers send cookies with cross-site upgrades.
//!
//! Two origins are the same when scheme, host and port are, ignoring case, a trailing `/`
//! and a port that is the scheme's default (`https://shop.example:443` is
//! `https://shop.example`).

use std::fmt;

use actix_web::HttpRequest;
use actix_web::http::header;
use bellhop_protocol::ErrorCode;
use bellhop_protocol::api::SiteSettings;

use crate::error::HttpError;

/// The longest host name accepted.
const MAX_HOST_LEN: usize = 255;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// An `http` or `https` origin, normalised: host in lower case, no default port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    scheme: Scheme,
    host: String,
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an origin (scheme://host[:port])")]
pub struct NotAnOrigin(String);

impl Origin {
    /// Parses `scheme://host[:port]`, with at most a trailing `/`.
    pub fn parse(text: &str) -> Result<Self, NotAnOrigin> {
        let refused = || NotAnOrigin(text.to_owned());
        let trimmed = text.trim();
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        let (scheme, authority) = trimmed.split_once("://").ok_or_else(refused)?;
        let scheme = if scheme.eq_ignore_ascii_case("https") {
            Scheme::Https
        } else if scheme.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else {
            return Err(refused());
        };
        let (host, port) = split_port(authority).ok_or_else(refused)?;
        if !valid_host(host) {
            return Err(refused());
        }
        Ok(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port: port.filter(|&p| p != scheme.default_port()),
        })
    }

    /// The origin of a URL (`https://chat.example/app` → `https://chat.example`).
    pub fn of_url(url: &str) -> Result<Self, NotAnOrigin> {
        let url = url.trim();
        let after_scheme = url.find("://").map_or(0, |i| i + 3);
        let end = url[after_scheme..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |i| after_scheme + i);
        Self::parse(&url[..end])
    }

    /// `host[:port]`, as a `Host` header names it.
    fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.authority())
    }
}

/// Splits `host[:port]` (IPv6 hosts in brackets); `None` if the port is not a number.
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, rest) = authority.split_at(close + 1);
        match rest {
            "" => (host, None),
            rest => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(port) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            Some(port.parse().ok()?)
        }
        Some(_) => return None,
        None => None,
    };
    Some((host, port))
}

fn valid_host(host: &str) -> bool {
    if host.is_empty() || host.len() > MAX_HOST_LEN {
        return false;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
    }
    host.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// One allow-list entry: `*` (every page) or an origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed {
    Any,
    Exactly(Origin),
}

impl Allowed {
    pub fn parse(text: &str) -> Result<Self, NotAnOrigin> {
        if text.trim() == "*" {
            Ok(Allowed::Any)
        } else {
            Origin::parse(text).map(Allowed::Exactly)
        }
    }
}

/// Whether an allow-list lets a page whose `Origin` header is `origin` in. `*` lets any page
/// in (even an opaque `null` origin); entries that do not parse let nothing in.
pub fn allows(allow_list: &[String], origin: &str) -> bool {
    let origin = Origin::parse(origin).ok();
    allow_list
        .iter()
        .filter_map(|entry| Allowed::parse(entry).ok())
        .any(|allowed| match allowed {
            Allowed::Any => true,
            Allowed::Exactly(allowed) => origin.as_ref() == Some(&allowed),
        })
}

/// The request's `Origin`, if the site allows it; otherwise a 403 `origin_not_allowed`.
/// A request without `Origin` is refused too: browsers always send one here.
pub fn require_allowed(req: &HttpRequest, site: &SiteSettings) -> Result<String, HttpError> {
    let origin = header_text(req, header::ORIGIN).unwrap_or_default();
    if !origin.is_empty() && allows(&site.allowed_origins, origin) {
        Ok(origin.to_owned())
    } else {
        Err(HttpError::new(
            ErrorCode::OriginNotAllowed,
            format!("origin {origin:?} is not allowed for this site"),
        ))
    }
}

/// Whether the request's `Origin` names the host it was sent to. A request without `Origin`
/// is not from a browser (browsers always send it on WebSocket upgrades) and passes.
pub fn same_origin(req: &HttpRequest) -> bool {
    let Some(origin) = header_text(req, header::ORIGIN) else {
        return true;
    };
    let Some(host) = header_text(req, header::HOST) else {
        return false;
    };
    is_same_origin(origin, host)
}

/// Whether the request comes from this server's own pages (the widget panel, the console):
/// its `Origin` is `public_url`'s origin when configured, else the origin the `Host` header
/// names.
pub fn from_own_origin(req: &HttpRequest, public_url: Option<&str>) -> bool {
    // Browsers leave `Origin` off same-origin GETs, but say where the request comes from.
    let Some(origin) = header_text(req, header::ORIGIN) else {
        return header_text(req, header::HeaderName::from_static("sec-fetch-site"))
            .is_some_and(|site| site == "same-origin");
    };
    match public_url {
        Some(url) => Origin::of_url(url)
            .ok()
            .is_some_and(|own| Origin::parse(origin).ok() == Some(own)),
        None => header_text(req, header::HOST).is_some_and(|host| is_same_origin(origin, host)),
    }
}

fn is_same_origin(origin: &str, host: &str) -> bool {
    let Ok(origin) = Origin::parse(origin) else {
        return false;
    };
    // The Host header is the origin's authority under the origin's scheme.
    let served = Origin::parse(&format!("{}://{host}", origin.scheme.as_str()));
    served.is_ok_and(|served| served == origin)
}

fn header_text(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| (*e).to_owned()).collect()
    }

    #[test]
    fn origins_parse_and_normalise() {
        let parsed = |text: &str| Origin::parse(text).map(|o| o.to_string());
        assert_eq!(
            parsed("https://Shop.Example/"),
            Ok("https://shop.example".into())
        );
        assert_eq!(
            parsed("https://shop.example:443"),
            Ok("https://shop.example".into())
        );
        assert_eq!(
            parsed("http://localhost:8080"),
            Ok("http://localhost:8080".into())
        );
        assert_eq!(parsed("http://[::1]:3000"), Ok("http://[::1]:3000".into()));
        for bad in [
            "shop.example",
            "https://shop.example/path",
            "https://",
            "ftp://shop.example",
            "https://user@shop.example",
            "https://shop.example:port",
            "https://shop.example:99999",
            "null",
            "*",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Origin::of_url("https://chat.example/app?x=1").map(|o| o.to_string()),
            Ok("https://chat.example".into())
        );
    }

    #[test]
    fn allow_lists_match_exactly_ignoring_case_slash_and_default_port() {
        let sites = list(&["https://shop.example", "http://localhost:8080/"]);
        assert!(allows(&sites, "https://SHOP.example"));
        assert!(allows(&sites, "https://shop.example:443"));
        assert!(allows(&sites, "http://localhost:8080"));
        assert!(!allows(&sites, "https://shop.example.evil.test"));
        assert!(!allows(&sites, "http://shop.example"));
        assert!(!allows(&sites, "http://localhost:8081"));
        assert!(!allows(&sites, "null"));
        assert!(allows(&list(&["*"]), "https://anywhere.test"));
        assert!(!allows(&list(&["not an origin"]), "not an origin"));
    }

    #[test]
    fn same_origin_compares_the_origin_with_the_host() {
        assert!(is_same_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(is_same_origin("https://Chat.Example", "chat.example"));
        assert!(is_same_origin("https://chat.example", "chat.example:443"));
        assert!(!is_same_origin("https://evil.test", "chat.example"));
        assert!(!is_same_origin("http://127.0.0.1:8081", "127.0.0.1:8080"));
        assert!(!is_same_origin("null", "chat.example"));
    }
}
