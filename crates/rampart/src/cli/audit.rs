//! `rampart audit list`: an account's audit events, read straight from the
//! store (with or without a running server), newest first. The store is
//! opened as `account create` opens it.

use std::process::ExitCode;

use serde::Serialize;

use super::account::with_store;
use super::{AuditListArgs, Output};

/// Exit status for a command line that cannot be carried out.
const USAGE: u8 = 2;

/// The most events one `audit list` prints.
const MAX_LIMIT: i64 = 10_000;

/// The most events the store hands out per query; longer lists are paged.
const PAGE: i64 = 1000;

/// One event, as `--output json` prints it (a struct, so the keys keep
/// this order).
#[derive(Serialize)]
struct Event<'a> {
    time: String,
    request_id: &'a str,
    account_id: &'a str,
    principal_arn: &'a str,
    principal_chain: &'a [String],
    action: &'a str,
    resource: &'a str,
    decision: &'a str,
    deciding_statement: Option<&'a str>,
    source_ip: Option<&'a str>,
    error_code: Option<&'a str>,
    session_id: Option<&'a str>,
    issued_session_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acting_service: Option<&'a str>,
}

impl<'a> Event<'a> {
    fn of(e: &'a iam::AuditEvent) -> Self {
        Event {
            time: e.time.to_string(),
            request_id: &e.request_id,
            account_id: &e.account_id,
            principal_arn: &e.principal_arn,
            principal_chain: &e.principal_chain,
            action: &e.action,
            resource: &e.resource,
            decision: &e.decision,
            deciding_statement: e.deciding_statement.as_deref(),
            source_ip: e.source_ip.as_deref(),
            error_code: e.error_code.as_deref(),
            session_id: e.session_id.as_deref(),
            issued_session_id: e.issued_session_id.as_deref(),
            acting_service: e.acting_service.as_deref(),
        }
    }
}

/// An account id as rampart makes them: 16 digits, not starting with 0.
fn check_account(account: &str) -> Result<(), String> {
    let ok = account.len() == 16
        && account.bytes().all(|b| b.is_ascii_digit())
        && !account.starts_with('0');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--account {account:?}: not an account id; expected 16 digits, e.g. 1234567890123456"
        ))
    }
}

fn check_args(args: &AuditListArgs) -> Result<(), String> {
    check_account(&args.account)?;
    if !(1..=MAX_LIMIT).contains(&args.limit) {
        return Err(format!("--limit {}: expected 1 to {MAX_LIMIT}", args.limit));
    }
    for (flag, value) in [("--action", &args.action), ("--principal", &args.principal)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(format!("{flag}: empty"));
        }
    }
    Ok(())
}

/// One text line: the fields in a fixed order, `-` for what is absent.
fn text_line(e: &iam::AuditEvent) -> String {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let principal = if e.principal_arn.is_empty() {
        "-".to_owned()
    } else if e.principal_chain.is_empty() {
        e.principal_arn.clone()
    } else {
        format!(
            "{} (chain {})",
            e.principal_arn,
            e.principal_chain.join(" > ")
        )
    };
    format!(
        "{}  {}  {}  {}  {}  {}  statement {}  ip {}  error {}",
        e.time,
        e.request_id,
        principal,
        e.action,
        e.resource,
        e.decision,
        or_dash(&e.deciding_statement),
        or_dash(&e.source_ip),
        or_dash(&e.error_code),
    )
}

pub fn list(args: &AuditListArgs) -> ExitCode {
    if let Err(e) = check_args(args) {
        eprintln!("rampart audit list: {e}");
        return ExitCode::from(USAGE);
    }
    let base = iam::AuditFilter {
        account_id: args.account.clone(),
        principal_arn: args.principal.clone(),
        action: args.action.clone(),
        ..iam::AuditFilter::default()
    };
    let limit = args.limit;
    let events = match with_store("audit list", &args.store, async |store| {
        // Newest first, a page at a time (the store answers at most PAGE
        // per query).
        let mut events: Vec<iam::AuditEvent> = Vec::new();
        loop {
            let have = i64::try_from(events.len()).unwrap_or(i64::MAX);
            let want = (limit - have).min(PAGE);
            if want <= 0 {
                break;
            }
            let page = store
                .list_audit(&iam::AuditFilter {
                    limit: Some(want),
                    offset: (have > 0).then_some(have),
                    ..base.clone()
                })
                .await?;
            let full = i64::try_from(page.len()).unwrap_or(i64::MAX) == want;
            events.extend(page);
            if !full {
                break;
            }
        }
        Ok(events)
    }) {
        Ok((_, events)) => events,
        Err(code) => return code,
    };
    match args.output {
        Output::Json => {
            let items: Vec<Event<'_>> = events.iter().map(Event::of).collect();
            match serde_json::to_string_pretty(&items) {
                Ok(text) => println!("{text}"),
                Err(e) => {
                    eprintln!("rampart audit list: cannot write the answer: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        Output::Text => {
            for event in &events {
                println!("{}", text_line(event));
            }
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::check_account;

    #[test]
    fn account_ids() {
        assert!(check_account("1234567890123456").is_ok());
        assert!(check_account("0234567890123456").is_err());
        assert!(check_account("123456789012345").is_err());
        assert!(check_account("12345678901234567").is_err());
        assert!(check_account("12345678901234a6").is_err());
        assert!(check_account("").is_err());
    }
}
