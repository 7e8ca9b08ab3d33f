//! The project's memory: decisions (from architecture decision records, or remembered
//! by a person or an assistant), preferences, and feedback on suggestions, each anchored
//! to the symbols and files it is about, stored in the folder's store.
//!
//! A memory keeps the fingerprint of each anchored symbol from when it was made
//! (`codecontext_memory::anchor`); recalling it compares them with the code now, so that
//! every answer says whether the memory still holds (`current`), may not (`suspect`: the
//! code changed), cannot (`orphaned`: the code is gone), was replaced (`superseded`) or
//! was taken back (`forgotten`). Memories are bi-temporal: when each was recorded
//! (`madeMs`), and from when to when it held (`validFromMs`, `validToMs`).
//!
//! Decision records are read from the folders of `codecontext_memory::adr::ADR_DIRS`
//! each time memory is recalled; a record read before and unchanged since is not read
//! again, and its anchors keep the fingerprints of when it was first read.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use codecontext_analysis::{Analysis, NavTarget};
use codecontext_memory::{
    adr::{self, Adr, AdrRef, AdrStatus},
    anchor::{AnchorKind, Drift, Fingerprint, Status},
};
use codecontext_store::{MemoryRecord, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tracing::warn;

use std::{sync::Arc, time::Duration};

use crate::{
    changelog::{LogRead, RECALL_WAIT},
    history::{now_ms, FolderRun, HistoryOf},
    Result, Workspace, WorkspaceError,
};

/// The longest text (or rationale) a memory may hold.
pub const MAX_TEXT: usize = 16 * 1024;
/// The most symbols and files one memory is anchored to.
pub const MAX_ANCHORS: usize = 32;
/// A name in a decision record that names more symbols than this is too common to
/// anchor to (`new`, `run`).
const MAX_SYMBOLS_PER_NAME: usize = 3;
/// Definitions of one name whose commits recall lists.
const MAX_SYMBOLS_WITH_CHANGES: usize = 5;
/// Commits listed per definition.
const CHANGES_PER_SYMBOL: u32 = 20;
/// Rejections of one kind of suggestion, more than its acceptances, that make a
/// preference.
pub const REJECTIONS_FOR_PREFERENCE: usize = 3;

/// What a memory is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryKind {
    Decision,
    Preference,
    Feedback,
}

impl MemoryKind {
    fn as_str(self) -> &'static str {
        match self {
            MemoryKind::Decision => "decision",
            MemoryKind::Preference => "preference",
            MemoryKind::Feedback => "feedback",
        }
    }
}

/// An anchor as stored: what it names, and its fingerprint then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Anchor {
    pub kind: AnchorKind,
    /// The symbol's qualified name, or the file's path relative to its folder.
    pub name: String,
    /// The symbol's file, relative to its folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub fingerprint: Fingerprint,
}

/// Where a memory came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Source {
    /// Someone said so, through `remember` or `feedback`.
    Remember,
    /// A `Decision:` trailer in a commit's message.
    Commit { id: String },
    /// An architecture decision record.
    Adr {
        path: String,
        /// xxh3 of the record's bytes when it was last read, in hex.
        hash: String,
    },
}

/// A memory's body, as stored (see `codecontext_store::MemoryRecord`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default)]
    pub anchors: Vec<Anchor>,
    pub valid_from_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to_ms: Option<i64>,
    /// The uid of the memory that replaced this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forgotten: Option<Forgotten>,
    /// A decision record's status as written (`accepted`, `proposed`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_status: Option<String>,
    /// Feedback: what it was about, and the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

impl Body {
    /// A memory's body with nothing but its text, source, anchors and start.
    fn new(text: String, source: Source, anchors: Vec<Anchor>, valid_from_ms: i64) -> Body {
        Body {
            title: None,
            text,
            rationale: None,
            source,
            author: None,
            anchors,
            valid_from_ms,
            valid_to_ms: None,
            superseded_by: None,
            forgotten: None,
            record_status: None,
            about: None,
            verdict: None,
        }
    }
}

/// When and why a memory was taken back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Forgotten {
    pub at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What became of a suggestion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accepted,
    Rejected,
    Edited,
}

/// `remember`: a decision or a preference to keep.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RememberRequest {
    /// `decision` or `preference`.
    pub kind: String,
    pub text: String,
    #[serde(default)]
    pub rationale: Option<String>,
    /// Qualified or bare names of the symbols it is about.
    #[serde(default)]
    pub symbols: Vec<String>,
    /// Paths, relative to a workspace folder, of the files it is about.
    #[serde(default)]
    pub files: Vec<String>,
    /// The id of a memory this one replaces.
    #[serde(default)]
    pub supersedes: Option<String>,
    /// Who decides; the OS user when not given.
    #[serde(default)]
    pub author: Option<String>,
}

/// `recall`: the memory of a symbol, a file, or matching words (or all of it).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecallRequest {
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub query: Option<String>,
    /// Include forgotten memories.
    #[serde(default)]
    pub include_forgotten: bool,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `forget`: take a memory back.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForgetRequest {
    pub id: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `feedback`: what became of a suggestion.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeedbackRequest {
    /// The kind of suggestion (`rule:no-unwrap`, `assess.naming`, `rename`): feedback on
    /// the same kind adds up.
    pub about: String,
    pub verdict: Verdict,
    #[serde(default)]
    pub reason: Option<String>,
    /// Symbols and files the suggestion was about.
    #[serde(default)]
    pub symbols: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
}

/// A decision record that was not read, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

fn invalid(op: &str, message: impl std::fmt::Display) -> WorkspaceError {
    WorkspaceError::invalid(format!("codecontext.{op}: {message}"))
}

fn internal(op: &str, message: impl std::fmt::Display) -> WorkspaceError {
    WorkspaceError::internal(format!("codecontext.{op}: {message}"))
}

/// The text a memory is checked against: trimmed, not empty, not too long.
fn checked_text(op: &str, field: &str, text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid(op, format!("`{field}` is empty")));
    }
    if text.len() > MAX_TEXT {
        return Err(invalid(
            op,
            format!(
                "`{field}` is {} bytes, over the {MAX_TEXT}-byte limit",
                text.len()
            ),
        ));
    }
    Ok(text.to_string())
}

/// An optional text checked as [`checked_text`] checks one.
fn optional_text(op: &str, field: &str, text: Option<&str>) -> Result<Option<String>> {
    text.map(|t| checked_text(op, field, t)).transpose()
}

/// Symbols a name can anchor to: definitions, not imports.
fn anchorable(analysis: &Analysis<'_>, name: &str) -> Vec<NavTarget> {
    analysis
        .find_by_name(name)
        .into_iter()
        .filter(|t| t.kind != "import" && t.kind != "file")
        .collect()
}

/// The fingerprint of a symbol as the code is now.
fn symbol_print(analysis: &Analysis<'_>, t: &NavTarget) -> Option<Fingerprint> {
    let text = analysis.text(t.file)?;
    let body = text.get(t.range.start as usize..t.range.end as usize)?;
    Some(Fingerprint::of_symbol(
        t.signature.as_deref().unwrap_or(""),
        body,
    ))
}

/// The anchor of a symbol, fingerprinted now.
fn symbol_anchor(analysis: &Analysis<'_>, t: &NavTarget) -> Option<Anchor> {
    Some(Anchor {
        kind: AnchorKind::Symbol,
        name: t.qualified_name.clone(),
        file: Some(t.path.clone()),
        fingerprint: symbol_print(analysis, t)?,
    })
}

/// The anchor of a file of a folder (`rel`), fingerprinted now.
fn file_anchor(analysis: &Analysis<'_>, root: &Path, rel: &str) -> Option<Anchor> {
    let file = analysis.host().file_id(&root.join(rel))?;
    let text = analysis.text(file)?;
    Some(Anchor {
        kind: AnchorKind::File,
        name: rel.to_string(),
        file: None,
        fingerprint: Fingerprint::of_file(&text),
    })
}

/// What became of an anchor: the code now, compared with its fingerprint.
fn drift(analysis: &Analysis<'_>, root: &Path, anchor: &Anchor) -> Drift {
    match anchor.kind {
        AnchorKind::File => Drift::between(
            anchor.fingerprint,
            file_anchor(analysis, root, &anchor.name).map(|a| a.fingerprint),
        ),
        // Unchanged if any of its namesakes is.
        AnchorKind::Symbol => symbol_targets(analysis, root, anchor)
            .iter()
            .map(|t| Drift::between(anchor.fingerprint, symbol_print(analysis, t)))
            .min_by_key(|d| match d {
                Drift::Same => 0,
                Drift::BodyChanged => 1,
                Drift::SignatureChanged => 2,
                Drift::Gone => 3,
            })
            .unwrap_or(Drift::Gone),
    }
}

/// The definitions a symbol anchor is about now: in its file if it is still there, else
/// wherever it moved.
fn symbol_targets(analysis: &Analysis<'_>, root: &Path, anchor: &Anchor) -> Vec<NavTarget> {
    let candidates: Vec<NavTarget> = analysis
        .find_by_name(&anchor.name)
        .into_iter()
        .filter(|t| t.qualified_name == anchor.name)
        .filter(|t| analysis.host().root_of(t.file).as_deref() == Some(root))
        .collect();
    if candidates
        .iter()
        .any(|t| Some(&t.path) == anchor.file.as_ref())
    {
        candidates
            .into_iter()
            .filter(|t| Some(&t.path) == anchor.file.as_ref())
            .collect()
    } else {
        candidates
    }
}

/// A memory of one folder, as read from its store.
struct Stored {
    root: PathBuf,
    record: MemoryRecord,
    body: Body,
}

impl Stored {
    fn kind(&self) -> &str {
        &self.record.kind
    }

