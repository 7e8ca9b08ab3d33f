;; Scopes and local bindings of JavaScript (inherited by TypeScript and TSX). Classes are
;; scopes only so that TypeScript type parameters have somewhere to live; their bodies bind
;; no variables.

[
  (function_declaration)
  (generator_function_declaration)
  (function_expression)
  (generator_function)
  (arrow_function)
  (method_definition)
  (class_declaration)
  (class)
  (statement_block)
  (for_statement)
  (for_in_statement)
  (catch_clause)
] @local.scope

;; Declarations (`const x = new X()` knows the type of x).
(variable_declarator
  name: (identifier) @local.definition
  .
  value: (new_expression constructor: (_) @local.type)?)

;; `const _this = this`: the enclosing class.
(variable_declarator
  name: (identifier) @local.definition
  value: (this) @local.type)

(function_declaration
  name: (identifier) @local.definition)

(generator_function_declaration
  name: (identifier) @local.definition)

(function_expression
  name: (identifier) @local.definition)

(class_declaration
  name: (_) @local.definition)

(class
  name: (_) @local.definition)

;; Parameters: plain identifiers are direct children of `formal_parameters` in JavaScript
;; (TypeScript wraps them in `required_parameter`, see typescript/locals.scm). The nodes
;; with `parameters` are listed: a pattern rooted at `_` would stay in progress at every
;; node around the one being matched, which makes matching quadratic in nesting depth.
[
  (function_declaration parameters: (_ (identifier) @local.definition))
  (generator_function_declaration parameters: (_ (identifier) @local.definition))
  (function_expression parameters: (_ (identifier) @local.definition))
  (generator_function parameters: (_ (identifier) @local.definition))
  (arrow_function parameters: (_ (identifier) @local.definition))
  (method_definition parameters: (_ (identifier) @local.definition))
]

(arrow_function
  parameter: (identifier) @local.definition)

(catch_clause
  parameter: (identifier) @local.definition)

;; Patterns: defaults, rest, destructuring.
(assignment_pattern
  left: (identifier) @local.definition)

(rest_pattern
  (identifier) @local.definition)

(object_pattern
  (shorthand_property_identifier_pattern) @local.definition)

(object_assignment_pattern
  left: (shorthand_property_identifier_pattern) @local.definition)

(pair_pattern
  value: (identifier) @local.definition)

(array_pattern
  (identifier) @local.definition)

;; `for (const x of xs)` declares x; `for (x of xs)` assigns an existing one.
(for_in_statement
  kind: _
  left: (identifier) @local.definition)

;; Uses.
(identifier) @local.reference

(shorthand_property_identifier) @local.reference
