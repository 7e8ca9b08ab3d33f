//! Assessment of a proposed edit, before anyone runs it: which symbols it changes and
//! what reaches them (callers and dependents, transitively, and the tests among them),
//! how their complexity moves, whether the names it adds follow the project's own
//! conventions, and which calls it breaks. Each finding is located, has a confidence,
//! and, where the fix is mechanical (a rename to the convention), carries it as an edit.
//!
//! The edit arrives as each file's text before and after ([`Change`]); the metrics come
//! from parsing both (see [`metrics`]), the rest from the knowledge graph of the text
//! before. Nothing is written.

pub mod metrics;
pub mod naming;
pub mod nulls;
pub mod perf;
pub mod risk;
pub mod usage;

use std::path::{Path, PathBuf};

use codecontext_analysis::{
    cancel, AffectedTest, Analysis, EditScope, EntityId, EntityLoc, FileId, How, RefKind, RefLoc,
    Walk,
};
use codecontext_lang::Language;
use codecontext_text::{LineIndex, PositionEncoding};
use serde::Serialize;

use metrics::Symbol;
pub use metrics::{Arity, Metrics, MetricsDelta};
pub use naming::{Convention, Group, Style};

/// One file of the edit: its absolute path, its text before (`None`: the edit creates
/// it) and after (`None`: the edit deletes it).
#[derive(Clone, Debug)]
pub struct Change {
    pub path: PathBuf,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What the edit changes and what to think of it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Assessment {
    /// The files the edit touches, relative to the folder.
    pub files: Vec<String>,
    /// The functions, methods and types it adds, changes or removes, in file order.
    pub symbols: Vec<ChangedSymbol>,
    /// The project's naming conventions in the languages the edit touches.
    pub conventions: Vec<Convention>,
    /// Warnings first, then suggestions; each located.
    pub findings: Vec<Finding>,
    /// The changed functions predicted to be slower, and the tests that will feel it.
    pub performance: Vec<perf::Prediction>,
    /// How likely the edit is to need a fix later, from a model trained on the
    /// project's history; none without a git history to learn from (see `riskStatus`).
    pub risk: Option<risk::Risk>,
    /// `scored`, `training` (the history is being learned; ask again), or why there is
    /// no score (`no git history`, `too little history`).
    pub risk_status: String,
    /// Some walk stopped at the request's time budget: impacts are lower bounds.
    pub truncated: bool,
}

/// A symbol the edit adds, changes or removes.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedSymbol {
    /// Its qualified name (for a new one, where it will be).
    pub symbol: String,
    pub kind: String,
    /// `added`, `modified` or `removed`.
    pub change: &'static str,
    /// `path:line:col` (1-based) of its name: after the edit, or before for a removal.
    pub location: String,
    /// Functions only: the metrics before and after, and the change.
    pub before: Option<Metrics>,
    pub after: Option<Metrics>,
    pub delta: Option<MetricsDelta>,
    /// What reaches it (for symbols the graph knows: modified or removed).
    pub impact: Option<Impact>,
}

/// What reaches a symbol: whatever calls, reads or names it, transitively.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    /// How many symbols reach it, up to [`IMPACT_DEPTH`] steps away.
    pub reached: usize,
    /// False when calls that resolve to nothing may also reach it, or the walk stopped
    /// at its limit: `reached` is then a lower bound.
    pub complete: bool,
    /// The nearest, at most [`IMPACT_LISTED`].
    pub nearest: Vec<Reaching>,
    /// The tests that reach it (qualified names; a JavaScript test file's path).
    pub tests: Vec<String>,
}

/// A symbol that reaches a changed one.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reaching {
    pub symbol: String,
    pub kind: String,
    pub location: String,
    pub depth: u32,
}

