// Package exportertest is the one home of what the exporter's tests share:
// the exporter binary, built once per test binary, and its launcher; a log
// buffer that a test can wait on; waiting on a condition with a deadline;
// and the skipping of a test whose external tool is missing, reported by
// .ci/test.
//
// Only tests import it. It lives under collector/ because what it drives
// is the exporter as Prometheus and an operator see it (its process, its
// pages, its log), which is collector's side; api/ speaks Cloudflare only,
// and api/simulator is the fake Cloudflare these tests run against. It
// imports nothing of the exporter, so that the tests of every package
// (collector, poll, server, deploy, the root) can use it without a cycle.
package exportertest
