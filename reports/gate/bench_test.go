package gate

import "testing"

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("commit.p99 <= baseline * 1.10 + 1ms"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEval(b *testing.B) {
	e, err := Parse("commit.p99 <= baseline * 1.10 + 1ms")
	if err != nil {
		b.Fatal(err)
	}
	look := func(string) (float64, bool) { return 12, true }
	for b.Loop() {
		if _, pass, err := e.Eval(look, look); err != nil || !pass {
			b.Fatal(pass, err)
		}
	}
}
