package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/shipprod/shipprod"
)

// The JSON Lines the CLI writes with --json: every line is one object whose
// "schema" names its shape and version; docs/json.md documents each field.
const (
	SchemaEvent    = "shipprod.event/v1"
	SchemaResult   = "shipprod.result/v1"
	SchemaPlan     = "shipprod.plan/v1"
	SchemaVersion  = "shipprod.version/v1"
	SchemaStatus   = "shipprod.status/v1"
	SchemaCheck    = "shipprod.check/v1"
	SchemaRollback = "shipprod.rollback/v1"
	SchemaInit     = "shipprod.init/v1"
	SchemaDemo     = "shipprod.demo/v1"
	SchemaError    = "shipprod.error/v1"
)

// jsonLines writes JSON Lines, one object per call, safely from several
// goroutines.
type jsonLines struct {
	mu sync.Mutex
	w  io.Writer
}

// write writes v, which must encode as a JSON object, as one line with
// "schema" as its first key.
func (j *jsonLines) write(schema string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	body = bytes.TrimSpace(body)
	if len(body) < 2 || body[0] != '{' {
		return fmt.Errorf("cli: %s payload is not a JSON object", schema)
	}
	line := fmt.Appendf(nil, `{"schema":%q`, schema)
	if len(body) > 2 {
		line = append(line, ',')
	}
	line = append(append(line, body[1:]...), '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.w.Write(line)
	return err
}

// jsonObserver writes each step event as a shipprod.event/v1 line.
type jsonObserver struct{ lines *jsonLines }

func newJSONObserver(lines *jsonLines) *jsonObserver { return &jsonObserver{lines: lines} }

func (o *jsonObserver) Observe(e shipprod.Event) {
	// An Observer cannot fail; a stdout that stopped taking lines shows
	// in the result line's write, which is checked.
	_ = o.lines.write(SchemaEvent, encodeEvent(e))
}
