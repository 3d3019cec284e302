package measure

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
)

// The HdrHistogram V2 encoding, written here instead of through
// hdrhistogram-go's Encode because that allocates a new zlib compressor
// (~1 MB) and compiles a regexp for every interval: four recorders made
// megabytes of garbage per second, and the heap peaks it caused were most of
// evbench's RSS noise in long runs. The bytes are the same format
// (cookie, header, ZigZag-LEB128 counts with zero runs, zlib); hdr.Decode
// and the interval log reader read them, as TestEncoderMatchesLibrary checks.
const (
	v2EncodingCookie           = 0x1c849303 | 0x10
	v2CompressedEncodingCookie = 0x1c849304 | 0x10
)

// encoder reuses its buffers and compressor across intervals.
type encoder struct {
	raw, zbuf, out bytes.Buffer
	zw             *zlib.Writer
	line           []byte
}

// encode appends base64 of the V2 compressed encoding of counts (in the
// shared geometry) to dst.
func (e *encoder) encode(dst []byte, counts []int64) []byte {
	limit := len(counts)
	for limit > 0 && counts[limit-1] == 0 {
		limit--
	}
	e.raw.Reset()
	var hdr [40]byte
	e.raw.Write(hdr[:]) // filled once the payload length is known
	var v [binary.MaxVarintLen64]byte
	put := func(x int64) {
		n := binary.PutUvarint(v[:], uint64((x<<1)^(x>>63)))
		e.raw.Write(v[:n])
	}
	for i := 0; i < limit; {
		c := counts[i]
		i++
		if c == 0 {
			zeros := int64(1)
			for i < limit && counts[i] == 0 {
				zeros++
				i++
			}
			if zeros > 1 {
				put(-zeros)
				continue
			}
		}
		put(c)
	}
	b := e.raw.Bytes()
	binary.BigEndian.PutUint32(b[0:], v2EncodingCookie)
	binary.BigEndian.PutUint32(b[4:], uint32(len(b)-40))
	binary.BigEndian.PutUint32(b[8:], 0) // normalizing index offset
	binary.BigEndian.PutUint32(b[12:], HistDigits)
	binary.BigEndian.PutUint64(b[16:], uint64(HistLowest))
	binary.BigEndian.PutUint64(b[24:], uint64(HistHighest))
	binary.BigEndian.PutUint64(b[32:], math.Float64bits(1))

	e.zbuf.Reset()
	if e.zw == nil {
		e.zw, _ = zlib.NewWriterLevel(&e.zbuf, zlib.DefaultCompression)
	} else {
		e.zw.Reset(&e.zbuf)
	}
	e.zw.Write(b)
	e.zw.Close()
	e.out.Reset()
	var h8 [8]byte
	binary.BigEndian.PutUint32(h8[0:], v2CompressedEncodingCookie)
	binary.BigEndian.PutUint32(h8[4:], uint32(e.zbuf.Len()))
	e.out.Write(h8[:])
	e.out.Write(e.zbuf.Bytes())
	n := base64.StdEncoding.EncodedLen(e.out.Len())
	dst = slices.Grow(dst, n)
	base64.StdEncoding.Encode(dst[len(dst):len(dst)+n], e.out.Bytes())
	return dst[:len(dst)+n]
}

// intervalLine is one interval log line: [Tag=T,]start,length,max,payload
// with times in seconds relative to baseMs and max in ms (values are ns).
func (e *encoder) intervalLine(tag string, baseMs, startMs, endMs int64, maxNs int64, counts []int64) []byte {
	l := e.line[:0]
	if tag != "" {
		l = append(l, "Tag="...)
		l = append(l, tag...)
		l = append(l, ',')
	}
	l = strconv.AppendFloat(l, float64(startMs-baseMs)/1000, 'f', 6, 64)
	l = append(l, ',')
	l = strconv.AppendFloat(l, float64(endMs-startMs)/1000, 'f', 6, 64)
	l = append(l, ',')
	l = strconv.AppendFloat(l, float64(maxNs)/1e6, 'f', 6, 64)
	l = append(l, ',')
	l = e.encode(l, counts)
	l = append(l, '\n')
	e.line = l
	return l
}
