//! Command-line verbs. Each family of verbs has its own module; this one
//! only declares the grammar and dispatches.

mod account;
mod policy;
mod serve;
mod settings;

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
    /// Serve the RAM API until SIGTERM or SIGINT.
    ///
    /// The Alibaba OpenAPI RPC endpoint (requests signed V1 or V3, as the
    /// official SDKs sign them). Each setting comes from its flag, else its
    /// RAMPART_* environment variable, else the config file, else the
    /// default. On the first start the first account is created and its
    /// root AccessKey printed once (and written to
    /// DATA_DIR/first-account.json).
    Serve(ServeArgs),
    /// Administer accounts directly in the store (with or without a
    /// running server).
    #[command(subcommand)]
    Account(AccountCommand),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The data folder: SQLite database, master key, first-account.json
    /// [env: RAMPART_DATA_DIR] [default: ./rampart-data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// Where the RAM API listens [env: RAMPART_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Where the container registry will listen (accepted and checked; the
    /// registry arrives in a later release) [env: RAMPART_REGISTRY_LISTEN]
    #[arg(long, value_name = "HOST:PORT")]
    registry_listen: Option<String>,
    /// The store: sqlite://PATH or postgres://USER@HOST:PORT/DB
    /// [env: RAMPART_STORE] [default: sqlite://DATA_DIR/rampart.db]
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// A TOML config file [default: DATA_DIR/rampart.toml when present]
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account and its root AccessKey; prints the key once.
    Create(AccountCreateArgs),
}

#[derive(Debug, clap::Args)]
pub struct AccountCreateArgs {
    /// The server's data folder: its store (unless --store says otherwise)
    /// and its master key [env: RAMPART_DATA_DIR] [default: ./rampart-data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// The store URL. The master key then comes from RAMPART_MASTER_KEY,
    /// the config file, or the key file of an explicit --data-dir
    /// [env: RAMPART_STORE]
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// A TOML config file [default: DATA_DIR/rampart.toml when present]
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// The account alias (unique across the accounts of this rampart).
    #[arg(long, value_name = "NAME")]
    alias: Option<String>,
    /// `json` prints {"AccountId", "AccessKeyId", "AccessKeySecret"}.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
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
        Command::Serve(args) => serve::run(&args),
        Command::Account(AccountCommand::Create(args)) => account::run(&args),
    }
}
