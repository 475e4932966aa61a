//! What every error of this crate tells the HTTP layer: Alibaba's `Code`,
//! the HTTP status that goes with it and the `Message`, so the error body
//! is written in one place (the server's error type) from one trait.

use std::borrow::Cow;

/// An error that knows its Alibaba wire form.
pub trait WireError: std::error::Error {
    /// Alibaba's `Code`, e.g. `InvalidSecurityToken.Expired`.
    fn code(&self) -> Cow<'static, str>;
    /// The HTTP status Alibaba answers this code with.
    fn http_status(&self) -> u16;
    /// The `Message` for the caller. Kept to Alibaba's documented text
    /// where one exists; never carries secrets.
    fn message(&self) -> String {
        self.to_string()
    }
    /// Why, for the audit log and the server's own logs: more than the
    /// caller is told (which statement denied, which step refused).
    fn detail(&self) -> Option<String> {
        None
    }
}

/// `NoPermission`'s documented message (protocol §6.4).
pub const NO_PERMISSION_MESSAGE: &str =
    "You are not authorized to do this action. You should be authorized by RAM.";

/// The message for root keys calling AssumeRole (doc 42775).
pub const ROOT_MESSAGE: &str = "Roles may not be assumed by root accounts.";

/// `InternalError`'s documented message.
pub const INTERNAL_MESSAGE: &str = "STS Server Internal Error happened.";
