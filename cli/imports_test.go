package cli

import (
	// What the reference binary adds to the CLI, which the tests configure
	// too: the deploy-hook deployer and the PostgreSQL driver.
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/shipprod/shipprod/examples/customdeployer"
)
