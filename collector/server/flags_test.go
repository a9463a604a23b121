package server

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

func TestExplainFlags(t *testing.T) {
	app := kingpin.New("x", "")
	var on, off bool
	var d string
	app.Flag("on", "On.").Default("true").BoolVar(&on)
	app.Flag("off", "Off.").Default("false").BoolVar(&off)
	n := app.Flag("n", "N.").Default("1").Int()
	app.Flag("list", "L.").StringsVar(new([]string))
	app.Flag("d", "D.").StringVar(&d)
	f := AddFlags(app, ":0")
	ExplainFlags(app)

	var help bytes.Buffer
	app.UsageWriter(&help)
	app.Usage(nil)
	for _, want := range []string{"On. (default: true)", "Off. (default: false)", "(default: false)"} {
		if !strings.Contains(strings.Join(strings.Fields(help.String()), " "), want) {
			t.Errorf("help lacks %q:\n%s", want, help.String())
		}
	}
	if _, err := app.Parse([]string{"--n=x"}); err == nil || !strings.HasPrefix(err.Error(), "--n: ") {
		t.Errorf("error %v does not name the flag", err)
	}
	if _, err := app.Parse([]string{"--n=3", "--list=a", "--list=b", "--no-on", "--web.telemetry-path=/m"}); err != nil || *n != 3 || on || f.MetricsPath != "/m" {
		t.Errorf("parse: %v, n=%d on=%v path=%q", err, *n, on, f.MetricsPath)
	}
	if err := f.Validate(); err != nil {
		t.Error(err)
	}
	f.MetricsPath = "m"
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "--web.telemetry-path") {
		t.Errorf("Validate: %v", err)
	}
}

func TestValidateLimits(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"--web.read-timeout=0s"}, `--web.read-timeout must be positive, got "0s"`},
		{[]string{"--web.write-timeout=-1s"}, `--web.write-timeout must be positive, got "-1s"`},
		{[]string{"--web.idle-timeout=0s"}, `--web.idle-timeout must be positive, got "0s"`},
		{[]string{"--web.max-connections=-1"}, `--web.max-connections must not be negative, got -1`},
		{[]string{"--web.max-connections=0"}, ""},
	} {
		app := kingpin.New("x", "")
		f := AddFlags(app, ":0")
		if _, err := app.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		err := f.Validate()
		if got := fmt.Sprint(err); tc.want == "" && err != nil || tc.want != "" && got != tc.want {
			t.Errorf("%v: Validate = %v, want %q", tc.args, err, tc.want)
		}
	}
	app := kingpin.New("x", "")
	f := AddFlags(app, ":0")
	_, _ = app.Parse(nil)
	if want := (Limits{ReadTimeout: 10 * time.Second, WriteTimeout: 2 * time.Minute, IdleTimeout: time.Minute, MaxConnections: 512}); f.Limits != want {
		t.Errorf("defaults %+v, want %+v", f.Limits, want)
	}
}
