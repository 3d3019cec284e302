package probe

import "math"

// slopeFit is a least-squares line through lag samples.
type slopeFit struct {
	n     int
	slope float64    // events/s
	ci    [2]float64 // 95 % confidence interval of the slope
}

// fitSlope fits y = a + b*x by least squares and gives b's 95 %
// confidence interval from Student's t with n-2 degrees of freedom. With
// fewer than three samples (or no spread in x) the slope is 0 and its
// interval unbounded, so it never says "growing". Lag samples are
// autocorrelated, so the interval is narrower than an honest one: that
// errs on the side of calling lag growing, which is why a step with small
// lag (under one second of load) passes whatever the slope.
func fitSlope(x, y []float64) slopeFit {
	n := min(len(x), len(y))
	f := slopeFit{n: n, ci: [2]float64{math.Inf(-1), math.Inf(1)}}
	if n < 3 {
		return f
	}
	var mx, my float64
	for i := 0; i < n; i++ {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxx, sxy float64
	for i := 0; i < n; i++ {
		sxx += (x[i] - mx) * (x[i] - mx)
		sxy += (x[i] - mx) * (y[i] - my)
	}
	if sxx == 0 {
		return f
	}
	b := sxy / sxx
	a := my - b*mx
	var sse float64
	for i := 0; i < n; i++ {
		r := y[i] - a - b*x[i]
		sse += r * r
	}
	se := math.Sqrt(sse / float64(n-2) / sxx)
	h := t975(n-2) * se
	f.slope, f.ci = b, [2]float64{b - h, b + h}
	return f
}

// t975Table is Student's t 0.975 quantile for 1..30 degrees of freedom.
var t975Table = [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}

// t975 is Student's t 0.975 quantile for df degrees of freedom: a table up
// to 30, above it the Cornish-Fisher expansion around the normal quantile
// (error below 1e-4 there). gonum's stat/distuv is not a dependency.
func t975(df int) float64 {
	if df < 1 {
		return math.Inf(1)
	}
	if df <= len(t975Table) {
		return t975Table[df-1]
	}
	const z = 1.959963984540054
	v := float64(df)
	z3, z5, z7 := z*z*z, math.Pow(z, 5), math.Pow(z, 7)
	return z + (z3+z)/(4*v) + (5*z5+16*z3+3*z)/(96*v*v) + (3*z7+19*z5+17*z3-15*z)/(384*v*v*v)
}
