//! Repositories of an instance.

use super::control::{component_name, repo_type, ControlError, Repository, Thing};
use super::instances::new_id;
use super::namespaces::{self, NamespaceSettings};
use super::{now_seconds, Db, Tx};

const COLUMNS: &str = "repo_id, instance_id, namespace, name, repo_type, summary, detail, \
                       tag_immutability, created_at, updated_at";

/// What `CreateRepository` sets.
#[derive(Debug, Clone, Copy)]
pub struct NewRepository<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub repo_type: &'a str,
    pub summary: &'a str,
    pub detail: &'a str,
    pub tag_immutability: bool,
}

async fn insert(
    tx: &mut Tx,
    instance_id: &str,
    new: &NewRepository<'_>,
) -> Result<Repository, ControlError> {
    component_name(new.name, "RepoName")?;
    let kind = repo_type(new.repo_type, "RepoType")?;
    if new.summary.chars().count() > 100 {
        return Err(ControlError::invalid("Summary", "at most 100 characters"));
    }
    let present = sqlx::query(
        "SELECT repo_id FROM cr_repositories WHERE instance_id = $1 AND namespace = $2 AND name = $3",
    )
    .bind(instance_id)
    .bind(new.namespace)
    .bind(new.name)
    .fetch_optional(&mut **tx)
    .await?;
    if present.is_some() {
        return Err(ControlError::exists(
            Thing::Repository,
            format!("{}/{}", new.namespace, new.name),
        ));
    }
    let now = now_seconds();
    let repository = Repository {
        repo_id: new_id("crr-")?,
        instance_id: instance_id.to_owned(),
        namespace: new.namespace.to_owned(),
        name: new.name.to_owned(),
        repo_type: kind.to_owned(),
        summary: new.summary.to_owned(),
        detail: new.detail.to_owned(),
        tag_immutability: new.tag_immutability,
        created_at: now,
        updated_at: now,
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO cr_repositories ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )))
    .bind(&repository.repo_id)
    .bind(&repository.instance_id)
    .bind(&repository.namespace)
    .bind(&repository.name)
    .bind(&repository.repo_type)
    .bind(&repository.summary)
    .bind(&repository.detail)
    .bind(i64::from(repository.tag_immutability))
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(repository)
}

/// `CreateRepository`: the namespace must exist.
pub async fn create_repository(
    db: &Db,
    instance_id: &str,
    new: &NewRepository<'_>,
) -> Result<Repository, ControlError> {
    let create = async {
        let mut tx = db.begin_write().await?;
        let namespace =
            sqlx::query("SELECT name FROM cr_namespaces WHERE instance_id = $1 AND name = $2")
                .bind(instance_id)
                .bind(new.namespace)
                .fetch_optional(&mut *tx)
                .await?;
        if namespace.is_none() {
            return Err(ControlError::not_found(Thing::Namespace, new.namespace));
        }
        let repository = insert(&mut tx, instance_id, new).await?;
        tx.commit().await?;
        Ok(repository)
    };
    create.await.map_err(|e| {
        e.exists_if_unique_violation(
            Thing::Repository,
            &format!("{}/{}", new.namespace, new.name),
        )
    })
}

/// The repository a push goes to, created when missing (see
/// `create_for_push`), and safe when first pushes into it race.
pub async fn repository_for_push(
    db: &Db,
    instance_id: &str,
    namespace: &str,
    name: &str,
) -> Result<Option<Repository>, ControlError> {
    match create_for_push(db, instance_id, namespace, name).await {
        // Clients push layers in parallel: on PostgreSQL two first pushes
        // into a new repository can both find it missing and then lose to
        // each other (a unique violation, or the row seen by the second
        // check once the winner committed): the row is there now.
        Err(e @ (ControlError::Meta(_) | ControlError::AlreadyExists { .. })) => {
            match get_repository(db, instance_id, namespace, name).await? {
                Some(found) => Ok(Some(found)),
                None => Err(e),
            }
        }
        other => other,
    }
}

/// The repository a push goes to, created when missing: its namespace is
/// created too when missing (with the defaults: repositories created on
/// push, private), and a missing repository is created only when its
/// namespace allows it (`AutoCreateRepo`), with the namespace's default
/// type. `Ok(None)`: the namespace does not auto-create.
async fn create_for_push(
    db: &Db,
    instance_id: &str,
    namespace: &str,
    name: &str,
) -> Result<Option<Repository>, ControlError> {
    if let Some(found) = get_repository(db, instance_id, namespace, name).await? {
        return Ok(Some(found));
    }
    component_name(namespace, "NamespaceName")?;
    component_name(name, "RepoName")?;
    let mut tx = db.begin_write().await?;
    // Another push may have created it meanwhile.
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM cr_repositories WHERE instance_id = $1 AND namespace = $2 AND name = $3"
    )))
    .bind(instance_id)
    .bind(namespace)
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = row {
        return Ok(Some(Repository::from_row(&row)?));
    }
    let row = sqlx::query(
        "SELECT instance_id, name, namespace_id, auto_create_repo, default_repo_type, created_at, updated_at
         FROM cr_namespaces WHERE instance_id = $1 AND name = $2",
    )
    .bind(instance_id)
    .bind(namespace)
    .fetch_optional(&mut *tx)
    .await?;
    let ns = match row {
        Some(row) => crate::meta::control::Namespace::from_row(&row)?,
        None => {
            namespaces::insert(
                &mut tx,
                instance_id,
                namespace,
                NamespaceSettings::default(),
            )
            .await?
        }
    };
    if !ns.auto_create_repo {
        return Ok(None);
    }
    let repository = insert(
        &mut tx,
        instance_id,
        &NewRepository {
            namespace,
            name,
            repo_type: &ns.default_repo_type,
            summary: "",
            detail: "",
            tag_immutability: false,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(repository))
}