    /// As answered: its fields, its status and each anchor's drift.
    fn answer(&self, analysis: &Analysis<'_>) -> Value {
        let drifts: Vec<Drift> = self
            .body
            .anchors
            .iter()
            .map(|a| drift(analysis, &self.root, a))
            .collect();
        let status = Status::of(
            self.body.forgotten.is_some(),
            self.body.superseded_by.is_some(),
            &drifts,
        );
        let anchors: Vec<Value> = self
            .body
            .anchors
            .iter()
            .zip(&drifts)
            .map(|(a, d)| {
                let mut v = json!({ "kind": a.kind, "name": a.name, "drift": d });
                if let Some(file) = &a.file {
                    v["file"] = json!(file);
                }
                v
            })
            .collect();
        let mut v = json!({
            "id": self.record.uid,
            "kind": self.record.kind,
            "status": status.as_str(),
            "text": self.body.text,
            "source": self.body.source,
            "madeMs": self.record.made_ms,
            "validFromMs": self.body.valid_from_ms,
            "anchors": anchors,
            "root": self.root.display().to_string(),
        });
        let optional = [
            ("title", self.body.title.as_ref().map(|t| json!(t))),
            ("rationale", self.body.rationale.as_ref().map(|t| json!(t))),
            ("author", self.body.author.as_ref().map(|t| json!(t))),
            ("validToMs", self.body.valid_to_ms.map(|t| json!(t))),
            (
                "supersededBy",
                self.body.superseded_by.as_ref().map(|t| json!(t)),
            ),
            ("forgotten", self.body.forgotten.as_ref().map(|f| json!(f))),
            (
                "recordStatus",
                self.body.record_status.as_ref().map(|t| json!(t)),
            ),
            ("about", self.body.about.as_ref().map(|t| json!(t))),
            ("verdict", self.body.verdict.map(|t| json!(t))),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                v[key] = value;
            }
        }
        v
    }

    /// Whether it is a decision or preference, not forgotten, anchored to the symbol of
    /// this qualified name (what hover shows, and what a shift is checked against).
    fn holds_for(&self, qualified: &str) -> bool {
        self.kind() != "feedback"
            && self.body.forgotten.is_none()
            && self
                .body
                .anchors
                .iter()
                .any(|a| a.kind == AnchorKind::Symbol && a.name == qualified)
    }

    /// Whether it is about a symbol: anchored to it (qualified, or by its bare name).
    fn is_about_symbol(&self, name: &str) -> bool {
        let qualified = codecontext_store::short_name(name) != name;
        self.body.anchors.iter().any(|a| {
            a.kind == AnchorKind::Symbol
                && if qualified {
                    a.name == name || a.name.ends_with(&format!("::{name}"))
                } else {
                    codecontext_store::short_name(&a.name) == name
                }
        })
    }

    /// Whether it is about a file: anchored to it, or to a symbol in it.
    fn is_about_file(&self, rel: &str) -> bool {
        self.body.anchors.iter().any(|a| match a.kind {
            AnchorKind::File => a.name == rel,
            AnchorKind::Symbol => a.file.as_deref() == Some(rel),
        })
    }

    /// How many of `words` (lowercase) it holds, in its text, title, rationale or
    /// anchors.
    fn matches(&self, words: &[String]) -> usize {
        let mut hay = String::new();
        for part in [
            self.body.title.as_deref(),
            Some(self.body.text.as_str()),
            self.body.rationale.as_deref(),
            self.body.about.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            hay.push_str(&part.to_lowercase());
            hay.push('\n');
        }
        for a in &self.body.anchors {
            hay.push_str(&a.name.to_lowercase());
            hay.push('\n');
        }
        words.iter().filter(|w| hay.contains(w.as_str())).count()
    }
}

/// Milliseconds since the epoch of a `YYYY-MM-DD` date (midnight UTC).
fn date_ms(date: &str) -> Option<i64> {
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// A new memory's uid: `prefix-` and 12 hex digits, from its text, the time to the
/// nanosecond, the process and a counter, so that two memories never share one (within
/// a process or across the servers of a team).
fn fresh_uid(prefix: &str, text: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{text}\0{nanos}\0{}\0{n}", std::process::id());
    format!(
        "{prefix}-{:012x}",
        codecontext_store::content_hash(seed.as_bytes()) & 0xffff_ffff_ffff
    )
}

/// A decision a commit's message carries in its trailers.
#[derive(Clone, Debug)]
pub struct TrailerDecision {
    pub commit: String,
    pub at_ms: i64,
    pub author: String,
    pub text: String,
    pub rationale: Option<String>,
    /// The definitions the commit changed (path, as it left them).
    pub touched: Vec<(String, codecontext_memory::changes::Defined)>,
}

/// The decision in a commit message's trailers (`Decision:`, with `Rationale:` or
/// `Why:`), if any; a malformed one is an error that says why.
pub fn trailer_decision(
    commit: &codecontext_memory::git::CommitInfo,
    touched: &[(String, codecontext_memory::changes::Defined)],
) -> std::result::Result<Option<TrailerDecision>, String> {
    // Trailers are the last paragraph's `Key: value` lines; a line that starts with
    // whitespace continues the one before.
    let last = commit
        .message
        .trim_end()
        .rsplit("\n\n")
        .next()
        .unwrap_or("");
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in last.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            if !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '-') {
                fields.push((key.to_ascii_lowercase(), value.trim().to_string()));
            }
        }
    }
    let Some((_, text)) = fields.iter().find(|(k, _)| k == "decision") else {
        return Ok(None);
    };
    if text.is_empty() {
        return Err("its `Decision:` trailer is empty".into());
    }
    if text.len() > MAX_TEXT {
        return Err(format!(
            "its `Decision:` trailer is {} bytes, over the {MAX_TEXT}-byte limit",
            text.len()
        ));
    }
    let rationale = fields
        .iter()
        .find(|(k, v)| (k == "rationale" || k == "why") && !v.is_empty())
        .map(|(_, v)| capped(v));
    Ok(Some(TrailerDecision {
        commit: commit.id.clone(),
        at_ms: commit.time_ms,
        author: commit.author.clone(),
        text: text.clone(),
        rationale,
        touched: touched.to_vec(),
    }))
}

/// The OS user, for a memory nobody signed.
fn os_user() -> Option<String> {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.is_empty())
}

impl Workspace {
    /// The folder a path names: absolute (inside one), or relative to the one folder that
    /// holds it (or to the first folder).
    fn folder_of_rel(&self, op: &str, file: &str) -> Result<(PathBuf, String)> {
        let path = Path::new(file);
        if path.is_absolute() {
            let root = self
                .root_of(path)
                .ok_or_else(|| invalid(op, format!("{file} is outside every workspace folder")))?;
            let rel = path.strip_prefix(&root).unwrap_or(path);
            let rel = rel.to_string_lossy().replace('\\', "/");
            return Ok((root, rel));
        }
        let roots = self.roots();
        let rel = file.trim_start_matches("./").replace('\\', "/");
        let root = roots
            .iter()
            .find(|r| r.join(&rel).exists())
            .or(roots.first())
            .ok_or_else(|| invalid(op, "no workspace folder is open"))?;
        Ok((root.clone(), rel))
    }

    /// The store that keeps a folder's memory: the embedded one, with the team's
    /// PostgreSQL in front in team mode.
    pub(crate) async fn memory_store(
        &self,
        op: &str,
        root: &Path,
    ) -> Result<std::sync::Arc<dyn Store>> {
        let store = self.open_store(root).await.ok_or_else(|| {
            internal(
                op,
                format!(
                    "memory needs the folder's store, and {} has none (persistence is off, or its store does not open)",
                    root.display()
                ),
            )
        })?;
        Ok(store)
    }

    /// Every memory of a folder.
    /// The folder's decisions and preferences as the team's graph database holds them:
    /// each with its status and the entities its symbol anchors are about now.
    ///
    /// With `touched` (files that changed, relative to the folder): `None` when no
    /// memory is anchored in any of them, as nothing the graph holds of them changed.
    pub(crate) async fn mirrored_decisions(
        &self,
        root: &Path,
        touched: Option<&std::collections::HashSet<String>>,
    ) -> Result<Option<Vec<codecontext_team::bolt::MirrorDecision>>> {
        let stored = self.stored("recall", root).await?;
        if let Some(touched) = touched {
            let anchored = stored.iter().any(|m| {
                m.body
                    .anchors
                    .iter()
                    .any(|a| a.file.as_ref().is_some_and(|f| touched.contains(f)))
            });
            if !anchored {
                return Ok(None);
            }
        }
        let host = self.read();
        let analysis = host.analysis();
        Ok(stored
            .iter()
            .filter(|m| m.record.kind != MemoryKind::Feedback.as_str())
            .map(|m| {
                let answer = m.answer(&analysis);
                let anchors = m
                    .body
                    .anchors
                    .iter()
                    .filter(|a| a.kind == AnchorKind::Symbol)
                    .flat_map(|a| {
                        symbol_targets(&analysis, root, a)
                            .into_iter()
                            .filter_map(|t| {
                                let d = Drift::between(a.fingerprint, symbol_print(&analysis, &t));
                                let status = Status::of(false, false, &[d]).as_str();
                                Some((t.entity?.to_string(), status.to_string()))
                            })
                            .collect::<Vec<_>>()
                    })
                    .collect();
                codecontext_team::bolt::MirrorDecision {
                    id: m.record.uid.clone(),
                    kind: m.record.kind.clone(),
                    status: answer["status"].as_str().unwrap_or("").to_string(),
                    text: m.body.text.clone(),
                    anchors,
                }
            })
            .collect::<Vec<_>>()
            .into())
    }

    async fn stored(&self, op: &str, root: &Path) -> Result<Vec<Stored>> {
        let store = self.memory_store(op, root).await?;
        let records = store.memories().await.map_err(|e| internal(op, e))?;
        Ok(records
            .into_iter()
            .filter_map(|record| {
                let body: Body = match serde_json::from_value(record.body.clone()) {
                    Ok(body) => body,
                    Err(e) => {
                        warn!("memory {} is unreadable ({e}); left out", record.uid);
                        return None;
                    }
                };
                Some(Stored {
                    root: root.to_path_buf(),
                    record,
                    body,
                })
            })
            .collect())
    }

    async fn put(
        &self,
        op: &str,
        root: &Path,
        uid: &str,
        kind: &str,
        made_ms: i64,
        body: &Body,
    ) -> Result<()> {
        let store = self.memory_store(op, root).await?;
        store
            .put_memory(MemoryRecord {
                id: 0,
                uid: uid.to_string(),
                kind: kind.to_string(),
                made_ms,
                body: serde_json::to_value(body).map_err(|e| internal(op, e))?,
            })
            .await
            .map_err(|e| internal(op, e))?;
        self.memory_written(root);
        Ok(())
    }

