//! The `rampart` command: one binary for the server and the admin verbs.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// glibc's allocator spent a tenth of a busy server's time consolidating
/// and searching its bins (buffers freed on another thread than the one
/// that allocated them, under every request); mimalloc's per-thread pages
/// do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Installed as docker-credential-rampart (a symlink): docker's grammar.
    if let Some(code) = cli::invoked_as_docker_helper() {
        return code;
    }
    let args = cli::Cli::parse();
    cli::run(args)
}
