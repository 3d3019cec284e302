package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/evbench/evbench/reports"
)

// The CI recipes in examples/ci are documentation that users copy; these
// tests keep every evbench command line in them runnable by this CLI, so a
// renamed flag or command breaks the build instead of someone's nightly.

const recipesDir = "../../examples/ci"

// shellVar matches $VAR, ${VAR} and GitHub's ${{ expr }}: their values are
// unknown here, and any word stands in for them.
var shellVar = regexp.MustCompile(`\$\{\{[^}]*\}\}|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*`)

// shellWords splits a script into simple commands (at newlines and unquoted
// ;, &&, || and |) and each command into words, honouring single and double
// quotes and backslash-newline continuations. It is not a shell: enough for
// CI one-liners, which is all the recipes hold.
func shellWords(script string) [][]string {
	script = strings.ReplaceAll(script, "\\\n", " ")
	script = shellVar.ReplaceAllString(script, "sample")
	var cmds [][]string
	var words []string
	var word strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
			words = nil
		}
	}
	var quote rune
	for _, r := range script {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				word.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '#' && !inWord:
			quote = '\n' // a comment: skip to the end of the line
		case r == '\n' || r == ';' || r == '&' || r == '|':
			endCmd()
		case r == ' ' || r == '\t':
			endWord()
		default:
			word.WriteRune(r)
			inWord = true
		}
		if quote == 0 && r == '\n' {
			endCmd()
		}
	}
	endCmd()
	return cmds
}

// shellKeywords may precede a command on the same line.
var shellKeywords = map[string]bool{"then": true, "else": true, "do": true, "if": true, "elif": true, "!": true, "time": true}

// evbenchArgs returns the arguments of each evbench invocation in script
// (after "evbench" or a path ending in /evbench).
func evbenchArgs(script string) [][]string {
	var out [][]string
	for _, words := range shellWords(script) {
		for i, w := range words {
			if w == "evbench" || strings.HasSuffix(w, "/evbench") {
				out = append(out, words[i+1:])
				break
			}
			if !shellKeywords[w] && !strings.Contains(w, "=") {
				break // evbench is an argument here (go install ./cmd/evbench)
			}
		}
	}
	return out
}

// checkCommandLine reports whether args is a valid evbench command line:
// the subcommand exists, every flag exists on it and parses, the positional
// arguments fit, and required flags are present. Flags are reset around
// the parse, since cobra keeps values between uses.
func checkCommandLine(args []string) error {
	resetFlags(rootCmd)
	defer resetFlags(rootCmd)
	cmd, rest, err := rootCmd.Find(args)
	if err != nil {
		return err
	}
	if cmd == rootCmd {
		return fmt.Errorf("no subcommand in %q", strings.Join(args, " "))
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return fmt.Errorf("evbench %s: %w", cmd.Name(), err)
	}
	if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
		return fmt.Errorf("evbench %s: %w", cmd.Name(), err)
	}
	return cmd.ValidateRequiredFlags()
}

// TestRecipeCheckCommandLine shows the checker catches what it is there for: a
// recipe with a misspelt flag or command must fail the recipe test.
func TestRecipeCheckCommandLine(t *testing.T) {
	cases := []struct {
		line string
		ok   bool
	}{
		{"evbench run campaign --duration 60s --out results/nightly --quiet", true},
		{"evbench gate results/nightly --baseline baseline", true},
		{`evbench gate results/nightly --gate "commit.p99 < baseline * 1.10"`, true},
		{"evbench compare baseline results/nightly --html results/nightly/compare.html", true},
		{"evbench gate results/nightly --treshold 5", false},     // no such flag
		{"evbench run campaign --duration sixty --out x", false}, // not a duration
		{"evbench compre baseline results/nightly", false},       // no such command
		{"evbench gate", false},                                        // RESULT missing
		{"evbench run campaign --baseline baseline", false},            // a gate flag on run
		{"evbench refstore serve --dir /tmp/d --max-conns ten", false}, // not a number
	}
	for _, tc := range cases {
		cmds := evbenchArgs(tc.line)
		if len(cmds) != 1 {
			t.Fatalf("%q: found %d evbench commands, want 1", tc.line, len(cmds))
		}
		err := checkCommandLine(cmds[0])
		if (err == nil) != tc.ok {
			t.Errorf("%q: error %v, want ok=%v", tc.line, err, tc.ok)
		}
	}
}

