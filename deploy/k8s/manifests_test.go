// Package k8s holds the Kubernetes manifests of a sharded evbench run
// (README "Running at scale"); this test keeps the fields that make it work
// right: an Indexed Job whose N agrees everywhere, the shard index from
// the downward API, results on a ReadWriteMany claim, a merge that waits
// for all N, resources and a locked-down securityContext, and a static
// non-root image. (cmd/evbench/deploy_k8s_test.go checks the evbench
// command lines against the CLI.)
package k8s

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/evbench/evbench/scenarios"
)

type obj = map[string]any

func m(v any) obj    { x, _ := v.(obj); return x }
func l(v any) []any  { x, _ := v.([]any); return x }
func s(v any) string { x, _ := v.(string); return x }
func path(v any, keys ...string) any {
	for _, k := range keys {
		v = m(v)[k]
	}
	return v
}

// readManifests parses every document of every *.yaml here, by kind/name.
func readManifests(t *testing.T) map[string]obj {
	t.Helper()
	files, _ := filepath.Glob("*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in deploy/k8s")
	}
	out := map[string]obj{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc obj
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if doc == nil {
				continue
			}
			key := s(doc["kind"]) + "/" + s(path(doc, "metadata", "name"))
			if s(doc["kind"]) == "Kustomization" {
				key = "Kustomization"
			}
			doc["_file"] = f
			out[key] = doc
		}
	}
	return out
}

// podSpec, containers and helpers over a Job.
func podSpec(job obj) obj { return m(path(job, "spec", "template", "spec")) }

func containers(job obj, init bool) []obj {
	key := "containers"
	if init {
		key = "initContainers"
	}
	var out []obj
	for _, c := range l(podSpec(job)[key]) {
		out = append(out, m(c))
	}
	return out
}

func args(c obj) []string {
	var out []string
	for _, a := range l(c["args"]) {
		out = append(out, s(a))
	}
	return out
}

func intOf(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case string:
		n, _ := strconv.Atoi(x)
		return n
	}
	return -1
}

var shardArg = regexp.MustCompile(`^\$\(JOB_COMPLETION_INDEX\)/([0-9]+)$`)

// checkShardsJob returns what is wrong with the shards Job, and its N.
func checkShardsJob(job, pvc obj) (problems []string, n int) {
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf(f, a...)) }
	spec := m(job["spec"])
	if s(spec["completionMode"]) != "Indexed" {
		bad("completionMode %q, want Indexed", spec["completionMode"])
	}
	comp, par := intOf(spec["completions"]), intOf(spec["parallelism"])
	if comp < 1 || comp != par {
		bad("completions %d and parallelism %d must be equal and >= 1: every shard must run at once for the barrier", comp, par)
	}
	if s(podSpec(job)["restartPolicy"]) != "Never" {
		bad("restartPolicy %q, want Never (a restarted shard cannot rejoin the barrier)", podSpec(job)["restartPolicy"])
	}
	cs := containers(job, false)
	if len(cs) != 1 {
		bad("%d containers, want the one evbench container", len(cs))
		return problems, 0
	}
	c := cs[0]
	a := args(c)
	i := slices.Index(a, "--shard")
	if i < 0 || i+1 >= len(a) || !shardArg.MatchString(a[i+1]) {
		bad("args %q: want --shard $(JOB_COMPLETION_INDEX)/N", a)
	} else {
		n, _ = strconv.Atoi(shardArg.FindStringSubmatch(a[i+1])[1])
		if n != comp {
			bad("--shard .../%d but completions %d: N must agree", n, comp)
		}
	}
	if !slices.Contains(a, "--barrier") {
		bad("args %q lack --barrier", a)
	}
	if len(a) < 2 || a[0] != "run" || a[1] != "/config/scenario.yaml" {
		bad("args %q: want run /config/scenario.yaml ...", a)
	}
	if o := slices.Index(a, "--out"); o < 0 || o+1 >= len(a) || a[o+1] != "/results/shard-$(JOB_COMPLETION_INDEX)" {
		bad("args %q: want --out /results/shard-$(JOB_COMPLETION_INDEX)", a)
	}
	indexFromAnnotation := false
	for _, e := range l(c["env"]) {
		if s(m(e)["name"]) == "JOB_COMPLETION_INDEX" &&
			s(path(e, "valueFrom", "fieldRef", "fieldPath")) == "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
			indexFromAnnotation = true
		}
	}
	if !indexFromAnnotation {
		bad("env JOB_COMPLETION_INDEX does not come from the job-completion-index annotation")
	}
	problems = append(problems, checkMount(job, c, "/results", "results", pvc)...)
	problems = append(problems, checkMount(job, c, "/config", "scenario", nil)...)
	problems = append(problems, checkMount(job, c, "/tmp", "tmp", nil)...)
	return problems, n
}

