//! The `rampart` command: one binary for the server and the admin verbs.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Installed as docker-credential-rampart (a symlink): docker's grammar.
    if let Some(code) = cli::invoked_as_docker_helper() {
        return code;
    }
    let args = cli::Cli::parse();
    cli::run(args)
}