/// Something to act on.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// `naming`, `clone`, `complexity`, `nesting`, `parameters`, `length`,
    /// `broken-call`, `removed-but-called`, `untested`, `performance`, `risk`.
    pub kind: &'static str,
    /// `warning` (likely wrong) or `suggestion` (worth a look).
    pub severity: &'static str,
    pub symbol: String,
    pub location: String,
    pub message: String,
    /// How sure the assessment is, 0 to 1.
    pub confidence: f64,
    /// The mechanical fix, as an edit of the text after the proposed edit.
    pub edit: Option<FixEdit>,
}

/// A replacement in a file after the proposed edit; positions are 0-based, columns in
/// UTF-16 code units (LSP's default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FixEdit {
    pub path: String,
    pub start: Position,
    pub end: Position,
    pub new_text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

/// A risk score from this on is a finding.
pub const RISKY: f64 = 0.5;

/// How far the impact walk goes.
pub const IMPACT_DEPTH: u32 = 3;
/// At most this many symbols are walked for one impact.
pub const IMPACT_LIMIT: usize = 500;
/// At most this many are listed.
pub const IMPACT_LISTED: usize = 20;

/// Thresholds past which a function's metric is worth a finding, when the edit raised it.
const COMPLEX: u32 = 10;
const COGNITIVE: u32 = 15;
const NESTED: u32 = 4;
const PARAMETERS: u32 = 5;
const LINES: u32 = 100;

/// A call of a changed function from a file the edit leaves alone.
struct CallSite<'t> {
    lang: &'static Language,
    /// Its argument list.
    arguments: tree_sitter::Node<'t>,
    /// The calling file's text.
    text: &'t str,
    /// `path:line:col` of the callee's name.
    site: String,
    /// The reference resolved exactly to the function.
    exact: bool,
}

/// What the project's history offers: the risk model, and the tests' recorded times.
#[derive(Clone, Copy)]
pub struct HistoryInput<'a> {
    /// The history learned, when it is.
    pub learned: Option<&'a risk::Learned>,
    /// Why there is none, when there is none (`training`, `no git history`).
    pub status: &'a str,
    /// Who makes the change (`user.email`).
    pub author: &'a str,
    /// Seconds since the epoch.
    pub now: i64,
    /// The tests' durations in the runs recorded so far.
    pub times: &'a perf::TestTimes,
    /// The names the project's test runner gives the tests the graph finds.
    pub runner: Option<perf::RunnerName<'a>>,
}

/// A prediction this sure is a finding.
const PREDICTED: f64 = 0.4;