// checkMount: c mounts a volume at dir, and the volume is the results
// claim (ReadWriteMany) when pvc is given.
func checkMount(job, c obj, dir, volume string, pvc obj) (problems []string) {
	mounted := ""
	for _, vm := range l(c["volumeMounts"]) {
		if s(m(vm)["mountPath"]) == dir {
			mounted = s(m(vm)["name"])
		}
	}
	if mounted != volume {
		return []string{fmt.Sprintf("container %s: volume mounted at %s is %q, want %q", c["name"], dir, mounted, volume)}
	}
	for _, v := range l(podSpec(job)["volumes"]) {
		if s(m(v)["name"]) != volume {
			continue
		}
		switch {
		case pvc != nil:
			claim := s(path(v, "persistentVolumeClaim", "claimName"))
			if claim != s(path(pvc, "metadata", "name")) {
				return []string{fmt.Sprintf("volume %s is claim %q, want the results claim %q", volume, claim, path(pvc, "metadata", "name"))}
			}
			if !slices.Contains(l(path(pvc, "spec", "accessModes")), any("ReadWriteMany")) {
				return []string{fmt.Sprintf("claim %s: accessModes %v, want ReadWriteMany (shards on several nodes write it at once)", claim, path(pvc, "spec", "accessModes"))}
			}
		case dir == "/tmp" && m(v)["emptyDir"] == nil:
			return []string{"volume tmp is not an emptyDir"}
		case dir == "/config" && s(path(v, "configMap", "name")) != "evbench-scenario":
			return []string{"volume scenario is not the evbench-scenario ConfigMap"}
		}
		return nil
	}
	return []string{fmt.Sprintf("no volume %q in the pod", volume)}
}

// checkHardened: every container has cpu and memory requests and limits
// and a locked-down securityContext, and so has the pod.
func checkHardened(job obj) (problems []string) {
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf(f, a...)) }
	if path(podSpec(job), "securityContext", "runAsNonRoot") != true {
		bad("pod securityContext.runAsNonRoot is not true")
	}
	for _, c := range append(containers(job, true), containers(job, false)...) {
		name := s(c["name"])
		for _, kind := range []string{"requests", "limits"} {
			for _, res := range []string{"cpu", "memory"} {
				if s(path(c, "resources", kind, res)) == "" {
					bad("container %s: resources.%s.%s is not set", name, kind, res)
				}
			}
		}
		sc := m(c["securityContext"])
		if sc["runAsNonRoot"] != true || sc["readOnlyRootFilesystem"] != true || sc["allowPrivilegeEscalation"] != false {
			bad("container %s: securityContext %v: want runAsNonRoot, readOnlyRootFilesystem, allowPrivilegeEscalation false", name, sc)
		}
		if !slices.Contains(l(path(sc, "capabilities", "drop")), any("ALL")) {
			bad("container %s: capabilities.drop lacks ALL", name)
		}
	}
	return problems
}

