//! Architecture decision records (Nygard and MADR formats), read from Markdown.
//!
//! A record names a decision (its title and number), says where it stands (its status,
//! and which records it supersedes or is superseded by), when it was taken, and why:
//! its context, its decision and its consequences, kept here as plain text. The inline
//! code spans of the whole record are kept apart: they are the names the record is
//! about, which the caller matches against the code graph to anchor the decision.
//!
//! Two formats are read:
//!
//! - Nygard's (the one adr-tools writes): `# 1. Title`, a `Date: YYYY-MM-DD` line, then
//!   `## Status`, `## Context`, `## Decision` and `## Consequences` sections.
//! - MADR (2.x to 4.x): optional YAML front matter (`status:`, `date:`, `title:`) or
//!   MADR 2's `* Status: ...` / `* Date: ...` bullets under the title, then
//!   `## Context and Problem Statement`, `## Decision Outcome` (with its
//!   `### Consequences`), and sections that are not kept (drivers, options, pros and
//!   cons, more information).
//!
//! The body is read from pulldown-cmark's event stream; the front matter is split off
//! before parsing and read as simple `key: value` lines. Nothing here touches the disk:
//! the caller finds the files (in [`ADR_DIRS`], named as [`is_record_name`] accepts)
//! and hands their bytes to [`parse`].

use std::collections::{HashMap, HashSet};
use std::fmt;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Serialize;

/// Folders, relative to a workspace folder, where decision records are looked for.
pub const ADR_DIRS: [&str; 4] = [
    "docs/adr",
    "doc/adr",
    "docs/decisions",
    "architecture/decisions",
];

/// The largest record read; a bigger file is skipped with a reason.
pub const MAX_ADR_BYTES: usize = 256 * 1024;

/// How much of a file is looked at for a NUL byte before calling it binary.
const BINARY_SNIFF_BYTES: usize = 8 * 1024;

/// Code spans longer than this (in characters) are prose, not names.
const MAX_CODE_SPAN_CHARS: usize = 200;

/// Whether a file name in a decision folder is a record: `.md` or `.markdown`, and not
/// README, index, template (case-insensitive, e.g. `README.md`, `index.md`,
/// `template.md`, `adr-template.md`, `0000-template.md`).
///
/// A numbered record about templates (`0007-template-engine.md`) is still a record; an
/// unnumbered (or `0000`) name with the word `template` in it (`adr-template-bare.md`)
/// is not.
pub fn is_record_name(file_name: &str) -> bool {
    let lower = file_name.to_lowercase();
    let Some(stem) = lower
        .strip_suffix(".md")
        .or_else(|| lower.strip_suffix(".markdown"))
    else {
        return false;
    };
    let number = number_from_file_name(stem).unwrap_or(0);
    let words: Vec<&str> = stem
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .skip_while(|w| *w == "adr")
        .skip_while(|w| w.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    let first = words.first().copied();
    let excluded_word = |w: &str| matches!(w, "readme" | "index" | "template");
    if stem.trim_start_matches(['.', '_']).is_empty() {
        return false;
    }
    if words.len() == 1 && first.is_some_and(excluded_word) {
        return false;
    }
    if number == 0 && (first.is_some_and(excluded_word) || words.contains(&"template")) {
        return false;
    }
    true
}

/// A decision record, as read from its Markdown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Adr {
    /// The title without its number prefix ("1. ", "ADR-0004: ", "0004 - ").
    pub title: String,
    /// The record's number: from the file name's leading digits (`0003-use-x.md` -> 3),
    /// else from the title's prefix.
    pub number: Option<u32>,
    /// Where the decision stands.
    pub status: AdrStatus,
    /// The date as written (`YYYY-MM-DD` expected; kept only when it has that shape).
    pub date: Option<String>,
    /// The context section's text, as plain text (inline markup dropped, code spans kept
    /// with their text, paragraphs joined by "\n\n"), trimmed. Empty when absent.
    pub context: String,
    /// The decision section's text (MADR's "Decision Outcome"), as plain text like
    /// [`Adr::context`]. Empty when absent.
    pub decision: String,
    /// The consequences section's text, as plain text like [`Adr::context`]. Empty when
    /// absent.
    pub consequences: String,
    /// Records this one is superseded by, as named in its status.
    pub superseded_by: Vec<AdrRef>,
    /// Records this one supersedes, as named in its status.
    pub supersedes: Vec<AdrRef>,
    /// Every inline code span's text in the whole record (not fenced code blocks), in
    /// order of first appearance, deduplicated, each trimmed; spans longer than 200
    /// chars or containing a newline are dropped. These are the candidate symbol names
    /// the caller matches against the code graph.
    pub code_spans: Vec<String>,
}

/// Where a decision stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdrStatus {
    /// Proposed, or a draft.
    Proposed,
    /// Accepted (also "approved", "done").
    Accepted,
    /// Rejected.
    Rejected,
    /// Deprecated.
    Deprecated,
    /// Superseded by another record.
    Superseded,
    /// Anything else, as written (lowercased, trimmed); also when no status is given:
    /// `Unknown("")`.
    Unknown(String),
}

/// Another record named by a status line: a link's target (`0003-use-postgresql.md`, as
/// written) and/or a number (`ADR-0005`, `3.` in a link text like `3. Use PostgreSQL`,
/// or the link target's leading digits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdrRef {
    /// The other record's number, when the status names one.
    pub number: Option<u32>,
    /// The link's target, as written, when the status links to the other record.
    pub target: Option<String>,
}

/// Why a file was not read as a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Bigger than [`MAX_ADR_BYTES`].
    TooLarge {
        /// The file's size in bytes.
        size: usize,
    },
    /// Holds a NUL byte in its first 8 KiB (a binary file).
    Binary,
    /// Not valid UTF-8 (offset of the first bad byte).
    NotUtf8 {
        /// The offset of the first byte that is not valid UTF-8.
        offset: usize,
    },
    /// No level-1 heading (and no `title:` in front matter) to name it.
    NoTitle,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::TooLarge { size } => write!(
                f,
                "it is {size} bytes, over the {MAX_ADR_BYTES}-byte limit for a decision record"
            ),
            Skip::Binary => f.write_str("it is a binary file"),
            Skip::NotUtf8 { offset } => write!(f, "it is not UTF-8 (byte {offset})"),
            Skip::NoTitle => f.write_str("it has no title (a level-1 heading)"),
        }
    }
}

impl std::error::Error for Skip {}

