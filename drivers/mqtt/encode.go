package mqtt

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/eclipse/paho.golang/paho"

	"github.com/evbench/evbench/drivers"
)

// The message payload is the event's Payload as is (other MQTT clients see
// the envelope JSON); the rest of the event travels in MQTT 5 user
// properties, so nothing in the payload is rewritten.
const (
	propID      = "evb-id"      // 32 hex digits
	propSeq     = "evb-seq"     // decimal
	propType    = "evb-type"    // as is
	propCreated = "evb-created" // unix ns, decimal
	propPos     = "evb-pos"     // "<origin>:<lane>:<offset>"
	propKey     = "evb-key"     // only when the key is not the topic's tail
)

// topicFor is the topic of key: "<prefix>/<key>", with the wildcard
// characters a topic name may not hold ('+', '#', NUL) replaced by '_'
// (the key then travels in a property too).
func topicFor(prefix, key string) (topic string, escaped bool) {
	safe := strings.Map(func(r rune) rune {
		if r == '+' || r == '#' || r == 0 {
			return '_'
		}
		return r
	}, key)
	return prefix + "/" + safe, safe != key
}

// encode builds the PUBLISH of ev at lane and offset.
func encode(cfg Config, ev drivers.Event, lane int32, offset int64) *paho.Publish {
	topic, escaped := topicFor(cfg.Topic, ev.Key)
	props := paho.UserProperties{
		{Key: propID, Value: hex.EncodeToString(ev.ID[:])},
		{Key: propSeq, Value: strconv.FormatUint(ev.Seq, 10)},
		{Key: propType, Value: ev.Type},
		{Key: propCreated, Value: strconv.FormatInt(ev.CreatedAt, 10)},
		{Key: propPos, Value: origin + ":" + strconv.Itoa(int(lane)) + ":" + strconv.FormatInt(offset, 10)},
	}
	if escaped {
		props = append(props, paho.UserProperty{Key: propKey, Value: ev.Key})
	}
	return &paho.Publish{
		QoS:        cfg.QoS,
		Topic:      topic,
		Payload:    ev.Payload,
		Properties: &paho.PublishProperties{User: props},
	}
}

// decode reads a delivered PUBLISH back into an event. A message without
// evbench's properties (another client publishing under the prefix) is an
// error; one another process published gets foreignPartition.
func decode(prefix string, p *paho.Publish) (drivers.Delivered, error) {
	var d drivers.Delivered
	if p.Properties == nil {
		return d, fmt.Errorf("message on %q has no evbench properties", p.Topic)
	}
	u := p.Properties.User
	id, err := hex.DecodeString(u.Get(propID))
	if err != nil || len(id) != 16 {
		return d, fmt.Errorf("message on %q: property %s=%q is not 32 hex digits", p.Topic, propID, u.Get(propID))
	}
	copy(d.ID[:], id)
	if d.Seq, err = strconv.ParseUint(u.Get(propSeq), 10, 64); err != nil {
		return d, fmt.Errorf("message on %q: property %s: %w", p.Topic, propSeq, err)
	}
	if d.CreatedAt, err = strconv.ParseInt(u.Get(propCreated), 10, 64); err != nil {
		return d, fmt.Errorf("message on %q: property %s: %w", p.Topic, propCreated, err)
	}
	d.Type = u.Get(propType)
	if k := u.GetAll(propKey); len(k) > 0 {
		d.Key = k[0]
	} else {
		d.Key = strings.TrimPrefix(p.Topic, prefix+"/")
	}
	d.Payload = p.Payload
	d.Position = drivers.Position{Partition: foreignPartition}
	from, lane, off, ok := splitPos(u.Get(propPos))
	if ok && from == origin {
		d.Position = drivers.Position{Partition: lane, Offset: off}
	}
	return d, nil
}

// splitPos parses "<origin>:<lane>:<offset>".
func splitPos(s string) (from string, lane int32, off int64, ok bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return "", 0, 0, false
	}
	l, err1 := strconv.ParseInt(parts[1], 10, 32)
	o, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || l < 0 || o < 0 {
		return "", 0, 0, false
	}
	return parts[0], int32(l), o, true
}