// checkMergeJob: the merge waits for n result.json files, then merges
// exactly shard-0..shard-(n-1) from the results claim.
func checkMergeJob(job, pvc obj, n int) (problems []string) {
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf(f, a...)) }
	var waits bool
	for _, c := range containers(job, true) {
		script := strings.Join(args(c), "\n")
		shards := ""
		for _, e := range l(c["env"]) {
			if s(m(e)["name"]) == "SHARDS" {
				shards = s(m(e)["value"])
			}
		}
		if strings.Contains(script, "result.json") && strings.Contains(script, "$SHARDS") {
			waits = true
			if intOf(shards) != n {
				bad("init container %s waits for SHARDS=%q results, want %d", c["name"], shards, n)
			}
			problems = append(problems, checkMount(job, c, "/results", "results", pvc)...)
		}
	}
	if !waits {
		bad("no init container waits for the shards' result.json files")
	}
	var merge obj
	for _, c := range containers(job, false) {
		if a := args(c); len(a) > 0 && a[0] == "merge" {
			merge = c
		}
	}
	if merge == nil {
		return append(problems, "no container runs evbench merge")
	}
	var want []string
	for i := 0; i < n; i++ {
		want = append(want, fmt.Sprintf("/results/shard-%d", i))
	}
	want = append([]string{"merge"}, append(want, "--out", "/results/merged")...)
	if a := args(merge); !slices.Equal(a, want) {
		bad("merge args %q, want %q", a, want)
	}
	return append(problems, checkMount(job, merge, "/results", "results", pvc)...)
}

