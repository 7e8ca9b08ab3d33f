//! Places as people and assistants write them: `FILE:LINE:COL`, 1-based, the column in
//! characters, `FILE` relative to a workspace folder or absolute. The CLI and the MCP
//! server read and write positions this way.

use std::path::Path;

use codecontext_analysis::{Analysis, AnalysisHost, FileId, PositionEncoding};

/// Why a place does not name a position of an indexed file; the message says what to
/// send instead.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("expected FILE:LINE:COL (1-based), got `{0}`")]
    Shape(String),
    #[error("bad line number `{0}`")]
    Line(String),
    #[error("bad column `{0}`")]
    Column(String),
    #[error("lines and columns start at 1")]
    Zero,
    #[error("{0} is not an indexed file of this workspace")]
    NotIndexed(String),
    #[error("{file} has {lines} lines; line {line} is past its end")]
    PastEnd { file: String, lines: u32, line: u32 },
    #[error("{0} has no text")]
    NoText(String),
}

/// The indexed file a path names, relative to a workspace folder or absolute.
pub fn file_of(host: &AnalysisHost, file: &str) -> Result<FileId, PlaceError> {
    let path = Path::new(file);
    host.file_id(path)
        .or_else(|| host.file_id(&path.canonicalize().ok()?))
        .ok_or_else(|| PlaceError::NotIndexed(file.to_string()))
}

/// The file and byte offset of `FILE:LINE:COL`. A column past the end of its line is
/// clamped to the end, as editors do; a line past the end of the file is an error.
pub fn resolve(host: &AnalysisHost, spec: &str) -> Result<(FileId, u32), PlaceError> {
    let mut parts = spec.rsplitn(3, ':');
    let (Some(col), Some(line), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(PlaceError::Shape(spec.to_string()));
    };
    let line: u32 = line
        .trim()
        .parse()
        .map_err(|_| PlaceError::Line(line.to_string()))?;
    let col: u32 = col
        .trim()
        .parse()
        .map_err(|_| PlaceError::Column(col.to_string()))?;
    if line == 0 || col == 0 {
        return Err(PlaceError::Zero);
    }
    let id = file_of(host, file)?;
    let analysis = host.analysis();
    let index = analysis
        .line_index(id)
        .ok_or_else(|| PlaceError::NoText(file.to_string()))?;
    if line > index.line_count() {
        return Err(PlaceError::PastEnd {
            file: file.to_string(),
            lines: index.line_count(),
            line,
        });
    }
    let offset = analysis
        .offset(id, line - 1, col - 1, PositionEncoding::Utf32)
        .ok_or_else(|| PlaceError::NoText(file.to_string()))?;
    Ok((id, offset))
}

/// `FILE:LINE:COL` of a byte offset, `FILE` relative to its folder.
pub fn place(analysis: &Analysis<'_>, file: FileId, offset: u32) -> String {
    let lc = analysis.line_col(file, offset);
    let col = lc.and_then(|lc| {
        let index = analysis.line_index(file)?;
        Some(index.to_wide(PositionEncoding::Utf32, lc).col)
    });
    match (lc, col) {
        (Some(lc), Some(col)) => format!("{}:{}:{}", analysis.path_of(file), lc.line + 1, col + 1),
        _ => analysis.path_of(file),
    }
}
