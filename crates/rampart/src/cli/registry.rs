//! `rampart registry instance create` and `rampart registry gc`: the
//! operator's side of the container registry, straight on the store (with
//! or without a running server; a server sees a new instance at its next
//! request).
//!
//! `instance create --output json` prints
//! `{"InstanceId": "cri-…", "InstanceName", "RegionId", "AccountId",
//! "Domains": [{"Domain", "Type"}]}` — a fixed interface scripts rely on.

use std::process::ExitCode;

use registry::meta::instances::{self, NewInstance};
use registry::meta::Db;
use serde_json::json;

use super::account::with_store_and_settings;
use super::{
    Output, RegistryCommand, RegistryGcArgs, RegistryInstanceCommand, RegistryInstanceCreateArgs,
    RegistryLoginPasswordArgs,
};

/// The folder of the registry's blobs inside the data folder.
pub const BLOB_DIR: &str = "registry";

pub fn run(command: &RegistryCommand) -> ExitCode {
    match command {
        RegistryCommand::Instance(RegistryInstanceCommand::Create(args)) => create(args),
        RegistryCommand::Instance(RegistryInstanceCommand::LoginPassword(args)) => {
            login_password(args)
        }
        RegistryCommand::Gc(args) => gc(args),
    }
}

async fn open_db(store: &iam::Store) -> Result<Db, String> {
    Db::open(store.pool(), store.is_postgres())
        .await
        .map_err(|e| format!("opening the registry tables: {e}"))
}

fn create(args: &RegistryInstanceCreateArgs) -> ExitCode {
    let suffix = args
        .domain_suffix
        .clone()
        .unwrap_or_else(|| server::registry::DEFAULT_DOMAIN_SUFFIX.to_owned());
    let made =
        with_store_and_settings("registry instance create", &args.store, async |store, _| {
            let db = open_db(store).await?;
            instances::create_instance(
                &db,
                &NewInstance {
                    account_id: &args.account,
                    name: &args.name,
                    region: &args.region,
                    domain_suffix: &suffix,
                    custom_domains: &args.domains,
                },
            )
            .await
            .map_err(|e| e.to_string())
        });
    let (instance, domains) = match made {
        Ok((_, made)) => made,
        Err(code) => return code,
    };
    match args.output {
        Output::Json => {
            let domains: Vec<_> = domains
                .iter()
                .map(|d| json!({"Domain": d.domain, "Type": d.kind}))
                .collect();
            println!(
                "{}",
                json!({
                    "InstanceId": instance.instance_id,
                    "InstanceName": instance.name,
                    "RegionId": instance.region,
                    "AccountId": instance.account_id,
                    "Domains": domains,
                })
            );
        }
        Output::Text => {
            println!("InstanceId   {}", instance.instance_id);
            println!("Name         {} ({})", instance.name, instance.region);
            println!("Account      {}", instance.account_id);
            for d in &domains {
                println!("Domain       {} ({})", d.domain, d.kind);
            }
        }
    }
    ExitCode::SUCCESS
}

fn gc(args: &RegistryGcArgs) -> ExitCode {
    let grace = std::time::Duration::from_secs(args.grace_seconds);
    let dry_run = args.dry_run;
    let done = with_store_and_settings("registry gc", &args.store, async |store, settings| {
        let db = open_db(store).await?;
        let blobs = registry::LocalStore::open(
            &settings.data_dir.join(BLOB_DIR),
            registry::LocalStoreOptions::default(),
        )
        .await
        .map_err(|e| format!("opening the blob store: {e}"))?;
        registry::gc::collect(&db, &blobs, grace, dry_run)
            .await
            .map_err(|e| e.to_string())
    });
    let report = match done {
        Ok((_, report)) => report,
        Err(code) => return code,
    };
    match args.output {
        Output::Json => println!(
            "{}",
            json!({
                "DryRun": dry_run,
                "LinksRemoved": report.links_removed,
                "BlobsRemoved": report.blobs_removed,
                "BytesFreed": report.bytes_freed,
                "BlobsKept": report.blobs_kept,
            })
        ),
        Output::Text => println!(
            "{} {} blob(s), {} byte(s); {} unreferenced link(s); {} blob(s) kept",
            if dry_run { "would remove" } else { "removed" },
            report.blobs_removed,
            report.bytes_freed,
            report.links_removed,
            report.blobs_kept
        ),
    }
    ExitCode::SUCCESS
}

fn login_password(args: &RegistryLoginPasswordArgs) -> ExitCode {
    let mut password = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut password) {
        eprintln!("rampart registry instance login-password: cannot read stdin: {e}");
        return ExitCode::FAILURE;
    }
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    let done = with_store_and_settings(
        "registry instance login-password",
        &args.store,
        async |store, _| {
            let db = open_db(store).await?;
            let instance = instances::account_instance(&db, &args.account, &args.instance)
                .await
                .map_err(|e| e.to_string())?;
            let principal = match &args.user {
                None => registry::meta::logins::ROOT_PRINCIPAL.to_owned(),
                Some(name) => {
                    store
                        .get_user(&args.account, name)
                        .await
                        .map_err(|e| format!("{} ({})", e.message(), e.code()))?
                        .user_id
                }
            };
            registry::meta::logins::set_password(
                &db,
                &instance.instance_id,
                &args.account,
                &principal,
                &password,
            )
            .await
            .map_err(|e| e.to_string())
        },
    );
    match done {
        Ok(_) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
