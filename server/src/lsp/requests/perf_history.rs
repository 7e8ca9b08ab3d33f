//! `codecontext/perfHistory {symbol | test, limit?}`: a symbol's verifications or a
//! test's durations, newest first, from InfluxDB when configured, else the folders'
//! stores.

use codecontext_workspace::perf::{point_json, PerfOf};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::Result;

use super::{invalid, rpc_error, Backend};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PerfParams {
    #[serde(default)]
    symbol: Option<String>,
    #[serde(default)]
    test: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

pub(super) async fn perf_history(backend: &Backend, params: Value) -> Result<Value> {
    let params: PerfParams = serde_json::from_value(params)
        .map_err(|e| invalid(format!("codecontext.perfHistory: {e}")))?;
    let of = match (params.symbol, params.test) {
        (Some(symbol), None) => PerfOf::Symbol(symbol),
        (None, Some(test)) => PerfOf::Test(test),
        _ => return Err(invalid("codecontext.perfHistory: give a symbol or a test")),
    };
    let points = backend
        .shared
        .ws
        .perf_history(of, params.limit.unwrap_or(50))
        .await
        .map_err(rpc_error)?;
    let points: Vec<Value> = points.into_iter().map(point_json).collect();
    Ok(json!({ "points": points }))
}
