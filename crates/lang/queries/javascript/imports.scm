;; Imports and re-exports of JavaScript (inherited by TypeScript and TSX), ES modules and
;; CommonJS `require`.

;; import x from './m'
(import_statement
  (import_clause
    (identifier) @import.alias @import.default)
  source: (string) @import.path) @import

;; import { a, b as c } from './m'
(import_statement
  (import_clause
    (named_imports
      (import_specifier
        name: _ @import.name
        alias: (identifier)? @import.alias)))
  source: (string) @import.path) @import

;; import * as ns from './m'
(import_statement
  (import_clause
    (namespace_import
      (identifier) @import.alias))
  source: (string) @import.path) @import

;; import './m' (for its effects)
(import_statement
  .
  source: (string) @import.path) @import

;; export { a, b as c } from './m'
(export_statement
  (export_clause
    (export_specifier
      name: _ @import.name
      alias: _? @import.alias))
  source: (string) @import.path) @import @import.export

;; export * from './m'
(export_statement
  "*" @import.glob
  source: (string) @import.path) @import @import.export

;; export * as ns from './m'
(export_statement
  (namespace_export
    (_) @import.alias)
  source: (string) @import.path) @import @import.export

;; export { a as b } and export { a }: local aliases that other modules can import
(export_statement
  (export_clause
    (export_specifier
      name: (_) @import.name
      alias: _? @import.alias))
  !source) @import @import.export

;; export default class A {} / export default function f() {} / export default a
(export_statement
  "default" @import.alias
  declaration: (_
    name: (_) @import.name)) @import @import.export

(export_statement
  "default" @import.alias
  value: (identifier) @import.name) @import @import.export

;; const m = require('./m')
((variable_declarator
  name: (identifier) @import.alias
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments
      .
      (string) @import.path
      .))) @import
  (#eq? @_require "require"))

;; const { a, b: c } = require('./m')
((variable_declarator
  name: (object_pattern
    (shorthand_property_identifier_pattern) @import.name)
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments
      .
      (string) @import.path
      .))) @import
  (#eq? @_require "require"))

((variable_declarator
  name: (object_pattern
    (pair_pattern
      key: (property_identifier) @import.name
      value: (identifier) @import.alias))
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments
      .
      (string) @import.path
      .))) @import
  (#eq? @_require "require"))
