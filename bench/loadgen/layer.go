package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
)

// ioChunk is the size of every read and write: few system calls per GiB.
const ioChunk = 1 << 20

var zeros = make([]byte, ioChunk)

// layer is a blob made of pseudo-random bytes: the AES-CTR key stream of its
// seed (several GB/s per core), so any size streams without being held in
// memory, and the same seed always gives the same bytes.
type layer struct {
	seed   string
	size   int64
	digest string
}

// parseLayer reads "seed:size" or "seed:size:digest".
func parseLayer(spec string) (layer, error) {
	parts := strings.SplitN(spec, ":", 3)
	if len(parts) < 2 {
		return layer{}, fmt.Errorf("layer %q: want seed:size[:digest]", spec)
	}
	size, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || size < 0 {
		return layer{}, fmt.Errorf("layer %q: bad size", spec)
	}
	l := layer{seed: parts[0], size: size}
	if len(parts) == 3 {
		l.digest = parts[2]
	}
	return l, nil
}

func parseLayers(specs []string) ([]layer, error) {
	layers := make([]layer, 0, len(specs))
	for _, spec := range specs {
		l, err := parseLayer(spec)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	return layers, nil
}

// keyStream is the layer's bytes from `offset` (a multiple of 16): the CTR counter starts that many blocks on.
func (l layer) keyStream(offset int64) cipher.Stream {
	key := sha256.Sum256([]byte(l.seed))
	block, err := aes.NewCipher(key[:16])
	if err != nil {
		panic(err)
	}
	if offset%aes.BlockSize != 0 {
		panic(fmt.Sprintf("layer offset %d is not a multiple of %d", offset, aes.BlockSize))
	}
	iv := new(big.Int).SetBytes(key[16:])
	iv.Add(iv, big.NewInt(offset/aes.BlockSize))
	counter := make([]byte, aes.BlockSize)
	bytes := iv.Bytes()
	if len(bytes) > aes.BlockSize {
		bytes = bytes[len(bytes)-aes.BlockSize:] // the counter wraps, as CTR does
	}
	copy(counter[aes.BlockSize-len(bytes):], bytes)
	return cipher.NewCTR(block, counter)
}

// reader streams `limit` of the layer's bytes from `offset` (a multiple of 16).
func (l layer) reader(offset, limit int64) *layerReader {
	return &layerReader{stream: l.keyStream(offset), left: limit, buf: make([]byte, ioChunk)}
}

type layerReader struct {
	stream cipher.Stream
	left   int64
	buf    []byte
}

func (r *layerReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.left, ioChunk))
	r.stream.XORKeyStream(p[:n], zeros[:n])
	r.left -= int64(n)
	return n, nil
}

// WriteTo hands the writer 1 MiB at a time (net/http copies request bodies through it).
func (r *layerReader) WriteTo(w io.Writer) (int64, error) {
	var written int64
	for r.left > 0 {
		n, _ := r.Read(r.buf)
		m, err := w.Write(r.buf[:n])
		written += int64(m)
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// computeDigest is "sha256:<hex>" of the layer's bytes.
func (l layer) computeDigest() string {
	hash := sha256.New()
	if _, err := l.reader(0, l.size).WriteTo(hash); err != nil {
		panic(err)
	}
	return "sha256:" + hex.EncodeToString(hash.Sum(nil))
}

type digestResult struct {
	Layers []layerResult `json:"layers"`
}

type layerResult struct {
	Seed   string `json:"seed"`
	Size   int64  `json:"size"`
	Digest string `json:"digest"`
}

// digestCommand prints the digest of each layer (done before a timed push, as docker knows a layer's digest before it pushes it).
func digestCommand(args []string) (any, error) {
	layers, err := parseLayers(args)
	if err != nil {
		return nil, err
	}
	result := digestResult{}
	for _, l := range layers {
		result.Layers = append(result.Layers, layerResult{Seed: l.seed, Size: l.size, Digest: l.computeDigest()})
	}
	return result, nil
}
