//! Null dereferences an edit introduces: a function that now uses a parameter as an
//! object (`timeout.seconds`, `items[0]`, `callback()`) without checking it, while
//! callers elsewhere pass it no value (`None`, `null`, `nil`), or leave it at a default
//! that is none.
//!
//! Syntax only, per parameter: a use of the name as the object of a member access, a
//! subscript or a call is a dereference; a comparison of it with a null literal, a test
//! of its truth (a condition, a boolean operator) or an assignment to it is a guard, and
//! a guarded parameter is left alone wherever the guard is. That misses guards by
//! another name (an early `return` on `not timeout` counts; `assert isinstance` does
//! not), and it is quiet rather than wrong when in doubt.

use codecontext_lang::Language;
use tree_sitter::Node;

/// A parameter and what a function's body does with it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    /// Its default is no value (`timeout=None`).
    pub null_default: bool,
    /// Where the body dereferences it: the name's byte offset, and the expression
    /// (`timeout.seconds`), in text order.
    pub derefs: Vec<(u32, String)>,
    /// The body checks it against no value, tests its truth, or assigns it.
    pub guarded: bool,
}

impl Param {
    /// Dereferenced without a check.
    pub fn unguarded(&self) -> bool {
        !self.derefs.is_empty() && !self.guarded
    }
}

/// The named parameters of `function` in call order, without a receiver, up to the
/// first variadic one; none in a language without null.
pub fn params(lang: &Language, function: Node<'_>, text: &str) -> Vec<Param> {
    let kinds = &lang.config.quality;
    if kinds.nulls.is_empty() {
        return Vec::new();
    }
    let Some(list) = function.child_by_field_name("parameters") else {
        return Vec::new();
    };
    let comments = &lang.config.comment_kinds;
    let mut params: Vec<Param> = Vec::new();
    let mut cursor = list.walk();
    for (i, p) in list.named_children(&mut cursor).enumerate() {
        let kind = p.kind();
        if comments.iter().any(|c| c == kind)
            || matches!(
                kind,
                "self_parameter" | "keyword_separator" | "positional_separator"
            )
        {
            continue;
        }
        let Some(name) = param_name(p, text) else {
            // `*args`, `...rest`, a destructured pattern: positions after it are not
            // the call's.
            break;
        };
        if i == 0 && lang.config.self_names.iter().any(|s| s == name) {
            continue;
        }
        let null_default = ["value", "right"]
            .iter()
            .filter_map(|f| p.child_by_field_name(f))
            .any(|v| kinds.nulls.iter().any(|k| k == v.kind()));
        params.push(Param {
            name: name.to_string(),
            null_default,
            ..Param::default()
        });
    }
    if params.is_empty() {
        return params;
    }
    if let Some(body) = function.child_by_field_name("body") {
        uses(lang, body, text, &mut params);
    }
    params
}

/// A parameter node's name, when it is a plain name (with a type or a default).
fn param_name<'t>(p: Node<'_>, text: &'t str) -> Option<&'t str> {
    if p.kind().contains("splat") || p.kind().contains("variadic") || p.kind() == "rest_pattern" {
        return None;
    }
    let node = if p.kind() == "identifier" {
        p
    } else {
        let mut cursor = p.walk();
        let first = p
            .named_children(&mut cursor)
            .find(|n| n.kind() == "identifier");
        ["name", "pattern", "left"]
            .iter()
            .find_map(|f| p.child_by_field_name(f))
            .or(first)?
    };
    (node.kind() == "identifier")
        .then(|| text.get(node.byte_range()))
        .flatten()
}

