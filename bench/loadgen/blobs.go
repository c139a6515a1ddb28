package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"sync"
	"time"
)

type transferResult struct {
	Seconds    float64 `json:"seconds"`
	Bytes      int64   `json:"bytes"`
	CPUSeconds float64 `json:"cpuSeconds"`
	// FinishSeconds adds up, over the layers, how long the registry took to answer the final PUT ?digest=
	// (verifying, making the bytes durable and placing the blob); pushes only.
	FinishSeconds float64 `json:"finishSeconds,omitempty"`
}

// finishing adds up the final PUTs' durations across a push's streams.
type finishing struct {
	mu      sync.Mutex
	seconds float64
}

func (f *finishing) add(d time.Duration) {
	f.mu.Lock()
	f.seconds += d.Seconds()
	f.mu.Unlock()
}

// pushCommand pushes layers (their digests known beforehand) with `streams` at once:
// with -chunk 0 as docker does (POST, the whole layer in one streamed PATCH, PUT ?digest=),
// else as containerd and crane do (PATCHes of -chunk bytes with Content-Range, then PUT ?digest=).
func pushCommand(args []string) (any, error) {
	flags := flag.NewFlagSet("push", flag.ContinueOnError)
	base, auth := registryFlags(flags)
	repository := flags.String("repo", "", "repository name")
	streams := flags.Int("streams", 1, "layers pushed at once")
	chunk := flags.Int64("chunk", 0, "bytes per PATCH (a multiple of 16), with Content-Range; 0: one PATCH per layer")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	layers, err := parseLayers(flags.Args())
	if err != nil {
		return nil, err
	}
	reg, err := newRegistry(*base, *auth, *streams)
	if err != nil {
		return nil, err
	}
	finish := &finishing{}
	result, err := transfer(layers, *streams, func(l layer) error {
		if l.digest == "" {
			return fmt.Errorf("layer %s: push needs seed:size:digest", l.seed)
		}
		return pushLayer(reg, *repository, l, *chunk, finish)
	})
	result.FinishSeconds = finish.seconds
	return result, err
}

func pushLayer(reg *registry, repository string, l layer, chunk int64, finish *finishing) error {
	res, err := reg.call("POST", "/v2/"+repository+"/blobs/uploads/", nil, 0, nil, 202, "POST upload")
	if err != nil {
		return err
	}
	location := res.Header.Get("Location")
	if chunk <= 0 {
		res, err = reg.call("PATCH", location, l.reader(0, l.size), -1, map[string]string{"Content-Type": "application/octet-stream"}, 202, "PATCH upload")
		if err != nil {
			return err
		}
		location = res.Header.Get("Location")
	} else {
		for offset := int64(0); offset < l.size; offset += chunk {
			n := min(chunk, l.size-offset)
			headers := map[string]string{"Content-Type": "application/octet-stream", "Content-Range": fmt.Sprintf("%d-%d", offset, offset+n-1)}
			res, err = reg.call("PATCH", location, l.reader(offset, n), n, headers, 202, "PATCH chunk at "+strconv.FormatInt(offset, 10))
			if err != nil {
				return err
			}
			location = res.Header.Get("Location")
		}
	}
	target, err := reg.base.Parse(location)
	if err != nil {
		return err
	}
	query := target.Query()
	query.Set("digest", l.digest)
	target.RawQuery = query.Encode()
	began := time.Now()
	res, err = reg.call("PUT", target.String(), nil, 0, nil, 201, "PUT upload")
	finish.add(time.Since(began))
	if err != nil {
		return err
	}
	if got := res.Header.Get("Docker-Content-Digest"); got != "" && got != l.digest {
		return fmt.Errorf("layer %s: the registry stored digest %s, not %s", l.seed, got, l.digest)
	}
	return nil
}

