//! Groups: CreateGroup, GetGroup, UpdateGroup, DeleteGroup, ListGroups,
//! AddUserToGroup, RemoveUserFromGroup, ListGroupsForUser,
//! ListUsersForGroup.

use serde_json::{json, Map, Value};

use super::{date, list_options, paged, text, wrapped};
use crate::error::ApiError;
use crate::reply::Reply;
use crate::rpc::Call;

/// `Group{GroupId, GroupName, Comments, CreateDate[, UpdateDate]}`
/// (CreateGroup leaves out `UpdateDate`).
fn render_group(group: &iam::Group, with_update: bool) -> Value {
    let mut out = Map::new();
    out.insert("GroupId".into(), Value::String(group.group_id.clone()));
    out.insert("GroupName".into(), Value::String(group.name.clone()));
    out.insert("Comments".into(), text(&group.comments));
    out.insert("CreateDate".into(), date(group.create_date));
    if with_update {
        out.insert("UpdateDate".into(), date(group.update_date));
    }
    Value::Object(out)
}

pub async fn create_group(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("GroupName")?;
    let comments = call.params.optional("Comments");
    let group = call
        .store
        .create_group(call.account(), name, comments)
        .await?;
    Ok(Reply::from_value(
        json!({ "Group": render_group(&group, false) }),
    ))
}

pub async fn get_group(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("GroupName")?;
    let group = call.store.get_group(call.account(), name).await?;
    Ok(Reply::from_value(
        json!({ "Group": render_group(&group, true) }),
    ))
}

pub async fn update_group(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let name = p.required("GroupName")?;
    let group = call
        .store
        .update_group(
            call.account(),
            name,
            p.optional("NewGroupName"),
            p.optional("NewComments"),
        )
        .await?;
    Ok(Reply::from_value(
        json!({ "Group": render_group(&group, true) }),
    ))
}

pub async fn delete_group(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = call.params.required("GroupName")?;
    call.store.delete_group(call.account(), name).await?;
    Ok(Reply::empty())
}

pub async fn list_groups(call: &Call<'_>) -> Result<Reply, ApiError> {
    let options = list_options(call.params)?;
    let listing = call.store.list_groups(call.account(), &options).await?;
    let items = listing
        .items
        .iter()
        .map(|g| render_group(g, true))
        .collect();
    let mut payload = Map::new();
    payload.insert("Groups".into(), wrapped("Group", items));
    Ok(Reply::from_value(paged(&listing, payload)))
}

pub async fn add_user_to_group(call: &Call<'_>) -> Result<Reply, ApiError> {
    let group = call.params.required("GroupName")?;
    let user = call.params.required("UserName")?;
    call.store
        .add_user_to_group(call.account(), group, user)
        .await?;
    Ok(Reply::empty())
}

pub async fn remove_user_from_group(call: &Call<'_>) -> Result<Reply, ApiError> {
    let group = call.params.required("GroupName")?;
    let user = call.params.required("UserName")?;
    call.store
        .remove_user_from_group(call.account(), group, user)
        .await?;
    Ok(Reply::empty())
}

pub async fn list_groups_for_user(call: &Call<'_>) -> Result<Reply, ApiError> {
    let user = call.params.required("UserName")?;
    let memberships = call
        .store
        .list_groups_for_user(call.account(), user)
        .await?;
    let items = memberships
        .iter()
        .map(|m| {
            json!({
                "GroupId": m.group.group_id,
                "GroupName": m.group.name,
                "Comments": text(&m.group.comments),
                "JoinDate": date(m.join_date),
            })
        })
        .collect();
    let mut payload = Map::new();
    payload.insert("Groups".into(), wrapped("Group", items));
    Ok(Reply::from_value(Value::Object(payload)))
}

pub async fn list_users_for_group(call: &Call<'_>) -> Result<Reply, ApiError> {
    let group = call.params.required("GroupName")?;
    let options = list_options(call.params)?;
    let listing = call
        .store
        .list_users_for_group(call.account(), group, &options)
        .await?;
    let items = listing
        .items
        .iter()
        .map(|m| {
            json!({
                "UserName": m.user_name,
                "DisplayName": text(&m.display_name),
                "JoinDate": date(m.join_date),
            })
        })
        .collect();
    let mut payload = Map::new();
    payload.insert("Users".into(), wrapped("User", items));
    Ok(Reply::from_value(paged(&listing, payload)))
}
