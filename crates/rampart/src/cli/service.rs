//! `rampart service key create|list|delete`: keys of service principals
//! (see `iam::services`). A service signs its calls with its key like any
//! AccessKey and calls STS `AssumeRoleWithServiceIdentity`, naming the
//! account it acts for in `AssumeRoleFor`.

use std::process::ExitCode;

use serde_json::json;

use super::account::with_store;
use super::{
    Output, ServiceCommand, ServiceKeyCommand, ServiceKeyCreateArgs, ServiceKeyDeleteArgs,
    ServiceKeyListArgs,
};

pub fn run(command: &ServiceCommand) -> ExitCode {
    match command {
        ServiceCommand::Key(ServiceKeyCommand::Create(args)) => create(args),
        ServiceCommand::Key(ServiceKeyCommand::List(args)) => list(args),
        ServiceCommand::Key(ServiceKeyCommand::Delete(args)) => delete(args),
    }
}

fn create(args: &ServiceKeyCreateArgs) -> ExitCode {
    let made = with_store("service key create", &args.store, async |store| {
        store.create_service_key(&args.service).await
    });
    let made = match made {
        Ok((_, made)) => made,
        Err(code) => return code,
    };
    match args.output {
        Output::Json => println!(
            "{}",
            json!({
                "Service": made.key.service,
                "AccessKeyId": made.key.access_key_id,
                "AccessKeySecret": made.secret.expose(),
                "CreateDate": made.key.create_date.to_string(),
            })
        ),
        Output::Text => {
            println!("Service          {}", made.key.service);
            println!("AccessKeyId      {}", made.key.access_key_id);
            println!("AccessKeySecret  {}", made.secret.expose());
        }
    }
    ExitCode::SUCCESS
}

fn list(args: &ServiceKeyListArgs) -> ExitCode {
    let keys = match with_store("service key list", &args.store, async |store| {
        store.list_service_keys().await
    }) {
        Ok((_, keys)) => keys,
        Err(code) => return code,
    };
    match args.output {
        Output::Json => {
            let items: Vec<_> = keys
                .iter()
                .map(|k| {
                    json!({"Service": k.service, "AccessKeyId": k.access_key_id,
                           "CreateDate": k.create_date.to_string()})
                })
                .collect();
            println!("{}", serde_json::Value::Array(items));
        }
        Output::Text => {
            for k in &keys {
                println!("{}  {}  {}", k.access_key_id, k.service, k.create_date);
            }
        }
    }
    ExitCode::SUCCESS
}

fn delete(args: &ServiceKeyDeleteArgs) -> ExitCode {
    match with_store("service key delete", &args.store, async |store| {
        store.delete_service_key(&args.id).await
    }) {
        Ok(_) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
