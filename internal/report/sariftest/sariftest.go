// Package sariftest validates SARIF documents against the official SARIF
// 2.1.0 JSON schema (testdata/sarif-schema-2.1.0.json), for the unit and
// end-to-end tests.
package sariftest

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed testdata/sarif-schema-2.1.0.json
var schemaJSON []byte

// SchemaID is the schema's own id: the OASIS errata01 schema.
const SchemaID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// Validate checks a SARIF document against the schema, formats (uri,
// date-time…) included, and returns every violation found.
func Validate(doc []byte) error {
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return fmt.Errorf("the vendored SARIF schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(SchemaID, schemaDoc); err != nil {
		return err
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		return fmt.Errorf("compiling the SARIF schema: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sch.Validate(inst)
}
