// Package codegen has the one declaration the Terraform bridge compiles against.
package codegen

import (
	"errors"

	"github.com/hashicorp/hcl/v2"
	"github.com/pulumi/pulumi/pkg/v3/codegen/pcl"
)

// GenerateProgram always fails: the Pulumi YAML code generator is not part of this build.
func GenerateProgram(*pcl.Program) (map[string][]byte, hcl.Diagnostics, error) {
	return nil, nil, errors.New("Pulumi YAML code generation is not part of this build: its module is not served")
}
