//! The one table of custom methods: each is a request (`codecontext/...`), the same as a
//! `workspace/executeCommand` command (`codecontext....`), and advertised in the
//! capabilities (the commands, and `experimental`). Adding a method is a row here and a
//! file beside this one.

use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;

use super::Backend;

type Handler = for<'a> fn(&'a Backend, Value) -> codecontext_store::BoxFuture<'a, Result<Value>>;

/// How many arguments a command takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arguments {
    /// Exactly one: the request's params.
    One,
    /// None (the params are `null`) or one.
    AtMostOne,
}

pub(crate) struct CustomMethod {
    /// The request's method name.
    pub request: &'static str,
    /// The command's name in `workspace/executeCommand`.
    pub command: &'static str,
    pub arguments: Arguments,
    /// Said when a command comes with the wrong number of arguments.
    pub usage: &'static str,
    pub handler: Handler,
}

pub(crate) const METHODS: &[CustomMethod] = &[
    CustomMethod {
        request: "codecontext/execute",
        command: "codecontext.execute",
        arguments: Arguments::One,
        usage: "codecontext.execute takes one argument: {language, code, ...}",
        handler: |backend, params| Box::pin(super::execute::execute(backend, params)),
    },
    CustomMethod {
        request: "codecontext/verify",
        command: "codecontext.verify",
        arguments: Arguments::One,
        usage: "codecontext.verify takes one argument: {edit, tests?, ...}",
        handler: |backend, params| Box::pin(super::verify::verify(backend, params)),
    },
    CustomMethod {
        request: "codecontext/history",
        command: "codecontext.history",
        arguments: Arguments::AtMostOne,
        usage: "codecontext.history takes at most one argument: {symbol} or {file}",
        handler: |backend, params| Box::pin(super::history::history(backend, params)),
    },
    CustomMethod {
        request: "codecontext/perfHistory",
        command: "codecontext.perfHistory",
        arguments: Arguments::One,
        usage: "codecontext.perfHistory takes one argument: {symbol} or {test}",
        handler: |backend, params| Box::pin(super::perf_history::perf_history(backend, params)),
    },
    CustomMethod {
        request: "codecontext/callers",
        command: "codecontext.callers",
        arguments: Arguments::One,
        usage: "codecontext.callers takes one argument: {symbol, direction?, depth?}",
        handler: |backend, params| Box::pin(super::callers::callers(backend, params)),
    },
    CustomMethod {
        request: "codecontext/context",
        command: "codecontext.context",
        arguments: Arguments::One,
        usage: "codecontext.context takes one argument: {position? | symbols? | files? | diff? | task?, budget?, map?}",
        handler: |backend, params| Box::pin(super::context::context(backend, params)),
    },
    CustomMethod {
        request: "codecontext/assess",
        command: "codecontext.assess",
        arguments: Arguments::One,
        usage: "codecontext.assess takes one argument: {edit, root?}",
        handler: |backend, params| Box::pin(super::assess::assess(backend, params)),
    },
    CustomMethod {
        request: "codecontext/report",
        command: "codecontext.report",
        arguments: Arguments::AtMostOne,
        usage: "codecontext.report takes at most one argument: {root?, out?}",
        handler: |backend, params| Box::pin(super::report::report(backend, params)),
    },
    CustomMethod {
        request: "codecontext/search",
        command: "codecontext.search",
        arguments: Arguments::One,
        usage: "codecontext.search takes one argument: {lang, pattern | rule | query, paths?, limit?}",
        handler: |backend, params| Box::pin(super::search::search(backend, params)),
    },
    CustomMethod {
        request: "codecontext/rules",
        command: "codecontext.rules",
        arguments: Arguments::AtMostOne,
        usage: "codecontext.rules takes at most one argument: {paths?, limit?}",
        handler: |backend, params| Box::pin(super::rules::rules(backend, params)),
    },
    CustomMethod {
        request: "codecontext/usages",
        command: "codecontext.usages",
        arguments: Arguments::One,
        usage: "codecontext.usages takes one argument: {symbol} or {position} or {textDocument, position}",
        handler: |backend, params| Box::pin(super::usages::usages(backend, params)),
    },
    CustomMethod {
        request: "codecontext/recall",
        command: "codecontext.recall",
        arguments: Arguments::AtMostOne,
        usage: "codecontext.recall takes at most one argument: {symbol} or {file} or {query}",
        handler: |backend, params| Box::pin(super::memory::recall(backend, params)),
    },
    CustomMethod {
        request: "codecontext/remember",
        command: "codecontext.remember",
        arguments: Arguments::One,
        usage: "codecontext.remember takes one argument: {kind, text, rationale?, symbols?, files?, supersedes?}",
        handler: |backend, params| Box::pin(super::memory::remember(backend, params)),
    },
    CustomMethod {
        request: "codecontext/forget",
        command: "codecontext.forget",
        arguments: Arguments::One,
        usage: "codecontext.forget takes one argument: {id, reason?}",
        handler: |backend, params| Box::pin(super::memory::forget(backend, params)),
    },
    CustomMethod {
        request: "codecontext/feedback",
        command: "codecontext.feedback",
        arguments: Arguments::One,
        usage: "codecontext.feedback takes one argument: {about, verdict, reason?}",
        handler: |backend, params| Box::pin(super::memory::feedback(backend, params)),
    },
];

/// The method a command names.
pub(crate) fn by_command(command: &str) -> Option<&'static CustomMethod> {
    METHODS.iter().find(|m| m.command == command)
}
