//! Configuration of the model and the startup information it reports.

use serde::{Deserialize, Serialize};

/// Models every region serves unless configured otherwise.
pub const DEFAULT_MODELS: [&str; 2] = ["llama-3.1-8b", "qwen-2.5-7b"];

/// Regions used when none are given.
pub const DEFAULT_REGIONS: [&str; 3] = ["yto-01", "yul-01", "nyc-01"];

/// Known regions (PROTOCOL.md): id, display name, ISO country.
const KNOWN_REGIONS: [(&str, &str, &str); 16] = [
    ("yto-01", "Toronto", "CA"),
    ("yvr-02", "Vancouver", "CA"),
    ("yul-01", "Montreal", "CA"),
    ("yul-02", "Montreal 02", "CA"),
    ("nyc-01", "New York", "US"),
    ("nyc-02", "New York 02", "US"),
    ("dfw-01", "Dallas", "US"),
    ("dfw-02", "Dallas 02", "US"),
    ("sfo-01", "San Francisco", "US"),
    ("lax-01", "Los Angeles", "US"),
    ("sea-01", "Seattle", "US"),
    ("chi-01", "Chicago", "US"),
    ("phx-01", "Phoenix", "US"),
    ("was-01", "Washington DC", "US"),
    ("mia-01", "Miami", "US"),
    ("sfo-03", "San Francisco", "US"),
];

/// Display name and country of a region id; an unknown id gives `(id, "ZZ")`.
pub fn region_name_country(id: &str) -> (String, String) {
    KNOWN_REGIONS
        .iter()
        .find(|(known, _, _)| *known == id)
        .map(|(_, name, country)| (name.to_string(), country.to_string()))
        .unwrap_or_else(|| (id.to_string(), "ZZ".to_string()))
}

/// One edge region of the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionConfig {
    /// Region id, e.g. `yto-01`.
    pub id: String,
    /// Display name, e.g. `Toronto`.
    pub name: String,
    /// ISO country code, e.g. `CA`.
    pub country: String,
    /// Base URL of this region's edge (what `/v1/route` answers as `endpoint`).
    pub url: String,
    /// Models this region serves.
    pub models: Vec<String>,
}

impl RegionConfig {
    /// A region with its name/country from the known table, the given URL and
    /// the default models.
    pub fn known(id: &str, url: &str) -> RegionConfig {
        let (name, country) = region_name_country(id);
        RegionConfig {
            id: id.to_string(),
            name,
            country,
            url: url.to_string(),
            models: DEFAULT_MODELS.iter().map(|m| m.to_string()).collect(),
        }
    }
}

/// Everything the model needs to start. URLs are only reported (in `/v1/route`
/// answers and [`StartupInfo`]); the model never connects anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Seed of every random value (keys, tokens, ids).
    pub seed: u64,
    /// Base URL of the autorouter.
    pub autorouter_url: String,
    /// Base URL of the auth service.
    pub auth_url: String,
    /// Base URL of the admin API.
    pub admin_url: String,
    /// Edge regions, in routing preference order.
    pub regions: Vec<RegionConfig>,
    /// Session JWT lifetime, seconds (`expires_in`).
    pub jwt_ttl_s: u64,
    /// Refresh token lifetime, seconds (`refresh_expires_in`).
    pub refresh_ttl_s: u64,
    /// `ttl` of `/v1/route` answers, seconds.
    pub route_ttl_s: u64,
    /// Answer the exchange with the legacy field name `token` instead of `session_token`.
    pub legacy_token_field: bool,
    /// Most request log entries kept (oldest dropped first).
    pub log_capacity: usize,
}

impl ModelConfig {
    /// A configuration for `regions` with placeholder `https://…polargrid.test` URLs
    /// (what a simulator that never opens sockets wants), seed 0, 24 h JWTs,
    /// 30 d refresh tokens, 24 h route TTL.
    pub fn new(regions: &[&str]) -> ModelConfig {
        ModelConfig {
            seed: 0,
            autorouter_url: "https://autorouter.polargrid.test".to_string(),
            auth_url: "https://auth.polargrid.test".to_string(),
            admin_url: "https://admin.polargrid.test".to_string(),
            regions: regions
                .iter()
                .map(|id| RegionConfig::known(id, &format!("https://api.{id}.edge.polargrid.test")))
                .collect(),
            jwt_ttl_s: 86_400,
            refresh_ttl_s: 30 * 86_400,
            route_ttl_s: 86_400,
            legacy_token_field: false,
            log_capacity: 100_000,
        }
    }
}

impl Default for ModelConfig {
    fn default() -> ModelConfig {
        ModelConfig::new(&DEFAULT_REGIONS)
    }
}

/// One region as reported in [`StartupInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionInfo {
    /// Region id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// ISO country code (`ZZ` when unknown).
    pub country: String,
    /// Base URL of the region's edge.
    pub url: String,
}

/// The test API keys (full secrets: this is a test fixture).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestKeys {
    /// `read-write` key.
    pub read_write: String,
    /// `read-only` key.
    pub read_only: String,
    /// `admin` key (may mint room tokens).
    pub admin: String,
    /// A revoked key: `401` everywhere.
    pub revoked: String,
    /// A key whose account has no credits: exchange works, inference answers `402`.
    pub no_credits: String,
}

/// The emulator's startup line (first line on stdout; `GET /admin/info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartupInfo {
    /// Autorouter base URL.
    pub autorouter: String,
    /// Auth service base URL.
    pub auth: String,
    /// Admin API base URL.
    pub admin: String,
    /// Edge regions in routing preference order.
    pub regions: Vec<RegionInfo>,
    /// Test keys.
    pub keys: TestKeys,
    /// Session JWT lifetime, seconds.
    pub jwt_ttl_s: u64,
    /// Refresh token lifetime, seconds.
    pub refresh_ttl_s: u64,
}
