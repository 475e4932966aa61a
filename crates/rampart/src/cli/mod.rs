//! Command-line verbs. Each family of verbs has its own module; this one
//! only declares the grammar and dispatches.

mod policy;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "rampart",
    version,
    about = "An identity and access plane compatible with Alibaba Cloud RAM and STS"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check and try out RAM policy documents.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate policy documents; prints every problem as FILE:LINE:COLUMN.
    /// Exits 0 when all are valid, 1 otherwise.
    Validate {
        /// Policy documents (JSON).
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// What kind of document the files are; `auto` treats a document
        /// whose statements name a Principal as a trust policy.
        #[arg(long, value_enum, default_value_t = KindArg::Auto)]
        kind: KindArg,
    },
    /// Decide one request against a principal's policies and show the
    /// statement that decided.
    Simulate(SimulateArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Auto,
    Permission,
    Session,
    Trust,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// A policy attached to the principal; repeat for each one.
    #[arg(long = "policy", required = true)]
    policies: Vec<std::path::PathBuf>,
    /// A session policy (the `Policy` parameter of AssumeRole), which can
    /// only narrow what the policies allow.
    #[arg(long)]
    session_policy: Option<std::path::PathBuf>,
    /// The action, e.g. `cr:PullRepository`.
    #[arg(long)]
    action: String,
    /// The resource ARN, e.g. `acs:cr:cn-hangzhou:1111111111111111:repository/cri-x/team/app`.
    #[arg(long)]
    resource: String,
    /// A condition key and value, KEY=VALUE; repeat the key for several
    /// values. Overrides what rampart fills in (acs:CurrentTime = now,
    /// acs:PrincipalARN and acs:PrincipalAccount from --principal).
    #[arg(long = "context", value_name = "KEY=VALUE")]
    context: Vec<String>,
    /// The ARN of the principal making the request.
    #[arg(long)]
    principal: Option<String>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Policy(PolicyCommand::Validate { files, kind }) => policy::validate(&files, kind),
        Command::Policy(PolicyCommand::Simulate(args)) => policy::simulate(&args),
    }
}
