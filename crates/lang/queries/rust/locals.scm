;; Scopes and local bindings of Rust.

[
  (function_item)
  (function_signature_item)
  (closure_expression)
  (block)
  (for_expression)
  (while_expression)
  (if_expression)
  (match_arm)
] @local.scope

;; Parameters.
(parameter pattern: (identifier) @local.definition type: (_) @local.type)
(closure_parameters (identifier) @local.definition)
(closure_parameters (parameter pattern: (identifier) @local.definition))

;; let, with the type from an annotation, `Type::new(...)` or `Type { .. }`.
(let_declaration pattern: (identifier) @local.definition)
(let_declaration pattern: (identifier) @local.definition type: (_) @local.type)
(let_declaration
  pattern: (identifier) @local.definition
  value: (call_expression function: (scoped_identifier path: (identifier) @local.type)))
(let_declaration
  pattern: (identifier) @local.definition
  value: (struct_expression name: (type_identifier) @local.type))
(let_declaration
  pattern: (identifier) @local.definition
  value: (reference_expression value: (struct_expression name: (type_identifier) @local.type)))

;; Patterns: lowercase names bind, capitalized ones are variants or constants.
(tuple_pattern (identifier) @local.definition)
(tuple_struct_pattern (identifier) @local.definition (#match? @local.definition "^[a-z_]"))
(field_pattern (shorthand_field_identifier) @local.definition)
(field_pattern pattern: (identifier) @local.definition)
(ref_pattern (identifier) @local.definition)
(captured_pattern (identifier) @local.definition)
(slice_pattern (identifier) @local.definition)
(match_pattern (identifier) @local.definition (#match? @local.definition "^[a-z_][a-z0-9_]*$"))
(for_expression pattern: (identifier) @local.definition)
(let_condition pattern: (identifier) @local.definition)

;; Items nested in function bodies are bound in the enclosing block.
(function_item name: (identifier) @local.definition)

(identifier) @local.reference
(lifetime (identifier) @skip)
