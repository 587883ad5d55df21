// Command egoengine hands a PostgreSQL offset store of this module to eGo's
// engine and runs one projection until interrupted: the program the README
// shows under "Handing a store to eGo". run.go is the README's code.
//
// eGo cannot be downloaded where this module is built, so this directory is
// a module of its own whose go.mod replaces eGo v4 and goakt v4 with
// stand-ins, under standin/, that declare the names run.go uses with eGo
// v4.4.3's signatures and do nothing. The test command compiles and vets
// it (TestEgoEngineExampleCompiles, in docs_test.go at the root of the
// repository); it cannot run it. To build it against eGo, delete the
// replace lines of go.mod for eGo and goakt, then run go mod tidy.
package main

import (
	"context"
	"log"
	"os"
	"os/signal"

	"github.com/tochemey/ego/v4/projection"
	"github.com/tochemey/ego/v4/testkit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// In an application, its own events store and projection handler.
	if err := run(ctx, testkit.NewEventsStore(), projection.NewDiscardHandler()); err != nil {
		log.Fatal(err)
	}
}
