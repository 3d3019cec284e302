package measure

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ResultFile is the name of the result inside a result directory.
const ResultFile = "result.json"

// ReadResult reads a result from a result directory or a result.json path.
// It refuses a truncated file, a file without a schema and a schema newer
// than this build understands, each with one line naming the file.
func ReadResult(path string) (*Result, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, ResultFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("measure: %s does not exist; give a result directory or its result.json", path)
		}
		return nil, fmt.Errorf("measure: read %s: %w", path, err)
	}
	var head struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || strings.Contains(err.Error(), "unexpected end of JSON") {
			return nil, fmt.Errorf("measure: %s is truncated or not valid JSON (%v); re-run or restore the file", path, err)
		}
		return nil, fmt.Errorf("measure: %s is not an evbench result: %w", path, err)
	}
	if head.Schema == nil || *head.Schema == "" {
		return nil, fmt.Errorf("measure: %s has no \"schema\" field; it is not an evbench result (want %q)", path, SchemaV1)
	}
	if err := checkSchema(*head.Schema); err != nil {
		return nil, fmt.Errorf("measure: %s: %w", path, err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("measure: %s: field types do not match schema %s: %w", path, SchemaV1, err)
	}
	return &r, nil
}

// checkSchema accepts evbench.result/v1 and explains anything else.
func checkSchema(s string) error {
	const prefix = "evbench.result/v"
	if s == SchemaV1 {
		return nil
	}
	if v, ok := strings.CutPrefix(s, prefix); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 1 {
			return fmt.Errorf("schema %q was written by a newer evbench (this build reads %s); upgrade evbench", s, SchemaV1)
		}
	}
	return fmt.Errorf("unknown schema %q; want %q", s, SchemaV1)
}

// WriteResult writes r as indented JSON to path, NaN and ±Inf replaced by 0.
func WriteResult(path string, r *Result) error {
	Sanitize(r)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("measure: encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("measure: write %s: %w", path, err)
	}
	return nil
}