/// Reads a record; `file_name` is the file's name (for its number).
pub fn parse(file_name: &str, bytes: &[u8]) -> Result<Adr, Skip> {
    if bytes.len() > MAX_ADR_BYTES {
        return Err(Skip::TooLarge { size: bytes.len() });
    }
    let sniff = bytes.get(..BINARY_SNIFF_BYTES).unwrap_or(bytes);
    if sniff.contains(&0) {
        return Err(Skip::Binary);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| Skip::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);

    let (front, body) = split_front_matter(text);
    let mut reader = Reader::default();
    reader.read(body);
    let body = reader.finish();

    let raw_title = body.title.or(front.title).ok_or(Skip::NoTitle)?;
    let (title_number, title) = split_title_number(&raw_title);
    let number = number_from_file_name(file_name).or(title_number);

    // Where the status is said, first to last: front matter, `Status:` lines under the
    // title, the status section.
    let mut status_lines = Vec::new();
    let mut ref_lines = Vec::new();
    let mut dates = Vec::new();
    if let Some(status) = front.status {
        status_lines.push(Line {
            text: status,
            links: Vec::new(),
        });
    }
    dates.extend(front.date);
    for line in &body.preamble {
        let Some((key, value)) = split_key(line) else {
            continue;
        };
        match key.as_str() {
            "status" => status_lines.push(value),
            "date" => dates.push(value.text),
            _ if key.starts_with("supersede") => ref_lines.push(line.clone()),
            _ => {}
        }
    }
    status_lines.extend(body.status);
    if let Some(first) = body.date_section.lines().next() {
        dates.push(first.to_owned());
    }

    let status = status_of(&status_lines);
    let mut superseded_by = RefList::default();
    let mut supersedes = RefList::default();
    for line in status_lines.iter().chain(&ref_lines) {
        scan_refs(line, &mut superseded_by, &mut supersedes);
    }
    let date = dates
        .iter()
        .map(|d| unquote(d))
        .find(|d| is_date_shaped(d))
        .map(str::to_owned);

    Ok(Adr {
        title: title.to_owned(),
        number,
        status,
        date,
        context: body.context,
        decision: body.decision,
        consequences: body.consequences,
        superseded_by: superseded_by.list,
        supersedes: supersedes.list,
        code_spans: body.code_spans,
    })
}

// ---------------------------------------------------------------------------------------
// Front matter

/// The fields of YAML front matter that a record uses.
#[derive(Default)]
struct FrontMatter {
    status: Option<String>,
    date: Option<String>,
    title: Option<String>,
}

/// Splits `---`-fenced front matter off the top of `text`: its fields and the body after
/// it. Text without closed front matter (or whose "front matter" has no `key:` line) is
/// all body.
fn split_front_matter(text: &str) -> (FrontMatter, &str) {
    let mut lines = text.split_inclusive('\n');
    let Some(first) = lines.next() else {
        return (FrontMatter::default(), text);
    };
    if first.trim_end() != "---" {
        return (FrontMatter::default(), text);
    }
    let mut offset = first.len();
    let mut fields = Vec::new();
    for line in lines {
        offset += line.len();
        let line = line.trim_end();
        if line == "---" || line == "..." {
            if fields.is_empty() {
                break;
            }
            let mut front = FrontMatter::default();
            for (key, value) in fields {
                let value = unquote(value);
                if value.is_empty() {
                    continue;
                }
                let slot = match key {
                    "status" => &mut front.status,
                    "date" => &mut front.date,
                    "title" => &mut front.title,
                    _ => continue,
                };
                if slot.is_none() {
                    *slot = Some(value.to_owned());
                }
            }
            return (front, text.get(offset..).unwrap_or(""));
        }
        if let Some(field) = yaml_field(line) {
            fields.push(field);
        }
    }
    (FrontMatter::default(), text)
}

/// A top-level `key: value` line of simple YAML: the key (`status`, `date` or `title`,
/// matched case-insensitively; `other` for any other key) and the raw value.
fn yaml_field(line: &str) -> Option<(&'static str, &str)> {
    if line.starts_with(char::is_whitespace) || line.starts_with(['#', '-']) {
        return None;
    }
    let (key, value) = line.split_once(':')?;
    let key = key.trim();
    let key = ["status", "date", "title"]
        .into_iter()
        .find(|k| k.eq_ignore_ascii_case(key))
        .unwrap_or("other");
    Some((key, value))
}

/// A YAML scalar's text: trimmed, without matching surrounding quotes, without a
/// trailing ` # comment` when unquoted.
fn unquote(value: &str) -> &str {
    let v = value.trim();
    for quote in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(quote) && v.ends_with(quote) {
            return v.get(1..v.len() - 1).unwrap_or(v).trim();
        }
    }
    match v.find(" #") {
        Some(i) => v.get(..i).unwrap_or(v).trim_end(),
        None => v,
    }
}

/// Whether `text` is `YYYY-MM-DD` in shape (digits and dashes; the values unchecked).
fn is_date_shaped(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            _ => c.is_ascii_digit(),
        })
}

// ---------------------------------------------------------------------------------------
// Numbers and titles

/// A file name's record number: its leading digits (after an optional `adr-` prefix),
/// when they end the name or are followed by punctuation (`0003-x.md`, `adr_12.md`, not
/// `2fa-login.md`). Directories before the name are ignored.
fn number_from_file_name(name: &str) -> Option<u32> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let rest = match base.get(..3) {
        Some(head) if head.eq_ignore_ascii_case("adr") => base
            .get(3..)
            .unwrap_or("")
            .trim_start_matches(['-', '_', ' ']),
        _ => base,
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let after = rest.get(digits..).unwrap_or("");
    if after.starts_with(char::is_alphanumeric) {
        return None;
    }
    rest.get(..digits)?.parse().ok()
}

/// A link target's record number: its file name's, without `#fragment` or `?query`.
fn number_from_target(target: &str) -> Option<u32> {
    let path = target.split(['#', '?']).next().unwrap_or(target);
    number_from_file_name(path)
}

/// Splits a title's number prefix off: `1. Title`, `ADR-0004: Title`, `0004 - Title`,
/// `ADR 7 Title`, `#5 Title`. A bare number (`ADR-0005`, `0005`) is a number whose
/// title is the whole text. Text without such a prefix is returned whole.
fn split_title_number(title: &str) -> (Option<u32>, &str) {
    let full = title.trim();
    let mut rest = full;
    let mut prefixed = false;
    if let Some(head) = rest.get(..3) {
        if head.eq_ignore_ascii_case("adr") {
            rest = rest.get(3..).unwrap_or("");
            prefixed = true;
        }
    }
    let unmarked = rest.trim_start_matches([' ', '-', '_', '#']);
    prefixed |= unmarked.len() != rest.len();
    let rest = unmarked;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Some(Ok(number)) = (digits > 0)
        .then(|| rest.get(..digits))
        .flatten()
        .map(str::parse::<u32>)
    else {
        return (None, full);
    };
    let after = rest.get(digits..).unwrap_or("");
    let trimmed = after.trim_start();
    let stripped = if after.is_empty() {
        Some("")
    } else if let Some(t) = trimmed.strip_prefix(['.', ':', '-', '–', '—', ')']) {
        (t.is_empty() || t.starts_with(char::is_whitespace)).then_some(t)
    } else if prefixed && after.starts_with(char::is_whitespace) {
        Some(trimmed)
    } else {
        None
    };
    match stripped.map(str::trim) {
        None => (None, full),
        Some("") => (Some(number), full),
        Some(t) => (Some(number), t),
    }
}

// ---------------------------------------------------------------------------------------
// Status

/// A line of text with the links in it (byte ranges of their text, and their targets).
#[derive(Clone, Debug, Default)]
struct Line {
    text: String,
    links: Vec<LinkSpan>,
}

#[derive(Clone, Debug)]
struct LinkSpan {
    start: usize,
    end: usize,
    dest: String,
}

/// A `Key: value` line's key (lowercased) and its value as a line of its own.
fn split_key(line: &Line) -> Option<(String, Line)> {
    let colon = line.text.find(':')?;
    let key = line.text.get(..colon)?.trim();
    if key.is_empty()
        || key.len() > 32
        || !key
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '_'))
    {
        return None;
    }
    let after = line.text.get(colon + 1..)?;
    let start = colon + 1 + (after.len() - after.trim_start().len());
    let text = line.text.get(start..)?.trim_end().to_owned();
    let links = line
        .links
        .iter()
        .filter(|l| l.start >= start)
        .map(|l| LinkSpan {
            start: l.start - start,
            end: (l.end - start).min(text.len()),
            dest: l.dest.clone(),
        })
        .collect();
    Some((key.to_ascii_lowercase(), Line { text, links }))
}

