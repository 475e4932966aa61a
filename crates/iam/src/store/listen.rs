//! PostgreSQL only: hear other nodes' writes.
//!
//! Every write transaction ends with `NOTIFY rampart_iam`, which PostgreSQL
//! delivers to every listening session when (and only if) the transaction
//! commits. This task holds one such session and bumps the store's
//! generation for each notification, so compiled policy sets built before
//! the write are rebuilt on their next use: a detach on one node takes
//! effect on every node within the notification's delivery time
//! (milliseconds on a healthy network).
//!
//! If the session drops, notifications sent meanwhile are lost. From the
//! moment the task notices until it is listening again, the cache is not
//! trusted at all (every decision reloads from the database), and the
//! generation is bumped on both edges, so nothing built while blind
//! outlives the outage.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;

use super::{Changes, NOTIFY_CHANNEL};
use crate::error::{IamError, Result};

async fn connect(url: &str) -> Result<PgListener> {
    let mut listener = PgListener::connect(url)
        .await
        .map_err(|e| IamError::internal_from("connecting the change listener", e))?;
    listener
        .listen(NOTIFY_CHANNEL)
        .await
        .map_err(|e| IamError::internal_from("listening for changes", e))?;
    Ok(listener)
}

pub(crate) async fn spawn(url: &str, changes: Arc<Changes>) -> Result<JoinHandle<()>> {
    let mut listener = connect(url).await?;
    let url = url.to_string();
    Ok(tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(_notification)) => changes.bump(),
                // Ok(None): the connection was lost. Err: it failed.
                Ok(None) | Err(_) => {
                    changes.set_trusted(false);
                    changes.bump();
                    listener = loop {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                        if let Ok(fresh) = connect(&url).await {
                            break fresh;
                        }
                    };
                    changes.bump();
                    changes.set_trusted(true);
                }
            }
        }
    }))
}
