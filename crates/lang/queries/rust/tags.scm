;; Definitions and references of Rust, in the shared capture vocabulary
;; (docs/queries.md).

(struct_item name: (type_identifier) @name) @definition.struct
(enum_item name: (type_identifier) @name) @definition.enum
(union_item name: (type_identifier) @name) @definition.union
(enum_variant name: (identifier) @name) @definition.enum_member
(trait_item name: (type_identifier) @name) @definition.trait
(type_item name: (type_identifier) @name type: (_) @type) @definition.type
(associated_type name: (type_identifier) @name) @definition.type
(macro_definition name: (identifier) @name) @definition.macro
(mod_item name: (identifier) @name body: (_)) @definition.module

(function_item
  name: (identifier) @name
  return_type: (_)? @type) @definition.function

(function_signature_item
  name: (identifier) @name
  return_type: (_)? @type) @definition.function

(field_declaration
  name: (field_identifier) @name
  type: (_) @type) @definition.field

(const_item name: (identifier) @name type: (_) @type) @definition.constant
(static_item name: (identifier) @name type: (_) @type) @definition.constant

;; An impl block is an entity named after its type; its functions are members of
;; that type. The trait it implements is an `implements` edge.
(impl_item
  type: [
    (type_identifier) @name
    (generic_type type: (type_identifier) @name)
    (scoped_type_identifier name: (type_identifier) @name)
    (generic_type type: (scoped_type_identifier name: (type_identifier) @name))
  ]) @definition.impl

(impl_item
  trait: [
    (type_identifier) @name
    (generic_type type: (type_identifier) @name)
  ] @reference.implementation)

(impl_item
  trait: [
    (scoped_type_identifier path: (_) @receiver name: (type_identifier) @name)
    (generic_type type: (scoped_type_identifier path: (_) @receiver name: (type_identifier) @name))
  ] @reference.implementation)

;; Supertraits.
(trait_item
  bounds: (trait_bounds [
    (type_identifier) @name
    (generic_type type: (type_identifier) @name)
  ] @reference.inherits))

;; Calls: plain, through paths, through receivers, with turbofish.
(call_expression function: (identifier) @name) @reference.call

(call_expression
  function: (scoped_identifier path: (_) @receiver name: (identifier) @name)) @reference.call

(call_expression
  function: (field_expression value: (_) @receiver field: (field_identifier) @name)) @reference.call

(call_expression
  function: (generic_function function: (identifier) @name)) @reference.call

(call_expression
  function: (generic_function
    function: (scoped_identifier path: (_) @receiver name: (identifier) @name))) @reference.call

(call_expression
  function: (generic_function
    function: (field_expression value: (_) @receiver field: (field_identifier) @name))) @reference.call

(macro_invocation macro: (identifier) @name) @reference.call

(macro_invocation
  macro: (scoped_identifier path: (_) @receiver name: (identifier) @name)) @reference.call

;; Member access and paths.
(field_expression value: (_) @receiver field: (field_identifier) @name) @reference.member
(scoped_identifier path: (_) @receiver name: (identifier) @name) @reference.member
(scoped_type_identifier path: (_) @receiver name: (type_identifier) @name) @reference.type

;; Types and struct literals.
(struct_expression name: (type_identifier) @name) @reference.type
(type_identifier) @name @reference.type

;; Field names in struct literals and patterns belong to the struct, not to a scope.
(field_initializer field: (field_identifier) @skip)
(field_pattern name: (field_identifier) @skip)
