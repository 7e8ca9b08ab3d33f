;; Definitions and references of JavaScript.
;;
;; TypeScript and TSX inherit this file, so every pattern here must also compile against
;; their grammars. Where the grammars differ the patterns stay neutral:
;; - class names are `identifier` here and `type_identifier` there: names use `(_)`;
;; - `field_definition` and the JSX nodes exist only here: they are matched through their
;;   fields (`property:`, `name:`) under a wildcard parent;
;; - `class_heritage` holds the base directly here and an `extends_clause` there: the base
;;   is found as the expression after the `extends` keyword.

;; --- Classes ---------------------------------------------------------------------------
;;
;; Patterns rooted at `class_body` capture it (`@_body`): such a pattern stays in progress
;; while the matcher walks each member's body, so classes nested in methods of classes
;; would keep one per level, each costing time at every node below. Captured, they count
;; towards the matcher's limit on matches in progress, which keeps that linear.

(class_declaration
  name: (_) @name) @definition.class

(class
  name: (_) @name) @definition.class

(class_body
  (method_definition
    name: (property_identifier) @name) @definition.constructor
  (#eq? @name "constructor")) @_body

(class_body
  (method_definition
    name: [(property_identifier) (private_property_identifier)] @name) @definition.method
  (#not-eq? @name "constructor")) @_body

;; Class fields (JavaScript `field_definition`; TypeScript has its own node).
(class_body
  (_
    property: [(property_identifier) (private_property_identifier)] @name
    value: (new_expression constructor: (_) @type)?) @definition.field) @_body

;; Fields assigned through `this` (the first definition of a name in a class wins).
(assignment_expression
  left: (member_expression
    object: (this)
    property: [(property_identifier) (private_property_identifier)] @name)
  right: (new_expression constructor: (_) @type)?) @definition.field

;; --- Functions -------------------------------------------------------------------------

(function_declaration
  name: (identifier) @name) @definition.function

(generator_function_declaration
  name: (identifier) @name) @definition.function

;; `const f = () => ...`, `const g = function () {...}` at any depth.
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

;; CommonJS: `exports.f = function () {}`, `module.exports.f = () => ...` (a predicate on
;; a capture that did not match, `@_module` in the first form, holds).
(program
  (expression_statement
    (assignment_expression
      left: (member_expression
        object: [
          (identifier) @_exports
          (member_expression
            object: (identifier) @_module
            property: (property_identifier) @_exports)
        ]
        property: (property_identifier) @name)
      right: [(arrow_function) (function_expression)]) @definition.function)
  (#eq? @_exports "exports")
  (#eq? @_module "module"))

;; --- File-level variables --------------------------------------------------------------
;; Variables in functions and blocks are locals (locals.scm). The `.` anchor keeps the
;; constructed type from competing with a TypeScript annotation between name and value.

(program
  (_
    (variable_declarator
      name: (identifier) @name
      .
      value: (new_expression constructor: (_) @type)?) @definition.variable))

(program
  (export_statement
    declaration: (_
      (variable_declarator
        name: (identifier) @name
        .
        value: (new_expression constructor: (_) @type)?) @definition.variable)))

;; Keys of an object literal bound to a name are its members: `const TYPES = { NUMBER: 58 }`,
;; then `TYPES.NUMBER`. `@owner` is the name bound: a key is kept where that name is an entity
;; (at the file level). (The anchor leaves a declared type out: the keys of a typed literal
;; are members of that type, typescript/tags.scm.)
(variable_declarator
  name: (identifier) @owner
  .
  value: (object
    (pair
      key: (property_identifier) @name) @definition.field))

;; --- References ------------------------------------------------------------------------

(call_expression
  function: (identifier) @name) @reference.call

(call_expression
  function: (member_expression
    object: (_) @receiver
    property: [(property_identifier) (private_property_identifier)] @name)) @reference.call

(new_expression
  constructor: (identifier) @name) @reference.call

(new_expression
  constructor: (member_expression
    object: (_) @receiver
    property: (property_identifier) @name)) @reference.call

(member_expression
  object: (_) @receiver
  property: [(property_identifier) (private_property_identifier)] @name) @reference.member

;; Base classes: the expression after `extends`.
(_
  "extends"
  (identifier) @name @reference.inherits)

(_
  "extends"
  (member_expression
    object: (_) @receiver
    property: (property_identifier) @name) @reference.inherits)

;; JSX (`.jsx` files): a capitalized tag names a component and calls it; lower-case tags
;; are intrinsic elements. Matched by the element's text so that the pattern also compiles
;; against the TypeScript grammar, which has no JSX nodes (tsx/ adds precise patterns).
((_
  name: (identifier) @name) @reference.call
  (#match? @reference.call "^<")
  (#match? @name "^[A-Z]"))

((_
  name: (member_expression
    object: (_) @receiver
    property: (property_identifier) @name)) @reference.call
  (#match? @reference.call "^<"))

((_
  name: (identifier) @skip) @_tag
  (#match? @_tag "^<")
  (#match? @skip "^[a-z]"))

;; `require` is the module loader, not a name of the workspace.
((call_expression
  function: (identifier) @skip)
  (#eq? @skip "require"))

;; `const { a, b } = obj`: each name is a binding, and also reads `obj.a`.
(variable_declarator
  name: (object_pattern
    (shorthand_property_identifier_pattern) @name)
  value: (_) @receiver) @reference.member
