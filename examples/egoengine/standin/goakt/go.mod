// A stand-in for github.com/tochemey/goakt/v4, which cannot be downloaded
// where this module is built: the few names examples/egoengine uses, with
// goakt v4's signatures. See ../../main.go.
module github.com/tochemey/goakt/v4

go 1.26.0
