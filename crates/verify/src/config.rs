//! The `[verify]` table of `codecontext.toml` at the workspace root: a build command to
//! run first, a test command to run instead of the detected one, which parser reads the
//! results, and the sandbox's defaults for verification. The file's other tables belong
//! to other features and are not read here (they must still be valid TOML).
//!
//! ```toml
//! [verify]
//! build = "make"                       # runs first; its failure is `build_failed`
//! test = "make check"                  # selected test names are appended ("$@")
//! parser = "junit"                     # cargo | junit | tap | go-json | none
//! results = "build/test-results.xml"   # JUnit XML the test command writes
//! timeout_ms = 600000
//! network = false
//! python = ".venv-3.12/bin/python"      # the interpreter pytest runs with
//! node = "/opt/node-20/bin/node"       # the node the test script runs with
//! go = "/usr/lib/go-1.22/bin/go"       # the go that runs `go test`
//! ```
//!
//! Without `python`, `node` or `go`, the toolchain is found the way the project's own
//! developers run it (see [`crate::toolchain`]).

use std::path::{Path, PathBuf};

use serde::{de::Error as _, Deserialize, Deserializer};

use crate::results::ResultsParser;

/// The file's name, at the workspace root.
pub const CONFIG_FILE: &str = "codecontext.toml";

/// What `[verify]` says; every key is optional, and an absent file or table is the
/// default (everything detected).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// A shell command run first in the sandbox; if it fails the verdict is
    /// `build_failed` and the tests do not run.
    #[serde(default, deserialize_with = "command")]
    pub build: Option<String>,
    /// A shell command run instead of the detected test command; the names of the tests
    /// selected are appended as arguments (`"$@"`). With it, a folder that is not a
    /// known kind of project can be verified.
    #[serde(default, deserialize_with = "command")]
    pub test: Option<String>,
    /// Which parser reads the results. By default the detected project's, or
    /// [`ResultsParser::ExitStatus`] when the project is not detected.
    pub parser: Option<ResultsParser>,
    /// A JUnit XML report the test command writes, relative to the workspace root:
    /// collected after the run and read with the JUnit parser.
    #[serde(default, deserialize_with = "relative_path")]
    pub results: Option<String>,
    /// The wall-clock limit when the request does not give one.
    #[serde(default, deserialize_with = "positive")]
    pub timeout_ms: Option<u64>,
    /// Lets the build and tests reach the network (off by default).
    #[serde(default)]
    pub network: bool,
    /// The Python interpreter to run pytest with (absolute, or relative to the root).
    #[serde(default, deserialize_with = "program")]
    pub python: Option<String>,
    /// The node that runs the `test` script (absolute, or relative to the root).
    #[serde(default, deserialize_with = "program")]
    pub node: Option<String>,
    /// The go that runs `go test` (absolute, or relative to the root).
    #[serde(default, deserialize_with = "program")]
    pub go: Option<String>,
}

/// `codecontext.toml` could not be read or does not describe a verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct ConfigError {
    pub path: PathBuf,
    /// What is wrong; for TOML errors, with the line and column.
    pub reason: String,
}

/// Why the text of a `codecontext.toml` does not give a `[verify]` table. Its `Display`
/// is the reason a [`ConfigError`] gives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not TOML, or `[verify]` has an unknown key or a bad value; the message has the
    /// line and column.
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    /// `results` names a JUnit XML report, but `parser` is another parser.
    #[error(
        "[verify] `results` is a JUnit XML report, read with the junit parser, \
         but `parser` is \"{}\"",
        .0.name()
    )]
    ResultsNeedJunit(ResultsParser),
}

/// The whole file, of which only `[verify]` is read.
#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    verify: VerifyConfig,
}

/// The `[verify]` table of `<root>/codecontext.toml`; the default when there is no file.
pub fn load(root: &Path) -> Result<VerifyConfig, ConfigError> {
    let path = root.join(CONFIG_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(VerifyConfig::default()),
        Err(e) => {
            return Err(ConfigError {
                path,
                reason: format!("cannot read it: {e}"),
            })
        }
    };
    parse(&text).map_err(|e| ConfigError {
        path,
        reason: e.to_string(),
    })
}

/// The `[verify]` table of a `codecontext.toml`'s text.
pub fn parse(text: &str) -> Result<VerifyConfig, ParseError> {
    let file: ConfigFile = toml::from_str(text)?;
    let config = file.verify;
    if let (Some(_), Some(parser)) = (&config.results, config.parser) {
        if parser != ResultsParser::Junit {
            return Err(ParseError::ResultsNeedJunit(parser));
        }
    }
    Ok(config)
}

