//! Operator actions (`privox serve admin …`), run directly against the
//! storage: no admin endpoint exists on the network.

use privox_cryptonet::{Packing, Plan};
use privox_nn::NnModel;
use zeroize::Zeroizing;

use crate::auth::{check_name, new_token};
use crate::error::{Result, ServiceError};
use crate::joint;
use crate::storage::{Federation, ModelInfo, Storage, Tenant};

/// Creates a tenant.
pub async fn create_tenant(s: &Storage, name: &str) -> Result<Tenant> {
    check_name("tenant", name)?;
    s.create_tenant(name).await
}

/// Creates an API token for a tenant: returned once, stored as its SHA-256.
pub async fn create_token(s: &Storage, tenant: &str, label: &str) -> Result<Zeroizing<String>> {
    check_name("tenant", tenant)?;
    let t = s
        .tenant(tenant)
        .await?
        .ok_or_else(|| ServiceError::NotFound {
            what: "tenant",
            name: tenant.into(),
        })?;
    let label: String = label
        .chars()
        .filter(|c| !c.is_control())
        .take(128)
        .collect();
    let (token, hash) = new_token()?;
    s.add_token(&hash, t.id, &label).await?;
    Ok(token)
}

/// Publishes (or replaces) an HE model (`privox nn train` output) under a
/// name, for a packing. Refused when the planner cannot fit it at 128 bits.
pub async fn publish_model(
    s: &Storage,
    name: &str,
    model_bytes: &[u8],
    packing: Packing,
) -> Result<ModelInfo> {
    check_name("model", name)?;
    let model =
        NnModel::from_bytes(model_bytes).map_err(|e| ServiceError::NotAModel(Box::new(e)))?;
    let plan = Plan::new(&model, packing).map_err(|e| ServiceError::Unplannable(Box::new(e)))?;
    let info = ModelInfo {
        name: name.to_string(),
        packing: packing.name().to_string(),
        plan_fingerprint: plan.fingerprint().to_hex(),
    };
    s.put_model(&info, model_bytes).await?;
    Ok(info)
}

/// Creates a federation (its code space is checked) and adds members.
pub async fn create_federation(s: &Storage, f: &Federation, members: &[String]) -> Result<()> {
    check_name("federation", &f.name)?;
    joint::code_space(f)?;
    if f.classes.len() < 2 {
        return Err(ServiceError::InvalidFederation(
            "a federation needs at least 2 classes",
        ));
    }
    for c in &f.classes {
        if c.is_empty() || c.len() > 64 || c.chars().any(|ch| ch.is_control() || ch == ',') {
            return Err(ServiceError::BadClassName(c.clone()));
        }
    }
    if !(f.c.is_finite() && f.c > 0.0 && f.gamma.is_finite() && f.gamma > 0.0) {
        return Err(ServiceError::InvalidFederation(
            "C and gamma must be positive",
        ));
    }
    let mut ids = Vec::new();
    for m in members {
        check_name("tenant", m)?;
        ids.push(s.tenant(m).await?.ok_or_else(|| ServiceError::NotFound {
            what: "tenant",
            name: m.clone(),
        })?);
    }
    s.create_federation(f).await?;
    for t in ids {
        s.add_member(&f.name, t.id).await?;
    }
    Ok(())
}

/// Adds a member to a federation.
pub async fn add_member(s: &Storage, federation: &str, tenant: &str) -> Result<()> {
    check_name("federation", federation)?;
    check_name("tenant", tenant)?;
    s.federation(federation)
        .await?
        .ok_or_else(|| ServiceError::NotFound {
            what: "federation",
            name: federation.into(),
        })?;
    let t = s
        .tenant(tenant)
        .await?
        .ok_or_else(|| ServiceError::NotFound {
            what: "tenant",
            name: tenant.into(),
        })?;
    s.add_member(federation, t.id).await
}
