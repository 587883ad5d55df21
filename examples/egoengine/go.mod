module github.com/ego-contrib/offsetstore/examples/egoengine

go 1.26.0

require (
	github.com/ego-contrib/offsetstore v0.0.0
	github.com/tochemey/ego/v4 v4.4.3
	github.com/tochemey/goakt/v4 v4.5.1
)

require (
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/pgx/v5 v5.12.0 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/ego-contrib/offsetstore => ../..

// eGo and goakt cannot be downloaded where this module is built: stand-ins
// with their signatures (see main.go). Delete these two lines to build
// against them.
replace (
	github.com/tochemey/ego/v4 => ./standin/ego
	github.com/tochemey/goakt/v4 => ./standin/goakt
)