func TestRecipeShellWords(t *testing.T) {
	got := evbenchArgs("if [ -f b/result.json ]; then\n  evbench compare b r \\\n    --html \"$OUT/c.html\" && evbench gate r # a comment --bogus\nfi\ngo install ./cmd/evbench\n")
	want := [][]string{{"compare", "b", "r", "--html", "sample/c.html"}, {"gate", "r"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func readRecipe(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(recipesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

// checkRecipeCommands checks every evbench line of the scripts and that the
// recipe runs, gates and compares at all (so it cannot pass by holding no
// evbench line).
func checkRecipeCommands(t *testing.T, name string, scripts []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, s := range scripts {
		for _, args := range evbenchArgs(s) {
			if err := checkCommandLine(args); err != nil {
				t.Errorf("%s: evbench %s: %v", name, strings.Join(args, " "), err)
			}
			if len(args) > 0 {
				seen[args[0]] = true
			}
		}
	}
	for _, sub := range []string{"run", "gate", "compare"} {
		if !seen[sub] {
			t.Errorf("%s: no `evbench %s` line", name, sub)
		}
	}
}

func asMap(v any) map[string]any   { m, _ := v.(map[string]any); return m }
func asList(v any) []any           { l, _ := v.([]any); return l }
func asString(v any) string        { s, _ := v.(string); return s }
func mentions(s, file string) bool { return strings.Contains(s, file) }

func TestRecipeGitHubActions(t *testing.T) {
	doc := readRecipe(t, "github-actions.yml")
	on := asMap(doc["on"])
	if len(asList(on["schedule"])) == 0 || asString(asMap(asList(on["schedule"])[0])["cron"]) == "" {
		t.Error("on.schedule with a cron is missing: the recipe is a nightly run")
	}
	if _, ok := on["workflow_dispatch"]; !ok {
		t.Error("on.workflow_dispatch is missing: a nightly must be runnable by hand")
	}
	var scripts []string
	var uploadsReports, publishesJUnit, keepsBaseline, downloadsBaseline bool
	for name, job := range asMap(doc["jobs"]) {
		if !strings.Contains(asString(asMap(job)["runs-on"]), "ubuntu") {
			t.Errorf("job %s: not on ubuntu", name)
		}
		for _, st := range asList(asMap(job)["steps"]) {
			step := asMap(st)
			scripts = append(scripts, asString(step["run"]))
			uses, with := asString(step["uses"]), asMap(step["with"])
			switch {
			case strings.HasPrefix(uses, "actions/upload-artifact@"):
				path := asString(with["path"])
				if mentions(path, reports.HTMLFile) && mentions(path, reports.JUnitFile) {
					uploadsReports = true
				}
				if asString(with["name"]) == "evbench-baseline" && strings.Contains(asString(step["if"]), "success()") {
					keepsBaseline = true
				}
			case strings.Contains(uses, "download-artifact@"):
				downloadsBaseline = asString(with["name"]) == "evbench-baseline"
			case strings.Contains(uses, "junit"):
				publishesJUnit = slices.ContainsFunc(mapValues(with), func(v string) bool { return mentions(v, reports.JUnitFile) })
			}
		}
	}
	checkRecipeCommands(t, "github-actions.yml", scripts)
	for what, ok := range map[string]bool{
		"an upload step naming " + reports.HTMLFile + " and " + reports.JUnitFile: uploadsReports,
		"a step publishing " + reports.JUnitFile:                                  publishesJUnit,
		"an evbench-baseline upload on success":                                   keepsBaseline,
		"an evbench-baseline download":                                            downloadsBaseline,
	} {
		if !ok {
			t.Errorf("github-actions.yml lacks %s", what)
		}
	}
}

func mapValues(m map[string]any) []string {
	var out []string
	for _, v := range m {
		out = append(out, asString(v))
	}
	return out
}

func TestRecipeGitLabCI(t *testing.T) {
	doc := readRecipe(t, "gitlab-ci.yml")
	var scripts []string
	jobs := 0
	for name, v := range doc {
		job := asMap(v)
		if job == nil || job["script"] == nil {
			continue // stages, variables, default...
		}
		jobs++
		for _, key := range []string{"before_script", "script", "after_script"} {
			for _, line := range asList(job[key]) {
				scripts = append(scripts, asString(line))
			}
		}
		scheduled := false
		for _, r := range asList(job["rules"]) {
			scheduled = scheduled || strings.Contains(asString(asMap(r)["if"]), `$CI_PIPELINE_SOURCE == "schedule"`)
		}
		if !scheduled {
			t.Errorf("job %s: no rule for scheduled pipelines", name)
		}
		art := asMap(job["artifacts"])
		if junit := asString(asMap(art["reports"])["junit"]); !mentions(junit, reports.JUnitFile) {
			t.Errorf("job %s: artifacts.reports.junit = %q, want the run's %s", name, junit, reports.JUnitFile)
		}
		// report.html must be kept: named, or inside a kept directory.
		kept := false
		for _, p := range asList(art["paths"]) {
			p := asString(p)
			kept = kept || mentions(p, reports.HTMLFile) || (strings.HasSuffix(p, "/") && strings.HasPrefix(asString(asMap(art["reports"])["junit"]), p))
		}
		if !kept {
			t.Errorf("job %s: artifacts.paths keep no %s", name, reports.HTMLFile)
		}
		if asString(art["when"]) != "always" {
			t.Errorf("job %s: artifacts.when = %q; the reports of a failed night must be kept too", name, art["when"])
		}
	}
	if jobs == 0 {
		t.Fatal("gitlab-ci.yml has no job")
	}
	checkRecipeCommands(t, "gitlab-ci.yml", scripts)
}
