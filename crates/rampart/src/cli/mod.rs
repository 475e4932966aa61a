//! Command-line verbs. Each family of verbs has its own module; this one
//! only declares the grammar and dispatches.

mod account;
mod audit;
mod credential_helper;
mod credentials_uri;
mod log_writer;
mod policy;
mod pull_push;
mod registry;
mod serve;
mod service;
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
    /// Serve the RAM and STS APIs until SIGTERM or SIGINT.
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
    /// Read the audit log straight from the store (with or without a
    /// running server).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Credentials URIs: secret URLs that hand out temporary credentials of
    /// one role, for ALIBABA_CLOUD_CREDENTIALS_URI.
    #[command(subcommand, name = "credentials-uri")]
    CredentialsUri(CredentialsUriCommand),
    /// Administer the container registry in the store: instances, garbage
    /// collection.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Copy an image from a registry into an OCI image layout folder (no
    /// container engine needed); prints the manifest digest.
    Pull(pull_push::PullArgs),
    /// Copy an image of an OCI image layout folder into a registry; prints
    /// the manifest digest.
    Push(pull_push::PushArgs),
    /// Service principals: keys the operator issues to platform services.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Registry credentials for docker (docker-credential-rampart) and the
    /// kubelet (image credential provider), resolved as ECI/SAE do.
    CredentialHelper(credential_helper::CredentialHelperArgs),
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// A service's keys.
    #[command(subcommand)]
    Key(ServiceKeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum ServiceKeyCommand {
    /// Issue a key to a service (such as sae.aliyuncs.com); prints its
    /// AccessKeyId and AccessKeySecret once.
    Create(ServiceKeyCreateArgs),
    /// List every service key (never the secrets).
    List(ServiceKeyListArgs),
    /// Withdraw a key: its next request is refused.
    Delete(ServiceKeyDeleteArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServiceKeyCreateArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The service's name, such as sae.aliyuncs.com.
    #[arg(long, value_name = "NAME")]
    service: String,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Debug, clap::Args)]
pub struct ServiceKeyListArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Debug, clap::Args)]
pub struct ServiceKeyDeleteArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The key's AccessKeyId.
    #[arg(long, value_name = "ID")]
    id: String,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Registry instances.
    #[command(subcommand)]
    Instance(RegistryInstanceCommand),
    /// Remove blobs that no manifest refers to (safe while serving: blobs
    /// linked or uploaded within the grace period are kept).
    Gc(RegistryGcArgs),
}

#[derive(Debug, Subcommand)]
pub enum RegistryInstanceCommand {
    /// Create a registry instance for an account; prints its id and host
    /// names.
    Create(RegistryInstanceCreateArgs),
    /// Set the fixed registry password of an account's root identity or of
    /// one of its RAM users on an instance (what ResetLoginPassword does
    /// for the caller), reading the password from stdin.
    LoginPassword(RegistryLoginPasswordArgs),
}

#[derive(Debug, clap::Args)]
pub struct RegistryLoginPasswordArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The account that owns the instance.
    #[arg(long, value_name = "ACCOUNT_ID")]
    account: String,
    /// The instance (cri-…).
    #[arg(long, value_name = "INSTANCE_ID")]
    instance: String,
    /// The RAM user whose password to set [default: the root identity]
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RegistryInstanceCreateArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The account that owns the instance.
    #[arg(long, value_name = "ACCOUNT_ID")]
    account: String,
    /// The instance name (3-30 lower-case letters, digits, '-'); its
    /// default host name is NAME-registry.REGION.SUFFIX.
    #[arg(long, value_name = "NAME")]
    name: String,
    /// The region, such as cn-hangzhou.
    #[arg(long, value_name = "REGION")]
    region: String,
    /// A custom domain the instance also answers to; repeat for several.
    #[arg(long = "domain", value_name = "HOST")]
    domains: Vec<String>,
    /// The suffix of default host names [default: cr.rampart.internal]
    #[arg(long, value_name = "SUFFIX")]
    domain_suffix: Option<String>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Debug, clap::Args)]
