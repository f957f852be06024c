package console

// CompareHash lets the tests count the bcrypt checks a login makes.
var CompareHash = &compareHash
