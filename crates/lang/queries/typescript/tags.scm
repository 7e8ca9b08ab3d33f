;; Definitions and references that TypeScript adds to JavaScript (javascript/tags.scm
;; comes first; where both match a name, the JavaScript pattern decides the kind and these
;; contribute declared types).

;; --- Types -----------------------------------------------------------------------------

(abstract_class_declaration
  name: (type_identifier) @name) @definition.class

(interface_declaration
  name: (type_identifier) @name) @definition.interface

;; What an alias names (`type A = Required<B> & { x: C }` -> B) is where its members are
;; looked up when its own object types do not declare them.
(type_alias_declaration
  name: (type_identifier) @name
  value: (_) @type) @definition.type

(enum_declaration
  name: (identifier) @name) @definition.enum

(enum_body
  name: (property_identifier) @name @definition.enum_member)

(enum_assignment
  name: (property_identifier) @name) @definition.enum_member

;; namespace N {} / module N {}
(internal_module
  name: (identifier) @name) @definition.namespace

(module
  name: (identifier) @name) @definition.namespace

;; Variables exported from a namespace are its members.
(internal_module
  body: (statement_block
    (export_statement
      declaration: (_
        (variable_declarator
          name: (identifier) @name) @definition.variable))))

;; --- Members ---------------------------------------------------------------------------

(public_field_definition
  name: [(property_identifier) (private_property_identifier)] @name
  type: (type_annotation)? @type) @definition.field

(public_field_definition
  name: [(property_identifier) (private_property_identifier)] @name
  .
  value: (new_expression constructor: (_) @type)) @definition.field

