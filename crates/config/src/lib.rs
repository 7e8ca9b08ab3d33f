//! The configuration of the team backends (PostgreSQL, a Bolt graph database, Redis,
//! InfluxDB), read from four layers, the first that sets a value winning:
//!
//! 1. the LSP client's `initializationOptions` (`{"storage": {"postgresUrl": ...}}`),
//! 2. environment variables (`CODECONTEXT_POSTGRES_URL`, ...),
//! 3. the `[storage]` table of `codecontext.toml` at the workspace root,
//! 4. the `[storage]` table of the user's config file (`CODECONTEXT_CONFIG`, else
//!    `~/.config/codecontext/config.toml`).
//!
//! Every value remembers its layer, for `codecontext doctor` and the log. Secrets
//! (passwords, in URLs or alone) are shown redacted by [`redact_url`] and
//! [`Setting::shown`]; nothing here logs. See docs/configuration.md.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use serde_json::Value;

/// The name of the project file.
mod env;
mod sandbox;

pub use env::{daemon_idle, docker_host, store_home, toolchain_dir};
pub use sandbox::{load_sandbox, load_sandbox_layers, SandboxConfig, SandboxKind};

pub const PROJECT_FILE: &str = "codecontext.toml";

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    InitializationOptions,
    Env(&'static str),
    ProjectFile(PathBuf),
    UserFile(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::InitializationOptions => write!(f, "initializationOptions"),
            Source::Env(name) => write!(f, "${name}"),
            Source::ProjectFile(p) | Source::UserFile(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A configured value and its layer.
#[derive(Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: String,
    pub source: Source,
    secret: bool,
}

impl Setting {
    /// The value as it may be shown: a password replaced by `***`.
    pub fn shown(&self) -> String {
        if self.secret {
            "***".into()
        } else {
            redact_url(&self.value)
        }
    }
}

// Never print a secret by accident.
impl fmt::Debug for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (from {})", self.shown(), self.source)
    }
}

/// The team backends' settings; `None` = not configured (the embedded default serves).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorageConfig {
    pub postgres_url: Option<Setting>,
    pub bolt_url: Option<Setting>,
    pub bolt_user: Option<Setting>,
    pub bolt_password: Option<Setting>,
    pub redis_url: Option<Setting>,
    pub influx_url: Option<Setting>,
    pub influx_db: Option<Setting>,
}

/// The keys, in every layer's spelling: (TOML, initializationOptions, environment).
const KEYS: [(&str, &str, &str); 7] = [
    ("postgres_url", "postgresUrl", "CODECONTEXT_POSTGRES_URL"),
    ("bolt_url", "boltUrl", "CODECONTEXT_BOLT_URL"),
    ("bolt_user", "boltUser", "CODECONTEXT_BOLT_USER"),
    ("bolt_password", "boltPassword", "CODECONTEXT_BOLT_PASSWORD"),
    ("redis_url", "redisUrl", "CODECONTEXT_REDIS_URL"),
    ("influx_url", "influxUrl", "CODECONTEXT_INFLUX_URL"),
    ("influx_db", "influxDb", "CODECONTEXT_INFLUX_DB"),
];

impl StorageConfig {
    fn slot(&mut self, toml_key: &str) -> &mut Option<Setting> {
        match toml_key {
            "postgres_url" => &mut self.postgres_url,
            "bolt_url" => &mut self.bolt_url,
            "bolt_user" => &mut self.bolt_user,
            "bolt_password" => &mut self.bolt_password,
            "redis_url" => &mut self.redis_url,
            "influx_url" => &mut self.influx_url,
            _ => &mut self.influx_db,
        }
    }

