// Package shim maps the Terraform TLS provider onto Pulumi's tls package.
package shim

import (
	"github.com/hashicorp/terraform-provider-tls/internal/provider"
	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
)

// Version is the tls package version this build serves; set with -ldflags -X.
var Version string

// ProviderInfo names every Terraform resource tls_x_y as tls:index/xY:XY and every data source as
// tls:index/getXY:getXY, the tokens of the pulumi_tls SDK.
func ProviderInfo() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:         pf.ShimProvider(provider.New()),
		Name:      "tls",
		Version:   Version,
		GitHubOrg: "hashicorp",
		// The bridge's record of past renames: a fresh build has none.
		MetadataInfo: tfbridge.NewProviderMetadata([]byte("{}")),
		// The state options the published provider sets, so state has the same shape.
		EnableZeroDefaultSchemaVersion: true,
		EnableAccurateBridgePreview:    true,
	}
	info.MustComputeTokens(tokens.SingleModule("tls_", "index", tokens.MakeStandard("tls")))
	return info
}
