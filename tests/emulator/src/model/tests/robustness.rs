//! Random input never panics the model.
use super::*;

fn pick<'a>(rng: &mut SplitMix64, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len() as u64) as usize]
}

fn random_bytes(rng: &mut SplitMix64, max: u64) -> Vec<u8> {
    let n = rng.below(max) as usize;
    rng.bytes(n)
}

#[test]
fn random_requests_to_every_role_never_panic_and_always_carry_date() {
    let mut h = harness();
    let keys = h.m.keys();
    let jwt = h.exchange(&keys.admin).jwt;
    let mut rng = SplitMix64::new(12345);
    let roles = [
        Role::Autorouter,
        Role::Auth,
        Role::Admin,
        edge("yto-01"),
        edge("nyc-01"),
    ];
    let methods = ["GET", "POST", "OPTIONS", "PUT", "DELETE", "HEAD", "get", ""];
    let paths = [
        "/v1/route",
        "/v1/auth/session",
        "/v1/auth/refresh",
        "/v1/models",
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/audio/speech",
        "/v1/audio/transcriptions",
        "/v1/tokens",
        "/admin/fault",
        "/admin/clock",
        "/admin/revoke",
        "/admin/models",
        "/admin/config",
        "/admin/log",
        "/",
        "",
        "/v1/route/../x",
        "/%ff",
    ];
    let queries = [
        "",
        "model=",
        "model=%zz&scope=GLOBAL",
        "scope",
        "&&&",
        "key=pg_x",
        "role=edge&region=",
    ];
    let auths = [
        "",
        "Bearer ",
        "Bearer pg_",
        "bearer x.y.z",
        "Basic abc",
        "Bearer eyJ.eyJ.sig",
        "Bearer  spaced out",
    ];
    let bodies: [&[u8]; 10] = [
        b"",
        b"{}",
        b"null",
        b"[]",
        br#"{"model":5,"messages":"x"}"#,
        br#"{"model":"llama-3.1-8b","messages":[{"content":[{"text":1}]}],"stream":"yes"}"#,
        br#"{"target":"region:yto-01","kind":"slow","delay_ms":18446744073709551615,"forever":true}"#,
        br#"{"advance_ms":-9223372036854775808}"#,
        br#"{"room":"r","identity":"i","ttl":1e300}"#,
        br#"{"refresh_token":{"nested":true}}"#,
    ];
    for i in 0..3000u32 {
        let role = roles[rng.below(roles.len() as u64) as usize].clone();
        let mut req = Request::new(pick(&mut rng, &methods), pick(&mut rng, &paths));
        let q = pick(&mut rng, &queries);
        if !q.is_empty() {
            req.query = Some(q.to_string());
        }
        match rng.below(4) {
            0 => {}
            1 => req = req.with_header("authorization", pick(&mut rng, &auths)),
            2 => req = req.with_bearer(&jwt),
            _ => req = req.with_bearer(&keys.read_write),
        }
        req.body = if rng.below(3) == 0 {
            random_bytes(&mut rng, 200)
        } else {
            bodies[rng.below(bodies.len() as u64) as usize].to_vec()
        };
        if rng.below(10) == 0 {
            req = req.with_header(
                "x-request-id",
                &String::from_utf8_lossy(&random_bytes(&mut rng, 20)),
            );
        }
        let now = rng.next_u64() >> (rng.below(64) as u32);
        if let Some(resp) = h.m.handle(now, &role, &req).into_response() {
            assert!(resp.header("date").is_some(), "request {i}: {req:?}");
            assert!(
                resp.header("content-type").is_some(),
                "request {i}: {req:?}"
            );
            assert!((100..600).contains(&resp.status));
        }
        if i % 500 == 0 {
            h.m.reset();
        }
    }
}
