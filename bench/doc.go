// Package bench holds the speed benchmark of the version decision (see
// README.md and bench_test.go): go test -run '^$' -bench . -benchtime 5x ./bench
package bench
