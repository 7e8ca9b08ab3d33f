;; Definitions and references of Java, in the shared capture vocabulary (docs/queries.md).

;; ---------------------------------------------------------------------------------------
;; Types.

(class_declaration
  name: (identifier) @name) @definition.class

(interface_declaration
  name: (identifier) @name) @definition.interface

(annotation_type_declaration
  name: (identifier) @name) @definition.interface

(enum_declaration
  name: (identifier) @name) @definition.enum

(record_declaration
  name: (identifier) @name) @definition.class

(enum_constant
  name: (identifier) @name) @definition.enum_member

;; ---------------------------------------------------------------------------------------
;; Members. A method's return type and a field's declared type are their @type, so
;; `a.getB().c` and `this.repo.find()` find members.

(method_declaration
  type: (_) @type
  name: (identifier) @name) @definition.method

(annotation_type_element_declaration
  type: (_) @type
  name: (identifier) @name) @definition.method

(constructor_declaration
  name: (identifier) @name) @definition.constructor

(compact_constructor_declaration
  name: (identifier) @name) @definition.constructor

(field_declaration
  type: (_) @type
  declarator: (variable_declarator
    name: (identifier) @name)) @definition.field

(constant_declaration
  type: (_) @type
  declarator: (variable_declarator
    name: (identifier) @name)) @definition.constant

;; Record components are fields (and name their accessor methods).
(record_declaration
  parameters: (formal_parameters
    (formal_parameter
      type: (_) @type
      name: (identifier) @name) @definition.field))

;; ---------------------------------------------------------------------------------------
;; Bases.

(superclass
  [
    (type_identifier) @name
    (generic_type (type_identifier) @name)
  ]) @reference.inherits

(superclass
  [
    (scoped_type_identifier (_) @receiver . (type_identifier) @name .)
    (generic_type (scoped_type_identifier (_) @receiver . (type_identifier) @name .))
  ]) @reference.inherits

(super_interfaces
  (type_list
    [
      (type_identifier) @name
      (generic_type (type_identifier) @name)
    ] @reference.implementation))

(super_interfaces
  (type_list
    [
      (scoped_type_identifier (_) @receiver . (type_identifier) @name .)
      (generic_type (scoped_type_identifier (_) @receiver . (type_identifier) @name .))
    ] @reference.implementation))

(extends_interfaces
  (type_list
    [
      (type_identifier) @name
      (generic_type (type_identifier) @name)
    ] @reference.inherits))

(extends_interfaces
  (type_list
    [
      (scoped_type_identifier (_) @receiver . (type_identifier) @name .)
      (generic_type (scoped_type_identifier (_) @receiver . (type_identifier) @name .))
    ] @reference.inherits))

;; ---------------------------------------------------------------------------------------
;; Calls and member accesses.

(method_invocation
  !object
  name: (identifier) @name) @reference.call

(method_invocation
  object: (_) @receiver
  name: (identifier) @name) @reference.call

(field_access
  object: (_) @receiver
  field: (identifier) @name) @reference.member

;; `Type::method`, `expr::method`.
(method_reference
  . (_) @receiver
  .
  (identifier) @name .) @reference.member

;; `new T(...)` constructs a T.
(object_creation_expression
  type: [
    (type_identifier) @name
    (generic_type (type_identifier) @name)
  ]) @reference.call

(object_creation_expression
  type: [
    (scoped_type_identifier (_) @receiver . (type_identifier) @name .)
    (generic_type (scoped_type_identifier (_) @receiver . (type_identifier) @name .))
  ]) @reference.call

;; ---------------------------------------------------------------------------------------
;; Types in type positions. `var` is not a type.

((type_identifier) @name @reference.type
  (#not-eq? @name "var"))

(scoped_type_identifier
  (_) @receiver
  .
  (type_identifier) @name .) @reference.type

(marker_annotation
  name: (identifier) @name) @reference.type

(annotation
  name: (identifier) @name) @reference.type