/// A shell command, not blank, without the surrounding blank lines of a multi-line
/// string (the test command's last line is where the names are appended).
fn command<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    let text = text.trim();
    if text.is_empty() {
        return Err(D::Error::custom("the command is empty"));
    }
    Ok(Some(text.to_string()))
}

/// A path that stays inside the workspace.
fn relative_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    crate::edit::checked(&text).map(Some).map_err(|_| {
        D::Error::custom(format!(
            "`{text}` is not a relative path inside the workspace"
        ))
    })
}

/// A program's path, not blank.
fn program<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    match text.trim() {
        "" => Err(D::Error::custom("the program's path is empty")),
        path => Ok(Some(path.to_string())),
    }
}

fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match u64::deserialize(d)? {
        0 => Err(D::Error::custom("the timeout must be more than 0 ms")),
        ms => Ok(Some(ms)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_key_of_verify_and_ignores_other_tables() {
        let text = r#"
[index]
exclude = ["target"]
whatever = { nested = 1 }

[verify]
build = "make"
test = "make check"
parser = "go-json"
timeout_ms = 600000
network = true
python = "venv/bin/python"
node = "/opt/node/bin/node"
go = "/usr/lib/go-1.22/bin/go"
"#;
        assert_eq!(
            parse(text),
            Ok(VerifyConfig {
                build: Some("make".into()),
                test: Some("make check".into()),
                parser: Some(ResultsParser::GoJson),
                results: None,
                timeout_ms: Some(600_000),
                network: true,
                python: Some("venv/bin/python".into()),
                node: Some("/opt/node/bin/node".into()),
                go: Some("/usr/lib/go-1.22/bin/go".into()),
            })
        );
    }

    #[test]
    fn multi_line_commands_lose_their_blank_ends() {
        let config = parse("[verify]\ntest = \"\"\"\ncd tests\n./run\n\"\"\"\n").unwrap();
        assert_eq!(config.test.as_deref(), Some("cd tests\n./run"));
    }

    #[test]
    fn no_table_or_no_file_is_the_default() {
        assert_eq!(
            parse("[index]\nexclude = []\n"),
            Ok(VerifyConfig::default())
        );
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), Ok(VerifyConfig::default()));
    }

    #[test]
    fn every_parser_name() {
        for (name, parser) in [
            ("cargo", ResultsParser::Cargo),
            ("junit", ResultsParser::Junit),
            ("tap", ResultsParser::Tap),
            ("go-json", ResultsParser::GoJson),
            ("none", ResultsParser::ExitStatus),
        ] {
            let config = parse(&format!("[verify]\nparser = \"{name}\"\n")).unwrap();
            assert_eq!(config.parser, Some(parser));
            assert_eq!(parser.name(), name);
        }
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_it_and_its_line() {
        let err = parse("[verify]\nbuild = \"make\"\ntset = \"make check\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `tset`"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn bad_values_are_errors_with_their_line() {
        for (text, says) in [
            (
                "[verify]\nparser = \"pytest\"\n",
                "unknown variant `pytest`",
            ),
            ("[verify]\ntimeout_ms = -5\n", "line 2"),
            ("[verify]\ntimeout_ms = 0\n", "more than 0"),
            (
                "[verify]\nresults = \"../out.xml\"\n",
                "not a relative path",
            ),
            (
                "[verify]\nresults = \"/tmp/out.xml\"\n",
                "not a relative path",
            ),
            ("[verify]\ntest = \"  \"\n", "the command is empty"),
            ("[verify]\npython = \"\"\n", "the program's path is empty"),
            ("[verify]\nnetwork = \"yes\"\n", "line 2"),
            ("verify = 3\n", "line 1"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(matches!(err, ParseError::Toml(_)), "{text:?} gave {err:?}");
            let err = err.to_string();
            assert!(err.contains(says), "{text:?} gave {err}");
        }
        let err = parse("[verify]\nresults = \"out.xml\"\nparser = \"tap\"\n").unwrap_err();
        assert_eq!(err, ParseError::ResultsNeedJunit(ResultsParser::Tap));
        let err = err.to_string();
        assert!(err.contains("`parser` is \"tap\""), "{err}");
        assert_eq!(
            parse("[verify]\nresults = \"out.xml\"\nparser = \"junit\"\n")
                .unwrap()
                .results
                .as_deref(),
            Some("out.xml")
        );
    }

    #[test]
    fn a_file_that_does_not_parse_is_an_error_naming_the_file_and_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[other]\nkey = 1\n\n[verify\nbuild = \"make\"\n",
        )
        .unwrap();
        let err = load(dir.path()).unwrap_err();
        assert_eq!(err.path, dir.path().join(CONFIG_FILE));
        let message = err.to_string();
        assert!(
            message.starts_with(&err.path.display().to_string()),
            "{message}"
        );
        assert!(message.contains("line 4"), "{message}");
    }
}
