package dashboard

import _ "embed"

// pageHTML is the whole dashboard: one file, so that the binary carries it
// and the page needs nothing from the network.
//
//go:embed page.html
var pageHTML []byte
