//! A local PolarGrid for tests.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cli;
pub mod model;
pub mod server;

pub use model::{Model, ModelConfig, Role, StartupInfo};
pub use server::{Emulator, EmulatorConfig};
