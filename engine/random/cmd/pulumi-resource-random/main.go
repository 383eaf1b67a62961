// Command pulumi-resource-random serves the random package.
package main

import (
	"context"
	"errors"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	shim "github.com/terraform-providers/terraform-provider-random/shim"
)

// Upstream generates the package schema with the bridge's tfgen at build time; this build skips that step
// (it converts documentation examples with modules the proxy does not serve). Deployments never ask for
// the schema; SDK generation does, and gets this error.
func noSchema(context.Context, plugin.GetSchemaRequest) ([]byte, error) {
	return nil, errors.New("this build of pulumi-resource-random carries no package schema")
}

func main() {
	tfbridge.Main(context.Background(), "random", shim.ProviderInfo(),
		tfbridge.ProviderMetadata{XGetSchema: noSchema})
}
