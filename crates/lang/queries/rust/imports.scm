;; `use` declarations, `mod foo;` and `extern crate` of Rust. Items of a `use` list
;; are imports of their own; their path prefix comes from `import_prefix`.

(use_declaration
  argument: (scoped_identifier path: (_) @import.path name: (identifier) @import.name)) @import

(use_declaration argument: (identifier) @import.path) @import

(use_declaration
  argument: (use_as_clause
    path: (scoped_identifier path: (_) @import.path name: (identifier) @import.name)
    alias: (identifier) @import.alias)) @import

(use_declaration
  argument: (use_as_clause path: (identifier) @import.path alias: (identifier) @import.alias)) @import

(use_declaration argument: (use_wildcard (_) @import.path) @import.glob) @import

;; Patterns rooted at `use_list` capture it (`@_list`): such a pattern stays in progress
;; through the list's nested lists, one per level, each costing time at every node below.
;; Captured, they count towards the matcher's limit on matches in progress, which keeps
;; `use a::{b::{c::{...}}}` linear.
(use_list (identifier) @import.name @import) @_list
(use_list (self) @import.name @import) @_list

(use_list
  (scoped_identifier path: (_) @import.path name: (identifier) @import.name) @import) @_list

(use_list
  (use_as_clause
    path: (scoped_identifier path: (_) @import.path name: (identifier) @import.name)
    alias: (identifier) @import.alias) @import) @_list

(use_list
  (use_as_clause path: (identifier) @import.name alias: (identifier) @import.alias) @import) @_list

(use_list (use_wildcard (_)? @import.path) @import.glob @import) @_list

(mod_item name: (identifier) @import.submodule !body) @import

(extern_crate_declaration name: (identifier) @import.path) @import
