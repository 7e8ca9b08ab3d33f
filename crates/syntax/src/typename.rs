//! Small text helpers for extraction: plain type names from type expressions, the first
//! line of a doc comment, and a definition's signature.

use tree_sitter::Node;

/// Reduces a type expression to the names of the types a member lookup should use:
/// `&mut Vec<Foo>` -> `Vec`, `Option<Foo>` -> `Foo` (when `Option` is a wrapper),
/// `pkg.Client` -> `pkg.Client`, `a::b::C` -> `a.b.C`, `*Server` -> `Server`.
/// Qualifiers are kept, joined with `.`, so that the first segment can be resolved in
/// scope and the rest as its members.
///
/// A union keeps each named member but the null types, joined with `|` (`Foo | Bar |
/// None` -> `Foo|Bar`); an intersection keeps each named part, joined with `&`
/// (`Required<A> & Pick<B, 'x'> & { y: 1 }` -> `A&B`). Parts without a name (object
/// types, literals) are left out; see [`type_parts`].
pub fn normalize_type(text: &str, wrappers: &[String]) -> Option<String> {
    normalize_depth(text, wrappers, 0)
}

/// The separator of a normalized type name of several types, and its parts: `A&B` is
/// an intersection (every part's members are the type's), `A|B` a union (each part's
/// members are candidates). A single name is an intersection of one.
pub fn type_parts(normalized: &str) -> (char, impl Iterator<Item = &str>) {
    let sep = if normalized.contains('|') { '|' } else { '&' };
    (sep, normalized.split(sep).filter(|p| !p.is_empty()))
}

/// Splits `text` at `sep` outside brackets and quotes. A leading separator (`&Foo` in
/// Rust, `| A | B` in TypeScript) separates nothing.
fn split_top(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '<' | '[' | '(' | '{') => depth += 1,
            // `=>` in a function type is not a closing bracket.
            (None, '>') if text[..i].ends_with('=') => {}
            (None, '>' | ']' | ')' | '}') => depth -= 1,
            (None, c) if c == sep && depth == 0 => {
                if !text[start..i].trim().is_empty() {
                    parts.push(&text[start..i]);
                }
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if parts.is_empty() {
        return vec![text];
    }
    parts.push(&text[start..]);
    parts
}

