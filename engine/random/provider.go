// Package shim maps the Terraform random provider onto Pulumi's random package.
package shim

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	bridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// Version is the random package version this build serves; set with -ldflags -X.
var Version string

// ProviderInfo names every Terraform resource random_x as random:index/randomX:RandomX, the tokens of
// the pulumi_random SDK.
func ProviderInfo() bridge.ProviderInfo {
	info := bridge.ProviderInfo{
		P:         tfbridge.ShimProvider(provider.New()),
		Name:      "random",
		Version:   Version,
		GitHubOrg: "hashicorp",
		// The bridge's record of past renames: a fresh build has none.
		MetadataInfo: bridge.NewProviderMetadata([]byte("{}")),
		// random_bytes has no id attribute and needs an id function; secure-flink does not use it.
		IgnoreMappings: []string{"random_bytes"},
		// The state options the published provider sets, so state has the same shape.
		EnableAccurateBridgePreview: true,
		EnableRawStateDelta:         true,
	}
	prefixed := func(module, name string) (string, error) {
		return tokens.MakeStandard("random")(module, "Random"+name)
	}
	info.MustComputeTokens(tokens.SingleModule("random_", "index", prefixed))
	return info
}
