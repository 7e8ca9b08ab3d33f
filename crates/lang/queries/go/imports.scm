;; Import specs of Go: one binding each. `import "a/b"` binds `b`; `import x "a/b"`
;; binds `x`; `import . "a/b"` brings every exported name in.

(import_spec
  !name
  path: (_) @import.path) @import

(import_spec
  name: (package_identifier) @import.alias
  path: (_) @import.path) @import

(import_spec
  name: (blank_identifier) @import.alias
  path: (_) @import.path) @import

(import_spec
  name: (dot) @import.glob
  path: (_) @import.path) @import