func TestManifests(t *testing.T) {
	docs := readManifests(t)
	shards, merge, pvc, cm := docs["Job/evbench-shards"], docs["Job/evbench-merge"], docs["PersistentVolumeClaim/evbench-results"], docs["ConfigMap/evbench-scenario"]
	for name, d := range map[string]obj{"Job/evbench-shards": shards, "Job/evbench-merge": merge, "PersistentVolumeClaim/evbench-results": pvc, "ConfigMap/evbench-scenario": cm} {
		if d == nil {
			t.Fatalf("deploy/k8s has no %s", name)
		}
	}
	problems, n := checkShardsJob(shards, pvc)
	problems = append(problems, checkHardened(shards)...)
	problems = append(problems, checkHardened(merge)...)
	if n > 0 {
		problems = append(problems, checkMergeJob(merge, pvc, n)...)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if n < 2 {
		t.Errorf("N = %d, want a sharded example (>= 2)", n)
	}
	if _, err := scenarios.Parse("scenario-configmap.yaml", []byte(s(path(cm, "data", "scenario.yaml")))); err != nil {
		t.Errorf("the ConfigMap's scenario.yaml is not a valid scenario: %v", err)
	}
	var listed []string
	for _, r := range l(path(docs["Kustomization"], "resources")) {
		listed = append(listed, s(r))
	}
	for _, d := range docs {
		if f := s(d["_file"]); f != "kustomization.yaml" && !slices.Contains(listed, f) {
			t.Errorf("kustomization.yaml does not list %s", f)
		}
	}
}

// TestManifestCheckersFire: each checker reports the breakage it exists for.
func TestManifestCheckersFire(t *testing.T) {
	cases := []struct {
		name    string
		breakIt func(docs map[string]obj)
		want    string
	}{
		{"not indexed", func(d map[string]obj) { m(d["Job/evbench-shards"]["spec"])["completionMode"] = "NonIndexed" }, "completionMode"},
		{"parallelism differs", func(d map[string]obj) { m(d["Job/evbench-shards"]["spec"])["parallelism"] = 2 }, "must be equal"},
		{"N differs from --shard", func(d map[string]obj) {
			sp := m(d["Job/evbench-shards"]["spec"])
			sp["completions"], sp["parallelism"] = 4, 4
		}, "N must agree"},
		{"no barrier", func(d map[string]obj) {
			c := containers(d["Job/evbench-shards"], false)[0]
			c["args"] = slices.DeleteFunc(l(c["args"]), func(a any) bool { return a == "--barrier" })
		}, "--barrier"},
		{"RWO claim", func(d map[string]obj) {
			m(d["PersistentVolumeClaim/evbench-results"]["spec"])["accessModes"] = []any{"ReadWriteOnce"}
		}, "ReadWriteMany"},
		{"no requests", func(d map[string]obj) {
			delete(m(containers(d["Job/evbench-shards"], false)[0]["resources"]), "requests")
		}, "resources.requests.cpu"},
		{"writable root", func(d map[string]obj) {
			m(containers(d["Job/evbench-merge"], false)[0]["securityContext"])["readOnlyRootFilesystem"] = false
		}, "readOnlyRootFilesystem"},
		{"merge misses a shard", func(d map[string]obj) {
			c := containers(d["Job/evbench-merge"], false)[0]
			c["args"] = slices.DeleteFunc(l(c["args"]), func(a any) bool { return a == "/results/shard-2" })
		}, "merge args"},
		{"merge waits for too few", func(d map[string]obj) {
			for _, e := range l(containers(d["Job/evbench-merge"], true)[0]["env"]) {
				if m(e)["name"] == "SHARDS" {
					m(e)["value"] = "2"
				}
			}
		}, "SHARDS"},
	}
	for _, tc := range cases {
		docs := readManifests(t)
		tc.breakIt(docs)
		shards, merge, pvc := docs["Job/evbench-shards"], docs["Job/evbench-merge"], docs["PersistentVolumeClaim/evbench-results"]
		problems, n := checkShardsJob(shards, pvc)
		problems = append(problems, checkHardened(shards)...)
		problems = append(problems, checkHardened(merge)...)
		problems = append(problems, checkMergeJob(merge, pvc, max(n, 3))...)
		if !strings.Contains(strings.Join(problems, "\n"), tc.want) {
			t.Errorf("%s: problems %q, want one about %q", tc.name, problems, tc.want)
		}
	}
}

// checkDockerfile: multi-stage, a static (CGO_ENABLED=0) go build, and a
// final stage that runs as a non-root user on a distroless or scratch base.
func checkDockerfile(text string) (problems []string) {
	var froms []string
	var user string
	static := false
	for _, line := range strings.Split(strings.ReplaceAll(text, "\\\n", " "), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, line)
			user = "" // USER applies per stage
		case "USER":
			if len(f) > 1 {
				user = f[1]
			}
		case "RUN":
			if strings.Contains(line, "CGO_ENABLED=0") && strings.Contains(line, "go build") {
				static = true
			}
		}
	}
	if len(froms) < 2 {
		problems = append(problems, fmt.Sprintf("%d FROM lines, want a multi-stage build", len(froms)))
	} else if last := froms[len(froms)-1]; !strings.Contains(last, "distroless") && !strings.Contains(last, "scratch") {
		problems = append(problems, "the final stage "+last+" is not distroless or scratch")
	}
	if !static {
		problems = append(problems, "no RUN line builds with CGO_ENABLED=0 go build (a static binary)")
	}
	if u := strings.SplitN(user, ":", 2)[0]; u == "" || u == "root" || u == "0" {
		problems = append(problems, fmt.Sprintf("the final stage's USER is %q, want a non-root user", user))
	}
	return problems
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkDockerfile(string(b)) {
		t.Error(p)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"single stage", "FROM golang:1.26\nRUN CGO_ENABLED=0 go build ./cmd/evbench\nUSER 65532\n", "multi-stage"},
		{"cgo", "FROM golang AS b\nRUN go build ./cmd/evbench\nFROM scratch\nUSER 65532\n", "CGO_ENABLED=0"},
		{"root", "FROM golang AS b\nRUN CGO_ENABLED=0 go build .\nFROM gcr.io/distroless/static\nUSER 1000\nFROM scratch\n", "non-root"},
	} {
		if p := strings.Join(checkDockerfile(tc.text), "\n"); !strings.Contains(p, tc.want) {
			t.Errorf("%s: problems %q, want one about %q", tc.name, p, tc.want)
		}
	}
}