    /// Anchors for the symbols and files a request names, all in one folder; that folder
    /// (the first one when nothing is named).
    fn anchors_for(
        &self,
        op: &str,
        symbols: &[String],
        files: &[String],
    ) -> Result<(PathBuf, Vec<Anchor>)> {
        if symbols.len() + files.len() > MAX_ANCHORS {
            return Err(invalid(
                op,
                format!("at most {MAX_ANCHORS} symbols and files per memory"),
            ));
        }
        let mut root: Option<PathBuf> = None;
        let mut anchors = Vec::new();
        let mut same_root = |r: PathBuf, what: &str| -> Result<()> {
            match &root {
                Some(old) if *old != r => Err(invalid(
                    op,
                    format!(
                        "{what} is in {}, and the others in {}: a memory belongs to one folder",
                        r.display(),
                        old.display()
                    ),
                )),
                _ => {
                    root = Some(r);
                    Ok(())
                }
            }
        };
        let files: Vec<(PathBuf, String)> = files
            .iter()
            .map(|f| self.folder_of_rel(op, f))
            .collect::<Result<_>>()?;
        let host = self.read();
        let analysis = host.analysis();
        for name in symbols {
            let found = anchorable(&analysis, name);
            if found.is_empty() {
                return Err(invalid(
                    op,
                    format!("no symbol named `{name}` is in the index"),
                ));
            }
            if found.len() > MAX_ANCHORS {
                return Err(invalid(
                    op,
                    format!(
                        "`{name}` names {} symbols; give a qualified name",
                        found.len()
                    ),
                ));
            }
            for t in &found {
                let r = host
                    .root_of(t.file)
                    .ok_or_else(|| internal(op, format!("{} has no folder", t.path)))?;
                same_root(r, &format!("`{}`", t.qualified_name))?;
                if let Some(a) = symbol_anchor(&analysis, t) {
                    anchors.push(a);
                }
            }
        }
        for (r, rel) in files {
            let a = file_anchor(&analysis, &r, &rel)
                .ok_or_else(|| invalid(op, format!("{rel} is not an indexed file")))?;
            same_root(r, &rel)?;
            anchors.push(a);
        }
        anchors.dedup();
        drop(host);
        let root = match root {
            Some(root) => root,
            None => self.default_root(op)?,
        };
        Ok((root, anchors))
    }

    /// The folder a memory without anchors goes to: the only one, or the first.
    fn default_root(&self, op: &str) -> Result<PathBuf> {
        self.roots()
            .into_iter()
            .next()
            .ok_or_else(|| invalid(op, "no workspace folder is open"))
    }

    /// Keeps a decision or a preference; the memory as recalled.
    pub async fn remember(self: &Arc<Self>, request: RememberRequest) -> Result<Value> {
        const OP: &str = "remember";
        let kind = match request.kind.as_str() {
            "decision" => MemoryKind::Decision,
            "preference" => MemoryKind::Preference,
            other => {
                return Err(invalid(
                    OP,
                    format!("`kind` is `{other}`; remember takes `decision` or `preference` (feedback has its own request)"),
                ))
            }
        };
        let text = checked_text(OP, "text", &request.text)?;
        let rationale = optional_text(OP, "rationale", request.rationale.as_deref())?;
        let (root, anchors) = self.anchors_for(OP, &request.symbols, &request.files)?;
        self.sync_records(&root).await;
        let made_ms = now_ms();
        let uid = fresh_uid("m", &text);
        if let Some(old) = &request.supersedes {
            let mut stored = self.stored(OP, &root).await?;
            let Some(target) = stored.iter_mut().find(|m| m.record.uid == *old) else {
                return Err(invalid(
                    OP,
                    format!("no memory `{old}` to supersede in {}", root.display()),
                ));
            };
            target.body.superseded_by = Some(uid.clone());
            target.body.valid_to_ms = Some(made_ms);
            self.put(
                OP,
                &root,
                &target.record.uid,
                &target.record.kind.clone(),
                target.record.made_ms,
                &target.body,
            )
            .await?;
        }
        let body = Body {
            rationale,
            author: request
                .author
                .filter(|a| !a.trim().is_empty())
                .or_else(os_user),
            ..Body::new(text, Source::Remember, anchors, made_ms)
        };
        self.put(OP, &root, &uid, kind.as_str(), made_ms, &body)
            .await?;
        self.share_memory(&root);
        self.one(OP, &root, &uid).await
    }

    /// Records what became of a suggestion; the feedback as recalled, and the preference
    /// it made if it tipped the balance.
    pub async fn feedback(self: &Arc<Self>, request: FeedbackRequest) -> Result<Value> {
        const OP: &str = "feedback";
        let about = checked_text(OP, "about", &request.about)?;
        let reason = optional_text(OP, "reason", request.reason.as_deref())?;
        let (root, anchors) = self.anchors_for(OP, &request.symbols, &request.files)?;
        let made_ms = now_ms();
        let verdict = match request.verdict {
            Verdict::Accepted => "accepted",
            Verdict::Rejected => "rejected",
            Verdict::Edited => "edited",
        };
        let uid = fresh_uid("f", &about);
        let text = match &reason {
            Some(reason) => format!("{verdict} {about}: {reason}"),
            None => format!("{verdict} {about}"),
        };
        let body = Body {
            rationale: reason,
            author: os_user(),
            about: Some(about.clone()),
            verdict: Some(request.verdict),
            ..Body::new(text, Source::Remember, anchors, made_ms)
        };
        self.put(
            OP,
            &root,
            &uid,
            MemoryKind::Feedback.as_str(),
            made_ms,
            &body,
        )
        .await?;
        self.share_memory(&root);
        let stored = self.stored(OP, &root).await?;
        let preference = learned_preferences(&stored)
            .into_iter()
            .find(|p| p["about"] == json!(about));
        let feedback = self.one(OP, &root, &uid).await?;
        Ok(json!({ "feedback": feedback, "preference": preference }))
    }

    /// Takes a memory back: it stays, marked `forgotten`, out of recall unless asked for.
    pub async fn forget(self: &Arc<Self>, request: ForgetRequest) -> Result<Value> {
        const OP: &str = "forget";
        let reason = optional_text(OP, "reason", request.reason.as_deref())?;
        for root in self.roots() {
            let stored = self.stored(OP, &root).await?;
            let Some(mut m) = stored.into_iter().find(|m| m.record.uid == request.id) else {
                continue;
            };
            if m.body.forgotten.is_none() {
                let at_ms = now_ms();
                m.body.forgotten = Some(Forgotten { at_ms, reason });
                m.body.valid_to_ms.get_or_insert(at_ms);
                self.put(
                    OP,
                    &root,
                    &m.record.uid,
                    &m.record.kind,
                    m.record.made_ms,
                    &m.body,
                )
                .await?;
                self.share_memory(&root);
            }
            return self.one(OP, &root, &request.id).await;
        }
        Err(invalid(OP, format!("no memory `{}`", request.id)))
    }

    /// One memory of a folder, as recalled.
    async fn one(&self, op: &str, root: &Path, uid: &str) -> Result<Value> {
        let stored = self.stored(op, root).await?;
        let m = stored
            .iter()
            .find(|m| m.record.uid == uid)
            .ok_or_else(|| internal(op, format!("memory `{uid}` was written and is not there")))?;
        let host = self.read();
        Ok(m.answer(&host.analysis()))
    }