/// The status a line's first word names, if it names one.
fn status_word(text: &str) -> Option<AdrStatus> {
    let t = text.trim_start_matches(|c: char| !c.is_alphanumeric());
    let end = t.find(|c: char| !c.is_alphabetic()).unwrap_or(t.len());
    let word = t.get(..end)?.to_lowercase();
    Some(match word.as_str() {
        "proposed" | "draft" => AdrStatus::Proposed,
        "accepted" | "approved" | "done" => AdrStatus::Accepted,
        "rejected" => AdrStatus::Rejected,
        "deprecated" => AdrStatus::Deprecated,
        "superseded" => AdrStatus::Superseded,
        _ => return None,
    })
}

/// The first recognised status word of the lines, else the first line as written.
fn status_of(lines: &[Line]) -> AdrStatus {
    if let Some(status) = lines.iter().find_map(|l| status_word(&l.text)) {
        return status;
    }
    let first = lines
        .iter()
        .map(|l| l.text.trim())
        .find(|t| !t.is_empty())
        .unwrap_or("");
    AdrStatus::Unknown(first.to_lowercase())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    SupersededBy,
    Supersedes,
}

/// Words that start a reference in a status line; the longest that matches at a place
/// wins. Relations other than superseding end the previous reference's reach.
const MARKERS: [(&str, Option<Direction>); 14] = [
    ("superseded by", Some(Direction::SupersededBy)),
    ("superseded-by", Some(Direction::SupersededBy)),
    ("superseded_by", Some(Direction::SupersededBy)),
    ("superseded", Some(Direction::SupersededBy)),
    ("supersedes", Some(Direction::Supersedes)),
    ("amended by", None),
    ("amends", None),
    ("clarified by", None),
    ("clarifies", None),
    ("extended by", None),
    ("extends", None),
    ("related to", None),
    ("relates to", None),
    ("refines", None),
];

/// Records named in a status, deduplicated: a number named twice is one reference, and a
/// bare number is replaced by a link to the same number when one comes.
#[derive(Default)]
struct RefList {
    list: Vec<AdrRef>,
    seen: HashSet<(Option<u32>, Option<String>)>,
    by_number: HashMap<u32, usize>,
}

impl RefList {
    fn add(&mut self, r: AdrRef) {
        if !self.seen.insert((r.number, r.target.clone())) {
            return;
        }
        if let Some(n) = r.number {
            if let Some(&i) = self.by_number.get(&n) {
                if r.target.is_none() {
                    return;
                }
                if let Some(existing) = self.list.get_mut(i) {
                    if existing.target.is_none() {
                        *existing = r;
                        return;
                    }
                }
            } else {
                self.by_number.insert(n, self.list.len());
            }
        }
        self.list.push(r);
    }
}

/// Collects the references of one status line: after "superseded by" / "supersedes", up
/// to the next relation word, every link (its target, and the number in its text or
/// target) and every `ADR-n` (or a bare number right after the word).
fn scan_refs(line: &Line, superseded_by: &mut RefList, supersedes: &mut RefList) {
    let lower = line.text.to_ascii_lowercase();
    let bytes = lower.as_bytes();

    // The relation words, outside link texts, in order.
    let mut markers: Vec<(usize, usize, Option<Direction>)> = Vec::new();
    let mut link = 0;
    let mut i = 0;
    while i < bytes.len() {
        while line.links.get(link).is_some_and(|l| l.end <= i) {
            link += 1;
        }
        let in_link = line
            .links
            .get(link)
            .is_some_and(|l| l.start <= i && i < l.end);
        let word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if !in_link && word_start {
            let rest = lower.get(i..).unwrap_or("");
            let found = MARKERS.iter().find(|(m, _)| {
                rest.starts_with(m)
                    && !rest
                        .as_bytes()
                        .get(m.len())
                        .is_some_and(u8::is_ascii_alphanumeric)
            });
            if let Some(&(m, direction)) = found {
                markers.push((i, i + m.len(), direction));
                i += m.len();
                continue;
            }
        }
        i += 1;
    }

    let mut link = 0;
    for (k, &(_, seg_start, direction)) in markers.iter().enumerate() {
        let seg_end = markers.get(k + 1).map_or(lower.len(), |m| m.0);
        while line.links.get(link).is_some_and(|l| l.start < seg_start) {
            link += 1;
        }
        let Some(direction) = direction else {
            continue;
        };
        let list = match direction {
            Direction::SupersededBy => &mut *superseded_by,
            Direction::Supersedes => &mut *supersedes,
        };
        let mut gap_start = seg_start;
        let mut first_gap = true;
        while let Some(l) = line.links.get(link).filter(|l| l.start < seg_end) {
            plain_refs(lower.get(gap_start..l.start).unwrap_or(""), first_gap, list);
            first_gap = false;
            let text = line.text.get(l.start..l.end).unwrap_or("");
            let number = split_title_number(text)
                .0
                .or_else(|| number_from_target(&l.dest));
            let target = (!l.dest.is_empty()).then(|| l.dest.clone());
            if number.is_some() || target.is_some() {
                list.add(AdrRef { number, target });
            }
            gap_start = l.end.max(gap_start);
            link += 1;
        }
        if gap_start < seg_end {
            plain_refs(lower.get(gap_start..seg_end).unwrap_or(""), first_gap, list);
        }
    }
}

/// Numbers named in plain (lowercased) status text: `adr-0005`, `adr 5`, `adr#5`
/// anywhere, and, when `first`, a bare number (`5`, `#5`) that starts the text.
fn plain_refs(lower: &str, first: bool, list: &mut RefList) {
    let bytes = lower.as_bytes();
    let number_at = |start: usize| -> Option<u32> {
        let digits = bytes
            .get(start..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let end = start + digits;
        let next = bytes.get(end).copied();
        let date_like = next == Some(b'-') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        if digits == 0 || next.is_some_and(|b| b.is_ascii_alphanumeric()) || date_like {
            return None;
        }
        lower.get(start..end)?.parse().ok()
    };
    if first {
        let start = lower.len() - lower.trim_start_matches([' ', ':', '#', '\t']).len();
        if let Some(number) = number_at(start) {
            list.add(AdrRef {
                number: Some(number),
                target: None,
            });
        }
    }
    let mut from = 0;
    while let Some(found) = lower.get(from..).and_then(|rest| rest.find("adr")) {
        let at = from + found;
        from = at + 3;
        if at > 0 && bytes[at - 1].is_ascii_alphanumeric() {
            continue;
        }
        let mut start = at + 3;
        let mut skipped = 0;
        while skipped < 3 && bytes.get(start).is_some_and(|b| b" -_#:".contains(b)) {
            start += 1;
            skipped += 1;
        }
        if let Some(number) = number_at(start) {
            list.add(AdrRef {
                number: Some(number),
                target: None,
            });
        }
    }
}

// ---------------------------------------------------------------------------------------
// The body

/// The parts of a record that its sections hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    /// Before the first section heading: `Date:` / `Status:` lines.
    Preamble,
    Status,
    Date,
    Context,
    Decision,
    Consequences,
    /// A section that is not kept.
    Other,
}

