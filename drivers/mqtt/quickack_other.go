//go:build !linux

package mqtt

import "net"

// quickAck is a no-op outside Linux (see quickack_linux.go).
func quickAck(c net.Conn) net.Conn { return c }
