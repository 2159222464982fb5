//! A deliberately small URL reader: enough to check where a credential may go.
//!
//! The core only ever needs `scheme://host[:port][/path]`; anything richer (userinfo,
//! query, fragment in a base URL) is rejected rather than interpreted.

#[allow(unused_imports)]
use crate::prelude::*;
/// A parsed base URL (read-only once parsed: `origin_text` is written from the others).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    pub(crate) https: bool,
    /// Lowercased host (IPv6 keeps its brackets).
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
    /// Path without a trailing slash (`""` for the root).
    pub(crate) path: String,
    /// `scheme://host[:port]`, written once: every request's URL starts with it.
    origin_text: String,
}

impl BaseUrl {
    /// Parses and checks a base URL; the error says what is wrong.
    pub(crate) fn parse(s: &str) -> Result<BaseUrl, &'static str> {
        if s.is_empty() {
            return Err("it is empty");
        }
        if s.len() > 2048 {
            return Err("it is longer than 2048 characters");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("it contains whitespace or control characters");
        }
        let (https, rest) = if let Some(r) = strip_prefix_ci(s, "https://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(s, "http://") {
            (false, r)
        } else {
            return Err("it does not start with https://");
        };
        if rest.contains('?') || rest.contains('#') {
            return Err("a base url cannot carry a query or fragment");
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err("it contains user information (user:password@)");
        }
        let (host, port) = split_host_port(authority)?;
        if host.is_empty() {
            return Err("it has no host");
        }
        let host_ok = if host.starts_with('[') {
            host.ends_with(']')
                && host[1..host.len() - 1]
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        } else {
            host.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        };
        if !host_ok {
            return Err("its host has characters a host name cannot have");
        }
        if !host.starts_with('[') && host.split('.').any(str::is_empty) {
            return Err("its host has an empty label (a leading, trailing or doubled dot)");
        }
        let host = host.to_ascii_lowercase();
        let mut origin_text = String::with_capacity(host.len() + 14);
        origin_text.push_str(if https { "https://" } else { "http://" });
        origin_text.push_str(&host);
        if let Some(p) = port {
            origin_text.push(':');
            crate::json::push_decimal(&mut origin_text, u64::from(p));
        }
        let url = BaseUrl {
            https,
            host,
            port,
            path: path.trim_end_matches('/').to_string(),
            origin_text,
        };
        if !url.https && !url.is_loopback() {
            return Err("plain http is only allowed to loopback (127.0.0.1, localhost, [::1])");
        }
        Ok(url)
    }

    /// Whether the host is a loopback address.
    pub(crate) fn is_loopback(&self) -> bool {
        let h = self.host.as_str();
        h == "localhost"
            || h.ends_with(".localhost")
            || h == "[::1]"
            || (h.starts_with("127.")
                && h.split('.').count() == 4
                && h.split('.').all(|p| p.parse::<u8>().is_ok()))
    }

    /// The port, or the scheme's default.
    pub(crate) fn effective_port(&self) -> u16 {
        self.port.unwrap_or(if self.https { 443 } else { 80 })
    }

    /// `scheme://host[:port]`.
    pub(crate) fn origin(&self) -> &str {
        &self.origin_text
    }

    /// The full base (origin and path, no trailing slash).
    pub(crate) fn base(&self) -> String {
        [self.origin(), &self.path].concat()
    }

    /// `base + path`, where `path` starts with `/`.
    ///
    /// A base path the call path already starts with is not doubled, so a base URL
    /// written with `/v1` (as OpenAI-style SDKs expect) works: `https://edge/v1` +
    /// `/v1/models` is `https://edge/v1/models`.
    pub(crate) fn join(&self, path: &str) -> String {
        let already = !self.path.is_empty()
            && path
                .strip_prefix(self.path.as_str())
                .is_some_and(|rest| rest.starts_with('/'));
        // One allocation of the exact size (this runs once per request; a transport that
        // takes the text over as it is, as `http`'s `Uri` does, then needs no other), from
        // the origin written once.
        let base_path = if already { "" } else { self.path.as_str() };
        let origin = self.origin();
        // (Pushed, not `concat`: its generic join was ~3x the work for three pieces.)
        let mut url = String::with_capacity(origin.len() + base_path.len() + path.len());
        url.push_str(origin);
        url.push_str(base_path);
        url.push_str(path);
        url
    }

    /// Same scheme, host and port.
    pub(crate) fn same_origin(&self, other: &BaseUrl) -> bool {
        self.https == other.https && self.host == other.host && self.port == other.port
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    // `get` and not `[..]`: the cut may fall inside a multi-byte character ("https:/é").
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), &'static str> {
    let (host, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(i) => {
                let rest = &authority[i + 1..];
                match rest.strip_prefix(':') {
                    Some(p) => (&authority[..=i], Some(p)),
                    None if rest.is_empty() => (&authority[..=i], None),
                    None => return Err("its host is malformed"),
                }
            }
            None => return Err("its host is malformed"),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or("its port is not a number from 1 to 65535")?,
        ),
        None => None,
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_url_with_path_parses() {
        let u = BaseUrl::parse("https://API.yto-01.edge.polargrid.ai/v1/").unwrap();
        assert!(u.https);
        assert_eq!(u.host, "api.yto-01.edge.polargrid.ai");
        assert_eq!(u.path, "/v1");
        assert_eq!(u.join("/x"), "https://api.yto-01.edge.polargrid.ai/v1/x");
        assert_eq!(
            u.join("/v1/route"),
            "https://api.yto-01.edge.polargrid.ai/v1/route"
        );
        assert_eq!(
            u.join("/v10/x"),
            "https://api.yto-01.edge.polargrid.ai/v1/v10/x"
        );
    }

    #[test]
    fn joined_url_is_allocated_at_its_exact_size() {
        for base in [
            "http://127.0.0.1:1",
            "http://127.0.0.1:80",
            "http://127.0.0.1:443/v1",
            "http://127.0.0.1:8080",
            "http://127.0.0.1:65535/",
            "https://api.yto-01.edge.polargrid.ai",
        ] {
            let u = BaseUrl::parse(base).unwrap();
            for path in ["/v1/models", "/x"] {
                let s = u.join(path);
                assert_eq!(s.capacity(), s.len(), "{base} + {path} = {s}");
            }
        }
    }

    #[test]
    fn loopback_http_is_allowed_other_http_is_not() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
        ] {
            let u = BaseUrl::parse(ok).unwrap();
            assert!(u.is_loopback(), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://127.0.0.1.evil.com",
            "http://10.0.0.1",
            "http://127.0.0.999",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hostile_shapes_are_rejected() {
        for bad in [
            "",
            "ftp://x",
            "https://user:pw@api.x.edge.polargrid.ai",
            "https://",
            "https://host:0",
            "https://host:99999",
            "https://ho st",
            "https://host/?q=1",
            "https://host#f",
            "https://h\u{7f}st",
            "https://[::1",
            "https://exa_mple.com",
            "https://[zz]",
            "https://[::1]x",
            "https://[::1]x:443",
            "https://host/a b",
            "https://host/a\u{7f}b",
            "https://host/a\u{0}b",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn url_of_2048_characters_is_accepted_and_one_more_is_not() {
        let at = |n: usize| format!("https://h/{}", "p".repeat(n - 10));
        assert_eq!(at(2048).len(), 2048);
        assert!(BaseUrl::parse(&at(2048)).is_ok());
        assert!(BaseUrl::parse(&at(2049)).is_err());
    }

    #[test]
    fn ipv6_hosts_with_ports_and_embedded_ipv4_parse() {
        let u = BaseUrl::parse("https://[::ffff:10.0.0.1]:8443/v1").unwrap();
        assert_eq!(u.host, "[::ffff:10.0.0.1]");
        assert_eq!(u.port, Some(8443));
        assert_eq!(u.origin(), "https://[::ffff:10.0.0.1]:8443");
        let u = BaseUrl::parse("http://[::1]").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("[::1]", None));
    }

    #[test]
    fn loopback_is_localhost_its_subdomains_ipv6_one_and_dotted_127() {
        for lo in [
            "http://localhost",
            "http://app.localhost:3000",
            "http://[::1]",
            "http://127.0.0.1",
            "http://127.255.3.4",
        ] {
            assert!(BaseUrl::parse(lo).unwrap().is_loopback(), "{lo}");
        }
        for not in [
            "https://localhost.evil.com",
            "https://xlocalhost",
            "https://127.0.0",
            "https://127.0.0.1.2",
            "https://128.0.0.1",
            "https://[::2]",
        ] {
            assert!(!BaseUrl::parse(not).unwrap().is_loopback(), "{not}");
        }
    }

    #[test]
    fn origins_differ_by_scheme_host_or_port() {
        let a = BaseUrl::parse("https://h.example:8443/a").unwrap();
        assert!(a.same_origin(&BaseUrl::parse("https://H.example:8443/b").unwrap()));
        for other in [
            "http://127.0.0.1:8443",
            "https://g.example:8443",
            "https://h.example",
            "https://h.example:8444",
        ] {
            assert!(!a.same_origin(&BaseUrl::parse(other).unwrap()), "{other}");
        }
        let plain = BaseUrl::parse("http://localhost:8443").unwrap();
        let tls = BaseUrl::parse("https://localhost:8443").unwrap();
        assert!(!plain.same_origin(&tls));
        assert_eq!(plain.effective_port(), 8443);
        assert_eq!(
            BaseUrl::parse("http://localhost").unwrap().effective_port(),
            80
        );
        assert_eq!(
            BaseUrl::parse("https://h.example")
                .unwrap()
                .effective_port(),
            443
        );
    }
}
