;; JSX in TypeScript: a capitalized tag names a component (`<Button />`, `<UI.Button>`)
;; and is a call of it; lower-case tags are intrinsic elements, not names of the workspace.

(jsx_opening_element
  name: (identifier) @name
  (#match? @name "^[A-Z]")) @reference.call

(jsx_closing_element
  name: (identifier) @name
  (#match? @name "^[A-Z]")) @reference.call

(jsx_self_closing_element
  name: (identifier) @name
  (#match? @name "^[A-Z]")) @reference.call

([
  (jsx_opening_element
    name: (member_expression
      object: (_) @receiver
      property: (property_identifier) @name))
  (jsx_closing_element
    name: (member_expression
      object: (_) @receiver
      property: (property_identifier) @name))
  (jsx_self_closing_element
    name: (member_expression
      object: (_) @receiver
      property: (property_identifier) @name))
] @reference.call)

([
  (jsx_opening_element name: (identifier) @skip)
  (jsx_closing_element name: (identifier) @skip)
  (jsx_self_closing_element name: (identifier) @skip)
]
  (#match? @skip "^[a-z]"))