;; Parameter properties: `constructor(private readonly repo: Repo)`.
(method_definition
  name: (property_identifier) @_ctor
  parameters: (formal_parameters
    [
      (required_parameter
        (accessibility_modifier)
        pattern: (identifier) @name
        type: (type_annotation)? @type)
      (optional_parameter
        (accessibility_modifier)
        pattern: (identifier) @name
        type: (type_annotation)? @type)
      (required_parameter
        "readonly"
        pattern: (identifier) @name
        type: (type_annotation)? @type)
    ] @definition.field)
  (#eq? @_ctor "constructor"))

(property_signature
  name: (property_identifier) @name
  type: (type_annotation)? @type) @definition.field

(method_signature
  name: (property_identifier) @name
  return_type: (type_annotation)? @type) @definition.method

(abstract_method_signature
  name: (property_identifier) @name
  return_type: (type_annotation)? @type) @definition.method

;; --- Declared types of functions and variables -----------------------------------------

(function_declaration
  name: (identifier) @name
  return_type: (type_annotation) @type) @definition.function

;; Overloads and `declare function`.
(function_signature
  name: (identifier) @name
  return_type: (type_annotation)? @type) @definition.function

;; Captures `class_body` for the reason given in javascript/tags.scm.
(class_body
  (method_definition
    name: [(property_identifier) (private_property_identifier)] @name
    return_type: (type_annotation) @type) @definition.method) @_body

(variable_declarator
  name: (identifier) @name
  value: (arrow_function
    return_type: (type_annotation) @type)) @definition.function

(program
  (_
    (variable_declarator
      name: (identifier) @name
      type: (type_annotation) @type) @definition.variable))

(program
  (export_statement
    declaration: (_
      (variable_declarator
        name: (identifier) @name
        type: (type_annotation) @type) @definition.variable)))

;; `const TYPES = { NUMBER: 58 } as const`: the keys are members of the name, as in
;; javascript/tags.scm.
(variable_declarator
  name: (identifier) @owner
  .
  value: (as_expression
    (object
      (pair
        key: (property_identifier) @name) @definition.field)))

;; --- References ------------------------------------------------------------------------

;; Keys of an object literal whose type is declared are members of that type (`@type` in
;; a reference pattern is the receiver's declared type): `const o: Options = { json }`,
;; `{ ... } satisfies Options`, `{ ... } as Options`, a field's initializer. (Patterns are
;; rooted at named nodes rather than `(_ type: ...)`: a wildcard root is tried at every node.)
[
  (variable_declarator
    type: (type_annotation) @type
    value: (object
      (pair
        key: (property_identifier) @name) @reference.member))
  (public_field_definition
    type: (type_annotation) @type
    value: (object
      (pair
        key: (property_identifier) @name) @reference.member))
]

(satisfies_expression
  (object
    (pair
      key: (property_identifier) @name) @reference.member)
  [(type_identifier) (generic_type) (nested_type_identifier)] @type)

(as_expression
  (object
    (pair
      key: (property_identifier) @name) @reference.member)
  [(type_identifier) (generic_type) (nested_type_identifier)] @type)

;; A literal returned where the result is declared: `function f(): State { return { value } }`,
;; `(): State => ({ value })`. (The function is captured, as patterns rooted at `class_body`
;; are in javascript/tags.scm, so that it counts towards the matcher's limit.)
[
  (function_declaration
    return_type: (type_annotation) @type
    body: (statement_block
      (return_statement
        (object
          (pair
            key: (property_identifier) @name) @reference.member))))
  (method_definition
    return_type: (type_annotation) @type
    body: (statement_block
      (return_statement
        (object
          (pair
            key: (property_identifier) @name) @reference.member))))
] @_body

(arrow_function
  return_type: (type_annotation) @type
  body: [
    (statement_block
      (return_statement
        (object
          (pair
            key: (property_identifier) @name) @reference.member)))
    (parenthesized_expression
      (object
        (pair
          key: (property_identifier) @name) @reference.member))
    (ternary_expression
      [
        consequence: (object
          (pair
            key: (property_identifier) @name) @reference.member)
        alternative: (object
          (pair
            key: (property_identifier) @name) @reference.member)
      ])
  ]) @_body

;; `this.#options = { ... }`: keys are members of what the left side is declared as.
(assignment_expression
  left: (_) @receiver
  right: (object
    (pair
      key: (property_identifier) @name) @reference.member))

;; `{ retry: { limit: 2 } }`: keys of a nested literal are members of the outer key's type.
(pair
  key: (property_identifier) @receiver
  value: (object
    (pair
      key: (property_identifier) @name) @reference.member))

;; `function f({ value, isReplace }: State)`: each name binds, and reads `State.value`.
(required_parameter
  pattern: (object_pattern
    [
      (shorthand_property_identifier_pattern) @name
      (pair_pattern
        key: (property_identifier) @name)
    ] @reference.member)
  type: (type_annotation) @type)

;; `interface A extends Omit<B, 'x'>`: B's members, but those left out, are A's.
(extends_type_clause
  type: (generic_type
    name: (type_identifier) @_wrapper
    type_arguments: (type_arguments
      .
      (type_identifier) @name)) @reference.inherits
  (#any-of? @_wrapper "Omit" "Pick" "Partial" "Required" "Readonly"))

(type_identifier) @reference.type

(nested_type_identifier
  module: (_) @receiver
  name: (type_identifier) @name) @reference.type

(nested_identifier
  object: (_) @receiver
  property: (property_identifier) @name) @reference.member

;; class A implements I, J<T>, ns.K
(implements_clause
  (type_identifier) @name @reference.implementation)

(implements_clause
  (generic_type
    name: (type_identifier) @name) @reference.implementation)

(implements_clause
  [
    (nested_type_identifier
      module: (_) @receiver
      name: (type_identifier) @name)
    (generic_type
      name: (nested_type_identifier
        module: (_) @receiver
        name: (type_identifier) @name))
  ] @reference.implementation)

;; interface A extends B, C<T>, ns.D
(extends_type_clause
  type: (type_identifier) @name @reference.inherits)

(extends_type_clause
  type: (generic_type
    name: (type_identifier) @name) @reference.inherits)

(extends_type_clause
  type: [
    (nested_type_identifier
      module: (_) @receiver
      name: (type_identifier) @name)
    (generic_type
      name: (nested_type_identifier
        module: (_) @receiver
        name: (type_identifier) @name))
  ] @reference.inherits)
