package sqsfake

import "encoding/json"

// getQueueAttributes answers QueueArn (the SNS subscription endpoint),
// FifoQueue and the Policy once set; other names are ignored.
func (s *Server) getQueueAttributes(in map[string]json.RawMessage) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(str(in, "QueueUrl"))
	if err != nil {
		return nil, err
	}
	attrs := map[string]string{"QueueArn": queueARN(q.name), "FifoQueue": "true"}
	if q.policy != "" {
		attrs["Policy"] = q.policy
	}
	return map[string]any{"Attributes": attrs}, nil
}

// setQueueAttributes keeps the Policy (the fake delivers a topic's
// messages only to queues whose policy names it, as SNS does); other
// attributes are accepted and ignored.
func (s *Server) setQueueAttributes(in map[string]json.RawMessage) (any, *apiError) {
	var attrs map[string]string
	_ = json.Unmarshal(in["Attributes"], &attrs)
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.lookup(str(in, "QueueUrl"))
	if err != nil {
		return nil, err
	}
	if p, ok := attrs["Policy"]; ok {
		q.policy = p
	}
	return map[string]string{}, nil
}
