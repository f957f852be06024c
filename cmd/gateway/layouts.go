package main

import "callgate/pbx"

// validateLayouts checks the installer-written PBX layouts (a template, a CM
// field list) through the pbx package's own checks, naming the config key.
func (c *Config) validateLayouts(k *checker) {
	if c.PBX.Template != nil {
		k.fieldProblems("pbx.template", c.PBX.Template.Check())
	}
	if c.PBX.CMFields != nil {
		k.fieldProblems("pbx.cm_fields", pbx.CheckCMFields(c.PBX.CMFields))
	}
}

func (k *checker) fieldProblems(prefix string, probs []pbx.FieldProblem) {
	for _, p := range probs {
		key := prefix
		switch {
		case p.Field == "":
		case p.Field[0] == '[':
			key += p.Field
		default:
			key += "." + p.Field
		}
		k.add(key, "%s", p.Msg)
	}
}
