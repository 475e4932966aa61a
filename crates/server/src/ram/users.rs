//! RAM users: CreateUser, GetUser, UpdateUser, DeleteUser, ListUsers.

use serde_json::{json, Map, Value};

use super::{date, list_options, paged, text, wrapped};
use crate::error::ApiError;
use crate::reply::Reply;
use crate::rpc::Call;

/// Which action a `User{…}` is rendered for: the fields differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserView {
    /// CreateUser: no `UpdateDate`.
    Created,
    /// UpdateUser and ListUsers items: with `UpdateDate`.
    Listed,
    /// GetUser: with `UpdateDate` and, once the user has logged in,
    /// `LastLoginDate`.
    Full,
}

/// `User{UserId, UserName, DisplayName, MobilePhone, Email, Comments,
/// CreateDate[, UpdateDate, LastLoginDate]}`.
pub(crate) fn render_user(user: &iam::User, view: UserView) -> Value {
    let mut out = Map::new();
    out.insert("UserId".into(), Value::String(user.user_id.clone()));
    out.insert("UserName".into(), Value::String(user.name.clone()));
    out.insert("DisplayName".into(), text(&user.display_name));
    out.insert("MobilePhone".into(), text(&user.mobile_phone));
    out.insert("Email".into(), text(&user.email));
    out.insert("Comments".into(), text(&user.comments));
    out.insert("CreateDate".into(), date(user.create_date));
    if view != UserView::Created {
        out.insert("UpdateDate".into(), date(user.update_date));
    }
    if view == UserView::Full {
        if let Some(last) = user.last_login_date {
            out.insert("LastLoginDate".into(), date(last));
        }
    }
    Value::Object(out)
}

pub async fn create_user(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let request = iam::CreateUser {
        name: p.required("UserName")?.to_owned(),
        display_name: p.optional("DisplayName").map(str::to_owned),
        mobile_phone: p.optional("MobilePhone").map(str::to_owned),
        email: p.optional("Email").map(str::to_owned),
        comments: p.optional("Comments").map(str::to_owned),
    };
    let user = call.store.create_user(call.account(), &request).await?;
    Ok(Reply::from_value(
        json!({ "User": render_user(&user, UserView::Created) }),
    ))
}

pub async fn get_user(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("UserName")?;
    let user = call.store.get_user(call.account(), name).await?;
    Ok(Reply::from_value(
        json!({ "User": render_user(&user, UserView::Full) }),
    ))
}

pub async fn update_user(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let name = p.required("UserName")?;
    let changes = iam::UpdateUser {
        new_name: p.optional("NewUserName").map(str::to_owned),
        new_display_name: p.optional("NewDisplayName").map(str::to_owned),
        new_mobile_phone: p.optional("NewMobilePhone").map(str::to_owned),
        new_email: p.optional("NewEmail").map(str::to_owned),
        new_comments: p.optional("NewComments").map(str::to_owned),
    };
    let user = call
        .store
        .update_user(call.account(), name, &changes)
        .await?;
    Ok(Reply::from_value(
        json!({ "User": render_user(&user, UserView::Listed) }),
    ))
}

pub async fn delete_user(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("UserName")?;
    call.store.delete_user(call.account(), name).await?;
    Ok(Reply::empty())
}

pub async fn list_users(call: &Call<'_>) -> Result<Reply, ApiError> {
    let options = list_options(call.params)?;
    let listing = call.store.list_users(call.account(), &options).await?;
    let items = listing
        .items
        .iter()
        .map(|u| render_user(u, UserView::Listed))
        .collect();
    let mut payload = Map::new();
    payload.insert("Users".into(), wrapped("User", items));
    Ok(Reply::from_value(paged(&listing, payload)))
}