// pullCommand pulls layers with `streams` at once and checks every byte: against the
// regenerated layer (-verify bytes, cheap) or by its sha256 (-verify sha256, as docker does).
func pullCommand(args []string) (any, error) {
	flags := flag.NewFlagSet("pull", flag.ContinueOnError)
	base, auth := registryFlags(flags)
	repository := flags.String("repo", "", "repository name")
	streams := flags.Int("streams", 1, "layers pulled at once")
	verify := flags.String("verify", "bytes", "how pulled bytes are checked: bytes (against the regenerated layer, whose sha256 is its digest) or sha256")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	layers, err := parseLayers(flags.Args())
	if err != nil {
		return nil, err
	}
	if *verify != "bytes" && *verify != "sha256" {
		return nil, fmt.Errorf("-verify must be bytes or sha256")
	}
	reg, err := newRegistry(*base, *auth, *streams)
	if err != nil {
		return nil, err
	}
	return transfer(layers, *streams, func(l layer) error { return pullLayer(reg, *repository, l, *verify) })
}

func pullLayer(reg *registry, repository string, l layer, verify string) error {
	res, err := reg.do("GET", "/v2/"+repository+"/blobs/"+url.PathEscape(l.digest), nil, 0, nil)
	if err != nil {
		return fmt.Errorf("GET blob: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("GET blob %s: status %d", l.digest, res.StatusCode)
	}
	var check interface {
		io.Writer
		ok() error
	}
	if verify == "sha256" {
		check = &sha256Check{hash: sha256.New(), want: l.digest}
	} else {
		check = &bytesCheck{expected: l.reader(0, l.size), buf: make([]byte, ioChunk)}
	}
	received, err := io.CopyBuffer(check, res.Body, make([]byte, ioChunk))
	if err != nil {
		return fmt.Errorf("GET blob %s: %w", l.digest, err)
	}
	if received != l.size {
		return fmt.Errorf("GET blob %s: %d bytes, not %d", l.digest, received, l.size)
	}
	return check.ok()
}

// bytesCheck compares what it is written with the layer's bytes, which hash to its digest.
type bytesCheck struct {
	expected *layerReader
	buf      []byte
	mismatch bool
}

func (c *bytesCheck) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		n, err := c.expected.Read(c.buf[:min(len(rest), len(c.buf))])
		if err != nil || !bytes.Equal(c.buf[:n], rest[:n]) {
			c.mismatch = true
			return 0, errors.New("pulled bytes differ from the pushed layer")
		}
		rest = rest[n:]
	}
	return len(p), nil
}

func (c *bytesCheck) ok() error {
	if c.mismatch || c.expected.left != 0 {
		return errors.New("pulled bytes differ from the pushed layer")
	}
	return nil
}

type sha256Check struct {
	hash interface {
		io.Writer
		Sum([]byte) []byte
	}
	want string
}

func (c *sha256Check) Write(p []byte) (int, error) { return c.hash.Write(p) }

func (c *sha256Check) ok() error {
	if got := "sha256:" + hex.EncodeToString(c.hash.Sum(nil)); got != c.want {
		return fmt.Errorf("pulled digest %s, pushed %s", got, c.want)
	}
	return nil
}

// transfer runs `each` over the layers with `streams` workers and times the whole.
func transfer(layers []layer, streams int, each func(layer) error) (transferResult, error) {
	jobs := make(chan layer)
	errs := make(chan error, len(layers))
	var wg sync.WaitGroup
	timed := startTiming()
	for range max(streams, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range jobs {
				if err := each(l); err != nil {
					errs <- fmt.Errorf("layer %s: %w", l.seed, err)
				}
			}
		}()
	}
	var total int64
	for _, l := range layers {
		jobs <- l
		total += l.size
	}
	close(jobs)
	wg.Wait()
	result := transferResult{Seconds: timed.seconds(), Bytes: total, CPUSeconds: timed.cpuSeconds()}
	close(errs)
	if err := <-errs; err != nil {
		return result, err
	}
	return result, nil
}
