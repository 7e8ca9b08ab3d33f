;; Definitions and references that TypeScript adds to JavaScript (javascript/tags.scm
;; comes first; where both match a name, the JavaScript pattern decides the kind and these
;; contribute declared types).

;; --- Types -----------------------------------------------------------------------------

(abstract_class_declaration
  name: (type_identifier) @name) @definition.class

(interface_declaration
  name: (type_identifier) @name) @definition.interface

(type_alias_declaration
  name: (type_identifier) @name) @definition.type

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

;; --- References ------------------------------------------------------------------------

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