/// The section a heading's (normalised) text names, if any.
fn classify(name: &str) -> Option<Section> {
    Some(match name {
        "status" => Section::Status,
        "date" => Section::Date,
        "context" | "problem statement" => Section::Context,
        _ if name.starts_with("context ") => Section::Context,
        "decision" | "decisions" | "decision outcome" => Section::Decision,
        "consequences" => Section::Consequences,
        _ if name.ends_with(" consequences") => Section::Consequences,
        _ => return None,
    })
}

/// Headings that only name their section; other sub-headings stay in the section's text.
fn is_plain_section_name(name: &str) -> bool {
    matches!(
        name,
        "status"
            | "date"
            | "context"
            | "context and problem statement"
            | "decision"
            | "decisions"
            | "decision outcome"
            | "consequences"
    )
}

/// A heading's text for matching: lowercased, without a leading section number or a
/// trailing colon, single-spaced.
fn normalize_heading(text: &str) -> String {
    let t = text.trim_start_matches(|c: char| {
        c.is_ascii_digit() || c == '.' || c == ')' || c.is_whitespace()
    });
    let t = t.trim_end_matches(|c: char| c == ':' || c.is_whitespace());
    let mut out = String::with_capacity(t.len());
    for word in t.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word.to_lowercase());
    }
    out
}

