package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Dashboard is one dashboard file, parsed.
type Dashboard struct {
	// File is the file's base name.
	File string
	JSON map[string]any
}

// Target is one PromQL query of a panel.
type Target struct {
	// Where names it: file / panel title / refId.
	Where      string
	Expr       string
	Datasource any
}

// Load reads every *.json dashboard in dir.
func Load(dir string) ([]Dashboard, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no dashboards in %s", dir)
	}
	if err != nil {
		return nil, err
	}
	var out []Dashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, Dashboard{File: filepath.Base(f), JSON: d})
	}
	return out, nil
}

// Panels returns every panel, those inside collapsed rows included.
func (d Dashboard) Panels() []map[string]any {
	var out []map[string]any
	var walk func(v any)
	walk = func(v any) {
		list, _ := v.([]any)
		for _, p := range list {
			if pm, ok := p.(map[string]any); ok {
				out = append(out, pm)
				walk(pm["panels"])
			}
		}
	}
	walk(d.JSON["panels"])
	return out
}

// Targets returns the queries of every panel.
func (d Dashboard) Targets() []Target {
	var out []Target
	for _, p := range d.Panels() {
		targets, _ := p["targets"].([]any)
		for _, tv := range targets {
			tm, _ := tv.(map[string]any)
			expr, _ := tm["expr"].(string)
			out = append(out, Target{
				Where:      fmt.Sprintf("%s / %v / %v", d.File, p["title"], tm["refId"]),
				Expr:       expr,
				Datasource: tm["datasource"],
			})
		}
	}
	return out
}

// Variables returns the template variables by name.
func (d Dashboard) Variables() map[string]map[string]any {
	out := map[string]map[string]any{}
	templating, _ := d.JSON["templating"].(map[string]any)
	list, _ := templating["list"].([]any)
	for _, v := range list {
		if vm, ok := v.(map[string]any); ok {
			name, _ := vm["name"].(string)
			out[name] = vm
		}
	}
	return out
}
