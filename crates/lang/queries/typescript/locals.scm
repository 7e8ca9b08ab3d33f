;; Scopes and bindings that TypeScript adds to JavaScript: typed parameters, annotated
;; variables and type parameters. Signatures are scopes so that their parameter names
;; stay local.

[
  (abstract_class_declaration)
  (interface_declaration)
  (type_alias_declaration)
  (function_signature)
  (method_signature)
  (abstract_method_signature)
  (call_signature)
  (construct_signature)
  (function_type)
  (constructor_type)
] @local.scope

(required_parameter
  pattern: (identifier) @local.definition
  type: (type_annotation)? @local.type)

(optional_parameter
  pattern: (identifier) @local.definition
  type: (type_annotation)? @local.type)

(variable_declarator
  name: (identifier) @local.definition
  type: (type_annotation) @local.type)

;; `const t = this.#timeout()`, `const r = await load()`: what the callee is declared to
;; return (see `Promise` in language.toml).
(variable_declarator
  name: (identifier) @local.definition
  value: [
    (call_expression
      function: [(identifier) (member_expression)] @local.type)
    (await_expression
      (call_expression
        function: [(identifier) (member_expression)] @local.type))
    ;; `const options = this.options`: what the member is declared as.
    (member_expression) @local.type
  ])

(type_parameter
  name: (type_identifier) @local.definition)

;; `{ [K in keyof T]: ... }` and `T extends Array<infer U> ? U : never` bind type names.
(mapped_type_clause
  name: (type_identifier) @local.definition)

(infer_type
  (type_identifier) @local.definition)

;; The parameter name of an index signature (`[key: string]: V`) names nothing.
(index_signature
  name: (identifier) @skip)
