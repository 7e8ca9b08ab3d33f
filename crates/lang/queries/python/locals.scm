;; Scopes and local bindings of Python. Class bodies are not scopes: names bound in a
;; class body are attributes, not variables visible to its methods.

[
  (function_definition)
  (lambda)
  (list_comprehension)
  (dictionary_comprehension)
  (set_comprehension)
  (generator_expression)
] @local.scope

;; Parameters.
(parameters (identifier) @local.definition)
(lambda_parameters (identifier) @local.definition)
(typed_parameter (identifier) @local.definition type: (type) @local.type)
(default_parameter name: (identifier) @local.definition)
(typed_default_parameter name: (identifier) @local.definition type: (type) @local.type)
(list_splat_pattern (identifier) @local.definition)
(dictionary_splat_pattern (identifier) @local.definition)

;; Assignments and other binding forms.
(assignment left: (identifier) @local.definition)
(assignment left: (identifier) @local.definition type: (type) @local.type)
(assignment
  left: (identifier) @local.definition
  right: (call function: [(identifier) (attribute)] @local.type))
(assignment left: (pattern_list (identifier) @local.definition))
(assignment left: (tuple_pattern (identifier) @local.definition))
(augmented_assignment left: (identifier) @local.reference)
(for_statement left: (identifier) @local.definition)
(for_statement left: (pattern_list (identifier) @local.definition))
(for_statement left: (tuple_pattern (identifier) @local.definition))
(for_in_clause left: (identifier) @local.definition)
(for_in_clause left: (pattern_list (identifier) @local.definition))
(for_in_clause left: (tuple_pattern (identifier) @local.definition))
(with_item value: (as_pattern alias: (as_pattern_target (identifier) @local.definition)))
(except_clause (as_pattern alias: (as_pattern_target (identifier) @local.definition)))
(named_expression name: (identifier) @local.definition)
(function_definition name: (identifier) @local.definition)
(class_definition name: (identifier) @local.definition)
(global_statement (identifier) @skip)
(nonlocal_statement (identifier) @skip)

(identifier) @local.reference

;; Nested unpacking: `for key, (error, value) in items`, `[a, *rest] = ...`.
(pattern_list (identifier) @local.definition)
(tuple_pattern (identifier) @local.definition)
(list_pattern (identifier) @local.definition)

;; Literals give their variable a built-in type.
(assignment
  left: (identifier) @local.definition
  right: [(string) (concatenated_string) (list) (dictionary) (set) (tuple) (integer) (float)
          (list_comprehension) (dictionary_comprehension) (set_comprehension)] @local.type)