/// Every use of a parameter's name in `body`: dereferences and guards.
fn uses(lang: &Language, body: Node<'_>, text: &str, params: &mut [Param]) {
    let kinds = &lang.config.quality;
    let derefs: Vec<(&str, &str)> = kinds
        .dereferences
        .iter()
        .filter_map(|d| d.split_once('.'))
        .collect();
    let mut cursor = body.walk();
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        if node.kind() == "identifier" {
            let name = text.get(node.byte_range()).unwrap_or_default();
            if let Some(p) = params.iter_mut().find(|p| p.name == name) {
                if guards(lang, node, text) {
                    p.guarded = true;
                } else if let Some(parent) = node.parent() {
                    let deref = derefs.iter().any(|(kind, field)| {
                        parent.kind() == *kind && parent.child_by_field_name(field) == Some(node)
                    });
                    // `x?.y` checks `x` itself.
                    let optional = {
                        let mut c = parent.walk();
                        let found = parent
                            .children(&mut c)
                            .any(|c| c.kind() == "optional_chain");
                        found
                    };
                    if deref && !optional {
                        let expression = text
                            .get(parent.byte_range())
                            .unwrap_or_default()
                            .lines()
                            .next()
                            .unwrap_or_default();
                        let expression: String = expression.chars().take(60).collect();
                        p.derefs.push((node.start_byte() as u32, expression));
                    }
                }
            }
        }
        let children: Vec<Node<'_>> = node.named_children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    for p in params.iter_mut() {
        p.derefs.sort_by_key(|d| d.0);
    }
}

/// Whether this use of a name checks it: compared with a null literal, tested for its
/// truth (a condition, under a negation, in a boolean operator), or assigned.
fn guards(lang: &Language, name: Node<'_>, text: &str) -> bool {
    let kinds = &lang.config.quality;
    let Some(parent) = name.parent() else {
        return false;
    };
    let mut c = parent.walk();
    let compared = parent
        .named_children(&mut c)
        .any(|n| kinds.nulls.iter().any(|k| k == n.kind()));
    if compared {
        return true;
    }
    if parent.child_by_field_name("left") == Some(name) && parent.kind().contains("assignment") {
        return true;
    }
    // A condition, itself or negated or in parentheses.
    let mut node = name;
    for _ in 0..3 {
        let Some(up) = node.parent() else {
            break;
        };
        // Python's `a if cond else b` names no fields: its condition is the second.
        let condition = match up.kind() {
            "conditional_expression" => up.named_child(1),
            _ => up.child_by_field_name("condition"),
        };
        if condition == Some(node) {
            return true;
        }
        let boolean = kinds.boolean_kinds.iter().any(|k| k == up.kind())
            || (kinds.binary_kinds.iter().any(|k| k == up.kind())
                && up
                    .child_by_field_name("operator")
                    .and_then(|o| text.get(o.byte_range()))
                    .is_some_and(|o| o == "??" || kinds.boolean_operators.iter().any(|b| b == o)));
        if boolean {
            return true;
        }
        if !matches!(
            up.kind(),
            "not_operator" | "unary_expression" | "parenthesized_expression"
        ) {
            break;
        }
        node = up;
    }
    false
}

/// What a call passes for the parameter at `index` named `name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Passed {
    /// A null literal, as written.
    Null(String),
    /// Something else.
    Value,
    /// Nothing: the default.
    Omitted,
    /// Cannot tell (`f(*args)`).
    Unknown,
}

