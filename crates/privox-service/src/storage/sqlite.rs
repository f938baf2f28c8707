//! Embedded SQLite backend: WAL + `synchronous=FULL`, every call on tokio's
//! blocking pool (never on the async workers).

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    Federation, JointModel, ModelInfo, NewContribution, PartyCounts, Stored, StoredContribution,
    Tenant, accumulate, now, parse_ids, render,
};
use crate::error::{Result, ServiceError};

/// A SQLite database file.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation
    )
}

impl SqliteStore {
    /// Opens or creates the database and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let path = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection> {
            let mut conn = Connection::open(&path)
                .map_err(|e| ServiceError::Setup(format!("cannot open {}: {e}", path.display())))?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            // WAL: readers do not block the writer; FULL: a commit is on disk
            // (WAL fsynced) before it returns, so acknowledged = durable.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            migrate(&mut conn)?;
            Ok(conn)
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave SQLite inconsistent
            // (transactions roll back on drop), so a poisoned lock is usable.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
    }

    pub(crate) async fn ping(&self) -> Result<()> {
        self.run(|c| {
            c.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        let name = name.to_string();
        self.run(move |c| {
            match c.execute(
                "INSERT INTO tenants (name, created_at) VALUES (?1, ?2)",
                params![name, now()],
            ) {
                Ok(_) => Ok(Tenant {
                    id: c.last_insert_rowid(),
                    name,
                }),
                Err(e) if is_unique_violation(&e) => Err(ServiceError::Conflict(format!(
                    "tenant {name:?} already exists"
                ))),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    pub(crate) async fn tenant(&self, name: &str) -> Result<Option<Tenant>> {
        let name = name.to_string();
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT id, name FROM tenants WHERE name = ?1",
                [name],
                |r| {
                    Ok(Tenant {
                        id: r.get(0)?,
                        name: r.get(1)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    pub(crate) async fn tenants(&self) -> Result<Vec<Tenant>> {
        self.run(|c| {
            let mut st = c.prepare("SELECT id, name FROM tenants ORDER BY name")?;
            let rows = st
                .query_map([], |r| {
                    Ok(Tenant {
                        id: r.get(0)?,
                        name: r.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    pub(crate) async fn add_token(&self, hash: &str, tenant_id: i64, label: &str) -> Result<()> {
        let (hash, label) = (hash.to_string(), label.to_string());
        self.run(move |c| {
            c.execute(
                "INSERT INTO tokens (hash, tenant_id, label, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![hash, tenant_id, label, now()],
            )?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn tenant_for_token(&self, hash: &str) -> Result<Option<Tenant>> {
        let hash = hash.to_string();
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT t.id, t.name FROM tokens k JOIN tenants t ON t.id = k.tenant_id WHERE k.hash = ?1",
                [hash],
                |r| {
                    Ok(Tenant {
                        id: r.get(0)?,
                        name: r.get(1)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    pub(crate) async fn put_model(&self, info: &ModelInfo, bytes: &[u8]) -> Result<()> {
        let (info, bytes) = (info.clone(), bytes.to_vec());
        self.run(move |c| {
            c.execute(
                "INSERT INTO models (name, packing, plan_fingerprint, bytes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO UPDATE SET packing = excluded.packing,
                   plan_fingerprint = excluded.plan_fingerprint, bytes = excluded.bytes, created_at = excluded.created_at",
                params![info.name, info.packing, info.plan_fingerprint, bytes, now()],
            )?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn model(&self, name: &str) -> Result<Option<(ModelInfo, Vec<u8>)>> {
        let name = name.to_string();
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT name, packing, plan_fingerprint, bytes FROM models WHERE name = ?1",
                [name],
                |r| {
                    Ok((
                        ModelInfo {
                            name: r.get(0)?,
                            packing: r.get(1)?,
                            plan_fingerprint: r.get(2)?,
                        },
                        r.get(3)?,
                    ))
                },
            )
            .optional()?)
        })
        .await
    }

    pub(crate) async fn models(&self) -> Result<Vec<ModelInfo>> {
        self.run(|c| {
            let mut st =
                c.prepare("SELECT name, packing, plan_fingerprint FROM models ORDER BY name")?;
            let rows = st
                .query_map([], |r| {
                    Ok(ModelInfo {
                        name: r.get(0)?,
                        packing: r.get(1)?,
                        plan_fingerprint: r.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    pub(crate) async fn put_eval_keys(
        &self,
        tenant_id: i64,
        model: &str,
        fingerprint: &str,
        plan_fingerprint: &str,
        bytes: &[u8],
    ) -> Result<bool> {
        let (model, fp, plan_fp, bytes) = (
            model.to_string(),
            fingerprint.to_string(),
            plan_fingerprint.to_string(),
            bytes.to_vec(),
        );
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO eval_keys (fingerprint, plan_fingerprint, size, bytes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (fingerprint) DO NOTHING",
                params![fp, plan_fp, bytes.len() as i64, bytes, now()],
            )?;
            let n = tx.execute(
                "INSERT INTO tenant_keys (tenant_id, model, fingerprint, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
                params![tenant_id, model, fp, now()],
            )?;
            tx.commit()?;
            Ok(n == 1)
        })
        .await
    }

    pub(crate) async fn has_eval_keys(
        &self,
        tenant_id: i64,
        model: &str,
        fp: &str,
    ) -> Result<bool> {
        let (model, fp) = (model.to_string(), fp.to_string());
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT 1 FROM tenant_keys WHERE tenant_id = ?1 AND model = ?2 AND fingerprint = ?3",
                params![tenant_id, model, fp],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
        })
        .await
    }

    pub(crate) async fn eval_keys(
        &self,
        tenant_id: i64,
        model: &str,
        fp: &str,
    ) -> Result<Option<Vec<u8>>> {
        let (model, fp) = (model.to_string(), fp.to_string());
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT e.bytes FROM tenant_keys t JOIN eval_keys e ON e.fingerprint = t.fingerprint
                 WHERE t.tenant_id = ?1 AND t.model = ?2 AND t.fingerprint = ?3",
                params![tenant_id, model, fp],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    pub(crate) async fn create_federation(&self, f: &Federation) -> Result<()> {
        let f = f.clone();
        self.run(move |c| {
            let classes = serde_json::to_string(&f.classes)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            match c.execute(
                "INSERT INTO federations (name, k, delta, mpc, dim, key_id, classes, c, gamma, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    f.name, f.k as i64, f.delta, f.mpc as i64, f.dim as i64, f.key_id, classes, f.c,
                    f.gamma, now()
                ],
            ) {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => Err(ServiceError::Conflict(format!(
                    "federation {:?} already exists",
                    f.name
                ))),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    pub(crate) async fn federation(&self, name: &str) -> Result<Option<Federation>> {
        let name = name.to_string();
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT name, k, delta, mpc, dim, key_id, classes, c, gamma FROM federations WHERE name = ?1",
                [name],
                fed_row,
            )
            .optional()?)
        })
        .await
    }

    pub(crate) async fn add_member(&self, federation: &str, tenant_id: i64) -> Result<()> {
        let federation = federation.to_string();
        self.run(move |c| {
            c.execute(
                "INSERT INTO federation_members (federation, tenant_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![federation, tenant_id],
            )?;
            Ok(())
        })
        .await
    }

    pub(crate) async fn is_member(&self, federation: &str, tenant_id: i64) -> Result<bool> {
        let federation = federation.to_string();
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT 1 FROM federation_members WHERE federation = ?1 AND tenant_id = ?2",
                params![federation, tenant_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
        })
        .await
    }

    pub(crate) async fn federations_of(&self, tenant_id: i64) -> Result<Vec<Federation>> {
        self.run(move |c| {
            let mut st = c.prepare(
                "SELECT f.name, f.k, f.delta, f.mpc, f.dim, f.key_id, f.classes, f.c, f.gamma
                 FROM federations f JOIN federation_members m ON m.federation = f.name
                 WHERE m.tenant_id = ?1 ORDER BY f.name",
            )?;
            let rows = st
                .query_map([tenant_id], fed_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    pub(crate) async fn put_contribution(&self, n: &NewContribution<'_>) -> Result<Stored> {
        let (fed, key, sha, counts, bytes) = (
            n.federation.to_string(),
            n.idem_key.to_string(),
            n.body_sha256.to_string(),
            n.label_counts.to_string(),
            n.bytes.to_vec(),
        );
        let (tenant_id, n_codes) = (n.tenant_id, n.n_codes);
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing: Option<(i64, String)> = tx
                .query_row(
                    "SELECT id, body_sha256 FROM contributions WHERE federation = ?1 AND tenant_id = ?2 AND idem_key = ?3",
                    params![fed, tenant_id, key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((id, old)) = existing {
                return if old == sha {
                    Ok(Stored::Existing(id))
                } else {
                    Err(ServiceError::Conflict(format!(
                        "idempotency id {key:?} was already used for another body"
                    )))
                };
            }
            tx.execute(
                "INSERT INTO contributions (federation, tenant_id, idem_key, body_sha256, n_codes, label_counts, bytes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![fed, tenant_id, key, sha, n_codes, counts, bytes, now()],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(Stored::Created(id))
        })
        .await
    }

    pub(crate) async fn contributions(&self, federation: &str) -> Result<Vec<StoredContribution>> {
        let federation = federation.to_string();
        self.run(move |c| {
            // One statement: one consistent snapshot in WAL mode.
            let mut st = c.prepare(
                "SELECT c.id, t.name, c.idem_key, c.bytes FROM contributions c JOIN tenants t ON t.id = c.tenant_id
                 WHERE c.federation = ?1 ORDER BY t.name, c.idem_key",
            )?;
            let rows = st
                .query_map([federation], |r| {
                    Ok(StoredContribution {
                        id: r.get(0)?,
                        tenant: r.get(1)?,
                        idem_key: r.get(2)?,
                        bytes: r.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    pub(crate) async fn party_counts(&self, federation: &str) -> Result<Vec<PartyCounts>> {
        let federation = federation.to_string();
        self.run(move |c| {
            let mut st = c.prepare(
                "SELECT t.name, c.label_counts FROM contributions c JOIN tenants t ON t.id = c.tenant_id
                 WHERE c.federation = ?1",
            )?;
            let rows = st
                .query_map([federation], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<(String, String)>>>()?;
            Ok(accumulate(rows))
        })
        .await
    }

    pub(crate) async fn put_joint_model(
        &self,
        federation: &str,
        n_codes: i64,
        ids: &[i64],
        fingerprint: &str,
        bytes: &[u8],
    ) -> Result<i64> {
        let (fed, fp, bytes) = (
            federation.to_string(),
            fingerprint.to_string(),
            bytes.to_vec(),
        );
        let ids = serde_json::to_string(ids).map_err(|e| ServiceError::Internal(e.to_string()))?;
        self.run(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let v: i64 = tx.query_row(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM joint_models WHERE federation = ?1",
                [&fed],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO joint_models (federation, version, n_codes, contribution_ids, fingerprint, bytes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![fed, v, n_codes, ids, fp, bytes, now()],
            )?;
            tx.commit()?;
            Ok(v)
        })
        .await
    }

    pub(crate) async fn latest_joint_model(&self, federation: &str) -> Result<Option<JointModel>> {
        let federation = federation.to_string();
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT federation, version, n_codes, contribution_ids, fingerprint, bytes FROM joint_models
                 WHERE federation = ?1 ORDER BY version DESC LIMIT 1",
                [federation],
                |r| {
                    Ok(JointModel {
                        federation: r.get(0)?,
                        version: r.get(1)?,
                        n_codes: r.get(2)?,
                        contribution_ids: parse_ids(&r.get::<_, String>(3)?),
                        fingerprint: r.get(4)?,
                        bytes: r.get(5)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    pub(crate) async fn latest_version(&self, federation: &str) -> Result<Option<i64>> {
        let federation = federation.to_string();
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT MAX(version) FROM joint_models WHERE federation = ?1",
                [federation],
                |r| r.get(0),
            )?)
        })
        .await
    }

    pub(crate) async fn joint_models(&self, federation: &str) -> Result<Vec<JointModel>> {
        let federation = federation.to_string();
        self.run(move |c| {
            let mut st = c.prepare(
                "SELECT federation, version, n_codes, contribution_ids, fingerprint FROM joint_models
                 WHERE federation = ?1 ORDER BY version",
            )?;
            let rows = st
                .query_map([federation], |r| {
                    Ok(JointModel {
                        federation: r.get(0)?,
                        version: r.get(1)?,
                        n_codes: r.get(2)?,
                        contribution_ids: parse_ids(&r.get::<_, String>(3)?),
                        fingerprint: r.get(4)?,
                        bytes: Vec::new(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}

fn fed_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Federation> {
    let classes: String = r.get(6)?;
    Ok(Federation {
        name: r.get(0)?,
        k: r.get::<_, i64>(1)? as u32,
        delta: r.get(2)?,
        mpc: r.get::<_, i64>(3)? as u64,
        dim: r.get::<_, i64>(4)? as u64,
        key_id: r.get(5)?,
        classes: serde_json::from_str(&classes).unwrap_or_default(),
        c: r.get(7)?,
        gamma: r.get(8)?,
    })
}

fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let done: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    for (i, m) in super::MIGRATIONS.iter().enumerate() {
        let v = i as i64 + 1;
        if v <= done {
            continue;
        }
        tx.execute_batch(&render(m, "INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![v, now()],
        )?;
    }
    tx.commit()?;
    Ok(())
}
