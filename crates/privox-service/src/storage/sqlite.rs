//! Embedded SQLite backend: WAL + `synchronous=FULL`, every call on tokio's
//! blocking pool (never on the async workers).

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, Params, Row, TransactionBehavior, params};

use super::{
    Cols, Federation, JointModel, ModelInfo, NewContribution, PartyCounts, Stored,
    StoredContribution, Tenant, accumulate, already_exists, contribution_row, federation_row,
    idempotency_reused, joint_model_row, model_row, model_with_bytes_row, now, render, tenant_row,
    to_json,
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

impl Cols for Row<'_> {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.get(i)?)
    }
    fn real(&self, i: usize) -> Result<f64> {
        Ok(self.get(i)?)
    }
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.get(i)?)
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>> {
        Ok(self.get(i)?)
    }
}

/// Every row of a query, each built by `f`.
fn all<T>(
    c: &Connection,
    sql: &str,
    p: impl Params,
    f: impl Fn(&dyn Cols) -> Result<T>,
) -> Result<Vec<T>> {
    let mut st = c.prepare(sql)?;
    let mut rows = st.query(p)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(f(r)?);
    }
    Ok(out)
}

/// The first row of a query, if any, built by `f`.
fn first<T>(
    c: &Connection,
    sql: &str,
    p: impl Params,
    f: impl Fn(&dyn Cols) -> Result<T>,
) -> Result<Option<T>> {
    let mut st = c.prepare(sql)?;
    let mut rows = st.query(p)?;
    rows.next()?.map(|r| f(r)).transpose()
}

impl SqliteStore {
    /// Opens or creates the database and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let path = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection> {
            let mut conn = Connection::open(&path)
                .map_err(|source| ServiceError::OpenDatabase { path, source })?;
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
        .map_err(ServiceError::Worker)??;
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
        .map_err(ServiceError::Worker)?
    }

    /// [`first`] on the blocking pool.
    async fn query_first<T: Send + 'static>(
        &self,
        sql: &'static str,
        p: impl Params + Send + 'static,
        f: fn(&dyn Cols) -> Result<T>,
    ) -> Result<Option<T>> {
        self.run(move |c| first(c, sql, p, f)).await
    }

    /// [`all`] on the blocking pool.
    async fn query_all<T: Send + 'static>(
        &self,
        sql: &'static str,
        p: impl Params + Send + 'static,
        f: fn(&dyn Cols) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.run(move |c| all(c, sql, p, f)).await
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
                Err(e) if is_unique_violation(&e) => Err(already_exists("tenant", &name)),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    pub(crate) async fn tenant(&self, name: &str) -> Result<Option<Tenant>> {
        self.query_first(
            "SELECT id, name FROM tenants WHERE name = ?1",
            [name.to_string()],
            tenant_row,
        )
        .await
    }

    pub(crate) async fn tenants(&self) -> Result<Vec<Tenant>> {
        self.query_all("SELECT id, name FROM tenants ORDER BY name", [], tenant_row)
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
        self.query_first(
                "SELECT t.id, t.name FROM tokens k JOIN tenants t ON t.id = k.tenant_id WHERE k.hash = ?1",
                [hash.to_string()],
                tenant_row,
            )
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
        self.query_first(
            "SELECT name, packing, plan_fingerprint, bytes FROM models WHERE name = ?1",
            [name.to_string()],
            model_with_bytes_row,
        )
        .await
    }

    pub(crate) async fn models(&self) -> Result<Vec<ModelInfo>> {
        self.query_all(
            "SELECT name, packing, plan_fingerprint FROM models ORDER BY name",
            [],
            model_row,
        )
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
            let classes = to_json(&f.classes)?;
            match c.execute(
                "INSERT INTO federations (name, k, delta, mpc, dim, key_id, classes, c, gamma, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    f.name, f.k as i64, f.delta, f.mpc as i64, f.dim as i64, f.key_id, classes, f.c,
                    f.gamma, now()
                ],
            ) {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => Err(already_exists("federation", &f.name)),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    pub(crate) async fn federation(&self, name: &str) -> Result<Option<Federation>> {
        self.query_first(
                "SELECT name, k, delta, mpc, dim, key_id, classes, c, gamma FROM federations WHERE name = ?1",
                [name.to_string()],
                federation_row,
            )
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
        self.query_all(
            "SELECT f.name, f.k, f.delta, f.mpc, f.dim, f.key_id, f.classes, f.c, f.gamma
                 FROM federations f JOIN federation_members m ON m.federation = f.name
                 WHERE m.tenant_id = ?1 ORDER BY f.name",
            [tenant_id],
            federation_row,
        )
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
                    Err(idempotency_reused(&key))
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
            all(
                c,
                "SELECT c.id, t.name, c.idem_key, c.bytes FROM contributions c JOIN tenants t ON t.id = c.tenant_id
                 WHERE c.federation = ?1 ORDER BY t.name, c.idem_key",
                [federation],
                contribution_row,
            )
        })
        .await
    }

    pub(crate) async fn party_counts(&self, federation: &str) -> Result<Vec<PartyCounts>> {
        let federation = federation.to_string();
        self.run(move |c| {
            let rows = all(
                c,
                "SELECT t.name, c.label_counts FROM contributions c JOIN tenants t ON t.id = c.tenant_id
                 WHERE c.federation = ?1",
                [federation],
                |r| Ok((r.text(0)?, r.text(1)?)),
            )?;
            accumulate(rows)
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
        let ids = to_json(&ids)?;
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
        self.query_first(
                "SELECT federation, version, n_codes, contribution_ids, fingerprint, bytes FROM joint_models
                 WHERE federation = ?1 ORDER BY version DESC LIMIT 1",
                [federation.to_string()],
                |r| joint_model_row(r, true),
            )
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
        self.query_all(
            "SELECT federation, version, n_codes, contribution_ids, fingerprint FROM joint_models
                 WHERE federation = ?1 ORDER BY version",
            [federation.to_string()],
            |r| joint_model_row(r, false),
        )
        .await
    }
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