    /// The memory of a symbol, a file, or matching words (or all), newest first, with
    /// each item's status; and the runs of that symbol or file.
    pub async fn recall(self: &Arc<Self>, request: RecallRequest) -> Result<Value> {
        const OP: &str = "recall";
        let given = [&request.symbol, &request.file, &request.query]
            .iter()
            .filter(|x| x.is_some())
            .count();
        if given > 1 {
            return Err(invalid(OP, "give one of `symbol`, `file` or `query`"));
        }
        let limit = request.limit.unwrap_or(50).clamp(1, 1000) as usize;
        let file = request
            .file
            .as_deref()
            .map(|f| self.folder_of_rel(OP, f))
            .transpose()?;
        let mut skipped = Vec::new();
        let mut history_complete = true;
        let mut all: Vec<Stored> = Vec::new();
        for root in self.roots() {
            // The change log catches up (in the background past the wait) first: its
            // commits may carry decisions.
            match self.read_history_within(&root, RECALL_WAIT).await {
                Some(read) => {
                    history_complete &= read.complete || !read.repository;
                    skipped.extend(read.skipped);
                }
                None => history_complete = false,
            }
            skipped.extend(self.sync_records(&root).await);
            self.share_memory(&root);
            all.extend(self.stored(OP, &root).await?);
        }
        let words: Vec<String> = request
            .query
            .as_deref()
            .unwrap_or("")
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .filter(|w| w.len() > 1)
            .map(str::to_lowercase)
            .collect();
        if request.query.is_some() && words.is_empty() {
            return Err(invalid(OP, "`query` has no word to look for"));
        }
        let mut learned = learned_preferences(&all);
        let mut picked: Vec<(usize, &Stored)> = all
            .iter()
            .filter(|m| request.include_forgotten || m.body.forgotten.is_none())
            .filter_map(|m| {
                let score = if let Some(symbol) = &request.symbol {
                    usize::from(m.is_about_symbol(symbol))
                } else if let Some((root, rel)) = &file {
                    usize::from(m.root == *root && m.is_about_file(rel))
                } else if !words.is_empty() {
                    m.matches(&words)
                } else {
                    1
                };
                (score > 0).then_some((score, m))
            })
            .collect();
        picked.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(b.1.record.made_ms.cmp(&a.1.record.made_ms))
                .then(b.1.record.id.cmp(&a.1.record.id))
        });
        let truncated = picked.len() > limit;
        picked.truncate(limit);
        let memories: Vec<Value> = {
            let host = self.read();
            let analysis = host.analysis();
            picked.iter().map(|(_, m)| m.answer(&analysis)).collect()
        };
        // Preferences learned from feedback, for the same question.
        learned.retain(|p| {
            let about = p["about"].as_str().unwrap_or("").to_lowercase();
            if !words.is_empty() {
                words.iter().any(|w| about.contains(w.as_str()))
            } else {
                request.symbol.is_none() && file.is_none()
            }
        });
        // For a symbol: the commits that changed each definition of that name.
        let mut changes: Vec<Value> = Vec::new();
        if let Some(symbol) = &request.symbol {
            let targets: Vec<(PathBuf, NavTarget)> = {
                let host = self.read();
                anchorable(&host.analysis(), symbol)
                    .into_iter()
                    .filter_map(|t| Some((host.root_of(t.file)?, t)))
                    .take(MAX_SYMBOLS_WITH_CHANGES)
                    .collect()
            };
            for (root, t) in targets {
                let commits = self.changes_of(&root, &t, CHANGES_PER_SYMBOL).await?;
                let performance = self.performance_of(&root, &t).await?;
                changes.push(json!({
                    "symbol": t.qualified_name,
                    "path": t.path,
                    "commits": commits,
                    "performance": performance,
                }));
            }
        }
        // For a file, or the whole project: how its code is written, and by whom; for
        // the project, what its user runs most.
        let mut style: Vec<Value> = Vec::new();
        let mut habits = Value::Null;
        if let Some((root, rel)) = &file {
            let language =
                codecontext_lang::language_for_path(Path::new(rel)).map(|l| l.config.name.as_str());
            let paths = self.names_of_file(root, rel).await?;
            if let Some(languages) =
                self.style_of(root, Some(paths), language).await?["languages"].as_array()
            {
                style.extend(languages.iter().cloned());
            }
        } else if request.symbol.is_none() && words.is_empty() {
            let roots = self.roots();
            for root in &roots {
                let found = self.style_of(root, None, None).await?;
                for mut l in found["languages"].as_array().cloned().unwrap_or_default() {
                    if roots.len() > 1 {
                        l["root"] = json!(root);
                    }
                    style.push(l);
                }
            }
            if let [root] = roots.as_slice() {
                habits = self.habits_of(root).await?;
            }
        }
        let runs: Vec<FolderRun> = match (&request.symbol, &file) {
            (Some(symbol), _) => self.history(HistoryOf::Symbol(symbol.clone()), 10).await?,
            (None, Some((root, rel))) => self.history(HistoryOf::File(root.join(rel)), 10).await?,
            _ => Vec::new(),
        };
        Ok(json!({
            "memories": memories,
            "learned": learned,
            "runs": runs.iter().map(|r| r.to_json(false)).collect::<Vec<_>>(),
            "changes": changes,
            "style": style,
            "habits": habits,
            "historyComplete": history_complete,
            "skipped": skipped,
            "truncated": truncated,
        }))
    }

    /// Reads the folder's change log (see [`Workspace::read_changelog`]) and keeps the
    /// decisions its commits carry; waits at most `wait` (the read goes on in the
    /// background past it, and `None` says so).
    pub async fn read_history_within(
        self: &Arc<Self>,
        root: &Path,
        wait: Duration,
    ) -> Option<LogRead> {
        let ws = self.clone();
        let folder = root.to_path_buf();
        let task = tokio::spawn(async move { ws.read_history(&folder).await });
        match tokio::time::timeout(wait, task).await {
            Ok(Ok(Ok(read))) => Some(read),
            Ok(Ok(Err(e))) => {
                warn!("the change log of {} was not read: {e}", root.display());
                Some(LogRead::default())
            }
            Ok(Err(e)) => {
                warn!("the change log of {} was not read: {e}", root.display());
                Some(LogRead::default())
            }
            Err(_) => None,
        }
    }

    /// Reads the folder's change log to the end and keeps the decisions its commits carry.
    pub async fn read_history(&self, root: &Path) -> Result<LogRead> {
        let mut read = self.read_changelog(root).await?;
        let renames = if read.decisions.is_empty() {
            Vec::new()
        } else {
            self.renames(root).await?
        };
        for d in std::mem::take(&mut read.decisions) {
            let uid = format!("commit:{}", d.commit);
            let anchors: Vec<Anchor> = {
                let host = self.read();
                let analysis = host.analysis();
                d.touched
                    .iter()
                    .take(MAX_ANCHORS)
                    .map(|(path, defined)| {
                        // The file as it is named now, and the definition as the graph
                        // names it now, if it is still there.
                        let path = &renamed_since(path, &renames);
                        let name = analysis
                            .host()
                            .file_id(&root.join(path))
                            .and_then(|file| {
                                flattened(analysis.outline(file)).into_iter().find(|t| {
                                    crate::changelog::key_of(&analysis, t).as_deref()
                                        == Some(defined.key.as_str())
                                })
                            })
                            .map_or_else(|| defined.key.clone(), |t| t.qualified_name);
                        Anchor {
                            kind: AnchorKind::Symbol,
                            name,
                            file: Some(path.clone()),
                            fingerprint: defined.fingerprint,
                        }
                    })
                    .collect()
            };
            let source = Source::Commit {
                id: d.commit.clone(),
            };
            let body = Body {
                rationale: d.rationale,
                author: Some(d.author),
                ..Body::new(d.text, source, anchors, d.at_ms)
            };
            self.put("recall", root, &uid, "decision", now_ms(), &body)
                .await?;
        }
        Ok(read)
    }

    /// A line for hover: when a definition last changed, by whom, and why (the commit's
    /// summary), from the change log as read.
    pub async fn last_change_line(&self, root: &Path, t: &NavTarget) -> Option<String> {
        let commits = self.changes_of(root, t, 1).await.ok()?;
        let c = commits.first()?;
        let id = c["commit"].as_str().unwrap_or("");
        Some(format!(
            "Last changed {} by {} in `{}`: {}",
            crate::history::ago(c["atMs"].as_i64().unwrap_or(0)),
            c["author"].as_str().unwrap_or("?"),
            &id[..id.len().min(10)],
            c["summary"].as_str().unwrap_or("")
        ))
    }

    /// The decisions and preferences of a folder anchored to a symbol (qualified name), as
    /// recalled, forgotten ones left out.
    pub(crate) async fn recall_anchored(&self, root: &Path, symbol: &str) -> Result<Vec<Value>> {
        let stored = self.stored("recall", root).await?;
        let host = self.read();
        let analysis = host.analysis();
        Ok(stored
            .iter()
            .filter(|m| m.holds_for(symbol))
            .map(|m| m.answer(&analysis))
            .collect())
    }

    /// Lines for hover: the decisions and preferences anchored to a symbol, with their
    /// status. Reads the store only (decision records are read by recall).
    pub async fn memory_lines(&self, root: &Path, symbol: &str) -> Vec<String> {
        let Ok(stored) = self.stored("hover", root).await else {
            return Vec::new();
        };
        let about: Vec<&Stored> = stored.iter().filter(|m| m.holds_for(symbol)).collect();
        let host = self.read();
        let analysis = host.analysis();
        about
            .iter()
            .rev()
            .take(3)
            .map(|m| {
                let answer = m.answer(&analysis);
                let status = answer["status"].as_str().unwrap_or("current");
                let head = m.body.title.as_deref().unwrap_or(&m.body.text);
                let head: String = head
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(120)
                    .collect();
                let source = match &m.body.source {
                    Source::Adr { path, .. } => format!(" ({path})"),
                    Source::Commit { id } => format!(" (commit {})", &id[..id.len().min(10)]),
                    Source::Remember => String::new(),
                };
                format!(
                    "{} **{status}**: {head}{source} · `{}`",
                    capitalized(m.kind()),
                    m.record.uid
                )
            })
            .collect()
    }

    /// Reads the folder's decision records that are new or changed since they were last
    /// read, and marks those deleted since as forgotten. The records it could not read,
    /// and why.
    pub async fn sync_records(&self, root: &Path) -> Vec<Skipped> {
        const OP: &str = "recall";
        let Ok(stored) = self.stored(OP, root).await else {
            return Vec::new();
        };
        let mut known: BTreeMap<String, Stored> = stored
            .into_iter()
            .filter_map(|m| match &m.body.source {
                Source::Adr { path, .. } => Some((path.clone(), m)),
                Source::Remember | Source::Commit { .. } => None,
            })
            .collect();
        let mut skipped = Vec::new();
        // Each record on disk: (path, hash, parsed), in path order.
        let mut read: Vec<(String, String, Adr)> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for dir in adr::ADR_DIRS {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| adr::is_record_name(n))
                .collect();
            names.sort();
            for name in names {
                let rel = format!("{dir}/{name}");
                let path = root.join(&rel);
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                if size > adr::MAX_ADR_BYTES as u64 {
                    seen.push(rel.clone());
                    skipped.push(Skipped {
                        path: rel,
                        reason: adr::Skip::TooLarge {
                            size: size as usize,
                        }
                        .to_string(),
                    });
                    continue;
                }
                let bytes = match std::fs::read(&path) {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        skipped.push(Skipped {
                            path: rel,
                            reason: format!("it cannot be read: {e}"),
                        });
                        continue;
                    }
                };
                seen.push(rel.clone());
                let hash = format!("{:016x}", codecontext_store::content_hash(&bytes));
                if matches!(known.get(&rel).map(|m| &m.body.source), Some(Source::Adr { hash: h, .. }) if *h == hash)
                {
                    continue;
                }
                match adr::parse(&name, &bytes) {
                    Ok(record) => read.push((rel, hash, record)),
                    Err(skip) => skipped.push(Skipped {
                        path: rel,
                        reason: skip.to_string(),
                    }),
                }
            }
        }
        for s in &skipped {
            warn!("decision record {} skipped: {}", s.path, s.reason);
        }
        let now = now_ms();
        let mut writes: Vec<(String, i64, Body)> = Vec::new();
        // Anchors new to their record, to fingerprint as the record's commit left them.
        let mut then: Vec<crate::changelog::AnchorThen> = Vec::new();
        {
            let host = self.read();
            let analysis = host.analysis();
            for (rel, hash, record) in &read {
                let old = known.get(rel);
                let mut anchors: Vec<Anchor> = Vec::new();
                for span in &record.code_spans {
                    // The longest name in the span (`calc::double()` -> `calc::double`).
                    let name = span
                        .trim_end_matches("()")
                        .trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '_'));
                    if name.is_empty() || name.contains(char::is_whitespace) {
                        continue;
                    }
                    let found = anchorable(&analysis, name);
                    if found.is_empty() || found.len() > MAX_SYMBOLS_PER_NAME {
                        continue;
                    }
                    for t in found
                        .iter()
                        .filter(|t| host.root_of(t.file).as_deref() == Some(root))
                    {
                        // An anchor the record had keeps its fingerprint from then.
                        let kept = old.and_then(|m| {
                            m.body.anchors.iter().find(|a| {
                                a.name == t.qualified_name && a.file.as_ref() == Some(&t.path)
                            })
                        });
                        let fresh = kept.is_none();
                        if let Some(a) = kept.cloned().or_else(|| symbol_anchor(&analysis, t)) {
                            if !anchors.contains(&a) && anchors.len() < MAX_ANCHORS {
                                if let (true, Some(key)) =
                                    (fresh, crate::changelog::key_of(&analysis, t))
                                {
                                    then.push(crate::changelog::AnchorThen {
                                        record: rel.clone(),
                                        name: a.name.clone(),
                                        file: t.path.clone(),
                                        key,
                                    });
                                }
                                anchors.push(a);
                            }
                        }
                    }
                }
                let mut text = record.decision.clone();
                if text.is_empty() {
                    text = record.title.clone();
                }
                let rationale = (!record.context.is_empty()).then(|| record.context.clone());
                let made_ms = old.map_or(now, |m| m.record.made_ms);
                let valid_from_ms = record.date.as_deref().and_then(date_ms).unwrap_or(made_ms);
                writes.push((
                    rel.clone(),
                    made_ms,
                    Body {
                        title: Some(record.title.clone()),
                        rationale: rationale.map(|r| capped(&r)),
                        record_status: Some(status_word(&record.status)),
                        ..Body::new(
                            capped(&text),
                            Source::Adr {
                                path: rel.clone(),
                                hash: hash.clone(),
                            },
                            anchors,
                            valid_from_ms,
                        )
                    },
                ));
            }
        }
        // A record is about the code as it was when the record was committed: a symbol
        // changed since then makes it suspect at once.
        if !then.is_empty() {
            let folder = root.to_path_buf();
            let found =
                tokio::task::spawn_blocking(move || crate::changelog::prints_then(&folder, then))
                    .await
                    .unwrap_or_default();
            for (record, name, file, print) in found {
                let Some((_, _, body)) = writes.iter_mut().find(|w| w.0 == record) else {
                    continue;
                };
                for a in body.anchors.iter_mut() {
                    if a.name == name && a.file.as_ref() == Some(&file) {
                        a.fingerprint = print;
                    }
                }
            }
        }
        let changed = !writes.is_empty();
        for (rel, made_ms, body) in writes {
            let uid = format!("adr:{rel}");
            let record = MemoryRecord {
                id: 0,
                uid,
                kind: "decision".into(),
                made_ms,
                body: Value::Null,
            };
            known.insert(
                rel,
                Stored {
                    root: root.to_path_buf(),
                    record,
                    body,
                },
            );
        }
        // Records deleted from the disk: forgotten.
        let mut dirty: Vec<String> = Vec::new();
        for (rel, m) in known.iter_mut() {
            if !seen.contains(rel) && m.body.forgotten.is_none() {
                m.body.forgotten = Some(Forgotten {
                    at_ms: now,
                    reason: Some(format!("{rel} was deleted")),
                });
                m.body.valid_to_ms.get_or_insert(now);
                dirty.push(rel.clone());
            }
        }
        if changed {
            supersede(&mut known, &read, &mut dirty);
        }
        dirty.extend(read.iter().map(|(rel, _, _)| rel.clone()));
        dirty.sort();
        dirty.dedup();
        for rel in dirty {
            let Some(m) = known.get(&rel) else { continue };
            if let Err(e) = self
                .put(
                    OP,
                    root,
                    &format!("adr:{rel}"),
                    "decision",
                    m.record.made_ms,
                    &m.body,
                )
                .await
            {
                warn!("decision record {rel} was not stored: {e}");
            }
        }
        skipped
    }
}