/// What the argument list `arguments` passes at `index` (or by keyword `name`).
pub fn passed(
    lang: &Language,
    arguments: Node<'_>,
    text: &str,
    index: usize,
    name: &str,
) -> Passed {
    let kinds = &lang.config.quality;
    let null = |n: Node<'_>| {
        kinds
            .nulls
            .iter()
            .any(|k| k == n.kind())
            .then(|| text.get(n.byte_range()).unwrap_or_default().to_string())
    };
    let comments = &lang.config.comment_kinds;
    let mut cursor = arguments.walk();
    let mut position = 0;
    for a in arguments.named_children(&mut cursor) {
        let kind = a.kind();
        if comments.iter().any(|c| c == kind) {
            continue;
        }
        if matches!(
            kind,
            "list_splat" | "dictionary_splat" | "spread_element" | "variadic_argument"
        ) {
            return Passed::Unknown;
        }
        if kind == "keyword_argument" {
            let named = a
                .child_by_field_name("name")
                .and_then(|n| text.get(n.byte_range()));
            if named == Some(name) {
                return match a.child_by_field_name("value").and_then(null) {
                    Some(literal) => Passed::Null(literal),
                    None => Passed::Value,
                };
            }
            continue;
        }
        if position == index {
            return match null(a) {
                Some(literal) => Passed::Null(literal),
                None => Passed::Value,
            };
        }
        position += 1;
    }
    Passed::Omitted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(name: &str) -> &'static Language {
        codecontext_lang::language_by_name(name).expect("a language")
    }

    fn params_of(lang: &Language, text: &str) -> Vec<Param> {
        let tree = codecontext_syntax::parse(lang, text, None, std::time::Duration::from_secs(2))
            .expect("parses");
        let mut found = Vec::new();
        let mut stack = vec![tree.root_node()];
        while let Some(n) = stack.pop() {
            if n.child_by_field_name("parameters").is_some() && found.is_empty() {
                found = params(lang, n, text);
            }
            let mut c = n.walk();
            stack.extend(n.named_children(&mut c));
        }
        found
    }

    #[test]
    fn dereferences_guards_and_defaults_per_language() {
        let python = params_of(
            lang("python"),
            "class A:\n    def f(self, timeout=None, items=(), hook=None, size=None, last=None):\n        if hook is not None:\n            hook()\n        n = size or 3\n        m = last.x if last else 0\n        return timeout.seconds + items[0] + size.bit_length()\n",
        );
        let summary: Vec<(&str, bool, bool, usize)> = python
            .iter()
            .map(|p| (p.name.as_str(), p.null_default, p.guarded, p.derefs.len()))
            .collect();
        assert_eq!(
            summary,
            [
                ("timeout", true, false, 1),
                ("items", false, false, 1),
                ("hook", true, true, 1),
                ("size", true, true, 1),
                ("last", true, true, 1),
            ]
        );
        assert_eq!(python[0].derefs[0].1, "timeout.seconds");
        assert!(python[0].unguarded() && !python[2].unguarded());

        let js = params_of(
            lang("javascript"),
            "function f(a, b, c = null) {\n  if (!b) return;\n  return a.x + b.y + c?.z;\n}\n",
        );
        let flags: Vec<(bool, bool)> = js.iter().map(|p| (p.unguarded(), p.null_default)).collect();
        assert_eq!(flags, [(true, false), (false, false), (false, true)]);

        let go = params_of(
            lang("go"),
            "package p\nfunc f(s *S) int {\n\treturn s.n\n}\n",
        );
        assert!(go[0].unguarded());
        let go = params_of(
            lang("go"),
            "package p\nfunc f(s *S) int {\n\tif s == nil {\n\t\treturn 0\n\t}\n\treturn s.n\n}\n",
        );
        assert!(!go[0].unguarded());
        assert!(params_of(lang("rust"), "fn f(s: &S) -> u32 { s.n }\n").is_empty());
    }

    #[test]
    fn what_a_call_passes_by_position_and_by_keyword() {
        let python = lang("python");
        let text = "f(1, None)\nf(1)\nf(1, timeout=None)\nf(1, timeout=3)\nf(*xs)\n";
        let tree = codecontext_syntax::parse(python, text, None, std::time::Duration::from_secs(2))
            .unwrap();
        let root = tree.root_node();
        let mut c = root.walk();
        let calls: Vec<Passed> = root
            .named_children(&mut c)
            .map(|statement| {
                let call = statement.named_child(0).unwrap();
                passed(
                    python,
                    call.child_by_field_name("arguments").unwrap(),
                    text,
                    1,
                    "timeout",
                )
            })
            .collect();
        assert_eq!(
            calls,
            [
                Passed::Null("None".into()),
                Passed::Omitted,
                Passed::Null("None".into()),
                Passed::Value,
                Passed::Unknown,
            ]
        );
    }
}
