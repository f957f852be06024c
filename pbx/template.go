package pbx

// Template is an installer-defined record layout (format "template"). It is
// filled from the config's pbx.template section, so its fields carry yaml tags.
type Template struct {
	Layout string `yaml:"layout"` // fixed | csv
}
