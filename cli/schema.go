package cli

// The JSON Schema of shipprod.yaml (docs/shipprod.schema.json) and the
// configuration reference (docs/configuration.md) are generated from the
// configuration types and their doc comments by cli/internal/gen; a test
// fails when the checked-in files are stale.
//go:generate go run ./internal/gen

// SchemaURL is where the JSON Schema of shipprod.yaml is published; init
// names it on the first line of the files it writes, for editors
// (yaml-language-server) to validate and complete the keys.
const SchemaURL = "https://raw.githubusercontent.com/shipprod/shipprod/main/docs/shipprod.schema.json"

// ConfigDocURL is the configuration reference: every key of every section,
// with its type, default and an example.
const ConfigDocURL = "https://github.com/shipprod/shipprod/blob/main/docs/configuration.md"
