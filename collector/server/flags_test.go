package server

import (
	"bytes"
	"strings"
	"testing"

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
