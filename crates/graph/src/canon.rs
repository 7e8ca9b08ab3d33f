//! A canonical text form of the graph: every file, entity and reference with its
//! resolution, in a fixed order and without internal numbering. Two graphs of the same
//! workspace are equal exactly when their canonical forms are; snapshot tests and the
//! incremental-versus-fresh property test compare these.

use std::fmt::Write as _;

use codecontext_text::TextRange;

use crate::{model::FileData, SymbolGraph};

fn pos(f: &FileData, range: TextRange) -> String {
    let s = f
        .line_index
        .line_col(range.start)
        .map_or((0, 0), |p| (p.line + 1, p.col + 1));
    let e = f
        .line_index
        .line_col(range.end)
        .map_or((0, 0), |p| (p.line + 1, p.col + 1));
    format!("{}:{}-{}:{}", s.0, s.1, e.0, e.1)
}

impl SymbolGraph {
    /// The canonical form of the whole graph.
    pub fn canonical(&self) -> String {
        let mut files: Vec<_> = self.files().collect();
        files.sort_by(|a, b| (a.1.root, &a.1.rel).cmp(&(b.1.root, &b.1.rel)));
        let mut out = String::new();
        for (id, _) in files {
            out.push_str(&self.canonical_file(id));
        }
        out
    }

    /// The canonical form of one file.
    pub fn canonical_file(&self, id: crate::FileId) -> String {
        let Some(f) = self.file_data(id) else {
            return String::new();
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "file {} [{}]",
            f.rel,
            codecontext_lang::language(f.lang).name()
        );
        if let Some(reason) = &f.skipped {
            let _ = writeln!(out, "  skipped: {reason}");
        }
        for e in &f.errors {
            let _ = writeln!(out, "  error {} {}", pos(f, e.range), e.message);
        }
        for (i, e) in f.entities.iter().enumerate().skip(1) {
            let loc = crate::EntityLoc {
                file: id,
                index: i as u32,
            };
            let _ = write!(
                out,
                "  {} {} @{} sel {}",
                e.kind,
                self.qualified_name(loc),
                pos(f, e.range),
                pos(f, e.selection)
            );
            if !e.signature.is_empty() && e.kind != codecontext_syntax::EntityKind::Import {
                let _ = write!(out, " sig `{}`", e.signature);
            }
            if let Some(doc) = &e.doc {
                let _ = write!(out, " doc `{doc}`");
            }
            if let Some(t) = e.type_name {
                let _ = write!(out, " type {}", self.name(t));
            }
            let _ = writeln!(out);
        }
        for (r, res) in f.refs.iter().zip(&f.res) {
            let source = match r.source.get() {
                Some(s) => self.qualified_name(crate::EntityLoc { file: id, index: s }),
                None => "<file>".to_string(),
            };
            let mut targets: Vec<String> = res
                .targets()
                .iter()
                .map(|t| match self.locate(*t) {
                    Some(loc) => {
                        let tf = self
                            .file_data(loc.file)
                            .map(|f| f.rel.to_string())
                            .unwrap_or_default();
                        let kind = self.entity(loc).map(|e| e.kind.as_str()).unwrap_or("?");
                        format!("{kind} {} ({tf})", self.qualified_name(loc))
                    }
                    None => format!("<missing {t}>"),
                })
                .collect();
            targets.sort();
            let _ = writeln!(
                out,
                "  ref {} {:?} `{}` from {} -> {} [{}]",
                pos(f, r.range),
                r.kind,
                self.name(r.name),
                source,
                res.how().as_str(),
                targets.join(", ")
            );
        }
        out
    }
}
