//! Unit tests of the pure model, with a fake clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin_api;
mod auth_flow;
mod edge_api;
mod robustness;
mod route_faults_log;

use serde_json::{json, Value};

use super::*;

/// 2023-11-14T22:13:20Z
pub(super) const T0: u64 = 1_700_000_000_000;

pub(super) struct Harness {
    pub m: Model,
    pub now: u64,
}

pub(super) fn harness() -> Harness {
    Harness {
        m: Model::new(ModelConfig::new(&["yto-01", "yul-01", "nyc-01"])),
        now: T0,
    }
}

pub(super) fn edge(id: &str) -> Role {
    Role::Edge(id.to_string())
}

pub(super) fn body_json(r: &Response) -> Value {
    r.json()
        .unwrap_or_else(|| panic!("not JSON: {:?}", String::from_utf8_lossy(&r.body_bytes())))
}

pub(super) fn chat_body() -> Value {
    json!({"model": "llama-3.1-8b", "messages": [{"role": "user", "content": "hi there"}]})
}

pub(super) struct Session {
    pub jwt: String,
    pub refresh: String,
    pub sid: String,
}

impl Harness {
    pub fn outcome(&mut self, role: &Role, req: &Request) -> Outcome {
        self.m.handle(self.now, role, req)
    }

    pub fn send(&mut self, role: &Role, req: Request) -> Response {
        match self.outcome(role, &req) {
            Outcome::Respond(r) => r,
            other => panic!("expected an immediate response, got {other:?}"),
        }
    }

    pub fn advance_s(&mut self, s: u64) {
        self.now += s * 1000;
    }

    pub fn exchange_raw(&mut self, key: &str) -> Response {
        let req = Request::new("POST", "/v1/auth/session")
            .with_bearer(key)
            .with_json(&json!({"user_agent": "test/1"}));
        self.send(&Role::Auth, req)
    }

    pub fn exchange(&mut self, key: &str) -> Session {
        let r = self.exchange_raw(key);
        assert_eq!(r.status, 200, "{:?}", body_json(&r));
        let v = body_json(&r);
        Session {
            jwt: v["session_token"].as_str().unwrap().to_string(),
            refresh: v["refresh_token"].as_str().unwrap().to_string(),
            sid: v["session_id"].as_str().unwrap().to_string(),
        }
    }

    pub fn refresh_raw(&mut self, refresh_token: &str) -> Response {
        let req = Request::new("POST", "/v1/auth/refresh")
            .with_json(&json!({"refresh_token": refresh_token}));
        self.send(&Role::Auth, req)
    }

    pub fn chat(&mut self, region: &str, token: &str) -> Response {
        let req = Request::new("POST", "/v1/chat/completions")
            .with_bearer(token)
            .with_json(&chat_body());
        self.send(&edge(region), req)
    }

    pub fn rw_key(&self) -> String {
        self.m.keys().read_write
    }
}

/// Claims of `jwt`, verifying the HS256 signature with the model's secret.
pub(super) fn claims(m: &Model, jwt: &str) -> Value {
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.validate_exp = false;
    v.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(
        jwt,
        &jsonwebtoken::DecodingKey::from_secret(m.auth.jwt_secret()),
        &v,
    )
    .expect("valid HS256 JWT")
    .claims
}
