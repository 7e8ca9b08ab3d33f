//! `codecontext/rules {paths?, limit?}` (or no params): the project's rules checked over
//! its files, not only the open documents (which get them as diagnostics): each hit with
//! its `uri` and LSP `range`, rule, severity, message and fix; the rule files that do not
//! load, as `file:line: why`. Cancellable; `truncated` at `limit` or the budget.

use codecontext_analysis::cancel;
use codecontext_workspace::{blocking::cancellable, rules::RulesRequest, search::Point};
use serde_json::Value;
use tower_lsp_server::{
    jsonrpc::Result,
    lsp_types::{Position, Range, Uri},
    UriExt,
};

use super::{finished, invalid, Backend};

pub(super) async fn rules(backend: &Backend, params: Value) -> Result<Value> {
    let mut request: RulesRequest = if params.is_null() {
        RulesRequest::default()
    } else {
        serde_json::from_value(params).map_err(|e| invalid(format!("codecontext.rules: {e}")))?
    };
    let shared = backend.shared.clone();
    shared.caught_up(None).await;
    request.encoding = Some(shared.session().encoding);
    let ws = shared.ws.clone();
    let budget = ws.settings().request_budget();
    let ended = cancellable(move || cancel::within(budget, || ws.scan_rules(&request)).0).await;
    let answer = finished("codecontext/rules", ended)?;
    let mut value = serde_json::to_value(&answer).map_err(|e| invalid(e.to_string()))?;
    let position = |p: Point| Position::new(p.line.saturating_sub(1), p.column.saturating_sub(1));
    if let Some(list) = value.get_mut("hits").and_then(Value::as_array_mut) {
        for (json, hit) in list.iter_mut().zip(&answer.hits) {
            json["uri"] = serde_json::to_value(Uri::from_file_path(&hit.file)).unwrap_or_default();
            json["range"] =
                serde_json::to_value(Range::new(position(hit.start), position(hit.end)))
                    .unwrap_or_default();
        }
    }
    Ok(value)
}
