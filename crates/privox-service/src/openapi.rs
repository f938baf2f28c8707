//! The OpenAPI 3.1 document, generated from the handlers' annotations and
//! the API types. Served at `/v1/openapi.json`; committed as
//! `docs/api/openapi.json` (a test fails when they drift).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::*;
use crate::problem::Problem;
use crate::server as s;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Tenant API token (pvx_…), shown once by `privox serve admin token create`",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "privox service",
        description = "Encrypted inference (CKKS), hashed classification (SMH) and Secure Joint Learning. Binary bodies are privox-format envelopes; errors are RFC 9457 problem+json with a stable `code`.",
        version = "1"
    ),
    paths(
        s::health, s::ready, s::catalogue, s::model_info, s::model_file, s::upload_keys,
        s::infer, s::infer_batch, s::federation_info, s::contribute, s::train, s::versions,
        s::stats, s::classify
    ),
    components(schemas(
        Health, CkksInfo, ModelEntry, SmhInfo, FederationEntry, Catalogue, KeysUploaded,
        ContributionAck, ModelVersion, Versions, PartyStats, Stats, Prediction, Classification,
        Problem
    )),
    modifiers(&Bearer)
)]
struct ApiDoc;

/// The document as pretty JSON (what `/v1/openapi.json` serves).
pub fn document_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
