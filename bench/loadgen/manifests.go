package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

type loadResult struct {
	Requests int `json:"requests"`
	// AllRequests counts the warm-up's too: the CPU figures cover the whole run.
	AllRequests int     `json:"allRequests"`
	Seconds     float64 `json:"seconds"`
	RPS         float64 `json:"rps"`
	P50Ms       float64 `json:"p50Ms"`
	P99Ms       float64 `json:"p99Ms"`
	// CPUSeconds is the whole run's, warm-up included.
	CPUSeconds float64 `json:"cpuSeconds"`
}

// manifestCommand sends HEAD or GET of one manifest from `clients` keep-alive
// connections, each one request at a time, for a while after a warm-up; every
// answer must be 200 with the expected Docker-Content-Digest. A path with
// "{client}" in it gives each client a path of its own (a tag per client).
func manifestCommand(args []string) (any, error) {
	flags := flag.NewFlagSet("manifest", flag.ContinueOnError)
	base, auth := registryFlags(flags)
	path := flags.String("path", "", "the manifest's path, /v2/<name>/manifests/<reference>")
	method := flags.String("method", "HEAD", "HEAD or GET")
	digest := flags.String("digest", "", "the manifest's digest")
	accept := flags.String("accept", "application/vnd.oci.image.manifest.v1+json", "Accept header")
	clients := flags.Int("clients", 32, "concurrent keep-alive connections")
	seconds := flags.Float64("seconds", 8, "measured seconds")
	warmup := flags.Float64("warmup", 1, "seconds of load before measuring")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	reg, err := newRegistry(*base, *auth, *clients)
	if err != nil {
		return nil, err
	}
	targets := make([]string, *clients)
	for c := range targets {
		target, err := reg.base.Parse(strings.ReplaceAll(*path, "{client}", strconv.Itoa(c)))
		if err != nil {
			return nil, err
		}
		targets[c] = target.String()
	}
	request := func(target string) error {
		req, err := http.NewRequest(*method, target, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", *accept)
		if reg.authorization != "" {
			req.Header.Set("Authorization", reg.authorization)
		}
		res, err := reg.client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		if res.StatusCode != 200 || res.Header.Get("Docker-Content-Digest") != *digest {
			return fmt.Errorf("%s %s: status %d, digest %q", *method, *path, res.StatusCode, res.Header.Get("Docker-Content-Digest"))
		}
		return nil
	}

	start := time.Now()
	measureFrom := start.Add(time.Duration(*warmup * float64(time.Second)))
	deadline := measureFrom.Add(time.Duration(*seconds * float64(time.Second)))
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		latencies []time.Duration
		failure   error
		all       int
	)
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1<<14)
			done := 0
			for {
				began := time.Now()
				if !began.Before(deadline) {
					break
				}
				if err := request(targets[c]); err != nil {
					mu.Lock()
					failure = err
					mu.Unlock()
					return
				}
				done++
				if began.After(measureFrom) {
					mine = append(mine, time.Since(began))
				}
			}
			mu.Lock()
			all += done
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if failure != nil {
		return nil, failure
	}
	slices.Sort(latencies)
	at := func(q float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[min(len(latencies)-1, int(q*float64(len(latencies))))].Microseconds()) / 1000
	}
	return loadResult{
		Requests:    len(latencies),
		AllRequests: all,
		Seconds:     *seconds,
		RPS:         float64(len(latencies)) / *seconds,
		P50Ms:       at(0.5),
		P99Ms:       at(0.99),
		CPUSeconds:  cpuSeconds(),
	}, nil
}
