package pbx

// testTemplate is a layout used by the template format's fuzz target.
func testTemplate() *Template { return &Template{Layout: "csv"} }
