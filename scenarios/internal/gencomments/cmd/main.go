// Command gencomments writes the scenarios package's doc comments to the
// JSON file its JSON Schema embeds (run by `go generate ./scenarios`).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/evbench/evbench/scenarios/internal/gencomments"
)

func main() {
	dir := flag.String("dir", ".", "package directory to read")
	pkg := flag.String("pkg", "github.com/evbench/evbench/scenarios", "import path of that package")
	root := flag.String("root", "Scenario", "root type of the schema; only types it reaches are kept")
	out := flag.String("o", "jsonschema_comments.json", "file to write")
	flag.Parse()
	b, err := gencomments.Generate(*dir, *pkg, *root)
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencomments:", err)
		os.Exit(1)
	}
}
