package server

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"strconv"

	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
)

// Routes are the pages the exporter serves.
type Routes struct {
	// Name and Description head the landing page.
	Name, Description string
	// Metrics is served on the path of --web.telemetry-path.
	Metrics http.Handler
	// Probe is served on /probe, when set, and the landing page has a form
	// for it that asks for an account ID.
	Probe http.Handler
	// Ready tells whether /-/ready answers 200 Ready; it answers 503 with
	// NotReady when not. /-/healthy always answers 200.
	Ready    func() bool
	NotReady string
}

// NewMux returns the handler that serves r as f tells: the metrics on
// f.MetricsPath, and with f.Pprof the Go runtime's profiles under
// /debug/pprof/. The landing page on / (unless the metrics are there) links
// the metrics, /-/healthy, /-/ready, and the profiles only when they are
// served, so that every link answers.
func NewMux(f *Flags, r Routes) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	mux.Handle(f.MetricsPath, r.Metrics)
	if r.Probe != nil {
		mux.Handle("/probe", r.Probe)
	}
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy") })
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if r.Ready != nil && !r.Ready() {
			http.Error(w, r.NotReady, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	if f.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	if f.MetricsPath == "/" {
		return mux, nil
	}
	cfg := web.LandingConfig{
		Name:        r.Name,
		Description: r.Description,
		Version:     version.Info(),
		Profiling:   strconv.FormatBool(f.Pprof),
		Links: []web.LandingLinks{
			{Address: f.MetricsPath, Text: "Metrics"},
			{Address: "/-/healthy", Text: "Health"},
			{Address: "/-/ready", Text: "Readiness"},
		},
	}
	if r.Probe != nil {
		cfg.Form = web.LandingForm{
			Action: "/probe",
			Inputs: []web.LandingFormInput{{Label: "Account ID", Type: "text", Name: "account", Placeholder: "32 hex characters"}},
		}
	}
	landing, err := web.NewLandingPage(cfg)
	if err != nil {
		return nil, err
	}
	mux.Handle("/", landing)
	return mux, nil
}
