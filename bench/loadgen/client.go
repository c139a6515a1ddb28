package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// registry is one registry's base URL and the credentials sent on every request.
type registry struct {
	base          *url.URL
	authorization string
	client        *http.Client
}

// registryFlags declares -url and -auth on a command's flag set.
func registryFlags(flags *flag.FlagSet) (base, auth *string) {
	return flags.String("url", "", "registry base URL, e.g. http://127.0.0.1:5000"),
		flags.String("auth", os.Getenv("LOADGEN_AUTHORIZATION"), "Authorization header sent on every request (default $LOADGEN_AUTHORIZATION; none when empty)")
}

func newRegistry(base, authorization string, connections int) (*registry, error) {
	parsed, err := url.Parse(base)
	if err != nil || parsed.Host == "" {
		return nil, fmt.Errorf("-url %q: want http://host:port", base)
	}
	transport := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        connections,
		MaxIdleConnsPerHost: connections,
		MaxConnsPerHost:     connections,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		WriteBufferSize:     256 << 10,
		ReadBufferSize:      256 << 10,
	}
	client := &http.Client{
		Transport: transport,
		// A registry's pull redirect would leave loopback: report it instead of following it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &registry{base: parsed, authorization: authorization, client: client}, nil
}

// do sends one request; `location` is absolute or relative to the registry (as Location headers are).
func (r *registry) do(method, location string, body io.Reader, length int64, headers map[string]string) (*http.Response, error) {
	target, err := r.base.Parse(location)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(method, target.String(), body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = length // -1: chunked transfer encoding, as docker streams a layer
	}
	if r.authorization != "" {
		req.Header.Set("Authorization", r.authorization)
	}
	for name, value := range headers {
		req.Header.Set(name, value)
	}
	return r.client.Do(req)
}

// call sends one request and drains and closes its response, failing unless it has the status wanted.
func (r *registry) call(method, location string, body io.Reader, length int64, headers map[string]string, status int, what string) (*http.Response, error) {
	res, err := r.do(method, location, body, length, headers)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	detail, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != status {
		return nil, fmt.Errorf("%s: status %d, not %d: %s", what, res.StatusCode, status, strings.TrimSpace(string(detail)))
	}
	return res, nil
}
