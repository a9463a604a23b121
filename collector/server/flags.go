package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
)

// Flags are the command-line flags of the HTTP server and of the logs.
type Flags struct {
	// Web holds exporter-toolkit's flags: --web.listen-address,
	// --web.config.file and --web.systemd-socket.
	Web         *web.FlagConfig
	MetricsPath string
	Pprof       bool
	Log         promslog.Config
	// MaxRequests bounds the /metrics requests served at once.
	MaxRequests int
	// MaxLabelValueLength cuts longer label values on the pages.
	MaxLabelValueLength int
	// Limits bound the connections.
	Limits Limits
}

// Limits bound what a client can hold of the server: a connection, and
// the time to send a request, to read the answer, to send the next.
type Limits struct {
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxConnections caps the connections open at once (see ConnLimit);
	// 0 sets no cap.
	MaxConnections int
}

// AddFlags defines on app exporter-toolkit's web flags (listening on
// defaultAddress unless told otherwise), --web.telemetry-path,
// --web.enable-pprof, --log.level and --log.format.
func AddFlags(app *kingpin.Application, defaultAddress string) *Flags {
	f := &Flags{Web: kingpinflag.AddFlags(app, defaultAddress)}
	if s := app.GetFlag("web.systemd-socket"); s != nil {
		s.Default("false") // so that --help can show it
	}
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").
		Default("/metrics").StringVar(&f.MetricsPath)
	app.Flag("web.enable-pprof", "Serve the Go runtime's profiles under /debug/pprof/ and link them from the landing page.").
		Default("false").BoolVar(&f.Pprof)
	app.Flag("web.max-requests", "Most /metrics and /probe requests served at once; past it, requests are answered 503. 0 sets no limit.").
		Default("40").IntVar(&f.MaxRequests)
	app.Flag("web.max-label-value-length", "Longest label value on a page, in bytes; longer ones (a connector's notes) are cut, so that a Prometheus with label_value_length_limit does not reject the scrape. 0 sets no limit.").
		Default("1024").IntVar(&f.MaxLabelValueLength)
	// A scrape request is a few hundred bytes: 10 s is ample, and bounds
	// how long a client that sends nothing holds a connection.
	app.Flag("web.read-timeout", "Longest time to read a request, headers included.").
		Default("10s").DurationVar(&f.Limits.ReadTimeout)
	// From the end of the request: the longest scrape (--cloudflare.timeout)
	// and then the writing of a page of 100,000 connectors to a slow reader.
	app.Flag("web.write-timeout", "Longest time from the end of a request to the end of its answer; must be longer than --cloudflare.timeout. A client that does not read is cut off after it, so its page is freed.").
		Default("2m").DurationVar(&f.Limits.WriteTimeout)
	app.Flag("web.idle-timeout", "Longest time a keep-alive connection waits for its next request.").
		Default("60s").DurationVar(&f.Limits.IdleTimeout)
	// Well below the file handles a process usually has (1,024 soft at the
	// least), and far above what a few Prometheus servers keep open.
	app.Flag("web.max-connections", "Most connections open at once; past it, a new connection takes the place of the one idle the longest, and is refused only when every open connection is serving a request. 0 sets no limit.").
		Default("512").IntVar(&f.Limits.MaxConnections)
	promslogflag.AddFlags(app, &f.Log)
	return f
}

// Validate checks what kingpin's types let through, before anything
// listens; an error names the flag.
func (f *Flags) Validate() error {
	if f.MaxRequests < 0 {
		return fmt.Errorf("--web.max-requests must not be negative, got %d", f.MaxRequests)
	}
	if f.MaxLabelValueLength < 0 {
		return fmt.Errorf("--web.max-label-value-length must not be negative, got %d", f.MaxLabelValueLength)
	}
	for _, d := range []struct {
		flag  string
		value time.Duration
	}{{"web.read-timeout", f.Limits.ReadTimeout}, {"web.write-timeout", f.Limits.WriteTimeout}, {"web.idle-timeout", f.Limits.IdleTimeout}} {
		if d.value <= 0 {
			return fmt.Errorf("--%s must be positive, got %q", d.flag, d.value)
		}
	}
	if f.Limits.MaxConnections < 0 {
		return fmt.Errorf("--web.max-connections must not be negative, got %d", f.Limits.MaxConnections)
	}
	if !strings.HasPrefix(f.MetricsPath, "/") {
		return fmt.Errorf("--web.telemetry-path must start with /, got %q", f.MetricsPath)
	}
	if err := web.Validate(*f.Web.WebConfigFile); err != nil {
		return fmt.Errorf("--web.config.file=%s: %w", *f.Web.WebConfigFile, err)
	}
	return nil
}

// ExplainFlags makes kingpin's output about the flags of app say more:
// the help of each boolean flag ends in its default, which kingpin shows
// for every other flag but never for a boolean; and an error about a value
// names the flag (kingpin passes on the value's error as it is, such as
// 'time: invalid duration "soon"'). Call it after the last flag is defined.
func ExplainFlags(app *kingpin.Application) {
	for _, m := range app.Model().Flags {
		if m.Hidden {
			continue
		}
		if m.IsBoolFlag() {
			if len(m.Default) == 1 {
				app.GetFlag(m.Name).Help(fmt.Sprintf("%s (default: %s)", m.Help, m.Default[0]))
			}
			continue
		}
		if c, ok := m.Value.(interface{ IsCumulative() bool }); ok && c.IsCumulative() {
			continue // lists of strings, which take any value
		}
		app.GetFlag(m.Name).SetValue(namedValue{m.Value, m.Name})
	}
}

// namedValue is a flag value whose errors name the flag.
type namedValue struct {
	kingpin.Value
	name string
}

func (v namedValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		return fmt.Errorf("--%s: %w", v.name, err)
	}
	return nil
}
