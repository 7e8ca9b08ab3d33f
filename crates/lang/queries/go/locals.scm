;; Scopes and local bindings of Go. The file is not a scope: package-level names are
;; entities (tags.scm). Every block, and every statement that declares in its header
;; (`if x := ...`, `for i := ...`, `switch v := x.(type)`), opens a scope.

[
  (function_declaration)
  (method_declaration)
  (func_literal)
  (block)
  (if_statement)
  (for_statement)
  (expression_switch_statement)
  (type_switch_statement)
  (select_statement)
  (expression_case)
  (type_case)
  (default_case)
  (communication_case)
] @local.scope

;; A generic type's parameters are visible in its definition.
(type_spec type_parameters: (type_parameter_list)) @local.scope

;; Parameters, results and receivers, with their declared types: `func (s *Store) Get()`
;; makes `s` a *Store, so `s.items` and `s.Put()` resolve.
(parameter_declaration
  name: (identifier) @local.definition
  type: (_) @local.type)

(variadic_parameter_declaration
  name: (identifier) @local.definition
  type: (_) @local.type)

(type_parameter_declaration
  name: (identifier) @local.definition)

;; `func (s *Stack[T]) Push(v T)` declares T.
(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (generic_type
          type_arguments: (type_arguments (type_elem (type_identifier) @local.definition)))
        (pointer_type
          (generic_type
            type_arguments: (type_arguments (type_elem (type_identifier) @local.definition))))
      ])))

;; `x := ...`; the first name gets the type of what constructs it: `T{}`, `&T{}`,
;; `T(v)` (a conversion) or `NewT()` (a constructor function).
(short_var_declaration
  left: (expression_list (identifier) @local.definition)
  (#not-eq? @local.definition "_"))

(short_var_declaration
  left: (expression_list . (identifier) @local.definition)
  right: (expression_list . [
    (composite_literal type: (_) @local.type)
    (unary_expression operand: (composite_literal type: (_) @local.type))
    (call_expression function: [(identifier) (selector_expression)] @local.type)
  ]))

;; `var x T`, `var x = &T{}`, `const c = ...` inside functions.
(var_spec
  name: (identifier) @local.definition
  type: (_) @local.type)

(var_spec
  name: (identifier) @local.definition)

(var_spec
  name: (identifier) @local.definition
  value: (expression_list . [
    (composite_literal type: (_) @local.type)
    (unary_expression operand: (composite_literal type: (_) @local.type))
  ]))

(const_spec
  name: (identifier) @local.definition)

;; `for k, v := range xs`, `case v := <-ch`, `switch v := x.(type)`.
(range_clause
  left: (expression_list (identifier) @local.definition)
  ":="
  (#not-eq? @local.definition "_"))

(receive_statement
  left: (expression_list (identifier) @local.definition))

(type_switch_statement
  alias: (expression_list (identifier) @local.definition))

(labeled_statement label: (label_name) @local.definition)

(identifier) @local.reference

;; Parameter names of interface methods and function types bind nothing anywhere.
(method_elem
  parameters: (parameter_list (parameter_declaration name: (identifier) @skip)))
(method_elem
  result: (parameter_list (parameter_declaration name: (identifier) @skip)))
(function_type
  parameters: (parameter_list (parameter_declaration name: (identifier) @skip)))

;; Predeclared functions and types are not defined in the workspace.
((call_expression
  function: (identifier) @skip)
  (#match? @skip "^(append|cap|clear|close|complex|copy|delete|imag|len|make|max|min|new|panic|print|println|real|recover)$"))
((call_expression
  function: (identifier) @skip)
  (#match? @skip "^(bool|byte|complex64|complex128|float32|float64|int|int8|int16|int32|int64|rune|string|uint|uint8|uint16|uint32|uint64|uintptr)$"))

;; The blank identifier binds and names nothing.
((identifier) @skip
  (#eq? @skip "_"))
