// Package gencomments extracts the Go doc comments of the scenarios package
// into the JSON file the scenario JSON Schema takes its descriptions from.
//
// A compiled binary has no source to read comments from, so the comments
// are extracted at `go generate` time and embedded; the scenarios tests
// call Generate on the live source to catch a stale file. It must not
// import the scenarios package: that package cannot compile without the
// file this one writes.
package gencomments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/invopop/jsonschema"
)

// Generate returns the comment map of the non-test Go files directly in dir
// (the package whose import path is pkgPath) as indented JSON, keyed as
// invopop/jsonschema's Reflector.CommentMap expects ("pkg.Type",
// "pkg.Type.Field"). Output is deterministic (encoding/json sorts keys), so
// a byte comparison detects staleness.
//
// Only the types reachable from root (the scenario's root type) are kept:
// the file then changes exactly when a comment the schema shows changes.
func Generate(dir, pkgPath, root string) ([]byte, error) {
	// invopop walks sub-directories and test files too; copying just the
	// package's own files keeps test helpers and internal packages out.
	tmp, err := os.MkdirTemp("", "gencomments")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(tmp, filepath.Base(f)), b, 0o644); err != nil {
			return nil, err
		}
	}
	r := new(jsonschema.Reflector)
	if err := r.AddGoComments(pkgPath, tmp, jsonschema.WithFullComment()); err != nil {
		return nil, err
	}
	keep, err := reachable(tmp, root)
	if err != nil {
		return nil, err
	}
	// invopop keys by pkgPath joined with the walked directory; put the
	// real import path back in place of the temporary directory.
	walked := path.Join(pkgPath, filepath.ToSlash(tmp))
	comments := map[string]string{}
	for k, v := range r.CommentMap {
		rest, ok := strings.CutPrefix(k, walked+".")
		typ, _, _ := strings.Cut(rest, ".")
		if ok && v != "" && keep[typ] {
			comments[pkgPath+"."+rest] = unwrap(v)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(comments); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// unwrap joins the hard-wrapped lines of each paragraph of a Go comment:
// editors show a description as flowing text, where source line breaks
// would land mid-sentence. Paragraph breaks (blank lines) are kept.
func unwrap(s string) string {
	paras := strings.Split(strings.TrimSpace(s), "\n\n")
	for i, p := range paras {
		paras[i] = strings.Join(strings.Fields(p), " ")
	}
	return strings.Join(paras, "\n\n")
}

// reachable lists the type names declared in dir that root's declaration
// refers to, directly or through other such types, root included.
func reachable(dir, root string) (map[string]bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	decls := map[string]ast.Expr{}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok {
				for _, spec := range g.Specs {
					if ts, ok := spec.(*ast.TypeSpec); ok {
						decls[ts.Name.Name] = ts.Type
					}
				}
			}
		}
	}
	if decls[root] == nil {
		return nil, fmt.Errorf("gencomments: no type %s in %s", root, dir)
	}
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if seen[name] || decls[name] == nil {
			return
		}
		seen[name] = true
		ast.Inspect(decls[name], func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				visit(id.Name)
			}
			return true
		})
	}
	visit(root)
	return seen, nil
}
