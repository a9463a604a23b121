package server

import (
	"cmp"
	"runtime/debug"

	"github.com/prometheus/common/version"
)

// StampVersion fills the version and revision that --version, the landing
// page and the build_info metric show, when no -ldflags stamped them (a
// plain go build or go install), from the build information Go records:
// the module version ("(devel)" in a work tree) and the VCS revision.
func StampVersion() {
	info, ok := debug.ReadBuildInfo()
	if !ok || version.Version != "" {
		return
	}
	version.Version = cmp.Or(info.Main.Version, "(devel)")
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			version.Revision = cmp.Or(version.Revision, s.Value)
		}
	}
}