/// A repository by namespace and name.
pub async fn get_repository(
    db: &Db,
    instance_id: &str,
    namespace: &str,
    name: &str,
) -> Result<Option<Repository>, ControlError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM cr_repositories WHERE instance_id = $1 AND namespace = $2 AND name = $3"
    )))
    .bind(instance_id)
    .bind(namespace)
    .bind(name)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.as_ref().map(Repository::from_row).transpose()?)
}

/// A repository by id, within an instance.
pub async fn get_repository_by_id(
    db: &Db,
    instance_id: &str,
    repo_id: &str,
) -> Result<Option<Repository>, ControlError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM cr_repositories WHERE instance_id = $1 AND repo_id = $2"
    )))
    .bind(instance_id)
    .bind(repo_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.as_ref().map(Repository::from_row).transpose()?)
}

/// An instance's repositories, by namespace then name, optionally within
/// one namespace or with one name; `page_no` from 1. Returns the page and
/// the total.
pub async fn list_repositories(
    db: &Db,
    instance_id: &str,
    namespace: Option<&str>,
    name: Option<&str>,
    page_no: i64,
    page_size: i64,
) -> Result<(Vec<Repository>, i64), ControlError> {
    let ns = namespace.unwrap_or("");
    let nm = name.unwrap_or("");
    let filter = "instance_id = $1 AND ($2 = '' OR namespace = $2) AND ($3 = '' OR name = $3)";
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM cr_repositories WHERE {filter}"
    )))
    .bind(instance_id)
    .bind(ns)
    .bind(nm)
    .fetch_one(db.pool())
    .await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM cr_repositories WHERE {filter}
         ORDER BY namespace, name LIMIT $4 OFFSET $5"
    )))
    .bind(instance_id)
    .bind(ns)
    .bind(nm)
    .bind(page_size)
    .bind(page_size.saturating_mul(page_no.saturating_sub(1)))
    .fetch_all(db.pool())
    .await?;
    let list = rows
        .iter()
        .map(Repository::from_row)
        .collect::<Result<_, _>>()?;
    Ok((list, total))
}

/// What `UpdateRepository` may change.
#[derive(Debug, Clone, Copy, Default)]
pub struct RepositoryUpdate<'a> {
    pub repo_type: Option<&'a str>,
    pub summary: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub tag_immutability: Option<bool>,
}

/// `UpdateRepository`.
pub async fn update_repository(
    db: &Db,
    instance_id: &str,
    repo_id: &str,
    update: RepositoryUpdate<'_>,
) -> Result<Repository, ControlError> {
    let kind = update
        .repo_type
        .map(|t| repo_type(t, "RepoType"))
        .transpose()?;
    if update.summary.is_some_and(|s| s.chars().count() > 100) {
        return Err(ControlError::invalid("Summary", "at most 100 characters"));
    }
    let mut tx = db.begin_write().await?;
    let done = sqlx::query(
        "UPDATE cr_repositories SET
            repo_type = COALESCE($3, repo_type),
            summary = COALESCE($4, summary),
            detail = COALESCE($5, detail),
            tag_immutability = COALESCE($6, tag_immutability),
            updated_at = $7
         WHERE instance_id = $1 AND repo_id = $2",
    )
    .bind(instance_id)
    .bind(repo_id)
    .bind(kind)
    .bind(update.summary)
    .bind(update.detail)
    .bind(update.tag_immutability.map(i64::from))
    .bind(now_seconds())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ControlError::not_found(Thing::Repository, repo_id));
    }
    tx.commit().await?;
    get_repository_by_id(db, instance_id, repo_id)
        .await?
        .ok_or_else(|| ControlError::not_found(Thing::Repository, repo_id))
}

/// `DeleteRepository`: the repository and everything in it (tags,
/// manifests, blob links, upload sessions). Blob bytes stay in the blob
/// store until garbage collection finds nothing refers to them.
pub async fn delete_repository(
    db: &Db,
    instance_id: &str,
    repo_id: &str,
) -> Result<(), ControlError> {
    let mut tx = db.begin_write().await?;
    let present =
        sqlx::query("SELECT repo_id FROM cr_repositories WHERE instance_id = $1 AND repo_id = $2")
            .bind(instance_id)
            .bind(repo_id)
            .fetch_optional(&mut *tx)
            .await?;
    if present.is_none() {
        return Err(ControlError::not_found(Thing::Repository, repo_id));
    }
    for table in [
        "cr_tags",
        "cr_manifest_refs",
        "cr_manifests",
        "cr_repo_blobs",
        "cr_uploads",
        "cr_repositories",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE repo_id = $1"
        )))
        .bind(repo_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
