;; Definitions and references of Go, in the shared capture vocabulary (docs/queries.md).

(package_clause (package_identifier) @package)

;; ---------------------------------------------------------------------------------------
;; Functions and methods. A result type (or the first of several results, as in
;; `(T, error)`) is the function's @type, so `pkg.New().Method()` finds its members.

(function_declaration
  name: (identifier) @name) @definition.function

(function_declaration
  name: (identifier) @name
  result: (_) @type) @definition.function

(function_declaration
  name: (identifier) @name
  result: (parameter_list . (parameter_declaration type: (_) @type))) @definition.function

;; Methods are declared at file level; the receiver's type is their owner.
(method_declaration
  receiver: (parameter_list (parameter_declaration type: (_) @owner))
  name: (field_identifier) @name) @definition.method

(method_declaration
  receiver: (parameter_list (parameter_declaration type: (_) @owner))
  name: (field_identifier) @name
  result: (_) @type) @definition.method

(method_declaration
  receiver: (parameter_list (parameter_declaration type: (_) @owner))
  name: (field_identifier) @name
  result: (parameter_list . (parameter_declaration type: (_) @type))) @definition.method

;; ---------------------------------------------------------------------------------------
;; Types. The earliest pattern decides the kind: structs, interfaces, then any other
;; defined type or alias.

(type_spec
  name: (type_identifier) @name
  type: (struct_type)) @definition.struct

(type_spec
  name: (type_identifier) @name
  type: (interface_type)) @definition.interface

(type_spec
  name: (type_identifier) @name) @definition.type

(type_alias
  name: (type_identifier) @name) @definition.type

;; A comment inside a `type ( ... )` group documents the spec after it.
(type_declaration (comment) @doc . [(type_spec name: (type_identifier) @name) (type_alias name: (type_identifier) @name)] @definition.type)

;; Struct fields and interface methods.
(field_declaration
  name: (field_identifier) @name
  type: (_) @type) @definition.field

(method_elem
  name: (field_identifier) @name) @definition.method

(method_elem
  name: (field_identifier) @name
  result: (_) @type) @definition.method

(method_elem
  name: (field_identifier) @name
  result: (parameter_list . (parameter_declaration type: (_) @type))) @definition.method

;; Embedded structs and interfaces: their members are promoted, like a base's.
(field_declaration
  !name
  type: [
    (type_identifier) @name
    (pointer_type (type_identifier) @name)
    (generic_type type: (type_identifier) @name)
    (pointer_type (generic_type type: (type_identifier) @name))
  ]) @reference.inherits

(field_declaration
  !name
  type: [
    (qualified_type package: (package_identifier) @receiver name: (type_identifier) @name)
    (pointer_type (qualified_type package: (package_identifier) @receiver name: (type_identifier) @name))
  ]) @reference.inherits

(interface_type
  (type_elem .
    [
      (type_identifier) @name
      (generic_type type: (type_identifier) @name)
    ] .) @reference.inherits)

(interface_type
  (type_elem .
    (qualified_type package: (package_identifier) @receiver name: (type_identifier) @name) .) @reference.inherits)

;; ---------------------------------------------------------------------------------------
;; Package-level constants and variables (inside functions they are locals).

(source_file
  (const_declaration
    (const_spec
      name: (identifier) @name
      type: (_)? @type) @definition.constant))

(const_declaration (comment) @doc . (const_spec name: (identifier) @name) @definition.constant)

(source_file
  (var_declaration
    (var_spec
      name: (identifier) @name
      type: (_)? @type) @definition.variable))

(source_file
  (var_declaration
    (var_spec_list
      (var_spec
        name: (identifier) @name
        type: (_)? @type) @definition.variable)))

(var_spec_list (comment) @doc . (var_spec name: (identifier) @name) @definition.variable)

;; `var x = T{...}`, `var x = &T{...}`: the type of x.
(source_file
  (var_declaration
    (var_spec
      name: (identifier) @name
      value: (expression_list . [
        (composite_literal type: (_) @type)
        (unary_expression operand: (composite_literal type: (_) @type))
      ])) @definition.variable))

(source_file
  (var_declaration
    (var_spec_list
      (var_spec
        name: (identifier) @name
        value: (expression_list . [
          (composite_literal type: (_) @type)
          (unary_expression operand: (composite_literal type: (_) @type))
        ])) @definition.variable)))

;; ---------------------------------------------------------------------------------------
;; Calls and member accesses.

((call_expression
  function: (identifier) @name) @reference.call
  (#not-match? @name "^(append|cap|clear|close|complex|copy|delete|imag|len|make|max|min|new|panic|print|println|real|recover)$"))

(call_expression
  function: (selector_expression
    operand: (_) @receiver
    field: (field_identifier) @name)) @reference.call

(selector_expression
  operand: (_) @receiver
  field: (field_identifier) @name) @reference.member

;; ---------------------------------------------------------------------------------------
;; Types in type positions; `pkg.T` through the package.

((type_identifier) @name @reference.type
  (#not-match? @name "^(bool|byte|comparable|complex64|complex128|error|float32|float64|int|int8|int16|int32|int64|rune|string|uint|uint8|uint16|uint32|uint64|uintptr|any)$"))

(qualified_type
  package: (package_identifier) @receiver
  name: (type_identifier) @name) @reference.type

(qualified_type
  package: (package_identifier) @name @reference.read)

(generic_type
  type: (type_identifier) @name) @reference.type

;; Composite literals `T{...}`, `pkg.T{...}` construct a T.
(composite_literal
  type: (type_identifier) @name) @reference.call

(composite_literal
  type: (qualified_type
    package: (package_identifier) @receiver
    name: (type_identifier) @name)) @reference.call

(composite_literal
  type: (generic_type
    type: (type_identifier) @name)) @reference.call

;; Keys of a struct literal are fields of its type: `T{Name: x}`, `[]T{{Name: x}}`.
(composite_literal
  type: [(type_identifier) (qualified_type) (generic_type)] @receiver
  body: (literal_value
    (keyed_element
      key: (literal_element (identifier) @name)))) @reference.member

(composite_literal
  type: [
    (slice_type element: [(type_identifier) (qualified_type)] @receiver)
    (array_type element: [(type_identifier) (qualified_type)] @receiver)
    (implicit_length_array_type element: [(type_identifier) (qualified_type)] @receiver)
  ]
  body: (literal_value
    (literal_element
      (literal_value
        (keyed_element
          key: (literal_element (identifier) @name)))))) @reference.member
