;; Imports of Java: `import a.b.C;` binds C from package a.b; `import a.b.*;` brings in
;; every class of a.b; `import static a.b.C.m;` binds member m of class C.

((import_declaration
  (scoped_identifier
    scope: (_) @import.path
    name: (identifier) @import.name)) @import
  (#not-match? @import "\\*\\s*;"))

(import_declaration
  (scoped_identifier) @import.path
  (asterisk) @import.glob) @import

(import_declaration
  (identifier) @import.path
  (asterisk) @import.glob) @import

;; The package a file belongs to; its names are not references.
(package_declaration
  [(scoped_identifier) (identifier)] @package)

(package_declaration) @skip
