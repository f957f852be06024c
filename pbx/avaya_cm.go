package pbx

// CMField is one field of an Avaya CM customized CDR record.
type CMField struct {
	Name  string `yaml:"name"`
	Width int    `yaml:"width"`
}
