//! The workspace's settings, from a client's JSON (the LSP server's
//! `initializationOptions` and `workspace/didChangeConfiguration`, either flat or under a
//! `codecontext` key) or built by the CLI.

use std::time::Duration;

use codecontext_analysis::Limits;
use serde::Deserialize;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Settings {
    /// Files larger than this many bytes are not parsed.
    pub max_file_size: u64,
    /// Time allowed to parse and extract one file, in milliseconds.
    pub parse_budget_ms: u64,
    /// At most this many results for `workspace/symbol`.
    pub workspace_symbol_limit: usize,
    /// Time a request's work may take, in milliseconds: past it, walks, searches and
    /// rankings stop and the answer is what they found, marked truncated. The default
    /// is [`DEFAULT_REQUEST_BUDGET_MS`], or `CODECONTEXT_REQUEST_BUDGET_MS`.
    pub request_budget_ms: u64,
    /// Publish syntax diagnostics.
    pub diagnostics: bool,
    /// Wait this long after the last change before publishing diagnostics.
    pub diagnostics_delay_ms: u64,
    /// Keep the index between sessions (in SQLite, see `storeHome`).
    pub persist: bool,
    /// Where the index databases live; default `CODECONTEXT_HOME`, else the user's
    /// cache directory.
    pub store_home: Option<String>,
    /// The team backends (see docs/configuration.md); read by `codecontext-config`
    /// together with the environment and the config files.
    pub storage: Option<Value>,
}

impl Default for Settings {
    fn default() -> Settings {
        let limits = Limits::default();
        Settings {
            max_file_size: limits.max_file_size,
            parse_budget_ms: limits.parse_budget.as_millis() as u64,
            workspace_symbol_limit: 256,
            request_budget_ms: std::env::var("CODECONTEXT_REQUEST_BUDGET_MS")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(DEFAULT_REQUEST_BUDGET_MS),
            diagnostics: true,
            diagnostics_delay_ms: 150,
            persist: true,
            store_home: None,
            storage: None,
        }
    }
}

/// A request's time budget unless set: long enough for any answer on a large project
/// (the slowest, a context ranking on 700k lines, takes well under a second), short
/// enough that an editor is never left waiting on one.
pub const DEFAULT_REQUEST_BUDGET_MS: u64 = 2000;

impl Settings {
    /// See [`Settings::request_budget_ms`].
    pub fn request_budget(&self) -> Duration {
        Duration::from_millis(self.request_budget_ms)
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_file_size: self.max_file_size,
            parse_budget: Duration::from_millis(self.parse_budget_ms.max(1)),
        }
    }

    /// Settings from a client's JSON: `null` keeps the defaults, unknown keys and wrong
    /// types are an error that names them.
    pub fn from_json(value: Option<&Value>) -> Result<Settings, SettingsError> {
        let value = match value {
            None | Some(Value::Null) => return Ok(Settings::default()),
            Some(v) => v.get("codecontext").unwrap_or(v),
        };
        Settings::deserialize(value).map_err(SettingsError)
    }
}

/// Settings that do not read: an unknown key or a wrong type, named.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(serde_json::Error);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_flat_or_nested_and_names_bad_keys() {
        let s = Settings::from_json(Some(&json!({"maxFileSize": 10}))).unwrap();
        assert_eq!(s.max_file_size, 10);
        assert_eq!(s.workspace_symbol_limit, 256);
        let s = Settings::from_json(Some(&json!({"codecontext": {"diagnostics": false}}))).unwrap();
        assert!(!s.diagnostics);
        let err = Settings::from_json(Some(&json!({"maxFileSise": 10})))
            .unwrap_err()
            .to_string();
        assert!(err.contains("maxFileSise"), "{err}");
        let err = Settings::from_json(Some(&json!({"maxFileSize": "big"})))
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid type"), "{err}");
    }
}