    /// Every setting with its TOML key, configured or not, in a fixed order.
    pub fn entries(&self) -> [(&'static str, Option<&Setting>); 7] {
        [
            ("postgres_url", self.postgres_url.as_ref()),
            ("bolt_url", self.bolt_url.as_ref()),
            ("bolt_user", self.bolt_user.as_ref()),
            ("bolt_password", self.bolt_password.as_ref()),
            ("redis_url", self.redis_url.as_ref()),
            ("influx_url", self.influx_url.as_ref()),
            ("influx_db", self.influx_db.as_ref()),
        ]
    }

    /// Fills what is still unset from one layer.
    fn fill(&mut self, values: Vec<(&'static str, String)>, source: &Source) {
        for (key, value) in values {
            let slot = self.slot(key);
            if slot.is_none() && !value.is_empty() {
                *slot = Some(Setting {
                    value,
                    source: source.clone(),
                    secret: key == "bolt_password",
                });
            }
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("initializationOptions.storage: {0}")]
    Options(String),
}

/// What to read: the workspace root, the client's options, and (for tests) the
/// environment and the user file.
pub struct Layers<'a> {
    pub init: Option<&'a Value>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub root: Option<&'a Path>,
    pub user_file: Option<PathBuf>,
}

/// The user's config file: `CODECONTEXT_CONFIG`, else `config.toml` in the user's
/// config directory.
pub fn user_file() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CODECONTEXT_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    Some(dirs::config_dir()?.join("codecontext").join("config.toml"))
}

/// `CODECONTEXT_EXECUTIONS_PER_MINUTE`: executions (`execute` and `verify`) admitted per
/// minute for a project, when a shared limit is kept (in Redis).
pub fn executions_per_minute() -> Option<u32> {
    std::env::var("CODECONTEXT_EXECUTIONS_PER_MINUTE")
        .ok()
        .and_then(|v| v.trim().parse().ok())
}

/// Reads the configuration for a workspace root (if any) and the client's options,
/// from the process's environment and the user's file.
pub fn load(root: Option<&Path>, init: Option<&Value>) -> Result<StorageConfig, ConfigError> {
    let env = |name: &str| std::env::var(name).ok();
    load_layers(Layers {
        init,
        env: &env,
        root,
        user_file: user_file(),
    })
}

pub fn load_layers(layers: Layers<'_>) -> Result<StorageConfig, ConfigError> {
    let mut config = StorageConfig::default();
    if let Some(init) = layers.init {
        config.fill(from_options(init)?, &Source::InitializationOptions);
    }
    for (key, _, name) in KEYS {
        if let Some(value) = (layers.env)(name) {
            config.fill(vec![(key, value)], &Source::Env(name));
        }
    }
    if let Some(root) = layers.root {
        let path = root.join(PROJECT_FILE);
        if let Some(values) = from_file(&path)? {
            config.fill(values, &Source::ProjectFile(path));
        }
    }
    if let Some(path) = layers.user_file {
        if let Some(values) = from_file(&path)? {
            config.fill(values, &Source::UserFile(path));
        }
    }
    Ok(config)
}

/// A configuration file's text; `None` when there is no file.
pub(crate) fn read_text(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
    }
}

/// The `[storage]` table of a TOML file; `None` when there is no file.
fn from_file(path: &Path) -> Result<Option<Vec<(&'static str, String)>>, ConfigError> {
    let Some(text) = read_text(path)? else {
        return Ok(None);
    };
    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        storage: Option<toml::Table>,
    }
    let err = |message: String| ConfigError::File {
        path: path.to_path_buf(),
        message,
    };
    let file: File = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
    let Some(table) = file.storage else {
        return Ok(Some(Vec::new()));
    };
    let mut out = Vec::new();
    for (key, value) in table {
        let Some((toml_key, _, _)) = KEYS.iter().find(|k| k.0 == key) else {
            return Err(err(format!(
                "unknown key `{key}` in [storage] (known: {})",
                KEYS.map(|k| k.0).join(", ")
            )));
        };
        let toml::Value::String(value) = value else {
            return Err(err(format!("[storage] {key} must be a string")));
        };
        out.push((*toml_key, value));
    }
    Ok(Some(out))
}

