//! `polargrid-emulator`: prints its startup JSON line, then serves until stdin
//! reaches EOF (or until killed, with `--no-stdin`). SIGTERM/SIGINT keep their
//! default action (the process ends; the OS closes the listeners).
#![forbid(unsafe_code)]
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::{self, Write};
use std::process::ExitCode;

use polargrid_emulator::cli::{parse_args, USAGE};
use polargrid_emulator::Emulator;

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("polargrid-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    if opts.help {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let emulator = match Emulator::start(opts.config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("polargrid-emulator: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let line = match serde_json::to_string(&emulator.info()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("polargrid-emulator: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        return ExitCode::from(1);
    }
    drop(out);
    if opts.no_stdin {
        loop {
            std::thread::park();
        }
    }
    // Serve until stdin closes.
    let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
    drop(emulator);
    ExitCode::SUCCESS
}
