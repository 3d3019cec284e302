package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The Kubernetes manifests in deploy/k8s are copied by users as they are;
// like the CI recipes (ci_recipes_test.go), every evbench command line in
// them must be valid for this CLI.

const k8sDir = "../../deploy/k8s"

// k8sVar matches Kubernetes' $(VAR) expansion in command and args.
var k8sVar = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// k8sArgs returns, from every container of every manifest whose command is
// evbench, its args with $(VAR) replaced by a stand-in value (0 for the
// completion index, so --shard 0/N parses as a shard would see it).
func k8sArgs(t *testing.T) map[string][][]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	out := map[string][][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			spec := asMap(asMap(asMap(asMap(doc["spec"])["template"]))["spec"])
			for _, key := range []string{"initContainers", "containers"} {
				for _, c := range asList(spec[key]) {
					c := asMap(c)
					cmd := asList(c["command"])
					if len(cmd) == 0 || !strings.HasSuffix(asString(cmd[0]), "evbench") {
						continue
					}
					var args []string
					for _, a := range append(cmd[1:], asList(c["args"])...) {
						args = append(args, k8sVar.ReplaceAllStringFunc(asString(a), func(v string) string {
							if v == "$(JOB_COMPLETION_INDEX)" {
								return "0"
							}
							return "sample"
						}))
					}
					out[filepath.Base(f)] = append(out[filepath.Base(f)], args)
				}
			}
		}
	}
	return out
}

func TestK8sCommandLines(t *testing.T) {
	seen := map[string]bool{}
	for file, cmds := range k8sArgs(t) {
		for _, args := range cmds {
			if err := checkCommandLine(args); err != nil {
				t.Errorf("%s: evbench %s: %v", file, strings.Join(args, " "), err)
			}
			if len(args) > 0 {
				seen[args[0]] = true
			}
		}
	}
	for _, sub := range []string{"run", "merge"} {
		if !seen[sub] {
			t.Errorf("deploy/k8s: no container runs `evbench %s`", sub)
		}
	}
}