pub struct RegistryGcArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Keep blobs linked or uploaded within this many seconds (pushes in
    /// progress upload blobs before the manifest that names them).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    grace_seconds: u64,
    /// Report what would be removed, remove nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Where an admin verb finds the store (as `account create` does).
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
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
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// An account's audit events, newest first: one line each, or a JSON
    /// array with --output json.
    List(AuditListArgs),
}

#[derive(Debug, clap::Args)]
pub struct AuditListArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The account whose events to list (16 digits).
    #[arg(long, value_name = "ACCOUNT_ID")]
    account: String,
    /// Only this action, e.g. `ram:CreateUser`.
    #[arg(long, value_name = "ACTION")]
    action: Option<String>,
    /// Only calls made by this principal ARN (for temporary credentials,
    /// the assumed-role session's ARN).
    #[arg(long, value_name = "ARN")]
    principal: Option<String>,
    /// The most events to print, 1-10000.
    #[arg(long, value_name = "N", default_value_t = 100)]
    limit: i64,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Debug, Subcommand)]
pub enum CredentialsUriCommand {
    /// Bind a role of an account to a new secret URI; prints the URI once.
    ///
    /// Whoever holds the URI gets fresh temporary credentials of the role
    /// with a plain GET, as the Alibaba Cloud credentials libraries do
    /// when ALIBABA_CLOUD_CREDENTIALS_URI names it.
    Create(CredentialsUriCreateArgs),
    /// List an account's bindings (never their secrets).
    List(CredentialsUriListArgs),
    /// Remove a binding: its URI hands out nothing more.
    Delete(CredentialsUriDeleteArgs),
}

#[derive(Debug, clap::Args)]
pub struct CredentialsUriCreateArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The account that owns the role.
    #[arg(long, value_name = "ACCOUNT_ID")]
    account: String,
    /// The role's name.
    #[arg(long, value_name = "NAME")]
    role: String,
    /// The RoleSessionName of the sessions handed out [default: uri-BINDING]
    #[arg(long, value_name = "NAME")]
    session_name: Option<String>,
    /// How long each session lasts, 900-43200 s, at most the role's
    /// MaxSessionDuration [default: 3600]
    #[arg(long, value_name = "SECONDS")]
    duration_seconds: Option<i64>,
    /// The server address the URI names
    /// [default: http:// and the listen address of the settings]
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Debug, clap::Args)]
pub struct CredentialsUriListArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The account whose bindings to list.
    #[arg(long, value_name = "ACCOUNT_ID")]
    account: String,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Debug, clap::Args)]
pub struct CredentialsUriDeleteArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The account that owns the binding.
    #[arg(long, value_name = "ACCOUNT_ID")]
    account: String,
    /// The binding id (`cu-…`, the URI's first segment after /rampart/credentials/).
    #[arg(long, value_name = "ID")]
    binding: String,
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
    /// TESTING ONLY: shift the clock sessions are issued and checked by,
    /// by the seconds written in the file named by
    /// RAMPART_TEST_CLOCK_OFFSET_FILE (read on every request). Never use
    /// in production.
    #[arg(long, hide = true)]
    test_clock: bool,
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

/// `Some(exit code)` when the binary runs as docker-credential-rampart.
pub fn invoked_as_docker_helper() -> Option<ExitCode> {
    credential_helper::invoked_as_docker_helper()
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Policy(PolicyCommand::Validate { files, kind }) => policy::validate(&files, kind),
        Command::Policy(PolicyCommand::Simulate(args)) => policy::simulate(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Account(AccountCommand::Create(args)) => account::run(&args),
        Command::Audit(AuditCommand::List(args)) => audit::list(&args),
        Command::CredentialsUri(command) => credentials_uri::run(&command),
        Command::Registry(command) => registry::run(&command),
        Command::Pull(args) => pull_push::pull(&args),
        Command::Push(args) => pull_push::push(&args),
        Command::Service(command) => service::run(&command),
        Command::CredentialHelper(args) => credential_helper::run(&args),
    }
}
