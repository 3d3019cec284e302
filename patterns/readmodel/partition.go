package readmodel

// Partition is the worker (of parts) that owns key: always the same for
// one key, so a partitioned rebuild folds each key's events in order. It
// is FNV-1a (32 bit) of the key, inlined: the rebuild's reader calls it
// for every event.
func Partition(key string, parts int) int {
	if parts <= 1 {
		return 0
	}
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % uint32(parts))
}
