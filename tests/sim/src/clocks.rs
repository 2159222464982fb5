//! Each simulated host's own clock: the one it stamps its `Date` (and an HTTP-date
//! `Retry-After`) with. Tokens and expiry checks keep the model's true clock — a host
//! with a wrong clock, or a proxy rewriting `Date`, does not change what the issuer
//! signs. Most runs keep every host on time; some drift by seconds to minutes; some
//! have absurd clocks (the year 9999, 1970, hours or days off), which no answer's
//! `Date` may turn into a storm of session requests or a lost session.

use polargrid_emulator::model::Target;

use crate::plan::{Dice, REGIONS};

/// `Fri, 31 Dec 9999` minus the simulation's epoch, minus 40 days: a clock that stays
/// in the year 9999 for the whole run.
const YEAR_9999: i64 = 253_402_214_400_000 - 1_799_913_600_000 - 40 * 86_400_000;
/// Back to 1970 (the model clamps a stamp before the epoch to the epoch).
const YEAR_1970: i64 = -1_799_913_600_000;

/// The clock offset of each host of a run (`0`: on time; hosts on time are left out).
pub(crate) fn gen_host_clocks(d: &mut Dice) -> Vec<(Target, i64)> {
    let mut hosts = vec![Target::Autorouter, Target::Auth];
    hosts.extend(REGIONS.iter().map(|r| Target::Region((*r).to_string())));
    let style = d.range(0, 99);
    let mut out = Vec::new();
    for host in hosts {
        let offset = match style {
            0..=39 => 0,
            40..=74 => drift(d),
            _ if d.chance(40) => absurd(d),
            _ => drift(d),
        };
        if offset != 0 {
            out.push((host, offset));
        }
    }
    out
}

/// Seconds to two minutes either way.
fn drift(d: &mut Dice) -> i64 {
    let ms = d.range(0, 120_000) as i64;
    if d.chance(50) {
        ms
    } else {
        -ms
    }
}

fn absurd(d: &mut Dice) -> i64 {
    let hours = d.range(1, 72) as i64 * 3_600_000;
    match d.range(0, 3) {
        0 => YEAR_9999,
        1 => YEAR_1970,
        2 => hours,
        _ => -hours,
    }
}
