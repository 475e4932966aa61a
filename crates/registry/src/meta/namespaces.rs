//! Namespaces of an instance.

use super::control::{component_name, repo_type, ControlError, Namespace, Thing, REPO_PRIVATE};
use super::instances::new_id;
use super::{now_seconds, Db, Tx};

const COLUMNS: &str =
    "instance_id, name, namespace_id, auto_create_repo, default_repo_type, created_at, updated_at";

/// What `CreateNamespace` sets.
#[derive(Debug, Clone, Copy)]
pub struct NamespaceSettings<'a> {
    pub auto_create_repo: bool,
    pub default_repo_type: &'a str,
}

impl Default for NamespaceSettings<'_> {
    fn default() -> Self {
        NamespaceSettings {
            auto_create_repo: true,
            default_repo_type: REPO_PRIVATE,
        }
    }
}

pub(crate) async fn insert(
    tx: &mut Tx,
    instance_id: &str,
    name: &str,
    settings: NamespaceSettings<'_>,
) -> Result<Namespace, ControlError> {
    component_name(name, "NamespaceName")?;
    let default_repo_type = repo_type(settings.default_repo_type, "DefaultRepoType")?;
    let present =
        sqlx::query("SELECT name FROM cr_namespaces WHERE instance_id = $1 AND name = $2")
            .bind(instance_id)
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?;
    if present.is_some() {
        return Err(ControlError::exists(Thing::Namespace, name));
    }
    let now = now_seconds();
    let namespace = Namespace {
        instance_id: instance_id.to_owned(),
        name: name.to_owned(),
        namespace_id: new_id("crn-")?,
        auto_create_repo: settings.auto_create_repo,
        default_repo_type: default_repo_type.to_owned(),
        created_at: now,
        updated_at: now,
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO cr_namespaces ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )))
    .bind(&namespace.instance_id)
    .bind(&namespace.name)
    .bind(&namespace.namespace_id)
    .bind(i64::from(namespace.auto_create_repo))
    .bind(&namespace.default_repo_type)
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(namespace)
}

/// `CreateNamespace`.
pub async fn create_namespace(
    db: &Db,
    instance_id: &str,
    name: &str,
    settings: NamespaceSettings<'_>,
) -> Result<Namespace, ControlError> {
    let create = async {
        let mut tx = db.begin_write().await?;
        let namespace = insert(&mut tx, instance_id, name, settings).await?;
        tx.commit().await?;
        Ok::<_, ControlError>(namespace)
    };
    create
        .await
        .map_err(|e| e.exists_if_unique_violation(Thing::Namespace, name))
}

/// A namespace by name.
pub async fn get_namespace(
    db: &Db,
    instance_id: &str,
    name: &str,
) -> Result<Option<Namespace>, ControlError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM cr_namespaces WHERE instance_id = $1 AND name = $2"
    )))
    .bind(instance_id)
    .bind(name)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.as_ref().map(Namespace::from_row).transpose()?)
}

/// A namespace by id.
pub async fn get_namespace_by_id(
    db: &Db,
    instance_id: &str,
    namespace_id: &str,
) -> Result<Option<Namespace>, ControlError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM cr_namespaces WHERE instance_id = $1 AND namespace_id = $2"
    )))
    .bind(instance_id)
    .bind(namespace_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.as_ref().map(Namespace::from_row).transpose()?)
}

/// An instance's namespaces by name, optionally only one name, a page at
/// a time (`page_no` from 1). Returns the page and the total.
pub async fn list_namespaces(
    db: &Db,
    instance_id: &str,
    name: Option<&str>,
    page_no: i64,
    page_size: i64,
) -> Result<(Vec<Namespace>, i64), ControlError> {
    let filter = name.unwrap_or("");
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cr_namespaces WHERE instance_id = $1 AND ($2 = '' OR name = $2)",
    )
    .bind(instance_id)
    .bind(filter)
    .fetch_one(db.pool())
    .await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM cr_namespaces WHERE instance_id = $1 AND ($2 = '' OR name = $2)
         ORDER BY name LIMIT $3 OFFSET $4"
    )))
    .bind(instance_id)
    .bind(filter)
    .bind(page_size)
    .bind(page_size.saturating_mul(page_no.saturating_sub(1)))
    .fetch_all(db.pool())
    .await?;
    let list = rows
        .iter()
        .map(Namespace::from_row)
        .collect::<Result<_, _>>()?;
    Ok((list, total))
}

/// `UpdateNamespace`: changes what is given.
pub async fn update_namespace(
    db: &Db,
    instance_id: &str,
    name: &str,
    auto_create_repo: Option<bool>,
    default_repo_type: Option<&str>,
) -> Result<Namespace, ControlError> {
    let kind = default_repo_type
        .map(|t| repo_type(t, "DefaultRepoType"))
        .transpose()?;
    let mut tx = db.begin_write().await?;
    let done = sqlx::query(
        "UPDATE cr_namespaces SET
            auto_create_repo = COALESCE($3, auto_create_repo),
            default_repo_type = COALESCE($4, default_repo_type),
            updated_at = $5
         WHERE instance_id = $1 AND name = $2",
    )
    .bind(instance_id)
    .bind(name)
    .bind(auto_create_repo.map(i64::from))
    .bind(kind)
    .bind(now_seconds())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ControlError::not_found(Thing::Namespace, name));
    }
    tx.commit().await?;
    get_namespace(db, instance_id, name)
        .await?
        .ok_or_else(|| ControlError::not_found(Thing::Namespace, name))
}

/// `DeleteNamespace`: only an empty one (delete its repositories first).
pub async fn delete_namespace(db: &Db, instance_id: &str, name: &str) -> Result<(), ControlError> {
    let mut tx = db.begin_write().await?;
    let repos: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cr_repositories WHERE instance_id = $1 AND namespace = $2",
    )
    .bind(instance_id)
    .bind(name)
    .fetch_one(&mut *tx)
    .await?;
    if repos > 0 {
        return Err(ControlError::NotEmpty {
            thing: Thing::Namespace,
            name: name.to_owned(),
            what: format!("it holds {repos} repositories; delete them first"),
        });
    }
    let done = sqlx::query("DELETE FROM cr_namespaces WHERE instance_id = $1 AND name = $2")
        .bind(instance_id)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(ControlError::not_found(Thing::Namespace, name));
    }
    tx.commit().await?;
    Ok(())
}
