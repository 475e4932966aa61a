//! `rampart account create`: a new account and its root AccessKey, written
//! straight to the store. Works whether or not a server is running on the
//! same store (SQLite in WAL mode takes a second writer; PostgreSQL does
//! anyway), and the running server sees the account on its next request.

use std::process::ExitCode;

use serde::Serialize;

use super::serve::{describe_store_error, open_store};
use super::settings::{Flags, MasterKeySource, Settings};
use super::{AccountCreateArgs, Output, StoreArgs};

/// Exit status for a command line that cannot be carried out.
const USAGE: u8 = 2;

/// The `--output json` answer. A struct rather than a JSON map, so the
/// fields come out in this order whatever features `serde_json` was built
/// with (a map is sorted, or in insertion order with `preserve_order`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Created<'a> {
    account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_alias: Option<&'a str>,
    access_key_id: &'a str,
    access_key_secret: &'a str,
}

/// The master key for an admin verb. Unlike `serve`, a missing key file is
/// made only when the store is the data folder's own SQLite file (a fresh
/// setup): minting a key for some other store would seal the new secret
/// with a key its server does not have.
pub(super) fn admin_master_key(settings: &Settings, store_given: bool) -> Result<[u8; 32], String> {
    if let MasterKeySource::File(path) = &settings.master_key {
        if !path.is_file() && store_given {
            return Err(format!(
                "no master key at {}: the secret must be sealed with the server's key; give it in \
                 RAMPART_MASTER_KEY (hex) or the config file's master_key, or name the server's data \
                 folder with --data-dir",
                path.display()
            ));
        }
    }
    if !store_given {
        // The store is the data folder's own SQLite file.
        settings.ensure_data_dir()?;
    }
    settings.master_key()
}

/// Runs `work` on the store the arguments name, as `account create`
/// opens it; `command` (e.g. `audit list`) prefixes the messages. Bad
/// settings exit 2, a failure of the store or of `work` exits 1.
pub(super) fn with_store<T>(
    command: &str,
    args: &StoreArgs,
    work: impl AsyncFnOnce(&iam::Store) -> Result<T, iam::IamError>,
) -> Result<(Settings, T), ExitCode> {
    with_store_and_settings(command, args, async |store, settings| {
        work(store).await.map_err(|e| match e {
            iam::IamError::Internal { .. } => describe_store_error(&settings.store, &e),
            refused => format!("{} ({})", refused.message(), refused.code()),
        })
    })
}

/// [`with_store`] for work that also reads the settings (the data folder)
/// and words its own failures.
pub(super) fn with_store_and_settings<T>(
    command: &str,
    args: &StoreArgs,
    work: impl AsyncFnOnce(&iam::Store, &Settings) -> Result<T, String>,
) -> Result<(Settings, T), ExitCode> {
    super::serve::init_logging_quiet();
    let flags = Flags {
        data_dir: args.data_dir.clone(),
        store: args.store.clone(),
        config: args.config.clone(),
        ..Flags::default()
    };
    let settings = Settings::from_process(&flags).map_err(|e| {
        eprintln!("rampart {command}: {e}");
        ExitCode::from(USAGE)
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("rampart {command}: cannot start the runtime: {e}");
            ExitCode::FAILURE
        })?;
    let store_given = settings.store_is_elsewhere();
    let outcome = runtime.block_on(async {
        let key = admin_master_key(&settings, store_given)?;
        let store = open_store(&settings, key).await?;
        let result = work(&store, &settings).await;
        store.close().await;
        result
    });
    match outcome {
        Ok(value) => Ok((settings, value)),
        Err(e) => {
            eprintln!("rampart {command}: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

async fn create(
    settings: &Settings,
    store_given: bool,
    alias: Option<&str>,
) -> Result<iam::NewAccount, String> {
    let key = admin_master_key(settings, store_given)?;
    let store = open_store(settings, key).await?;
    // One transaction: a refused alias leaves no account behind.
    let result = store.create_account(alias).await;
    store.close().await;
    result.map_err(|e| match e {
        iam::IamError::Internal { .. } => describe_store_error(&settings.store, &e),
        refused => format!(
            "{} ({}); no account was created",
            refused.message(),
            refused.code()
        ),
    })
}

pub fn run(args: &AccountCreateArgs) -> ExitCode {
    super::serve::init_logging_quiet();
    let flags = Flags {
        data_dir: args.data_dir.clone(),
        store: args.store.clone(),
        config: args.config.clone(),
        ..Flags::default()
    };
    let settings = match Settings::from_process(&flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rampart account create: {e}");
            return ExitCode::from(USAGE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rampart account create: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let store_given = settings.store_is_elsewhere();
    let new = match runtime.block_on(create(&settings, store_given, args.alias.as_deref())) {
        Ok(new) => new,
        Err(e) => {
            eprintln!("rampart account create: {e}");
            return ExitCode::FAILURE;
        }
    };
    let key = &new.root_access_key;
    match args.output {
        Output::Json => {
            let record = Created {
                account_id: &new.account.account_id,
                account_alias: new.account.alias.as_deref(),
                access_key_id: &key.access_key_id,
                access_key_secret: key.secret.expose(),
            };
            match serde_json::to_string(&record) {
                Ok(text) => println!("{text}"),
                Err(e) => {
                    eprintln!("rampart account create: cannot write the answer: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        Output::Text => {
            println!("AccountId        {}", new.account.account_id);
            if let Some(alias) = &new.account.alias {
                println!("AccountAlias     {alias}");
            }
            println!("AccessKeyId      {}", key.access_key_id);
            println!("AccessKeySecret  {}", key.secret.expose());
            println!();
            println!("The secret is shown this once; keep it.");
        }
    }
    ExitCode::SUCCESS
}
