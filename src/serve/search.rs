//! Running a search for the API and the page under a budget: the budget covers waiting for
//! a turn and the search itself, which stops at its deadline inside Tantivy's scoring loop
//! (`index::deadline`) and keeps its turn until it has stopped, so at most one search per
//! core (at most 4) is ever running, whatever arrives.

use std::sync::Arc;
use std::time::Duration;

use super::{ApiError, AppState, view};
use crate::index::IndexError;
use crate::index::search::{Deadline, SearchRequest};

/// How long past its budget a search's answer is awaited before the request is answered 503
/// (the budget is enforced inside the search; this covers the steps it cannot interrupt).
const GRACE: Duration = Duration::from_secs(1);

/// Runs a search with facets for the API and the page: at most one per core at once, under
/// the state's time budget (waiting for a turn counts against it). Answers 503 when the
/// budget runs out; the search itself stops at its deadline, and keeps its turn until it has.
pub async fn run(
    state: Arc<AppState>,
    request: SearchRequest,
) -> Result<view::SearchView, ApiError> {
    let budget = state.search_budget;
    let deadline = Deadline::after(budget);
    let turn = tokio::time::timeout(budget, Arc::clone(&state.searches).acquire_owned()).await;
    let Ok(Ok(permit)) = turn else {
        return Err(ApiError::unavailable(format!(
            "too many searches are running: none finished within the search budget ({} ms); try again shortly",
            budget.as_millis()
        )));
    };
    let work = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        view::search(&state, &request, &deadline)
    });
    match tokio::time::timeout(budget.saturating_add(GRACE), work).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(ApiError::internal(format!("a search worker failed: {e}"))),
        Err(_) => Err(ApiError::from(IndexError::TimedOut { budget })),
    }
}
