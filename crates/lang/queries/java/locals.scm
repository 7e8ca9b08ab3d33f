;; Scopes and local bindings of Java. Class bodies are not scopes: their names are
;; members (tags.scm), seen from methods through `implicit_member_scope`.

[
  (method_declaration)
  (constructor_declaration)
  (compact_constructor_declaration)
  (lambda_expression)
  (block)
  (for_statement)
  (enhanced_for_statement)
  (catch_clause)
  (try_with_resources_statement)
  (switch_block_statement_group)
  (switch_rule)
] @local.scope

;; A generic type's parameters are visible in its body; nothing else binds there.
(class_declaration type_parameters: (type_parameters)) @local.scope
(interface_declaration type_parameters: (type_parameters)) @local.scope
(record_declaration type_parameters: (type_parameters)) @local.scope

;; Type parameters.
(class_declaration
  type_parameters: (type_parameters (type_parameter . (type_identifier) @local.definition)))
(interface_declaration
  type_parameters: (type_parameters (type_parameter . (type_identifier) @local.definition)))
(record_declaration
  type_parameters: (type_parameters (type_parameter . (type_identifier) @local.definition)))
(method_declaration
  type_parameters: (type_parameters (type_parameter . (type_identifier) @local.definition)))
(constructor_declaration
  type_parameters: (type_parameters (type_parameter . (type_identifier) @local.definition)))

;; Parameters with their declared types.
(formal_parameter
  type: (_) @local.type
  name: (identifier) @local.definition)

(spread_parameter
  [(type_identifier) (generic_type) (scoped_type_identifier)] @local.type
  (variable_declarator
    name: (identifier) @local.definition))

(catch_formal_parameter
  (catch_type) @local.type
  name: (identifier) @local.definition)

(lambda_expression
  parameters: (identifier) @local.definition)

(inferred_parameters
  (identifier) @local.definition)

;; Local variables: the declared type, or with `var` the class it is created from.
((local_variable_declaration
  type: (_) @local.type
  declarator: (variable_declarator
    name: (identifier) @local.definition))
  (#not-eq? @local.type "var"))

(local_variable_declaration
  declarator: (variable_declarator
    name: (identifier) @local.definition
    value: (object_creation_expression
      type: (_) @local.type)))

(local_variable_declaration
  declarator: (variable_declarator
    name: (identifier) @local.definition))

(enhanced_for_statement
  type: (_) @local.type
  name: (identifier) @local.definition)

(resource
  type: (_) @local.type
  name: (identifier) @local.definition)

;; Pattern variables: `x instanceof Foo f`, `case Foo f ->`.
(instanceof_expression
  right: (_) @local.type
  name: (identifier) @local.definition)

(type_pattern
  (_) @local.type
  (identifier) @local.definition)

(record_pattern_component
  (_) @local.type
  (identifier) @local.definition)

;; Labels are not variables.
(labeled_statement (identifier) @skip)
(break_statement (identifier) @skip)
(continue_statement (identifier) @skip)

(identifier) @local.reference
