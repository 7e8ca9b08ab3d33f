//! `workspace/executeCommand`: the custom methods by their command names, with the
//! request's params as the one argument.

use tower_lsp_server::{
    jsonrpc::Result,
    lsp_types::{ExecuteCommandParams, LSPAny},
};

use super::{
    custom::{self, Arguments},
    invalid, Backend,
};

pub(super) async fn execute_command(
    backend: &Backend,
    params: ExecuteCommandParams,
) -> Result<Option<LSPAny>> {
    let Some(method) = custom::by_command(&params.command) else {
        return Err(invalid(format!("unknown command `{}`", params.command)));
    };
    let argument = match <[LSPAny; 1]>::try_from(params.arguments) {
        Ok([argument]) => argument,
        Err(none) if none.is_empty() && method.arguments == Arguments::AtMostOne => LSPAny::Null,
        Err(_) => return Err(invalid(method.usage)),
    };
    (method.handler)(backend, argument).await.map(Some)
}
