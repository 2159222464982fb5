//! Command-line parsing of the `polargrid-emulator` binary.

use crate::server::EmulatorConfig;

/// Usage text.
pub const USAGE: &str = "\
usage: polargrid-emulator [--regions yto-01,yul-01,nyc-01] [--jwt-ttl 24h] [--refresh-ttl 30d]
                          [--route-ttl 86400] [--seed N] [--legacy-token-field] [--no-stdin]

Prints one JSON line (URLs, regions, test keys, lifetimes) on stdout, then serves
until stdin reaches EOF (or, with --no-stdin, until killed).
Durations: Ns, Nm, Nh, Nd or plain seconds.";

/// Parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliOptions {
    /// Emulator configuration.
    pub config: EmulatorConfig,
    /// Do not stop at stdin EOF; run until killed.
    pub no_stdin: bool,
    /// `--help` was given.
    pub help: bool,
}

/// Parses `30`, `30s`, `5m`, `24h`, `30d` into seconds.
pub fn parse_duration_s(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            (t.get(..i).unwrap_or(""), c.to_ascii_lowercase())
        }
        _ => (t, 's'),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("invalid duration {text:?} (use Ns, Nm, Nh, Nd or seconds)"))?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("invalid duration unit in {text:?}")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("duration {text:?} too large"))
}

/// Parses the arguments (without the program name). Accepts `--flag value` and `--flag=value`.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<CliOptions, String> {
    let mut opts = CliOptions {
        config: EmulatorConfig::default(),
        no_stdin: false,
        help: false,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--help" | "-h" => opts.help = true,
            "--no-stdin" => opts.no_stdin = true,
            "--legacy-token-field" => opts.config.legacy_token_field = true,
            "--regions" => {
                opts.config.regions = value("--regions")?
                    .split(',')
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty())
                    .collect();
                if opts.config.regions.is_empty() {
                    return Err("--regions needs at least one region".to_string());
                }
            }
            "--jwt-ttl" => opts.config.jwt_ttl_s = parse_duration_s(&value("--jwt-ttl")?)?,
            "--refresh-ttl" => {
                opts.config.refresh_ttl_s = parse_duration_s(&value("--refresh-ttl")?)?
            }
            "--route-ttl" => opts.config.route_ttl_s = parse_duration_s(&value("--route-ttl")?)?,
            "--seed" => {
                let v = value("--seed")?;
                opts.config.seed = v
                    .trim()
                    .parse()
                    .map_err(|_| format!("invalid seed {v:?}"))?;
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(opts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<CliOptions, String> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn durations_accept_units_and_plain_seconds() {
        assert_eq!(parse_duration_s("45"), Ok(45));
        assert_eq!(parse_duration_s("45s"), Ok(45));
        assert_eq!(parse_duration_s("2m"), Ok(120));
        assert_eq!(parse_duration_s("24h"), Ok(86_400));
        assert_eq!(parse_duration_s("30d"), Ok(2_592_000));
        assert!(parse_duration_s("").is_err());
        assert!(parse_duration_s("h").is_err());
        assert!(parse_duration_s("5w").is_err());
        assert!(parse_duration_s("-5").is_err());
        assert!(parse_duration_s("99999999999999999999d").is_err());
    }

    #[test]
    fn no_arguments_give_defaults() {
        let o = args(&[]).unwrap();
        assert_eq!(o.config, EmulatorConfig::default());
        assert_eq!(o.config.regions, vec!["yto-01", "yul-01", "nyc-01"]);
        assert!(!o.no_stdin);
    }

    #[test]
    fn every_flag_is_parsed_in_both_forms() {
        let o = args(&[
            "--regions",
            "yto-01,sfo-01",
            "--jwt-ttl=30s",
            "--refresh-ttl",
            "1h",
            "--seed",
            "42",
            "--route-ttl",
            "60",
            "--legacy-token-field",
            "--no-stdin",
        ])
        .unwrap();
        assert_eq!(o.config.regions, vec!["yto-01", "sfo-01"]);
        assert_eq!(
            (
                o.config.jwt_ttl_s,
                o.config.refresh_ttl_s,
                o.config.seed,
                o.config.route_ttl_s
            ),
            (30, 3600, 42, 60)
        );
        assert!(o.config.legacy_token_field && o.no_stdin);
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(args(&["--bogus"]).is_err());
        assert!(args(&["--seed"]).is_err());
        assert!(args(&["--seed", "x"]).is_err());
        assert!(args(&["--regions", ","]).is_err());
    }
}
