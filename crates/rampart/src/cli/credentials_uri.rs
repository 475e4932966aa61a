//! `rampart credentials-uri create|list|delete`: bindings of a role to a
//! secret URI that hands out the role's temporary credentials (see
//! `server::sts::credentials_uri` for how the URI is answered, and
//! `iam::Store::create_credentials_uri` for what is stored).
//!
//! Like `account create`, these verbs write straight to the store, with or
//! without a running server; the server reads bindings on every request,
//! so a new or removed binding counts at once.

use std::net::SocketAddr;
use std::process::ExitCode;

use serde::Serialize;

use super::account::with_store;
use super::settings::Settings;
use super::{
    CredentialsUriCommand, CredentialsUriCreateArgs, CredentialsUriDeleteArgs,
    CredentialsUriListArgs, Output,
};

/// The path of every credentials URI, before the binding id.
const PATH_PREFIX: &str = "/rampart/credentials/";

/// One binding, as `--output json` prints it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Binding<'a> {
    binding_id: &'a str,
    account_id: &'a str,
    role_name: &'a str,
    session_name: &'a str,
    duration_seconds: i64,
    create_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<&'a str>,
}

impl<'a> Binding<'a> {
    fn of(binding: &'a iam::CredentialsUri, uri: Option<&'a str>) -> Self {
        Binding {
            binding_id: &binding.binding_id,
            account_id: &binding.account_id,
            role_name: &binding.role_name,
            session_name: &binding.session_name,
            duration_seconds: binding.duration_seconds,
            create_date: binding.create_date.to_string(),
            uri,
        }
    }
}

/// `http://HOST:PORT` the URI names: `--endpoint`, else the listen address
/// of the settings (an unspecified address becomes loopback).
fn endpoint(given: Option<&str>, settings: &Settings) -> String {
    if let Some(url) = given {
        return url.trim_end_matches('/').to_owned();
    }
    let listen = &settings.listen;
    let host = match listen.parse::<SocketAddr>() {
        Ok(addr) if addr.ip().is_unspecified() => {
            let ip = match addr {
                SocketAddr::V4(_) => std::net::IpAddr::from([127, 0, 0, 1]),
                SocketAddr::V6(_) => std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
            };
            SocketAddr::new(ip, addr.port()).to_string()
        }
        _ => listen.clone(),
    };
    format!("http://{host}")
}

fn print_json(verb: &str, value: &impl Serialize) -> ExitCode {
    match serde_json::to_string(value) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rampart credentials-uri {verb}: cannot write the answer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn create(args: &CredentialsUriCreateArgs) -> ExitCode {
    let input = iam::CreateCredentialsUri {
        role_name: args.role.clone(),
        session_name: args.session_name.clone(),
        duration_seconds: args.duration_seconds,
    };
    let account = args.account.clone();
    let (settings, made) = match with_store("credentials-uri create", &args.store, async |store| {
        store.create_credentials_uri(&account, &input).await
    }) {
        Ok(done) => done,
        Err(code) => return code,
    };
    let uri = format!(
        "{}{PATH_PREFIX}{}/{}",
        endpoint(args.endpoint.as_deref(), &settings),
        made.binding.binding_id,
        made.secret.expose()
    );
    match args.output {
        Output::Json => print_json("create", &Binding::of(&made.binding, Some(&uri))),
        Output::Text => {
            println!("BindingId        {}", made.binding.binding_id);
            println!(
                "Role             {} (account {})",
                made.binding.role_name, made.binding.account_id
            );
            println!("SessionName      {}", made.binding.session_name);
            println!("DurationSeconds  {}", made.binding.duration_seconds);
            println!("Uri              {uri}");
            println!();
            println!("The URI is shown this once and is a credential: whoever holds it gets");
            println!("the role's credentials. Hand it to the workload as");
            println!("  export ALIBABA_CLOUD_CREDENTIALS_URI='{uri}'");
            ExitCode::SUCCESS
        }
    }
}

fn list(args: &CredentialsUriListArgs) -> ExitCode {
    let account = args.account.clone();
    let bindings = match with_store("credentials-uri list", &args.store, async |store| {
        store.list_credentials_uris(&account).await
    }) {
        Ok((_, bindings)) => bindings,
        Err(code) => return code,
    };
    match args.output {
        Output::Json => {
            let items: Vec<Binding<'_>> = bindings.iter().map(|b| Binding::of(b, None)).collect();
            print_json("list", &items)
        }
        Output::Text => {
            for b in &bindings {
                println!(
                    "{}  role {}  session {}  {} s  created {}",
                    b.binding_id, b.role_name, b.session_name, b.duration_seconds, b.create_date
                );
            }
            ExitCode::SUCCESS
        }
    }
}

fn delete(args: &CredentialsUriDeleteArgs) -> ExitCode {
    let account = args.account.clone();
    let binding = args.binding.clone();
    match with_store("credentials-uri delete", &args.store, async |store| {
        store.delete_credentials_uri(&account, &binding).await
    }) {
        Ok(_) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

pub fn run(command: &CredentialsUriCommand) -> ExitCode {
    match command {
        CredentialsUriCommand::Create(args) => create(args),
        CredentialsUriCommand::List(args) => list(args),
        CredentialsUriCommand::Delete(args) => delete(args),
    }
}
