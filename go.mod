module github.com/iperfmon/iperfmon

go 1.26.0

require (
	github.com/influxdata/toml v0.0.0-20251106153700-c381e153d076
	github.com/robfig/cron/v3 v3.0.1
	github.com/stretchr/testify v1.12.1
	golang.org/x/sys v0.40.0
)

require (
	github.com/kylelemons/godebug v1.1.0 // indirect
	github.com/naoina/go-stringutil v0.1.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
