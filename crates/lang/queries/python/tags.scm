;; Definitions and references of Python, in the shared capture vocabulary
;; (see ARCHITECTURE.md, "Query captures").

(class_definition
  name: (identifier) @name) @definition.class

(class_definition
  body: (block . (expression_statement (string) @doc)))

(function_definition
  name: (identifier) @name
  return_type: (type)? @type) @definition.function

(function_definition
  body: (block . (expression_statement (string) @doc)))

(module
  (expression_statement (string) @doc))

;; Module-level assignments: UPPER_CASE names are constants.
(module
  (expression_statement
    (assignment
      left: (identifier) @name
      type: (type)? @type) @definition.constant)
  (#match? @name "^[A-Z][A-Z0-9_]*$"))

(module
  (expression_statement
    (assignment
      left: (identifier) @name
      type: (type)? @type) @definition.variable)
  (#not-match? @name "^[A-Z][A-Z0-9_]*$"))

(module
  (expression_statement
    (assignment
      left: (identifier) @name
      right: (call function: [(identifier) (attribute)] @type)) @definition.variable))

;; Class attributes.
(class_definition
  body: (block
    (expression_statement
      (assignment
        left: (identifier) @name
        type: (type)? @type) @definition.field)))

(class_definition
  body: (block
    (expression_statement
      (assignment
        left: (identifier) @name
        right: (call function: [(identifier) (attribute)] @type)) @definition.field)))

;; Instance attributes assigned through self.
(assignment
  left: (attribute
    object: (identifier) @_self
    attribute: (identifier) @name)
  type: (type)? @type
  (#eq? @_self "self")) @definition.field

(assignment
  left: (attribute
    object: (identifier) @_self
    attribute: (identifier) @name)
  right: (call function: [(identifier) (attribute)] @type)
  (#eq? @_self "self")) @definition.field

;; Calls and member access.
(call
  function: (identifier) @name) @reference.call

(call
  function: (attribute
    object: (_) @receiver
    attribute: (identifier) @name)) @reference.call

(attribute
  object: (_) @receiver
  attribute: (identifier) @name) @reference.member

;; Base classes.
(class_definition
  superclasses: (argument_list (identifier) @name @reference.inherits))

(class_definition
  superclasses: (argument_list
    (attribute
      object: (_) @receiver
      attribute: (identifier) @name) @reference.inherits))

;; Keyword argument names belong to the callee's parameters, not to any scope here.
(keyword_argument name: (identifier) @skip)

;; Several instance attributes assigned at once: `self.a, self.b = ...`.
(assignment
  left: (pattern_list
    (attribute
      object: (identifier) @_self
      attribute: (identifier) @name))
  (#eq? @_self "self")) @definition.field
