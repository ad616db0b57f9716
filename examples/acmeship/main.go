// Command acmeship is a team's own shipprod binary: the reference command
// line with a deployer of the team's own, built only from shipprod's public
// packages. Its deployer, "acme-push", pushes the release to a production
// branch with the team's own tooling (here: git, run as a program).
package main

import (
	"os"

	"github.com/shipprod/shipprod/cli"

	_ "github.com/shipprod/shipprod/examples/acmeship/acmepush" // deploy.provider: acme-push
)

func main() { os.Exit((&cli.App{Name: "acmeship", Version: "acme-1.0"}).Main()) }
