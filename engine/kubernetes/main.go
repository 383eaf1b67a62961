// Command pulumi-resource-kubernetes serves the Kubernetes provider of the required module version.
//
// The upstream main embeds files that its build generates and git ignores; scripts/build-engine.sh
// derives them from the schema and mapping committed in the module, as that generator does.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var packageSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, packageSchema, terraformMapping)
}
