// Command shipprod is the reference command line of the shipprod library:
// it promotes a validated staging build to production as configured in
// shipprod.yaml. Everything it does is package cli; run it with --help.
package main

import (
	"os"

	"github.com/shipprod/shipprod/cli"

	_ "github.com/jackc/pgx/v5/stdlib"                       // the SQL health check's driver for PostgreSQL ("driver: pgx")
	_ "github.com/shipprod/shipprod/examples/customdeployer" // deploy.provider: deploy-hook
)

func main() { os.Exit(cli.Main()) }
