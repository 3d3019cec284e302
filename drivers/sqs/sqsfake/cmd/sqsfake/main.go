// Command sqsfake serves the in-process SQS/SNS fake on a fixed address,
// for runs that need a DSN the embedded default does not give, such as SNS
// fan-out:
//
//	go run ./drivers/sqs/sqsfake/cmd/sqsfake -addr 127.0.0.1:4100 &
//	evbench run burst --driver sqs --set consumers.projectors=2 \
//	  --dsn 'sqs://us-east-1/evbench.fifo?emulator=true&wait=1&endpoint=http://127.0.0.1:4100&sns=true&subscribers=2'
//
// It keeps everything in memory until interrupted; runs against it are
// emulated.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/evbench/evbench/drivers/sqs/sqsfake"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4100", "host:port to listen on")
	flag.Parse()
	srv, err := sqsfake.StartAt(*addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sqsfake: %v; pick a free -addr\n", err)
		os.Exit(1)
	}
	fmt.Printf("sqsfake: serving SQS and SNS at %s (endpoint=%s)\n", srv.URL(), srv.URL())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	_ = srv.Close()
}
