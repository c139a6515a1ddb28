// Command loadgen is the benchmark's client: it pushes and pulls blobs and
// hammers manifests against one registry, with large reads and writes and no
// per-chunk copies, so that it takes as little as possible of the CPU it shares
// with the servers under test. Each subcommand prints one JSON object on
// stdout, including the CPU seconds it used. Credentials come from
// $LOADGEN_AUTHORIZATION (an Authorization header value), or -auth.
//
//	loadgen digest   seed:size ...
//	loadgen push     -url U -repo R [-streams N] [-chunk BYTES] seed:size:digest ...
//	loadgen pull     -url U -repo R [-streams N] [-verify bytes|sha256] seed:size:digest ...
//	loadgen manifest -url U -path P -method HEAD|GET -digest D [-clients 32] [-seconds 8] [-warmup 1]
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: loadgen digest|push|pull|manifest ..."))
	}
	commands := map[string]func([]string) (any, error){
		"digest":   digestCommand,
		"push":     pushCommand,
		"pull":     pullCommand,
		"manifest": manifestCommand,
	}
	command, ok := commands[os.Args[1]]
	if !ok {
		fail(fmt.Errorf("unknown subcommand %q", os.Args[1]))
	}
	result, err := command(os.Args[2:])
	if err != nil {
		fail(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}

// cpuSeconds is the user + system CPU time this process has used so far.
func cpuSeconds() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	seconds := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return seconds(usage.Utime) + seconds(usage.Stime)
}

// timing measures the wall and CPU time of the timed part of a command.
type timing struct {
	wall time.Time
	cpu  float64
}

func startTiming() timing { return timing{wall: time.Now(), cpu: cpuSeconds()} }

func (t timing) seconds() float64    { return time.Since(t.wall).Seconds() }
func (t timing) cpuSeconds() float64 { return cpuSeconds() - t.cpu }
