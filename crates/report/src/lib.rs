//! The project report: what a team looks at to decide where to spend its care.
//!
//! - **Hotspots**: files that change often and are complex (churn × complexity, the
//!   product Tornhill's "code as a crime scene" ranks by), with their most complex
//!   function.
//! - **Risk by module**: how likely a typical change in each module is to need a fix
//!   later, from the model trained on the project's history, beside its past fixes.
//! - **Test durations over time** and **verification outcomes**, from the performance
//!   memory (what each verification recorded).
//! - **The module dependency graph**: which directories import which.
//!
//! [`Report`] is the data (what `--json` prints); [`html`] renders it as one static page
//! with inline SVG plots: no script, no external resource, readable offline and in a CI
//! artifact.

mod html;
mod svg;

pub use html::html;
use serde::Serialize;

/// Everything the report shows, gathered by the workspace.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The folder reported on.
    pub project: String,
    /// When, in milliseconds since the epoch.
    pub generated_ms: i64,
    /// The commit the history was read at; none outside a git checkout.
    pub head: Option<String>,
    /// Commits of the history read.
    pub commits: u64,
    /// `learned` when the risk model was trained; else why not (`no git history`, `too
    /// little history to learn from`).
    pub risk_status: String,
    /// Source files indexed in the folder.
    pub files: usize,
    /// The files most worth a look, highest score first.
    pub hotspots: Vec<Hotspot>,
    /// Per module (directory), riskiest first.
    pub modules: Vec<ModuleRisk>,
    /// The slowest tests' recorded durations.
    pub tests: Vec<TestSeries>,
    /// The verifications recorded, oldest first.
    pub verifications: Vec<Verification>,
    pub dependencies: Dependencies,
}

/// A file that changes often and is complex.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hotspot {
    /// Relative to the folder.
    pub path: String,
    /// Commits that changed it.
    pub changes: u32,
    /// Of them, fixes.
    pub fixes: u32,
    pub authors: u32,
    /// The sum of its functions' cyclomatic complexity.
    pub complexity: u32,
    pub functions: u32,
    /// Its most complex function.
    pub worst: Option<Worst>,
    /// `changes × complexity`.
    pub score: u64,
}

/// A file's most complex function.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Worst {
    pub symbol: String,
    pub cyclomatic: u32,
    /// `path:line:col`.
    pub location: String,
}

/// What the history says of a module (a directory, two levels deep at most).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModuleRisk {
    /// `shop/services`; `.` for the folder's own files.
    pub module: String,
    pub files: u32,
    /// Commits that changed a file of it (counted per file).
    pub changes: u32,
    pub fixes: u32,
    /// The model's probability, averaged over its files, that a typical change (a
    /// dozen lines in one file) induces a fix; none without a model.
    pub risk: Option<f64>,
}

/// A test's recorded durations.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestSeries {
    /// As its runner names it.
    pub name: String,
    /// Oldest first.
    pub runs: Vec<TestRun>,
    pub median_ms: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestRun {
    pub at_ms: i64,
    pub ms: f64,
    /// `passed`, `failed`, `skipped`, `error`.
    pub outcome: String,
}

/// One verification of an edit.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub at_ms: i64,
    /// `passed`, `failed`, `build_failed`, `timeout`, ...
    pub verdict: String,
    pub wall_ms: f64,
    pub passed: u32,
    pub failed: u32,
}

/// Which modules import which.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependencies {
    /// Largest first.
    pub modules: Vec<Module>,
    pub edges: Vec<Edge>,
    /// Modules left out of the graph to keep it readable (the smallest).
    pub omitted: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Module {
    pub name: String,
    pub files: u32,
}

/// `importer` imports `imported`, `imports` times (counted per importing file and
/// imported file).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub importer: String,
    pub imported: String,
    pub imports: u32,
}

/// The module a file belongs to: its directory, at most two levels deep.
pub fn module_of(path: &str) -> String {
    let dirs: Vec<&str> = path.split('/').collect();
    let dirs = &dirs[..dirs.len().saturating_sub(1)];
    if dirs.is_empty() {
        ".".to_string()
    } else {
        dirs[..dirs.len().min(2)].join("/")
    }
}

/// The middle value of `values` (the upper one of an even count); 0 when empty.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_directories_two_levels_deep() {
        assert_eq!(module_of("main.py"), ".");
        assert_eq!(module_of("shop/cart.py"), "shop");
        assert_eq!(module_of("shop/services/pricing.py"), "shop/services");
        assert_eq!(module_of("src/a/b/c.rs"), "src/a");
        assert_eq!(median([3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median([]), 0.0);
    }
}