/// Assesses `changes` (files under `root`) against the analysis of the text before and
/// the project's history.
pub fn assess(
    analysis: &Analysis<'_>,
    root: &Path,
    changes: &[Change],
    history: HistoryInput<'_>,
) -> Assessment {
    let mut risky = None;
    let mut assessment = Assessment {
        files: Vec::new(),
        symbols: Vec::new(),
        conventions: Vec::new(),
        findings: Vec::new(),
        performance: Vec::new(),
        risk: None,
        risk_status: history.status.to_string(),
        truncated: false,
    };
    if let Some(learned) = history.learned {
        let stats: Vec<risk::FileStat> = changes
            .iter()
            .map(|c| {
                risk::line_stat(
                    &relative(root, &c.path),
                    c.before.as_deref().unwrap_or_default(),
                    c.after.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        assessment.risk = learned.risk(history.author, history.now, &stats);
        if let Some(r) = assessment.risk.as_ref().filter(|r| r.score >= RISKY) {
            risky = Some(r.clone());
        }
        assessment.risk_status = match assessment.risk {
            Some(_) => "scored".into(),
            None => "too little history".into(),
        };
    }
    let conventions = naming::conventions(analysis);
    let mut clones = Clones::default();
    let changed_files: Vec<FileId> = changes
        .iter()
        .filter_map(|c| analysis.host().file_id(&c.path))
        .collect();
    let mut languages = Vec::new();
    for change in changes {
        cancel::check();
        let rel = relative(root, &change.path);
        assessment.files.push(rel.clone());
        let Some(lang) = codecontext_lang::language_for_path(&change.path) else {
            continue;
        };
        if !languages.contains(&lang.config.name.as_str()) {
            languages.push(lang.config.name.as_str());
        }
        let file = FileSide {
            analysis,
            lang,
            rel,
            id: analysis.host().file_id(&change.path),
        };
        file.assess(
            change,
            &conventions,
            &changed_files,
            &history,
            &mut clones,
            &mut assessment,
        );
    }
    clones.report(analysis, &mut assessment.findings);
    if let Some(r) = risky {
        // Located at the first symbol the edit changes, else its first file.
        let location = assessment
            .symbols
            .first()
            .map(|s| s.location.clone())
            .or_else(|| assessment.files.first().map(|f| format!("{f}:1:1")))
            .unwrap_or_default();
        let symbol = assessment
            .symbols
            .first()
            .map(|s| s.symbol.clone())
            .unwrap_or_default();
        let why: Vec<&str> = r.factors.iter().map(|f| f.feature).collect();
        assessment.findings.push(Finding {
            kind: "risk",
            severity: "warning",
            symbol,
            location,
            message: format!(
                "changes like this one needed a fix later in this project's history (risk {:.2}); most of all: {}",
                r.score,
                why.join(", ")
            ),
            confidence: r.score,
            edit: None,
        });
    }
    assessment.conventions = conventions
        .into_iter()
        .filter(|c| languages.contains(&c.language))
        .collect();
    assessment
        .findings
        .sort_by_key(|f| (f.severity != "warning", f.location.clone()));
    assessment.truncated = cancel::was_cut();
    assessment
}

/// One changed file of one language.
struct FileSide<'a, 'b> {
    analysis: &'b Analysis<'a>,
    lang: &'static Language,
    rel: String,
    /// The file in the graph (none for a new file).
    id: Option<FileId>,
}

impl FileSide<'_, '_> {
    fn assess(
        &self,
        change: &Change,
        conventions: &[Convention],
        changed_files: &[FileId],
        history: &HistoryInput<'_>,
        clones: &mut Clones,
        out: &mut Assessment,
    ) {
        let before_text = change.before.as_deref().unwrap_or_default();
        let after_text = change.after.as_deref().unwrap_or_default();
        let (before, after) = metrics::edited_symbols(self.lang, before_text, after_text);
        let before_index = LineIndex::new(before_text);
        let after_index = LineIndex::new(after_text);
        let mut matched = vec![false; before.len()];
        for a in &after {
            let old = before.iter().enumerate().find(|(i, b)| {
                !matched[*i] && b.path == a.path && Group::of(b.kind) == Group::of(a.kind)
            });
            let (change_kind, old) = match old {
                Some((i, b)) => {
                    matched[i] = true;
                    if b.text == a.text {
                        continue;
                    }
                    ("modified", Some(b))
                }
                None => ("added", None),
            };
            let location = place(&self.rel, &after_index, a.selection.start);
            let loc = old.and_then(|b| self.graph_entity(b));
            let symbol = self.qualified(loc, a);
            let (impact, reaching_tests) = match loc.map(|l| self.impact(l)) {
                Some((impact, tests)) => (Some(impact), tests),
                None => (None, Vec::new()),
            };
            let mut changed = ChangedSymbol {
                symbol: symbol.clone(),
                kind: a.kind.as_str().to_string(),
                change: change_kind,
                location: location.clone(),
                before: old.filter(|b| b.measured).map(|b| b.metrics),
                after: a.measured.then_some(a.metrics),
                delta: None,
                impact,
            };
            if let (Some(b), Some(x)) = (&changed.before, &changed.after) {
                changed.delta = Some(Metrics::delta(b, x));
            }
            if change_kind == "added" {
                if let Some(f) =
                    self.naming(a, conventions, after_text, &after_index, &symbol, &location)
                {
                    out.findings.push(f);
                }
            }
            if a.measured {
                quality(&changed, &symbol, &location, &mut out.findings);
            }
            // A slowdown needs a before: a new function's cost shows in its callers.
            if a.measured && change_kind == "modified" {
                let causes =
                    perf::causes(self.analysis, self.lang, old, a, &self.rel, &after_index);
                if !causes.is_empty() {
                    let prediction = perf::predict(
                        &symbol,
                        &location,
                        causes,
                        &reaching_tests,
                        history.runner,
                        history.times,
                    );
                    if prediction.confidence >= PREDICTED {
                        out.findings.push(Finding {
                            kind: "performance",
                            severity: "suggestion",
                            symbol: symbol.clone(),
                            location: location.clone(),
                            message: prediction.message(),
                            confidence: prediction.confidence,
                            edit: None,
                        });
                    }
                    out.performance.push(prediction);
                }
            }
            if a.shape != 0 && old.is_none_or(|b| b.shape != a.shape) {
                clones.wanted.push(Wanted {
                    shape: a.shape,
                    symbol: symbol.clone(),
                    location: location.clone(),
                    itself: loc,
                });
            }
            if let (Some(b), Some(l)) = (old, loc) {
                if a.measured && b.arity != a.arity {
                    self.broken_calls(
                        l,
                        &symbol,
                        b.arity,
                        a.arity,
                        changed_files,
                        &mut out.findings,
                    );
                }
                if a.measured {
                    self.null_dereferences(
                        l,
                        &symbol,
                        b,
                        a,
                        &after_index,
                        changed_files,
                        &mut out.findings,
                    );
                }
            }
            if let Some(impact) = &changed.impact {
                if change_kind == "modified" && a.measured && impact.tests.is_empty() {
                    out.findings.push(Finding {
                        kind: "untested",
                        severity: "suggestion",
                        symbol: symbol.clone(),
                        location: location.clone(),
                        message: format!("no test reaches `{symbol}`, which the edit changes"),
                        confidence: if impact.complete { 0.8 } else { 0.5 },
                        edit: None,
                    });
                }
            }
            out.symbols.push(changed);
        }
        for (b, _) in before.iter().zip(&matched).filter(|(_, m)| !**m) {
            let loc = self.graph_entity(b);
            let symbol = self.qualified(loc, b);
            let location = place(&self.rel, &before_index, b.selection.start);
            let impact = loc.map(|l| self.impact(l).0);
            if let Some(l) = loc {
                self.removed_but_called(l, &symbol, &location, changed_files, &mut out.findings);
            }
            out.symbols.push(ChangedSymbol {
                symbol,
                kind: b.kind.as_str().to_string(),
                change: "removed",
                location,
                before: b.measured.then_some(b.metrics),
                after: None,
                delta: None,
                impact,
            });
        }
    }

    /// The graph's entity for a symbol of the text before: same name, kind and
    /// containers, in this file.
    fn graph_entity(&self, s: &Symbol) -> Option<EntityLoc> {
        let g = self.analysis.graph();
        let file = self.id?;
        let f = g.file_data(file)?;
        let name = s.path.last()?;
        f.entities.iter().enumerate().skip(1).find_map(|(i, e)| {
            if g.name(e.name) != name || Group::of(e.kind) != Group::of(s.kind) {
                return None;
            }
            let mut path = vec![];
            let mut container = e.container;
            while let Some(c) = container {
                let outer = f.entities.get(c as usize)?;
                if c == 0 {
                    break;
                }
                path.push(g.name(outer.name).to_string());
                container = outer.container;
            }
            path.reverse();
            (path[..] == s.path[..s.path.len() - 1]).then_some(EntityLoc {
                file,
                index: i as u32,
            })
        })
    }

    fn qualified(&self, loc: Option<EntityLoc>, s: &Symbol) -> String {
        let g = self.analysis.graph();
        if let Some(loc) = loc {
            return g.qualified_name(loc);
        }
        let local = s.path.join(&self.lang.config.separator);
        match self.id.map(|f| g.module_name(f)).filter(|m| !m.is_empty()) {
            Some(module) => format!("{module}{}{local}", self.lang.config.separator),
            None => local,
        }
    }

    /// What reaches the entity, and the tests among it.
    fn impact(&self, loc: EntityLoc) -> (Impact, Vec<AffectedTest>) {
        let a = self.analysis;
        let g = a.graph();
        let Some(e) = g.entity(loc) else {
            let none = Impact {
                reached: 0,
                complete: true,
                nearest: Vec::new(),
                tests: Vec::new(),
            };
            return (none, Vec::new());
        };
        let reached = a.walk(e.id, Walk::Impact, IMPACT_DEPTH, IMPACT_LIMIT);
        let (_, unresolved) = a.call_walk(e.id, true, IMPACT_DEPTH);
        let nearest = reached
            .iter()
            .take(IMPACT_LISTED)
            .map(|r| Reaching {
                symbol: r.qualified.clone(),
                kind: r.kind.clone(),
                location: format!("{}:{}:1", r.path, r.line + 1),
                depth: r.depth,
            })
            .collect();
        let affected = g
            .file_data(loc.file)
            .and_then(|f| {
                let first = f.line_index.line_col(e.range.start).ok()?.line;
                let last = f.line_index.line_col(e.range.end).ok()?.line;
                Some(a.affected_tests(&[(loc.file, EditScope::Lines(vec![(first, last + 1)]))]))
            })
            .map(|affected| affected.tests)
            .unwrap_or_default();
        let mut tests: Vec<String> = affected
            .iter()
            .map(|t| {
                if t.name.is_empty() {
                    t.path.clone()
                } else {
                    t.qualified_name.clone()
                }
            })
            .collect();
        tests.sort();
        tests.dedup();
        let impact = Impact {
            complete: unresolved == 0 && reached.len() < IMPACT_LIMIT,
            reached: reached.len(),
            nearest,
            tests,
        };
        (impact, affected)
    }

    /// A name the edit adds that breaks a convention nearly every name of its kind keeps.
    fn naming(
        &self,
        s: &Symbol,
        conventions: &[Convention],
        text: &str,
        index: &LineIndex,
        symbol: &str,
        location: &str,
    ) -> Option<Finding> {
        let group = Group::of(s.kind)?;
        let convention = conventions
            .iter()
            .find(|c| c.language == self.lang.config.name && c.group == group)?;
        let style = Style::of(s.name())?;
        if style == convention.dominant || convention.share < naming::MIN_SHARE {
            return None;
        }
        let renamed = convention.dominant.apply(s.name());
        let _ = text;
        let wide = |offset| {
            let w = index.wide_of_offset(PositionEncoding::Utf16, offset);
            Position {
                line: w.line,
                character: w.col,
            }
        };
        Some(Finding {
            kind: "naming",
            severity: "warning",
            symbol: symbol.to_string(),
            location: location.to_string(),
            message: format!(
                "`{}` is {}, but {:.0}% of the project's {} {}s are {}: `{renamed}`",
                s.name(),
                style.as_str(),
                convention.share * 100.0,
                convention.names,
                group.as_str(),
                convention.style,
            ),
            confidence: convention.share,
            edit: Some(FixEdit {
                path: self.rel.clone(),
                start: wide(s.selection.start),
                end: wide(s.selection.end),
                new_text: renamed,
            }),
        })
    }

    /// Each call of the function at `loc` from a file the edit leaves alone, with its
    /// argument list parsed (each calling file once).
    fn each_call(
        &self,
        loc: EntityLoc,
        changed_files: &[FileId],
        mut visit: impl FnMut(&CallSite<'_>),
    ) {
        let a = self.analysis;
        let g = a.graph();
        let Some(e) = g.entity(loc) else {
            return;
        };
        for (file, refs) in calls_by_file(a, e.id, changed_files) {
            let (Some(f), Some((lang, text, tree))) = (g.file_data(file), parse_file(a, file))
            else {
                continue;
            };
            for r in refs {
                let Some(range) = g.ref_range(r) else {
                    continue;
                };
                let Some(arguments) = metrics::argument_list(tree.root_node(), range) else {
                    continue;
                };
                visit(&CallSite {
                    lang,
                    arguments,
                    text: &text,
                    site: place(&f.rel, &f.line_index, range.start),
                    exact: g.resolution(r).map_or(How::Unresolved, |x| x.how()) == How::Exact,
                });
            }
        }
    }

    /// Calls elsewhere that pass a number of arguments the function no longer takes.
    fn broken_calls(
        &self,
        loc: EntityLoc,
        symbol: &str,
        before: Arity,
        after: Arity,
        changed_files: &[FileId],
        findings: &mut Vec<Finding>,
    ) {
        self.each_call(loc, changed_files, |call| {
            let Some(n) = metrics::count_arguments(call.lang, call.arguments) else {
                return;
            };
            if after.accepts(n) || !before.accepts(n) {
                return;
            }
            findings.push(Finding {
                kind: "broken-call",
                severity: "warning",
                symbol: symbol.to_string(),
                location: call.site.clone(),
                message: format!(
                    "this call passes `{symbol}` {n} argument{}; after the edit it takes {}",
                    if n == 1 { "" } else { "s" },
                    takes(after)
                ),
                confidence: if call.exact { 0.9 } else { 0.6 },
                edit: None,
            });
        });
    }

    /// Parameters the edit starts to dereference unchecked, which calls elsewhere pass
    /// no value (or leave at a default that is none).
    #[allow(clippy::too_many_arguments)]
    fn null_dereferences(
        &self,
        loc: EntityLoc,
        symbol: &str,
        before: &metrics::Symbol,
        after: &metrics::Symbol,
        after_index: &LineIndex,
        changed_files: &[FileId],
        findings: &mut Vec<Finding>,
    ) {
        let newly: Vec<(usize, &nulls::Param)> = after
            .params
            .iter()
            .enumerate()
            .filter(|(_, p)| p.unguarded())
            .filter(|(_, p)| {
                !before
                    .params
                    .iter()
                    .any(|q| q.name == p.name && q.unguarded())
            })
            .collect();
        if newly.is_empty() {
            return;
        }
        // Per parameter: the calls that pass it no value, and whether each resolved exactly.
        let mut passing: Vec<Vec<(String, bool)>> = vec![Vec::new(); newly.len()];
        let mut literal: Vec<Option<String>> = vec![None; newly.len()];
        self.each_call(loc, changed_files, |call| {
            for (k, (index, p)) in newly.iter().enumerate() {
                match nulls::passed(call.lang, call.arguments, call.text, *index, &p.name) {
                    nulls::Passed::Null(text) => {
                        literal[k].get_or_insert(text);
                        passing[k].push((call.site.clone(), call.exact));
                    }
                    nulls::Passed::Omitted if p.null_default => {
                        passing[k].push((format!("{} (the default)", call.site), call.exact));
                    }
                    _ => {}
                }
            }
        });
        for (k, (_, p)) in newly.iter().enumerate() {
            let calls = &passing[k];
            if calls.is_empty() {
                continue;
            }
            let (at, expression) = &p.derefs[0];
            let none = literal[k]
                .clone()
                .unwrap_or_else(|| "its default".to_string());
            let shown: Vec<&str> = calls.iter().take(3).map(|(s, _)| s.as_str()).collect();
            let more = calls.len().saturating_sub(shown.len());
            findings.push(Finding {
                kind: "null-dereference",
                severity: "warning",
                symbol: symbol.to_string(),
                location: place(&self.rel, after_index, *at),
                message: format!(
                    "`{symbol}` now dereferences `{}` unchecked (`{expression}`), and {} call{} pass{} it {}: {}{}; check it first, or pass a value",
                    p.name,
                    calls.len(),
                    if calls.len() == 1 { "" } else { "s" },
                    if calls.len() == 1 { "es" } else { "" },
                    if literal[k].is_some() { format!("`{none}`") } else { none },
                    shown.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() },
                ),
                confidence: if calls.iter().all(|(_, exact)| *exact) {
                    0.8
                } else {
                    0.6
                },
                edit: None,
            });
        }
    }

    /// A symbol the edit removes that files it leaves alone still use.
    fn removed_but_called(
        &self,
        loc: EntityLoc,
        symbol: &str,
        location: &str,
        changed_files: &[FileId],
        findings: &mut Vec<Finding>,
    ) {
        let g = self.analysis.graph();
        let Some(e) = g.entity(loc) else {
            return;
        };
        let users: Vec<_> = g
            .references_to(e.id)
            .into_iter()
            .filter(|r| !changed_files.contains(&r.file))
            .filter(|r| {
                !matches!(
                    g.ref_kind(*r),
                    Some(RefKind::ImportName | RefKind::ImportPath)
                )
            })
            .collect();
        let Some(first) = users.first() else {
            return;
        };
        let site = g
            .file_data(first.file)
            .zip(g.ref_range(*first))
            .map(|(f, range)| place(&f.rel, &f.line_index, range.start))
            .unwrap_or_default();
        findings.push(Finding {
            kind: "removed-but-called",
            severity: "warning",
            symbol: symbol.to_string(),
            location: location.to_string(),
            message: format!(
                "the edit removes `{symbol}`, but {} use{} of it remain{} (first at {site})",
                users.len(),
                if users.len() == 1 { "" } else { "s" },
                if users.len() == 1 { "s" } else { "" },
            ),
            confidence: 0.9,
            edit: None,
        });
    }
}

/// Functions the edit adds or reshapes, to be looked for among the project's.
#[derive(Default)]
struct Clones {
    wanted: Vec<Wanted>,
}

struct Wanted {
    shape: u64,
    symbol: String,
    location: String,
    /// The function's own entity (a modified one), which is no copy of itself.
    itself: Option<EntityLoc>,
}

impl Clones {
    /// One pass over the project's functions: each wanted shape that another function
    /// has is a copy of it, pointed at the first such function by location.
    fn report(&self, analysis: &Analysis<'_>, findings: &mut Vec<Finding>) {
        if self.wanted.is_empty() {
            return;
        }
        let g = analysis.graph();
        let mut originals: Vec<Vec<EntityLoc>> = vec![Vec::new(); self.wanted.len()];
        for (file, f) in g.files() {
            cancel::check();
            for (i, e) in f.entities.iter().enumerate() {
                if e.shape == 0 {
                    continue;
                }
                let here = EntityLoc {
                    file,
                    index: i as u32,
                };
                for (w, found) in self.wanted.iter().zip(originals.iter_mut()) {
                    if w.shape == e.shape && w.itself != Some(here) {
                        found.push(here);
                    }
                }
            }
        }
        for (w, found) in self.wanted.iter().zip(originals) {
            let mut found: Vec<(String, String)> = found
                .into_iter()
                .filter_map(|loc| {
                    let f = g.file_data(loc.file)?;
                    let e = g.entity(loc)?;
                    let at = place(&f.rel, &f.line_index, e.selection.start);
                    Some((at, g.qualified_name(loc)))
                })
                .filter(|(_, name)| *name != w.symbol)
                .collect();
            found.sort();
            let Some((at, original)) = found.first() else {
                continue;
            };
            let others = match found.len() {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            };
            findings.push(Finding {
                kind: "clone",
                severity: "warning",
                symbol: w.symbol.clone(),
                location: w.location.clone(),
                message: format!(
                    "`{}` repeats `{original}` ({at}{others}), names aside: call it instead of copying it",
                    w.symbol
                ),
                confidence: 0.8,
                edit: None,
            });
        }
    }
}

fn takes(arity: Arity) -> String {
    match arity.max {
        Some(max) if max == arity.required => format!("{max}"),
        Some(max) => format!("{} to {max}", arity.required),
        None => format!("at least {}", arity.required),
    }
}

/// Findings about a function's metrics that the edit made worse.
fn quality(s: &ChangedSymbol, symbol: &str, location: &str, findings: &mut Vec<Finding>) {
    let Some(after) = s.after else {
        return;
    };
    let before = s.before.unwrap_or_default();
    let mut push = |kind: &'static str, message: String| {
        findings.push(Finding {
            kind,
            severity: "warning",
            symbol: symbol.to_string(),
            location: location.to_string(),
            message,
            confidence: 0.7,
            edit: None,
        });
    };
    let worse = |b: u32, a: u32, limit: u32| a > b && a >= limit;
    if worse(before.cyclomatic, after.cyclomatic, COMPLEX)
        || worse(before.cognitive, after.cognitive, COGNITIVE)
    {
        push(
            "complexity",
            format!(
                "`{symbol}` gets more complex: cyclomatic {} → {}, cognitive {} → {}; consider splitting it",
                before.cyclomatic, after.cyclomatic, before.cognitive, after.cognitive
            ),
        );
    }
    if worse(before.nesting, after.nesting, NESTED) {
        push(
            "nesting",
            format!(
                "`{symbol}` nests {} levels deep (was {}); an early return or a helper would flatten it",
                after.nesting, before.nesting
            ),
        );
    }
    if worse(before.parameters, after.parameters, PARAMETERS + 1) {
        push(
            "parameters",
            format!(
                "`{symbol}` takes {} parameters (was {}); consider grouping them",
                after.parameters, before.parameters
            ),
        );
    }
    if worse(before.lines, after.lines, LINES + 1) {
        push(
            "length",
            format!(
                "`{symbol}` is {} lines long (was {})",
                after.lines, before.lines
            ),
        );
    }
}

/// The call references to `id`, grouped by calling file (in the order the graph gives
/// them), leaving out the files in `skip`.
pub(crate) fn calls_by_file(
    analysis: &Analysis<'_>,
    id: EntityId,
    skip: &[FileId],
) -> Vec<(FileId, Vec<RefLoc>)> {
    let g = analysis.graph();
    let mut by_file: Vec<(FileId, Vec<RefLoc>)> = Vec::new();
    for r in g.references_to(id) {
        if g.ref_kind(r) != Some(RefKind::Call) || skip.contains(&r.file) {
            continue;
        }
        match by_file.iter_mut().find(|(file, _)| *file == r.file) {
            Some((_, refs)) => refs.push(r),
            None => by_file.push((r.file, vec![r])),
        }
    }
    by_file
}

/// A file's language, text and syntax tree, parsed now within two seconds (`None`: the
/// file or its text is gone, or it does not parse in time).
pub(crate) fn parse_file<'a>(
    analysis: &Analysis<'a>,
    file: FileId,
) -> Option<(
    &'static Language,
    std::borrow::Cow<'a, str>,
    tree_sitter::Tree,
)> {
    let lang = codecontext_lang::language(analysis.graph().file_data(file)?.lang);
    let text = analysis.text(file)?;
    let tree =
        codecontext_syntax::parse(lang, &text, None, std::time::Duration::from_secs(2)).ok()?;
    Some((lang, text, tree))
}

/// `path:line:col`, 1-based, the column in characters.
pub fn place(rel: &str, index: &LineIndex, offset: u32) -> String {
    let w = index.wide_of_offset(PositionEncoding::Utf32, offset);
    format!("{rel}:{}:{}", w.line + 1, w.col + 1)
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
