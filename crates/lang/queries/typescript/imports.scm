;; Imports that TypeScript adds to JavaScript.

;; import fs = require('fs')
(import_statement
  (import_require_clause
    (identifier) @import.alias
    source: (string) @import.path)) @import