fn heading_rank(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Space owed between two pieces of plain text, the widest asked for winning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
enum Gap {
    #[default]
    None,
    Space,
    Line,
    Paragraph,
}

/// A section's plain text, built in one pass.
#[derive(Default)]
struct TextBuf {
    out: String,
    pending: Gap,
}

impl TextBuf {
    fn push(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if !self.out.is_empty() {
            match self.pending {
                Gap::None => {}
                Gap::Space => self.out.push(' '),
                Gap::Line => self.out.push('\n'),
                Gap::Paragraph => self.out.push_str("\n\n"),
            }
        }
        self.pending = Gap::None;
        self.out.push_str(s);
    }

    fn gap(&mut self, gap: Gap) {
        if gap >= Gap::Line {
            let end = self.out.trim_end().len();
            self.out.truncate(end);
        }
        self.pending = self.pending.max(gap);
    }

    fn finish(self) -> String {
        let trimmed = self.out.trim();
        if trimmed.len() == self.out.len() {
            self.out
        } else {
            trimmed.to_owned()
        }
    }
}

/// Lines of text with their links (the preamble and the status section).
#[derive(Default)]
struct Lines {
    done: Vec<Line>,
    current: Line,
    open_link: Option<(usize, String)>,
}

impl Lines {
    fn push(&mut self, s: &str) {
        self.current.text.push_str(s);
    }

    /// A soft or hard break: a new line, except inside a link's text.
    fn line_break(&mut self) {
        if self.open_link.is_some() {
            self.current.text.push(' ');
        } else {
            self.end_line();
        }
    }

    fn end_line(&mut self) {
        self.end_link();
        let line = std::mem::take(&mut self.current);
        if !line.text.trim().is_empty() || !line.links.is_empty() {
            self.done.push(line);
        }
    }

    fn start_link(&mut self, dest: &str) {
        if self.open_link.is_none() {
            self.open_link = Some((self.current.text.len(), dest.to_owned()));
        }
    }

    fn end_link(&mut self) {
        if let Some((start, dest)) = self.open_link.take() {
            let end = self.current.text.len();
            self.current.links.push(LinkSpan { start, end, dest });
        }
    }

    fn finish(mut self) -> Vec<Line> {
        self.end_line();
        self.done
    }
}

/// The inline code spans of a record, deduplicated in order.
#[derive(Default)]
struct CodeSpans {
    list: Vec<String>,
    seen: HashSet<String>,
}

impl CodeSpans {
    /// `source` is the span as written, backticks included (to see line breaks that
    /// CommonMark turns into spaces).
    fn add(&mut self, source: Option<&str>, code: &str) {
        let multiline = |s: &str| s.contains(['\n', '\r']);
        if source.is_some_and(multiline) || multiline(code) {
            return;
        }
        let code = code.trim();
        if code.is_empty() || code.chars().nth(MAX_CODE_SPAN_CHARS).is_some() {
            return;
        }
        if !self.seen.contains(code) {
            self.seen.insert(code.to_owned());
            self.list.push(code.to_owned());
        }
    }
}

/// What the body of a record holds.
struct Body {
    title: Option<String>,
    preamble: Vec<Line>,
    status: Vec<Line>,
    date_section: String,
    context: String,
    decision: String,
    consequences: String,
    code_spans: Vec<String>,
}

/// Walks the body's events, sending each piece of text to the section it is in.
#[derive(Default)]
struct Reader {
    title: Option<String>,
    /// The text of the heading being read.
    heading: Option<String>,
    /// The open sections: heading rank and section, outermost first.
    stack: Vec<(u8, Section)>,
    preamble: Lines,
    status: Lines,
    date: TextBuf,
    context: TextBuf,
    decision: TextBuf,
    consequences: TextBuf,
    code_spans: CodeSpans,
    in_code_block: bool,
}

impl Reader {
    fn section(&self) -> Section {
        self.stack.last().map_or(Section::Preamble, |&(_, s)| s)
    }

    fn text_buf(&mut self, section: Section) -> Option<&mut TextBuf> {
        match section {
            Section::Date => Some(&mut self.date),
            Section::Context => Some(&mut self.context),
            Section::Decision => Some(&mut self.decision),
            Section::Consequences => Some(&mut self.consequences),
            _ => None,
        }
    }

    fn lines(&mut self, section: Section) -> Option<&mut Lines> {
        match section {
            Section::Preamble => Some(&mut self.preamble),
            Section::Status => Some(&mut self.status),
            _ => None,
        }
    }

    fn read(&mut self, body: &str) {
        for (event, range) in Parser::new_ext(body, Options::empty()).into_offset_iter() {
            match event {
                Event::Start(Tag::Heading { .. }) => {
                    self.block(Gap::Paragraph);
                    self.heading = Some(String::new());
                }
                Event::End(TagEnd::Heading(level)) => {
                    if let Some(text) = self.heading.take() {
                        self.on_heading(level, &text);
                    }
                }
                Event::Code(code) => {
                    self.code_spans.add(body.get(range), &code);
                    self.on_text(&code);
                }
                Event::Text(text) => self.on_text(&text),
                Event::SoftBreak => self.on_break(Gap::Space),
                Event::HardBreak => self.on_break(Gap::Line),
                Event::Start(tag) => self.on_start(&tag),
                Event::End(tag) => self.on_end(tag),
                _ => {}
            }
        }
    }

    fn finish(self) -> Body {
        Body {
            title: self.title,
            preamble: self.preamble.finish(),
            status: self.status.finish(),
            date_section: self.date.finish(),
            context: self.context.finish(),
            decision: self.decision.finish(),
            consequences: self.consequences.finish(),
            code_spans: self.code_spans.list,
        }
    }

    fn on_text(&mut self, text: &str) {
        if let Some(heading) = &mut self.heading {
            heading.push_str(text);
            return;
        }
        let section = self.section();
        let in_code_block = self.in_code_block;
        if let Some(buf) = self.text_buf(section) {
            buf.push(text);
        } else if let Some(lines) = self.lines(section) {
            if !in_code_block {
                lines.push(text);
            }
        }
    }

    fn on_break(&mut self, gap: Gap) {
        if let Some(heading) = &mut self.heading {
            heading.push(' ');
            return;
        }
        let section = self.section();
        if let Some(buf) = self.text_buf(section) {
            buf.gap(gap);
        } else if let Some(lines) = self.lines(section) {
            lines.line_break();
        }
    }

    /// A block starts or ends: text on either side is apart by `gap`.
    fn block(&mut self, gap: Gap) {
        let section = self.section();
        if let Some(buf) = self.text_buf(section) {
            buf.gap(gap);
        } else if let Some(lines) = self.lines(section) {
            lines.end_line();
        }
    }

    fn on_start(&mut self, tag: &Tag<'_>) {
        if self.heading.is_some() {
            return;
        }
        match tag {
            Tag::CodeBlock(_) => {
                self.block(Gap::Paragraph);
                self.in_code_block = true;
            }
            Tag::Link { dest_url, .. } => {
                let section = self.section();
                if let Some(lines) = self.lines(section) {
                    lines.start_link(dest_url);
                }
            }
            Tag::List(_) | Tag::Item => self.block(Gap::Line),
            Tag::Paragraph
            | Tag::BlockQuote(_)
            | Tag::HtmlBlock
            | Tag::Table(_)
            | Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::MetadataBlock(_) => self.block(Gap::Paragraph),
            Tag::TableRow
            | Tag::TableHead
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition => self.block(Gap::Line),
            _ => {}
        }
    }

    fn on_end(&mut self, tag: TagEnd) {
        if self.heading.is_some() {
            return;
        }
        match tag {
            TagEnd::CodeBlock => {
                self.in_code_block = false;
                self.block(Gap::Paragraph);
            }
            TagEnd::Link => {
                let section = self.section();
                if let Some(lines) = self.lines(section) {
                    lines.end_link();
                }
            }
            TagEnd::List(_) | TagEnd::Item => self.block(Gap::Line),
            TagEnd::Paragraph
            | TagEnd::BlockQuote(_)
            | TagEnd::HtmlBlock
            | TagEnd::Table
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::MetadataBlock(_) => self.block(Gap::Paragraph),
            TagEnd::TableRow
            | TagEnd::TableHead
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition => self.block(Gap::Line),
            _ => {}
        }
    }

    /// The first non-empty level-1 heading is the title; any other heading opens a
    /// section, closing those at its level or deeper. A heading that names no section
    /// belongs to the section it sits under (and its text stays in that section's text).
    fn on_heading(&mut self, level: HeadingLevel, text: &str) {
        let text = text.trim();
        let rank = heading_rank(level);
        if rank == 1 && self.title.is_none() && !text.is_empty() {
            self.title = Some(text.to_owned());
            self.stack.clear();
            return;
        }
        while self.stack.last().is_some_and(|&(r, _)| r >= rank) {
            self.stack.pop();
        }
        // `## Status: Accepted`: the heading says the status itself.
        if let Some((key, value)) = text.split_once(':') {
            if normalize_heading(key) == "status" && !value.trim().is_empty() {
                self.stack.push((rank, Section::Status));
                self.status.end_line();
                self.status.push(value.trim());
                self.status.end_line();
                return;
            }
        }
        let name = normalize_heading(text);
        let parent = self.stack.last().map(|&(_, s)| s);
        let (section, keep_text) = match (classify(&name), parent) {
            (Some(section), parent) => (section, parent.is_some() && !is_plain_section_name(&name)),
            (None, Some(parent)) => (parent, true),
            (None, None) => (Section::Other, false),
        };
        self.stack.push((rank, section));
        if keep_text {
            if let Some(buf) = self.text_buf(section) {
                buf.gap(Gap::Paragraph);
                buf.push(text);
                buf.gap(Gap::Paragraph);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(file_name: &str, text: &str) -> Adr {
        parse(file_name, text.as_bytes()).expect("a record")
    }

    fn link(number: u32, target: &str) -> AdrRef {
        AdrRef {
            number: Some(number),
            target: Some(target.to_owned()),
        }
    }

    fn numbered(number: u32) -> AdrRef {
        AdrRef {
            number: Some(number),
            target: None,
        }
    }

    const NYGARD_FIRST: &str = "# 1. Record architecture decisions

Date: 2024-01-05

## Status

Accepted

## Context

We need to record the architectural decisions made on this project.

## Decision

We will use Architecture Decision Records, as [described by Michael Nygard](http://thinkrelevance.com/blog/2011/11/15/documenting-architecture-decisions).

## Consequences

See Michael Nygard's article, linked above. For a lightweight ADR toolset, see Nat Pryce's [adr-tools](https://github.com/npryce/adr-tools).
";

    const NYGARD_SUPERSEDED: &str = "# 2. Use SQLite

Date: 2024-01-20

## Status

Superseded by [3. Use PostgreSQL](0003-use-postgresql.md)

## Context

We need a store for orders.

## Decision

We will use SQLite through `rusqlite`.

## Consequences

One writer at a time.
";

    const NYGARD_SUPERSEDING: &str = "# 3. Use PostgreSQL

Date: 2024-02-10

## Status

Accepted

Supersedes [2. Use SQLite](0002-use-sqlite.md)

## Context

The `OrderStore` outgrew SQLite: many writers
contend for one file lock.

Reports join across `orders` and `customers`.

## Decision

We will use PostgreSQL 16 through `sqlx::PgPool`.

```rust
let pool = PgPool::connect(url).await?;
```

## Consequences

* Migrations move to `migrations/`.
* Local development needs a database container.
";

    const MADR3: &str = "---
status: accepted
date: 2024-03-01
deciders: Alice, Bob
consulted:
  - Carol
---
# ADR-0004: Use Plain JUnit5 for testing

## Context and Problem Statement

Which test framework should `core` use? Mixing `TestNG` and JUnit 4
slows down the build.

## Decision Drivers

* one runner for all modules
* fast feedback

## Considered Options

* Plain JUnit5
* JUnit5 with `Hamcrest`
* TestNG

## Decision Outcome

Chosen option: \"Plain JUnit5\", because it is the standard runner and needs no extra dependency.

### Consequences

* Good, because the build runs one engine.
* Bad, because assertions in `Hamcrest` style must be rewritten.

### Confirmation

The build fails when `org.testng` is imported.

## Pros and Cons of the Options

### Plain JUnit5

* Good, because `Assertions.assertThrows` covers exceptions

### TestNG

* Bad, because parallel runs are configured in `testng.xml`

## More Information

See `docs/testing.md`.
";

    const MADR2: &str = "# 0005 - Use Markdown Architectural Decision Records

* Status: superseded by [ADR-0007](0007-use-madr-4.md)
* Deciders: Oliver, Stefan
* Date: 2018-05-03

Technical Story: [ticket #42](https://example.com/42)

## Context and Problem Statement

We want to record architectural decisions made in this project.
Which format and structure should these records follow?

## Considered Options

* [MADR](https://adr.github.io/madr/) 2.1.2
* Michael Nygard's template

## Decision Outcome

Chosen option: \"MADR 2.1.2\", because it is lean and fits our development style.

### Positive Consequences <!-- optional -->

* Structure is `explicit`.

### Negative Consequences <!-- optional -->

* Learning curve.

## Links

* Refines [ADR-0002](0002-foo.md)
";

    #[test]
    fn reads_nygard_first_record() {
        let adr = read("0001-record-architecture-decisions.md", NYGARD_FIRST);
        assert_eq!(
            adr,
            Adr {
                title: "Record architecture decisions".into(),
                number: Some(1),
                status: AdrStatus::Accepted,
                date: Some("2024-01-05".into()),
                context: "We need to record the architectural decisions made on this project."
                    .into(),
                decision: "We will use Architecture Decision Records, as described by Michael Nygard."
                    .into(),
                consequences: "See Michael Nygard's article, linked above. For a lightweight ADR toolset, see Nat Pryce's adr-tools."
                    .into(),
                superseded_by: vec![],
                supersedes: vec![],
                code_spans: vec![],
            }
        );
    }

    #[test]
    fn reads_nygard_superseded_record() {
        let adr = read("0002-use-sqlite.md", NYGARD_SUPERSEDED);
        assert_eq!(adr.title, "Use SQLite");
        assert_eq!(adr.number, Some(2));
        assert_eq!(adr.status, AdrStatus::Superseded);
        assert_eq!(adr.date.as_deref(), Some("2024-01-20"));
        assert_eq!(adr.superseded_by, vec![link(3, "0003-use-postgresql.md")]);
        assert_eq!(adr.supersedes, vec![]);
        assert_eq!(adr.context, "We need a store for orders.");
        assert_eq!(adr.decision, "We will use SQLite through rusqlite.");
        assert_eq!(adr.consequences, "One writer at a time.");
        assert_eq!(adr.code_spans, vec!["rusqlite"]);
    }

    #[test]
    fn reads_nygard_superseding_record() {
        let adr = read("0003-use-postgresql.md", NYGARD_SUPERSEDING);
        assert_eq!(
            adr,
            Adr {
                title: "Use PostgreSQL".into(),
                number: Some(3),
                status: AdrStatus::Accepted,
                date: Some("2024-02-10".into()),
                context:
                    "The OrderStore outgrew SQLite: many writers contend for one file lock.\n\n\
                          Reports join across orders and customers."
                        .into(),
                decision: "We will use PostgreSQL 16 through sqlx::PgPool.\n\n\
                           let pool = PgPool::connect(url).await?;"
                    .into(),
                consequences:
                    "Migrations move to migrations/.\nLocal development needs a database container."
                        .into(),
                superseded_by: vec![],
                supersedes: vec![link(2, "0002-use-sqlite.md")],
                code_spans: vec![
                    "OrderStore".into(),
                    "orders".into(),
                    "customers".into(),
                    "sqlx::PgPool".into(),
                    "migrations/".into(),
                ],
            }
        );
    }

    #[test]
    fn reads_madr3_with_front_matter() {
        let adr = read("0004-use-plain-junit5-for-testing.md", MADR3);
        assert_eq!(
            adr,
            Adr {
                title: "Use Plain JUnit5 for testing".into(),
                number: Some(4),
                status: AdrStatus::Accepted,
                date: Some("2024-03-01".into()),
                context: "Which test framework should core use? Mixing TestNG and JUnit 4 slows down the build."
                    .into(),
                decision: "Chosen option: \"Plain JUnit5\", because it is the standard runner and needs no extra dependency.\n\n\
                           Confirmation\n\n\
                           The build fails when org.testng is imported."
                    .into(),
                consequences: "Good, because the build runs one engine.\n\
                               Bad, because assertions in Hamcrest style must be rewritten."
                    .into(),
                superseded_by: vec![],
                supersedes: vec![],
                code_spans: vec![
                    "core".into(),
                    "TestNG".into(),
                    "Hamcrest".into(),
                    "org.testng".into(),
                    "Assertions.assertThrows".into(),
                    "testng.xml".into(),
                    "docs/testing.md".into(),
                ],
            }
        );
    }

    #[test]
    fn madr_title_number_is_used_without_a_numbered_file_name() {
        let adr = read("use-plain-junit5.md", MADR3);
        assert_eq!(adr.number, Some(4));
        assert_eq!(adr.title, "Use Plain JUnit5 for testing");
    }

    #[test]
    fn reads_madr2_with_bullets() {
        let adr = read("0005-use-markdown-architectural-decision-records.md", MADR2);
        assert_eq!(
            adr,
            Adr {
                title: "Use Markdown Architectural Decision Records".into(),
                number: Some(5),
                status: AdrStatus::Superseded,
                date: Some("2018-05-03".into()),
                context: "We want to record architectural decisions made in this project. \
                          Which format and structure should these records follow?"
                    .into(),
                decision: "Chosen option: \"MADR 2.1.2\", because it is lean and fits our development style."
                    .into(),
                consequences: "Positive Consequences\n\nStructure is explicit.\n\n\
                               Negative Consequences\n\nLearning curve."
                    .into(),
                superseded_by: vec![link(7, "0007-use-madr-4.md")],
                supersedes: vec![],
                code_spans: vec!["explicit".into()],
            }
        );
    }

    #[test]
    fn front_matter_superseded_by_adr_number() {
        for status in [
            "\"superseded by ADR-0005\"",
            "superseded by ADR-0005",
            "'Superseded by ADR-0005'",
        ] {
            let text = format!("---\nstatus: {status}\ndate: \"2024-01-02\"\n---\n# Use X\n");
            let adr = read("use-x.md", &text);
            assert_eq!(adr.status, AdrStatus::Superseded, "{status}");
            assert_eq!(adr.superseded_by, vec![numbered(5)], "{status}");
            assert_eq!(adr.supersedes, vec![]);
            assert_eq!(adr.number, None);
            assert_eq!(adr.date.as_deref(), Some("2024-01-02"));
        }
    }

    #[test]
    fn madr2_bullet_superseded_by_link() {
        let adr = read(
            "0002-foo.md",
            "# Foo\n\n* Status: superseded by [ADR-0005](0005-foo.md)\n* Date: 2020-02-02\n",
        );
        assert_eq!(adr.status, AdrStatus::Superseded);
        assert_eq!(adr.superseded_by, vec![link(5, "0005-foo.md")]);
        assert_eq!(adr.date.as_deref(), Some("2020-02-02"));
    }

    #[test]
    fn supersede_references_in_both_directions() {
        // Two lines in one paragraph, several references, numbers from link text,
        // from the target, and plain.
        let text = "# 9. Split the store

## Status

Accepted
Supersedes [3. Use PostgreSQL](0003-use-postgresql.md), [the cache decision](./0004-cache.md#top) and ADR-0006

Superseded by [10. Merge the store](0010-merge.md)

Amended by [11. Tune the store](0011-tune.md)

Supersedes [3. Use PostgreSQL](0003-use-postgresql.md)
";
        let adr = read("0009-split.md", text);
        assert_eq!(adr.status, AdrStatus::Accepted);
        assert_eq!(
            adr.supersedes,
            vec![
                link(3, "0003-use-postgresql.md"),
                link(4, "./0004-cache.md#top"),
                numbered(6),
            ]
        );
        assert_eq!(adr.superseded_by, vec![link(10, "0010-merge.md")]);
    }

    #[test]
    fn references_without_numbers_or_links() {
        let adr = read(
            "x.md",
            "# X\n\n## Status\n\nSuperseded by [the new API](../api.md) and 12\n\nSupersedes 7\n",
        );
        assert_eq!(adr.status, AdrStatus::Superseded);
        assert_eq!(
            adr.superseded_by,
            vec![AdrRef {
                number: None,
                target: Some("../api.md".into())
            }]
        );
        assert_eq!(adr.supersedes, vec![numbered(7)]);
    }

    #[test]
    fn a_bare_number_gives_way_to_a_link_to_it() {
        let text = "---\nstatus: superseded by ADR-0005\n---\n# X\n\n## Status\n\nSuperseded by [ADR-0005](0005-y.md)\n";
        let adr = read("x.md", text);
        assert_eq!(adr.superseded_by, vec![link(5, "0005-y.md")]);
    }

    #[test]
    fn status_words() {
        let cases = [
            ("Proposed", AdrStatus::Proposed),
            ("draft", AdrStatus::Proposed),
            ("**Accepted**", AdrStatus::Accepted),
            ("APPROVED on Monday", AdrStatus::Accepted),
            ("Done", AdrStatus::Accepted),
            ("Rejected", AdrStatus::Rejected),
            ("Deprecated", AdrStatus::Deprecated),
            ("Superseded", AdrStatus::Superseded),
            ("superseded by 4", AdrStatus::Superseded),
            ("* Accepted", AdrStatus::Accepted),
            ("  In Review  ", AdrStatus::Unknown("in review".into())),
            (
                "Supersedes [1. A](0001-a.md)\n\nAccepted",
                AdrStatus::Accepted,
            ),
        ];
        for (status, expected) in cases {
            let text = format!("# T\n\n## Status\n\n{status}\n");
            assert_eq!(read("t.md", &text).status, expected, "{status}");
        }
        assert_eq!(
            read("t.md", "# T\n\n## Context\n\nNone.\n").status,
            AdrStatus::Unknown(String::new())
        );
        assert_eq!(
            read("t.md", "---\nstatus: Proposed\n---\n# T\n").status,
            AdrStatus::Proposed
        );
        assert_eq!(
            read("t.md", "# T\n\nStatus: rejected\n").status,
            AdrStatus::Rejected
        );
    }

    #[test]
    fn status_in_a_heading() {
        let adr = read(
            "x.md",
            "# X\n\n## Status: Superseded by ADR-0009\n\n## Context\n\nWhy.\n",
        );
        assert_eq!(adr.status, AdrStatus::Superseded);
        assert_eq!(adr.superseded_by, vec![numbered(9)]);
        assert_eq!(adr.context, "Why.");
    }

    #[test]
    fn title_number_prefixes() {
        let cases = [
            (
                "1. Record architecture decisions",
                Some(1),
                "Record architecture decisions",
            ),
            ("ADR-0004: Use X", Some(4), "Use X"),
            ("adr 12 Use Y", Some(12), "Use Y"),
            ("0004 - Use Z", Some(4), "Use Z"),
            ("0004 – Use Z", Some(4), "Use Z"),
            (
                "2 phase commit for orders",
                None,
                "2 phase commit for orders",
            ),
            ("1.5 Upgrade", None, "1.5 Upgrade"),
            ("Adrenaline", None, "Adrenaline"),
            ("ADR-0006", Some(6), "ADR-0006"),
            ("Use `Foo` for bar", None, "Use Foo for bar"),
        ];
        for (heading, number, title) in cases {
            let adr = read("notes.md", &format!("# {heading}\n"));
            assert_eq!(adr.number, number, "{heading}");
            assert_eq!(adr.title, title, "{heading}");
        }
        // The file name's number wins over the title's.
        assert_eq!(read("0008-x.md", "# 3. X\n").number, Some(8));
        assert_eq!(read("adr-012-x.md", "# X\n").number, Some(12));
        assert_eq!(read("2fa-login.md", "# X\n").number, None);
        // A setext title, and a title after an empty level-1 heading.
        assert_eq!(read("x.md", "Use X\n=====\n").title, "Use X");
        assert_eq!(read("x.md", "#\n\n# 2. Use Y\n").title, "Use Y");
    }

    #[test]
    fn dates_are_kept_only_in_shape() {
        assert_eq!(read("x.md", "# X\n\nDate: 2024-1-5\n").date, None);
        assert_eq!(
            read("x.md", "# X\n\nDate: [YYYY-MM-DD when decided]\n").date,
            None
        );
        assert_eq!(
            read("x.md", "# X\n\n## Date\n\n2023-12-31\n")
                .date
                .as_deref(),
            Some("2023-12-31")
        );
        assert_eq!(
            read("x.md", "---\ndate: 2024-01-05 # decided\n---\n# X\n")
                .date
                .as_deref(),
            Some("2024-01-05")
        );
    }

    #[test]
    fn code_spans_deduplicated_fenced_excluded_long_and_multiline_dropped() {
        let long = "a".repeat(201);
        let longest = "b".repeat(200);
        let text = format!(
            "# Use `Store` everywhere

## Context

Call `Foo::bar` and `  Foo::bar  ` and `baz`, then `Store` again.

```rust
fn fenced_only() {{}}
```

    indented_only()

Long: `{long}` and kept: `{longest}`.

Split: `first
second` end. Empty: `` ` ` `` and `   `.

## About `Heading::name`

> Quoted `quoted_name`.
"
        );
        let adr = read("x.md", &text);
        assert_eq!(
            adr.code_spans,
            vec![
                "Store".to_owned(),
                "Foo::bar".to_owned(),
                "baz".to_owned(),
                longest,
                "` `".to_owned(),
                "Heading::name".to_owned(),
                "quoted_name".to_owned(),
            ]
        );
        assert!(adr.context.contains("fn fenced_only() {}"));
    }

    #[test]
    fn skips_too_large_before_anything_else() {
        let big = vec![0xffu8; MAX_ADR_BYTES + 1];
        assert_eq!(
            parse("0001-x.md", &big),
            Err(Skip::TooLarge {
                size: MAX_ADR_BYTES + 1
            })
        );
        let mut at_limit = b"# Big\n\n".to_vec();
        at_limit.resize(MAX_ADR_BYTES, b'a');
        assert_eq!(
            parse("0001-x.md", &at_limit).map(|a| a.title),
            Ok("Big".into())
        );
    }

    #[test]
    fn skips_binary() {
        assert_eq!(parse("x.md", b"# Title\n\0rest"), Err(Skip::Binary));
        // Not binary when the NUL is beyond the first 8 KiB, nor when a bad byte comes
        // first: the NUL check looks at the start only, after the size.
        let mut late = b"# Title\n\n".to_vec();
        late.resize(9000, b'a');
        late.push(0);
        assert!(parse("x.md", &late).is_ok());
        assert_eq!(parse("x.md", b"\xff\0"), Err(Skip::Binary));
    }

    #[test]
    fn skips_invalid_utf8_with_offset() {
        assert_eq!(
            parse("x.md", b"# Title\n\xff"),
            Err(Skip::NotUtf8 { offset: 8 })
        );
        // A truncated multi-byte character: é is C3 A9.
        assert_eq!(
            parse("x.md", b"# Caf\xc3"),
            Err(Skip::NotUtf8 { offset: 5 })
        );
    }

    #[test]
    fn skips_without_a_title() {
        assert_eq!(parse("x.md", b""), Err(Skip::NoTitle));
        assert_eq!(
            parse("x.md", b"## Status\n\nAccepted\n"),
            Err(Skip::NoTitle)
        );
        assert_eq!(parse("x.md", b"#\n\nText\n"), Err(Skip::NoTitle));
        // An unclosed front matter is body: its `title:` names nothing.
        assert_eq!(parse("x.md", b"---\ntitle: X\n"), Err(Skip::NoTitle));
    }

    #[test]
    fn front_matter_title_names_a_record_without_heading() {
        let adr = read(
            "0007-x.md",
            "\u{feff}---\ntitle: \"ADR-0007: Use X\"\nstatus: accepted\n---\n## Context\n\nWhy.\n",
        );
        assert_eq!(adr.title, "Use X");
        assert_eq!(adr.number, Some(7));
        assert_eq!(adr.status, AdrStatus::Accepted);
        assert_eq!(adr.context, "Why.");
    }

    #[test]
    fn front_matter_without_keys_is_body() {
        let adr = read("x.md", "---\n# Title\n---\n\nText\n");
        assert_eq!(adr.title, "Title");
    }

    #[test]
    fn skip_messages() {
        assert_eq!(
            Skip::TooLarge { size: 300_000 }.to_string(),
            "it is 300000 bytes, over the 262144-byte limit for a decision record"
        );
        assert_eq!(Skip::Binary.to_string(), "it is a binary file");
        assert_eq!(
            Skip::NotUtf8 { offset: 12 }.to_string(),
            "it is not UTF-8 (byte 12)"
        );
        assert_eq!(
            Skip::NoTitle.to_string(),
            "it has no title (a level-1 heading)"
        );
    }

    #[test]
    fn record_names() {
        for name in [
            "0001-record-architecture-decisions.md",
            "0002-use-x.MD",
            "use-x.markdown",
            "0005-use-templates-for-emails.md",
            "0007-template-engine.md",
            "0009-index-strategy.md",
            "adr-003-y.md",
        ] {
            assert!(is_record_name(name), "{name}");
        }
        for name in [
            "README.md",
            "readme.markdown",
            "index.md",
            "_index.md",
            "template.md",
            "adr-template.md",
            "0000-template.md",
            "adr-template-bare-minimal.md",
            "TEMPLATE.md",
            "0001-x.txt",
            "0001-x.md.bak",
            "notes",
            ".md",
        ] {
            assert!(!is_record_name(name), "{name}");
        }
    }

    #[test]
    fn serializes_in_camel_case() {
        let adr = read("0002-use-sqlite.md", NYGARD_SUPERSEDED);
        insta::assert_yaml_snapshot!(adr, @r#"
        title: Use SQLite
        number: 2
        status: superseded
        date: 2024-01-20
        context: We need a store for orders.
        decision: We will use SQLite through rusqlite.
        consequences: One writer at a time.
        supersededBy:
          - number: 3
            target: 0003-use-postgresql.md
        supersedes: []
        codeSpans:
          - rusqlite
        "#);
    }

    #[test]
    fn a_record_at_the_size_limit_is_read_whole() {
        let mut text = String::from("# 1. Big\n\n## Status\n\nAccepted\n");
        let mut line = String::from("Supersedes");
        for i in 0..500 {
            line.push_str(&format!(" [{i}. X](000{i}-x.md) supersedes ADR-{i}"));
        }
        text.push_str(&line);
        text.push_str("\n\n## Context\n\n");
        let mut i = 0;
        while text.len() < MAX_ADR_BYTES - 200 {
            text.push_str(&format!(
                "Paragraph {i} names `Sym{i}` and `Sym{}` with *stress* and [a link](x.md).\n\n",
                i / 2
            ));
            i += 1;
        }
        let adr = read("0001-big.md", &text);
        assert_eq!(adr.supersedes.len(), 500);
        assert_eq!(adr.code_spans.len(), i);
        assert!(adr.context.starts_with("Paragraph 0 names Sym0 and Sym0"));
    }

    /// A small deterministic xorshift generator, so the no-panic test needs no crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    const TOKENS: [&str; 40] = [
        "# ",
        "## ",
        "### ",
        "#",
        "\n",
        "\n\n",
        "\r\n",
        " ",
        "`",
        "``",
        "```\n",
        "[",
        "]",
        "(",
        ")",
        "](",
        "* ",
        "- ",
        "> ",
        "    ",
        "---\n",
        "...\n",
        ":",
        "\"",
        "'",
        "Status",
        "status: ",
        "Date: 2024-01-05",
        "Superseded by ",
        "Supersedes ",
        "ADR-",
        "0005",
        "1. ",
        "Accepted",
        "Consequences",
        "Decision Outcome",
        "Context",
        "é",
        "<!-- x -->",
        "\u{feff}",
    ];

    fn check(adr: &Adr) {
        let mut seen = HashSet::new();
        for span in &adr.code_spans {
            assert!(!span.contains('\n'));
            assert!(span.chars().count() <= MAX_CODE_SPAN_CHARS);
            assert_eq!(span.trim(), span);
            assert!(seen.insert(span.clone()), "duplicate {span:?}");
        }
        for text in [&adr.context, &adr.decision, &adr.consequences, &adr.title] {
            assert_eq!(text.trim(), text.as_str());
        }
        assert!(adr.date.as_deref().is_none_or(is_date_shaped));
    }

    /// Parses `bytes`, checks what a record promises, and says whether it was read.
    fn parse_checked(bytes: &[u8]) -> bool {
        match parse("0001-fuzz.md", bytes) {
            Ok(adr) => {
                check(&adr);
                true
            }
            Err(_) => false,
        }
    }

    #[test]
    fn never_panics() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // Random bytes, mostly Markdown punctuation.
        for _ in 0..1500 {
            let len = rng.below(400);
            let bytes: Vec<u8> = (0..len)
                .map(|_| match rng.below(4) {
                    0 => rng.next() as u8,
                    _ => {
                        let alphabet = b"#*`[]()-:> \n\r0123456789adrADR_!<";
                        alphabet[rng.below(alphabet.len())]
                    }
                })
                .collect();
            parse_checked(&bytes);
        }
        let mut read = 0;
        // Token soup: valid UTF-8 with the words the reader looks for.
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..rng.below(80) {
                text.push_str(TOKENS[rng.below(TOKENS.len())]);
            }
            read += usize::from(parse_checked(text.as_bytes()));
        }
        assert!(read > 100, "only {read} token soups were read as records");
        // Mutations of valid records.
        let records = [
            NYGARD_FIRST,
            NYGARD_SUPERSEDED,
            NYGARD_SUPERSEDING,
            MADR3,
            MADR2,
        ];
        let mut read = 0;
        for _ in 0..2500 {
            let mut bytes = records[rng.below(records.len())].as_bytes().to_vec();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(bytes.len() + 1);
                match rng.below(6) {
                    0 if at < bytes.len() => bytes[at] = rng.next() as u8,
                    1 => bytes.insert(at.min(bytes.len()), rng.next() as u8),
                    2 => {
                        let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                        let at = at.min(bytes.len());
                        bytes.splice(at..at, token.iter().copied());
                    }
                    3 => {
                        let end = (at + rng.below(40)).min(bytes.len());
                        bytes.drain(at.min(end)..end);
                    }
                    4 => {
                        let end = (at + rng.below(60)).min(bytes.len());
                        let copy = bytes[at.min(end)..end].to_vec();
                        let to = rng.below(bytes.len() + 1);
                        bytes.splice(to..to, copy);
                    }
                    _ => bytes.truncate(at),
                }
            }
            read += usize::from(parse_checked(&bytes));
            // The same bytes cut anywhere, perhaps inside a multi-byte character.
            let cut = rng.below(bytes.len() + 1);
            parse_checked(&bytes[..cut]);
        }
        assert!(read > 1000, "only {read} mutated records were read");
    }
}
