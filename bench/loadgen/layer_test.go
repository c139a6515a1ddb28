package main

import (
	"bytes"
	"io"
	"testing"
)

func TestReaderFromAnOffsetContinuesTheLayer(t *testing.T) {
	l := layer{seed: "x", size: 3*ioChunk + 48}
	whole, _ := io.ReadAll(l.reader(0, l.size))
	var pieces bytes.Buffer
	for offset := int64(0); offset < l.size; offset += 5 * 16 * 1024 {
		n := min(5*16*1024, l.size-offset)
		l.reader(offset, n).WriteTo(&pieces)
	}
	if !bytes.Equal(whole, pieces.Bytes()) {
		t.Fatal("the layer read in pieces differs from the layer read whole")
	}
	if int64(len(whole)) != l.size {
		t.Fatalf("read %d bytes, not %d", len(whole), l.size)
	}
}

func TestCounterWrapsAtTheTopOfTheBlock(t *testing.T) {
	// Whatever the seed's IV, offsets far into a 32 GiB layer must produce a stream.
	l := layer{seed: "y", size: 32 << 30}
	if n, _ := l.reader(32<<30-16, 16).Read(make([]byte, 16)); n != 16 {
		t.Fatal("no bytes at the end of a 32 GiB layer")
	}
}