/// `initializationOptions.storage` (also under a `codecontext` key).
fn from_options(init: &Value) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let init = init.get("codecontext").unwrap_or(init);
    let Some(storage) = init.get("storage") else {
        return Ok(Vec::new());
    };
    let Some(object) = storage.as_object() else {
        return Err(ConfigError::Options("must be an object".into()));
    };
    let mut out = Vec::new();
    for (key, value) in object {
        let Some((toml_key, _, _)) = KEYS.iter().find(|k| k.1 == key) else {
            return Err(ConfigError::Options(format!(
                "unknown key `{key}` (known: {})",
                KEYS.map(|k| k.1).join(", ")
            )));
        };
        match value {
            Value::String(s) => out.push((*toml_key, s.clone())),
            Value::Null => {}
            _ => return Err(ConfigError::Options(format!("{key} must be a string"))),
        }
    }
    Ok(out)
}

/// A URL with its password (if any) replaced by `***`: `postgres://me:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return url.to_string();
    };
    format!(
        "{}{}:***{}",
        &url[..scheme_end + 3],
        &userinfo[..colon],
        &rest[at..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://me:s3cret@127.0.0.1:5432/db"),
            "postgres://me:***@127.0.0.1:5432/db"
        );
        assert_eq!(
            redact_url("redis://:pw@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(redact_url("bolt://user@h:7687"), "bolt://user@h:7687");
    }

    #[test]
    fn layers_apply_in_precedence_and_remember_their_source() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(
            root.join(PROJECT_FILE),
            "[verify]\ntest = \"make\"\n[storage]\npostgres_url = \"postgres://file@127.0.0.1/p\"\nredis_url = \"redis://127.0.0.1:1\"\ninflux_db = \"project\"\n",
        )
        .unwrap();
        let user = dir.path().join("user.toml");
        std::fs::write(
            &user,
            "[storage]\ninflux_db = \"user\"\ninflux_url = \"http://127.0.0.1:8086\"\nbolt_password = \"pw\"\n",
        )
        .unwrap();
        let env = |name: &str| {
            (name == "CODECONTEXT_REDIS_URL").then(|| "redis://127.0.0.1:2".to_string())
        };
        let init = json!({"storage": {"postgresUrl": "postgres://init:x@127.0.0.1/p"}});
        let config = load_layers(Layers {
            init: Some(&init),
            env: &env,
            root: Some(&root),
            user_file: Some(user.clone()),
        })
        .unwrap();
        let pg = config.postgres_url.as_ref().unwrap();
        assert_eq!(pg.source, Source::InitializationOptions);
        assert_eq!(pg.shown(), "postgres://init:***@127.0.0.1/p");
        let redis = config.redis_url.as_ref().unwrap();
        assert_eq!(
            (redis.value.as_str(), &redis.source),
            ("redis://127.0.0.1:2", &Source::Env("CODECONTEXT_REDIS_URL"))
        );
        let db = config.influx_db.as_ref().unwrap();
        assert_eq!(db.value, "project");
        assert_eq!(db.source, Source::ProjectFile(root.join(PROJECT_FILE)));
        assert_eq!(
            config.influx_url.as_ref().unwrap().source,
            Source::UserFile(user)
        );
        let password = config.bolt_password.as_ref().unwrap();
        assert_eq!(password.shown(), "***");
        assert!(!format!("{config:?}").contains("pw\""), "{config:?}");
        assert!(config.bolt_url.is_none());
    }

    #[test]
    fn bad_layers_are_errors_that_name_the_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(PROJECT_FILE),
            "[storage]\npostgres = \"x\"\n",
        )
        .unwrap();
        let none = |_: &str| None;
        let err = load_layers(Layers {
            init: None,
            env: &none,
            root: Some(dir.path()),
            user_file: None,
        })
        .unwrap_err();
        assert!(err.to_string().contains("unknown key `postgres`"), "{err}");
        assert!(err.to_string().contains(PROJECT_FILE), "{err}");
        let err = load_layers(Layers {
            init: Some(&json!({"storage": {"redisUrl": 5}})),
            env: &none,
            root: None,
            user_file: None,
        })
        .unwrap_err();
        assert_eq!(
            err,
            ConfigError::Options("redisUrl must be a string".into())
        );
    }
}