/// Links records that supersede one another, by link target or by number, both ways.
fn supersede(
    known: &mut BTreeMap<String, Stored>,
    read: &[(String, String, Adr)],
    dirty: &mut Vec<String>,
) {
    let number_of = |rel: &str| -> Option<u32> {
        let name = rel.rsplit('/').next()?;
        let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    let find = |known: &BTreeMap<String, Stored>, from: &str, r: &AdrRef| -> Option<String> {
        let dir = from.rsplit_once('/').map_or("", |(d, _)| d);
        if let Some(target) = &r.target {
            let target = target.trim_start_matches("./");
            let rel = format!("{dir}/{target}");
            if known.contains_key(&rel) {
                return Some(rel);
            }
        }
        let n = r.number?;
        known
            .keys()
            .find(|k| k.rsplit_once('/').map_or("", |(d, _)| d) == dir && number_of(k) == Some(n))
            .cloned()
    };
    let mut links: Vec<(String, String)> = Vec::new(); // (old, new)
    for (rel, _, record) in read {
        for r in &record.superseded_by {
            if let Some(newer) = find(known, rel, r) {
                links.push((rel.clone(), newer));
            }
        }
        for r in &record.supersedes {
            if let Some(older) = find(known, rel, r) {
                links.push((older, rel.clone()));
            }
        }
    }
    for (old, new) in links {
        if old == new {
            continue;
        }
        let since = known.get(&new).map(|m| m.body.valid_from_ms);
        if let Some(m) = known.get_mut(&old) {
            let uid = format!("adr:{new}");
            if m.body.superseded_by.as_deref() != Some(uid.as_str()) {
                m.body.superseded_by = Some(uid);
                m.body.valid_to_ms = since.or(m.body.valid_to_ms);
                dirty.push(old);
            }
        }
    }
}

/// What a file is called now, through the renames after a commit (oldest first).
fn renamed_since(path: &str, renames: &[(String, String)]) -> String {
    let mut now = path.to_string();
    for (old, new) in renames {
        if *old == now {
            now = new.clone();
        }
    }
    now
}

/// Every definition of an outline, containers before what they contain.
fn flattened(items: Vec<codecontext_analysis::OutlineItem>) -> Vec<NavTarget> {
    let mut out = Vec::new();
    let mut stack: Vec<codecontext_analysis::OutlineItem> = items.into_iter().rev().collect();
    while let Some(item) = stack.pop() {
        stack.extend(item.children.into_iter().rev());
        out.push(item.target);
    }
    out
}

fn status_word(status: &AdrStatus) -> String {
    match status {
        AdrStatus::Proposed => "proposed".into(),
        AdrStatus::Accepted => "accepted".into(),
        AdrStatus::Rejected => "rejected".into(),
        AdrStatus::Deprecated => "deprecated".into(),
        AdrStatus::Superseded => "superseded".into(),
        AdrStatus::Unknown(s) => s.clone(),
    }
}

fn capitalized(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Text of a record kept in a memory: at most [`MAX_TEXT`] bytes.
fn capped(text: &str) -> String {
    if text.len() <= MAX_TEXT {
        return text.to_string();
    }
    format!("{}…", &text[..text.floor_char_boundary(MAX_TEXT)])
}

/// Preferences learned from feedback: each kind of suggestion rejected at least
/// [`REJECTIONS_FOR_PREFERENCE`] times, and more often than accepted.
fn learned_preferences(stored: &[Stored]) -> Vec<Value> {
    let mut by_about: BTreeMap<&str, (usize, usize, Vec<&str>)> = BTreeMap::new();
    for m in stored
        .iter()
        .filter(|m| m.kind() == "feedback" && m.body.forgotten.is_none())
    {
        let (Some(about), Some(verdict)) = (m.body.about.as_deref(), m.body.verdict) else {
            continue;
        };
        let entry = by_about.entry(about).or_default();
        match verdict {
            Verdict::Rejected => {
                entry.0 += 1;
                if let Some(reason) = m.body.rationale.as_deref() {
                    if !entry.2.contains(&reason) {
                        entry.2.push(reason);
                    }
                }
            }
            Verdict::Accepted => entry.1 += 1,
            Verdict::Edited => {}
        }
    }
    by_about
        .into_iter()
        .filter(|(_, (rejected, accepted, _))| {
            *rejected >= REJECTIONS_FOR_PREFERENCE && rejected > accepted
        })
        .map(|(about, (rejected, accepted, reasons))| {
            json!({
                "kind": "preference",
                "source": {"kind": "feedback"},
                "about": about,
                "text": format!("Avoid suggesting {about}: rejected {rejected} times, accepted {accepted}"),
                "rejected": rejected,
                "accepted": accepted,
                "reasons": reasons,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Settings, Silent};

    /// A folder with `files`, indexed, persisted in a store of its own under `home`.
    fn workspace(
        home: &Path,
        files: &[(&str, &str)],
    ) -> (
        tokio::runtime::Runtime,
        tempfile::TempDir,
        PathBuf,
        Arc<Workspace>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for (rel, text) in files {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let (runtime, ws) = open_on(home, &root);
        (runtime, dir, root, ws)
    }

    /// A workspace on `root`, indexed, persisted in a store under `home`.
    fn open_on(home: &Path, root: &Path) -> (tokio::runtime::Runtime, Arc<Workspace>) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let settings = Settings {
            persist: true,
            store_home: Some(home.display().to_string()),
            ..Settings::default()
        };
        let ws = Workspace::new(settings, Arc::new(Silent), runtime.handle().clone());
        let job = ws.register_folder(root).unwrap();
        ws.index_folder(job).unwrap();
        (runtime, ws)
    }

    /// Runs git in `root` as a fixed author at a fixed time (`tick` seconds after an
    /// epoch), whatever the machine's configuration; its output.
    fn git(root: &Path, tick: u32, args: &[&str]) -> String {
        let date = format!("2026-01-01T00:{:02}:{:02}Z", tick / 60, tick % 60);
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args([
                "-c",
                "init.defaultBranch=main",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Ada")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The commits `git log -L` finds for lines `first..=last` (1-based) of `path`.
    fn git_log_l(root: &Path, path: &str, first: usize, last: usize) -> Vec<String> {
        let mut ids: Vec<String> = git(
            root,
            0,
            &[
                "log",
                "-L",
                &format!("{first},{last}:{path}"),
                "--format=%H",
                "-s",
                "--no-merges",
            ],
        )
        .lines()
        .filter(|l| l.len() == 40)
        .map(str::to_string)
        .collect();
        ids.sort();
        ids
    }

    const BILLING: &str = "def charge(account, cents):\n    if cents <= 0:\n        raise ValueError(cents)\n    return cents\n\n\ndef refund(account, cents):\n    return -cents\n\n\ndef retry_delay(attempt):\n    return 2 ** attempt\n";

    #[test]
    fn the_change_log_agrees_with_git_log_l_and_commits_carry_decisions() {
        let home = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let write = |rel: &str, text: &str| {
            std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
            std::fs::write(root.join(rel), text).unwrap();
        };
        git(&root, 0, &["init", "-q"]);
        write("billing.py", BILLING);
        write("docs/adr/0001-cents.md", "# 1. Cents\n\nDate: 2026-01-01\n\n## Status\n\nAccepted\n\n## Decision\n\n`charge` takes cents.\n");
        git(&root, 1, &["add", "."]);
        git(&root, 1, &["commit", "-qm", "billing: first"]);
        write(
            "billing.py",
            &BILLING.replace("2 ** attempt", "3 * attempt"),
        );
        git(&root, 2, &["commit", "-qam", "retry: linear\n\nBursts are punished.\n\nDecision: retries back off linearly\nWhy: the gateway counts bursts"]);
        write(
            "billing.py",
            &BILLING
                .replace("2 ** attempt", "3 * attempt")
                .replace("return cents\n", "return int(cents)\n"),
        );
        git(&root, 3, &["commit", "-qam", "charge: int"]);
        git(&root, 4, &["revert", "--no-edit", "HEAD"]);
        git(&root, 5, &["mv", "billing.py", "payments.py"]);
        let moved = BILLING
            .replace("2 ** attempt", "3 * attempt")
            .replace("return -cents", "return -abs(cents)");
        write("payments.py", &moved);
        git(&root, 5, &["commit", "-qam", "rename billing to payments"]);
        let extra = format!("{moved}\n\ndef extra():\n    return 0\n");
        write("payments.py", &extra);
        git(
            &root,
            6,
            &["commit", "-qam", "extra\n\nDecision:\nWhy: nobody knows"],
        );

        let (rt, ws) = open_on(home.path(), &root);
        let answer = recall(
            &ws,
            &rt,
            RecallRequest {
                symbol: Some("retry_delay".into()),
                ..Default::default()
            },
        );
        assert_eq!(answer["historyComplete"], true, "{answer:#}");
        let decision = answer["memories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["source"]["kind"] == "commit")
            .unwrap_or_else(|| panic!("{answer:#}"));
        assert_eq!(decision["text"], "retries back off linearly");
        assert_eq!(decision["rationale"], "the gateway counts bursts");
        assert_eq!(decision["author"], "Ada");
        assert_eq!(decision["status"], "current", "{decision:#}");
        assert_eq!(decision["anchors"][0]["name"], "payments.retry_delay");
        let skipped = answer["skipped"].as_array().unwrap();
        assert!(
            skipped.iter().any(|s| s["reason"]
                .as_str()
                .unwrap()
                .contains("`Decision:` trailer is empty")),
            "{skipped:?}"
        );
        let [symbol] = answer["changes"].as_array().unwrap().as_slice() else {
            panic!("{answer:#}")
        };
        let summaries: Vec<&str> = symbol["commits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["summary"].as_str().unwrap())
            .collect();
        assert_eq!(
            summaries,
            ["retry: linear", "billing: first"],
            "followed through the rename"
        );

        // Every definition's commits, as `git log -L` finds them for its lines.
        let agree = |rel: &str, text: &str, expected: usize| {
            let targets: Vec<NavTarget> = {
                let host = ws.read();
                let analysis = host.analysis();
                let file = host.file_id(&root.join(rel)).unwrap();
                flattened(analysis.outline(file))
                    .into_iter()
                    .filter(|t| ["function", "method", "class"].contains(&t.kind.as_str()))
                    .collect()
            };
            assert_eq!(targets.len(), expected, "{targets:?}");
            for t in &targets {
                let first = text[..t.range.start as usize].matches('\n').count() + 1;
                let last = text[..t.range.end as usize]
                    .trim_end_matches('\n')
                    .matches('\n')
                    .count()
                    + 1;
                let mut ours: Vec<String> = rt
                    .block_on(ws.changes_of(&root, t, 100))
                    .unwrap()
                    .iter()
                    .map(|c| c["commit"].as_str().unwrap().to_string())
                    .collect();
                ours.sort();
                assert_eq!(
                    ours,
                    git_log_l(&root, rel, first, last),
                    "{}",
                    t.qualified_name
                );
            }
        };
        agree("payments.py", &extra, 4);

        // A new commit: read on its own; the decision it made suspect once the code moved on.
        write("payments.py", &extra.replace("3 * attempt", "4 * attempt"));
        git(&root, 7, &["commit", "-qam", "retry: steeper"]);
        ws.changed_on_disk(&root.join("payments.py"), false);
        let read = rt.block_on(ws.read_history(&root)).unwrap();
        assert_eq!(read.commits, 1);
        let answer = recall(
            &ws,
            &rt,
            RecallRequest {
                symbol: Some("payments.retry_delay".into()),
                ..Default::default()
            },
        );
        let decision = answer["memories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["source"]["kind"] == "commit")
            .unwrap();
        assert_eq!(decision["status"], "suspect");
        assert_eq!(
            answer["changes"][0]["commits"][0]["summary"],
            "retry: steeper"
        );

        // A class renamed keeps its members' histories; a function deleted and written
        // again later is a new one; overloads are each their own.
        let ledger = "from typing import overload\n\n\nclass Ledger:\n    def post(self, entry):\n        self.entries.append(entry)\n\n    def balance(self):\n        return sum(self.entries)\n\n    @overload\n    def get(self, i: int) -> int: ...\n    @overload\n    def get(self, i: str) -> str: ...\n    def get(self, i):\n        return self.entries[i]\n";
        write("ledger.py", ledger);
        git(&root, 8, &["add", "ledger.py"]);
        git(&root, 8, &["commit", "-qm", "ledger"]);
        let ledger = ledger.replace("append(entry)", "append(dict(entry))");
        write("ledger.py", &ledger);
        git(&root, 9, &["commit", "-qam", "post: copy"]);
        let ledger = ledger.replace("class Ledger:", "class Book:");
        write("ledger.py", &ledger);
        git(&root, 10, &["commit", "-qam", "Ledger is a Book"]);
        let ledger = ledger
            .replace("sum(self.entries)", "sum(self.entries, 0)")
            .replace("return self.entries[i]", "return self.entries[int(i)]");
        write("ledger.py", &ledger);
        git(&root, 11, &["commit", "-qam", "balance: start at 0"]);
        let steeper = moved.replace("3 * attempt", "4 * attempt");
        write("payments.py", &steeper);
        git(&root, 12, &["commit", "-qam", "no extra"]);
        let again = format!("{steeper}\n\ndef extra():\n    return 1\n");
        write("payments.py", &again);
        git(&root, 13, &["commit", "-qam", "extra again"]);
        let read = rt.block_on(ws.read_history(&root)).unwrap();
        assert_eq!(read.commits, 6);
        ws.changed_on_disk(&root.join("ledger.py"), false);
        ws.changed_on_disk(&root.join("payments.py"), false);
        let post = recall(
            &ws,
            &rt,
            RecallRequest {
                symbol: Some("Book.post".into()),
                ..Default::default()
            },
        );
        let summaries: Vec<&str> = post["changes"][0]["commits"]
            .as_array()
            .unwrap_or_else(|| panic!("{post:#}"))
            .iter()
            .map(|c| c["summary"].as_str().unwrap())
            .collect();
        assert_eq!(summaries, ["post: copy", "ledger"], "{post:#}");
        agree("ledger.py", &ledger, 6);
        agree("payments.py", &again, 4);
    }

    #[test]
    fn a_record_is_anchored_to_the_code_as_its_commit_left_it() {
        let home = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        git(&root, 0, &["init", "-q"]);
        std::fs::write(root.join("billing.py"), BILLING).unwrap();
        git(&root, 1, &["add", "."]);
        git(&root, 1, &["commit", "-qm", "billing"]);
        std::fs::create_dir_all(root.join("docs/adr")).unwrap();
        std::fs::write(
            root.join("docs/adr/0001-cents.md"),
            nygard(1, "Cents", "Accepted", "`charge` takes cents."),
        )
        .unwrap();
        git(&root, 2, &["add", "."]);
        git(&root, 2, &["commit", "-qm", "adr: cents"]);
        // The code moved on after the record; CodeContext reads the record only now.
        std::fs::write(
            root.join("billing.py"),
            BILLING.replace("return cents\n", "return round(cents)\n"),
        )
        .unwrap();
        git(&root, 3, &["commit", "-qam", "charge: round"]);
        // A record not committed yet is about the code as it is.
        std::fs::write(
            root.join("docs/adr/0002-refunds.md"),
            nygard(2, "Refunds", "Accepted", "`refund` negates."),
        )
        .unwrap();

        let (rt, ws) = open_on(home.path(), &root);
        let answer = recall(&ws, &rt, RecallRequest::default());
        let cents = by_id(&answer, "adr:docs/adr/0001-cents.md");
        assert_eq!(cents["status"], "suspect", "{cents:#}");
        assert_eq!(cents["anchors"][0]["drift"], "body_changed");
        let refunds = by_id(&answer, "adr:docs/adr/0002-refunds.md");
        assert_eq!(refunds["status"], "current", "{refunds:#}");
    }

    #[test]
    fn style_is_measured_per_author_and_habits_come_from_runs() {
        let home = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        git(&root, 0, &["init", "-q"]);
        // Ada: single quotes, four spaces, `from` imports, snake_case.
        let ada = "from os import path\n\n\ndef load_file(name):\n    if name:\n        return path.join('a', name)\n    return 'none'\n";
        std::fs::write(root.join("ada.py"), ada).unwrap();
        git(&root, 1, &["add", "."]);
        git(&root, 1, &["commit", "-qm", "ada"]);
        // Bob: double quotes, two spaces, plain imports, camelCase.
        let bob = "import os\n\n\ndef loadFile(name):\n  if name:\n    return os.path.join(\"b\", name)\n  return \"none\"\n";
        std::fs::write(root.join("bob.py"), bob).unwrap();
        git(&root, 2, &["add", "."]);
        git(
            &root,
            2,
            &["commit", "-qm", "bob", "--author", "Bob <bob@example.com>"],
        );

        let (rt, ws) = open_on(home.path(), &root);
        for (test, command) in [
            ("test_a", "pytest -q"),
            ("test_a", "pytest -q"),
            ("test_b", "cargo test"),
        ] {
            let run = codecontext_store::RunRecord {
                id: 0,
                at_ms: 1,
                kind: codecontext_store::RunKind::Verify,
                status: "passed".into(),
                edit_hash: None,
                diff: None,
                symbols: vec![],
                files: vec![],
                wall_ms: 1,
                cpu_ms: 1,
                peak_memory_bytes: 0,
                passed: 1,
                failed: 0,
                detail: json!({
                    "command": command.split(' ').collect::<Vec<_>>(),
                    "tests": [{ "name": test, "outcome": "passed" }],
                }),
            };
            rt.block_on(ws.record_run(&root, run)).unwrap();
        }
        let project = recall(&ws, &rt, RecallRequest::default());
        let [python] = project["style"].as_array().unwrap().as_slice() else {
            panic!("{project:#}")
        };
        assert_eq!(python["language"], "python");
        assert_eq!(python["commits"]["commits"], 2);
        let author = |answer: &Value, email: &str| -> Value {
            answer["style"][0]["authors"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["email"] == email)
                .cloned()
                .unwrap_or_else(|| panic!("no {email} in {answer:#}"))
        };
        let a = author(&project, "ada@example.com")["habits"].clone();
        assert_eq!(a["quotes"]["value"], "single", "{a:#}");
        assert_eq!(a["indent"]["value"], "4");
        assert_eq!(a["imports"]["value"], "from_import");
        assert_eq!(a["naming"]["function"]["value"], "snake_case");
        let b = author(&project, "bob@example.com")["habits"].clone();
        assert_eq!(b["quotes"]["value"], "double", "{b:#}");
        assert_eq!(b["indent"]["value"], "2");
        assert_eq!(b["imports"]["value"], "import_module");
        assert_eq!(b["naming"]["function"]["value"], "camelCase");
        let habits = &project["habits"];
        assert_eq!(
            habits["commands"][0],
            json!({ "what": "pytest -q", "runs": 2 }),
            "{habits:#}"
        );
        assert_eq!(habits["tests"][0], json!({ "what": "test_a", "runs": 2 }));
        // A file: the authors who changed it only.
        let file = recall(
            &ws,
            &rt,
            RecallRequest {
                file: Some("bob.py".into()),
                ..Default::default()
            },
        );
        let authors = file["style"][0]["authors"].as_array().unwrap();
        assert_eq!(authors.len(), 1, "{file:#}");
        assert_eq!(authors[0]["author"], "Bob");
    }

    const LIB: &str = "pub fn parse_config(text: &str) -> u32 {\n    text.len() as u32\n}\n\npub fn retry_policy(n: u32) -> u32 {\n    n * 2\n}\n";

    fn nygard(number: u32, title: &str, status: &str, decision: &str) -> String {
        format!("# {number}. {title}\n\nDate: 2026-0{number}-01\n\n## Status\n\n{status}\n\n## Context\n\nWhy {number}.\n\n## Decision\n\n{decision}\n\n## Consequences\n\nSome.\n")
    }

    fn recall(ws: &Arc<Workspace>, rt: &tokio::runtime::Runtime, request: RecallRequest) -> Value {
        rt.block_on(ws.recall(request)).unwrap()
    }

    fn by_id<'a>(answer: &'a Value, id: &str) -> &'a Value {
        answer["memories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {answer:#}"))
    }

    #[test]
    fn records_are_anchored_superseded_and_turn_suspect_then_orphaned() {
        let home = tempfile::tempdir().unwrap();
        let first = nygard(
            1,
            "Parse by hand",
            "Superseded by [2. Use serde](0002-use-serde.md)",
            "We parse in `parse_config` by hand.",
        );
        let second = nygard(
            2,
            "Use serde",
            "Accepted\n\nSupersedes [1. Parse by hand](0001-parse-by-hand.md)",
            "`parse_config` uses serde; `retry_policy` doubles.",
        );
        let huge = format!("# 3. Huge\n\n{}", "x".repeat(adr::MAX_ADR_BYTES));
        let (rt, _dir, root, ws) = workspace(
            home.path(),
            &[
                ("src/lib.rs", LIB),
                ("docs/adr/0001-parse-by-hand.md", &first),
                ("docs/adr/0002-use-serde.md", &second),
                ("docs/adr/0003-huge.md", &huge),
                ("docs/adr/README.md", "# Decisions\n"),
            ],
        );
        std::fs::write(
            root.join("docs/adr/0004-binary.md"),
            b"# 4. Bin\n\0\x01\x02",
        )
        .unwrap();
        std::fs::write(root.join("docs/adr/0005-latin1.md"), b"# 5. Caf\xe9\n").unwrap();

        let answer = recall(&ws, &rt, RecallRequest::default());
        let one = by_id(&answer, "adr:docs/adr/0001-parse-by-hand.md");
        assert_eq!(one["status"], "superseded");
        assert_eq!(one["supersededBy"], "adr:docs/adr/0002-use-serde.md");
        let two = by_id(&answer, "adr:docs/adr/0002-use-serde.md");
        assert_eq!(two["status"], "current", "{two:#}");
        assert_eq!(two["title"], "Use serde");
        assert_eq!(two["validFromMs"], date_ms("2026-02-01").unwrap());
        assert_eq!(
            one["validToMs"], two["validFromMs"],
            "bi-temporal: 1 held until 2 took over"
        );
        let anchored: Vec<&str> = two["anchors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert!(
            anchored.iter().any(|a| a.ends_with("parse_config"))
                && anchored.iter().any(|a| a.ends_with("retry_policy")),
            "{anchored:?}"
        );
        // Bad records are skipped, each with its reason; the README is not a record.
        let skipped: Vec<(String, String)> = answer["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["path"].as_str().unwrap().to_string(),
                    s["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(skipped.len(), 3, "{skipped:?}");
        assert!(
            skipped[0].0.ends_with("0003-huge.md") && skipped[0].1.contains("limit"),
            "{skipped:?}"
        );
        assert!(skipped[1].1.contains("binary"), "{skipped:?}");
        assert!(skipped[2].1.contains("UTF-8"), "{skipped:?}");
        assert_eq!(answer["memories"].as_array().unwrap().len(), 2);

        // An edit of an anchored body: suspect, and the anchor says which.
        std::fs::write(root.join("src/lib.rs"), LIB.replace("n * 2", "n * 3")).unwrap();
        ws.changed_on_disk(&root.join("src/lib.rs"), false);
        let answer = recall(
            &ws,
            &rt,
            RecallRequest {
                symbol: Some("retry_policy".into()),
                ..Default::default()
            },
        );
        let two = by_id(&answer, "adr:docs/adr/0002-use-serde.md");
        assert_eq!(two["status"], "suspect");
        let drift: Vec<&str> = two["anchors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["drift"].as_str().unwrap())
            .collect();
        assert!(
            drift.contains(&"body_changed") && drift.contains(&"same"),
            "{drift:?}"
        );
        assert_eq!(
            answer["memories"].as_array().unwrap().len(),
            1,
            "the first record is not about retry_policy"
        );

        // Both anchored symbols gone: orphaned.
        std::fs::write(root.join("src/lib.rs"), "pub fn other() {}\n").unwrap();
        ws.changed_on_disk(&root.join("src/lib.rs"), false);
        let answer = recall(
            &ws,
            &rt,
            RecallRequest {
                file: Some("src/lib.rs".into()),
                ..Default::default()
            },
        );
        assert_eq!(
            by_id(&answer, "adr:docs/adr/0002-use-serde.md")["status"],
            "orphaned"
        );

        // A record deleted from the disk is forgotten, out of recall unless asked for.
        std::fs::remove_file(root.join("docs/adr/0001-parse-by-hand.md")).unwrap();
        let answer = recall(&ws, &rt, RecallRequest::default());
        assert_eq!(answer["memories"].as_array().unwrap().len(), 1);
        let answer = recall(
            &ws,
            &rt,
            RecallRequest {
                include_forgotten: true,
                ..Default::default()
            },
        );
        assert_eq!(
            by_id(&answer, "adr:docs/adr/0001-parse-by-hand.md")["status"],
            "forgotten"
        );
    }

    #[test]
    fn remembered_memories_are_anchored_superseded_forgotten_and_survive_a_restart() {
        let home = tempfile::tempdir().unwrap();
        let (rt, _dir, root, ws) = workspace(home.path(), &[("src/lib.rs", LIB)]);
        let first = rt
            .block_on(ws.remember(RememberRequest {
                kind: "decision".into(),
                text: "Retries double".into(),
                rationale: Some("the server rate-limits".into()),
                symbols: vec!["retry_policy".into()],
                ..Default::default()
            }))
            .unwrap();
        assert_eq!(first["status"], "current");
        assert_eq!(first["anchors"][0]["drift"], "same");
        let id = first["id"].as_str().unwrap().to_string();
        let second = rt
            .block_on(ws.remember(RememberRequest {
                kind: "decision".into(),
                text: "Retries triple".into(),
                symbols: vec!["retry_policy".into()],
                files: vec!["src/lib.rs".into()],
                supersedes: Some(id.clone()),
                ..Default::default()
            }))
            .unwrap();
        assert_eq!(second["anchors"].as_array().unwrap().len(), 2);
        let pref = rt
            .block_on(ws.remember(RememberRequest {
                kind: "preference".into(),
                text: "Prefer iterators to index loops".into(),
                ..Default::default()
            }))
            .unwrap();

        // Bad requests are refused with a reason.
        for (request, says) in [
            (
                RememberRequest {
                    kind: "wish".into(),
                    text: "x".into(),
                    ..Default::default()
                },
                "`kind`",
            ),
            (
                RememberRequest {
                    kind: "decision".into(),
                    text: "  ".into(),
                    ..Default::default()
                },
                "empty",
            ),
            (
                RememberRequest {
                    kind: "decision".into(),
                    text: "x".repeat(MAX_TEXT + 1),
                    ..Default::default()
                },
                "limit",
            ),
            (
                RememberRequest {
                    kind: "decision".into(),
                    text: "x".into(),
                    symbols: vec!["no_such_fn".into()],
                    ..Default::default()
                },
                "no symbol",
            ),
            (
                RememberRequest {
                    kind: "decision".into(),
                    text: "x".into(),
                    supersedes: Some("m-nope".into()),
                    ..Default::default()
                },
                "no memory",
            ),
        ] {
            let e = rt.block_on(ws.remember(request)).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }

        let answer = recall(
            &ws,
            &rt,
            RecallRequest {
                symbol: Some("retry_policy".into()),
                ..Default::default()
            },
        );
        assert_eq!(by_id(&answer, &id)["status"], "superseded");
        assert_eq!(
            by_id(&answer, second["id"].as_str().unwrap())["status"],
            "current"
        );
        let answer = recall(
            &ws,
            &rt,
            RecallRequest {
                query: Some("ITERATORS loops".into()),
                ..Default::default()
            },
        );
        assert_eq!(answer["memories"].as_array().unwrap().len(), 1);
        assert_eq!(answer["memories"][0]["id"], pref["id"]);

        rt.block_on(ws.forget(ForgetRequest {
            id: pref["id"].as_str().unwrap().into(),
            reason: Some("we changed our mind".into()),
        }))
        .unwrap();
        let e = rt
            .block_on(ws.forget(ForgetRequest {
                id: "m-nope".into(),
                reason: None,
            }))
            .unwrap_err();
        assert!(e.to_string().contains("no memory"), "{e}");
        drop(ws);
        drop(rt);

        // Another server on the same folder and store finds what the first remembered.
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let settings = Settings {
            persist: true,
            store_home: Some(home.path().display().to_string()),
            ..Settings::default()
        };
        let ws = Workspace::new(settings, Arc::new(Silent), runtime.handle().clone());
        let job = ws.register_folder(&root).unwrap();
        ws.index_folder(job).unwrap();
        let answer = recall(&ws, &runtime, RecallRequest::default());
        assert_eq!(
            answer["memories"].as_array().unwrap().len(),
            2,
            "{answer:#}"
        );
        let answer = recall(
            &ws,
            &runtime,
            RecallRequest {
                include_forgotten: true,
                ..Default::default()
            },
        );
        let forgotten = by_id(&answer, pref["id"].as_str().unwrap());
        assert_eq!(forgotten["status"], "forgotten");
        assert_eq!(forgotten["forgotten"]["reason"], "we changed our mind");
        assert!(forgotten["validToMs"].is_i64());
    }

    #[test]
    fn a_slowdown_is_tied_to_its_commit_and_a_gain_to_the_decision_behind_it() {
        let home = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        git(&root, 0, &["init", "-q"]);
        std::fs::write(root.join("billing.py"), BILLING).unwrap();
        git(&root, 1, &["add", "."]);
        git(&root, 1, &["commit", "-qm", "billing: first"]);
        let slow = BILLING.replace("2 ** attempt", "sum(2 ** i for i in range(attempt))");
        std::fs::write(root.join("billing.py"), &slow).unwrap();
        git(&root, 10, &["commit", "-qam", "retry: sum the backoffs"]);
        std::fs::write(
            root.join("billing.py"),
            slow.replace("return -cents", "return -abs(cents)"),
        )
        .unwrap();
        git(&root, 11, &["commit", "-qam", "refund: abs"]);
        std::fs::write(
            root.join("billing.py"),
            BILLING.replace("return -cents", "return -abs(cents)"),
        )
        .unwrap();
        git(
            &root,
            19,
            &[
                "commit",
                "-qam",
                "retry: faster\n\nDecision: compute the backoff in closed form",
            ],
        );

        let (rt, ws) = open_on(home.path(), &root);
        rt.block_on(ws.read_history(&root)).unwrap();
        // Verifications of edits to retry_delay: ~100 ms, ~150 ms after the second commit,
        // ~60 ms after the fourth.
        let epoch = date_ms("2026-01-01").unwrap();
        let project = codecontext_store::project_key(&root);
        let point = |second: i64, wall: f64| codecontext_store::Point {
            at_ms: epoch + second * 1000 + 500,
            measurement: "verify".into(),
            tags: vec![
                ("project".into(), project.clone()),
                ("symbol".into(), "billing.retry_delay".into()),
                ("verdict".into(), "passed".into()),
            ],
            fields: vec![("wall_ms".into(), wall)],
        };
        let wobble = |i: i64| 1.0 + 0.02 * ((i * 7 % 5) as f64 - 2.0);
        let mut points: Vec<_> = (2..10).map(|s| point(s, 100.0 * wobble(s))).collect();
        points.extend((12..19).map(|s| point(s, 150.0 * wobble(s))));
        points.extend((20..28).map(|s| point(s, 60.0 * wobble(s))));
        // A test its verifications ran got slower with the same commit: ~20 ms, then
        // ~45 ms. Another test ran too, and kept its pace.
        const TEST: &str = "tests/test_billing.py::test_retry";
        const STEADY: &str = "tests/test_billing.py::test_charge";
        let test_point = |second: i64, test: &str, ms: f64| codecontext_store::Point {
            at_ms: epoch + second * 1000 + 600,
            measurement: "test".into(),
            tags: vec![
                ("project".into(), project.clone()),
                ("test".into(), test.into()),
                ("outcome".into(), "passed".into()),
            ],
            fields: vec![("duration_ms".into(), ms)],
        };
        points.extend((2..10).map(|s| test_point(s, TEST, 20.0 * wobble(s))));
        points.extend((12..28).map(|s| test_point(s, TEST, 45.0 * wobble(s))));
        points.extend((2..28).map(|s| test_point(s, STEADY, 5.0 * wobble(s))));
        rt.block_on(ws.record_points(&root, points));
        let run = codecontext_store::RunRecord {
            id: 0,
            at_ms: epoch + 12_000,
            kind: codecontext_store::RunKind::Verify,
            status: "passed".into(),
            edit_hash: None,
            diff: None,
            symbols: vec!["billing.retry_delay".into()],
            files: vec!["billing.py".into()],
            wall_ms: 150,
            cpu_ms: 100,
            peak_memory_bytes: 0,
            passed: 2,
            failed: 0,
            detail: json!({ "tests": [{ "name": TEST }, { "name": STEADY }] }),
        };
        rt.block_on(ws.record_run(&root, run)).unwrap();
        rt.block_on(ws.settle(std::time::Duration::from_secs(30)));

        let answer = recall(
            &ws,
            &rt,
            RecallRequest {
                symbol: Some("retry_delay".into()),
                ..Default::default()
            },
        );
        let performance = &answer["changes"][0]["performance"];
        assert_eq!(performance["points"], 23, "{performance:#}");
        let shifts = performance["shifts"].as_array().unwrap();
        assert_eq!(shifts.len(), 2, "{performance:#}");
        let slower = &shifts[0];
        assert!(
            (slower["change"].as_f64().unwrap() - 0.5).abs() < 0.05,
            "{slower:#}"
        );
        // Both commits fall between the points; the one that changed retry_delay first.
        let commits: Vec<(&str, bool)> = slower["commits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["summary"].as_str().unwrap(),
                    c["changedSymbol"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            commits,
            [("retry: sum the backoffs", true), ("refund: abs", false)]
        );
        assert!(slower["appliedOptimizations"]
            .as_array()
            .unwrap()
            .is_empty());
        let faster = &shifts[1];
        assert!(faster["change"].as_f64().unwrap() < -0.5, "{faster:#}");
        assert_eq!(faster["commits"][0]["summary"], "retry: faster");
        assert_eq!(
            faster["appliedOptimizations"][0]["text"], "compute the backoff in closed form",
            "{faster:#}"
        );
        // The test that got slower, tied to the same commit; the steady one not listed.
        let [test] = performance["tests"].as_array().unwrap().as_slice() else {
            panic!("{performance:#}")
        };
        assert_eq!(test["test"], TEST);
        assert_eq!(test["points"], 24);
        let [shift] = test["shifts"].as_array().unwrap().as_slice() else {
            panic!("{test:#}")
        };
        assert!(shift["change"].as_f64().unwrap() > 1.0, "{shift:#}");
        assert_eq!(shift["commits"][0]["summary"], "retry: sum the backoffs");
        assert_eq!(shift["commits"][0]["changedSymbol"], true);
    }

    #[test]
    fn repeated_rejections_become_a_preference() {
        let home = tempfile::tempdir().unwrap();
        let (rt, _dir, _root, ws) = workspace(home.path(), &[("src/lib.rs", LIB)]);
        let give = |verdict: Verdict| {
            rt.block_on(ws.feedback(FeedbackRequest {
                about: "rule:no-unwrap".into(),
                verdict,
                reason: Some("tests may unwrap".into()),
                symbols: vec![],
                files: vec!["src/lib.rs".into()],
            }))
            .unwrap()
        };
        assert!(give(Verdict::Rejected)["preference"].is_null());
        assert!(give(Verdict::Accepted)["preference"].is_null());
        assert!(give(Verdict::Rejected)["preference"].is_null());
        // Three rejections, one acceptance: a preference.
        let answer = give(Verdict::Rejected);
        assert_eq!(answer["feedback"]["kind"], "feedback");
        assert_eq!(answer["preference"]["rejected"], 3);
        assert_eq!(answer["preference"]["reasons"], json!(["tests may unwrap"]));
        let answer = recall(
            &ws,
            &rt,
            RecallRequest {
                query: Some("unwrap".into()),
                ..Default::default()
            },
        );
        assert_eq!(answer["learned"].as_array().unwrap().len(), 1);
        assert_eq!(answer["memories"].as_array().unwrap().len(), 4);
        // Two acceptances more: no longer rejected more often than accepted.
        give(Verdict::Accepted);
        give(Verdict::Accepted);
        let answer = recall(&ws, &rt, RecallRequest::default());
        assert!(answer["learned"].as_array().unwrap().is_empty());
    }
}
