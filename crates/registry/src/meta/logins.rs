//! Fixed registry passwords (`ResetLoginPassword`), kept as PHC strings of
//! a slow salted hash (Argon2id): never recoverable, checked in constant
//! time by the hash's own verifier.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use super::control::ControlError;
use super::{now_seconds, Db};

/// The principal column for an account's root identity (RAM users are
/// keyed by user id).
pub const ROOT_PRINCIPAL: &str = "root";

/// Checks a new password: 8-32 characters with at least three of upper
/// case, lower case, digits and other printable characters (ACR's rule).
pub fn check_password(password: &str) -> Result<(), ControlError> {
    let len = password.chars().count();
    let classes = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password
            .chars()
            .any(|c| c.is_ascii_graphic() && !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if !(8..=32).contains(&len) || !password.chars().all(|c| c.is_ascii_graphic()) || classes < 3 {
        return Err(ControlError::invalid(
            "Password",
            "must be 8-32 printable ASCII characters with at least three of: upper case, lower case, digits, symbols",
        ));
    }
    Ok(())
}

/// Sets (or replaces) a principal's fixed password for an instance.
pub async fn set_password(
    db: &Db,
    instance_id: &str,
    account_id: &str,
    principal: &str,
    password: &str,
) -> Result<(), ControlError> {
    check_password(password)?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|_| ControlError::invalid("Password", "the random generator failed"))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| ControlError::invalid("Password", e.to_string()))?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| ControlError::invalid("Password", e.to_string()))?
        .to_string();
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM cr_login_passwords WHERE instance_id = $1 AND principal = $2")
        .bind(instance_id)
        .bind(principal)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO cr_login_passwords (instance_id, account_id, principal, password_hash, updated_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(instance_id)
    .bind(account_id)
    .bind(principal)
    .bind(&hash)
    .bind(now_seconds())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether `password` is the principal's fixed password for the instance.
pub async fn check_login(
    db: &Db,
    instance_id: &str,
    principal: &str,
    password: &str,
) -> Result<bool, ControlError> {
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT password_hash FROM cr_login_passwords WHERE instance_id = $1 AND principal = $2",
    )
    .bind(instance_id)
    .bind(principal)
    .fetch_optional(db.pool())
    .await?;
    let Some(stored) = stored else {
        return Ok(false);
    };
    let Ok(parsed) = PasswordHash::new(&stored) else {
        return Ok(false);
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    Ok(ok)
}
