package rabbitmq

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/evbench/evbench/drivers"
)

// The message body carries every event field, so neither AMQP 0-9-1
// headers nor AMQP 1.0 application properties (whose value types differ
// between the two protocols) are needed:
//
//	'E' '1' | id [16] | seq u64 | created i64 | offset i64 | len u16 key | len u16 type | payload
//
// offset is the position the publisher assigned (queue types: a queue has
// no offsets of its own); streams leave it 0 and use the stream offset.
const headerLen = 2 + 16 + 8 + 8 + 8

var errBadBody = errors.New("not an evbench message")

func encode(ev *drivers.Event, offset int64) ([]byte, error) {
	if len(ev.Key) > 0xffff || len(ev.Type) > 0xffff {
		return nil, fmt.Errorf("event %x: key or type longer than 65535 bytes", ev.ID)
	}
	b := make([]byte, headerLen, headerLen+4+len(ev.Key)+len(ev.Type)+len(ev.Payload))
	b[0], b[1] = 'E', '1'
	copy(b[2:18], ev.ID[:])
	binary.BigEndian.PutUint64(b[18:], ev.Seq)
	binary.BigEndian.PutUint64(b[26:], uint64(ev.CreatedAt))
	binary.BigEndian.PutUint64(b[34:], uint64(offset))
	b = binary.BigEndian.AppendUint16(b, uint16(len(ev.Key)))
	b = append(b, ev.Key...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(ev.Type)))
	b = append(b, ev.Type...)
	return append(b, ev.Payload...), nil
}

// decode returns the event and the offset the publisher wrote.
func decode(b []byte) (drivers.Event, int64, error) {
	var ev drivers.Event
	if len(b) < headerLen+4 || b[0] != 'E' || b[1] != '1' {
		return ev, 0, errBadBody
	}
	copy(ev.ID[:], b[2:18])
	ev.Seq = binary.BigEndian.Uint64(b[18:])
	ev.CreatedAt = int64(binary.BigEndian.Uint64(b[26:]))
	off := int64(binary.BigEndian.Uint64(b[34:]))
	rest := b[headerLen:]
	kl := int(binary.BigEndian.Uint16(rest))
	if len(rest) < 2+kl+2 {
		return ev, 0, errBadBody
	}
	ev.Key = string(rest[2 : 2+kl])
	rest = rest[2+kl:]
	tl := int(binary.BigEndian.Uint16(rest))
	if len(rest) < 2+tl {
		return ev, 0, errBadBody
	}
	ev.Type = string(rest[2 : 2+tl])
	ev.Payload = append([]byte(nil), rest[2+tl:]...)
	return ev, off, nil
}