fn normalize_depth(text: &str, wrappers: &[String], depth: u32) -> Option<String> {
    if depth > 4 {
        return None;
    }
    let mut t = text.trim();
    t = t.trim_start_matches(':').trim();
    // A function type (`(s: State) => A | B`) has no members of its result.
    if split_top(t, '=').len() > 1 {
        return None;
    }
    // Unions and intersections: each named part, in order, once.
    for sep in ['|', '&'] {
        let parts = split_top(t, sep);
        if parts.len() < 2 {
            continue;
        }
        let mut names: Vec<String> = Vec::new();
        for part in parts {
            let part = part.trim();
            if matches!(part, "None" | "null" | "undefined" | "void" | "never") {
                continue;
            }
            let Some(name) = normalize_depth(part, wrappers, depth + 1) else {
                continue;
            };
            // A part that is itself several (`(A | B) & C`) is not flattened into
            // the other kind.
            if name.contains(if sep == '|' { '&' } else { '|' }) {
                continue;
            }
            for n in name.split(sep) {
                if !names.iter().any(|m| m == n) {
                    names.push(n.to_string());
                }
            }
        }
        return (!names.is_empty()).then(|| names.join(&sep.to_string()));
    }
    loop {
        let before = t;
        for prefix in [
            "&",
            "*",
            "mut ",
            "dyn ",
            "impl ",
            "const ",
            "?",
            "[]",
            "readonly ",
        ] {
            t = t.strip_prefix(prefix).unwrap_or(t).trim_start();
        }
        if t.starts_with('\'') {
            // A lifetime: `&'a Foo`.
            t = t.split_once(' ').map_or("", |(_, rest)| rest).trim_start();
        }
        if t == before {
            break;
        }
    }
    t = t.trim_matches(|c| c == '"' || c == '\'');
    let open = t.find(['<', '[', '(']);
    let (head, args) = match open {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let head = head.trim();
    let segments: Vec<&str> = head
        .split("::")
        .flat_map(|s| s.split('.'))
        .map(str::trim)
        .filter(|s| !matches!(*s, "crate" | "self" | "super" | ""))
        .collect();
    let last = segments.last().copied().unwrap_or("");
    if let Some(args) = args {
        if last == "Union" && t.ends_with(']') {
            // Python's `Union[A, B]` is `A | B`.
            let inner = &args[..args.len().saturating_sub(1)];
            let as_union = split_top(inner, ',').join("|");
            return normalize_depth(&as_union, wrappers, depth + 1);
        }
        if wrappers.iter().any(|w| w == last) {
            let inner = first_type_argument(args);
            return normalize_depth(inner, wrappers, depth + 1);
        }
    }
    // `#name` is a private member in TypeScript (`this.#load` as a callee).
    let identifier = |s: &str| {
        let s = s.strip_prefix('#').unwrap_or(s);
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
            && !s.chars().next().is_some_and(|c| c.is_ascii_digit())
    };
    (!segments.is_empty() && segments.iter().all(|s| identifier(s))).then(|| segments.join("."))
}

/// The first argument of a generic argument list, given the text after the opening
/// bracket.
fn first_type_argument(args: &str) -> &str {
    let mut depth = 0i32;
    for (i, c) in args.char_indices() {
        match c {
            '<' | '[' | '(' => depth += 1,
            '>' | ']' | ')' => {
                if depth == 0 {
                    return &args[..i];
                }
                depth -= 1;
            }
            ',' if depth == 0 => return &args[..i],
            _ => {}
        }
    }
    args
}

/// The first non-empty line of a comment or docstring, markers stripped.
pub fn doc_first_line(text: &str) -> Option<String> {
    let mut t = text.trim();
    // String docstrings: prefixes and quotes.
    t = t.trim_start_matches(['r', 'b', 'u', 'f', 'R', 'B', 'U', 'F']);
    for q in ["\"\"\"", "'''", "\"", "'"] {
        if let Some(inner) = t.strip_prefix(q) {
            t = inner.strip_suffix(q).unwrap_or(inner);
            break;
        }
    }
    if t.len() == text.trim().len() {
        t = text.trim();
    }
    for line in t.lines() {
        let mut l = line.trim();
        for marker in ["///", "//!", "//", "/**", "/*!", "/*", "#"] {
            if let Some(rest) = l.strip_prefix(marker) {
                l = rest;
                break;
            }
        }
        l = l.trim_end_matches("*/").trim();
        l = l.strip_prefix('*').unwrap_or(l).trim();
        if !l.is_empty() {
            let mut s: String = l.chars().take(200).collect();
            if l.chars().count() > 200 {
                s.push('…');
            }
            return Some(s);
        }
    }
    None
}

/// The declaration of a definition up to its body, with whitespace collapsed.
pub fn signature_text(text: &str, node: Node<'_>, body_fields: &[String]) -> String {
    let start = node.start_byte();
    let mut end = node.end_byte();
    for field in body_fields {
        if let Some(body) = node.child_by_field_name(field) {
            if body.start_byte() > start {
                end = end.min(body.start_byte());
            }
        }
    }
    let raw = &text[start..end];
    // Without a body field, a definition's first line says enough.
    let raw = if end == node.end_byte() {
        raw.lines().next().unwrap_or("")
    } else {
        raw
    };
    let mut out = String::with_capacity(raw.len().min(240));
    let mut last_space = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            if !last_space && !out.is_empty() {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
        if out.len() >= 240 {
            out.push('…');
            break;
        }
    }
    let trimmed = out.trim_end().trim_end_matches(['{', ':']).trim_end();
    trimmed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w() -> Vec<String> {
        ["Option", "Optional", "Box", "Arc", "Rc"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn type_names() {
        assert_eq!(
            normalize_type("&mut Vec<Foo>", &w()).as_deref(),
            Some("Vec")
        );
        assert_eq!(
            normalize_type("Option<Box<Foo>>", &w()).as_deref(),
            Some("Foo")
        );
        assert_eq!(
            normalize_type("Optional[pkg.Client]", &w()).as_deref(),
            Some("pkg.Client")
        );
        assert_eq!(normalize_type(": Foo | None", &w()).as_deref(), Some("Foo"));
        assert_eq!(normalize_type("*Server", &w()).as_deref(), Some("Server"));
        assert_eq!(
            normalize_type("&'a crate::x::Y", &w()).as_deref(),
            Some("x.Y")
        );
        assert_eq!(normalize_type("{ a: number }", &w()), None);
    }

    #[test]
    fn unions_and_intersections_keep_every_named_part() {
        let ts: Vec<String> = ["Required", "Omit", "Pick"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            normalize_type("Foo | Bar | undefined", &ts).as_deref(),
            Some("Foo|Bar")
        );
        assert_eq!(
            normalize_type(
                ": Required<Omit<RetryOptions, 'a' | 'b'>> & Pick<RetryOptions, 'c'> & { x: A | B }",
                &ts
            )
            .as_deref(),
            Some("RetryOptions")
        );
        assert_eq!(
            normalize_type("Base & { x: number } & ns.Extra", &ts).as_deref(),
            Some("Base&ns.Extra")
        );
        // A union inside brackets is not the type's own.
        assert_eq!(
            normalize_type("Map<string, A | B>", &ts).as_deref(),
            Some("Map")
        );
        assert_eq!(
            normalize_type("(state: State) => A | B", &ts),
            None,
            "a function type has no members of its result"
        );
        // Rust's references are prefixes, not intersections.
        assert_eq!(normalize_type("&'a Foo", &w()).as_deref(), Some("Foo"));
        assert_eq!(normalize_type("&&Foo", &w()).as_deref(), Some("Foo"));
        assert_eq!(
            normalize_type("Union[Foo, typing.Optional[Bar], None]", &w()).as_deref(),
            Some("Foo|Bar")
        );
        let (sep, parts) = type_parts("A|B");
        assert_eq!((sep, parts.collect::<Vec<_>>()), ('|', vec!["A", "B"]));
        let (sep, parts) = type_parts("A");
        assert_eq!((sep, parts.collect::<Vec<_>>()), ('&', vec!["A"]));
    }

    #[test]
    fn doc_lines() {
        assert_eq!(
            doc_first_line("/// Adds two.\n/// More.").as_deref(),
            Some("Adds two.")
        );
        assert_eq!(
            doc_first_line("\"\"\"\n  Summary here.\n  \"\"\"").as_deref(),
            Some("Summary here.")
        );
        assert_eq!(
            doc_first_line("/**\n * Javadoc line.\n */").as_deref(),
            Some("Javadoc line.")
        );
        assert_eq!(doc_first_line("# comment").as_deref(), Some("comment"));
        assert_eq!(doc_first_line("//"), None);
    }
}
