//! Region discovery answered with arbitrary status and body (raw bytes, or a route
//! answer whose endpoint is assembled from hostile pieces): never a panic, and every
//! call that follows goes to an allowed host — an edge, over https (plain http only to
//! loopback), without user information, never the autorouter — with the right credential.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use polargrid_core::{CallSpec, HttpResponse, Method, Purpose};
use polargrid_core_fuzz::{Driver, Hosts, ModeChoice, RoutingChoice, Setup, Tuning, HOUR};

#[derive(Arbitrary, Debug)]
enum Piece {
    Text(String),
    Https,
    Http,
    EdgeHost,
    OtherEdgeHost,
    EdgeSuffix,
    EvilHost,
    Autorouter,
    Loopback,
    UserInfo,
    Port(u16),
    Slash,
    Hash,
    Question,
    Dot,
    Upper,
    NonAscii,
    Long(u16),
}

#[derive(Arbitrary, Debug)]
enum Body {
    Raw(Vec<u8>),
    Route {
        region: Option<String>,
        known_region: bool,
        endpoint: Vec<Piece>,
        endpoint_not_string: bool,
        ttl: Option<f64>,
        extra: Option<String>,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    session_mode: bool,
    loopback: bool,
    model: Option<String>,
    status_200: bool,
    status: u16,
    body: Body,
    date: Option<u64>,
}

fn endpoint(pieces: &[Piece]) -> String {
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => s.push_str(t),
            Piece::Https => s.push_str("https://"),
            Piece::Http => s.push_str("http://"),
            Piece::EdgeHost => s.push_str("api.yto-01.edge.polargrid.ai"),
            Piece::OtherEdgeHost => s.push_str("api.zzz-99.edge.polargrid.ai"),
            Piece::EdgeSuffix => s.push_str(".edge.polargrid.ai"),
            Piece::EvilHost => s.push_str("evil.example"),
            Piece::Autorouter => s.push_str("autorouter.polargrid.ai"),
            Piece::Loopback => s.push_str("127.0.0.1"),
            Piece::UserInfo => s.push_str("u:p@"),
            Piece::Port(p) => s.push_str(&format!(":{p}")),
            Piece::Slash => s.push('/'),
            Piece::Hash => s.push('#'),
            Piece::Question => s.push('?'),
            Piece::Dot => s.push('.'),
            Piece::Upper => s.push_str("API.YTO-01.EDGE.POLARGRID.AI"),
            Piece::NonAscii => s.push_str("é.ß\u{2028}"),
            Piece::Long(n) => s.push_str(&"a".repeat(usize::from(*n % 12_000))),
        }
    }
    s
}

fuzz_target!(|input: Input| {
    let setup = Setup {
        mode: if input.session_mode {
            ModeChoice::Session
        } else {
            ModeChoice::Direct
        },
        routing: RoutingChoice::Auto,
        hosts: if input.loopback {
            Hosts::Loopback
        } else {
            Hosts::Real
        },
        tuning: Tuning::Default,
        seed: 3,
    };
    let Some(mut d) = Driver::new(setup) else {
        return;
    };
    let mut spec = CallSpec::new(Method::Post, "/v1/chat/completions");
    spec.model = input.model.clone();
    let Some(_call) = d.start(spec) else {
        return;
    };
    if input.session_mode {
        let ex = d
            .outstanding_with(|p| *p == Purpose::Exchange)
            .expect("exchange");
        let answer = d.good_session_answer(HOUR);
        d.respond(ex, answer);
    }
    let Some(disc) = d.outstanding_with(|p| *p == Purpose::Discover) else {
        panic!("auto routing without discovery");
    };
    let body = match &input.body {
        Body::Raw(b) => b.clone(),
        Body::Route {
            region,
            known_region,
            endpoint: pieces,
            endpoint_not_string,
            ttl,
            extra,
        } => {
            let mut v = serde_json::Map::new();
            let region = if *known_region {
                Some("yto-01".to_string())
            } else {
                region.clone()
            };
            if let Some(r) = region {
                v.insert("region".into(), r.into());
            }
            let e = endpoint(pieces);
            v.insert(
                "endpoint".into(),
                if *endpoint_not_string {
                    serde_json::json!({ "url": e })
                } else {
                    e.into()
                },
            );
            if let Some(t) = ttl.and_then(serde_json::Number::from_f64) {
                v.insert("ttl".into(), serde_json::Value::Number(t));
            }
            if let Some(x) = extra {
                v.insert("name".into(), x.clone().into());
            }
            serde_json::Value::Object(v).to_string().into_bytes()
        }
    };
    let status = if input.status_200 { 200 } else { input.status };
    let mut resp = HttpResponse::new(status).with_body(body);
    if let Some(ms) = input.date {
        resp = resp.with_header("Date", &polargrid_core_fuzz::http_date(ms));
    }
    d.respond(disc, resp);
    // The call goes out now (to the discovered edge or the fallback); the driver's
    // checks on every emitted request assert where it went and with what.
    // A far-off `Date` on the discovery answer moves the server-clock estimate, so the
    // session may need renewing first: the auth service answers with a healthy session.
    for _ in 0..4 {
        if d.outstanding_with(|p| matches!(p, Purpose::Call(_)))
            .is_some()
        {
            break;
        }
        let Some(a) = d.outstanding_with(|p| matches!(p, Purpose::Exchange | Purpose::Refresh))
        else {
            break;
        };
        let answer = d.good_session_answer(HOUR);
        d.respond(a, answer);
    }
    let Some(c) = d.outstanding_with(|p| matches!(p, Purpose::Call(_))) else {
        panic!("no call after discovery answered: {:?}", d.outstanding);
    };
    // A 503 twice marks that edge down; the retry fails over to an allowed host too.
    d.respond(c, HttpResponse::new(503));
    d.timeout();
    d.now += 60_000;
    d.timeout();
    while let Some(c) = d.outstanding_with(|p| matches!(p, Purpose::Call(_))) {
        d.respond(c, HttpResponse::new(503));
        d.now += 10_000;
        d.timeout();
    }
});
