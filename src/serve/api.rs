//! The JSON API under `/api/` (described by [`OPENAPI`], served at `/api/openapi.json`).
//! Handlers parse parameters themselves (a bad one is a 400 `{error}`, never a panic or a
//! plain-text rejection) and run the store and index work on the blocking pool.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;

use super::params::{self, QueueFilter};
use super::view;
use super::{ApiError, AppState, blocking};

/// The OpenAPI 3 description of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The API routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/search", get(search))
        .route("/api/hits", get(hits))
        .route("/api/hits/{id}", get(hit))
        .route("/api/hits/{id}/triage", post(triage))
        .route("/api/watchlist", get(watchlist))
        .route("/api/sources", get(sources))
        .route("/api/{*rest}", get(not_found).post(not_found))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such API endpoint (see /api/openapi.json)")
}

/// A hit id from the path: a positive integer.
pub fn hit_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        ApiError::bad_request(format!("hit id must be a positive integer, not {raw:?}"))
    })
}

async fn search(
    State(state): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    let p = params::api_params(q.as_deref());
    let request = params::search_request(&p)?;
    let out = super::search::run(state, request).await?;
    Ok(Json(out))
}

async fn hits(
    State(state): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    let p = params::api_params(q.as_deref());
    let filter = QueueFilter::from_params(&p)?;
    let out = blocking(move || view::queue(&state, &filter)).await?;
    Ok(Json(out))
}

async fn hit(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = hit_id(&id)?;
    let out = blocking(move || view::detail(&state, id)).await?;
    Ok(Json(out))
}

/// The body of `POST /api/hits/{id}/triage`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageBody {
    /// The new status.
    pub status: String,
    /// A note for the history.
    #[serde(default)]
    pub note: Option<String>,
}

/// Longest note kept, in characters (as the OpenAPI `maxLength` counts them).
pub const MAX_NOTE: usize = 4000;

/// Validates and applies a triage update; returns the new hit and its history.
pub fn apply_triage(
    state: &AppState,
    id: i64,
    status: &str,
    note: Option<&str>,
) -> Result<serde_json::Value, ApiError> {
    state.check_writable()?;
    let status = params::status_param(status.trim())?;
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(ApiError::bad_request(format!(
            "the note is longer than {MAX_NOTE} characters"
        )));
    }
    state.store.set_status(id, &status, note)?;
    let hit = state
        .store
        .hit(id)?
        .ok_or_else(|| ApiError::not_found(format!("no hit with id {id}")))?;
    let history = state.store.triage(id)?;
    Ok(serde_json::json!({ "hit": hit, "history": history }))
}

async fn triage(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let id = hit_id(&id)?;
    let body: TriageBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be JSON {{\"status\": \"…\", \"note\": \"…\"}}: {e}"
        ))
    })?;
    let out =
        blocking(move || apply_triage(&state, id, &body.status, body.note.as_deref())).await?;
    Ok(Json(out))
}

async fn watchlist(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    Json(view::watchlist(&state))
}

async fn sources(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, ApiError> {
    let out = blocking(move || view::sources(&state)).await?;
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_file_is_json_and_lists_every_route() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        for path in [
            "/api/search",
            "/api/hits",
            "/api/hits/{id}",
            "/api/hits/{id}/triage",
            "/api/watchlist",
            "/api/sources",
            "/api/openapi.json",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
        }
    }

    #[test]
    fn the_openapi_file_states_the_limits_and_categories_in_force() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        let param = |path: &str, name: &str| {
            doc["paths"][path]["get"]["parameters"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == name))
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(
            param("/api/search", "q")["schema"]["maxLength"].as_u64(),
            Some(crate::index::limits::MAX_QUERY_CHARS as u64)
        );
        let categories = serde_json::json!(params::categories());
        assert_eq!(
            param("/api/search", "category")["schema"]["enum"],
            categories
        );
        assert_eq!(param("/api/hits", "category")["schema"]["enum"], categories);
        let triage = &doc["paths"]["/api/hits/{id}/triage"]["post"]["responses"];
        assert!(triage["413"].is_object() && triage["403"].is_object());
    }

    #[test]
    fn hit_ids_are_positive_integers() {
        assert_eq!(hit_id("12"), Ok(12));
        assert!(hit_id("-1").is_err());
        assert!(hit_id("1x").is_err());
    }
}
